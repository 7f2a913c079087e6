/*
 * Which Slurm job's cgroup a process is in, read from its /proc/PID/cgroup text.
 *
 * cgroup v1 lists one line "ID:CONTROLLERS:PATH" per hierarchy (with the unified hierarchy
 * mounted beside the controllers, "hybrid", also a "0::PATH" line). Slurm's cgroup/v1 puts a
 * job's processes in ROOT/uid_U/job_J/step_S of each controller's hierarchy (ROOT is /slurm, or
 * /slurm_NODE with several slurmd on a host). A path holding job_J as a whole component is job J's.
 *
 * cgroup v2 alone lists the single line "0::PATH". Slurm's cgroup/v2 (22.05 to 25.11:
 * src/plugins/cgroup/v2/cgroup_v2.c, doc/html/cgroup_v2.shtml) puts a job's processes in
 * /system.slice/slurmstepd.scope/job_J/step_S/user/task_N (NODE_slurmstepd.scope with several
 * slurmd; newer versions let cgroup.conf name the slice). There the job's directory counts only
 * at that place: job_J right below a slurmstepd scope below a slice, the third level. Every user
 * owns a delegated subtree on v2 (systemd's user@UID.service, at the third level itself) and can
 * name directories in it as they like, job_J and slurmstepd.scope too, but all of them lie deeper.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher.h"

/* cgroup v1 has a line per hierarchy, about a dozen; v2 one. */
#define CGROUP_LINES_MAX 32

#define STEPD_SCOPE "slurmstepd.scope"
#define NODE_STEPD_SCOPE "_" STEPD_SCOPE

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

/* Whether the text was that of cgroup v2 alone: the unified hierarchy's line and no other. */
static bool unified(const struct cgroup_line *lines, size_t count)
{
	return count == 1 && strcmp(lines[0].hierarchy, "0:") == 0;
}

/* Whether the LENGTH characters at NAME are a slurmstepd scope's name. */
static bool stepd_scope(const char *name, size_t length)
{
	size_t suffix = strlen(NODE_STEPD_SCOPE);
	return (length == strlen(STEPD_SCOPE) && strncmp(name, STEPD_SCOPE, length) == 0) ||
	       (length > suffix && strncmp(name + length - suffix, NODE_STEPD_SCOPE, suffix) == 0);
}

/* Just past the component job_JOB of PATH where Slurm puts job JOB's processes (see above), or
 * NULL if PATH is not in that job's cgroup. */
static const char *job_directory_end(const char *path, const char *job, bool v2)
{
	char component[64];
	const char *found, *end, *scope, *after_scope;
	size_t length = strlen(job);
	if (snprintf(component, sizeof(component), "/job_%s", job) >= (int)sizeof(component))
		return NULL;
	if (!v2) {
		found = strstr(path, component);
		end = found != NULL ? found + strlen(component) : NULL;
		return found != NULL && (*end == '/' || *end == '\0') ? end : NULL;
	}
	/* "/SLICE/SCOPE/job_JOB" and then the end or "/". */
	if (path[0] != '/' || path[1] == '/' || (scope = strchr(path + 1, '/')) == NULL)
		return NULL;
	scope++;
	if ((after_scope = strchr(scope, '/')) == NULL || !stepd_scope(scope, after_scope - scope))
		return NULL;
	if (strncmp(after_scope, "/job_", 5) != 0 || strncmp(after_scope + 5, job, length) != 0)
		return NULL;
	end = after_scope + 5 + length;
	return *end == '/' || *end == '\0' ? end : NULL;
}

bool cgroups_share_job(char *own_text, char *their_text, const char *job)
{
	struct cgroup_line own[CGROUP_LINES_MAX], theirs[CGROUP_LINES_MAX];
	size_t own_count = split_cgroups(own_text, own, CGROUP_LINES_MAX);
	size_t their_count = split_cgroups(their_text, theirs, CGROUP_LINES_MAX);
	bool v2 = unified(own, own_count);
	for (size_t i = 0; i < own_count; i++) {
		const char *end = job_directory_end(own[i].path, job, v2);
		char job_directory[PATH_MAX];
		size_t j = 0;
		if (end == NULL)
			continue;
		snprintf(job_directory, sizeof(job_directory), "%.*s", (int)(end - own[i].path), own[i].path);
		while (j < their_count && strcmp(theirs[j].hierarchy, own[i].hierarchy) != 0)
			j++;
		if (j == their_count || !path_within(job_directory, theirs[j].path))
			return false;
	}
	return true;
}

bool cgroups_in_job(char *text, const char *job)
{
	struct cgroup_line lines[CGROUP_LINES_MAX];
	size_t count = split_cgroups(text, lines, CGROUP_LINES_MAX);
	bool v2 = unified(lines, count);
	for (size_t i = 0; i < count; i++)
		if (job_directory_end(lines[i].path, job, v2) != NULL)
			return true;
	return false;
}

/* Whether the process is in this launcher's Slurm job: in every cgroup hierarchy where the
 * launcher's own path is the job's, the process's path lies below that job_ID directory.
 * Outside a Slurm job cgroup there is nothing to compare and the uid check alone applies.
 * (SLURM_JOB_ID is the caller's to set: this keeps out the caller's own other jobs; the uid check
 * and the dropped privileges keep out everyone else's processes.) */
bool in_job_cgroup(pid_t pid)
{
	static char own_text[8192], their_text[8192];
	const char *job = getenv("SLURM_JOB_ID");
	if (job == NULL)
		return true;
	if (read_proc_file(getpid(), "cgroup", own_text, sizeof(own_text)) != 0 ||
	    read_proc_file(pid, "cgroup", their_text, sizeof(their_text)) != 0)
		return false;
	return cgroups_share_job(own_text, their_text, job);
}

/* SLURM_JOB_ID when this process runs in that job's cgroup (where Slurm puts the job's processes,
 * see above), else NULL: the caller sets the variable, but only Slurm (root) can put a process
 * into a job's cgroup. */
const char *slurm_job(void)
{
	static char text[8192];
	const char *job = getenv("SLURM_JOB_ID");
	if (job == NULL || job[0] == '\0' || strlen(job) > 20 || strspn(job, "0123456789") != strlen(job))
		return NULL;
	if (read_proc_file(getpid(), "cgroup", text, sizeof(text)) != 0)
		return NULL;
	return cgroups_in_job(text, job) ? job : NULL;
}
