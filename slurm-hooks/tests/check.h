/* The one assertion of the plugin's unit tests: counts, and reports a failed check with its line. */
#ifndef LIFEBOAT_TEST_CHECK_H
#define LIFEBOAT_TEST_CHECK_H

#include <stdio.h>

static int passed, failed;

#define CHECK(condition)                                                                  \
	do {                                                                              \
		if (condition) {                                                          \
			passed++;                                                         \
		} else {                                                                  \
			failed++;                                                         \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
		}                                                                         \
	} while (0)

#endif
