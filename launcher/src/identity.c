/*
 * A task's identity: the first lines of its record (TASKS_PATH/task-N), which say which task of its
 * Slurm job it is, and how a launcher started again after a move finds its own task by them.
 *
 * The lines are step=, procid= and localid= (SLURM_STEP_ID, SLURM_PROCID, SLURM_LOCALID), in that
 * order and each only when set to a number; the record's other lines (exit-status-file=) follow.
 *
 * A resumed launcher's task is the one whose record names its step and its local id. Slurm numbers
 * a job's ranks in the order of its node list: a job moved from node1,node2 to node2,node3 may run
 * the tasks on node2 that were ranks 2 and 3 as ranks 0 and 1, while their step and their number
 * on the node stay (if it lays out as many tasks on each node), and within a job's container on
 * one node a step and a local id name one task. So procid= is still written (a reader learns the
 * rank that started the task; older launchers' records have it too) but left out of the match on
 * both sides. Without a localid= line (a launcher outside a Slurm step) the lines match as they
 * are, all of them, as before.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "launcher.h"

int task_identity(char **environment, char *text, size_t size)
{
	static const char *const variables[][2] = {
		{"step", "SLURM_STEP_ID"}, {"procid", "SLURM_PROCID"}, {"localid", "SLURM_LOCALID"}};
	int length = 0;
	text[0] = '\0';
	for (size_t i = 0; i < sizeof(variables) / sizeof(variables[0]); i++) {
		size_t name_length = strlen(variables[i][1]);
		const char *value = NULL;
		for (char **variable = environment; *variable != NULL; variable++)
			if (strncmp(*variable, variables[i][1], name_length) == 0 && (*variable)[name_length] == '=')
				value = *variable + name_length + 1;
		if (value != NULL && value[0] != '\0' && strlen(value) <= 10 && strspn(value, "0123456789") == strlen(value))
			length += snprintf(text + length, size - length, "%s=%s\n", variables[i][0], value);
	}
	return length;
}

static bool line_starts(const char *line, size_t length, const char *prefix)
{
	size_t prefix_length = strlen(prefix);
	return length >= prefix_length && memcmp(line, prefix, prefix_length) == 0;
}

/* The lines of IDENTITY (its first LENGTH bytes) a task is found by, into key (SIZE bytes): all but
 * procid= when there is a localid= line, all of them otherwise. false if they do not fit. */
static bool match_key(const char *identity, size_t length, char *key, size_t size)
{
	bool by_localid = line_starts(identity, length, "localid=") || memmem(identity, length, "\nlocalid=", 9) != NULL;
	size_t used = 0;
	for (size_t at = 0, next; at < length; at = next) {
		const char *end = memchr(identity + at, '\n', length - at);
		next = end != NULL ? (size_t)(end - identity) + 1 : length;
		if (by_localid && line_starts(identity + at, next - at, "procid="))
			continue;
		if (used + (next - at) >= size)
			return false;
		memcpy(key + used, identity + at, next - at);
		used += next - at;
	}
	key[used] = '\0';
	return true;
}

bool same_task(const char *record, const char *identity)
{
	/* The identity lines come first: every one the match counts must be this launcher's. */
	const char *rest = strstr(record, "exit-status-file=");
	size_t length = rest != NULL ? (size_t)(rest - record) : strlen(record);
	char wanted[TASK_IDENTITY_SIZE], found[TASK_IDENTITY_SIZE];
	return identity[0] != '\0' && match_key(identity, strlen(identity), wanted, sizeof(wanted)) &&
	       match_key(record, length, found, sizeof(found)) && strcmp(wanted, found) == 0;
}
