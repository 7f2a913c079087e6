/*
 * lifeboat-with-fds: opens files or connects Unix sockets on chosen descriptor numbers, then runs
 * a command.
 *
 *   lifeboat-with-fds [--as=UID:GID] FD:MODE:PATH... -- CMD [ARGS...]
 *
 * MODE is r (read), w (write), a (append, creating the file 0644 if missing), A (as a, and first
 * creating the missing directories on the way, one at a time, 0755 less the umask), d (a
 * directory, not through a symbolic link), u: connect to the Unix stream socket at PATH, or t:
 * connect over TCP to PORT on the loopback (FD:t:PORT). The
 * agent runs `criu restore` through it to hand CRIU the files an Apptainer instance holds from
 * outside its mount namespace (its log files, the starter binary and its libraries): CRIU takes
 * them with --inherit-fd fd[FD]:KEY. It runs CRIU as a job's owner with the image directory on a
 * descriptor (d): the owner's CRIU writes there, the owner cannot reach it by any path. It runs `criu page-server --ps-socket FD` with a connection
 * to the agent's owner-only socket, so that the page server listens on nothing another user can
 * reach. It runs `criu dump --page-server --ps-socket FD` of a job with a network namespace of its
 * own with a connection to the agent's page relay on the node's loopback (t), opened before CRIU
 * enters the job's namespace, from where the node's loopback cannot be reached. The JVM cannot pass descriptors other than 0-2 to a child, and a shell does not reliably
 * keep numbers above 9 open across exec.
 *
 * A socket PATH is resolved without following any symbolic link (openat2 RESOLVE_NO_SYMLINKS):
 * the agent names a socket in a directory only root can write, and a link anywhere on the way
 * would let whoever controls it choose what CRIU talks to. The socket is then reached through
 * /proc/self/fd, so the name connected to is the inode checked, and PATH may exceed sun_path.
 *
 * The files of modes r, w, a and A are resolved the same way: no symbolic link is followed anywhere
 * on PATH, and A makes each missing directory with mkdirat in the one opened before it, then opens
 * it without following a link. The agent runs this as a job's owner (after setpriv) to open the
 * files an Apptainer instance held: the owner's permissions decide what is opened, and a link the
 * owner planted cannot lead even root's run of it (root's own jobs) to another file.
 *
 * --as=UID:GID (root only) opens every file as that user would: file system uid and gid, and the
 * user's groups, are theirs while it opens, root's again before CMD runs. The agent runs CRIU as
 * root for some restores (an Apptainer instance's IPC namespace needs it); the files it hands
 * that CRIU are still the job owner's to open, and the directories A makes are the owner's.
 *
 * Run by an ordinary user (a job's owner, after setpriv), it opens nothing with a capability: it
 * drops its effective set first. The capabilities CRIU needs are ambient, and exec gives them
 * back to CRIU; one of them (CAP_DAC_OVERRIDE, for an Apptainer instance's restore) would
 * otherwise let the owner open a file their permissions do not allow.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <grp.h>
#include <pwd.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

/* openat2 of path below dir with flags (mode 0644 when creating), no symbolic link followed anywhere. */
static int open_no_links(int dir, const char *path, int flags)
{
    struct open_how how = {
        .flags = (unsigned long long)flags,
        .mode = (flags & O_CREAT) ? 0644 : 0,
        .resolve = RESOLVE_NO_SYMLINKS,
    };
    return (int)syscall(SYS_openat2, dir, path, &how, sizeof(how));
}

/*
 * The file at the absolute path opened with flags, after making every missing directory on the way
 * (0755 less the umask): each directory is made in the one opened before it and opened in turn with
 * no link followed, so a link anywhere on the way is refused, never followed. -1 with a message printed.
 */
static int open_making_parents(const char *path, int flags)
{
    int result = -1;
    char *copy = strdup(path);
    if (copy == NULL) {
        fprintf(stderr, "lifeboat-with-fds: out of memory\n");
        return -1;
    }
    char *name = strrchr(copy, '/');
    *name++ = '\0';
    int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) {
        fprintf(stderr, "lifeboat-with-fds: cannot open /: %s\n", strerror(errno));
        goto done;
    }
    char *rest = NULL;
    for (char *component = strtok_r(copy, "/", &rest); component != NULL; component = strtok_r(NULL, "/", &rest)) {
        int next = open_no_links(dir, component, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (next < 0 && errno == ENOENT) {
            if (mkdirat(dir, component, 0755) < 0 && errno != EEXIST) {
                fprintf(stderr, "lifeboat-with-fds: cannot make directory %s on the way to %s: %s\n", component, path,
                        strerror(errno));
                goto done;
            }
            next = open_no_links(dir, component, O_PATH | O_DIRECTORY | O_CLOEXEC);
        }
        if (next < 0) {
            fprintf(stderr, "lifeboat-with-fds: cannot open directory %s on the way to %s without following links: %s\n",
                    component, path, strerror(errno));
            goto done;
        }
        close(dir);
        dir = next;
    }
    if (*name == '\0') {
        fprintf(stderr, "lifeboat-with-fds: %s names no file\n", path);
        goto done;
    }
    result = open_no_links(dir, name, flags);
    if (result < 0)
        fprintf(stderr, "lifeboat-with-fds: cannot open %s without following links: %s\n", path, strerror(errno));
done:
    if (dir >= 0)
        close(dir);
    free(copy);
    return result;
}

/* A connected Unix stream socket to the socket file at path, or -1 with a message printed. */
static int connect_unix(const char *path)
{
    int file = -1, sock = -1;
    int fd = open_no_links(AT_FDCWD, path, O_PATH | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "lifeboat-with-fds: cannot open %s without following links: %s\n", path, strerror(errno));
        goto fail;
    }
    file = fd;
    struct stat st;
    if (fstat(file, &st) < 0) {
        fprintf(stderr, "lifeboat-with-fds: cannot stat %s: %s\n", path, strerror(errno));
        goto fail;
    }
    if (!S_ISSOCK(st.st_mode)) {
        fprintf(stderr, "lifeboat-with-fds: %s is not a socket\n", path);
        goto fail;
    }
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    snprintf(address.sun_path, sizeof(address.sun_path), "/proc/self/fd/%d", file);
    sock = socket(AF_UNIX, SOCK_STREAM, 0);
    if (sock < 0) {
        fprintf(stderr, "lifeboat-with-fds: cannot make a socket: %s\n", strerror(errno));
        goto fail;
    }
    if (connect(sock, (struct sockaddr *)&address, sizeof(address)) < 0) {
        fprintf(stderr, "lifeboat-with-fds: cannot connect to %s: %s\n", path, strerror(errno));
        goto fail;
    }
    close(file);
    return sock;
fail:
    if (sock >= 0)
        close(sock);
    if (file >= 0)
        close(file);
    return -1;
}

/* A TCP connection to 127.0.0.1:port_text, or -1 with a message printed. */
static int connect_loopback(const char *port_text)
{
    char *end;
    long port = strtol(port_text, &end, 10);
    if (end == port_text || *end != '\0' || port < 1 || port > 65535) {
        fprintf(stderr, "lifeboat-with-fds: '%s' is not a TCP port\n", port_text);
        return -1;
    }
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0 || connect(sock, (struct sockaddr *)&address, sizeof(address)) < 0) {
        fprintf(stderr, "lifeboat-with-fds: cannot connect to 127.0.0.1:%ld: %s\n", port, strerror(errno));
        if (sock >= 0)
            close(sock);
        return -1;
    }
    return sock;
}

/* No effective capability: permitted, inheritable and ambient stay, for the command's exec. */
static int drop_effective_capabilities(void)
{
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    if (syscall(SYS_capget, &header, data) != 0)
        return -1;
    for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
        data[i].effective = 0;
    return (int)syscall(SYS_capset, &header, data);
}

/* Root opens as uid:gid with the user's groups (1), or as itself again (0); 0 on success. */
static int open_as(int enter, uid_t uid, gid_t gid)
{
    static gid_t saved[NGROUPS_MAX];
    static int saved_count;
    if (!enter) {
        setfsuid(0);
        setfsgid(0);
        return setgroups((size_t)saved_count, saved) == 0 && (uid_t)setfsuid((uid_t)-1) == 0 ? 0 : -1;
    }
    struct passwd *account = getpwuid(uid);
    gid_t groups[NGROUPS_MAX];
    int count = NGROUPS_MAX;
    saved_count = getgroups(NGROUPS_MAX, saved);
    if (!account || saved_count < 0 || getgrouplist(account->pw_name, gid, groups, &count) < 0
        || setgroups((size_t)count, groups) != 0)
        return -1;
    setfsgid(gid);
    setfsuid(uid);
    /* setfsuid() reports the previous value only: ask again to see it took. */
    return (uid_t)setfsuid((uid_t)-1) == uid && (gid_t)setfsgid((gid_t)-1) == gid ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (getuid() != 0 && drop_effective_capabilities() != 0) {
        perror("lifeboat-with-fds: cannot drop its effective capabilities");
        return 125;
    }
    int i = 1;
    long as_uid = -1, as_gid = -1;
    if (argc > 1 && strncmp(argv[1], "--as=", 5) == 0) {
        char *end;
        as_uid = strtol(argv[1] + 5, &end, 10);
        if (*end == ':')
            as_gid = strtol(end + 1, &end, 10);
        if (*end != '\0' || as_uid <= 0 || as_gid < 0 || getuid() != 0) {
            fprintf(stderr, "lifeboat-with-fds: '%s' is not --as=UID:GID of a user other than root, run by root\n", argv[1]);
            return 125;
        }
        if (open_as(1, (uid_t)as_uid, (gid_t)as_gid) != 0) {
            fprintf(stderr, "lifeboat-with-fds: cannot open files as %ld:%ld\n", as_uid, as_gid);
            return 125;
        }
        i = 2;
    }
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        char *spec = argv[i], *end;
        long fd = strtol(spec, &end, 10);
        if (end == spec || fd < 3 || fd > 1023 || end[0] != ':' || end[1] == '\0' || end[2] != ':' ||
            (end[3] != '/' && end[1] != 't')) {
            fprintf(stderr, "lifeboat-with-fds: '%s' is not FD:MODE:/PATH (or FD:t:PORT) with FD >= 3\n", spec);
            return 125;
        }
        int flags, parents = 0;
        switch (end[1]) {
        case 'r': flags = O_RDONLY; break;
        case 'w': flags = O_WRONLY; break;
        case 'a': flags = O_WRONLY | O_APPEND | O_CREAT; break;
        case 'A': flags = O_WRONLY | O_APPEND | O_CREAT; parents = 1; break;
        /* A directory the command reaches through /proc/self/fd/FD alone: CRIU, run as a job's owner, writes
         * its images into a directory the agent made for that owner below one only root may enter. */
        case 'd': flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW; break;
        case 'u': flags = -1; break;
        case 't': flags = -2; break;
        default:
            fprintf(stderr, "lifeboat-with-fds: unknown mode '%c' in '%s'\n", end[1], spec);
            return 125;
        }
        const char *path = end + 3;
        int opened;
        if (flags == -1 || flags == -2) {
            opened = flags == -1 ? connect_unix(path) : connect_loopback(path);
            if (opened < 0)
                return 125;
        } else if (parents) {
            opened = open_making_parents(path, flags | O_NOCTTY);
            if (opened < 0)
                return 125;
        } else if (end[1] == 'd') {
            opened = open(path, flags | O_NOCTTY);
            if (opened < 0) {
                fprintf(stderr, "lifeboat-with-fds: cannot open %s: %s\n", path, strerror(errno));
                return 125;
            }
        } else {
            opened = open_no_links(AT_FDCWD, path, flags | O_NOCTTY);
            if (opened < 0) {
                fprintf(stderr, "lifeboat-with-fds: cannot open %s without following links: %s\n", path, strerror(errno));
                return 125;
            }
        }
        if (opened != fd) {
            if (dup2(opened, (int)fd) < 0) {
                fprintf(stderr, "lifeboat-with-fds: cannot move %s to descriptor %ld: %s\n", path, fd, strerror(errno));
                return 125;
            }
            close(opened);
        }
    }
    if (i >= argc - 1) {
        fprintf(stderr, "usage: lifeboat-with-fds [--as=UID:GID] FD:MODE:PATH... -- CMD [ARGS...]\n");
        return 125;
    }
    if (as_uid > 0 && open_as(0, 0, 0) != 0) {
        fprintf(stderr, "lifeboat-with-fds: cannot become root again after opening as %ld\n", as_uid);
        return 125;
    }
    execvp(argv[i + 1], argv + i + 1);
    fprintf(stderr, "lifeboat-with-fds: cannot run %s: %s\n", argv[i + 1], strerror(errno));
    return 127;
}
