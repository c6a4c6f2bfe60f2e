/* Error reporting for library code: functions fill a duo_error and return -1 (or NULL);
 * only the CLI decides to print and exit.  Messages name the file, tensor or line at fault. */
#ifndef DUO_DATA_ERROR_H
#define DUO_DATA_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* Room for two PATH_MAX paths and the reason: a long path never cuts the reason off. */
#define DUO_ERROR_MAX 12288

typedef struct {
    char msg[DUO_ERROR_MAX];
} duo_error;

/* Formats the message into err (if non-NULL) and returns -1, so callers can `return duo_fail(...)`. */
int duo_fail(duo_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes an existing message with more context ("loading model X: <old message>"). */
void duo_error_prefix(duo_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif

#endif
