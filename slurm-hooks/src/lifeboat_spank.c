/*
 * lifeboat.so: the SPANK plugin that tells the node's Lifeboat agent which job steps it may migrate.
 *
 * It adds --migratable[=net] to srun, sbatch and salloc (=net: the agent gives the job a network
 * namespace with an address of its own on each node). In slurmstepd (remote context) it registers each
 * step of a migratable job with the agent (job, step, uid, gid, restart count, then each task's
 * pid) and reports the step's end; in the job epilog it reports the job's end, so the agent can drop
 * the job and its checkpoint data. A job without --migratable never makes a connection.
 *
 * The plugin only gathers facts and sends them: no CRIU, no fork/exec in slurmstepd; the work is
 * the agent's. If the agent cannot be reached, the step runs unprotected and the plugin logs it once,
 * unless plugstack.conf says required=1: then the step fails with a message the user sees.
 *
 * plugstack.conf:  required /usr/lib64/slurm/lifeboat.so socket=/run/lifeboat/agent.sock required=0
 * A SPANK plugin is bound to the Slurm release it was built against: rebuild it for each release.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <slurm/slurm.h>
#include <slurm/spank.h>

#include "agent_client.h"
#include "plugin_args.h"

SPANK_PLUGIN(lifeboat, 1);

#define LOG_PREFIX "lifeboat: "
#define REQUEST_MAX 1024
#define ERROR_MAX 512

static int on_migratable_option(int value, const char *argument, int remote);

static struct spank_option migratable_option = {
	.name = "migratable",
	.arginfo = "net",
	.usage = "Let Lifeboat live-migrate this job to another node when its node is drained or predicted to fail. "
		 "--migratable=net also gives the job an address of its own on each of its nodes, which moves with it "
		 "(lifeboat-run --network=job joins it).",
	/* Optional: --migratable alone, or --migratable=net (getopt's optional_argument). */
	.has_arg = 2,
	.val = 0,
	.cb = on_migratable_option,
};

/* All of the plugin's state, one copy per process that loads it (srun, sbatch, slurmstepd, ...). */
static struct {
	struct plugin_args args;
	bool migratable;
	/* --migratable=net: the agent makes the job a network namespace with an address of its own. */
	bool own_network;
	/* The agent acknowledged this step's registration: task pids and the step's end follow. */
	bool registered;
	/* Set in init_post_opt when required=1 and registration failed; reported in task_init (see there). */
	char registration_failure[ERROR_MAX];
	uint32_t job_id;
	uint32_t step_id;
} lifeboat = {
	.migratable = false,
	.own_network = false,
	.registered = false,
	.registration_failure = "",
	.job_id = 0,
	.step_id = 0,
};

static int on_migratable_option(int value, const char *argument, int remote)
{
	(void)value;
	(void)remote;
	/* No value reaches here as NULL or "", or, in an srun inside `sbatch --migratable`, as "(null)": Slurm
	 * passes sbatch's options on to the job's srun in SLURM_SPANK__SLURM_SPANK_OPTION_lifeboat_migratable,
	 * written with printf's "%s", which glibc prints "(null)" for a missing value (Slurm 22.05). */
	bool no_value = argument == NULL || argument[0] == '\0' || strcmp(argument, "(null)") == 0;
	if (!no_value && strcmp(argument, "net") != 0) {
		slurm_error(LOG_PREFIX "--migratable=%.64s: the only value is net (an address of the job's own)", argument);
		return -1;
	}
	lifeboat.migratable = true;
	lifeboat.own_network = !no_value;
	return 0;
}

/* The step id as the agent names it: a number, or the name of one of Slurm's special steps. */
static void format_step_id(uint32_t step_id, char *text, size_t size)
{
	switch (step_id) {
	case SLURM_BATCH_SCRIPT:
		snprintf(text, size, "\"batch\"");
		break;
	case SLURM_EXTERN_CONT:
		snprintf(text, size, "\"extern\"");
		break;
	case SLURM_INTERACTIVE_STEP:
		snprintf(text, size, "\"interactive\"");
		break;
	default:
		snprintf(text, size, "\"%" PRIu32 "\"", step_id);
	}
}

static int load_args(int argc, char **argv)
{
	char error[ERROR_MAX];
	if (plugin_args_parse(&lifeboat.args, argc, argv, error, sizeof(error)) < 0) {
		slurm_error(LOG_PREFIX "plugstack.conf: %s", error);
		return -1;
	}
	return 0;
}

int slurm_spank_init(spank_t spank, int argc, char **argv)
{
	if (load_args(argc, argv) < 0)
		return -1;
	switch (spank_context()) {
	case S_CTX_LOCAL:
	case S_CTX_ALLOCATOR:
	case S_CTX_REMOTE:
	case S_CTX_JOB_SCRIPT:
		if (spank_option_register(spank, &migratable_option) != ESPANK_SUCCESS) {
			slurm_error(LOG_PREFIX "cannot register --migratable");
			return -1;
		}
		break;
	default:
		break;
	}
	return 0;
}

/*
 * Registers the step in slurmstepd, before its tasks start. This runs before slurmstepd drops its
 * privileges (user_init would run as the job's user, and the agent accepts registrations only from
 * root or SlurmUser, judged by the connection's credentials). Errors here never reach the user
 * (see task_init).
 */
int slurm_spank_init_post_opt(spank_t spank, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	char step[32], request[REQUEST_MAX], error[ERROR_MAX];
	uid_t uid;
	gid_t gid;
	uint32_t restart_count = 0, task_count = 0;

	if (spank_context() != S_CTX_REMOTE || !lifeboat.migratable)
		return 0;
	if (spank_get_item(spank, S_JOB_ID, &lifeboat.job_id) != ESPANK_SUCCESS ||
	    spank_get_item(spank, S_JOB_STEPID, &lifeboat.step_id) != ESPANK_SUCCESS ||
	    spank_get_item(spank, S_JOB_UID, &uid) != ESPANK_SUCCESS ||
	    spank_get_item(spank, S_JOB_GID, &gid) != ESPANK_SUCCESS ||
	    spank_get_item(spank, S_JOB_LOCAL_TASK_COUNT, &task_count) != ESPANK_SUCCESS) {
		snprintf(error, sizeof(error), "cannot read the step's job id, step id, uid, gid or task count");
		goto fail;
	}
	/* Not every step type carries a restart count; 0 is what Slurm reports for a first run. */
	if (spank_get_item(spank, S_SLURM_RESTART_COUNT, &restart_count) != ESPANK_SUCCESS)
		restart_count = 0;
	format_step_id(lifeboat.step_id, step, sizeof(step));
	snprintf(request, sizeof(request),
		 "{\"version\":%d,\"request\":\"step-start\",\"job\":%" PRIu32 ",\"step\":%s,\"uid\":%u,\"gid\":%u,"
		 "\"restart-count\":%" PRIu32 ",\"tasks\":%" PRIu32 "%s}",
		 LIFEBOAT_PROTOCOL_VERSION, lifeboat.job_id, step, (unsigned)uid, (unsigned)gid, restart_count, task_count,
		 lifeboat.own_network ? ",\"network\":\"job\"" : "");
	if (agent_request(lifeboat.args.socket_path, request, error, sizeof(error)) < 0)
		goto fail;
	lifeboat.registered = true;
	return 0;

fail:
	if (lifeboat.args.required) {
		/* Slurm does not show these errors to the user; task_init's go to the task's stderr. */
		snprintf(lifeboat.registration_failure, sizeof(lifeboat.registration_failure), "%s", error);
		return 0;
	}
	slurm_error(LOG_PREFIX "job %" PRIu32 " runs without migration protection: %s", lifeboat.job_id, error);
	return 0;
}

/* Runs in each task just before exec: the one place where an error reaches the user's output. */
int slurm_spank_task_init(spank_t spank, int argc, char **argv)
{
	(void)spank;
	(void)argc;
	(void)argv;
	if (lifeboat.registration_failure[0] == '\0')
		return 0;
	slurm_error(LOG_PREFIX "--migratable was asked for and this site requires the Lifeboat agent, "
			      "but the job cannot be registered: %s",
		    lifeboat.registration_failure);
	return -1;
}

int slurm_spank_task_post_fork(spank_t spank, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	char step[32], request[REQUEST_MAX], error[ERROR_MAX];
	pid_t pid;
	int task_id;

	if (spank_context() != S_CTX_REMOTE || !lifeboat.registered)
		return 0;
	if (spank_get_item(spank, S_TASK_PID, &pid) != ESPANK_SUCCESS ||
	    spank_get_item(spank, S_TASK_ID, &task_id) != ESPANK_SUCCESS) {
		slurm_error(LOG_PREFIX "job %" PRIu32 ": cannot read a task's pid", lifeboat.job_id);
		return 0;
	}
	format_step_id(lifeboat.step_id, step, sizeof(step));
	snprintf(request, sizeof(request),
		 "{\"version\":%d,\"request\":\"task-start\",\"job\":%" PRIu32 ",\"step\":%s,\"task\":%d,\"pid\":%d}",
		 LIFEBOAT_PROTOCOL_VERSION, lifeboat.job_id, step, task_id, (int)pid);
	if (agent_request(lifeboat.args.socket_path, request, error, sizeof(error)) < 0)
		slurm_error(LOG_PREFIX "job %" PRIu32 " task %d: %s", lifeboat.job_id, task_id, error);
	return 0;
}

int slurm_spank_exit(spank_t spank, int argc, char **argv)
{
	(void)spank;
	(void)argc;
	(void)argv;
	char step[32], request[REQUEST_MAX], error[ERROR_MAX];

	if (spank_context() != S_CTX_REMOTE || !lifeboat.registered)
		return 0;
	format_step_id(lifeboat.step_id, step, sizeof(step));
	snprintf(request, sizeof(request), "{\"version\":%d,\"request\":\"step-end\",\"job\":%" PRIu32 ",\"step\":%s}",
		 LIFEBOAT_PROTOCOL_VERSION, lifeboat.job_id, step);
	if (agent_request(lifeboat.args.socket_path, request, error, sizeof(error)) < 0)
		slurm_error(LOG_PREFIX "job %" PRIu32 ": step end not reported: %s", lifeboat.job_id, error);
	return 0;
}

/*
 * The job's end on this node. slurmd runs this like an Epilog script, but only a plugin that is
 * loaded needs it: sites keep their own Prolog/Epilog untouched. Never fails: a failing epilog
 * would drain the node.
 */
int slurm_spank_job_epilog(spank_t spank, int argc, char **argv)
{
	char request[REQUEST_MAX], error[ERROR_MAX];
	char *value = NULL;
	uint32_t job_id;

	/* An option that takes an argument must be asked with somewhere to put it, even if unused. */
	if (spank_option_getopt(spank, &migratable_option, &value) != ESPANK_SUCCESS)
		return 0;
	/* slurmd runs the epilog in a process where slurm_spank_init has not parsed the arguments. */
	if (load_args(argc, argv) < 0)
		return 0;
	if (spank_get_item(spank, S_JOB_ID, &job_id) != ESPANK_SUCCESS) {
		slurm_error(LOG_PREFIX "epilog: cannot read the job id");
		return 0;
	}
	snprintf(request, sizeof(request), "{\"version\":%d,\"request\":\"job-end\",\"job\":%" PRIu32 "}",
		 LIFEBOAT_PROTOCOL_VERSION, job_id);
	if (agent_request(lifeboat.args.socket_path, request, error, sizeof(error)) < 0)
		slurm_error(LOG_PREFIX "epilog of job %" PRIu32 ": %s", job_id, error);
	return 0;
}
