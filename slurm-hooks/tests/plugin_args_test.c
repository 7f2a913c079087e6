/* Unit tests of the plugstack.conf argument parser: run by `make check`. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "../src/plugin_args.h"

static int parse(struct plugin_args *args, char *error, int argc, char **argv)
{
	return plugin_args_parse(args, argc, argv, error, 256);
}

int main(void)
{
	struct plugin_args args;
	char error[256];

	CHECK(parse(&args, error, 0, NULL) == 0);
	CHECK(strcmp(args.socket_path, LIFEBOAT_DEFAULT_SOCKET) == 0);
	CHECK(!args.required);

	char *both[] = { "socket=/run/x/agent.sock", "required=1" };
	CHECK(parse(&args, error, 2, both) == 0);
	CHECK(strcmp(args.socket_path, "/run/x/agent.sock") == 0);
	CHECK(args.required);

	char *unknown[] = { "sokcet=/run/x" };
	CHECK(parse(&args, error, 1, unknown) == -1);
	CHECK(strstr(error, "unknown key 'sokcet'") != NULL);

	char *bare[] = { "required" };
	CHECK(parse(&args, error, 1, bare) == -1);
	CHECK(strstr(error, "not key=value") != NULL);

	char *relative[] = { "socket=agent.sock" };
	CHECK(parse(&args, error, 1, relative) == -1);
	CHECK(strstr(error, "must be absolute") != NULL);

	char *bad_flag[] = { "required=yes" };
	CHECK(parse(&args, error, 1, bad_flag) == -1);
	CHECK(strstr(error, "must be 0 or 1") != NULL);

	static char long_path[5000];
	memset(long_path, 'a', sizeof(long_path) - 1);
	memcpy(long_path, "socket=/", 8);
	char *too_long[] = { long_path };
	CHECK(parse(&args, error, 1, too_long) == -1);
	CHECK(strstr(error, "longer than") != NULL);

	printf("plugin_args: %d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
