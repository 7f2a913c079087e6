/*
 * mpi-ring: the MPI program of the launcher's MPI tests. Rank 0 sends a token round the ring of
 * all ranks, each adding one, and checks what comes back.
 *
 *   mpi-ring                     once: prints "ring of N ranks: token N" and exits 0
 *   mpi-ring SEQUENCE STOP       every 100 ms, until the file STOP exists: appends the round's
 *                                number (1, 2, 3, ...) to SEQUENCE, or its negative if the token
 *                                came back wrong; then exits 0 (a migration test's job)
 *   mpi-ring sum STEPS DELAY_MS  STEPS steps DELAY_MS apart: each rank passes its running value
 *                                to the next, folds in what it received, and all ranks sum the
 *                                values (MPI_Allreduce); rank 0 prints "step N sum S" after each
 *                                and "result R ranks K" at the end. The numbers depend only on
 *                                STEPS and the rank count, so a moved run must print exactly what
 *                                a run that was not moved prints (the testbed's MpiJobsTest)
 *
 * It needs MPI_Init to work (mpirun's PMIx, Hydra's PMI_FD), the ranks to reach each other, and
 * prints nothing else: a warning on stdout or stderr is MPI's own.
 */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* One trip round the ring; rank 0 returns the token that came back (VALUE + size - 1), the others
 * what they passed on. A negative VALUE is passed round unchanged: the order to stop. */
static int round_trip(int rank, int size, int value)
{
	int token = value;
	if (rank == 0) {
		MPI_Send(&token, 1, MPI_INT, 1 % size, 0, MPI_COMM_WORLD);
		MPI_Recv(&token, 1, MPI_INT, size - 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		return token;
	}
	MPI_Recv(&token, 1, MPI_INT, rank - 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
	if (token >= 0)
		token++;
	MPI_Send(&token, 1, MPI_INT, (rank + 1) % size, 0, MPI_COMM_WORLD);
	return token;
}

/* Rank 0 counts rounds into SEQUENCE until STOP exists, then sends the stop order round. */
static int count_rounds(int rank, int size, const char *sequence, const char *stop)
{
	FILE *out = NULL;
	if (rank != 0) {
		while (round_trip(rank, size, 0) >= 0)
			;
		return 0;
	}
	out = fopen(sequence, "a");
	if (out == NULL) {
		perror(sequence);
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	for (int number = 1; access(stop, F_OK) != 0; number++) {
		int token = round_trip(rank, size, number);
		fprintf(out, "%d\n", token == number + size - 1 ? number : -number);
		fflush(out);
		usleep(100000);
	}
	round_trip(rank, size, -1);
	fclose(out);
	return 0;
}

/* A 64-bit mix, so a wrong value anywhere shows in every later one. */
static uint64_t mix(uint64_t value)
{
	value ^= value >> 33;
	value *= UINT64_C(0xff51afd7ed558ccd);
	value ^= value >> 33;
	return value;
}

static void sum_steps(int rank, int size, long steps, long delay_ms)
{
	struct timespec delay = {.tv_sec = delay_ms / 1000, .tv_nsec = (delay_ms % 1000) * 1000000L};
	uint64_t value = (uint64_t)rank + 1, result = 0;
	for (long step = 1; step <= steps; step++) {
		uint64_t received = 0, sum = 0;
		MPI_Sendrecv(&value, 1, MPI_UINT64_T, (rank + 1) % size, 0, &received, 1, MPI_UINT64_T,
			     (rank + size - 1) % size, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		value = mix(value + received + (uint64_t)step);
		MPI_Allreduce(&value, &sum, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
		if (rank == 0) {
			printf("step %ld sum %llu\n", step, (unsigned long long)sum);
			fflush(stdout);
		}
		nanosleep(&delay, NULL);
	}
	MPI_Reduce(&value, &result, 1, MPI_UINT64_T, MPI_BXOR, 0, MPI_COMM_WORLD);
	if (rank == 0)
		printf("result %llu ranks %d\n", (unsigned long long)result, size);
}

int main(int argc, char **argv)
{
	int rank, size, token;
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	if (argc == 4 && strcmp(argv[1], "sum") == 0) {
		sum_steps(rank, size, atol(argv[2]), atol(argv[3]));
	} else if (argc == 3) {
		count_rounds(rank, size, argv[1], argv[2]);
	} else {
		token = round_trip(rank, size, 1);
		if (rank == 0)
			printf("ring of %d ranks: token %d\n", size, token);
	}
	MPI_Finalize();
	return 0;
}
