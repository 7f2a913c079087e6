/* Helpers shared by the outer process and the container init: logging, switching the effective
 * ids, the signal set, process facts (start time, uid), exit codes and path and text checks. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher.h"

static void log_message(int error, const char *format, va_list args)
{
	/* One write per message, so lines from the outer process and the init do not interleave. */
	char text[1024];
	int length = snprintf(text, sizeof(text), LOG_PREFIX);
	if (length >= 0 && (size_t)length < sizeof(text))
		length += vsnprintf(text + length, sizeof(text) - length, format, args);
	if (length >= 0 && (size_t)length < sizeof(text) && error != 0)
		length += snprintf(text + length, sizeof(text) - length, ": %s", strerror(error));
	if (length < 0 || (size_t)length >= sizeof(text) - 1)
		length = sizeof(text) - 2;
	text[length] = '\n';
	if (write(STDERR_FILENO, text, length + 1) < 0)
		return; /* nowhere left to report to */
}

void log_error(const char *format, ...)
{
	va_list args;
	va_start(args, format);
	log_message(0, format, args);
	va_end(args);
}

void log_errno(const char *format, ...)
{
	int error = errno;
	va_list args;
	va_start(args, format);
	log_message(error, format, args);
	va_end(args);
}

/*
 * Act with the caller's identity for file system access (paths the caller named are resolved
 * and opened only as far as the caller may), keeping root in the saved ids to come back.
 * Group first: once the effective uid is not 0, the group can no longer be changed.
 */
int become_user(uid_t uid, gid_t gid)
{
	if (setresgid(-1, gid, -1) != 0) {
		log_errno("switch effective group to %u", (unsigned)gid);
		return -1;
	}
	if (setresuid(-1, uid, -1) != 0) {
		log_errno("switch effective user to %u", (unsigned)uid);
		return -1;
	}
	return 0;
}

int become_root(void)
{
	if (setresuid(-1, 0, -1) != 0) {
		log_errno("switch effective user back to root");
		return -1;
	}
	if (setresgid(-1, 0, -1) != 0) {
		log_errno("switch effective group back to root");
		return -1;
	}
	return 0;
}

/* All three uids and gids the caller's: no way back to root remains, and the kernel clears every
 * capability with the uid change. The supplementary groups are the caller's already (a setuid
 * start keeps them), or root's when root is the caller. With no_new_privs, exec cannot grant
 * any privilege again either (the binds are nosuid anyway). */
int drop_privileges(uid_t uid, gid_t gid, bool no_new_privs)
{
	if (setresgid(gid, gid, gid) != 0) {
		log_errno("set group ids to %u", (unsigned)gid);
		return -1;
	}
	if (setresuid(uid, uid, uid) != 0) {
		log_errno("set user ids to %u", (unsigned)uid);
		return -1;
	}
	if (no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		log_errno("set no_new_privs");
		return -1;
	}
	return 0;
}

/* The signals the outer process passes to the init and the init passes to CMD, plus SIGCHLD:
 * both wait for these with sigwaitinfo(), so they stay blocked. */
void forwarded_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGUSR2);
	sigaddset(set, SIGCONT);
	sigaddset(set, SIGCHLD);
}

/* Field 22 of /proc/PID/stat (start time in clock ticks since boot), counted after the ")" of the
 * name. With the pid it names one process: a reused pid has another start time. */
int process_start_time(pid_t pid, unsigned long long *start)
{
	char path[64], text[1024];
	ssize_t length;
	char *cursor;
	int fd, field;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	length = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (length <= 0)
		return -1;
	text[length] = '\0';
	cursor = strrchr(text, ')');
	if (cursor == NULL)
		return -1;
	cursor += 2; /* field 3, the state */
	for (field = 3; field < 22 && cursor != NULL; field++) {
		cursor = strchr(cursor, ' ');
		if (cursor != NULL)
			cursor++;
	}
	if (cursor == NULL)
		return -1;
	*start = strtoull(cursor, NULL, 10);
	return 0;
}

/* Reads /proc/PID/NAME into text (NUL-terminated); -1 if it cannot be read whole. */
int read_proc_file(pid_t pid, const char *name, char *text, size_t capacity)
{
	char path[64];
	ssize_t length;
	int fd;
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	length = read(fd, text, capacity - 1);
	close(fd);
	if (length < 0 || (size_t)length >= capacity - 1)
		return -1;
	text[length] = '\0';
	return 0;
}

/* The real uid on the "Uid:" line of /proc/PID/status; -1 if unknown. */
long real_uid(pid_t pid)
{
	char status[4096];
	const char *line;
	if (read_proc_file(pid, "status", status, sizeof(status)) != 0)
		return -1;
	line = strstr(status, "\nUid:\t");
	return line == NULL ? -1 : strtol(line + strlen("\nUid:\t"), NULL, 10);
}

/* Closes every descriptor from 3 up but KEEP (-1: none); -1 on failure. */
int close_other_fds(int keep)
{
	if (keep < 3)
		return close_range(3, ~0U, 0);
	if (keep > 3 && close_range(3, keep - 1, 0) != 0)
		return -1;
	return close_range(keep + 1, ~0U, 0);
}

/* A shell's convention: the exit code, or 128 + the signal that killed the process. */
int exit_code_of(int wait_status)
{
	if (WIFEXITED(wait_status))
		return WEXITSTATUS(wait_status);
	if (WIFSIGNALED(wait_status))
		return 128 + WTERMSIG(wait_status);
	return EXIT_LAUNCH_FAILED;
}

/* Whether PATH is DIRECTORY or below it; both absolute and normalised. */
bool path_within(const char *directory, const char *path)
{
	size_t length = strlen(directory);
	if (strcmp(directory, "/") == 0)
		return path[0] == '/';
	return strncmp(directory, path, length) == 0 && (path[length] == '\0' || path[length] == '/');
}

/* The manifest is JSON, which carries Unicode text only: a path or argument that is not valid
 * UTF-8 cannot be written into it faithfully, so it is refused up front. */
bool valid_utf8(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	while (*p != '\0') {
		unsigned int code;
		int follow;
		if (*p < 0x80) {
			p++;
			continue;
		} else if ((*p & 0xe0) == 0xc0) {
			code = *p & 0x1f;
			follow = 1;
		} else if ((*p & 0xf0) == 0xe0) {
			code = *p & 0x0f;
			follow = 2;
		} else if ((*p & 0xf8) == 0xf0) {
			code = *p & 0x07;
			follow = 3;
		} else {
			return false;
		}
		p++;
		for (int i = 0; i < follow; i++, p++) {
			if ((*p & 0xc0) != 0x80)
				return false;
			code = (code << 6) | (*p & 0x3f);
		}
		/* Overlong forms, UTF-16 surrogates and values past U+10FFFF are not UTF-8. */
		if ((follow == 1 && code < 0x80) || (follow == 2 && code < 0x800) ||
		    (follow == 3 && code < 0x10000) || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff)
			return false;
	}
	return true;
}
