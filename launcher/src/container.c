/*
 * The container side of lifeboat-run: the child forked into the new PID namespace, where it is
 * PID 1. As root it enters its network namespace (joins the named one, --netns's or
 * --network=job's, or makes one of its own with lo up for --network=loopback), takes a private
 * mount namespace, builds the root (container_config.mounts over container_config.nodes), pivots
 * into it and drops to the caller's ids; then, as the caller, it becomes a session leader,
 * reopens stdin/stdout/stderr inside, waits for the outer process to have written the manifest,
 * closes every other descriptor and executes the container init (init.c) from the container's
 * own copy of this program.
 *
 * What CRIU needs from this tree (see shared/FIELD-NOTES.md) and why the order below is as it is:
 * - the tree's root is the PID namespace's init and a session leader (setsid), or CRIU refuses
 *   ("A session leader of N(1) is outside of its pid namespace");
 * - no descriptor and no mapped file may lie on a mount outside the container's mount namespace
 *   (an inherited /dev/null on the host's /dev fails the dump), so 0/1/2 are opened after
 *   pivot_root, everything else is closed, and the init is executed from a path inside;
 * - the mount table is small and known: every mount is listed in the manifest.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "launcher.h"
#include "mount_api.h"

/* State of the container side: one copy, in the init process. */
static struct {
	const struct container_config *config;
	/* O_PATH descriptors of the bind sources, opened as the caller before anything is mounted. */
	int source_fds[MOUNT_MAX];
	/* The root tmpfs, as fsmount() returned it. */
	int root_fd;
	/* Devices of the container's own tmpfs mounts other than the root (/tmp, /dev/shm): the only
	 * places where a missing mount point may be created. The root is built from the node list
	 * alone and bind mounts belong to the caller, so nothing is created in either. */
	dev_t owned_devs[MOUNT_MAX];
	size_t owned_count;
} ct = {
	.config = NULL,
	.source_fds = {[0 ... MOUNT_MAX - 1] = -1},
	.root_fd = -1,
	.owned_devs = {0},
	.owned_count = 0,
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* The host's kernel trees: bound into the container, they would show the host's processes,
 * devices and kernel settings instead of the container's. */
static const char *const host_trees[] = {"/proc", "/dev", "/sys"};

/* Decodes mountinfo's octal escapes (\040 for a space, \134 for a backslash, ...) in place. */
static void unescape_octal(char *text)
{
	char *out = text;
	for (const char *in = text; *in != '\0'; out++) {
		if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' && in[2] <= '7' && in[3] >= '0' &&
		    in[3] <= '7') {
			*out = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
			in += 4;
		} else {
			*out = *in++;
		}
	}
	*out = '\0';
}

/* A source the caller named must lie outside the host's kernel trees and have no mount below it:
 * a bind is that one mount without its submounts, so it would show what they hide. Read in this
 * mount namespace, by now a private copy of the host's, so no mount can appear after the check. */
static int check_source(const struct mount_entry *mount)
{
	FILE *mountinfo = NULL;
	char *line = NULL;
	size_t capacity = 0;
	int result = -1;
	for (size_t i = 0; i < sizeof(host_trees) / sizeof(host_trees[0]); i++) {
		if (path_within(host_trees[i], mount->source)) {
			log_error("bind source %s lies in the host's %s, which the container must not see: refused",
				  mount->source, host_trees[i]);
			return -1;
		}
	}
	mountinfo = fopen("/proc/self/mountinfo", "re");
	if (mountinfo == NULL) {
		log_errno("open /proc/self/mountinfo");
		return -1;
	}
	while (getline(&line, &capacity, mountinfo) > 0) {
		/* "ID PARENT MAJOR:MINOR ROOT MOUNT-POINT OPTIONS ...": the fifth field. */
		char *save = NULL;
		char *point = strtok_r(line, " ", &save);
		for (int field = 1; point != NULL && field < 5; field++)
			point = strtok_r(NULL, " ", &save);
		if (point == NULL)
			continue;
		unescape_octal(point);
		if (strcmp(point, mount->source) != 0 && path_within(mount->source, point)) {
			log_error("bind source %s has a mount on %s below it, and a bind would show what that mount "
				  "hides: refused (bind the mount itself instead)",
				  mount->source, point);
			goto done;
		}
	}
	if (ferror(mountinfo)) {
		log_errno("read /proc/self/mountinfo");
		goto done;
	}
	result = 0;
done:
	free(line);
	fclose(mountinfo);
	return result;
}

/* Opens each bind source as the caller, so a path the caller could not reach stays out of reach,
 * checks the descriptor names the canonical path the manifest will give the agent, and checks
 * the sources the caller named (check_source). */
static int open_sources(void)
{
	const struct container_config *config = ct.config;
	if (become_user(config->uid, config->gid) != 0)
		goto fail;
	for (size_t i = 0; i < config->mount_count; i++) {
		const struct mount_entry *mount = &config->mounts[i];
		char link[32];
		char resolved[PATH_MAX];
		ssize_t length;
		if (mount->kind != MOUNT_BIND)
			continue;
		ct.source_fds[i] = open(mount->source, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (ct.source_fds[i] < 0) {
			log_errno("open bind source %s", mount->source);
			goto fail;
		}
		snprintf(link, sizeof(link), "/proc/self/fd/%d", ct.source_fds[i]);
		length = readlink(link, resolved, sizeof(resolved));
		if (length < 0) {
			log_errno("read %s", link);
			goto fail;
		}
		if ((size_t)length >= sizeof(resolved) || (size_t)length != strlen(mount->source) ||
		    memcmp(resolved, mount->source, length) != 0) {
			log_error("bind source %s changed while the container was being built", mount->source);
			goto fail;
		}
		if (mount->caller_named && check_source(mount) != 0)
			goto fail;
	}
	if (become_root() != 0)
		goto fail;
	return 0;
fail:
	become_root();
	return -1;
}

/* A new, detached tmpfs or proc mount with the given attributes, owned by owner (a uid:gid pair)
 * when given; -1 on failure. */
static int new_filesystem(const char *type, const char *mode, const uid_t *owner, unsigned int attributes)
{
	char ids[2][16];
	int context = -1;
	int mount_fd = -1;
	context = lb_fsopen(type, FSOPEN_CLOEXEC);
	if (context < 0) {
		log_errno("create a %s file system", type);
		goto fail;
	}
	/* The source name shows in mountinfo and in CRIU's logs. */
	if (lb_fsconfig(context, FSCONFIG_SET_STRING, "source", "lifeboat", 0) != 0 ||
	    (mode != NULL && lb_fsconfig(context, FSCONFIG_SET_STRING, "mode", mode, 0) != 0) ||
	    (owner != NULL && (snprintf(ids[0], sizeof(ids[0]), "%u", (unsigned)owner[0]) < 0 ||
			       snprintf(ids[1], sizeof(ids[1]), "%u", (unsigned)owner[1]) < 0 ||
			       lb_fsconfig(context, FSCONFIG_SET_STRING, "uid", ids[0], 0) != 0 ||
			       lb_fsconfig(context, FSCONFIG_SET_STRING, "gid", ids[1], 0) != 0 ||
			       lb_fsconfig(context, FSCONFIG_SET_STRING, "size", "1m", 0) != 0)) ||
	    lb_fsconfig(context, FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0) {
		log_errno("configure a %s file system", type);
		goto fail;
	}
	mount_fd = lb_fsmount(context, FSMOUNT_CLOEXEC, attributes);
	if (mount_fd < 0) {
		log_errno("mount a %s file system", type);
		goto fail;
	}
	close_fd(&context);
	return mount_fd;
fail:
	close_fd(&context);
	return -1;
}

/* Attaches the root tmpfs on config->root, where pivot_root will take it from. */
static int mount_root(void)
{
	int target = -1;
	ct.root_fd = new_filesystem("tmpfs", "0755", NULL, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (ct.root_fd < 0)
		goto fail;
	target = open(ct.config->root, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (target < 0) {
		log_errno("open %s", ct.config->root);
		goto fail;
	}
	if (lb_move_mount(ct.root_fd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
		log_errno("mount the root file system on %s", ct.config->root);
		goto fail;
	}
	close_fd(&target);
	return 0;
fail:
	close_fd(&target);
	return -1;
}

/* Creates the skeleton in the empty root tmpfs, parents first (main.c orders the list so). */
static int create_nodes(void)
{
	for (size_t i = 0; i < ct.config->node_count; i++) {
		const struct node *node = &ct.config->nodes[i];
		const char *relative = node->path + 1;
		int fd;
		switch (node->type) {
		case NODE_DIRECTORY:
			if (mkdirat(ct.root_fd, relative, 0755) != 0) {
				log_errno("create directory %s in the root", node->path);
				return -1;
			}
			break;
		case NODE_FILE:
			fd = openat(ct.root_fd, relative, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
			if (fd < 0) {
				log_errno("create file %s in the root", node->path);
				return -1;
			}
			close(fd);
			break;
		case NODE_SYMLINK:
			if (symlinkat(node->link, ct.root_fd, relative) != 0) {
				log_errno("create symlink %s in the root", node->path);
				return -1;
			}
			break;
		}
	}
	return 0;
}

static bool on_owned_tmpfs(int directory)
{
	struct stat st;
	if (fstat(directory, &st) != 0)
		return false;
	for (size_t i = 0; i < ct.owned_count; i++)
		if (ct.owned_devs[i] == st.st_dev)
			return true;
	return false;
}

/* Opens NAME in DIRECTORY without following a symlink; creates it first if it is missing and
 * DIRECTORY is on one of the container's own tmpfs mounts. */
static int open_component(int directory, const char *name, bool want_directory, const char *target)
{
	int flags = O_PATH | O_NOFOLLOW | O_CLOEXEC | (want_directory ? O_DIRECTORY : 0);
	struct stat st;
	int fd = openat(directory, name, flags);
	if (fd < 0 && errno == ENOENT && on_owned_tmpfs(directory)) {
		int created;
		if (want_directory) {
			created = mkdirat(directory, name, 0755);
		} else {
			created = openat(directory, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
			if (created >= 0)
				created = close(created);
		}
		if (created != 0) {
			log_errno("create mount point %s (at %s)", target, name);
			return -1;
		}
		fd = openat(directory, name, flags);
	}
	if (fd < 0) {
		/* ENOTDIR or ELOOP here means a symlink on the way: refused, it could point anywhere. */
		log_errno("mount point %s (at %s)", target, name);
		return -1;
	}
	if (!want_directory && (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode))) {
		log_error("mount point %s is not a file", target);
		close(fd);
		return -1;
	}
	return fd;
}

/* An O_PATH descriptor of a mount's target below the new root, walked one component at a time. */
static int open_target(const struct mount_entry *mount)
{
	char path[PATH_MAX];
	char *name = path;
	int directory = -1;
	snprintf(path, sizeof(path), "%s", mount->target + 1);
	directory = fcntl(ct.root_fd, F_DUPFD_CLOEXEC, 0);
	if (directory < 0) {
		log_errno("duplicate the root descriptor");
		goto fail;
	}
	while (name != NULL) {
		char *slash = strchr(name, '/');
		bool last = slash == NULL;
		int next;
		if (slash != NULL)
			*slash = '\0';
		next = open_component(directory, name, !last || mount->directory, mount->target);
		close_fd(&directory);
		if (next < 0)
			goto fail;
		directory = next;
		name = last ? NULL : slash + 1;
	}
	return directory;
fail:
	close_fd(&directory);
	return -1;
}

static int mount_one(size_t index)
{
	const struct mount_entry *mount = &ct.config->mounts[index];
	int tree = -1;
	int target = -1;
	struct stat st;
	switch (mount->kind) {
	case MOUNT_BIND: {
		/* A clone of that one mount, not its submounts: each submount would be one more mount
		 * for CRIU to be told about, and the manifest lists exactly what is mounted. */
		struct mount_attr attributes = {.attr_set = mount->attributes};
		tree = lb_open_tree(ct.source_fds[index], "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		if (tree < 0) {
			log_errno("bind %s", mount->source);
			goto fail;
		}
		if (lb_mount_setattr(tree, "", AT_EMPTY_PATH, &attributes, sizeof(attributes)) != 0) {
			log_errno("set the attributes of the bind mount of %s", mount->source);
			goto fail;
		}
		break;
	}
	case MOUNT_TMPFS:
		tree = new_filesystem("tmpfs", "1777", NULL, mount->attributes);
		break;
	case MOUNT_TASKS: {
		/* The caller's alone: the init and the tasks write the records as the caller. */
		const uid_t owner[2] = {ct.config->uid, (uid_t)ct.config->gid};
		tree = new_filesystem("tmpfs", "0700", owner, mount->attributes);
		break;
	}
	case MOUNT_PROC:
		/* Mounted by PID 1 of the new namespace, so it shows that namespace's processes. */
		tree = new_filesystem("proc", NULL, NULL, mount->attributes);
		break;
	}
	if (tree < 0)
		goto fail;
	target = open_target(mount);
	if (target < 0)
		goto fail;
	if (lb_move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
		log_errno("mount on %s", mount->target);
		goto fail;
	}
	if (mount->kind == MOUNT_TMPFS) {
		if (fstat(tree, &st) != 0) {
			log_errno("stat the tmpfs on %s", mount->target);
			goto fail;
		}
		ct.owned_devs[ct.owned_count++] = st.st_dev;
	}
	close_fd(&target);
	close_fd(&tree);
	close_fd(&ct.source_fds[index]);
	return 0;
fail:
	close_fd(&target);
	close_fd(&tree);
	return -1;
}

/* Makes the built root the process's root and drops the host's file system tree from this mount
 * namespace; the root then turns read-only, as nothing written to it would survive a migration. */
static int enter_root(void)
{
	struct mount_attr read_only = {.attr_set = MOUNT_ATTR_RDONLY};
	if (fchdir(ct.root_fd) != 0) {
		log_errno("enter the new root");
		return -1;
	}
	/* pivot_root(".", ".") stacks the old root on the new one; detaching "." then removes it,
	 * without a directory for the old root having to exist in the new one. */
	if (syscall(SYS_pivot_root, ".", ".") != 0) {
		log_errno("pivot_root");
		return -1;
	}
	if (umount2(".", MNT_DETACH) != 0) {
		log_errno("detach the host's root");
		return -1;
	}
	if (chdir("/") != 0) {
		log_errno("change to the new root");
		return -1;
	}
	if (lb_mount_setattr(AT_FDCWD, "/", 0, &read_only, sizeof(read_only)) != 0) {
		log_errno("make the root read-only");
		return -1;
	}
	close_fd(&ct.root_fd);
	return 0;
}

/* Until its first task has started, the container ends with the outer process that built it
 * (init.c): killed then, it would leave an init without a task. Set after the last change of ids,
 * which clears it; an outer process dead before this shows as end-of-file in the handshake. */
static int follow_parent(void)
{
	sigset_t parent_death;
	sigemptyset(&parent_death);
	sigaddset(&parent_death, PARENT_DEATH_SIGNAL);
	if (sigprocmask(SIG_BLOCK, &parent_death, NULL) != 0) {
		log_errno("block signal %d", PARENT_DEATH_SIGNAL);
		return -1;
	}
	if (prctl(PR_SET_PDEATHSIG, PARENT_DEATH_SIGNAL, 0, 0, 0) != 0) {
		log_errno("set the parent death signal");
		return -1;
	}
	return 0;
}

static int open_output(const struct output *output, int target_fd)
{
	struct stat st;
	int fd;
	if (output->check_dir &&
	    (stat(output->inside_dir, &st) != 0 || st.st_dev != output->dir_dev || st.st_ino != output->dir_ino)) {
		log_error("%s is not %s inside the container (is another mount over it?)", output->inside_dir,
			  output->host);
		return -1;
	}
	fd = open(output->inside, O_WRONLY | O_APPEND | O_CREAT | O_NOCTTY | O_CLOEXEC, 0666);
	if (fd < 0) {
		log_errno("open %s", output->host);
		return -1;
	}
	if (dup2(fd, target_fd) < 0) {
		log_errno("redirect descriptor %d to %s", target_fd, output->host);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* stdin from /dev/null, stdout and stderr appended to their files, all opened inside the
 * container's mount namespace so CRIU can find their mounts. */
int open_stdio(const struct container_config *config)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_errno("open /dev/null");
		return -1;
	}
	if (dup2(fd, STDIN_FILENO) < 0) {
		log_errno("redirect stdin");
		close(fd);
		return -1;
	}
	close(fd);
	if (open_output(&config->stdout_file, STDOUT_FILENO) != 0)
		return -1;
	return open_output(&config->stderr_file, STDERR_FILENO);
}

/* Tells the outer process the container is built and waits until it has written the manifest. */
static int handshake(void)
{
	char byte = SYNC_READY;
	ssize_t count;
	if (write(ct.config->sync_fd, &byte, 1) != 1) {
		log_errno("report the container as ready");
		return -1;
	}
	count = read(ct.config->sync_fd, &byte, 1);
	if (count < 0) {
		log_errno("wait for the manifest");
		return -1;
	}
	if (count != 1 || byte != SYNC_GO) {
		log_error("the launcher gave up before starting the command");
		return -1;
	}
	return 0;
}

/* --network=loopback: a new network namespace, whose only device, lo, is brought up (it starts
 * down): the job's processes talk over 127.0.0.1 and ::1, and those TCP connections move with
 * the container, since CRIU, run inside the namespace, restores them into a fresh one with lo up.
 * The interface ioctls act on the namespace of the socket they are made on: made after the
 * unshare, it is the new one's. No external tool: none is run while privileged. */
static int loopback_network(void)
{
	struct ifreq request;
	int fd;
	if (unshare(CLONE_NEWNET) != 0) {
		log_errno("create a network namespace");
		return -1;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_errno("create a socket in the new network namespace");
		return -1;
	}
	memset(&request, 0, sizeof(request));
	snprintf(request.ifr_name, sizeof(request.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &request) != 0) {
		log_errno("read the flags of lo");
		close(fd);
		return -1;
	}
	request.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &request) != 0) {
		log_errno("bring lo up");
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int enter_network(const struct container_config *config)
{
	switch (config->network) {
	case NETWORK_NODE:
		return 0;
	case NETWORK_NETNS:
		if (setns(config->netns_fd, CLONE_NEWNET) != 0) {
			log_errno("join the network namespace");
			return -1;
		}
		return 0;
	case NETWORK_LOOPBACK:
		return loopback_network();
	}
	return -1;
}

static int setup(void)
{
	const struct container_config *config = ct.config;
	if (enter_network(config) != 0)
		return -1;
	if (unshare(CLONE_NEWNS) != 0) {
		log_errno("create a mount namespace");
		return -1;
	}
	/* Nothing mounted from here on may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		log_errno("make the mount namespace private");
		return -1;
	}
	if (open_sources() != 0 || mount_root() != 0 || create_nodes() != 0)
		return -1;
	for (size_t i = 0; i < config->mount_count; i++)
		if (mount_one(i) != 0)
			return -1;
	if (enter_root() != 0 || drop_privileges(config->uid, config->gid, true) != 0 || follow_parent() != 0)
		return -1;
	if (chdir(config->chdir) != 0) {
		log_errno("change directory to %s", config->chdir);
		return -1;
	}
	if (open_stdio(config) != 0)
		return -1;
	if (setsid() < 0) {
		log_errno("become a session leader");
		return -1;
	}
	if (handshake() != 0)
		return -1;
	/* srun's PMI-2 socket too, if kept: it is the task's, and the init outlives the task. */
	if (close_range(3, ~0U, 0) != 0) {
		log_errno("close inherited descriptors");
		return -1;
	}
	return 0;
}

static void close_all(void)
{
	for (size_t i = 0; i < MOUNT_MAX; i++)
		close_fd(&ct.source_fds[i]);
	close_fd(&ct.root_fd);
}

/* The init's arguments: see init.c. */
static char **init_arguments(void)
{
	size_t index = 0;
	char **arguments = calloc(3, sizeof(*arguments));
	if (arguments == NULL) {
		log_errno("allocate the init's arguments");
		return NULL;
	}
	arguments[index++] = "lifeboat-init";
	arguments[index++] = INIT_OPTION;
	return arguments;
}

int container_main(const struct container_config *config)
{
	char **arguments;
	ct.config = config;
	if (setup() != 0)
		goto fail;
	arguments = init_arguments();
	if (arguments == NULL)
		goto fail;
	/* The init must run a program from inside the container: CRIU cannot dump a process whose
	 * executable lies on a mount of the host's ("Can't lookup mount ... path=.../lifeboat-run"). */
	execve(INIT_PATH, arguments, config->environment);
	log_errno("execute the container init %s", INIT_PATH);
	free(arguments);
fail:
	close_all();
	return EXIT_LAUNCH_FAILED;
}
