/*
 * mpi-ring: the MPI program of the launcher's MPI tests. Rank 0 sends a token round the ring of
 * all ranks, each adding one, and checks what comes back.
 *
 *   mpi-ring                     once: prints "ring of N ranks: token N" and exits 0
 *   mpi-ring SEQUENCE STOP       every 100 ms, until the file STOP exists: appends the round's
 *                                number (1, 2, 3, ...) to SEQUENCE, or its negative if the token
 *                                came back wrong; then exits 0 (a migration test's job)
 *
 * It needs MPI_Init to work (mpirun's PMIx, Hydra's PMI_FD), the ranks to reach each other, and
 * prints nothing else: a warning on stdout or stderr is MPI's own.
 */
#include <mpi.h>
#include <stdio.h>
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

int main(int argc, char **argv)
{
	int rank, size, token;
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	if (argc == 3) {
		count_rounds(rank, size, argv[1], argv[2]);
	} else {
		token = round_trip(rank, size, 1);
		if (rank == 0)
			printf("ring of %d ranks: token %d\n", size, token);
	}
	MPI_Finalize();
	return 0;
}
