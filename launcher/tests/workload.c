/*
 * lifeboat-workload: the process the CRIU round-trip test checkpoints, migrates and rolls back,
 * and the benchmarks' job.
 *
 *   lifeboat-workload SEQUENCE_FILE STOP_FILE [MIB [random|half-zero] [touch-all]]
 *
 * Fills MIB MiB (default 256) with random bytes (random, the default; with half-zero: every other
 * 4 KiB page written with zeros instead, so the memory compresses to about half) and keeps their
 * checksum. Then, in a loop, it appends the next value of a counter held only in memory to
 * SEQUENCE_FILE (opened once and kept open), so a restore that lost the process's state shows as a
 * restart from 1 and one that ran it twice as a repeated number. What it does between two values:
 *
 *   (default)  sleeps 100 ms: a job whose working set is small (a few pages), ~10 values a second;
 *   touch-all  reads every page of the MIB MiB, checksums them and checks the sum, printing
 *              "workload: memory CORRUPT at N (scan)" on stdout and stderr on a mismatch: a job
 *              that touches all its memory, whose sequence grows by one per full scan (the
 *              file's growth rate is scans per second).
 *
 * When STOP_FILE exists it exits with the status the file holds (a number 0-255), or 3 when it
 * holds none. On SIGUSR1 it checks the memory against the checksum and reports on stdout and
 * stderr, so a restore that damaged pages, or lost the redirections, shows too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define STOP_EXIT_CODE 3
#define DEFAULT_MIB 256
#define TICK_NANOSECONDS 100000000L

static volatile sig_atomic_t check_requested = 0;

static void on_sigusr1(int signal)
{
	(void)signal;
	check_requested = 1;
}

static uint64_t checksum(const uint64_t *words, size_t count)
{
	uint64_t hash = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < count; i++)
		hash = (hash ^ words[i]) * 0x100000001b3ULL;
	return hash;
}

static int fill_random(unsigned char *memory, size_t size)
{
	size_t done = 0;
	while (done < size) {
		ssize_t count = getrandom(memory + done, size - done, 0);
		if (count < 0) {
			if (errno == EINTR)
				continue;
			perror("workload: getrandom");
			return -1;
		}
		done += count;
	}
	return 0;
}

static int usage(const char *name)
{
	fprintf(stderr, "usage: %s SEQUENCE_FILE STOP_FILE [MIB [random|half-zero] [touch-all]]\n", name);
	return 2;
}

/* The exit status asked for in the stop file, so a test can end the job with 0 or anything else. */
static int stop_status(const char *stop_file)
{
	char text[8] = "";
	char *end;
	long status;
	int fd = open(stop_file, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t length = read(fd, text, sizeof(text) - 1);
		text[length > 0 ? length : 0] = '\0';
		close(fd);
	}
	status = strtol(text, &end, 10);
	if (end == text || status < 0 || status > 255)
		return STOP_EXIT_CODE;
	return (int)status;
}

int main(int argc, char **argv)
{
	struct sigaction action = {.sa_handler = on_sigusr1};
	const struct timespec tick = {.tv_sec = 0, .tv_nsec = TICK_NANOSECONDS};
	unsigned long mib = DEFAULT_MIB;
	uint64_t *memory;
	uint64_t expected;
	size_t size;
	uint64_t counter = 0;
	int sequence_fd;
	bool half_zero = false;
	bool touch_all = false;
	if (argc < 3 || argc > 6)
		return usage(argv[0]);
	if (argc >= 4) {
		char *end;
		mib = strtoul(argv[3], &end, 10);
		if (*end != '\0' || mib == 0 || mib > 65536) {
			fprintf(stderr, "workload: bad size %s\n", argv[3]);
			return 2;
		}
	}
	/* After MIB: at most one contents word, then at most touch-all, in this order. */
	int next = 4;
	if (next < argc && (strcmp(argv[next], "random") == 0 || strcmp(argv[next], "half-zero") == 0))
		half_zero = strcmp(argv[next++], "half-zero") == 0;
	if (next < argc && strcmp(argv[next], "touch-all") == 0) {
		touch_all = true;
		next++;
	}
	if (next != argc)
		return usage(argv[0]);
	size = mib << 20;
	memory = malloc(size);
	if (memory == NULL) {
		perror("workload: malloc");
		return 1;
	}
	if (fill_random((unsigned char *)memory, size) != 0)
		return 1;
	/* Written, not left untouched: CRIU dumps these pages, whose zeros compress. */
	for (size_t page = 1; half_zero && page * 4096 < size; page += 2)
		memset((unsigned char *)memory + page * 4096, 0, 4096);
	expected = checksum(memory, size / sizeof(uint64_t));
	sequence_fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (sequence_fd < 0) {
		perror("workload: open the sequence file");
		return 1;
	}
	/* No SA_RESTART: the signal cuts the sleep short and the loop checks the flag at once. */
	if (sigaction(SIGUSR1, &action, NULL) != 0) {
		perror("workload: sigaction");
		return 1;
	}
	dprintf(STDOUT_FILENO, "workload: %lu MiB%s, checksum %016" PRIx64 "\n", mib, touch_all ? " touch-all" : "",
		expected);
	dprintf(STDERR_FILENO, "workload: started\n");
	for (;;) {
		if (check_requested) {
			uint64_t actual = checksum(memory, size / sizeof(uint64_t));
			check_requested = 0;
			dprintf(STDOUT_FILENO, "workload: memory %s at %" PRIu64 "\n", actual == expected ? "ok" : "CORRUPT",
				counter);
			dprintf(STDERR_FILENO, "workload: checked memory at %" PRIu64 "\n", counter);
		}
		if (access(argv[2], F_OK) == 0) {
			dprintf(STDOUT_FILENO, "workload: stopping after %" PRIu64 "\n", counter);
			return stop_status(argv[2]);
		}
		counter++;
		if (dprintf(sequence_fd, "%" PRIu64 "\n", counter) < 0) {
			perror("workload: write the sequence file");
			return 1;
		}
		if (!touch_all) {
			nanosleep(&tick, NULL);
		} else if (checksum(memory, size / sizeof(uint64_t)) != expected) {
			dprintf(STDOUT_FILENO, "workload: memory CORRUPT at %" PRIu64 " (scan)\n", counter);
			dprintf(STDERR_FILENO, "workload: memory CORRUPT at %" PRIu64 " (scan)\n", counter);
		}
	}
}
