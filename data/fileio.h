/* Whole-file reads, read-only memory maps and atomic writes. */
#ifndef DUO_DATA_FILEIO_H
#define DUO_DATA_FILEIO_H

#include <stddef.h>

#include "data/error.h"

/* 0 if path is a regular file, else -1 with an error naming what it is (a FIFO, a device, a
 * directory): reading those blocks or never ends, so every reader checks first. */
int file_check_regular(const char *path, duo_error *err);

/* Removes "<path>.tmp.<pid>" files whose writer process is gone (left by kill -9 or a crash). */
void remove_stale_temps(const char *path);

/* Reads a whole file into a NUL-terminated malloc'd buffer; *len (optional) gets its size. */
char *file_read_all(const char *path, size_t *len, duo_error *err);

/* A read-only, private memory map of a whole file. */
typedef struct {
    const unsigned char *data;
    size_t size;
} file_map;

int file_map_open(const char *path, file_map *map, duo_error *err);
void file_map_close(file_map *map);

/* 0 when path may be written as a regular file: absent, or a regular file (through links).  Else -1
 * naming the path and the OS's reason: a directory, a FIFO or device, a symlink loop, a dangling link. */
int file_check_output(const char *path, duo_error *err);

/* Writes data to path atomically (after file_check_output): path.tmp.<pid> is written, fsynced and renamed over path. */
int file_write_atomic(const char *path, const void *data, size_t len, duo_error *err);

/* Joins dir and name into out (size cap); returns out. */
char *path_join(char *out, size_t cap, const char *dir, const char *name);

/* 1 when both files can be read and hold the same bytes. */
int files_identical(const char *a, const char *b);

int path_is_dir(const char *path);
int path_exists(const char *path);
/* mkdir -p; an existing component that is not a directory (a file, a symlink loop) is refused with the
 * OS's reason. */
int make_dirs(const char *path, duo_error *err);

#endif
