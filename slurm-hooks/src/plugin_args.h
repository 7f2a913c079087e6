/*
 * Arguments of the lifeboat SPANK plugin, as given on its plugstack.conf line.
 */
#ifndef LIFEBOAT_PLUGIN_ARGS_H
#define LIFEBOAT_PLUGIN_ARGS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define LIFEBOAT_DEFAULT_SOCKET "/run/lifeboat/agent.sock"

struct plugin_args {
	/* Path of the node agent's socket. */
	char socket_path[PATH_MAX];
	/* true: a migratable step whose agent cannot be reached fails; false: it runs unprotected. */
	bool required;
};

/*
 * Parses "key=value" arguments strictly: an unknown key, a missing value, a value too long or
 * out of range is an error. On error, writes a message to error (size error_size), returns -1.
 */
int plugin_args_parse(struct plugin_args *args, int argc, char **argv, char *error, size_t error_size);

#endif
