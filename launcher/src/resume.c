/*
 * Resume mode: the job was migrated here. When Lifeboat moves a job, the target's agent restores
 * its container and Slurm requeues the job (same id) onto this node. Slurm then runs the batch
 * script again from the top, so lifeboat-run is started again with the same arguments; the agent
 * has left a marker RESUME_DIR/NODE/JOBID naming the restored container's init. Instead of
 * starting CMD from scratch, lifeboat-run waits for its own task in that container (the one whose
 * record names its SLURM_STEP_ID and SLURM_LOCALID, join.c and identity.c: a job moved to another
 * set of nodes may have its ranks, SLURM_PROCID, numbered anew), forwarding signals to it, and
 * exits with its status; when there is no such task (it ended before the requeued job started, or
 * the launcher is not in a Slurm step), it waits for the init and reads the --exit-status-file the
 * init writes when a task ends (the restored init has no parent here that could wait for it).
 *
 * The marker is trusted only if root owns it and only root can write it and its directory, and
 * only for the caller's own job (its uid line must be the caller's); the init is identified by pid
 * and start time, so a reused pid is never mistaken for it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "launcher.h"

/* How long a requeued job waits for the agent to restore its checkpoint: 30 minutes of 200 ms polls. */
#define RESTORE_WAIT_POLLS (30 * 300)

struct marker {
	unsigned long long job;
	unsigned long long uid;
	unsigned long long init_pid;
	unsigned long long init_start;
	unsigned long long restoring;
	int fields;
};

static bool digits(const char *text, size_t max)
{
	size_t length = strlen(text);
	if (length == 0 || length > max)
		return false;
	return strspn(text, "0123456789") == length;
}

bool safe_node_name(const char *text)
{
	size_t length = strlen(text);
	return length > 0 && length < 64 && strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == length && text[0] != '.';
}

static int parse_marker(const char *path, int fd, struct marker *marker)
{
	char text[512];
	char *line, *save = NULL;
	ssize_t length = read(fd, text, sizeof(text) - 1);
	if (length <= 0) {
		log_error("resume marker %s is empty or unreadable", path);
		return -1;
	}
	text[length] = '\0';
	memset(marker, 0, sizeof(*marker));
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *equals = strchr(line, '=');
		unsigned long long *slot = NULL;
		if (equals == NULL)
			continue;
		*equals = '\0';
		if (strcmp(line, "job") == 0)
			slot = &marker->job;
		else if (strcmp(line, "uid") == 0)
			slot = &marker->uid;
		else if (strcmp(line, "init-pid") == 0)
			slot = &marker->init_pid;
		else if (strcmp(line, "init-start") == 0)
			slot = &marker->init_start;
		else if (strcmp(line, "restoring") == 0)
			slot = &marker->restoring;
		if (slot == NULL)
			continue;
		if (!digits(equals + 1, 20)) {
			log_error("resume marker %s: %s is not a number", path, line);
			return -1;
		}
		*slot = strtoull(equals + 1, NULL, 10);
		marker->fields++;
	}
	/* "restoring=1": the agent is restoring the job's checkpoint here; no init yet. */
	if (marker->restoring == 1 && marker->fields == 3 && marker->init_pid == 0)
		return 0;
	if (marker->restoring != 0 || marker->fields != 4 || marker->init_pid < 2 || marker->init_pid > 4194304) {
		log_error("resume marker %s is incomplete", path);
		return -1;
	}
	return 0;
}

static bool root_only(const struct stat *st)
{
	return st->st_uid == 0 && (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/* Opens the marker for this job on this node; 1 if there is none, 0 if found, -1 on error. */
static int find_marker(const char *resume_dir, struct marker *marker)
{
	const char *job = getenv("SLURM_JOB_ID");
	const char *node = getenv("SLURMD_NODENAME");
	char directory[PATH_MAX], path[PATH_MAX];
	struct stat st;
	int fd, result;
	if (job == NULL || node == NULL)
		return 1; /* not a Slurm job step: nothing can have been migrated for it */
	if (!digits(job, 20) || !safe_node_name(node)) {
		log_error("SLURM_JOB_ID or SLURMD_NODENAME is malformed");
		return -1;
	}
	if (snprintf(directory, sizeof(directory), "%s/%s", resume_dir, node) >= (int)sizeof(directory) ||
	    snprintf(path, sizeof(path), "%s/%s", directory, job) >= (int)sizeof(path)) {
		log_error("resume directory path too long");
		return -1;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 1;
		log_errno("open %s", path);
		return -1;
	}
	result = -1;
	if (fstat(fd, &st) != 0)
		log_errno("stat %s", path);
	else if (!S_ISREG(st.st_mode) || !root_only(&st))
		log_error("resume marker %s is not a regular file only root can write: ignored", path);
	else if (stat(directory, &st) != 0 || !root_only(&st))
		log_error("resume directory %s is not writable by root only: marker ignored", directory);
	else
		result = parse_marker(path, fd, marker);
	close(fd);
	if (result == 0 && marker->job != strtoull(job, NULL, 10)) {
		log_error("resume marker %s names job %llu", path, marker->job);
		result = -1;
	}
	return result;
}

static int read_status(const char *status_path, uid_t uid, gid_t gid)
{
	char text[16];
	ssize_t length;
	int fd, code = EXIT_LAUNCH_FAILED;
	if (status_path == NULL) {
		log_error("the migrated job's exit status is unknown: run lifeboat-run with --exit-status-file (see README.md)");
		return EXIT_LAUNCH_FAILED;
	}
	if (become_user(uid, gid) != 0)
		return EXIT_LAUNCH_FAILED;
	fd = open(status_path, O_RDONLY | O_CLOEXEC);
	if (become_root() != 0) {
		if (fd >= 0)
			close(fd);
		return EXIT_LAUNCH_FAILED;
	}
	if (fd < 0) {
		/* The init was killed (scancel, a node failure) before CMD ended: as if CMD was. */
		log_errno("the restored container ended without an exit status in %s", status_path);
		return 128 + SIGKILL;
	}
	length = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (length <= 0) {
		log_error("exit-status file %s is empty", status_path);
		return EXIT_LAUNCH_FAILED;
	}
	text[length] = '\0';
	code = atoi(text);
	return code >= 0 && code <= 255 ? code : EXIT_LAUNCH_FAILED;
}

int wait_forwarding_signals(pid_t pid, int pidfd, const char *what)
{
	sigset_t signals;
	int signal_fd;
	forwarded_signals(&signals);
	sigdelset(&signals, SIGCHLD);
	signal_fd = signalfd(-1, &signals, SFD_CLOEXEC);
	if (signal_fd < 0) {
		log_errno("signalfd");
		return -1;
	}
	for (;;) {
		struct pollfd fds[2] = {{.fd = pidfd, .events = POLLIN}, {.fd = signal_fd, .events = POLLIN}};
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_errno("poll");
			close(signal_fd);
			return -1;
		}
		if (fds[0].revents != 0)
			break;
		if (fds[1].revents & POLLIN) {
			struct signalfd_siginfo info;
			if (read(signal_fd, &info, sizeof(info)) == sizeof(info) &&
			    syscall(SYS_pidfd_send_signal, pidfd, (int)info.ssi_signo, NULL, 0) != 0 && errno != ESRCH)
				log_errno("forward signal %u to %s (pid %d)", info.ssi_signo, what, (int)pid);
		}
	}
	close(signal_fd);
	return 0;
}

int resume_if_migrated(const char *resume_dir, const char *status_path, bool instance, char **environment, uid_t uid,
		       gid_t gid, task_announcer announce, int *code)
{
	struct marker marker;
	unsigned long long start;
	pid_t pid;
	int pidfd;
	int found = find_marker(resume_dir, &marker);
	/* A checkpoint of the job (parked on shared storage) is being restored here: wait for its init. */
	for (unsigned waited = 0; found == 0 && marker.restoring; waited++) {
		if (waited == 0)
			fprintf(stderr, LOG_PREFIX "job %llu: its checkpoint is being restored on this node: waiting\n", marker.job);
		if (waited >= RESTORE_WAIT_POLLS) {
			log_error("job %llu: the restore of its checkpoint did not finish in %d minutes", marker.job,
				  RESTORE_WAIT_POLLS / 300);
			*code = EXIT_LAUNCH_FAILED;
			return 0;
		}
		usleep(200000);
		found = find_marker(resume_dir, &marker);
		if (found == 1) {
			/* The agent removes the marker when the restore fails; it keeps the checkpoint and requeues the job. */
			log_error("the restore of this job's checkpoint failed on this node; Lifeboat requeues the job");
			*code = EXIT_LAUNCH_FAILED;
			return 0;
		}
	}
	if (found != 0)
		return found;
	if (marker.uid != (unsigned long long)uid) {
		log_error("the container restored for job %llu belongs to uid %llu, not to the caller", marker.job, marker.uid);
		*code = EXIT_LAUNCH_FAILED;
		return 0;
	}
	pid = (pid_t)marker.init_pid;
	fprintf(stderr, LOG_PREFIX "job %llu was migrated to this node: waiting for its restored container (pid %d)\n",
		marker.job, (int)pid);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	/* Checked after the pidfd pins the pid: if the start time matches now, the pidfd is the init's. */
	if (pidfd >= 0 && (process_start_time(pid, &start) != 0 || start != marker.init_start)) {
		close(pidfd);
		pidfd = -1;
		errno = ESRCH;
	}
	if (pidfd < 0) {
		if (errno != ESRCH) {
			log_errno("pidfd_open %d", (int)pid);
			*code = EXIT_LAUNCH_FAILED;
			return 0;
		}
		/* It ended before the requeued job started: its status is already written. */
	} else {
		/* A container of several tasks: this launcher's own (found by its step and local id). */
		int found = instance ? 1 : wait_restored_task(pid, marker.init_start, pidfd, environment, uid, gid, announce, code);
		if (found <= 0) {
			close(pidfd);
			if (found < 0)
				*code = EXIT_LAUNCH_FAILED;
			return 0;
		}
		/* Its task ended already (its status is in its file once the container has ended too), or
		 * an Apptainer instance: wait for the whole container. */
		if (wait_forwarding_signals(pid, pidfd, "the restored container") != 0) {
			close(pidfd);
			*code = EXIT_LAUNCH_FAILED;
			return 0;
		}
		close(pidfd);
	}
	/* An Apptainer instance has no exit status: the job ends 0 with it, as it does on the source. */
	*code = instance ? 0 : read_status(status_path, uid, gid);
	return 0;
}
