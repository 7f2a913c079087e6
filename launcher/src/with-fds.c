/*
 * lifeboat-with-fds: opens files on chosen descriptor numbers, then runs a command.
 *
 *   lifeboat-with-fds FD:MODE:PATH... -- CMD [ARGS...]
 *
 * MODE is r (read), w (write), a (append). The agent runs `criu restore` through it to hand CRIU
 * the files an Apptainer instance holds from outside its mount namespace (its log files, the
 * starter binary and its libraries): CRIU takes them with --inherit-fd fd[FD]:KEY. The JVM cannot
 * pass descriptors other than 0-2 to a child, and a shell does not reliably keep numbers above 9
 * open across exec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
        default:
            fprintf(stderr, "lifeboat-with-fds: unknown mode '%c' in '%s'\n", end[1], spec);
            return 125;
        }
        const char *path = end + 3;
        int opened = open(path, flags | O_NOCTTY, 0644);
        if (opened < 0) {
            fprintf(stderr, "lifeboat-with-fds: cannot open %s: %s\n", path, strerror(errno));
            return 125;
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
