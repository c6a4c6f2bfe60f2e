/* A progress bar on stderr for long work (training steps, sample building, sweeps).
 *
 *   duo_progress p;
 *   progress_start(&p, "train", steps);
 *   for (...) progress_update(&p, step + 1, "ctx %d distill %.4f lr %.1e", ctx, loss, lr);
 *   progress_end(&p);
 *
 * On a terminal the line is redrawn in place (\r) at most 10 times a second; otherwise (a log file, a
 * pipe) a plain line is printed every `every_pct` percent (10 by default; every 10 s when the total
 * is unknown) and at the end.  DUO_PROGRESS=0 in the environment turns it off.  A line reads
 *   train  120/2000   6%  3.25 it/s  elapsed 0:37  eta 9:38  ctx 4096 distill 0.0123 lr 2.0e-03 */
#ifndef DUO_UTIL_PROGRESS_H
#define DUO_UTIL_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    char label[48];
    long total;        /* 0 or less: unknown (no percentage, no ETA) */
    long done;
    double t_start;    /* monotonic seconds */
    double t_drawn;    /* when the line was last drawn */
    int tty;           /* redraw in place */
    int enabled;
    int every_pct;     /* plain mode: print each time this many more percent are done */
    int printed_bucket;/* plain mode: percent / every_pct when a line was last printed */
    long printed_done; /* `done` when a line was last printed (-1: never) */
    size_t drawn_width;/* tty mode: length of the last line, to blank leftovers */
    char extra[256];   /* the caller's text from the last update */
    FILE *out;
} duo_progress;

void progress_start(duo_progress *p, const char *label, long total);
/* The same on any stream; tty selects in-place redraws.  DUO_PROGRESS=0 still disables it. */
void progress_start_on(duo_progress *p, FILE *out, int tty, const char *label, long total);
/* Records `done` units finished; fmt (may be NULL) formats the extra text shown after the numbers. */
void progress_update(duo_progress *p, long done, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Draws the final state and ends the line. */
void progress_end(duo_progress *p);

/* Formatting, exposed for tests.  Durations, rounded to the second: m:ss under an hour, h:mm:ss above
 * ("0:37", "9:38", "1:02:03"); "--:--" for an unknown or absurd value (negative, NaN, 1000 h or more). */
char *progress_format_duration(char *buf, size_t cap, double seconds);
/* Rates: "3.25 it/s" at 1 or more per second (3 significant digits, k/M above 1000), "12.5 s/it" below
 * (so slow training steps read naturally), "-- it/s" when unknown. */
char *progress_format_rate(char *buf, size_t cap, double per_second);
/* The whole line for the state in p at time `now` (monotonic seconds). */
char *progress_format_line(const duo_progress *p, double now, char *buf, size_t cap);

#endif
