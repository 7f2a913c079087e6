/*
 * --network=job: the network namespace the node's Lifeboat agent made for the caller's Slurm job
 * (a job submitted with --migratable=net) before the job's tasks started, named
 * NETNS_DIR/lifeboat-job-JOB-NODE and holding lo and one macvlan with an address of the site's
 * pool. The container joins it as it joins root's --netns, and the agent moves it with the job.
 *
 * Any user may ask for it, and get this one namespace and no other: it was made for that job, so
 * its address is the job's, and every process of the job is the caller's. Another job's (another
 * user's, or the caller's own other job) would carry that job's address and traffic, and the
 * node's other named namespaces are root's to hand out (--netns). Both parts of the name come
 * from the caller's environment, so:
 * - JOB is SLURM_JOB_ID, which counts only when the caller's own cgroup is that job's (cgroup.c):
 *   the caller sets the variable, but only Slurm (root) puts a process into a job's cgroup. A
 *   caller outside every job's cgroup has nothing to prove it with and is refused.
 * - NODE is SLURMD_NODENAME, a Slurm node name: letters, digits, '.', '_' and '-', not starting
 *   with '.', so the name stays one entry of NETNS_DIR and cannot climb out of it. It picks only
 *   among the job's own namespaces (after a migration the target holds the job's namespace under
 *   the source node's name, which a task of the job may name as well).
 * - NETNS_DIR and /run must be root's and writable by root alone, and the entry is opened without
 *   following a symbolic link: what lies at the name is what root put there. It must be a network
 *   namespace (NS_GET_NSTYPE): anything else root left at that name is refused with a message
 *   here, rather than failing later in the init's setns.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher.h"

#define RUN_DIR "/run"
/* Where `ip netns` names namespaces, and where the agent names the jobs'. */
#define NETNS_NAME "netns"
#define NETNS_DIR RUN_DIR "/" NETNS_NAME
#define JOB_NETNS_PREFIX "lifeboat-job-"

/* Slurm's job ids are 32-bit numbers. */
#define JOB_ID_DIGITS_MAX 10
#define NODE_NAME_MAX 64
#define ALPHANUMERIC "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

static bool job_id(const char *text)
{
	size_t length = strlen(text);
	return length > 0 && length <= JOB_ID_DIGITS_MAX && strspn(text, "0123456789") == length;
}

/* [A-Za-z0-9][A-Za-z0-9._-]{0,63}: no '/', and neither "." nor ".." can start it. */
static bool node_name(const char *text)
{
	size_t length = strlen(text);
	return length > 0 && length <= NODE_NAME_MAX && strspn(text, ALPHANUMERIC) > 0 &&
	       strspn(text, ALPHANUMERIC "._-") == length;
}

/* NAME below AT as an O_PATH descriptor of a directory, not reached through a symbolic link, that
 * root owns and only root may write; -1 otherwise, errno EPERM when others may write it. */
static int open_root_directory(int at, const char *name)
{
	struct stat st;
	int fd = openat(at, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return -1;
	}
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

int open_job_network(char path[PATH_MAX])
{
	const char *job = getenv("SLURM_JOB_ID");
	const char *node = getenv("SLURMD_NODENAME");
	char name[NAME_MAX + 1];
	int run = -1, directory = -1, fd = -1, type;
	if (job == NULL || !job_id(job)) {
		log_error("--network=job: SLURM_JOB_ID is %s: the job's network is only for a task of a Slurm job",
			  job == NULL ? "not set" : "not a job id");
		return -1;
	}
	if (node == NULL || !node_name(node)) {
		log_error("--network=job: SLURMD_NODENAME is %s", node == NULL ? "not set" : "not a node name");
		return -1;
	}
	if (slurm_job() == NULL) {
		log_error("--network=job: this process is not in job %s's cgroup, where Slurm puts the job's tasks: only "
			  "they may join the job's network",
			  job);
		return -1;
	}
	snprintf(name, sizeof(name), JOB_NETNS_PREFIX "%s-%s", job, node);
	snprintf(path, PATH_MAX, "%s/%s", NETNS_DIR, name);
	run = open_root_directory(AT_FDCWD, RUN_DIR);
	if (run >= 0)
		directory = open_root_directory(run, NETNS_NAME);
	if (directory >= 0)
		fd = openat(directory, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			log_error("--network=job: job %s has no network of its own on %s (%s): submit it with "
				  "--migratable=net; the site's agent needs an address pool (job-network in agent.yaml)",
				  job, node, path);
		else if (errno == EPERM && directory < 0)
			log_error("--network=job: %s is not a directory only root can write: its names cannot be trusted",
				  run < 0 ? RUN_DIR : NETNS_DIR);
		else
			log_errno("--network=job: open %s", path);
		goto fail;
	}
	type = ioctl(fd, NS_GET_NSTYPE);
	if (type != CLONE_NEWNET) {
		log_error("--network=job: %s is not a network namespace", path);
		goto fail;
	}
	close(directory);
	close(run);
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	if (directory >= 0)
		close(directory);
	if (run >= 0)
		close(run);
	return -1;
}
