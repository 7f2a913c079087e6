/*
 * The container init: PID 1 of the container and the root of the tree CRIU dumps.
 *
 *   /.lifeboat/init --container-init [--exit-status-file PATH] -- CMD [ARGS...]
 *
 * container.c executes this, already as the caller, with the container built, stdio open and
 * every other descriptor closed. It forks CMD, reaps every child (orphans are reparented to PID
 * 1), forwards SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2 and SIGCONT to CMD, and when CMD exits
 * writes CMD's exit status (or 128+signal) to PATH and exits with it. After a migration nothing
 * can wait() for the restored init: the file is how the status reaches the target node.
 *
 * When the outer lifeboat-run dies (killed alone), the kernel sends PARENT_DEATH_SIGNAL and the
 * init ends the container (status 128+SIGKILL). CRIU restores that setting, so a restored init
 * gets the signal too, as soon as `criu restore -d` exits: it ignores it, knowing itself
 * restored by its start time, which a restored process cannot keep.
 *
 * It runs only as PID 1 with no privilege of its own (no setuid elevation), so invoking this
 * mode by hand grants nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher.h"

/* State of the init. */
static struct {
	char **argv;
	const char *status_path; /* NULL: no exit-status file */
	pid_t cmd_pid;
	unsigned long long start_time; /* this process's, when it started (not restored) */
} init = {
	.argv = NULL,
	.status_path = NULL,
	.cmd_pid = -1,
	.start_time = 0,
};

static int parse_arguments(int argc, char **argv)
{
	int index = 2; /* past the program name and INIT_OPTION */
	if (index + 1 < argc && strcmp(argv[index], "--exit-status-file") == 0) {
		init.status_path = argv[index + 1];
		index += 2;
	}
	if (index >= argc || strcmp(argv[index], "--") != 0 || index + 1 >= argc) {
		log_error(INIT_OPTION " is internal: lifeboat-run runs it as the container's PID 1");
		return -1;
	}
	if (init.status_path != NULL && init.status_path[0] != '/') {
		log_error("exit-status file %s is not absolute", init.status_path);
		return -1;
	}
	init.argv = argv + index + 1;
	return 0;
}

/* In the forked child: CMD with no signal blocked. */
static void exec_command(void)
{
	sigset_t none;
	int error;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execvp(init.argv[0], init.argv);
	error = errno;
	log_errno("execute %s", init.argv[0]);
	_exit(error == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE);
}

/* Writes CODE to the exit-status file atomically: a reader sees the whole number or no file. */
static void write_status(int code)
{
	const char *slash = strrchr(init.status_path, '/');
	char temporary[PATH_MAX];
	char text[16];
	int length = snprintf(text, sizeof(text), "%d\n", code);
	int fd = -1;
	if (snprintf(temporary, sizeof(temporary), "%.*s/.%s.XXXXXX", (int)(slash - init.status_path),
		     init.status_path, slash + 1) >= (int)sizeof(temporary)) {
		log_error("exit-status file name %s too long", init.status_path);
		return;
	}
	fd = mkostemp(temporary, O_CLOEXEC);
	if (fd < 0) {
		log_errno("create a temporary file next to %s", init.status_path);
		return;
	}
	/* Read on the host, by an agent that may be another user than CMD's. */
	if (fchmod(fd, 0644) != 0 || write(fd, text, length) != length || fsync(fd) != 0) {
		log_errno("write %s", init.status_path);
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		log_errno("write %s", init.status_path);
		goto fail;
	}
	fd = -1;
	if (rename(temporary, init.status_path) != 0) {
		log_errno("rename the exit status into %s", init.status_path);
		goto fail;
	}
	return;
fail:
	if (fd >= 0)
		close(fd);
	unlink(temporary);
}

/* Whether PARENT_DEATH_SIGNAL means the outer lifeboat-run died: this is still the process it
 * started. A restored init (another process on this node or another) has another start time. */
static bool launcher_died(void)
{
	unsigned long long now;
	if (process_start_time(getpid(), &now) != 0) {
		log_errno("read this process's start time");
		return false;
	}
	if (now != init.start_time)
		return false;
	log_error("the launcher was killed: ending the container");
	return true;
}

/* Forwards signals to CMD and reaps every child until CMD has exited; returns CMD's exit code.
 * Processes still running when CMD exits are killed by the kernel when PID 1 exits, as at the
 * end of a job. */
static int run(void)
{
	sigset_t signals;
	forwarded_signals(&signals);
	sigaddset(&signals, PARENT_DEATH_SIGNAL);
	init.cmd_pid = fork();
	if (init.cmd_pid < 0) {
		log_errno("fork");
		return EXIT_LAUNCH_FAILED;
	}
	if (init.cmd_pid == 0)
		exec_command();
	for (;;) {
		siginfo_t info;
		int status;
		pid_t pid;
		int code = -1;
		/* The signals were blocked by the outer process before it forked, and stay blocked. */
		int signal = sigwaitinfo(&signals, &info);
		if (signal < 0) {
			/* Also how the wait returns after a CRIU restore. */
			if (errno == EINTR)
				continue;
			log_errno("wait for signals");
			return EXIT_LAUNCH_FAILED;
		}
		if (signal == PARENT_DEATH_SIGNAL) {
			if (launcher_died())
				return 128 + SIGKILL;
			continue;
		}
		if (signal != SIGCHLD) {
			if (kill(init.cmd_pid, signal) != 0 && errno != ESRCH)
				log_errno("forward signal %d to the command", signal);
			continue;
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			if (pid == init.cmd_pid)
				code = exit_code_of(status);
		if (pid < 0 && errno != ECHILD)
			log_errno("reap children");
		if (code >= 0)
			return code;
	}
}

int init_main(int argc, char **argv)
{
	int code;
	if (getpid() != 1 || geteuid() != getuid()) {
		log_error(INIT_OPTION " is internal: lifeboat-run runs it as the container's PID 1");
		return EXIT_LAUNCH_FAILED;
	}
	if (parse_arguments(argc, argv) != 0)
		return EXIT_LAUNCH_FAILED;
	if (process_start_time(getpid(), &init.start_time) != 0) {
		log_errno("read this process's start time");
		return EXIT_LAUNCH_FAILED;
	}
	code = run();
	if (init.status_path != NULL)
		write_status(code);
	return code;
}
