/*
 * starter: the namespace half of the Apptainer test double (testbed only, not product code).
 *
 * It reproduces the process layout of a real Apptainer instance in setuid mode (no user
 * namespace), started by root or, with this program installed setuid root, by an ordinary user:
 *
 *   apptainer instance start ...   (foreground; exits once the instance is up)
 *   "Apptainer instance: root [NAME]"   master, host PID namespace, session leader
 *     └─ "sinit"                        PID 1 of a new PID + mount + IPC namespace,
 *          └─ /.singularity.d/startscript ARGS   own process group (if the image has one)
 *
 * The container's root is the SIF's squashfs partition on a read-only loop device (autoclear, so
 * it disappears with the mount namespace), mounted inside the container's own mount namespace
 * (rslave, like Apptainer's "mount slave = yes"), under a tmpfs session directory. Mount points
 * the image lacks are created in an overlay (tmpfs upper) that is then remounted read-only, which
 * is what Apptainer's overlay/underlay does. Then proc, sysfs, /dev (rbind), $HOME, /tmp,
 * /var/tmp, /etc/hosts, /etc/resolv.conf and every --bind are mounted and pivot_root(2) makes the
 * image the root.
 *
 * Started by an ordinary user (real uid not 0, effective uid 0: setuid root), it does what
 * Apptainer's setuid starter does: the master keeps root; the container process mounts as root,
 * then takes the caller's uid, gid and groups for good (no capability left) before it becomes
 * sinit, which leaves it not dumpable, as Apptainer's is; the instance file and the logs are
 * written as the caller. It trusts its caller's environment: testbed only, never install it.
 *
 * Everything is passed by the bash front end (./apptainer) in APPTAINER_DOUBLE_* variables, so
 * that the master's /proc/PID/cmdline is only its program name, as with the real starter.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <linux/loop.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef LOOP_CONFIGURE
#define LOOP_CONFIGURE 0x4C0A
struct loop_config {
    __u32 fd;
    __u32 block_size;
    struct loop_info64 info;
    __u64 __reserved[8];
};
#endif

static int sync_fd = -1; /* container -> master: "OK" or an error message */
static char *argv_start;
static size_t argv_len;

static const char *env(const char *k, int required) {
    const char *v = getenv(k);
    if (!v && required) {
        fprintf(stderr, "FATAL:   starter: %s not set\n", k);
        exit(255);
    }
    return v;
}

/* In the container before it is ready: report to the master and die. */
static void die(const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof buf) n = sizeof buf - 1;
    if (sync_fd >= 0) {
        if (write(sync_fd, buf, (size_t)n) < 0) { /* nothing more to do */ }
    } else {
        fprintf(stderr, "FATAL:   %s\n", buf);
    }
    _exit(255);
}

static void mkdirs(const char *path, mode_t mode) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            mkdir(tmp, mode);
            *p = '/';
        }
    }
    mkdir(tmp, mode);
}

static int exists(const char *p) { struct stat st; return lstat(p, &st) == 0; }

/* Attach IMAGE[offset, offset+size) to a free loop device, read-only, autoclear. */
static int loop_attach(const char *image, long long offset, long long size, char *dev, size_t devlen) {
    int img = open(image, O_RDONLY | O_CLOEXEC);
    if (img < 0) die("could not open image %s: %s", image, strerror(errno));
    int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (ctl < 0) die("could not open /dev/loop-control: %s", strerror(errno));
    for (int attempt = 0; attempt < 64; attempt++) {
        int n = ioctl(ctl, LOOP_CTL_GET_FREE);
        if (n < 0) die("LOOP_CTL_GET_FREE: %s", strerror(errno));
        snprintf(dev, devlen, "/dev/loop%d", n);
        int lfd = open(dev, O_RDONLY | O_CLOEXEC);
        if (lfd < 0) die("could not open %s: %s", dev, strerror(errno));
        struct loop_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.fd = (__u32)img;
        cfg.info.lo_offset = (__u64)offset;
        cfg.info.lo_sizelimit = (__u64)size;
        cfg.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
        snprintf((char *)cfg.info.lo_file_name, LO_NAME_SIZE, "%s", image);
        if (ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0) {
            close(ctl);
            close(img);
            return lfd; /* keep open until mounted, else autoclear detaches it at once */
        }
        int e = errno;
        close(lfd);
        if (e != EBUSY) die("LOOP_CONFIGURE %s: %s", dev, strerror(e));
    }
    die("no free loop device");
    return -1;
}

struct mnt { char src[4096]; char dst[4096]; };

static void bind_into(const char *root, const char *src, const char *dst, int rec, unsigned long extra) {
    char target[8192];
    snprintf(target, sizeof target, "%s%s", root, dst);
    if (mount(src, target, NULL, MS_BIND | (rec ? MS_REC : 0), NULL) < 0)
        die("could not bind %s to %s: %s", src, dst, strerror(errno));
    if (extra && mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | extra, NULL) < 0)
        die("could not remount %s: %s", dst, strerror(errno));
}

/*
 * Setuid mode: the caller's uid, gid and groups for good, as Apptainer's container process. The
 * groups are looked up on the host, before pivot_root (the image's /etc/group does not know them).
 */
static gid_t caller_groups[256];
static int caller_group_count = -1;

static void look_up_caller(void) {
    if (getuid() == 0) return;
    struct passwd *pw = getpwuid(getuid());
    if (!pw) die("no passwd entry for uid %d", (int)getuid());
    caller_group_count = 256;
    if (getgrouplist(pw->pw_name, getgid(), caller_groups, &caller_group_count) < 0)
        die("%s is in too many groups", pw->pw_name);
}

static void become_caller(void) {
    if (caller_group_count < 0) return;
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (setgroups((size_t)caller_group_count, caller_groups) < 0 || setresgid(gid, gid, gid) < 0
        || setresuid(uid, uid, uid) < 0)
        die("could not drop to uid %d: %s", (int)uid, strerror(errno));
}

static int container(void) {
    const char *image = env("APPTAINER_DOUBLE_IMAGE", 1);
    long long offset = atoll(env("APPTAINER_DOUBLE_OFFSET", 1));
    long long size = atoll(env("APPTAINER_DOUBLE_SIZE", 1));
    const char *session = env("APPTAINER_DOUBLE_SESSIONDIR", 1);
    const char *home = env("APPTAINER_DOUBLE_HOME", 1);
    const char *binds = env("APPTAINER_DOUBLE_BINDS", 0); /* "SRC:DST\n"... */
    const char *cwd = env("APPTAINER_DOUBLE_CWD", 0);

    /* Nothing mounted here may reach the host; host mounts may still reach us (slave). */
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) die("make / rslave: %s", strerror(errno));

    mkdirs(session, 0755);
    if (mount("tmpfs", session, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64m") < 0)
        die("mount session tmpfs %s: %s", session, strerror(errno));
    char rootfs[4096], final[4096], upper[4096], work[4096], dev[64];
    snprintf(rootfs, sizeof rootfs, "%s/rootfs", session);
    snprintf(final, sizeof final, "%s/final", session);
    snprintf(upper, sizeof upper, "%s/overlay/upper", session);
    snprintf(work, sizeof work, "%s/overlay/work", session);
    mkdirs(rootfs, 0755);

    int lfd = loop_attach(image, offset, size, dev, sizeof dev);
    if (mount(dev, rootfs, "squashfs", MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
        die("mount %s (squashfs) on %s: %s", dev, rootfs, strerror(errno));
    close(lfd); /* the mount now holds the device; it is freed when the namespace goes away */

    /* Every mount this container will have, in order. */
    struct mnt *m = calloc(64, sizeof *m);
    int ro[64] = { 0 };
    int nm = 0;
#define ADD(S, D) do { if (nm < 64) { snprintf(m[nm].src, 4096, "%s", (S)); snprintf(m[nm].dst, 4096, "%s", (D)); nm++; } } while (0)
    ADD(home, home);
    if (exists("/tmp")) ADD("/tmp", "/tmp");
    if (exists("/var/tmp")) ADD("/var/tmp", "/var/tmp");
    if (exists("/etc/hosts")) ADD("/etc/hosts", "/etc/hosts");
    if (exists("/etc/resolv.conf")) ADD("/etc/resolv.conf", "/etc/resolv.conf");
    int first_user_bind = nm;
    if (binds && *binds) {
        char *copy = strdup(binds), *save = NULL;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            /* SRC[:DST[:ro|rw]] */
            char *colon = strchr(line, ':'), *opt = NULL;
            if (colon) { *colon = 0; opt = strchr(colon + 1, ':'); if (opt) *opt++ = 0; }
            const char *dst = (colon && colon[1]) ? colon + 1 : line;
            if (nm < 64) ro[nm] = opt && strcmp(opt, "ro") == 0;
            ADD(line, dst);
        }
        free(copy);
    }
    for (int i = 0; i < nm; i++) {
        struct stat st;
        if (stat(m[i].src, &st) < 0) die("mount source %s doesn't exist", m[i].src);
    }

    /* Missing mount points: overlay with a tmpfs upper layer, made read-only again afterwards. */
    const char *root = rootfs;
    int missing = 0;
    const char *fixed[] = { "/proc", "/sys", "/dev" };
    char p[8192];
    for (int i = 0; i < 3; i++) { snprintf(p, sizeof p, "%s%s", rootfs, fixed[i]); if (!exists(p)) missing = 1; }
    for (int i = 0; i < nm; i++) { snprintf(p, sizeof p, "%s%s", rootfs, m[i].dst); if (!exists(p)) missing = 1; }
    if (missing) {
        mkdirs(upper, 0755);
        mkdirs(work, 0755);
        mkdirs(final, 0755);
        char opts[16384];
        snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s", rootfs, upper, work);
        if (mount("overlay", final, "overlay", MS_NOSUID | MS_NODEV, opts) < 0)
            die("mount overlay for missing mount points: %s", strerror(errno));
        root = final;
        for (int i = 0; i < 3; i++) { snprintf(p, sizeof p, "%s%s", root, fixed[i]); if (!exists(p)) mkdirs(p, 0755); }
        for (int i = 0; i < nm; i++) {
            struct stat st;
            snprintf(p, sizeof p, "%s%s", root, m[i].dst);
            if (exists(p)) continue;
            stat(m[i].src, &st);
            if (S_ISDIR(st.st_mode)) mkdirs(p, 0755);
            else {
                char parent[8192];
                snprintf(parent, sizeof parent, "%s", p);
                *strrchr(parent, '/') = 0;
                mkdirs(parent, 0755);
                int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
                if (fd < 0) die("create mount point %s: %s", m[i].dst, strerror(errno));
                close(fd);
            }
        }
        if (mount(NULL, final, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
            die("remount overlay read-only: %s", strerror(errno));
    }

    snprintf(p, sizeof p, "%s/proc", root);
    if (mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) die("mount proc: %s", strerror(errno));
    snprintf(p, sizeof p, "%s/sys", root);
    if (mount("sysfs", p, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) die("mount sysfs: %s", strerror(errno));
    bind_into(root, "/dev", "/dev", 1, 0);
    for (int i = 0; i < nm; i++)
        bind_into(root, m[i].src, m[i].dst, 1, MS_NOSUID | MS_NODEV | (i >= first_user_bind && ro[i] ? MS_RDONLY : 0));

    if (chdir(root) < 0) die("chdir %s: %s", root, strerror(errno));
    if (syscall(SYS_pivot_root, ".", ".") < 0) die("pivot_root: %s", strerror(errno));
    if (umount2(".", MNT_DETACH) < 0) die("detach old root: %s", strerror(errno));
    if (chdir("/") < 0) die("chdir /: %s", strerror(errno));
    become_caller();
    if (!(cwd && chdir(cwd) == 0) && chdir(home) < 0 && chdir("/") < 0) die("chdir: %s", strerror(errno));

    /* Container is ready. */
    if (write(sync_fd, "OK", 2) != 2) _exit(255);
    close(sync_fd);
    sync_fd = -1;

    /* Become "sinit", as Apptainer's container process does (argv[0] overwritten, comm set). */
    memset(argv_start, 0, argv_len);
    memcpy(argv_start, "sinit", argv_len < 6 ? argv_len : 6);
    prctl(PR_SET_NAME, "sinit", 0, 0, 0);

    /* Startscript arguments, then a clean environment for the container's processes. */
    int nargs = atoi(env("APPTAINER_DOUBLE_NARGS", 1));
    char **args = calloc((size_t)nargs + 3, sizeof *args);
    args[0] = "/.singularity.d/startscript";
    for (int i = 0; i < nargs; i++) {
        char k[64];
        snprintf(k, sizeof k, "APPTAINER_DOUBLE_ARG%d", i);
        args[i + 1] = strdup(env(k, 1));
    }
    extern char **environ;
    for (char **e = environ; *e;) {
        if (strncmp(*e, "APPTAINER_DOUBLE_", 17) == 0) {
            char k[256];
            size_t l = strcspn(*e, "=");
            snprintf(k, sizeof k, "%.*s", (int)l, *e);
            unsetenv(k);
        } else e++;
    }

    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);

    pid_t cmd = -2;
    struct stat st;
    if (stat(args[0], &st) == 0 && (st.st_mode & 0111)) {
        cmd = fork();
        if (cmd == 0) {
            setpgid(0, 0);
            sigprocmask(SIG_UNBLOCK, &all, NULL);
            execv(args[0], args);
            if (errno == ENOEXEC) { /* no shebang: run it with /bin/sh, as Apptainer does */
                memmove(args + 1, args, ((size_t)nargs + 1) * sizeof *args);
                args[0] = "/bin/sh";
                execv(args[0], args);
            }
            fprintf(stderr, "FATAL:   exec %s failed: %s\n", args[0], strerror(errno));
            _exit(255);
        }
        if (cmd > 0) setpgid(cmd, cmd);
    }

    /* Init loop: reap everything; forward signals to the startscript's process group. With no
     * startscript (or once it is gone) signals are ignored / end sinit, like Apptainer's sinit. */
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&all, &si);
        if (sig < 0) continue;
        if (sig == SIGCHLD) {
            while (waitpid(-1, NULL, WNOHANG) > 0) {}
            continue;
        }
        if (cmd > 0 && kill(-cmd, sig) < 0 && errno == ESRCH) _exit(128 + sig);
    }
}

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') fprintf(f, "\\%c", *c);
        else if (*c == '<' || *c == '>' || *c == '&' || *c < 0x20) fprintf(f, "\\u%04x", *c);
        else fputc(*c, f);
    }
    fputc('"', f);
}

/* The caller's files (logs, instance file) are written as the caller; the master itself keeps root. */
static void files_as_caller(int yes) {
    setfsuid(yes ? getuid() : geteuid());
    setfsgid(yes ? getgid() : getegid());
}

int main(int argc, char **argv) {
    argv_start = argv[0];
    argv_len = (size_t)(argv[argc - 1] + strlen(argv[argc - 1]) + 1 - argv[0]);

    const char *name = env("APPTAINER_DOUBLE_NAME", 1);
    const char *user = env("APPTAINER_DOUBLE_USER", 1);
    const char *image = env("APPTAINER_DOUBLE_IMAGE", 1);
    const char *statefile = env("APPTAINER_DOUBLE_STATEFILE", 1);
    const char *logout = env("APPTAINER_DOUBLE_LOGOUT", 1);
    const char *logerr = env("APPTAINER_DOUBLE_LOGERR", 1);
    const char *config = env("APPTAINER_DOUBLE_CONFIG_B64", 1);

    look_up_caller();
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) < 0) { perror("pipe"); return 255; }
    pid_t master = fork();
    if (master < 0) { perror("fork"); return 255; }
    if (master > 0) {
        /* Foreground: wait until the instance is up (Apptainer waits for SIGUSR1 from its master). */
        close(ready[1]);
        char buf[1100];
        ssize_t n = read(ready[0], buf, sizeof buf - 1);
        if (n >= 2 && buf[0] == 'O' && buf[1] == 'K') return 0;
        if (n > 0) { buf[n] = 0; fprintf(stderr, "FATAL:   container creation failed: %s\n", buf); }
        else fprintf(stderr, "FATAL:   container creation failed\n");
        return 255;
    }
    close(ready[0]);
    setsid();

    files_as_caller(1);
    int lo = open(logout, O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW, 0644);
    int le = open(logerr, O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW, 0644);
    int dn = open("/dev/null", O_RDONLY);
    files_as_caller(0);
    if (lo < 0 || le < 0 || dn < 0) {
        dprintf(ready[1], "could not open log files %s, %s", logout, logerr);
        _exit(255);
    }
    dup2(dn, 0); dup2(lo, 1); dup2(le, 2);
    close(dn); close(lo); close(le);
    for (int fd = 3; fd < 1024; fd++) if (fd != ready[1]) close(fd);

    int sp[2];
    if (pipe2(sp, O_CLOEXEC) < 0) { dprintf(ready[1], "pipe: %s", strerror(errno)); _exit(255); }

    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &old);

    pid_t child = (pid_t)syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | SIGCHLD, 0, 0, 0, 0);
    if (child < 0) { dprintf(ready[1], "clone: %s", strerror(errno)); _exit(255); }
    if (child == 0) {
        close(sp[0]);
        close(ready[1]);
        sync_fd = sp[1];
        sigprocmask(SIG_SETMASK, &old, NULL);
        return container();
    }
    close(sp[1]);
    char buf[1100];
    ssize_t n = read(sp[0], buf, sizeof buf - 1);
    close(sp[0]);
    if (!(n == 2 && buf[0] == 'O' && buf[1] == 'K')) {
        if (n < 0) n = 0;
        buf[n] = 0;
        dprintf(ready[1], "%s", n ? buf : "container process died during setup");
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        _exit(255);
    }

    /* Instance file, written like Apptainer's (compact JSON, same keys and order, mode 0644). */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", statefile);
    files_as_caller(1);
    FILE *f = fopen(tmp, "w");
    if (!f) { dprintf(ready[1], "could not write %s: %s", tmp, strerror(errno)); kill(child, SIGKILL); _exit(255); }
    fprintf(f, "{\"pid\":%d,\"ppid\":%d,\"name\":", (int)child, (int)getpid());
    json_str(f, name);
    fputs(",\"user\":", f); json_str(f, user);
    fputs(",\"image\":", f); json_str(f, image);
    fputs(",\"config\":", f); json_str(f, config);
    fputs(",\"userns\":false,\"cgroup\":false,\"ip\":\"\",\"logErrPath\":", f); json_str(f, logerr);
    fputs(",\"logOutPath\":", f); json_str(f, logout);
    fputs(",\"checkpoint\":\"\"}", f);
    if (fclose(f) != 0 || rename(tmp, statefile) < 0) {
        dprintf(ready[1], "could not write %s", statefile);
        kill(child, SIGKILL);
        _exit(255);
    }
    files_as_caller(0);
    if (write(ready[1], "OK", 2) != 2) { /* the foreground process is gone; carry on */ }
    close(ready[1]);

    /* Master: stays in the host PID namespace as the container's parent until it ends. */
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
    files_as_caller(1);
    unlink(statefile);
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", statefile);
    char *slash = strrchr(dir, '/');
    if (slash) { *slash = 0; rmdir(dir); }
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
