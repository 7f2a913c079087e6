/*
 * Tests src/identity.c without root, CRIU or a Slurm node: which task record a launcher started
 * again after a move takes for its own (`make check` runs it, tests/task-identity).
 *
 * The records are as launchers write them: step=, procid= and localid= lines, then
 * exit-status-file= if the task has one (launchers before the match by local id wrote the same).
 * The launchers' environments are as srun gives its tasks; tests/shared-container.sh
 * (migrate-renumbered) does the same through a real move.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "../src/launcher.h"
#include "expect.h"

/* Whether a launcher with ENVIRONMENT (a NULL-ended list) takes RECORD for its task. */
static bool takes(const char *const *environment, const char *record)
{
	char identity[TASK_IDENTITY_SIZE];
	task_identity((char **)environment, identity, sizeof(identity));
	return same_task(record, identity);
}

/* A record from a task that was rank 2 and local id 0 of step 0, on a node of a job on two nodes. */
#define RANK_2 "step=0\nprocid=2\nlocalid=0\nexit-status-file=/home/alice/run/status.0\n"

static void a_record_is_found_by_step_and_local_id(void)
{
	const char *const renumbered[] = {"SLURM_STEP_ID=0", "SLURM_PROCID=0", "SLURM_LOCALID=0", NULL};
	const char *const same_rank[] = {"SLURM_STEP_ID=0", "SLURM_PROCID=2", "SLURM_LOCALID=0", NULL};
	const char *const no_rank[] = {"SLURM_STEP_ID=0", "SLURM_LOCALID=0", NULL};
	const char *const other_local[] = {"SLURM_STEP_ID=0", "SLURM_PROCID=2", "SLURM_LOCALID=1", NULL};
	const char *const other_step[] = {"SLURM_STEP_ID=1", "SLURM_PROCID=0", "SLURM_LOCALID=0", NULL};
	const char *const batch[] = {"SLURM_PROCID=0", "SLURM_LOCALID=0", NULL};
	expect(takes(renumbered, RANK_2), true, "rank 0 now, its record says procid=2: the same step and local id");
	expect(takes(same_rank, RANK_2), true, "the same rank as before");
	expect(takes(no_rank, RANK_2), true, "a launcher without SLURM_PROCID: the record's procid= is ignored");
	expect(takes(renumbered, "step=0\nprocid=2\nlocalid=0\n"), true, "a record without exit-status-file");
	expect(takes(renumbered, "step=0\nlocalid=0\n"), true, "a record without procid=");
	expect(takes(other_local, RANK_2), false, "another local id, with the record's rank");
	expect(takes(other_step, RANK_2), false, "another step");
	expect(takes(other_local, "step=0\nprocid=3\nlocalid=10\n"), false, "local id 1 is not 10");
	expect(takes(other_step, "step=10\nprocid=0\nlocalid=0\n"), false, "step 1 is not 10");
	expect(takes(batch, "procid=3\nlocalid=0\n"), true, "no step (the batch step): the local id alone");
	expect(takes(batch, RANK_2), false, "no step: not a task of step 0");
	expect(takes(renumbered, "step=0\nprocid=0\n"), false, "a record without localid= (its task was not in a step)");
	expect(takes(renumbered, "step=0\nprocid=2\nlocalid=0\nuid=0\nexit-status-file=/x\n"), false,
	       "a line the launcher never writes among the identity lines");
}

/* SLURM_LOCALID unset or not a number: the lines there are must all match, as before. */
static void without_a_local_id_every_line_counts(void)
{
	const char *const rank_2[] = {"SLURM_STEP_ID=0", "SLURM_PROCID=2", NULL};
	const char *const not_a_number[] = {"SLURM_STEP_ID=0", "SLURM_PROCID=2", "SLURM_LOCALID=0\nprocid=9", NULL};
	const char *const rank_alone[] = {"SLURM_PROCID=2", NULL};
	expect(takes(rank_2, "step=0\nprocid=2\n"), true, "no local id: the same step and rank");
	expect(takes(rank_2, "step=0\nprocid=2\nexit-status-file=/x\n"), true, "no local id: the same lines, then the file");
	expect(takes(rank_2, "step=0\nprocid=3\n"), false, "no local id: another rank");
	expect(takes(rank_2, RANK_2), false, "no local id: a record with one");
	expect(takes(not_a_number, "step=0\nprocid=2\n"), true, "a local id that is no number is left out");
	expect(takes(not_a_number, "step=0\nprocid=2\nlocalid=0\n"), false, "so it names no record's local id");
	expect(takes(rank_alone, "step=0\nprocid=2\n"), false, "no step: not a task of step 0");
}

static void a_launcher_without_identity_takes_no_task(void)
{
	const char *const none[] = {"SLURM_JOB_ID=42", NULL};
	const char *const empty[] = {"SLURM_STEP_ID=", "SLURM_PROCID=", "SLURM_LOCALID=", NULL};
	expect(takes(none, "exit-status-file=/x\n"), false, "a record without identity lines");
	expect(takes(none, ""), false, "an empty record");
	expect(takes(empty, ""), false, "variables set to nothing");
}

static void every_task_writes_its_rank(void)
{
	const char *const all[] = {"SLURM_LOCALID=1", "SLURM_PROCID=3", "SLURM_STEP_ID=0", "SLURM_STEP_IDX=9", NULL};
	char text[TASK_IDENTITY_SIZE];
	int length = task_identity((char **)all, text, sizeof(text));
	expect(length == (int)strlen(text) && strcmp(text, "step=0\nprocid=3\nlocalid=1\n") == 0, true,
	       "step, procid and localid, in that order");
}

int main(void)
{
	a_record_is_found_by_step_and_local_id();
	without_a_local_id_every_line_counts();
	a_launcher_without_identity_takes_no_task();
	every_task_writes_its_rank();
	printf("task-identity: %d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
