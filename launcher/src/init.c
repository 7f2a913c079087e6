/*
 * The container init: PID 1 of the container and the root of the tree CRIU dumps.
 *
 *   /.lifeboat/init --container-init
 *
 * container.c executes this, already as the caller, with the container built, stdio open and
 * every other descriptor closed. It runs no command itself: the container's tasks are started by
 * join.c and become its children (orphans are reparented to PID 1). It reaps every child; for a
 * task (one with a record TASKS_PATH/task-N) it writes the exit status (or 128+signal) to
 * TASKS_PATH/status-N, where the task's outer lifeboat-run reads it, and to the task's
 * exit-status file if it has one: after a migration nothing can wait() for a restored task, the
 * file is how the status reaches the target node. It forwards SIGTERM, SIGINT, SIGHUP, SIGUSR1,
 * SIGUSR2 and SIGCONT to every running task (the outer processes signal their own tasks directly).
 *
 * When no task is left it ends the container: under the tasks' lock, which a joining task takes
 * too, it marks the container closed, then waits up to TASKS_LINGER_MS for the outer processes
 * to collect the status records (they remove them) and exits 0. Processes that are not tasks
 * (a task's orphans) are killed with the namespace, as at the end of a job.
 *
 * Until its first task has started, the container ends with the outer lifeboat-run that built it
 * (PARENT_DEATH_SIGNAL): a launcher killed then would leave an init without a task. Afterwards
 * each task's watcher (join.c) kills the task when its launcher dies. CRIU restores the parent
 * death setting, so a restored init gets the signal as soon as `criu restore -d` exits: it has
 * tasks then and ignores it.
 *
 * It runs only as PID 1 with no privilege of its own (no setuid elevation), so invoking this
 * mode by hand grants nothing.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "launcher.h"

/* Writes CODE to the file at the absolute PATH atomically: a reader sees the whole number or no file. */
static void write_status(const char *path, int code)
{
	const char *slash = strrchr(path, '/');
	char temporary[PATH_MAX];
	char text[16];
	int length = snprintf(text, sizeof(text), "%d\n", code);
	int fd = -1;
	if (snprintf(temporary, sizeof(temporary), "%.*s/.%s.XXXXXX", (int)(slash - path),
		     path, slash + 1) >= (int)sizeof(temporary)) {
		log_error("exit-status file name %s too long", path);
		return;
	}
	fd = mkostemp(temporary, O_CLOEXEC);
	if (fd < 0) {
		log_errno("create a temporary file next to %s", path);
		return;
	}
	/* Read on the host, by an agent that may be another user than CMD's. */
	if (fchmod(fd, 0644) != 0 || write(fd, text, length) != length || fsync(fd) != 0) {
		log_errno("write %s", path);
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		log_errno("write %s", path);
		goto fail;
	}
	fd = -1;
	if (rename(temporary, path) != 0) {
		log_errno("rename the exit status into %s", path);
		goto fail;
	}
	return;
fail:
	if (fd >= 0)
		close(fd);
	unlink(temporary);
}


/* State of the init. */
static struct {
	int tasks; /* TASKS_PATH */
	bool closing;
	struct timespec closed_at;
} init = {
	.tasks = -1,
	.closing = false,
	.closed_at = {0, 0},
};

static bool exists(const char *prefix, pid_t pid)
{
	char name[32];
	snprintf(name, sizeof(name), "%s%d", prefix, (int)pid);
	return faccessat(init.tasks, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Calls visit(N) for each task record task-N; stops at the first nonzero result and returns it. */
static int each_task(int (*visit)(pid_t task, int argument), int argument)
{
	int result = 0;
	struct dirent *entry;
	int fd = dup(init.tasks);
	DIR *directory = fd < 0 ? NULL : fdopendir(fd);
	if (directory == NULL) {
		log_errno("read %s", TASKS_PATH);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rewinddir(directory);
	while (result == 0 && (entry = readdir(directory)) != NULL) {
		long pid;
		char *end;
		if (strncmp(entry->d_name, "task-", 5) != 0)
			continue;
		pid = strtol(entry->d_name + 5, &end, 10);
		if (*end == '\0' && pid > 1)
			result = visit((pid_t)pid, argument);
	}
	closedir(directory);
	return result;
}

/* A task still runs: no status yet, and its pid is alive (a child of ours, or of the process
 * that forked it and has yet to exit). */
static int running(pid_t task, int unused)
{
	(void)unused;
	return !exists("status-", task) && kill(task, 0) == 0;
}

static int forward(pid_t task, int signal)
{
	if (running(task, 0) && kill(task, signal) != 0 && errno != ESRCH)
		log_errno("forward signal %d to task %d", signal, (int)task);
	return 0;
}

static int any(pid_t task, int unused)
{
	(void)task;
	(void)unused;
	return 1;
}

/* The exit-status file named in task-N, if any, into path; -1 if there is none. */
static int status_file_of(pid_t task, char path[PATH_MAX])
{
	char name[32], text[PATH_MAX + 256];
	const char *line;
	ssize_t length;
	int fd;
	snprintf(name, sizeof(name), "task-%d", (int)task);
	fd = openat(init.tasks, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	length = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (length <= 0)
		return -1;
	text[length] = '\0';
	line = strstr(text, "exit-status-file=/");
	if (line == NULL || (line != text && line[-1] != '\n'))
		return -1;
	line += strlen("exit-status-file=");
	snprintf(path, PATH_MAX, "%.*s", (int)strcspn(line, "\n"), line);
	return 0;
}

static void record_status(pid_t task, int code)
{
	char path[PATH_MAX];
	if (!exists("task-", task))
		return; /* not a task: a task's orphan */
	if (status_file_of(task, path) == 0)
		write_status(path, code);
	snprintf(path, sizeof(path), "%s/status-%d", TASKS_PATH, (int)task);
	write_status(path, code);
}

static void reap(void)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		record_status(pid, exit_code_of(status));
	if (pid < 0 && errno != ECHILD)
		log_errno("reap children");
}

/* Whether no task is left; if so, marks the container closed under the lock joins take, so no
 * task can start in it any more. */
static bool close_if_done(void)
{
	bool done = false;
	int lock = openat(init.tasks, TASKS_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX) != 0) {
		log_errno("lock %s", TASKS_PATH);
	} else if (each_task(running, 0) == 0) {
		int closed = openat(init.tasks, TASKS_CLOSED, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (closed < 0)
			log_errno("mark the container closed");
		else
			close(closed);
		done = closed >= 0;
	}
	if (lock >= 0)
		close(lock);
	return done;
}

/* Whether the outer processes have collected every status, or waited long enough for them. */
static bool collected(void)
{
	struct timespec now;
	long waited_ms;
	clock_gettime(CLOCK_MONOTONIC, &now);
	waited_ms = (now.tv_sec - init.closed_at.tv_sec) * 1000 + (now.tv_nsec - init.closed_at.tv_nsec) / 1000000;
	if (waited_ms >= TASKS_LINGER_MS)
		return true;
	DIR *directory = opendir(TASKS_PATH);
	struct dirent *entry;
	bool left = false;
	if (directory == NULL)
		return true;
	while (!left && (entry = readdir(directory)) != NULL)
		left = strncmp(entry->d_name, "status-", 7) == 0;
	closedir(directory);
	return !left;
}

/* Reaps, records and forwards until no task is left and the statuses are collected. */
static int run(void)
{
	const struct timespec poll_interval = {0, 50 * 1000 * 1000};
	sigset_t signals;
	forwarded_signals(&signals);
	sigaddset(&signals, PARENT_DEATH_SIGNAL);
	for (;;) {
		siginfo_t info;
		/* The signals were blocked by the outer process before it forked, and stay blocked. */
		int signal = sigtimedwait(&signals, &info, init.closing ? &poll_interval : NULL);
		if (signal < 0) {
			/* EINTR is also how the wait returns after a CRIU restore. */
			if (errno != EINTR && errno != EAGAIN) {
				log_errno("wait for signals");
				return EXIT_LAUNCH_FAILED;
			}
		} else if (signal == PARENT_DEATH_SIGNAL) {
			if (each_task(any, 0) == 0) {
				log_error("the launcher was killed before the first task started: ending the container");
				return 128 + SIGKILL;
			}
		} else if (signal != SIGCHLD) {
			each_task(forward, signal);
		} else {
			reap();
			if (!init.closing && close_if_done()) {
				init.closing = true;
				clock_gettime(CLOCK_MONOTONIC, &init.closed_at);
			}
		}
		if (init.closing && collected())
			return 0;
	}
}

int init_main(int argc, char **argv)
{
	if (getpid() != 1 || geteuid() != getuid() || argc != 2) {
		log_error(INIT_OPTION " is internal: lifeboat-run runs it as the container's PID 1");
		return EXIT_LAUNCH_FAILED;
	}
	(void)argv;
	init.tasks = open(TASKS_PATH, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (init.tasks < 0) {
		log_errno("open %s", TASKS_PATH);
		return EXIT_LAUNCH_FAILED;
	}
	return run();
}
