/*
 * Apptainer mode: `lifeboat-run --apptainer-instance NAME -- apptainer instance start ... NAME`.
 *
 * The batch step runs the given command (Apptainer's own CLI, as the caller, with the caller's
 * environment) that starts the instance and returns, then waits, forwarding signals, until the
 * instance's container process (the "pid" of `apptainer instance list --json NAME`) ends, and
 * exits 0: Apptainer records no exit status for an instance.
 *
 * That pid comes from a program the caller chose, so it is anyone's: this mode keeps no privilege
 * at all (all ids the caller's before anything of theirs runs), and forwards signals only to a
 * process of the caller's real uid in the caller's Slurm job's cgroup. The agent finds the instance
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

/* Runs argv (with the privileges already dropped), stdout into output when given; its exit code. */
static int run_command(char **argv, char **environment, char *output, size_t capacity)
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
		execvpe(argv[0], argv, environment);
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
static pid_t instance_pid(const char *apptainer, char **environment, const char *name)
{
	static char listing[LIST_MAX];
	char *argv[] = {(char *)apptainer, "instance", "list", "--json", (char *)name, NULL};
	if (run_command(argv, environment, listing, sizeof(listing)) != 0)
		return -1;
	/* One instance of that exact name (the name is a glob, but ours has no wildcard): its "pid". */
	char *found = strstr(listing, "\"pid\":");
	if (found == NULL)
		return 0;
	long pid = strtol(found + strlen("\"pid\":"), NULL, 10);
	return pid > 1 ? (pid_t)pid : -1;
}

/* A pidfd of the listed process if it is the caller's and in the caller's job; -1 otherwise, or
 * if it has ended (errno ESRCH). Checked while the pidfd holds the process: if it is still alive
 * after the checks, the pid was not reused in between. */
static int open_instance(pid_t pid, uid_t uid)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		if (errno != ESRCH)
			log_errno("pidfd_open %d", (int)pid);
		return -1;
	}
	if (real_uid(pid) != (long)uid || !in_job_cgroup(pid)) {
		if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) != 0 && errno == ESRCH)
			goto fail;
		log_error("pid %d, listed as the instance, is not a process of uid %u in this job's cgroup: refused",
			  (int)pid, (unsigned)uid);
		errno = EPERM;
		goto fail;
	}
	if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) != 0) {
		if (errno != ESRCH)
			log_errno("check pid %d", (int)pid);
		goto fail;
	}
	return pidfd;
fail:
	close(pidfd);
	return -1;
}

int run_apptainer_instance(char **argv, char **environment, const char *name, uid_t uid, gid_t gid)
{
	if (drop_privileges(uid, gid, false) != 0)
		return EXIT_LAUNCH_FAILED;
	int started = run_command(argv, environment, NULL, 0);
	if (started != 0) {
		log_error("%s exited with %d: the instance %s did not start", argv[0], started, name);
		return started;
	}
	pid_t pid = instance_pid(argv[0], environment, name);
	if (pid <= 0) {
		log_error("%s started, but `%s instance list --json %s` does not list the instance", argv[0], argv[0], name);
		return EXIT_LAUNCH_FAILED;
	}
	int pidfd = open_instance(pid, uid);
	if (pidfd < 0) {
		/* ESRCH: it ended already. */
		return errno == ESRCH ? 0 : EXIT_LAUNCH_FAILED;
	}
	fprintf(stderr, LOG_PREFIX "Apptainer instance %s runs as pid %d\n", name, (int)pid);
	/* sinit passes the signals on to the startscript's process group, as `instance stop` relies on. */
	int waited = wait_forwarding_signals(pid, pidfd, "the instance");
	close(pidfd);
	return waited == 0 ? 0 : EXIT_LAUNCH_FAILED;
}
