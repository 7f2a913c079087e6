/*
 * Apptainer mode: `lifeboat-run --apptainer-instance NAME -- apptainer instance start ... NAME`.
 *
 * The batch step runs the given command (Apptainer's own CLI, as the caller, with the caller's
 * environment) that starts the instance and returns, then waits, forwarding signals, until the
 * instance's container process (the "pid" of `apptainer instance list --json NAME`) ends, and
 * exits 0: Apptainer records no exit status for an instance. The agent finds the instance
 * through the same list and the job's cgroup, and migrates it (agent/README: Apptainer). When
 * Slurm runs the batch script again on the node the instance was moved to, the resume marker
 * check in main() comes first and this command is not run again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher.h"

#define LIST_MAX 65536

/* Runs argv as the caller (real ids, no privilege kept), stdout into output when given; its exit code. */
static int run_as_caller(char **argv, uid_t uid, gid_t gid, char *output, size_t capacity)
{
	int pipe_fds[2] = {-1, -1};
	if (output != NULL && pipe2(pipe_fds, O_CLOEXEC) != 0) {
		log_errno("pipe");
		return EXIT_LAUNCH_FAILED;
	}
	pid_t child = fork();
	if (child < 0) {
		log_errno("fork");
		return EXIT_LAUNCH_FAILED;
	}
	if (child == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (output != NULL && dup2(pipe_fds[1], STDOUT_FILENO) < 0)
			_exit(EXIT_LAUNCH_FAILED);
		if (setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0)
			_exit(EXIT_LAUNCH_FAILED);
		execvp(argv[0], argv);
		fprintf(stderr, LOG_PREFIX "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE);
	}
	size_t used = 0;
	if (output != NULL) {
		close(pipe_fds[1]);
		ssize_t got;
		while ((got = read(pipe_fds[0], output + used, capacity - 1 - used)) > 0 && used + (size_t)got < capacity - 1)
			used += (size_t)got;
		output[used] = '\0';
		close(pipe_fds[0]);
	}
	int status;
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR) {
			log_errno("wait for %s", argv[0]);
			return EXIT_LAUNCH_FAILED;
		}
	}
	return exit_code_of(status);
}

/* The container pid of instance name, from `apptainer instance list --json NAME`; 0 if not listed. */
static pid_t instance_pid(const char *apptainer, const char *name, uid_t uid, gid_t gid)
{
	static char listing[LIST_MAX];
	char *argv[] = {(char *)apptainer, "instance", "list", "--json", (char *)name, NULL};
	if (run_as_caller(argv, uid, gid, listing, sizeof(listing)) != 0)
		return -1;
	/* One instance of that exact name (the name is a glob, but ours has no wildcard): its "pid". */
	char *found = strstr(listing, "\"pid\":");
	if (found == NULL)
		return 0;
	long pid = strtol(found + strlen("\"pid\":"), NULL, 10);
	return pid > 1 ? (pid_t)pid : -1;
}

int run_apptainer_instance(char **argv, const char *name, uid_t uid, gid_t gid)
{
	int started = run_as_caller(argv, uid, gid, NULL, 0);
	if (started != 0) {
		log_error("%s exited with %d: the instance %s did not start", argv[0], started, name);
		return started;
	}
	pid_t pid = instance_pid(argv[0], name, uid, gid);
	if (pid <= 0) {
		log_error("%s started, but `%s instance list --json %s` does not list the instance", argv[0], argv[0], name);
		return EXIT_LAUNCH_FAILED;
	}
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		/* It ended already. */
		return errno == ESRCH ? 0 : EXIT_LAUNCH_FAILED;
	}
	fprintf(stderr, LOG_PREFIX "Apptainer instance %s runs as pid %d\n", name, (int)pid);
	/* sinit passes the signals on to the startscript's process group, as `instance stop` relies on. */
	int waited = wait_forwarding_signals(pid, pidfd, "the instance");
	close(pidfd);
	return waited == 0 ? 0 : EXIT_LAUNCH_FAILED;
}
