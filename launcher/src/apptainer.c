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
/* cgroup v1 has a line per hierarchy, about a dozen; v2 one. */
#define CGROUP_LINES_MAX 32

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

/* All three uids and gids the caller's: no way back to root remains, so nothing this mode runs
 * or signals is reached with root's rights. The supplementary groups are the caller's already
 * (a setuid start keeps them), or root's when root is the caller. */
static int drop_privileges_for_good(uid_t uid, gid_t gid)
{
	if (setresgid(gid, gid, gid) != 0) {
		log_errno("set group ids to %u", (unsigned)gid);
		return -1;
	}
	if (setresuid(uid, uid, uid) != 0) {
		log_errno("set user ids to %u", (unsigned)uid);
		return -1;
	}
	return 0;
}

/* Reads /proc/PID/NAME into text (NUL-terminated); -1 if it cannot be read whole. */
static int read_proc_file(pid_t pid, const char *name, char *text, size_t capacity)
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
static long real_uid(pid_t pid)
{
	char status[4096];
	const char *line;
	if (read_proc_file(pid, "status", status, sizeof(status)) != 0)
		return -1;
	line = strstr(status, "\nUid:\t");
	return line == NULL ? -1 : strtol(line + strlen("\nUid:\t"), NULL, 10);
}

struct cgroup_line {
	const char *hierarchy; /* "ID:CONTROLLERS" */
	const char *path;
};

/* Splits a /proc/PID/cgroup text in place into its lines' hierarchy and path; how many. */
static size_t split_cgroups(char *text, struct cgroup_line *lines, size_t max)
{
	size_t count = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line != NULL && count < max; line = strtok_r(NULL, "\n", &save)) {
		char *first = strchr(line, ':');
		char *second = first != NULL ? strchr(first + 1, ':') : NULL;
		if (second == NULL)
			continue;
		*second = '\0';
		lines[count++] = (struct cgroup_line){.hierarchy = line, .path = second + 1};
	}
	return count;
}

/* Whether the process is in this launcher's Slurm job: in every cgroup hierarchy where the
 * launcher's own path holds job_$SLURM_JOB_ID, the process's path lies below that job_ID
 * directory. Outside a Slurm job cgroup there is nothing to compare and the uid check alone
 * applies. (SLURM_JOB_ID is the caller's to set: this keeps out the caller's own other jobs;
 * the uid check and the dropped privileges keep out everyone else's processes.) */
static bool in_job_cgroup(pid_t pid)
{
	static char own_text[8192], their_text[8192];
	struct cgroup_line own[CGROUP_LINES_MAX], theirs[CGROUP_LINES_MAX];
	const char *job = getenv("SLURM_JOB_ID");
	char component[64];
	size_t own_count, their_count;
	if (job == NULL || snprintf(component, sizeof(component), "/job_%s", job) >= (int)sizeof(component))
		return true;
	if (read_proc_file(getpid(), "cgroup", own_text, sizeof(own_text)) != 0 ||
	    read_proc_file(pid, "cgroup", their_text, sizeof(their_text)) != 0)
		return false;
	own_count = split_cgroups(own_text, own, CGROUP_LINES_MAX);
	their_count = split_cgroups(their_text, theirs, CGROUP_LINES_MAX);
	for (size_t i = 0; i < own_count; i++) {
		const char *found = strstr(own[i].path, component);
		const char *end = found != NULL ? found + strlen(component) : NULL;
		char job_directory[PATH_MAX];
		size_t j = 0;
		if (found == NULL || (*end != '/' && *end != '\0'))
			continue;
		snprintf(job_directory, sizeof(job_directory), "%.*s", (int)(end - own[i].path), own[i].path);
		while (j < their_count && strcmp(theirs[j].hierarchy, own[i].hierarchy) != 0)
			j++;
		if (j == their_count || !path_within(job_directory, theirs[j].path))
			return false;
	}
	return true;
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
	if (drop_privileges_for_good(uid, gid) != 0)
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
