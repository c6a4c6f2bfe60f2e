/* One process at a time in an output folder: an flock'd ".duo-train.lock" holding the holder's pid.
 * train and sweep take the same lock, so neither can write into a folder the other is writing. */
#ifndef DUO_DATA_DIR_LOCK_H
#define DUO_DATA_DIR_LOCK_H

#include "data/error.h"

#define DIR_LOCK_NAME ".duo-train.lock"

/* Locks dir (which exists) for this process, a `what` ("training", "sweep"); returns the lock's fd, or -1
 * with err naming the folder, what holds it and its pid ("in use by another sweep (pid 12)"). */
int dir_lock_take(const char *dir, const char *what, const char *option, duo_error *err);
void dir_lock_release(int fd);

#endif
