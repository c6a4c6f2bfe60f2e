#include "data/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int file_check_regular(const char *path, duo_error *err) {
    struct stat st;
    if (stat(path, &st) != 0) return duo_fail(err, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return duo_fail(err, "%s: not a regular file (%s)", path,
                        S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a FIFO" :
                        S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device" : S_ISSOCK(st.st_mode) ? "a socket" : "special");
    return 0;
}

char *file_read_all(const char *path, size_t *len, duo_error *err) {
    if (file_check_regular(path, err)) return NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        duo_fail(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (buf && n + 1 >= cap) {
            char *grown = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
            if (!grown) free(buf);
            buf = grown;
            cap *= 2;
        }
        if (!buf) {
            fclose(f);
            duo_fail(err, "%s: out of memory reading the file", path);
            return NULL;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        duo_fail(err, "%s: read error", path);
        return NULL;
    }
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

int file_map_open(const char *path, file_map *map, duo_error *err) {
    map->data = NULL;
    map->size = 0;
    if (file_check_regular(path, err)) return -1;  /* open() itself would block on a FIFO */
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) return duo_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return duo_fail(err, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {  /* mmap of length 0 fails; an empty map is valid */
        close(fd);
        return 0;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return duo_fail(err, "%s: mmap failed: %s", path, strerror(errno));
    map->data = p;
    map->size = (size_t)st.st_size;
    return 0;
}

void file_map_close(file_map *map) {
    if (map->data) munmap((void *)map->data, map->size);
    map->data = NULL;
    map->size = 0;
}

void remove_stale_temps(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : path;
    if (slash == dir) dir[1] = '\0';
    else if (slash) *slash = '\0';
    else snprintf(dir, sizeof dir, ".");
    char prefix[4200];
    int plen = snprintf(prefix, sizeof prefix, "%s.tmp.", base);
    if (plen <= 0 || (size_t)plen >= sizeof prefix) return;
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, (size_t)plen) != 0) continue;
        char *end;
        long pid = strtol(e->d_name + plen, &end, 10);
        if (*end || pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;  /* its writer may still be running */
        char full[8400];
        snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
        unlink(full);
    }
    closedir(d);
}

int file_check_output(const char *path, duo_error *err) {
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT) return 0; /* not there yet */
        return duo_fail(err, "%s: cannot write: %s", path, strerror(errno)); /* a symlink loop, a file as a folder */
    }
    if (S_ISDIR(st.st_mode)) return duo_fail(err, "%s: cannot write: %s", path, strerror(EISDIR));
    if (!S_ISREG(st.st_mode))
        return duo_fail(err, "%s: cannot write: not a regular file (%s)", path,
                        S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                        : S_ISSOCK(st.st_mode) ? "a socket" : "special");
    return 0;
}

int file_write_atomic(const char *path, const void *data, size_t len, duo_error *err) {
    char tmp[4200];
    if (file_check_output(path, err)) return -1;
    remove_stale_temps(path);
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp)
        return duo_fail(err, "%s: cannot write: %s", path, strerror(ENAMETOOLONG));
    FILE *f = fopen(tmp, "wb");
    if (!f) return duo_fail(err, "%s: cannot create: %s", path, strerror(errno));  /* the user's name, not tmp's */
    int e = 0; /* the first failure's errno: later calls may overwrite it */
    if (fwrite(data, 1, len, f) != len || fflush(f) != 0 || fsync(fileno(f)) != 0) e = errno ? errno : EIO;
    if (fclose(f) != 0 && !e) e = errno ? errno : EIO;
    if (!e && rename(tmp, path) != 0) e = errno;
    if (e) {
        unlink(tmp);
        return duo_fail(err, "%s: write failed: %s", path, strerror(e));
    }
    return 0;
}

char *path_join(char *out, size_t cap, const char *dir, const char *name) {
    size_t n = strlen(dir);
    snprintf(out, cap, "%s%s%s", dir, (n && dir[n - 1] == '/') ? "" : "/", name);
    return out;
}

int files_identical(const char *a, const char *b) {
    size_t la, lb;
    char *x = file_read_all(a, &la, NULL), *y = file_read_all(b, &lb, NULL);
    int same = x && y && la == lb && !memcmp(x, y, la);
    free(x);
    free(y);
    return same;
}

int path_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int path_exists(const char *path) { return access(path, F_OK) == 0; }

int make_dirs(const char *path, duo_error *err) {
    char buf[4200];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return duo_fail(err, "%.256s...: cannot create directory: %s", path, strerror(ENAMETOOLONG));
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0) {
                int e = errno;
                struct stat st;
                /* EEXIST is fine only for a directory: a file, a FIFO or a symlink loop there is refused
                 * now with its own reason, not later by the first write */
                if (e != EEXIST) return duo_fail(err, "%s: cannot create directory: %s", buf, strerror(e));
                if (stat(buf, &st) != 0) return duo_fail(err, "%s: cannot use as a directory: %s", buf, strerror(errno));
                if (!S_ISDIR(st.st_mode))
                    return duo_fail(err, "%s: cannot use as a directory: %s", buf, strerror(ENOTDIR));
            }
            *p = c;
            if (!c) break;
        }
    }
    return 0;
}
