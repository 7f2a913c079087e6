/*
 * lifeboat-with-fds: opens files or connects Unix sockets on chosen descriptor numbers, then runs
 * a command.
 *
 *   lifeboat-with-fds FD:MODE:PATH... -- CMD [ARGS...]
 *
 * MODE is r (read), w (write), a (append), d (a directory, not through a symbolic link), or u:
 * connect to the Unix stream socket at PATH. The
 * agent runs `criu restore` through it to hand CRIU the files an Apptainer instance holds from
 * outside its mount namespace (its log files, the starter binary and its libraries): CRIU takes
 * them with --inherit-fd fd[FD]:KEY. It runs CRIU as a job's owner with the image directory on a
 * descriptor (d): the owner's CRIU writes there, the owner cannot reach it by any path. It runs `criu page-server --ps-socket FD` with a connection
 * to the agent's owner-only socket, so that the page server listens on nothing another user can
 * reach. The JVM cannot pass descriptors other than 0-2 to a child, and a shell does not reliably
 * keep numbers above 9 open across exec.
 *
 * A socket PATH is resolved without following any symbolic link (openat2 RESOLVE_NO_SYMLINKS):
 * the agent names a socket in a directory only root can write, and a link anywhere on the way
 * would let whoever controls it choose what CRIU talks to. The socket is then reached through
 * /proc/self/fd, so the name connected to is the inode checked, and PATH may exceed sun_path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

/* A connected Unix stream socket to the socket file at path, or -1 with a message printed. */
static int connect_unix(const char *path)
{
    struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS };
    int file = -1, sock = -1;
    int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
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

int main(int argc, char **argv)
{
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        char *spec = argv[i], *end;
        long fd = strtol(spec, &end, 10);
        if (end == spec || fd < 3 || fd > 1023 || end[0] != ':' || end[1] == '\0' || end[2] != ':' || end[3] != '/') {
            fprintf(stderr, "lifeboat-with-fds: '%s' is not FD:MODE:/PATH with FD >= 3\n", spec);
            return 125;
        }
        int flags;
        switch (end[1]) {
        case 'r': flags = O_RDONLY; break;
        case 'w': flags = O_WRONLY; break;
        case 'a': flags = O_WRONLY | O_APPEND | O_CREAT; break;
        /* A directory the command reaches through /proc/self/fd/FD alone: CRIU, run as a job's owner, writes
         * its images into a directory the agent made for that owner below one only root may enter. */
        case 'd': flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW; break;
        case 'u': flags = -1; break;
        default:
            fprintf(stderr, "lifeboat-with-fds: unknown mode '%c' in '%s'\n", end[1], spec);
            return 125;
        }
        const char *path = end + 3;
        int opened;
        if (flags == -1) {
            opened = connect_unix(path);
            if (opened < 0)
                return 125;
        } else {
            opened = open(path, flags | O_NOCTTY, 0644);
            if (opened < 0) {
                fprintf(stderr, "lifeboat-with-fds: cannot open %s: %s\n", path, strerror(errno));
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
        fprintf(stderr, "usage: lifeboat-with-fds FD:MODE:PATH... -- CMD [ARGS...]\n");
        return 125;
    }
    execvp(argv[i + 1], argv + i + 1);
    fprintf(stderr, "lifeboat-with-fds: cannot run %s: %s\n", argv[i + 1], strerror(errno));
    return 127;
}
