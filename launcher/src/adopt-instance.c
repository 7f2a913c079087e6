/*
 * lifeboat-adopt-instance: makes a running Apptainer instance dumpable by CRIU.
 *
 *   lifeboat-adopt-instance INIT_PID
 *
 * INIT_PID is the instance's container process (sinit), the "pid" of `apptainer instance list
 * --json`. Two things stop CRIU there, and Apptainer has no option for either:
 *
 * 1. Sessions.
 * Apptainer's instance master calls setsid() in the host PID namespace and the instance's init
 * (sinit) and startscript inherit that session. CRIU refuses such a tree ("A session leader of
 * N(1) is outside of its pid namespace") and Apptainer has no option to change it. A session can
 * only be created by the process itself, so this program makes each process call setsid(2): it stops
 * every thread of the process with ptrace, writes "syscall; int3" over the bytes at the
 * instruction pointer, runs it with the syscall's registers, then puts back the code and the
 * registers and detaches. CRIU's compel injects its parasite the same way.
 *
 * A process group leader cannot call setsid(); it is first moved with setpgid(2) into the process
 * group of its session leader (the master), which frees its own group id, and setsid() then
 * makes it the leader of a group with that same id again, so signals sent to the group (sinit
 * forwards them to the startscript's group) still reach it. The ids a process passes are those of
 * its own PID namespace, where the master's group does not exist: the group moved to is that of a
 * helper the init forks for the purpose and which is killed, never having run, at the end.
 * Other members of a group leave it with setsid() of their own: a group of several processes
 * becomes several sessions (signals sent to the startscript's group then reach the startscript
 * alone).
 *
 * 2. Descriptors opened with O_NOFOLLOW outside the container. The master opens the instance's
 * log files with O_NOFOLLOW and hands them to the container as stdout and stderr. CRIU can only
 * restore such an outside file from a descriptor the agent passes in (--inherit-fd), which it
 * reopens through /proc/self/fd/N with the dumped flags, and O_NOFOLLOW makes that reopen fail
 * (ELOOP). Each such descriptor is replaced by the same file opened again through
 * /proc/self/fd/N without O_NOFOLLOW (same file, access mode and O_APPEND).
 *
 * 3. An ordinary user's instance is not dumpable. Apptainer's setuid starter drops to the user in
 * the container process without an exec, which leaves it (sinit) with the "not dumpable" mark
 * that a change of credentials sets. CRIU runs as the job's owner without CAP_SYS_PTRACE and so
 * could not trace it: such a process calls prctl(PR_SET_DUMPABLE, 1), as Apptainer's own hybrid
 * workflow does for the same process. It gives its owner nothing it lacks: the process holds no
 * capability and no credential but the owner's.
 *
 * Exit status: 0 if every process is now in a session led inside the namespace and holds no such
 * descriptor, 1 otherwise (each failure is reported on stderr; the processes are left running).
 *
 * x86-64 only, like the rest of Lifeboat's CRIU use.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#if !defined(__x86_64__)
#error "lifeboat-adopt-instance injects x86-64 code"
#endif

#define MAX_THREADS 4096

static int seize_all(pid_t pid, long options, pid_t *threads, int *count)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    DIR *dir = opendir(path);
    if (!dir) {
        fprintf(stderr, "lifeboat-adopt-instance: %d: %s\n", pid, strerror(errno));
        return -1;
    }
    struct dirent *entry;
    *count = 0;
    while ((entry = readdir(dir)) != NULL && *count < MAX_THREADS) {
        pid_t tid = (pid_t)atoi(entry->d_name);
        if (tid <= 0)
            continue;
        if (ptrace(PTRACE_SEIZE, tid, 0, options) != 0 || ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0) {
            /* A thread that exits meanwhile needs no stopping. */
            if (errno == ESRCH)
                continue;
            fprintf(stderr, "lifeboat-adopt-instance: cannot stop thread %d of %d: %s\n", tid, pid, strerror(errno));
            closedir(dir);
            return -1;
        }
        threads[(*count)++] = tid;
        int status;
        if (waitpid(tid, &status, __WALL) != tid) {
            fprintf(stderr, "lifeboat-adopt-instance: waiting for thread %d of %d: %s\n", tid, pid, strerror(errno));
            closedir(dir);
            return -1;
        }
    }
    closedir(dir);
    return 0;
}

static void detach_all(const pid_t *threads, int count)
{
    for (int i = 0; i < count; i++)
        ptrace(PTRACE_DETACH, threads[i], 0, 0);
}

/*
 * Waits for the int3 after an injected call. A fork first stops the parent with PTRACE_EVENT_FORK
 * (the process was seized with PTRACE_O_TRACEFORK): the child's pid is taken and the parent let go on.
 */
static int run_to_trap(pid_t tid, int *status, pid_t *forked)
{
    for (;;) {
        if (waitpid(tid, status, __WALL) != tid || !WIFSTOPPED(*status) || WSTOPSIG(*status) != SIGTRAP)
            return 0;
        if ((*status >> 16) == 0)
            return 1;
        if ((*status >> 16) == PTRACE_EVENT_FORK && forked) {
            unsigned long child = 0;
            if (ptrace(PTRACE_GETEVENTMSG, tid, 0, &child) != 0)
                return 0;
            *forked = (pid_t)child;
        }
        if (ptrace(PTRACE_CONT, tid, 0, 0) != 0)
            return 0;
    }
}

/* Runs one system call in the stopped thread tid; returns its result (a negative errno on failure). */
static long inject(pid_t tid, long number, const long args[4], int *failed, pid_t *forked)
{
    struct user_regs_struct saved, regs;
    *failed = 1;
    if (ptrace(PTRACE_GETREGS, tid, 0, &saved) != 0) {
        fprintf(stderr, "lifeboat-adopt-instance: cannot read registers of %d: %s\n", tid, strerror(errno));
        return -1;
    }
    unsigned long address = saved.rip;
    errno = 0;
    long code = ptrace(PTRACE_PEEKTEXT, tid, address, 0);
    if (errno != 0) {
        fprintf(stderr, "lifeboat-adopt-instance: cannot read code of %d: %s\n", tid, strerror(errno));
        return -1;
    }
    /* syscall (0f 05), int3 (cc): little-endian, so the lowest bytes run first. */
    long injected = (long)(((unsigned long)code & ~0xffffffUL) | 0xcc050fUL);
    if (ptrace(PTRACE_POKETEXT, tid, address, injected) != 0) {
        fprintf(stderr, "lifeboat-adopt-instance: cannot write code of %d: %s\n", tid, strerror(errno));
        return -1;
    }
    regs = saved;
    regs.rax = (unsigned long)number;
    regs.rdi = (unsigned long)args[0];
    regs.rsi = (unsigned long)args[1];
    regs.rdx = (unsigned long)args[2];
    regs.r10 = (unsigned long)args[3];
    regs.rip = address;
    /* Not in a system call: the kernel must not "restart" the one the thread was stopped in. */
    regs.orig_rax = (unsigned long)-1;
    long result = -1;
    int status = 0;
    if (ptrace(PTRACE_SETREGS, tid, 0, &regs) != 0 || ptrace(PTRACE_CONT, tid, 0, 0) != 0) {
        fprintf(stderr, "lifeboat-adopt-instance: cannot run code in %d: %s\n", tid, strerror(errno));
    } else if (!run_to_trap(tid, &status, forked)) {
        fprintf(stderr, "lifeboat-adopt-instance: %d did not stop after the injected call (status 0x%x)\n", tid, status);
    } else if (ptrace(PTRACE_GETREGS, tid, 0, &regs) != 0) {
        fprintf(stderr, "lifeboat-adopt-instance: cannot read the result in %d: %s\n", tid, strerror(errno));
    } else {
        result = (long)regs.rax;
        *failed = 0;
    }
    /* Put back the code and the registers, whatever happened: the interrupted call then restarts. */
    if (ptrace(PTRACE_POKETEXT, tid, address, code) != 0 || ptrace(PTRACE_SETREGS, tid, 0, &saved) != 0) {
        fprintf(stderr, "lifeboat-adopt-instance: cannot restore %d: %s\n", tid, strerror(errno));
        *failed = 1;
    }
    return result;
}

/* Runs one system call in every-thread-stopped process pid; 0 if it returned expect (or >= 0 when expect < 0). */
static int call_with(pid_t pid, long options, long number, const long args[4], long expect, const char *what,
                     long *result, pid_t *forked)
{
    static pid_t threads[MAX_THREADS];
    int count = 0, failed = 1;
    long returned = -1;
    if (seize_all(pid, options, threads, &count) == 0)
        returned = inject(pid, number, args, &failed, forked);
    detach_all(threads, count);
    if (failed || (expect >= 0 ? returned != expect : returned < 0)) {
        fprintf(stderr, "lifeboat-adopt-instance: %d: %s: %s\n", pid, what, failed ? "not run" : strerror((int)-returned));
        return -1;
    }
    if (result)
        *result = returned;
    return 0;
}

static int call_in(pid_t pid, long options, long number, long arg1, long arg2, long expect, const char *what,
                   long *result, pid_t *forked)
{
    const long args[4] = {arg1, arg2, 0, 0};
    return call_with(pid, options, number, args, expect, what, result, forked);
}

/* The flags of descriptor fd of pid, from /proc/PID/fdinfo/FD (octal); -1 if it is gone. */
static long descriptor_flags(pid_t pid, int fd)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
    FILE *info = fopen(path, "r");
    if (!info)
        return -1;
    long flags = -1;
    while (fgets(line, sizeof(line), info))
        if (strncmp(line, "flags:", 6) == 0)
            flags = strtol(line + 6, NULL, 8);
    fclose(info);
    return flags;
}

/* Reopens every O_NOFOLLOW descriptor of pid through /proc/self/fd/N, in place (see the top). */
static int reopen_nofollow(pid_t pid)
{
    char directory[64];
    snprintf(directory, sizeof(directory), "/proc/%d/fd", pid);
    DIR *fds = opendir(directory);
    if (!fds) {
        fprintf(stderr, "lifeboat-adopt-instance: %d: %s\n", pid, strerror(errno));
        return -1;
    }
    int wanted[256], count = 0;
    struct dirent *entry;
    while ((entry = readdir(fds)) != NULL && count < 256) {
        if (entry->d_name[0] == '.')
            continue;
        int fd = atoi(entry->d_name);
        long flags = descriptor_flags(pid, fd);
        if (flags >= 0 && (flags & O_NOFOLLOW))
            wanted[count++] = fd;
    }
    closedir(fds);
    if (count == 0)
        return 0;
    static pid_t threads[MAX_THREADS];
    int seized = 0, status = 0;
    if (seize_all(pid, 0, threads, &seized) != 0) {
        detach_all(threads, seized);
        return -1;
    }
    struct user_regs_struct regs;
    if (ptrace(PTRACE_GETREGS, pid, 0, &regs) != 0) {
        detach_all(threads, seized);
        return -1;
    }
    /* The path goes below the stack's red zone (128 bytes), which the stopped process does not use. */
    unsigned long scratch = (regs.rsp - 1024) & ~15UL;
    for (int i = 0; status == 0 && i < count; i++) {
        long flags = descriptor_flags(pid, wanted[i]);
        char path[32] = {0};
        snprintf(path, sizeof(path), "/proc/self/fd/%d", wanted[i]);
        for (size_t word = 0; word < sizeof(path); word += sizeof(long)) {
            long value;
            memcpy(&value, path + word, sizeof(long));
            if (ptrace(PTRACE_POKEDATA, pid, scratch + word, value) != 0)
                status = -1;
        }
        int failed = 1;
        const long open_args[4] = {AT_FDCWD, (long)scratch, flags & (O_ACCMODE | O_APPEND), 0};
        long reopened = status == 0 ? inject(pid, SYS_openat, open_args, &failed, NULL) : -1;
        if (failed || reopened < 0) {
            fprintf(stderr, "lifeboat-adopt-instance: %d: reopening descriptor %d: %s\n", pid, wanted[i],
                    failed ? "not run" : strerror((int)-reopened));
            status = -1;
            break;
        }
        const long dup_args[4] = {reopened, wanted[i], (flags & O_CLOEXEC) ? O_CLOEXEC : 0, 0};
        long placed = inject(pid, SYS_dup3, dup_args, &failed, NULL);
        const long close_args[4] = {reopened, 0, 0, 0};
        int close_failed = 1;
        inject(pid, SYS_close, close_args, &close_failed, NULL);
        if (failed || placed != wanted[i] || close_failed) {
            fprintf(stderr, "lifeboat-adopt-instance: %d: replacing descriptor %d failed\n", pid, wanted[i]);
            status = -1;
        }
    }
    detach_all(threads, seized);
    return status;
}

static int same_pid_namespace(pid_t pid, const char *namespace)
{
    char path[64], link[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
    ssize_t length = readlink(path, link, sizeof(link) - 1);
    if (length < 0)
        return 0;
    link[length] = '\0';
    return strcmp(link, namespace) == 0;
}

#define MAX_MEMBERS 65536

/*
 * The instance's processes other than its init, group leaders last: a leader can only leave its
 * group once the other members have.
 */
static int members(pid_t init, pid_t *found, int capacity)
{
    char path[64], namespace[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/pid", init);
    ssize_t length = readlink(path, namespace, sizeof(namespace) - 1);
    if (length < 0) {
        fprintf(stderr, "lifeboat-adopt-instance: %d: %s\n", init, strerror(errno));
        return -1;
    }
    namespace[length] = '\0';
    DIR *proc = opendir("/proc");
    if (!proc)
        return -1;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(proc)) != NULL && count < capacity) {
        pid_t pid = (pid_t)atoi(entry->d_name);
        if (pid > 0 && pid != init && same_pid_namespace(pid, namespace))
            found[count++] = pid;
    }
    closedir(proc);
    int leaders = count;
    for (int i = 0; i < leaders;) {
        if (getpgid(found[i]) == found[i]) {
            pid_t leader = found[i];
            found[i] = found[--leaders];
            found[leaders] = leader;
        } else {
            i++;
        }
    }
    return count;
}

/* True when pid's session is outside its PID namespace (its session leader is not in the tree). */
static int session_outside(pid_t pid, pid_t init, const pid_t *tree, int count)
{
    pid_t sid = getsid(pid);
    if (sid == init)
        return 0;
    for (int i = 0; i < count; i++)
        if (tree[i] == sid)
            return 0;
    return 1;
}

/*
 * True when pid belongs to an ordinary user but is not dumpable: its files in /proc (environ,
 * not the directory, which always shows the owner) then belong to root (the kernel's
 * task_dump_owner) while the process's real uid is another.
 */
static int undumpable_user_process(pid_t pid)
{
    char path[64], line[256];
    struct stat st;
    snprintf(path, sizeof path, "/proc/%d/environ", pid);
    if (stat(path, &st) != 0 || st.st_uid != 0)
        return 0;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *status = fopen(path, "re");
    if (!status)
        return 0;
    long uid = 0;
    while (fgets(line, sizeof line, status))
        if (sscanf(line, "Uid: %ld", &uid) == 1)
            break;
    fclose(status);
    return uid != 0;
}

static int make_dumpable(pid_t pid)
{
    if (!undumpable_user_process(pid))
        return 0;
    return call_in(pid, 0, SYS_prctl, PR_SET_DUMPABLE, 1, 0, "prctl(PR_SET_DUMPABLE, 1)", NULL, NULL);
}

static int adopt(pid_t init)
{
    static pid_t tree[MAX_MEMBERS];
    int count = members(init, tree, MAX_MEMBERS);
    if (count < 0)
        return -1;
    int reopened = reopen_nofollow(init);
    for (int i = 0; i < count; i++)
        if (reopen_nofollow(tree[i]) != 0)
            reopened = -1;
    if (reopened != 0)
        return -1;
    int dumpable = make_dumpable(init);
    for (int i = 0; i < count; i++)
        if (make_dumpable(tree[i]) != 0)
            dumpable = -1;
    if (dumpable != 0)
        return -1;
    int init_outside = session_outside(init, init, tree, count);
    int leaders_outside = 0;
    for (int i = 0; i < count; i++)
        if (getpgid(tree[i]) == tree[i] && session_outside(tree[i], init, tree, count))
            leaders_outside++;
    if (!init_outside && leaders_outside == 0) {
        int status = 0;
        for (int i = 0; i < count; i++)
            if (session_outside(tree[i], init, tree, count) && call_in(tree[i], 0, SYS_setsid, 0, 0, -1, "setsid()", NULL, NULL) != 0)
                status = -1;
        return status;
    }
    /*
     * A group leader needs another process group of its session, visible in its PID namespace,
     * to move to before it can call setsid(). The init forks a helper for that (it stays in the
     * master's session), which leads a group of its own until every process is done, then dies.
     */
    pid_t helper = 0;
    long helper_inner = 0;
    int status = 0;
    if (call_in(init, PTRACE_O_TRACEFORK, SYS_fork, 0, 0, -1, "fork()", &helper_inner, &helper) != 0 || helper <= 0)
        return -1;
    int stop;
    if (waitpid(helper, &stop, __WALL) != helper) {
        fprintf(stderr, "lifeboat-adopt-instance: helper %d of %d did not stop\n", helper, init);
        kill(helper, SIGKILL);
        return -1;
    }
    {
        int failed = 1;
        const long none[4] = {0, 0, 0, 0};
        long led = inject(helper, SYS_setpgid, none, &failed, NULL);
        if (failed || led != 0) {
            fprintf(stderr, "lifeboat-adopt-instance: helper %d: setpgid(0, 0) failed\n", helper);
            status = -1;
        }
    }
    for (int i = 0; status == 0 && i < count; i++) {
        if (!session_outside(tree[i], init, tree, count))
            continue;
        if (getpgid(tree[i]) == tree[i]
            && call_in(tree[i], 0, SYS_setpgid, 0, helper_inner, 0, "setpgid(0, helper)", NULL, NULL) != 0)
            status = -1;
        else if (call_in(tree[i], 0, SYS_setsid, 0, 0, -1, "setsid()", NULL, NULL) != 0)
            status = -1;
    }
    if (status == 0 && init_outside) {
        if (getpgid(init) == init && call_in(init, 0, SYS_setpgid, 0, helper_inner, 0, "setpgid(0, helper)", NULL, NULL) != 0)
            status = -1;
        else if (call_in(init, 0, SYS_setsid, 0, 0, -1, "setsid()", NULL, NULL) != 0)
            status = -1;
    }
    /* The helper never runs: killed while stopped, reaped by the init like any child. */
    kill(helper, SIGKILL);
    ptrace(PTRACE_DETACH, helper, 0, 0);
    waitpid(helper, &stop, __WALL);
    return status;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: lifeboat-adopt-instance INIT_PID\n");
        return 2;
    }
    char *end;
    long init = strtol(argv[1], &end, 10);
    if (*argv[1] == '\0' || *end != '\0' || init <= 1) {
        fprintf(stderr, "lifeboat-adopt-instance: '%s' is not a process id\n", argv[1]);
        return 2;
    }
    return adopt((pid_t)init) == 0 ? 0 : 1;
}
