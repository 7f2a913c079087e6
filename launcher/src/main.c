/*
 * lifeboat-run: starts a command in a container that CRIU can checkpoint and restore on another
 * node, and describes that container to the Lifeboat agent in a JSON manifest.
 *
 *   lifeboat-run [options] -- CMD [ARGS...]
 *
 * The container: a new PID namespace whose init (ours, PID 1, a session leader) adopts CMD, started
 * in it as a task (join.c); a private mount namespace whose root is a read-only tmpfs holding only mount points, with the
 * host's (or an --image directory's) /usr, /bin, /sbin, /lib*, /etc and /opt bound read-only, a
 * fresh /proc, /dev/{null,zero,full,random,urandom}, tmpfs /dev/shm and /tmp, a read-only view
 * of the CPU topology (/sys/devices/system/{cpu,node}, for hwloc), the names of the container's
 * interfaces as links to nothing in /sys/class/net (for UCX, unless it shares the node's
 * network), the working directory and each --bind. The network namespace is the node's (or root's --netns), with --network=job the one the
 * agent made for the caller's Slurm job (job-network.c), or with --network=loopback a new one
 * holding only lo, which moves with the container. The outer
 * process stays in the host's namespaces, writes the manifest, forwards signals to its task and
 * exits with the task's status. In a Slurm job, the job's tasks on a node share one container:
 * the first launcher builds it, the others join it (join.c). See README.md for the manifest and
 * the CRIU options the agent must use.
 *
 * Security model. Creating PID and mount namespaces needs root (unprivileged, it needs a user
 * namespace, which CRIU handles much worse), while Slurm runs a batch step as the job's user.
 * So lifeboat-run is run by root or installed setuid root, and:
 * - CMD and the container init run as the caller's real uid, gid and supplementary groups, with
 *   every capability gone (all three uids changed) and no_new_privs set;
 * - each path the caller names (working directory, --bind, --image, --stdout, --stderr,
 *   --exit-status-file) is resolved and opened with the caller's effective ids, so a bind mount
 *   cannot reach a file the caller could not reach; a bind is a single mount, without submounts,
 *   so a source with mounts below it, or in the host's /proc, /dev or /sys, is refused;
 * - every bind mount is nosuid and nodev (the system and image ones read-only too), the root is
 *   read-only, and only the mounts listed above exist: of /sys only the CPU and NUMA topology
 *   (each one mount, read-only, noexec) and, in the read-only root, links named after the
 *   container's own interfaces, no host /run, no devices but five;
 * - mount points are created only in the container's own tmpfs mounts, walking the path without
 *   following symlinks, never in a directory bound from the host;
 * - the options that make root write or join something the caller chooses (--manifest,
 *   --state-dir, --netns) are refused unless the caller is root; --network=loopback is not: a
 *   namespace holding only a loopback device grants nothing; nor is --network=job, which joins
 *   only the namespace made for the job whose cgroup the caller is in (job-network.c);
 * - argv and paths are checked (length, UTF-8 for the manifest) before anything is created;
 * - the launcher closes every inherited descriptor and opens 0/1/2 if they are closed, so no
 *   file it opens can land on a standard descriptor; the one exception is srun's PMI-2 socket
 *   (PMI_FD, a socket the caller holds anyway), kept for the task alone (keep_pmi_fd).
 * - CMD gets the environment the caller gave, including what the C library removed at the setuid
 *   start (LD_LIBRARY_PATH, ...): only the init and CMD, run with no privilege left, see it.
 * A SPANK plugin setting the container up in slurmstepd would avoid the setuid binary, but would
 * have to fork inside the task to make an init; this launcher keeps that logic testable alone.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher.h"
#include "mount_api.h"

#define STATE_BASE "/run/lifeboat/containers"
#define MANIFEST_NAME "manifest.json"
/* Which task of which container this launcher waits for (write_task_file). */
#define TASK_FILE_NAME "task"
/* 2: "init-start" added. 3: "job" and "tasks" added; argv, stdout, stderr and exit-status-file
 * are the first task's (the container's tasks are in its records, see README.md). 4: "network"
 * added (a container may have a namespace of its own, which CRIU must then be run in), and the
 * mounts "sys-cpu" and "sys-node". */
#define MANIFEST_VERSION 4
/* The largest manifest the agent reads and can send to a target (ContainerManifest.MAX_BYTES in
 * the agent, which says how it was derived: argv up to the default ARG_MAX, paths at PATH_MAX).
 * A larger one could start but never migrate, so it is refused before CMD runs. */
#define MANIFEST_MAX_BYTES (8 * 1024 * 1024)

/* The top-level entries taken from the host's root (or the --image directory): a directory is
 * bound read-only, a symlink (Debian's /bin -> usr/bin) is copied, a missing one is skipped. */
static const char *const system_entries[] = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "opt"};

/* Character devices bound from the host. No tty: a batch job has no controlling terminal, and
 * CRIU would have to recreate one. */
static const char *const devices[] = {"null", "zero", "full", "random", "urandom"};

static const struct {
	const char *path;
	const char *link;
} device_links[] = {
	{"/dev/fd", "/proc/self/fd"},
	{"/dev/stdin", "/proc/self/fd/0"},
	{"/dev/stdout", "/proc/self/fd/1"},
	{"/dev/stderr", "/proc/self/fd/2"},
};

/* The CPU and NUMA topology, for hwloc (Open MPI, MPICH), which fails without it ("failed to find
 * sysfs cpu topology directory"). Each is one mount without its submounts, read-only: the rest
 * of /sys (the host's devices, its cgroups, kernel settings) stays out. A missing one is skipped
 * (no NUMA). */
static const struct {
	const char *key;
	const char *path;
} topology_trees[] = {
	{"sys-cpu", "/sys/devices/system/cpu"},
	{"sys-node", "/sys/devices/system/node"},
};

/* /sys/class/net in the container: one symbolic link per interface of its network namespace,
 * named after it and pointing where sysfs points for a virtual device, which does not exist in
 * the container. UCX (the transport of Debian's MPICH) finds its TCP devices by listing this
 * directory and asks the kernel (ioctl) the rest; without it MPICH's ranks cannot reach another
 * node ("UCX ERROR opendir(/sys/class/net) failed"). Names only: nothing of sysfs is shown. */
#define NET_CLASS_DIR "/sys/class/net"
#define NET_DEVICE_LINK "../../devices/virtual/net/"
/* At most this many: a namespace holds a few (lo and the job's interface). */
#define NET_DEVICES_MAX 16

/* The manifest's "network"; --network takes "node", "loopback" and "job" (--netns FILE and
 * --network=job give "netns": both join a named namespace, which the agent treats alike). */
static const char *const network_names[] = {
	[NETWORK_NODE] = "node",
	[NETWORK_NETNS] = "netns",
	[NETWORK_LOOPBACK] = "loopback",
};

static const char *const node_type_names[] = {
	[NODE_DIRECTORY] = "directory",
	[NODE_FILE] = "file",
	[NODE_SYMLINK] = "symlink",
};

static const struct option long_options[] = {
	{"apptainer-instance", required_argument, NULL, 'a'},
	{"bind", required_argument, NULL, 'b'},
	{"chdir", required_argument, NULL, 'C'},
	{"exit-status-file", required_argument, NULL, 'x'},
	{"help", no_argument, NULL, 'h'},
	{"image", required_argument, NULL, 'i'},
	{"manifest", required_argument, NULL, 'm'},
	{"netns", required_argument, NULL, 'n'},
	{"network", required_argument, NULL, 'N'},
	{"state-dir", required_argument, NULL, 's'},
	{"resume-dir", required_argument, NULL, 'r'},
	{"stderr", required_argument, NULL, 'e'},
	{"stdout", required_argument, NULL, 'o'},
	{NULL, 0, NULL, 0},
};

/* The tables behind lb.config, zero until filled (so they cost no space in the binary). */
static struct mount_entry mount_table[MOUNT_MAX];
static struct node node_table[NODE_MAX];

/* All of the outer process's state. */
static struct {
	struct container_config config;
	/* The options as given, before they are resolved into config. */
	const char *chdir_option;
	const char *image_option;
	const char *stdout_option;
	const char *stderr_option;
	const char *status_option;
	const char *manifest_option;
	const char *state_dir_option;
	const char *netns_option;
	const char *network_option;
	const char *resume_dir_option;
	const char *apptainer_instance_option;
	const char *bind_options[BIND_MAX];
	size_t bind_count;
	char netns[PATH_MAX]; /* the namespace joined: --netns's real path, or --network=job's */
	bool job_network;     /* --network=job: netns is the job's namespace (job-network.c) */
	char state_dir[PATH_MAX];
	char manifest[PATH_MAX];
	bool state_dir_created;
	bool root_created;
	bool manifest_written;
	char task_file[PATH_MAX]; /* empty until written */
	pid_t init_pid;
	unsigned long long init_start; /* the init's start time: with init_pid, it names one process */
	int sync_fd; /* the outer end of the handshake socket */
	const char *job; /* the Slurm job whose cgroup this process is in, or NULL (join.c) */
} lb = {
	.config =
		{
			.uid = 0,
			.gid = 0,
			.root = "",
			.chdir = "",
			.mounts = mount_table,
			.mount_count = 0,
			.nodes = node_table,
			.node_count = 0,
			.stdout_file = {0},
			.stderr_file = {0},
			.status_file = {0},
			.argv = NULL,
			.environment = NULL,
			.network = NETWORK_NODE,
			.netns_fd = -1,
			.pmi_fd = -1,
			.sync_fd = -1,
		},
	.chdir_option = NULL,
	.image_option = NULL,
	.stdout_option = NULL,
	.stderr_option = NULL,
	.status_option = NULL,
	.manifest_option = NULL,
	.state_dir_option = NULL,
	.netns_option = NULL,
	.network_option = NULL,
	.resume_dir_option = NULL,
	.bind_options = {NULL},
	.bind_count = 0,
	.netns = "",
	.job_network = false,
	.state_dir = "",
	.manifest = "",
	.state_dir_created = false,
	.root_created = false,
	.manifest_written = false,
	.task_file = "",
	.init_pid = -1,
	.init_start = 0,
	.sync_fd = -1,
	.job = NULL,
};

static void usage(FILE *stream)
{
	fprintf(stream,
		"usage: lifeboat-run [options] -- CMD [ARGS...]\n"
		"Runs CMD in a container the Lifeboat agent can checkpoint and migrate with CRIU.\n"
		"  --stdout FILE            append CMD's stdout to FILE (default /dev/null)\n"
		"  --stderr FILE            append CMD's stderr to FILE (default /dev/null)\n"
		"  --exit-status-file FILE  write CMD's exit status there when it ends\n"
		"  --chdir DIR              working directory, bound read-write (default: the current one)\n"
		"  --bind SRC[:DST]         bind SRC (a directory or file) read-write at DST (default SRC);\n"
		"                           not in /proc, /dev or /sys, and with no mount below it\n"
		"  --image DIR              take /usr, /etc, ... from DIR instead of the host\n"
		"  --manifest FILE          where to write the manifest (root only)\n"
		"  --state-dir DIR          the container's state directory (root only)\n"
		"  --resume-dir DIR         where the agent marks containers restored here (root only;\n"
		"                           default " RESUME_DIR ")\n"
		"  --netns FILE             join this network namespace (root only)\n"
		"  --network MODE           node: the node's network namespace (default, or --netns);\n"
		"                           loopback: a namespace of its own with only lo, which moves\n"
		"                           with the container (TCP on 127.0.0.1 can be migrated);\n"
		"                           job: the namespace the agent made for this Slurm job on this\n"
		"                           node (sbatch --migratable=net): its own address, which moves\n"
		"                           with it; for a task of that job only\n"
		"  --apptainer-instance NAME  CMD starts Apptainer instance NAME (apptainer instance\n"
		"                           start ... NAME): run it as the caller, then wait for the\n"
		"                           instance to end, and exit 0; the other options do not apply\n"
		"FILE for --stdout, --stderr and --exit-status-file must be /dev/null (not for the last)\n"
		"or lie in the working directory or a --bind directory; relative paths are taken from\n"
		"the current directory. Exit status: CMD's, or 128+signal; 125 if the launcher failed.\n");
}

/* A setuid program may start with 0, 1 or 2 closed; then the first files it opens would become
 * its stdin, stdout or stderr. */
static int ensure_standard_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if (open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
			return -1;
	}
	return 0;
}

/*
 * srun --mpi=pmi2 gives each task its PMI-2 connection to slurmstepd as an inherited socket whose
 * number is in PMI_FD; without it MPI_Init fails. That one descriptor is kept, at its number (so
 * PMI_FD still names it), if it is one: a decimal number >= 3 naming an open socket, which the
 * caller holds anyway. Looked at before anything is opened and kept open from then on, so nothing
 * the launcher opens can take its number; close-on-exec, it reaches no program but the task,
 * which gets it back at exec (join.c, exec_task), and the launcher closes it once the task has
 * started (run_task). Anything else is warned about and closed as every inherited descriptor
 * is. Returns the descriptor, or -1.
 */
static int keep_pmi_fd(void)
{
	const char *text = getenv("PMI_FD");
	struct stat st;
	int fd;
	if (text == NULL)
		return -1;
	if (text[0] == '\0' || strlen(text) > 9 || strspn(text, "0123456789") != strlen(text) || atoi(text) < 3) {
		log_error("PMI_FD=%.32s is not a descriptor number of 3 or more: not passed to the task", text);
		return -1;
	}
	fd = atoi(text);
	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		log_error("PMI_FD=%d names no open socket: not passed to the task", fd);
		return -1;
	}
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
		log_errno("keep PMI_FD=%d", fd);
		return -1;
	}
	return fd;
}

/*
 * CMD's environment: the one the caller gave lifeboat-run. At a setuid start the C library
 * removes LD_LIBRARY_PATH, LD_PRELOAD, TMPDIR and the other variables it deems unsafe for a
 * privileged program (glibc's UNSECURE_ENVVARS) from environ; they only ever reach the init and
 * CMD, which run after every id is the caller's (so with no privilege to abuse), and the
 * Apptainer command, also run after that. The untouched list is still in /proc/self/environ (the
 * strings on the initial stack). Nothing the launcher runs while privileged gets it.
 */
static int job_environment(void)
{
	char *text = NULL;
	size_t used = 0, capacity = 0, count = 0;
	ssize_t got;
	int fd = -1;
	if (getauxval(AT_SECURE) == 0) {
		lb.config.environment = environ;
		return 0;
	}
	fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto fail;
	do {
		if (used + 4096 + 1 > capacity) {
			char *larger = realloc(text, capacity + 65536);
			if (larger == NULL)
				goto fail;
			text = larger;
			capacity += 65536;
		}
		got = read(fd, text + used, capacity - used - 1);
		if (got < 0)
			goto fail;
		used += (size_t)got;
	} while (got > 0);
	close(fd);
	fd = -1;
	text[used] = '\0';
	for (size_t i = 0; i < used; i += strlen(text + i) + 1)
		count++;
	lb.config.environment = calloc(count + 1, sizeof(char *));
	if (lb.config.environment == NULL)
		goto fail;
	count = 0;
	for (size_t i = 0; i < used; i += strlen(text + i) + 1)
		lb.config.environment[count++] = text + i;
	return 0;
fail:
	log_errno("read the caller's environment from /proc/self/environ");
	if (fd >= 0)
		close(fd);
	free(text);
	return -1;
}

static int set_once(const char **slot, const char *name, const char *value)
{
	if (*slot != NULL) {
		log_error("--%s given twice", name);
		return -1;
	}
	if (value[0] == '\0') {
		log_error("--%s needs a non-empty value", name);
		return -1;
	}
	*slot = value;
	return 0;
}

static int parse_options(int argc, char **argv)
{
	int option;
	int index = 0;
	/* "+": stop at the first non-option, so CMD's own options are left alone. */
	while ((option = getopt_long(argc, argv, "+h", long_options, &index)) != -1) {
		int result = 0;
		switch (option) {
		case 'b':
			if (lb.bind_count >= BIND_MAX) {
				log_error("at most %d --bind options", BIND_MAX);
				return -1;
			}
			lb.bind_options[lb.bind_count++] = optarg;
			break;
		case 'a':
			result = set_once(&lb.apptainer_instance_option, "apptainer-instance", optarg);
			break;
		case 'C':
			result = set_once(&lb.chdir_option, "chdir", optarg);
			break;
		case 'x':
			result = set_once(&lb.status_option, "exit-status-file", optarg);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'i':
			result = set_once(&lb.image_option, "image", optarg);
			break;
		case 'm':
			result = set_once(&lb.manifest_option, "manifest", optarg);
			break;
		case 'n':
			result = set_once(&lb.netns_option, "netns", optarg);
			break;
		case 'N':
			result = set_once(&lb.network_option, "network", optarg);
			break;
		case 's':
			result = set_once(&lb.state_dir_option, "state-dir", optarg);
			break;
		case 'r':
			result = set_once(&lb.resume_dir_option, "resume-dir", optarg);
			break;
		case 'e':
			result = set_once(&lb.stderr_option, "stderr", optarg);
			break;
		case 'o':
			result = set_once(&lb.stdout_option, "stdout", optarg);
			break;
		default:
			usage(stderr);
			return -1;
		}
		if (result != 0)
			return -1;
	}
	if (optind >= argc) {
		log_error("no command given");
		usage(stderr);
		return -1;
	}
	lb.config.argv = argv + optind;
	return 0;
}

/* --network: the node's namespace (or root's --netns), one of the container's own with only lo,
 * or the job's (named; opened in build_config, after a requeued job's launcher has looked for its
 * restored container, which needs no namespace of this node). */
static int choose_network(void)
{
	if (lb.netns_option != NULL)
		lb.config.network = NETWORK_NETNS;
	if (lb.network_option == NULL || strcmp(lb.network_option, "node") == 0)
		return 0;
	if (strcmp(lb.network_option, "loopback") != 0 && strcmp(lb.network_option, "job") != 0) {
		log_error("--network %.64s: expected node, loopback or job", lb.network_option);
		return -1;
	}
	if (lb.netns_option != NULL) {
		log_error("--network=%s gives the container %s: not with --netns", lb.network_option,
			  strcmp(lb.network_option, "job") == 0 ? "the job's namespace" : "a namespace of its own");
		return -1;
	}
	/* srun --mpi=pmix's ranks reach slurmstepd's PMIx server over TCP on the node's address, which
	 * neither a namespace of the container's own nor the job's (a macvlan cannot reach its own
	 * node) can reach: MPI_Init would fail in the job. */
	for (char **variable = environ; *variable != NULL; variable++) {
		if (strncmp(*variable, "PMIX_SERVER_URI", strlen("PMIX_SERVER_URI")) == 0) {
			log_error("--network=%s: this task's PMIx server (srun --mpi=pmix) is on the node's network,"
				  " which the container would not reach; start the ranks with mpirun inside the container",
				  lb.network_option);
			return -1;
		}
	}
	if (strcmp(lb.network_option, "job") == 0) {
		lb.config.network = NETWORK_NETNS;
		lb.job_network = true;
	} else {
		lb.config.network = NETWORK_LOOPBACK;
	}
	return 0;
}

static int check_caller(void)
{
	lb.config.uid = getuid();
	lb.config.gid = getgid();
	if (geteuid() != 0) {
		log_error("must be run by root or installed setuid root (see README.md)");
		return -1;
	}
	if (lb.config.uid != 0 &&
	    (lb.manifest_option != NULL || lb.state_dir_option != NULL || lb.netns_option != NULL ||
	     lb.resume_dir_option != NULL)) {
		log_error("--manifest, --state-dir, --netns and --resume-dir are for root only");
		return -1;
	}
	/* Setuid root leaves the effective group the caller's: files the launcher itself creates
	 * (state directory, manifest) belong to root:root. */
	return become_root();
}

/* realpath() and stat() of a path the caller named, with the caller's effective ids. */
static int resolve_as_user(const char *what, const char *path, char resolved[PATH_MAX], struct stat *st)
{
	int result = -1;
	if (become_user(lb.config.uid, lb.config.gid) != 0)
		goto done;
	if (realpath(path, resolved) == NULL)
		log_errno("%s %s", what, path);
	else if (stat(resolved, st) != 0)
		log_errno("%s %s", what, resolved);
	else
		result = 0;
done:
	if (become_root() != 0)
		result = -1;
	return result;
}

static int copy_path(char destination[PATH_MAX], const char *source)
{
	if (snprintf(destination, PATH_MAX, "%s", source) >= PATH_MAX) {
		log_error("path too long: %.64s...", source);
		return -1;
	}
	return 0;
}

/* An absolute path without empty, "." or ".." components and without a trailing slash. */
static bool normalised_absolute(const char *path)
{
	if (path[0] != '/')
		return false;
	if (strcmp(path, "/") == 0)
		return true;
	for (const char *slash = path; *slash != '\0';) {
		const char *component = slash + 1;
		const char *end = strchrnul(component, '/');
		size_t length = end - component;
		if (length == 0 || (length == 1 && component[0] == '.') ||
		    (length == 2 && component[0] == '.' && component[1] == '.'))
			return false;
		slash = end;
	}
	return true;
}

/* Where a caller's directory or file may be mounted: not over the root, and not in /proc, /dev,
 * /sys or /.lifeboat, which the launcher fills itself. */
static int check_target(const char *what, const char *target)
{
	if (!normalised_absolute(target) || strcmp(target, "/") == 0 || path_within("/proc", target) ||
	    path_within("/dev", target) || path_within("/sys", target) || path_within("/.lifeboat", target)) {
		log_error("%s: %s must be an absolute, normalised path other than /, outside /proc, /dev, /sys and "
			  "/.lifeboat",
			  what, target);
		return -1;
	}
	return 0;
}

static int add_mount(enum mount_kind kind, const char *key, const char *source, const char *target, bool directory,
		     unsigned int attributes)
{
	struct mount_entry *mount;
	if (lb.config.mount_count >= MOUNT_MAX) {
		log_error("too many mounts (at most %d)", MOUNT_MAX);
		return -1;
	}
	mount = &lb.config.mounts[lb.config.mount_count];
	mount->kind = kind;
	mount->directory = directory;
	mount->attributes = attributes;
	mount->caller_named = false;
	if (snprintf(mount->key, sizeof(mount->key), "%s", key) >= (int)sizeof(mount->key) ||
	    copy_path(mount->source, source) != 0 || copy_path(mount->target, target) != 0) {
		log_error("mount %s: key or path too long", target);
		return -1;
	}
	lb.config.mount_count++;
	return 0;
}

/* A bind of a source the caller named, which the container checks before binding it. */
static int add_caller_mount(const char *key, const char *source, const char *target, bool directory,
			    unsigned int attributes)
{
	if (add_mount(MOUNT_BIND, key, source, target, directory, attributes) != 0)
		return -1;
	lb.config.mounts[lb.config.mount_count - 1].caller_named = true;
	return 0;
}

static struct node *find_node(const char *path)
{
	for (size_t i = 0; i < lb.config.node_count; i++)
		if (strcmp(lb.config.nodes[i].path, path) == 0)
			return &lb.config.nodes[i];
	return NULL;
}

static int append_node(enum node_type type, const char *path, const char *link)
{
	struct node *existing = find_node(path);
	struct node *node;
	if (existing != NULL) {
		if (existing->type == NODE_DIRECTORY && type == NODE_DIRECTORY)
			return 0;
		log_error("%s is needed as a %s in the container's root but is a %s there", path, node_type_names[type],
			  node_type_names[existing->type]);
		return -1;
	}
	if (lb.config.node_count >= NODE_MAX) {
		log_error("too many mount points (at most %d)", NODE_MAX);
		return -1;
	}
	node = &lb.config.nodes[lb.config.node_count];
	node->type = type;
	if (copy_path(node->path, path) != 0 || copy_path(node->link, link) != 0)
		return -1;
	lb.config.node_count++;
	return 0;
}

/* Whether PATH lies below a mount (so not in the root tmpfs itself). */
static bool below_mount(const char *path)
{
	for (size_t i = 0; i < lb.config.mount_count; i++) {
		const char *target = lb.config.mounts[i].target;
		if (strcmp(target, path) != 0 && path_within(target, path))
			return true;
	}
	return false;
}

/* Adds PATH, and its parent directories before it, to the root's skeleton, unless it lies below
 * another mount: that mount point must exist there, or be made in a tmpfs of the container. */
static int add_node(enum node_type type, const char *path, const char *link)
{
	char parent[PATH_MAX];
	if (below_mount(path))
		return 0;
	for (const char *slash = strchr(path + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
		if (append_node(NODE_DIRECTORY, parent, "") != 0)
			return -1;
	}
	return append_node(type, path, link);
}

/* lstat() and readlink() of a system entry with the caller's ids (an --image is the caller's). */
static int inspect_entry(const char *path, struct stat *st, char link[PATH_MAX])
{
	int result = -1;
	ssize_t length;
	if (become_user(lb.config.uid, lb.config.gid) != 0)
		goto done;
	if (lstat(path, st) != 0) {
		if (errno == ENOENT)
			st->st_mode = 0; /* absent: skipped */
		else
			log_errno("inspect %s", path);
		result = errno == ENOENT ? 0 : -1;
		goto done;
	}
	link[0] = '\0';
	if (S_ISLNK(st->st_mode)) {
		length = readlink(path, link, PATH_MAX);
		if (length < 0 || length >= PATH_MAX) {
			log_errno("read the symlink %s", path);
			goto done;
		}
		link[length] = '\0';
	}
	result = 0;
done:
	if (become_root() != 0)
		result = -1;
	return result;
}

static int add_system_entries(void)
{
	char base[PATH_MAX] = "";
	struct stat st;
	if (lb.image_option != NULL) {
		if (resolve_as_user("image", lb.image_option, base, &st) != 0)
			return -1;
		if (!S_ISDIR(st.st_mode)) {
			log_error("image %s is not a directory", base);
			return -1;
		}
		if (strcmp(base, "/") == 0)
			base[0] = '\0';
	}
	for (size_t i = 0; i < sizeof(system_entries) / sizeof(system_entries[0]); i++) {
		char source[PATH_MAX];
		char target[PATH_MAX];
		char link[PATH_MAX];
		snprintf(target, sizeof(target), "/%s", system_entries[i]);
		if (snprintf(source, sizeof(source), "%s%s", base, target) >= (int)sizeof(source)) {
			log_error("image path too long: %s", base);
			return -1;
		}
		if (inspect_entry(source, &st, link) != 0)
			return -1;
		if (S_ISLNK(st.st_mode) && add_node(NODE_SYMLINK, target, link) != 0)
			return -1;
		if (S_ISDIR(st.st_mode) &&
		    add_mount(MOUNT_BIND, system_entries[i], source, target, true,
			      MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV) != 0)
			return -1;
		/* An --image is the caller's choice, as a --bind is. */
		if (S_ISDIR(st.st_mode) && lb.image_option != NULL)
			lb.config.mounts[lb.config.mount_count - 1].caller_named = true;
	}
	return 0;
}

static int add_devices(void)
{
	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
		char path[32];
		char key[KEY_MAX];
		struct stat st;
		snprintf(path, sizeof(path), "/dev/%s", devices[i]);
		snprintf(key, sizeof(key), "dev-%s", devices[i]);
		if (stat(path, &st) != 0) {
			log_errno("stat %s", path);
			return -1;
		}
		if (!S_ISCHR(st.st_mode)) {
			log_error("%s is not a character device", path);
			return -1;
		}
		if (add_mount(MOUNT_BIND, key, path, path, false, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC) != 0)
			return -1;
	}
	return 0;
}

/* The topology trees (topology_trees) bound read-only at the same paths. Fixed paths of root's,
 * not the caller's choice: not checked as a --bind is (it lies in /sys). */
static int add_topology(void)
{
	for (size_t i = 0; i < sizeof(topology_trees) / sizeof(topology_trees[0]); i++) {
		const char *path = topology_trees[i].path;
		struct stat st;
		if (lstat(path, &st) != 0) {
			if (errno == ENOENT)
				continue;
			log_errno("inspect %s", path);
			return -1;
		}
		if (!S_ISDIR(st.st_mode)) {
			log_error("%s is not a directory", path);
			return -1;
		}
		if (add_mount(MOUNT_BIND, topology_trees[i].key, path, path, true,
			      MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC) != 0)
			return -1;
	}
	return 0;
}

/* The container init is this very program, bound read-only into the container (see init.c).
 * It is linked statically, so it runs on an --image's libraries too. */
static int add_init(void)
{
	char self[PATH_MAX];
	ssize_t length = readlink("/proc/self/exe", self, sizeof(self));
	if (length < 0 || length >= (ssize_t)sizeof(self)) {
		log_errno("find this program's path");
		return -1;
	}
	self[length] = '\0';
	return add_mount(MOUNT_BIND, "init", self, INIT_PATH, false, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
}

static int add_working_directory(void)
{
	char current[PATH_MAX];
	struct stat st;
	const char *given = lb.chdir_option;
	if (given == NULL) {
		if (getcwd(current, sizeof(current)) == NULL) {
			log_errno("get the current directory");
			return -1;
		}
		given = current;
	}
	if (resolve_as_user("working directory", given, lb.config.chdir, &st) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		log_error("working directory %s is not a directory", lb.config.chdir);
		return -1;
	}
	if (check_target("working directory (use --chdir)", lb.config.chdir) != 0)
		return -1;
	return add_caller_mount("chdir", lb.config.chdir, lb.config.chdir, true, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
}

static int add_binds(void)
{
	for (size_t i = 0; i < lb.bind_count; i++) {
		char given[PATH_MAX];
		char source[PATH_MAX];
		char key[KEY_MAX];
		const char *target;
		char *colon;
		struct stat st;
		if (copy_path(given, lb.bind_options[i]) != 0)
			return -1;
		/* SRC cannot contain ':'; DST may. */
		colon = strchr(given, ':');
		if (colon != NULL)
			*colon = '\0';
		if (given[0] == '\0' || (colon != NULL && colon[1] == '\0')) {
			log_error("--bind %s: expected SRC or SRC:DST", lb.bind_options[i]);
			return -1;
		}
		if (resolve_as_user("bind source", given, source, &st) != 0)
			return -1;
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
			log_error("bind source %s is neither a directory nor a regular file", source);
			return -1;
		}
		if (strcmp(source, "/") == 0) {
			log_error("binding / is not supported");
			return -1;
		}
		target = colon != NULL ? colon + 1 : source;
		if (check_target("--bind", target) != 0)
			return -1;
		snprintf(key, sizeof(key), "bind-%zu", i + 1);
		if (add_caller_mount(key, source, target, S_ISDIR(st.st_mode), MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV) != 0)
			return -1;
	}
	return 0;
}

/* Resolves an output file named on the command line to its host path and its path inside: it
 * must be /dev/null (when allowed) or lie in a writable bind directory (the working directory or
 * a --bind), which gives its place in the container. */
static int map_output(struct output *output, const char *what, const char *path, bool allow_dev_null)
{
	char directory[PATH_MAX];
	char host_dir[PATH_MAX];
	const char *name = path;
	const char *slash = strrchr(path, '/');
	const struct mount_entry *best = NULL;
	struct stat st;
	output->set = true;
	output->check_dir = false;
	if (allow_dev_null && strcmp(path, "/dev/null") == 0)
		return copy_path(output->host, path) != 0 || copy_path(output->inside, path) != 0 ? -1 : 0;
	if (slash == NULL)
		snprintf(directory, sizeof(directory), ".");
	else
		snprintf(directory, sizeof(directory), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	if (slash != NULL)
		name = slash + 1;
	if (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strlen(name) > NAME_MAX) {
		log_error("%s %s must name a file", what, path);
		return -1;
	}
	if (resolve_as_user(what, directory, host_dir, &st) != 0)
		return -1;
	for (size_t i = 0; i < lb.config.mount_count; i++) {
		const struct mount_entry *mount = &lb.config.mounts[i];
		if (mount->kind == MOUNT_BIND && mount->directory && !(mount->attributes & MOUNT_ATTR_RDONLY) &&
		    path_within(mount->source, host_dir) && (best == NULL || strlen(mount->source) > strlen(best->source)))
			best = mount;
	}
	if (best == NULL) {
		log_error("%s %s is not in the working directory or a --bind directory, so the container cannot "
			  "write it",
			  what, path);
		return -1;
	}
	if (snprintf(output->inside_dir, sizeof(output->inside_dir), "%s%s", best->target,
		     host_dir + strlen(best->source)) >= (int)sizeof(output->inside_dir) ||
	    snprintf(output->inside, sizeof(output->inside), "%s/%s", output->inside_dir, name) >=
		    (int)sizeof(output->inside) ||
	    snprintf(output->host, sizeof(output->host), "%s/%s", host_dir, name) >= (int)sizeof(output->host)) {
		log_error("%s %s: path too long", what, path);
		return -1;
	}
	snprintf(output->name, sizeof(output->name), "%s", name);
	output->check_dir = true;
	output->dir_dev = st.st_dev;
	output->dir_ino = st.st_ino;
	return 0;
}

static int check_text(const char *what, const char *text)
{
	if (!valid_utf8(text)) {
		log_error("%s is not valid UTF-8, which the manifest cannot carry", what);
		return -1;
	}
	return 0;
}

/* Everything the manifest will carry is JSON-safe once it is valid UTF-8 (escaping does the rest). */
static int check_manifest_text(void)
{
	const struct container_config *config = &lb.config;
	for (char **arg = config->argv; *arg != NULL; arg++)
		if (check_text("an argument of CMD", *arg) != 0)
			return -1;
	for (size_t i = 0; i < config->mount_count; i++)
		if (check_text("a mount source", config->mounts[i].source) != 0 ||
		    check_text("a mount target", config->mounts[i].target) != 0)
			return -1;
	for (size_t i = 0; i < config->node_count; i++)
		if (check_text("a symlink in the root", config->nodes[i].link) != 0)
			return -1;
	if (check_text("the working directory", config->chdir) != 0 || check_text("--stdout", config->stdout_file.host) != 0 ||
	    check_text("--stderr", config->stderr_file.host) != 0 ||
	    check_text("--exit-status-file", config->status_file.host) != 0 || check_text("--netns", lb.netns) != 0 ||
	    (lb.state_dir_option != NULL && check_text("--state-dir", lb.state_dir_option) != 0))
		return -1;
	return 0;
}

static int open_netns(void)
{
	struct stat st;
	if (lb.job_network) {
		lb.config.netns_fd = open_job_network(lb.netns);
		return lb.config.netns_fd >= 0 ? 0 : -1;
	}
	if (lb.netns_option == NULL)
		return 0;
	if (realpath(lb.netns_option, lb.netns) == NULL || stat(lb.netns, &st) != 0) {
		log_errno("network namespace %s", lb.netns_option);
		return -1;
	}
	lb.config.netns_fd = open(lb.netns, O_RDONLY | O_CLOEXEC);
	if (lb.config.netns_fd < 0) {
		log_errno("open the network namespace %s", lb.netns);
		return -1;
	}
	return 0;
}

/* Whether NAME may stand in the root as an interface's link: a plain name (what the kernel allows
 * is wider; anything else is left out rather than carried into the manifest). */
static bool plain_interface_name(const char *name)
{
	if (name[0] == '\0' || name[0] == '.' || strlen(name) >= IF_NAMESIZE)
		return false;
	for (const char *c = name; *c != '\0'; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '.' ||
		      *c == '_' || *c == '-' || *c == '@'))
			return false;
	return true;
}

/* The names of the interfaces of the namespace NETNS_FD, one a line, into NAMES: read by a child
 * that joins it (this process keeps its own namespace). */
static int read_interface_names(int netns_fd, char *names, size_t size)
{
	int pipe_fds[2], status = 0, result = 0;
	size_t length = 0;
	ssize_t count;
	pid_t child, waited;
	if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
		log_errno("create a pipe");
		return -1;
	}
	child = fork();
	if (child < 0) {
		log_errno("fork");
		close(pipe_fds[0]);
		close(pipe_fds[1]);
		return -1;
	}
	if (child == 0) {
		struct if_nameindex *list;
		FILE *out;
		close(pipe_fds[0]);
		if (setns(netns_fd, CLONE_NEWNET) != 0) {
			log_errno("join the network namespace");
			_exit(1);
		}
		list = if_nameindex();
		out = fdopen(pipe_fds[1], "w");
		if (list == NULL || out == NULL) {
			log_errno("list the interfaces of the network namespace");
			_exit(1);
		}
		for (struct if_nameindex *entry = list; entry->if_name != NULL; entry++)
			fprintf(out, "%s\n", entry->if_name);
		_exit(fclose(out) == 0 ? 0 : 1);
	}
	close(pipe_fds[1]);
	while (length < size - 1 && (count = read(pipe_fds[0], names + length, size - 1 - length)) != 0) {
		if (count < 0 && errno == EINTR)
			continue;
		if (count < 0) {
			log_errno("read the interfaces of the network namespace");
			result = -1;
			break;
		}
		length += (size_t)count;
	}
	names[length] = '\0';
	close(pipe_fds[0]);
	while ((waited = waitpid(child, &status, 0)) < 0 && errno == EINTR)
		;
	if (waited != child) {
		log_errno("wait for the process listing the interfaces");
		return -1;
	}
	/* A child that exited with 1 has said why. */
	if (WIFSIGNALED(status))
		log_error("the process listing the interfaces was killed by signal %d", WTERMSIG(status));
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? result : -1;
}

/* NET_CLASS_DIR's links, for a namespace of the container's own (lo) or a named one (its
 * interfaces now). Not for the node's namespace: its interfaces come and go, and a container
 * sharing it cannot carry its connections to another node anyway. */
static int add_network_devices(void)
{
	char names[4096] = "lo\n";
	char path[PATH_MAX];
	char link[PATH_MAX];
	size_t added = 0;
	if (lb.config.network == NETWORK_NODE)
		return 0;
	if (lb.config.network == NETWORK_NETNS && read_interface_names(lb.config.netns_fd, names, sizeof(names)) != 0)
		return -1;
	for (char *name = strtok(names, "\n"); name != NULL && added < NET_DEVICES_MAX; name = strtok(NULL, "\n")) {
		if (!plain_interface_name(name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", NET_CLASS_DIR, name);
		snprintf(link, sizeof(link), "%s%s", NET_DEVICE_LINK, name);
		if (add_node(NODE_SYMLINK, path, link) != 0)
			return -1;
		added++;
	}
	return 0;
}

/* The container description, in mount order; the mount points follow from the mounts. */
static int build_config(void)
{
	if (add_system_entries() != 0 ||
	    add_mount(MOUNT_PROC, "", "", "/proc", true, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC) != 0 ||
	    add_devices() != 0 || add_topology() != 0 || add_init() != 0 ||
	    add_mount(MOUNT_TASKS, "", "", TASKS_PATH, true, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC) != 0 ||
	    add_mount(MOUNT_TMPFS, "", "", "/dev/shm", true, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV) != 0 ||
	    add_mount(MOUNT_TMPFS, "", "", "/tmp", true, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV) != 0 ||
	    add_working_directory() != 0 || add_binds() != 0)
		return -1;
	for (size_t i = 0; i < lb.config.mount_count; i++) {
		const struct mount_entry *mount = &lb.config.mounts[i];
		if (add_node(mount->directory ? NODE_DIRECTORY : NODE_FILE, mount->target, "") != 0)
			return -1;
	}
	for (size_t i = 0; i < sizeof(device_links) / sizeof(device_links[0]); i++)
		if (add_node(NODE_SYMLINK, device_links[i].path, device_links[i].link) != 0)
			return -1;
	if (map_output(&lb.config.stdout_file, "--stdout", lb.stdout_option ? lb.stdout_option : "/dev/null", true) != 0 ||
	    map_output(&lb.config.stderr_file, "--stderr", lb.stderr_option ? lb.stderr_option : "/dev/null", true) != 0 ||
	    (lb.status_option != NULL &&
	     map_output(&lb.config.status_file, "--exit-status-file", lb.status_option, false) != 0))
		return -1;
	return open_netns() == 0 && add_network_devices() == 0 ? 0 : -1;
}

static int make_directory(const char *path, bool may_exist)
{
	if (mkdir(path, 0755) == 0 || (may_exist && errno == EEXIST))
		return 0;
	log_errno("create %s", path);
	return -1;
}

static int join_path(char destination[PATH_MAX], const char *directory, const char *name)
{
	if (snprintf(destination, PATH_MAX, "%s/%s", directory, name) >= PATH_MAX) {
		log_error("path too long: %.64s.../%s", directory, name);
		return -1;
	}
	return 0;
}

/* STATE_BASE/PID, PID being this process's, cleared of what a killed launcher of that pid left. */
static int default_state_dir(void)
{
	static const char *const stale_files[] = {MANIFEST_NAME, TASK_FILE_NAME};
	char stale[PATH_MAX];
	if (make_directory("/run/lifeboat", true) != 0 || make_directory(STATE_BASE, true) != 0)
		return -1;
	snprintf(lb.state_dir, sizeof(lb.state_dir), "%s/%d", STATE_BASE, (int)getpid());
	for (size_t i = 0; i < sizeof(stale_files) / sizeof(stale_files[0]); i++) {
		if (join_path(stale, lb.state_dir, stale_files[i]) != 0)
			return -1;
		unlink(stale);
	}
	if (join_path(stale, lb.state_dir, "root") != 0)
		return -1;
	rmdir(stale);
	rmdir(lb.state_dir);
	return 0;
}

/* The state directory holds the root's mount point and, by default, the manifest and the task
 * file; it is removed when the container ends. The default one is named after this process, so one left behind by a
 * launcher that was killed is stale by construction and is cleared. */
static int prepare_state_dir(void)
{
	if (lb.state_dir_option != NULL) {
		if (!normalised_absolute(lb.state_dir_option) || copy_path(lb.state_dir, lb.state_dir_option) != 0) {
			log_error("--state-dir %s must be an absolute, normalised path", lb.state_dir_option);
			return -1;
		}
	} else if (default_state_dir() != 0) {
		return -1;
	}
	if (make_directory(lb.state_dir, false) != 0)
		return -1;
	lb.state_dir_created = true;
	if (join_path(lb.config.root, lb.state_dir, "root") != 0 || make_directory(lb.config.root, false) != 0)
		return -1;
	lb.root_created = true;
	if (lb.manifest_option != NULL)
		return copy_path(lb.manifest, lb.manifest_option);
	return join_path(lb.manifest, lb.state_dir, MANIFEST_NAME);
}

static void json_string(FILE *file, const char *text)
{
	fputc('"', file);
	for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(file, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(file, "\\u%04x", *p);
		else
			fputc(*p, file);
	}
	fputc('"', file);
}

static void json_member(FILE *file, const char *name, const char *value)
{
	fprintf(file, "  \"%s\": ", name);
	if (value != NULL)
		json_string(file, value);
	else
		fputs("null", file);
	fputs(",\n", file);
}

static void print_manifest(FILE *file)
{
	const struct container_config *config = &lb.config;
	const char *separator = "";
	fprintf(file, "{\n  \"version\": %d,\n  \"init-pid\": %d,\n  \"init-start\": %llu,\n  \"uid\": %u,\n  \"gid\": %u,\n",
		MANIFEST_VERSION, (int)lb.init_pid, lb.init_start, (unsigned)config->uid, (unsigned)config->gid);
	json_member(file, "job", lb.job);
	json_member(file, "tasks", TASKS_PATH);
	json_member(file, "root", config->root);
	json_member(file, "netns", lb.netns[0] != '\0' ? lb.netns : NULL);
	json_member(file, "network", network_names[config->network]);
	fputs("  \"skeleton\": [", file);
	for (size_t i = 0; i < config->node_count; i++, separator = ",") {
		const struct node *node = &config->nodes[i];
		fprintf(file, "%s\n    {\"path\": ", separator);
		json_string(file, node->path);
		fprintf(file, ", \"type\": \"%s\"", node_type_names[node->type]);
		if (node->type == NODE_SYMLINK) {
			fputs(", \"target\": ", file);
			json_string(file, node->link);
		}
		fputs("}", file);
	}
	fputs("\n  ],\n  \"mounts\": [", file);
	separator = "";
	for (size_t i = 0; i < config->mount_count; i++) {
		const struct mount_entry *mount = &config->mounts[i];
		if (mount->kind != MOUNT_BIND)
			continue;
		fprintf(file, "%s\n    {\"key\": ", separator);
		json_string(file, mount->key);
		fputs(", \"source\": ", file);
		json_string(file, mount->source);
		fputs(", \"target\": ", file);
		json_string(file, mount->target);
		fprintf(file, ", \"read-only\": %s}", (mount->attributes & MOUNT_ATTR_RDONLY) ? "true" : "false");
		separator = ",";
	}
	fputs("\n  ],\n", file);
	json_member(file, "chdir", config->chdir);
	json_member(file, "stdout", config->stdout_file.host);
	json_member(file, "stderr", config->stderr_file.host);
	json_member(file, "exit-status-file", config->status_file.set ? config->status_file.host : NULL);
	fputs("  \"argv\": [", file);
	separator = "";
	for (char **arg = config->argv; *arg != NULL; arg++, separator = ", ") {
		fputs(separator, file);
		json_string(file, *arg);
	}
	fputs("]\n}\n", file);
}

/* Written to a temporary file and renamed: the agent sees a whole manifest or none. */
static int write_manifest(void)
{
	char temporary[PATH_MAX];
	FILE *file = NULL;
	int fd = -1;
	long size = 0;
	if (snprintf(temporary, sizeof(temporary), "%s.XXXXXX", lb.manifest) >= (int)sizeof(temporary)) {
		log_error("manifest path %s too long", lb.manifest);
		return -1;
	}
	/* The init is waiting for the handshake, so it is alive and this is its start time. */
	if (process_start_time(lb.init_pid, &lb.init_start) != 0) {
		log_errno("read the start time of the container init %d", (int)lb.init_pid);
		return -1;
	}
	fd = mkostemp(temporary, O_CLOEXEC);
	if (fd < 0) {
		log_errno("create %s", temporary);
		return -1;
	}
	if (fchmod(fd, 0644) != 0)
		goto fail;
	file = fdopen(fd, "w");
	if (file == NULL)
		goto fail;
	fd = -1;
	print_manifest(file);
	if (fflush(file) != 0 || ferror(file))
		goto fail;
	size = ftell(file);
	if (size < 0 || size > MANIFEST_MAX_BYTES || fsync(fileno(file)) != 0)
		goto fail;
	if (fclose(file) != 0) {
		file = NULL;
		goto fail;
	}
	file = NULL;
	if (rename(temporary, lb.manifest) != 0)
		goto fail;
	lb.manifest_written = true;
	return 0;
fail:
	if (size > MANIFEST_MAX_BYTES)
		log_error("the manifest would have %ld bytes, more than the %d a migration carries: CMD's arguments or "
			  "the paths are too long", size, MANIFEST_MAX_BYTES);
	else
		log_errno("write the manifest %s", lb.manifest);
	if (file != NULL)
		fclose(file);
	if (fd >= 0)
		close(fd);
	unlink(temporary);
	return -1;
}

/* Forks the container init into a new PID namespace and waits until it has built the container.
 * Returns -1 if that failed; lb.init_pid is then set if there is a child to reap. */
static int start_container(void)
{
	int sockets[2] = {-1, -1};
	int own_namespace;
	char byte = 0;
	ssize_t count;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sockets) != 0) {
		log_errno("create the handshake socket");
		return -1;
	}
	lb.sync_fd = sockets[0];
	lb.config.sync_fd = sockets[1];
	/* Applies to children only: the first one is PID 1 of the new namespace. The later ones (the
	 * task's helper and watcher, join.c) must stay in this process's namespace: set back. */
	own_namespace = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (own_namespace < 0 || unshare(CLONE_NEWPID) != 0) {
		log_errno("create a PID namespace");
		if (own_namespace >= 0)
			close(own_namespace);
		return -1;
	}
	lb.init_pid = fork();
	if (lb.init_pid == 0) {
		/* The init must see end-of-file when the outer process dies, so drops this end. */
		close(lb.sync_fd);
		_exit(container_main(&lb.config));
	}
	if (lb.init_pid < 0)
		log_errno("fork the container init");
	if (setns(own_namespace, CLONE_NEWPID) != 0) {
		log_errno("return to the launcher's PID namespace");
		close(own_namespace);
		return -1;
	}
	close(own_namespace);
	if (lb.init_pid < 0)
		return -1;
	close(lb.config.sync_fd);
	lb.config.sync_fd = -1;
	if (lb.config.netns_fd >= 0)
		close(lb.config.netns_fd);
	lb.config.netns_fd = -1;
	count = read(lb.sync_fd, &byte, 1);
	if (count != 1 || byte != SYNC_READY) {
		/* The init has said why on stderr. */
		return -1;
	}
	return 0;
}

static int release_container(void)
{
	char byte = SYNC_GO;
	if (write(lb.sync_fd, &byte, 1) != 1) {
		log_errno("start the command");
		return -1;
	}
	close(lb.sync_fd);
	lb.sync_fd = -1;
	return 0;
}

/* Forwards signals to the init until it exits; returns its exit code. */
static int wait_for_container(void)
{
	sigset_t signals;
	forwarded_signals(&signals);
	for (;;) {
		siginfo_t info;
		int status;
		pid_t pid;
		int signal = sigwaitinfo(&signals, &info);
		if (signal < 0) {
			if (errno == EINTR)
				continue;
			log_errno("wait for signals");
			return EXIT_LAUNCH_FAILED;
		}
		if (signal != SIGCHLD) {
			if (kill(lb.init_pid, signal) != 0 && errno != ESRCH)
				log_errno("forward signal %d to the container", signal);
			continue;
		}
		/* SIGCHLD also comes when the init stops (a CRIU dump with --leave-stopped). */
		pid = waitpid(lb.init_pid, &status, WNOHANG);
		if (pid == 0)
			continue;
		if (pid < 0) {
			log_errno("wait for the container init");
			return EXIT_LAUNCH_FAILED;
		}
		lb.init_pid = -1;
		return exit_code_of(status);
	}
}

static void cleanup(void)
{
	if (lb.sync_fd >= 0)
		close(lb.sync_fd);
	lb.sync_fd = -1;
	if (lb.config.netns_fd >= 0)
		close(lb.config.netns_fd);
	lb.config.netns_fd = -1;
	/* The manifest names a pid that is gone now; left behind, it could name someone else's. */
	if (lb.manifest_written && unlink(lb.manifest) != 0)
		log_errno("remove %s", lb.manifest);
	if (lb.task_file[0] != '\0' && unlink(lb.task_file) != 0)
		log_errno("remove %s", lb.task_file);
	if (lb.root_created && rmdir(lb.config.root) != 0)
		log_errno("remove %s", lb.config.root);
	if (lb.state_dir_created && rmdir(lb.state_dir) != 0)
		log_errno("remove %s", lb.state_dir);
}

/* Builds the container and starts its init, which waits for its first task. */
static int build_container(void)
{
	if (prepare_state_dir() != 0)
		return -1;
	if (start_container() != 0) {
		if (lb.init_pid > 0)
			wait_for_container();
		return -1;
	}
	if (write_manifest() != 0 || release_container() != 0) {
		kill(lb.init_pid, SIGKILL);
		wait_for_container();
		return -1;
	}
	return 0;
}

static uint64_t mix(uint64_t hash, const void *data, size_t size)
{
	for (size_t i = 0; i < size; i++)
		hash = (hash ^ ((const unsigned char *)data)[i]) * 1099511628211ULL;
	return hash;
}

static uint64_t mix_text(uint64_t hash, const char *text)
{
	return mix(hash, text, strlen(text) + 1);
}

/* What the options make of the container, as 16 hex digits (FNV-1a): a task joins the job's
 * container only if its own options would have built the same, so that its working directory and
 * files mean there what they mean to it. Not a security check: the task runs as the caller. */
static void fingerprint(char text[17])
{
	const struct container_config *config = &lb.config;
	uint64_t hash = 14695981039346656037ULL;
	for (size_t i = 0; i < config->mount_count; i++) {
		const struct mount_entry *mount = &config->mounts[i];
		hash = mix(hash, &mount->kind, sizeof(mount->kind));
		hash = mix(hash, &mount->attributes, sizeof(mount->attributes));
		hash = mix(hash, &mount->directory, sizeof(mount->directory));
		hash = mix_text(mix_text(mix_text(hash, mount->key), mount->source), mount->target);
	}
	for (size_t i = 0; i < config->node_count; i++)
		hash = mix_text(mix_text(mix(hash, &config->nodes[i].type, sizeof(config->nodes[i].type)), config->nodes[i].path),
				config->nodes[i].link);
	hash = mix_text(mix_text(mix_text(hash, config->chdir), lb.netns), network_names[config->network]);
	snprintf(text, 17, "%016llx", (unsigned long long)hash);
}

/* STATE_DIR/task (root's, mode 0644, temporary file + rename): the agent finds a Slurm task's
 * container by its pid, and a launcher that joined a container has no manifest of its own, so
 * each launcher says which container's init (pid, start time) runs its task (pid inside). A
 * launcher that joined, or found its task in a restored container, makes a default state
 * directory for it. */
static int write_task_file(const struct task *task)
{
	char temporary[PATH_MAX], text[128];
	int length = snprintf(text, sizeof(text), "init-pid=%d\ninit-start=%llu\ntask-pid=%d\n", (int)task->init_pid,
			      task->init_start, (int)task->inside_pid);
	int fd;
	if (!lb.state_dir_created) {
		if (default_state_dir() != 0 || make_directory(lb.state_dir, false) != 0)
			return -1;
		lb.state_dir_created = true;
	}
	if (join_path(lb.task_file, lb.state_dir, TASK_FILE_NAME) != 0 ||
	    snprintf(temporary, sizeof(temporary), "%s.XXXXXX", lb.task_file) >= (int)sizeof(temporary)) {
		lb.task_file[0] = '\0';
		return -1;
	}
	fd = mkostemp(temporary, O_CLOEXEC);
	if (fd < 0 || fchmod(fd, 0644) != 0 || write(fd, text, length) != length || close(fd) != 0 ||
	    rename(temporary, lb.task_file) != 0) {
		log_errno("write %s", lb.task_file);
		if (fd >= 0)
			unlink(temporary);
		lb.task_file[0] = '\0';
		return -1;
	}
	return 0;
}

/* Starts CMD as a task: in the job's container on this node when there is one to join (join.c),
 * else in a new container, published for the job's other tasks when in a Slurm job. Waits for the
 * task and, when this process built the container, for the container to end (its other tasks),
 * then returns the task's exit code. */
static int run_task(void)
{
	struct job_lock lock = {.fd = -1, .init_pid = 0};
	struct task task;
	char print[17];
	int started = JOIN_CLOSED, code;
	pid_t built_pid;
	unsigned long long built_start;
	fingerprint(print);
	lb.job = slurm_job();
	if (lb.job != NULL && lock_job(lb.job, lb.config.uid, &lock) != 0)
		return EXIT_LAUNCH_FAILED;
	if (lock.init_pid > 0) {
		if (strcmp(lock.fingerprint, print) != 0) {
			log_error("job %s's container on this node was built from other options (binds, working directory, "
				  "--image, --netns, --network): every task of a job on a node must give the same",
				  lb.job);
			unlock_job(&lock);
			return EXIT_LAUNCH_FAILED;
		}
		started = start_task(&lb.config, lock.init_pid, lock.init_start, &task);
	}
	/* No container for this job yet, or one whose tasks have all ended: a new one. */
	if (started == JOIN_CLOSED) {
		if (build_container() != 0 ||
		    (lb.job != NULL && publish_job(&lock, lb.init_pid, lb.init_start, print) != 0)) {
			unlock_job(&lock);
			return EXIT_LAUNCH_FAILED;
		}
		started = start_task(&lb.config, lb.init_pid, lb.init_start, &task);
	}
	unlock_job(&lock);
	/* The task has its own copy of srun's PMI-2 socket now. This one would outlive it (the
	 * launcher that built the container waits for the container's other tasks too), and
	 * slurmstepd would not see the task's end of the connection close. */
	if (lb.config.pmi_fd >= 0)
		close(lb.config.pmi_fd);
	lb.config.pmi_fd = -1;
	if (started != 0) {
		if (lb.init_pid > 0) {
			kill(lb.init_pid, SIGKILL);
			wait_for_container();
		}
		return EXIT_LAUNCH_FAILED;
	}
	if (write_task_file(&task) != 0) {
		/* The agent would not see the task as the container's: better not run it at all. */
		if (task.pidfd >= 0)
			syscall(SYS_pidfd_send_signal, task.pidfd, SIGKILL, NULL, 0);
		wait_task(&task, lb.config.uid, lb.config.gid);
		code = EXIT_LAUNCH_FAILED;
	} else {
		code = wait_task(&task, lb.config.uid, lb.config.gid);
	}
	if (lb.init_pid > 0) {
		/* The manifest and state directory must stay as long as the container runs. */
		built_pid = lb.init_pid;
		built_start = lb.init_start;
		wait_for_container();
		if (lb.job != NULL)
			forget_job(lb.job, lb.config.uid, built_pid, built_start);
	}
	return code;
}

int main(int argc, char **argv)
{
	sigset_t signals;
	int code = EXIT_LAUNCH_FAILED;
	if (argc > 1 && strcmp(argv[1], INIT_OPTION) == 0)
		return init_main(argc, argv);
	if (ensure_standard_fds() != 0)
		return EXIT_LAUNCH_FAILED;
	/* Nothing inherited reaches the container (CRIU cannot dump a descriptor of the host's), but
	 * srun's PMI-2 socket, which reaches the task alone (a task holding it cannot be moved: its
	 * peer is slurmstepd). */
	lb.config.pmi_fd = keep_pmi_fd();
	if (close_other_fds(lb.config.pmi_fd) != 0) {
		log_errno("close inherited descriptors");
		return EXIT_LAUNCH_FAILED;
	}
	/* Blocked from the start: a signal sent while the container is being built is forwarded
	 * once it runs instead of killing the launcher half-way. */
	forwarded_signals(&signals);
	if (sigprocmask(SIG_BLOCK, &signals, NULL) != 0) {
		log_errno("block signals");
		return EXIT_LAUNCH_FAILED;
	}
	if (parse_options(argc, argv) != 0 || choose_network() != 0 || check_caller() != 0 || job_environment() != 0)
		goto done;
	/* A requeued job whose container was migrated here: wait for it rather than start CMD again. */
	switch (resume_if_migrated(lb.resume_dir_option != NULL ? lb.resume_dir_option : RESUME_DIR, lb.status_option,
				   lb.apptainer_instance_option != NULL, lb.config.environment, lb.config.uid, lb.config.gid,
				   write_task_file, &code)) {
	case 0:
		goto done;
	case 1:
		break;
	default:
		/* A marker is there but unusable: starting CMD afresh could run the job twice. */
		goto done;
	}
	if (lb.apptainer_instance_option != NULL) {
		code = run_apptainer_instance(lb.config.argv, lb.config.environment, lb.apptainer_instance_option, lb.config.uid,
					      lb.config.gid);
		goto done;
	}
	if (build_config() != 0 || check_manifest_text() != 0)
		goto done;
	code = run_task();
done:
	cleanup();
	return code;
}
