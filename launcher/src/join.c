/*
 * Tasks in a container, and the container a Slurm job's tasks on one node share.
 *
 * Every command lifeboat-run runs is a task of a container: the init (init.c) runs none itself.
 * The outer lifeboat-run starts its task in the container it built, or, when it runs in a Slurm
 * job whose container on this node is already up, in that one, so a job step's tasks (`srun -n 2
 * lifeboat-run -- CMD`) share one PID namespace, /dev/shm and /tmp, and one CRIU run dumps them.
 *
 * Rendezvous. JOBS_DIR/JOB-UID-NODE (JOB-UID outside a Slurm step; root's, in a directory only root writes) names the job's container:
 * its init's pid and start time and the fingerprint of its mounts. The launcher takes an exclusive
 * lock on it (an OFD lock, see lock_whole_file): the holder either finds a live container of its own uid in its job's cgroup and
 * joins it, or builds one and publishes it before letting go. So exactly one launcher of the job
 * builds, a record left by a launcher killed with SIGKILL is recognised as stale (the pid is gone
 * or another process's), and no file has to be created exclusively and cleaned up on every path.
 * Only a launcher whose own cgroup is the job's uses the record: the caller sets SLURM_JOB_ID, but
 * only Slurm can put a process into a job's cgroup.
 *
 * Starting a task. A helper forked by the outer process (still root) joins the init's mount, PID
 * and network namespaces through a pidfd of the checked init (setns), drops to the caller for good as the
 * container does, changes to the working directory and opens stdio inside, then forks a process
 * in the container's PID namespace that forks the task and exits: the task is reparented to the
 * container's init (an orphan goes to the init of its parent's namespace), as CRIU needs (it
 * dumps the tree rooted at the init). That process writes the task's record under the tasks'
 * lock, which the init takes before it decides to end: a join never lands in a container that is
 * ending (it sees TASKS_CLOSED and says so, and the launcher builds a new container).
 *
 * Waiting. The outer process stays outside as the process Slurm sees: it forwards signals to the
 * task's pidfd, reads status-N once the init has reaped the task (through /proc/INIT/root, as the
 * caller, never following a symbolic link), and removes the records. A watcher process, the
 * outer's child, kills the task if the outer process dies, so a container whose every launcher
 * died still ends (its init ends when no task is left).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher.h"

/* How long the outer process waits for the init to write a task's status after the task ended
 * (it must first be reparented and reaped): 10 s of 20 ms polls. */
#define STATUS_POLLS 500

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Whether the process has not exited: a pidfd polls readable once it has (a zombie, too, which
 * still takes signals). */
static bool alive(int pidfd)
{
	struct pollfd fd = {.fd = pidfd, .events = POLLIN};
	return poll(&fd, 1, 0) == 0;
}

/* A pidfd of the container init PID if it is still the process started at START, of the caller's
 * real uid and, in a Slurm job, in that job's cgroup; -1 otherwise (errno ESRCH if it is gone or
 * another process). Checked while the pidfd pins it: alive afterwards, it is the process checked. */
int open_init(pid_t pid, unsigned long long start, uid_t uid)
{
	unsigned long long now;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return -1;
	if (process_start_time(pid, &now) != 0 || now != start || real_uid(pid) != (long)uid || !in_job_cgroup(pid) ||
	    !alive(pidfd)) {
		close(pidfd);
		errno = ESRCH;
		return -1;
	}
	return pidfd;
}

/* The "NSpid:" line's last pid (the pid in the process's own namespace); -1 if unreadable. */
static long inner_pid(pid_t pid)
{
	char status[4096];
	char *line, *end;
	long inner = -1;
	if (read_proc_file(pid, "status", status, sizeof(status)) != 0 || (line = strstr(status, "\nNSpid:")) == NULL)
		return -1;
	line += strlen("\nNSpid:");
	end = strchrnul(line, '\n');
	*end = '\0';
	for (char *save = NULL, *field = strtok_r(line, " \t", &save); field != NULL; field = strtok_r(NULL, " \t", &save))
		inner = strtol(field, NULL, 10);
	return inner;
}

static int pid_namespace(pid_t pid, struct stat *st)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	return stat(path, st);
}

/* Whether PID is process INSIDE of INIT's PID namespace, of the caller's uid. */
static bool is_task(pid_t pid, const struct stat *namespace, pid_t inside, uid_t uid)
{
	struct stat st;
	return pid_namespace(pid, &st) == 0 && st.st_dev == namespace->st_dev && st.st_ino == namespace->st_ino &&
	       inner_pid(pid) == inside && real_uid(pid) == (long)uid;
}

int open_task(pid_t init_pid, pid_t inside, uid_t uid, pid_t *host)
{
	struct stat namespace;
	struct dirent *entry;
	DIR *proc;
	int pidfd = -1;
	if (pid_namespace(init_pid, &namespace) != 0) {
		log_errno("read the PID namespace of the container init %d", (int)init_pid);
		return -1;
	}
	proc = opendir("/proc");
	if (proc == NULL) {
		log_errno("open /proc");
		return -1;
	}
	while (pidfd < 0 && (entry = readdir(proc)) != NULL) {
		pid_t pid = (pid_t)strtol(entry->d_name, NULL, 10);
		if (pid <= 0 || !is_task(pid, &namespace, inside, uid))
			continue;
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		/* Checked again while the pidfd pins it: the pid was not reused in between. */
		if (pidfd >= 0 && !is_task(pid, &namespace, inside, uid))
			close_fd(&pidfd);
		*host = pid;
	}
	closedir(proc);
	if (pidfd < 0)
		errno = ESRCH;
	return pidfd;
}

/* The task's record: how the agent and a launcher started again after a migration find it. Every
 * task writes its identity (identity.c), whether it built the container or joined it; only a
 * resumed launcher compares it (find_record). */
static int write_record(int tasks, pid_t task, const struct container_config *config)
{
	char name[32], text[PATH_MAX + TASK_IDENTITY_SIZE];
	int length = task_identity(config->environment, text, sizeof(text)), fd;
	if (config->status_file.set)
		length += snprintf(text + length, sizeof(text) - length, "exit-status-file=%s\n", config->status_file.inside);
	snprintf(name, sizeof(name), "task-%d", (int)task);
	fd = openat(tasks, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || length >= (int)sizeof(text) || write(fd, text, length) != length || close(fd) != 0) {
		log_errno("write the task record %s/%s", TASKS_PATH, name);
		return -1;
	}
	return 0;
}

/* In the task: a session of its own inside the container (CRIU refuses a session leader outside
 * the namespace), no signal blocked, no descriptor but 0-2 and srun's PMI-2 socket, if kept
 * (main.c, keep_pmi_fd), at its number and inheritable again. */
static void exec_task(const struct container_config *config)
{
	sigset_t none;
	int error;
	sigemptyset(&none);
	if (setsid() < 0 || sigprocmask(SIG_SETMASK, &none, NULL) != 0 || close_other_fds(config->pmi_fd) != 0 ||
	    (config->pmi_fd >= 0 && fcntl(config->pmi_fd, F_SETFD, 0) != 0)) {
		log_errno("prepare the task");
		_exit(EXIT_LAUNCH_FAILED);
	}
	execvpe(config->argv[0], config->argv, config->environment);
	error = errno;
	log_errno("execute %s", config->argv[0]);
	_exit(error == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE);
}

/* In the container's PID namespace, as the caller: forks the task under the tasks' lock, records
 * it, reports its pid inside on report_fd. Its exit code: 0, JOIN_CLOSED or 125. */
static int fork_task(const struct container_config *config, int report_fd)
{
	int tasks = open(TASKS_PATH, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int lock = tasks < 0 ? -1 : openat(tasks, TASKS_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	pid_t task;
	if (lock < 0 || flock(lock, LOCK_EX) != 0) {
		log_errno("lock %s", TASKS_PATH);
		return EXIT_LAUNCH_FAILED;
	}
	if (faccessat(tasks, TASKS_CLOSED, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return JOIN_CLOSED;
	/* The file's presence means this run has ended: one left from an earlier run must go. */
	if (config->status_file.set && unlink(config->status_file.inside) != 0 && errno != ENOENT) {
		log_errno("remove the old %s", config->status_file.host);
		return EXIT_LAUNCH_FAILED;
	}
	task = fork();
	if (task < 0) {
		log_errno("fork the task");
		return EXIT_LAUNCH_FAILED;
	}
	if (task == 0)
		exec_task(config);
	if (write_record(tasks, task, config) != 0) {
		kill(task, SIGKILL);
		return EXIT_LAUNCH_FAILED;
	}
	if (write(report_fd, &task, sizeof(task)) != sizeof(task)) {
		log_errno("report the task's pid");
		return EXIT_LAUNCH_FAILED;
	}
	return 0;
}

/* The helper, forked by the outer process as root: into the container, down to the caller. */
static void join_helper(const struct container_config *config, int init_pidfd, int report_fd)
{
	pid_t child;
	int status;
	/* The network namespace too: the init's may be a named one (--netns, --network=job) or a
	 * loopback one, and CRIU dumps one per tree (and a task of the node's could not reach the
	 * others on 127.0.0.1). */
	if (setns(init_pidfd, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET) != 0) {
		log_errno("join the container's namespaces");
		_exit(EXIT_LAUNCH_FAILED);
	}
	if (drop_privileges(config->uid, config->gid, true) != 0)
		_exit(EXIT_LAUNCH_FAILED);
	if (chdir(config->chdir) != 0) {
		log_errno("change directory to %s in the container", config->chdir);
		_exit(EXIT_LAUNCH_FAILED);
	}
	if (open_stdio(config) != 0)
		_exit(EXIT_LAUNCH_FAILED);
	/* This process stays in the host's PID namespace; its child is in the container's, so the
	 * task, orphaned when that child exits, goes to the container's init. */
	child = fork();
	if (child < 0) {
		log_errno("fork into the container");
		_exit(EXIT_LAUNCH_FAILED);
	}
	if (child == 0)
		_exit(fork_task(config, report_fd));
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			_exit(EXIT_LAUNCH_FAILED);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_LAUNCH_FAILED);
}

/* The watcher, the outer process's child: kills the task when the outer process dies (SIGKILL
 * included), ends with the task otherwise. It keeps no privilege and no descriptor of the outer's
 * but the task's pidfd (a copy of the job's record lock would keep it locked). */
static pid_t start_watcher(int task_pidfd, uid_t uid, gid_t gid)
{
	pid_t outer = getpid();
	pid_t watcher = fork();
	sigset_t signals;
	int signal_fd;
	if (watcher != 0) {
		if (watcher < 0)
			log_errno("fork the task's watcher");
		return watcher;
	}
	if (dup2(task_pidfd, 3) != 3 || close_range(4, ~0U, 0) != 0 || drop_privileges(uid, gid, true) != 0)
		_exit(EXIT_LAUNCH_FAILED);
	sigemptyset(&signals);
	sigaddset(&signals, PARENT_DEATH_SIGNAL);
	if (sigprocmask(SIG_BLOCK, &signals, NULL) != 0 || (signal_fd = signalfd(-1, &signals, SFD_CLOEXEC)) < 0 ||
	    prctl(PR_SET_PDEATHSIG, PARENT_DEATH_SIGNAL, 0, 0, 0) != 0) {
		log_errno("set up the task's watcher");
		_exit(EXIT_LAUNCH_FAILED);
	}
	/* Set after the last change of ids (which clears it); the outer may have died before. */
	if (getppid() == outer) {
		struct pollfd fds[2] = {{.fd = 3, .events = POLLIN}, {.fd = signal_fd, .events = POLLIN}};
		while (poll(fds, 2, -1) < 0 && errno == EINTR)
			;
		if (fds[0].revents != 0)
			_exit(0);
	}
	log_error("the launcher died: killing its task");
	syscall(SYS_pidfd_send_signal, 3, SIGKILL, NULL, 0);
	_exit(0);
}

int start_task(const struct container_config *config, pid_t init_pid, unsigned long long init_start, struct task *task)
{
	int pipe_fds[2] = {-1, -1};
	pid_t helper;
	int status, result = -1;
	*task = (struct task){.init_pid = init_pid, .init_start = init_start, .init_pidfd = -1, .inside_pid = -1, .host_pid = -1, .pidfd = -1, .watcher = -1};
	task->init_pidfd = open_init(init_pid, init_start, config->uid);
	if (task->init_pidfd < 0) {
		log_errno("the container init %d is gone or not the caller's", (int)init_pid);
		return -1;
	}
	if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
		log_errno("pipe");
		goto done;
	}
	helper = fork();
	if (helper < 0) {
		log_errno("fork");
		goto done;
	}
	if (helper == 0) {
		close(pipe_fds[0]);
		join_helper(config, task->init_pidfd, pipe_fds[1]);
	}
	close_fd(&pipe_fds[1]);
	while (waitpid(helper, &status, 0) < 0)
		if (errno != EINTR)
			goto done;
	if (WIFEXITED(status) && WEXITSTATUS(status) == JOIN_CLOSED) {
		result = JOIN_CLOSED;
		goto done;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    read(pipe_fds[0], &task->inside_pid, sizeof(task->inside_pid)) != sizeof(task->inside_pid)) {
		log_error("the task could not be started in the container");
		goto done;
	}
	task->pidfd = open_task(init_pid, task->inside_pid, config->uid, &task->host_pid);
	if (task->pidfd < 0) {
		/* It has ended already: wait_task reads its status. */
		if (errno != ESRCH)
			goto done;
	} else {
		task->watcher = start_watcher(task->pidfd, config->uid, config->gid);
		if (task->watcher < 0)
			goto done;
	}
	result = 0;
done:
	close_fd(&pipe_fds[0]);
	close_fd(&pipe_fds[1]);
	if (result != 0) {
		if (task->pidfd >= 0)
			syscall(SYS_pidfd_send_signal, task->pidfd, SIGKILL, NULL, 0);
		close_fd(&task->pidfd);
		close_fd(&task->init_pidfd);
	}
	return result;
}

/* The container's task records, opened as the caller through /proc/INIT/root without following
 * any symbolic link (the caller owns them); -1 if the init is gone. */
static int open_records(const struct task *task)
{
	struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	char path[64];
	int root, records = -1;
	snprintf(path, sizeof(path), "/proc/%d/root", (int)task->init_pid);
	root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root >= 0)
		records = (int)syscall(SYS_openat2, root, TASKS_PATH + 1, &how, sizeof(how));
	if (root >= 0)
		close(root);
	/* Opened while the init (pinned by its pidfd) was alive: its root, not a reused pid's. */
	if (records >= 0 && !alive(task->init_pidfd))
		close_fd(&records);
	return records;
}

/* The task's exit status from status-N, which is then removed with task-N; -1 if not there yet. */
static int collect_status(const struct task *task)
{
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS};
	char name[32], text[16];
	int records = open_records(task), fd = -1, code = -1;
	ssize_t length;
	if (records < 0)
		return -1;
	snprintf(name, sizeof(name), "status-%d", (int)task->inside_pid);
	fd = (int)syscall(SYS_openat2, records, name, &how, sizeof(how));
	if (fd >= 0 && (length = read(fd, text, sizeof(text) - 1)) > 0) {
		text[length] = '\0';
		code = atoi(text);
		if (code < 0 || code > 255)
			code = EXIT_LAUNCH_FAILED;
		unlinkat(records, name, 0);
		snprintf(name, sizeof(name), "task-%d", (int)task->inside_pid);
		unlinkat(records, name, 0);
	}
	if (fd >= 0)
		close(fd);
	close(records);
	return code;
}

int wait_task(struct task *task, uid_t uid, gid_t gid)
{
	int code = -1;
	if (task->pidfd >= 0 && wait_forwarding_signals(task->host_pid, task->pidfd, "the task") != 0)
		code = EXIT_LAUNCH_FAILED;
	if (become_user(uid, gid) != 0)
		code = EXIT_LAUNCH_FAILED;
	for (int polls = 0; code < 0; polls++) {
		code = collect_status(task);
		if (code >= 0)
			break;
		if (!alive(task->init_pidfd)) {
			/* The init was killed (scancel, a migration's source side) before the task ended. */
			log_error("the container ended before the task did (killed: scancel, or the job moved to another node)");
			code = 128 + SIGKILL;
		} else if (polls >= STATUS_POLLS) {
			log_error("the container init did not record the task's exit status");
			code = EXIT_LAUNCH_FAILED;
		} else {
			usleep(20000);
		}
	}
	if (become_root() != 0)
		code = EXIT_LAUNCH_FAILED;
	if (task->watcher > 0)
		while (waitpid(task->watcher, NULL, 0) < 0 && errno == EINTR)
			;
	close_fd(&task->pidfd);
	close_fd(&task->init_pidfd);
	return code;
}

static bool root_only_directory(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/* Parses the record's key=value lines; false if it names no container. */
static bool parse_job_record(const char *text, struct job_lock *lock)
{
	const char *pid = strstr(text, "init-pid="), *start = strstr(text, "init-start="), *print = strstr(text, "fingerprint=");
	if (pid == NULL || start == NULL || print == NULL)
		return false;
	lock->init_pid = (pid_t)strtol(pid + strlen("init-pid="), NULL, 10);
	lock->init_start = strtoull(start + strlen("init-start="), NULL, 10);
	snprintf(lock->fingerprint, sizeof(lock->fingerprint), "%.16s", print + strlen("fingerprint="));
	return lock->init_pid > 1;
}

/*
 * An open file description lock on the whole record (waiting for it), or its release. Not flock:
 * the agent, a Java program, can take only fcntl record locks (FileChannel.lock), and OFD locks
 * conflict with those, so the agent holds a job's record while it dumps the job's container and
 * no task starts in it meanwhile. Like flock, the lock belongs to the open file, shared by copies.
 */
static int lock_whole_file(int fd, short type)
{
	struct flock region = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
	int result;
	do
		result = fcntl(fd, type == F_UNLCK ? F_OFD_SETLK : F_OFD_SETLKW, &region);
	while (result != 0 && errno == EINTR);
	return result;
}

int lock_job(const char *job, uid_t uid, struct job_lock *lock)
{
	struct stat st;
	char text[256];
	ssize_t length;
	*lock = (struct job_lock){.fd = -1, .init_pid = 0};
	if ((mkdir("/run/lifeboat", 0755) != 0 && errno != EEXIST) || (mkdir(JOBS_DIR, 0755) != 0 && errno != EEXIST) ||
	    !root_only_directory("/run/lifeboat") || !root_only_directory(JOBS_DIR)) {
		log_error("%s must be a directory only root can write", JOBS_DIR);
		return -1;
	}
	/* Per node as well: several slurmd on one host (Slurm's multiple-slurmd, the testbed) share /run, and each
	 * node's part of a job on several nodes is a container of its own, whose agent holds its record alone. */
	const char *node = getenv("SLURMD_NODENAME");
	if (node != NULL && safe_node_name(node))
		snprintf(lock->path, sizeof(lock->path), "%s/%s-%u-%s", JOBS_DIR, job, (unsigned)uid, node);
	else
		snprintf(lock->path, sizeof(lock->path), "%s/%s-%u", JOBS_DIR, job, (unsigned)uid);
	/* Removed by a creator between our open and our lock: that file is no longer the record. */
	for (;;) {
		lock->fd = open(lock->path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (lock->fd < 0 || lock_whole_file(lock->fd, F_WRLCK) != 0 || fstat(lock->fd, &st) != 0) {
			log_errno("lock %s", lock->path);
			unlock_job(lock);
			return -1;
		}
		if (st.st_nlink > 0)
			break;
		unlock_job(lock);
	}
	length = pread(lock->fd, text, sizeof(text) - 1, 0);
	text[length > 0 ? length : 0] = '\0';
	if (parse_job_record(text, lock)) {
		int pidfd = open_init(lock->init_pid, lock->init_start, uid);
		if (pidfd >= 0)
			close(pidfd);
		else
			lock->init_pid = 0; /* stale: its launcher died, its container ended */
	}
	return 0;
}

int publish_job(struct job_lock *lock, pid_t init_pid, unsigned long long init_start, const char *fingerprint)
{
	char text[256];
	int length = snprintf(text, sizeof(text), "init-pid=%d\ninit-start=%llu\nfingerprint=%s\n", (int)init_pid, init_start,
			      fingerprint);
	if (ftruncate(lock->fd, 0) != 0 || pwrite(lock->fd, text, length, 0) != length) {
		log_errno("write %s", lock->path);
		return -1;
	}
	return 0;
}

void unlock_job(struct job_lock *lock)
{
	if (lock->fd >= 0) {
		/* Explicitly: a child may still hold a copy of the descriptor. */
		lock_whole_file(lock->fd, F_UNLCK);
		close(lock->fd);
	}
	lock->fd = -1;
}

void forget_job(const char *job, uid_t uid, pid_t init_pid, unsigned long long init_start)
{
	struct job_lock lock;
	char text[256];
	ssize_t length;
	if (lock_job(job, uid, &lock) != 0)
		return;
	length = pread(lock.fd, text, sizeof(text) - 1, 0);
	text[length > 0 ? length : 0] = '\0';
	/* lock_job clears init_pid of a record naming a dead init: read it again. */
	if (length <= 0 || (parse_job_record(text, &lock) && lock.init_pid == init_pid && lock.init_start == init_start))
		unlink(lock.path);
	unlock_job(&lock);
}

/* The pid inside of the task whose record names the identity WANTED (same_task: its step and local
 * id, its rank aside), as the caller; -1 if none. */
static pid_t find_record(const struct task *task, const char *wanted, uid_t uid, gid_t gid)
{
	struct dirent *entry;
	DIR *directory = NULL;
	pid_t found = -1;
	int records;
	if (become_user(uid, gid) != 0)
		goto done;
	records = open_records(task);
	directory = records < 0 ? NULL : fdopendir(records);
	if (directory == NULL) {
		if (records >= 0)
			close(records);
		goto done;
	}
	while (found < 0 && (entry = readdir(directory)) != NULL) {
		struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS};
		char text[PATH_MAX + 256];
		ssize_t length = -1;
		int fd;
		if (strncmp(entry->d_name, "task-", 5) != 0)
			continue;
		fd = (int)syscall(SYS_openat2, dirfd(directory), entry->d_name, &how, sizeof(how));
		if (fd >= 0) {
			length = read(fd, text, sizeof(text) - 1);
			close(fd);
		}
		if (length > 0) {
			text[length] = '\0';
			if (same_task(text, wanted))
				found = (pid_t)strtol(entry->d_name + 5, NULL, 10);
		}
	}
	closedir(directory);
done:
	if (become_root() != 0)
		found = -1;
	return found;
}

int wait_restored_task(pid_t init_pid, unsigned long long init_start, int init_pidfd, char **environment, uid_t uid,
		       gid_t gid, task_announcer announce, int *code)
{
	struct task task = {.init_pid = init_pid, .init_start = init_start, .init_pidfd = -1, .inside_pid = -1, .host_pid = -1, .pidfd = -1, .watcher = -1};
	char wanted[TASK_IDENTITY_SIZE];
	if (task_identity(environment, wanted, sizeof(wanted)) == 0)
		return 1;
	task.init_pidfd = fcntl(init_pidfd, F_DUPFD_CLOEXEC, 0);
	if (task.init_pidfd < 0) {
		log_errno("duplicate a pidfd");
		return -1;
	}
	task.inside_pid = find_record(&task, wanted, uid, gid);
	if (task.inside_pid <= 0) {
		close_fd(&task.init_pidfd);
		return 1;
	}
	task.pidfd = open_task(init_pid, task.inside_pid, uid, &task.host_pid);
	if (task.pidfd >= 0) {
		task.watcher = start_watcher(task.pidfd, uid, gid);
		if (task.watcher < 0) {
			close_fd(&task.pidfd);
			close_fd(&task.init_pidfd);
			return -1;
		}
	}
	fprintf(stderr, LOG_PREFIX "waiting for this launcher's task, pid %d in the restored container\n", (int)task.inside_pid);
	/* Not announced, the agent could not tell the task from work outside the container: but the
	 * task runs already, so it is waited for all the same. */
	announce(&task);
	*code = wait_task(&task, uid, gid);
	return 0;
}
