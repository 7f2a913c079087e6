#include "plugin_args.h"

#include <stdio.h>
#include <string.h>

int plugin_args_parse(struct plugin_args *args, int argc, char **argv, char *error, size_t error_size)
{
	snprintf(args->socket_path, sizeof(args->socket_path), "%s", LIFEBOAT_DEFAULT_SOCKET);
	args->required = false;

	for (int i = 0; i < argc; i++) {
		const char *argument = argv[i];
		const char *equals = strchr(argument, '=');
		if (equals == NULL || equals == argument) {
			snprintf(error, error_size, "argument '%s' is not key=value (known keys: socket, required)", argument);
			return -1;
		}
		size_t key_length = (size_t)(equals - argument);
		const char *value = equals + 1;
		if (key_length == strlen("socket") && strncmp(argument, "socket", key_length) == 0) {
			if (value[0] != '/') {
				snprintf(error, error_size, "socket=%s: the path must be absolute", value);
				return -1;
			}
			if (strlen(value) >= sizeof(args->socket_path)) {
				snprintf(error, error_size, "socket=: the path is longer than %zu bytes", sizeof(args->socket_path) - 1);
				return -1;
			}
			snprintf(args->socket_path, sizeof(args->socket_path), "%s", value);
		} else if (key_length == strlen("required") && strncmp(argument, "required", key_length) == 0) {
			if (strcmp(value, "0") == 0) {
				args->required = false;
			} else if (strcmp(value, "1") == 0) {
				args->required = true;
			} else {
				snprintf(error, error_size, "required=%s: must be 0 or 1", value);
				return -1;
			}
		} else {
			snprintf(error, error_size, "unknown key '%.*s' (known keys: socket, required)", (int)key_length, argument);
			return -1;
		}
	}
	return 0;
}
