#include "data/dir_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "data/fileio.h"

int dir_lock_take(const char *dir, const char *what, const char *option, duo_error *err) {
    char path[4200];
    path_join(path, sizeof path, dir, DIR_LOCK_NAME);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0644);
    if (fd < 0) return duo_fail(err, "%s: cannot create the lock file: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char held[64] = "";
        ssize_t got = pread(fd, held, sizeof held - 1, 0);
        close(fd);
        held[got > 0 ? got : 0] = '\0';
        held[strcspn(held, "\n")] = '\0';
        char *holder = strchr(held, ' '); /* "<pid> <what>" */
        if (holder) *holder++ = '\0';
        return duo_fail(err, "%s is in use by another %s (pid %s); wait for it to end or choose another %s", dir,
                        holder && *holder ? holder : what /* an older duo-train wrote the pid alone */, held[0] ? held : "unknown", option);
    }
    char pid[96];
    int n = snprintf(pid, sizeof pid, "%ld %.40s\n", (long)getpid(), what);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        /* the lock holds anyway; the pid is only for the message */
    }
    return fd;
}

void dir_lock_release(int fd) {
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}
