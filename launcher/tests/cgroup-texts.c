/*
 * Tests src/cgroup.c on /proc/PID/cgroup texts as Slurm's cgroup plugins leave them, without
 * root, CRIU or a Slurm node: `make check` builds and runs it first (tests/cgroup-texts).
 *
 * Where the texts come from:
 * - cgroup v2 alone: Slurm 22.05's cgroup/v2, src/plugins/cgroup/v2/cgroup_v2.c (job_%u, step_%s,
 *   user, slurm, task_%u, task_special below <mount>/system.slice/slurmstepd.scope, or
 *   NODE_slurmstepd.scope with --enable-multiple-slurmd) and doc/html/cgroup_v2.shtml, whose
 *   `systemctl status slurmstepd.scope` shows job_3385 with step_0, step_extern and
 *   step_interactive, each holding slurm/ (its slurmstepd) and user/task_0 (the tasks), and the
 *   gamba1_slurmstepd.scope of a multiple-slurmd node. slurmd itself is in
 *   "0::/system.slice/slurmd.service" (the comment in _get_self_cg_path). A v2 node lists this
 *   single 0:: line for every process.
 * - systemd's delegated user subtree: user@UID.service below user-UID.slice, which systemd makes
 *   for every logged-in user and hands to that user (Delegate=yes); the user names what is below.
 * - cgroup v1 beside the unified hierarchy: this project's Debian 12 test machines list nine v1
 *   hierarchies and 0:: (/proc/self/cgroup), and Slurm's cgroup/v1 with several slurmd put the
 *   testbed's job 8 in freezer:/slurm_n1/uid_0/job_8/step_batch (FIELD-NOTES).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "../src/launcher.h"
#include "expect.h"

/* cgroups_in_job on a copy (it splits the text in place). */
static bool in_job(const char *text, const char *job)
{
	char copy[4096];
	snprintf(copy, sizeof(copy), "%s", text);
	return cgroups_in_job(copy, job);
}

static bool share_job(const char *own, const char *theirs, const char *job)
{
	char own_copy[4096], their_copy[4096];
	snprintf(own_copy, sizeof(own_copy), "%s", own);
	snprintf(their_copy, sizeof(their_copy), "%s", theirs);
	return cgroups_share_job(own_copy, their_copy, job);
}

#define V2_JOB "0::/system.slice/slurmstepd.scope/job_3385"
#define V2_TASK V2_JOB "/step_0/user/task_0\n"

/* The v1 hierarchies of the test machines, with PATH in each and the unified one at UNIFIED. */
static const char *hybrid(char *text, size_t capacity, const char *path, const char *unified)
{
	snprintf(text, capacity,
		 "9:name=systemd:/\n8:pids:%s\n7:blkio:%s\n6:freezer:%s\n5:devices:%s\n4:memory:%s\n3:cpuset:%s\n"
		 "2:cpuacct:%s\n1:cpu:%s\n0::%s\n",
		 path, path, path, path, path, path, path, path, unified);
	return text;
}

static void v2_tasks_are_in_their_job(void)
{
	expect(in_job(V2_TASK, "3385"), true, "v2: a task of step 0");
	expect(in_job(V2_JOB "/step_extern/user/task_0\n", "3385"), true, "v2: the extern step's task");
	expect(in_job(V2_JOB "/step_interactive/user/task_0\n", "3385"), true, "v2: salloc's interactive step");
	expect(in_job(V2_JOB "/step_batch/user/task_special\n", "3385"), true, "v2: a pid added to the step, not a task");
	expect(in_job("0::/system.slice/gamba1_slurmstepd.scope/job_3385/step_0/user/task_0\n", "3385"), true,
	       "v2: a multiple-slurmd node's scope");
}

static void v2_other_places_are_not_the_job(void)
{
	expect(in_job(V2_TASK, "338"), false, "v2: job 338 is not job 3385");
	expect(in_job(V2_TASK, "33855"), false, "v2: job 33855 is not job 3385");
	expect(in_job("0::/system.slice/slurmstepd.scope/system\n", "3385"), false, "v2: stepd's waiting area");
	expect(in_job("0::/system.slice/slurmd.service\n", "3385"), false, "v2: slurmd");
	expect(in_job("0::/user.slice/user-1000.slice/user@1000.service/app.slice/job_3385\n", "3385"), false,
	       "v2: a directory named job_3385 in the user's delegated subtree");
	expect(in_job("0::/user.slice/user-1000.slice/user@1000.service/system.slice/slurmstepd.scope/job_3385/step_0\n",
		      "3385"),
	       false, "v2: Slurm's whole layout imitated in the user's delegated subtree");
	expect(in_job("0::/system.slice/slurmstepd.scope/job_1/job_3385\n", "3385"), false,
	       "v2: job_3385 below another job's directory");
	expect(in_job("0::/system.slice/notslurmstepd.scope/job_3385/step_0\n", "3385"), false, "v2: another scope");
}

static void v2_shares_the_job_below_its_directory(void)
{
	expect(share_job(V2_TASK, V2_JOB "/step_0/user/task_1\n", "3385"), true, "v2: another task of the step");
	expect(share_job(V2_TASK, V2_JOB "/step_batch/user/task_0\n", "3385"), true, "v2: the batch step's task");
	expect(share_job(V2_TASK, "0::/system.slice/slurmstepd.scope/job_3386/step_0/user/task_0\n", "3385"), false,
	       "v2: the same user's other job");
	expect(share_job(V2_TASK, "0::/user.slice/user-1000.slice/user@1000.service/app.slice/job_3385\n", "3385"),
	       false, "v2: the user's process outside Slurm's tree");
	expect(share_job("0::/user.slice/user-1000.slice/user@1000.service/app.slice/job_3385\n",
			 "0::/user.slice/user-1000.slice/session-3.scope\n", "3385"),
	       true, "v2: a launcher outside a job cgroup has nothing to compare (the uid check alone applies)");
}

static void v1_and_hybrid_are_as_before(void)
{
	char own[1024], theirs[1024];
	hybrid(own, sizeof(own), "/slurm_n1/uid_0/job_8/step_batch", "/");
	expect(in_job(own, "8"), true, "hybrid: Slurm's v1 hierarchies name job 8");
	expect(in_job(own, "80"), false, "hybrid: not job 80");
	hybrid(theirs, sizeof(theirs), "/slurm_n1/uid_0/job_8/step_0", "/");
	expect(share_job(own, theirs, "8"), true, "hybrid: another step of job 8");
	hybrid(theirs, sizeof(theirs), "/slurm_n1/uid_0/job_9/step_0", "/");
	expect(share_job(own, theirs, "8"), false, "hybrid: job 9");
	/* The launcher tests make job cgroups in the unified hierarchy only, as here. */
	hybrid(own, sizeof(own), "/", "/lifeboat-shared.77/job_910/step_0");
	expect(in_job(own, "910"), true, "hybrid: a job directory in the unified hierarchy, anywhere");
	hybrid(theirs, sizeof(theirs), "/", "/lifeboat-shared.77/job_910/step_1");
	expect(share_job(own, theirs, "910"), true, "hybrid: the unified hierarchy compared");
	hybrid(theirs, sizeof(theirs), "/", "/lifeboat-shared.77/job_911/step_0");
	expect(share_job(own, theirs, "910"), false, "hybrid: another job in the unified hierarchy");
	expect(in_job("4:memory:/slurm/uid_1000/job_42/step_0\n", "42"), true, "v1 alone, one hierarchy");
}

int main(void)
{
	v2_tasks_are_in_their_job();
	v2_other_places_are_not_the_job();
	v2_shares_the_job_below_its_directory();
	v1_and_hybrid_are_as_before();
	printf("cgroup-texts: %d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
