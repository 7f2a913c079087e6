/*
 * Shared definitions of lifeboat-run: the container description the outer process builds
 * (main.c) and the container init carries out (container.c), and small helpers (util.c, cgroup.c,
 * identity.c).
 */
#ifndef LIFEBOAT_LAUNCHER_H
#define LIFEBOAT_LAUNCHER_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define LOG_PREFIX "lifeboat-run: "

/* Exit codes of our own, as container engines use them, so a job script can tell them apart
 * from CMD's: 125 = the launcher failed, 126 = CMD not executable, 127 = CMD not found. */
#define EXIT_LAUNCH_FAILED 125
#define EXIT_CANNOT_EXECUTE 126
#define EXIT_NOT_FOUND 127

/* Fixed bounds, so every table is a static array whose limits are checked when filled. */
#define BIND_MAX 24
#define MOUNT_MAX (BIND_MAX + 24)
#define NODE_MAX 256
#define KEY_MAX 32

/* The container init is this program, bound read-only at INIT_PATH inside the container and
 * executed there with INIT_OPTION as its first argument. */
#define INIT_PATH "/.lifeboat/init"
#define INIT_OPTION "--container-init"

/* The container's task records (join.c writes them, init.c completes them): a tmpfs of the
 * caller's (mode 0700), saved in the images, holding for each task started in the container
 * task-N (N: its pid inside) and, once the init has reaped it, status-N. TASKS_LOCK serialises
 * joins against the init's decision to end; TASKS_CLOSED says it has taken it. */
#define TASKS_PATH "/.lifeboat/tasks"
#define TASKS_LOCK "lock"
#define TASKS_CLOSED "closed"
/* How long the init waits, once no task is left, for the tasks' outer processes to collect
 * (remove) the status records before it ends the container. */
#define TASKS_LINGER_MS 2000

/* Where the first lifeboat-run of a Slurm job on a node publishes the job's container, for the
 * job's other tasks on the node to join (join.c). */
#define JOBS_DIR "/run/lifeboat/jobs"

/* Where the agent leaves NODE/JOBID markers for containers it restored (see resume.c). */
#define RESUME_DIR "/run/lifeboat/resume"

/* The two bytes of the start-up handshake on the socket between the outer process and the
 * container init: the init says the container is built, the outer says the manifest is written. */
#define SYNC_READY 'R'
#define SYNC_GO 'G'

/* Sent by the kernel when a launcher dies (PR_SET_PDEATHSIG): to the container init, which ends
 * if no task has started yet (init.c), and to a task's watcher, which kills the task (join.c).
 * Not SIGKILL: CRIU restores the setting, and a restored init gets the signal as soon as CRIU
 * exits, which it ignores then. */
#define PARENT_DEATH_SIGNAL (SIGRTMIN + 2)

enum mount_kind {
	MOUNT_BIND,  /* a host path (or an --image path) bound in; external to CRIU */
	MOUNT_TMPFS, /* a fresh tmpfs; CRIU saves its contents in the images */
	MOUNT_PROC,  /* the container's own /proc; CRIU recreates it */
	MOUNT_TASKS, /* TASKS_PATH: a small tmpfs of the caller's, mode 0700; saved in the images too */
};

struct mount_entry {
	enum mount_kind kind;
	/* The name of a bind mount in CRIU's --external mnt[...] options; empty for other kinds. */
	char key[KEY_MAX];
	/* Canonical host path of a bind mount's source; empty for other kinds. */
	char source[PATH_MAX];
	/* Absolute, normalised path inside the container. */
	char target[PATH_MAX];
	/* A bind of a directory (else of a single file); tmpfs and proc are directories. */
	bool directory;
	/* MOUNT_ATTR_* flags of the mount (read-only, nosuid, nodev, noexec). */
	unsigned int attributes;
	/* The caller chose the source (working directory, --bind, --image): it must not be in the
	 * host's /proc, /dev or /sys, nor have mounts below it (container.c, check_source). */
	bool caller_named;
};

enum node_type { NODE_DIRECTORY, NODE_FILE, NODE_SYMLINK };

/* The container's network namespace (--network, --netns). */
enum network_mode {
	NETWORK_NODE,     /* the node's: the caller's namespace, kept */
	NETWORK_NETNS,    /* a named one, joined: root's --netns, or the job's (--network=job) */
	NETWORK_LOOPBACK, /* a new one of its own holding only lo, up: it moves with the container */
};

/* One entry of the root's skeleton: what must exist in the (otherwise empty, read-only) root
 * filesystem for the mounts to have mount points. CRIU does not save the root, so the target
 * node recreates exactly this list before `criu restore --root`. */
struct node {
	enum node_type type;
	char path[PATH_MAX];
	char link[PATH_MAX]; /* a symlink's contents; empty otherwise */
};

/* A file CMD's stdout/stderr go to, or the exit-status file: the agent knows it by its host
 * path, the container init opens it by its path inside. */
struct output {
	bool set;
	char host[PATH_MAX];
	char inside[PATH_MAX];
	char inside_dir[PATH_MAX];
	char name[NAME_MAX + 1];
	/* Identity of the host directory, checked again from inside: a later mount over the same
	 * container path would otherwise send the output to a file the manifest does not name. */
	bool check_dir;
	dev_t dir_dev;
	ino_t dir_ino;
};

struct container_config {
	uid_t uid; /* the caller's real ids: CMD and the init run as them */
	gid_t gid;
	char root[PATH_MAX]; /* host path the root tmpfs is mounted on (in the container's namespace) */
	char chdir[PATH_MAX];
	struct mount_entry *mounts; /* MOUNT_MAX entries */
	size_t mount_count;
	struct node *nodes; /* NODE_MAX entries */
	size_t node_count;
	struct output stdout_file;
	struct output stderr_file;
	struct output status_file;
	char **argv;
	char **environment; /* CMD's: the caller's, as given to lifeboat-run (main.c, job_environment) */
	enum network_mode network;
	int netns_fd; /* NETWORK_NETNS: the namespace to join; -1 otherwise */
	/* The caller's PMI-2 socket (srun --mpi=pmi2 passes it as PMI_FD), kept at its number for
	 * the tasks alone, or -1 (main.c, keep_pmi_fd). */
	int pmi_fd;
	int sync_fd;  /* the container's end of the handshake socket */
};

/* A task of a container: a command started in it by join.c, as the init's child. */
struct task {
	pid_t init_pid;   /* the container init, in the host's PID namespace */
	unsigned long long init_start;
	int init_pidfd;   /* pins it, checked (open_init) */
	pid_t inside_pid; /* the task's pid in the container: the N of its records */
	pid_t host_pid;
	int pidfd;
	pid_t watcher; /* kills the task if the outer lifeboat-run dies (join.c) */
};

/* Start of a Slurm job's container on this node, as published for its other tasks (join.c). */
struct job_lock {
	int fd; /* the locked record, -1 when not held */
	char path[PATH_MAX];
	pid_t init_pid; /* 0 when the record names no container */
	unsigned long long init_start;
	char fingerprint[17];
};

/* container.c: runs in the child that is PID 1 of the new PID namespace. Returns only on failure,
 * with the exit code. */
int container_main(const struct container_config *config);

/* container.c: stdin /dev/null, stdout and stderr appended to config's files, opened as the
 * caller inside the container's mount namespace (the init's and every task's). */
int open_stdio(const struct container_config *config);

/* join.c: tasks in a container. start_task returns 0 with *task set, JOIN_CLOSED if the container
 * is ending (its last task ended), -1 on failure; wait_task waits for the task, forwarding signals,
 * and returns its exit code (status record), closing what task holds. */
#define JOIN_CLOSED 1
int open_init(pid_t pid, unsigned long long start, uid_t uid);
int start_task(const struct container_config *config, pid_t init_pid, unsigned long long init_start, struct task *task);
int wait_task(struct task *task, uid_t uid, gid_t gid);
/* Called with a launcher's task before it is waited for: main.c writes the task file. */
typedef int (*task_announcer)(const struct task *task);
/* After a migration: waits for this launcher's task in the restored container, the one whose
 * record names this launcher's SLURM_STEP_ID and SLURM_LOCALID (in environment; its SLURM_PROCID
 * may have changed, see identity.c), announced first; 0 with *code set, 1 if there is no such
 * task, -1 on failure. */
int wait_restored_task(pid_t init_pid, unsigned long long init_start, int init_pidfd, char **environment, uid_t uid,
		       gid_t gid, task_announcer announce, int *code);
/* Finds task N of a running container (its records) by pid inside: the task's pidfd, *host set. */
int open_task(pid_t init_pid, pid_t inside, uid_t uid, pid_t *host);
/* The job's record on this node, locked; lock->init_pid 0 if it names no live container of ours. */
int lock_job(const char *job, uid_t uid, struct job_lock *lock);
int publish_job(struct job_lock *lock, pid_t init_pid, unsigned long long init_start, const char *fingerprint);
void unlock_job(struct job_lock *lock);
/* Removes the record if it still names this container (the creator, once the container ended). */
void forget_job(const char *job, uid_t uid, pid_t init_pid, unsigned long long init_start);

/* identity.c: a task's identity lines in its record. task_identity writes step=, procid= and
 * localid= from SLURM_STEP_ID, SLURM_PROCID and SLURM_LOCALID in environment (those set to a
 * number; anything else, the caller's, is left out) and returns their length. same_task says
 * whether a record (its text) is the task of that identity: the same step and local id, procid=
 * ignored on both sides; with no localid= line, the same lines. An empty identity has no task. */
#define TASK_IDENTITY_SIZE 256
int task_identity(char **environment, char *text, size_t size);
bool same_task(const char *record, const char *identity);

/* init.c: the container init, run as `INIT_PATH INIT_OPTION ...`. Returns its exit code. */
int init_main(int argc, char **argv);

/* util.c */
void log_error(const char *format, ...) __attribute__((format(printf, 1, 2)));
void log_errno(const char *format, ...) __attribute__((format(printf, 1, 2)));
int become_user(uid_t uid, gid_t gid);
int drop_privileges(uid_t uid, gid_t gid, bool no_new_privs);
int read_proc_file(pid_t pid, const char *name, char *text, size_t capacity);
long real_uid(pid_t pid);
int become_root(void);
void forwarded_signals(sigset_t *set);
int process_start_time(pid_t pid, unsigned long long *start);
int exit_code_of(int wait_status);
int close_other_fds(int keep);

/* resume.c: 0 with *code set when the job's container was restored here (this launcher's task, or
 * the container, waited for), 1 when it was not, -1 when a marker exists but cannot be used. */
int resume_if_migrated(const char *resume_dir, const char *status_path, bool instance, char **environment, uid_t uid,
		       gid_t gid, task_announcer announce, int *code);
/* Whether text is usable as a Slurm node name in a path: [A-Za-z0-9._-], not starting with a dot (resume.c). */
bool safe_node_name(const char *text);
/* Waits for the process behind pidfd to end, passing on the signals lifeboat-run forwards (resume.c). */
int wait_forwarding_signals(pid_t pid, int pidfd, const char *what);
/* Apptainer mode (apptainer.c): drops to the caller for good, runs CMD, which starts the instance,
 * with environment, and waits for it; its exit code. */
int run_apptainer_instance(char **argv, char **environment, const char *name, uid_t uid, gid_t gid);
bool path_within(const char *directory, const char *path);
bool valid_utf8(const char *text);

/* job-network.c: --network=job's namespace, the one the agent made for the caller's Slurm job on
 * this node, checked (see there) and opened; its descriptor with its path in PATH, or -1. */
int open_job_network(char path[PATH_MAX]);

/* cgroup.c: which Slurm job's cgroup a process is in, from /proc/PID/cgroup (cgroup v1 or v2). */
bool in_job_cgroup(pid_t pid);
const char *slurm_job(void);
/* The same on texts, which they split in place: whether a process with THEIR_TEXT is in job JOB's
 * cgroup wherever one with OWN_TEXT is (true when OWN_TEXT is in no cgroup of the job), and
 * whether TEXT is in job JOB's cgroup. */
bool cgroups_share_job(char *own_text, char *their_text, const char *job);
bool cgroups_in_job(char *text, const char *job);

#endif
