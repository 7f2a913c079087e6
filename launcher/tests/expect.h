/* The one assertion of the launcher's unit tests (tests/cgroup-texts, tests/task-identity): counts,
 * and names a check that got the other answer. */
#ifndef LIFEBOAT_TEST_EXPECT_H
#define LIFEBOAT_TEST_EXPECT_H

#include <stdbool.h>
#include <stdio.h>

static int passed, failed;

static void expect(bool got, bool wanted, const char *what)
{
	if (got == wanted) {
		passed++;
	} else {
		failed++;
		printf("FAILED: %s: got %s\n", what, got ? "true" : "false");
	}
}

#endif
