/*
 * lifeboat-lazy-guard: runs CRIU's lazy-pages daemon of a post-copy migration and makes sure the
 * restored job never runs on with memory that did not arrive.
 *
 *   lifeboat-lazy-guard STATUS_FILE PID_FILE -- COMMAND [ARGS...]
 *
 * COMMAND is `criu lazy-pages ... --status-fd 3` (through lifeboat-with-fds). Each restored
 * process's memory is registered with a userfaultfd that the daemon holds: a fault waits until the
 * daemon copies the page in from the source. When the daemon dies before the last page (the source
 * node, the link or an agent's relay lost), the kernel releases the userfaultfds with it, and from
 * then on a fault on a page that never arrived is served a page of zeros: the job would compute on
 * with wrong memory and nobody would know (measured: its checksum failed).
 *
 * So the guard traces the daemon (ptrace, exit stops only) and, when the daemon is about to exit
 * with a failure, stopped before the kernel has released its descriptors, takes its own copy of
 * each of its userfaultfds (pidfd_getfd), kills the restored tree (SIGKILL to the pid in PID_FILE,
 * the init of the container's PID namespace, takes every process in it), waits for it to be gone,
 * and only then lets the daemon finish exiting and its copies go: a process blocked in a fault stays
 * blocked until it dies. The copies are taken only then, never while the daemon works: CRIU stops
 * watching a process's userfaultfd by closing it, and a copy held elsewhere would keep it alive in
 * CRIU's epoll set, whose next event CRIU would take for a process it had freed (seen: the daemon
 * spun on "excess message in queue" and died at a BUG). One case escapes the exit stop: a daemon
 * killed by SIGKILL (an administrator, the OOM killer) exits without it; the tree is killed then
 * too, but a fault in that instant may be served zeros.
 *
 * The first process returns once the daemon is ready for the restore (it wrote its status byte on
 * fd 3) and traced, with 0, or 1 if the daemon ended first. The guard itself goes on in a session of its own,
 * so that it outlives the agent that started it, and writes STATUS_FILE: "complete" (every page
 * arrived, exit 0) or "failed: ..." (and what it killed). PID_FILE is written by the agent once the
 * restore has succeeded, in a directory only root can write, and read at once (the agent's restart
 * empties that directory); until then the tree is stopped and faults on nothing. Both paths are
 * opened without following a link.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define STATUS_FD 3
#define POLL_MILLIS 20
#define MAX_TAKEN 4096
#define TREE_EXIT_MILLIS 5000

static int taken[MAX_TAKEN];
static int ntaken;

static void die(const char *message)
{
    fprintf(stderr, "lifeboat-lazy-guard: %s: %s\n", message, strerror(errno));
    exit(1);
}

/* Takes a copy of each userfaultfd the daemon, stopped at its exit, still holds. */
static void take_userfaultfds(pid_t daemon)
{
    char dir_path[64], link_path[320], target[64];
    int pidfd = (int)syscall(SYS_pidfd_open, daemon, 0);
    if (pidfd < 0)
        return;
    snprintf(dir_path, sizeof dir_path, "/proc/%d/fd", (int)daemon);
    DIR *dir = opendir(dir_path);
    if (!dir) {
        close(pidfd);
        return;
    }
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL && ntaken < MAX_TAKEN) {
        if (entry->d_name[0] == '.')
            continue;
        snprintf(link_path, sizeof link_path, "%s/%s", dir_path, entry->d_name);
        ssize_t length = readlink(link_path, target, sizeof target - 1);
        if (length < 0)
            continue;
        target[length] = '\0';
        if (strcmp(target, "anon_inode:[userfaultfd]") != 0)
            continue;
        int copy = (int)syscall(SYS_pidfd_getfd, pidfd, atoi(entry->d_name), 0);
        if (copy >= 0)
            taken[ntaken++] = copy;
    }
    closedir(dir);
    close(pidfd);
}

/* Writes the status file whole, replacing nothing: the agent reads it once it exists. */
static void write_status(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "lifeboat-lazy-guard: cannot write %s: %s\n", path, strerror(errno));
        return;
    }
    size_t length = strlen(text);
    if (write(fd, text, length) != (ssize_t)length)
        fprintf(stderr, "lifeboat-lazy-guard: cannot write %s: %s\n", path, strerror(errno));
    close(fd);
}

/* The restored tree's init, from the agent's file: 0 when there is none yet. */
static pid_t restored_pid(const char *path)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char text[32] = {0};
    ssize_t length = read(fd, text, sizeof text - 1);
    close(fd);
    if (length <= 0)
        return 0;
    char *end;
    long pid = strtol(text, &end, 10);
    if (end == text || pid <= 1)
        return 0;
    return (pid_t)pid;
}

/* Kills the restored tree and waits until it is gone (its init's exit follows every other process's). */
static int kill_tree(pid_t restored)
{
    if (restored <= 0)
        return 0;
    int pidfd = (int)syscall(SYS_pidfd_open, restored, 0);
    if (kill(restored, SIGKILL) != 0) {
        if (pidfd >= 0)
            close(pidfd);
        return 0;
    }
    if (pidfd >= 0) {
        struct pollfd gone = {.fd = pidfd, .events = POLLIN};
        poll(&gone, 1, TREE_EXIT_MILLIS);
        close(pidfd);
    }
    return 1;
}

static void describe(char *text, size_t size, int status, const char *what)
{
    snprintf(text, size, "failed: the lazy-pages daemon %s %d; %s\n",
             WIFEXITED(status) ? "exited with" : "was killed by signal",
             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), what);
}

static void guard(pid_t daemon, int ready, int go, const char *status_path, const char *pid_path)
{
    /* Traced from its readiness on, not before: every signal stops a tracee until the tracer looks, and
     * CRIU's probe of the kernel at its start takes a dozen (measured: its start 360 ms instead of 30).
     * No restore has handed it a userfaultfd before it is ready. Exit stops only: its signals are passed
     * on, and it forks nothing this follows. */
    char byte;
    ssize_t got;
    do
        got = read(ready, &byte, 1);
    while (got < 0 && errno == EINTR);
    close(ready);
    if (got == 1) {
        ptrace(PTRACE_SEIZE, daemon, NULL, (void *)(long)PTRACE_O_TRACEEXIT);
        /* Only now may the agent restore: the first process returns when this byte arrives. */
        if (write(go, &byte, 1) != 1)
            die("tell the first process");
    }
    close(go);
    pid_t restored = 0;
    char text[256] = "";
    int status;
    for (;;) {
        if (restored == 0)
            restored = restored_pid(pid_path);
        pid_t waited = waitpid(daemon, &status, __WALL | WNOHANG);
        if (waited < 0)
            die("waitpid");
        if (waited == 0) {
            struct timespec interval = {.tv_sec = 0, .tv_nsec = POLL_MILLIS * 1000000L};
            nanosleep(&interval, NULL);
            continue;
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            /* Gone without its exit stop (SIGKILL): the tree goes all the same. */
            if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
                if (restored == 0)
                    restored = restored_pid(pid_path);
                describe(text, sizeof text, status,
                         kill_tree(restored) ? "the restored tree was killed" : "no restored tree to kill");
            }
            break;
        }
        if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
            unsigned long exit_status = 0;
            ptrace(PTRACE_GETEVENTMSG, daemon, NULL, &exit_status);
            if (!(WIFEXITED((int)exit_status) && WEXITSTATUS((int)exit_status) == 0)) {
                take_userfaultfds(daemon);
                if (restored == 0)
                    restored = restored_pid(pid_path);
                describe(text, sizeof text, (int)exit_status,
                         kill_tree(restored) ? "the restored tree was killed" : "no restored tree to kill");
            }
            ptrace(PTRACE_CONT, daemon, NULL, NULL);
            continue;
        }
        /* A signal for the daemon, or a group stop: passed on as it came. */
        int signal = (status >> 16) == 0 ? WSTOPSIG(status) : 0;
        ptrace(PTRACE_CONT, daemon, NULL, (void *)(long)signal);
    }
    write_status(status_path, text[0] ? text : "complete\n");
    for (int i = 0; i < ntaken; i++)
        close(taken[i]);
    exit(0);
}

int main(int argc, char **argv)
{
    if (argc < 5 || strcmp(argv[3], "--") != 0) {
        fprintf(stderr, "usage: lifeboat-lazy-guard STATUS_FILE PID_FILE -- COMMAND [ARGS...]\n");
        return 2;
    }
    const char *status_path = argv[1], *pid_path = argv[2];
    /* ready: the daemon's status byte, to the guard; go: the guard's word to the first process, once it traces. */
    int ready[2], go[2];
    if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0)
        die("pipe");
    pid_t guard_pid = fork();
    if (guard_pid < 0)
        die("fork");
    if (guard_pid > 0) {
        /* The first process: returns once the daemon is ready and traced, or has ended. */
        close(ready[0]);
        close(ready[1]);
        close(go[1]);
        char byte;
        ssize_t got;
        do
            got = read(go[0], &byte, 1);
        while (got < 0 && errno == EINTR);
        int status;
        waitpid(guard_pid, &status, WNOHANG);
        if (got != 1) {
            fprintf(stderr, "lifeboat-lazy-guard: the lazy-pages daemon ended before it was ready\n");
            return 1;
        }
        return 0;
    }
    if (setsid() < 0)
        die("setsid");
    /* Nothing of the agent's is held here: its command runner waits for the end of the output it
     * reads, which must come when the first process returns. The daemon logs to its own file. */
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
        die("/dev/null");
    pid_t daemon = fork();
    if (daemon < 0)
        die("fork");
    if (daemon == 0) {
        if (dup2(ready[1], STATUS_FD) < 0) /* dup2 clears close-on-exec on the copy */
            die("dup2");
        execvp(argv[4], argv + 4);
        die("exec");
    }
    close(ready[1]);
    close(go[0]);
    guard(daemon, ready[0], go[1], status_path, pid_path);
    return 0;
}
