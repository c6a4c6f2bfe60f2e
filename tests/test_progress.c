/* Progress bar: the duration, rate and line formats (ETA arithmetic checked by hand), the plain-line
 * cadence when stderr is not a terminal, the redraw throttle on a terminal, and DUO_PROGRESS=0. */
#include <pty.h>
#include <sys/ioctl.h>

#include "tests/harness.h"
#include "util/progress.h"

TEST(duration_format) {
    char b[32];
    CHECK_STR(progress_format_duration(b, sizeof b, 0), "0:00");
    CHECK_STR(progress_format_duration(b, sizeof b, 37.4), "0:37");
    CHECK_STR(progress_format_duration(b, sizeof b, 59.6), "1:00");
    CHECK_STR(progress_format_duration(b, sizeof b, 578), "9:38");
    CHECK_STR(progress_format_duration(b, sizeof b, 3599.4), "59:59");
    CHECK_STR(progress_format_duration(b, sizeof b, 3600), "1:00:00");
    CHECK_STR(progress_format_duration(b, sizeof b, 3723), "1:02:03");
    CHECK_STR(progress_format_duration(b, sizeof b, 999.0 * 3600 + 59 * 60 + 59), "999:59:59");
    CHECK_STR(progress_format_duration(b, sizeof b, 1000.0 * 3600), "--:--");
    CHECK_STR(progress_format_duration(b, sizeof b, -1), "--:--");
    CHECK_STR(progress_format_duration(b, sizeof b, NAN), "--:--");
    CHECK_STR(progress_format_duration(b, sizeof b, INFINITY), "--:--");
}

TEST(rate_format) {
    char b[32];
    CHECK_STR(progress_format_rate(b, sizeof b, 3.25), "3.25 it/s");
    CHECK_STR(progress_format_rate(b, sizeof b, 1.0), "1.00 it/s");
    CHECK_STR(progress_format_rate(b, sizeof b, 12.54), "12.5 it/s");
    CHECK_STR(progress_format_rate(b, sizeof b, 9.999), "10.0 it/s");
    CHECK_STR(progress_format_rate(b, sizeof b, 125.4), "125 it/s");
    CHECK_STR(progress_format_rate(b, sizeof b, 999.7), "1.00k it/s");
    CHECK_STR(progress_format_rate(b, sizeof b, 1234), "1.23k it/s");
    CHECK_STR(progress_format_rate(b, sizeof b, 2.5e6), "2.50M it/s");
    /* slower than one per second reads as seconds per item */
    CHECK_STR(progress_format_rate(b, sizeof b, 0.08), "12.5 s/it");
    CHECK_STR(progress_format_rate(b, sizeof b, 0.5), "2.00 s/it");
    CHECK_STR(progress_format_rate(b, sizeof b, 1.0 / 300), "300 s/it");
    CHECK_STR(progress_format_rate(b, sizeof b, 0), "-- it/s");
    CHECK_STR(progress_format_rate(b, sizeof b, -3), "-- it/s");
    CHECK_STR(progress_format_rate(b, sizeof b, INFINITY), "-- it/s");
    CHECK_STR(progress_format_rate(b, sizeof b, NAN), "-- it/s");
}

TEST(line_shows_counts_rate_elapsed_and_eta) {
    duo_progress p;
    progress_start_on(&p, stderr, 0, "train", 2000);
    p.t_start = 100.0;
    p.done = 120;
    snprintf(p.extra, sizeof p.extra, "ctx 4096 distill 0.0123");
    char line[512];
    /* 120 done in 37 s: 3.243 it/s; 1880 left -> 1880 * 37 / 120 = 579.67 s -> 9:40. */
    CHECK_STR(progress_format_line(&p, 137.0, line, sizeof line),
              "train  120/2000   6%  3.24 it/s  elapsed 0:37  eta 9:40  ctx 4096 distill 0.0123");
    p.done = 0;
    p.extra[0] = '\0';
    CHECK_STR(progress_format_line(&p, 101.0, line, sizeof line), "train  0/2000   0%  -- it/s  elapsed 0:01  eta --:--");
    p.done = 2000;  /* 2000 in 4000 s: 0.5 it/s shows as 2.00 s/it */
    CHECK_STR(progress_format_line(&p, 4100.0, line, sizeof line), "train  2000/2000 100%  2.00 s/it  elapsed 1:06:40  eta 0:00");
    /* unknown total: no percentage or ETA */
    progress_start_on(&p, stderr, 0, "synth", 0);
    p.t_start = 0;
    p.done = 30;
    CHECK_STR(progress_format_line(&p, 3.0, line, sizeof line), "synth  30  10.0 it/s  elapsed 0:03");
}

/* Runs updates 1..n on a temporary stream and returns what was written (malloc'd). */
static char *capture(int tty, long total, long n, int every_pct) {
    FILE *f = tmpfile();
    if (!f) return NULL;
    duo_progress p;
    progress_start_on(&p, f, tty, "job", total);
    if (every_pct) p.every_pct = every_pct;
    for (long i = 1; i <= n; i++) progress_update(&p, i, "loss %.2f", 1.0 / (double)i);
    progress_end(&p);
    long size = ftell(f);
    rewind(f);
    char *buf = calloc((size_t)size + 1, 1);
    size_t got = fread(buf, 1, (size_t)size, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

static int count_char(const char *s, char c) {
    int n = 0;
    for (; *s; s++) n += *s == c;
    return n;
}

TEST(plain_lines_every_ten_percent) {
    unsetenv("DUO_PROGRESS");
    char *out = capture(0, 100, 100, 0);
    CHECK(out);
    int lines = count_char(out, '\n'), cr = count_char(out, '\r');
    int has_last = strstr(out, "job  100/100 100%") != NULL && strstr(out, "loss 0.01\n") != NULL;
    int has_first = strncmp(out, "job  10/100  10%", 16) == 0;
    free(out);
    CHECK_EQ_INT(lines, 10);  /* 10%, 20%, ... 100%; progress_end adds nothing after 100% */
    CHECK_EQ_INT(cr, 0);
    CHECK(has_first && has_last);

    out = capture(0, 100, 100, 25);
    CHECK(out);
    lines = count_char(out, '\n');
    free(out);
    CHECK_EQ_INT(lines, 4);

    /* 7 steps: 14%, 28%, 42%, 57%, 71%, 85%, 100% each cross a 10% mark */
    out = capture(0, 7, 7, 0);
    CHECK(out);
    lines = count_char(out, '\n');
    free(out);
    CHECK_EQ_INT(lines, 7);

    /* stopped early: progress_end prints where it stopped */
    out = capture(0, 100, 55, 0);
    CHECK(out);
    lines = count_char(out, '\n');
    int ends_at_55 = strstr(out, "job  55/100  55%") != NULL;
    free(out);
    CHECK_EQ_INT(lines, 6);
    CHECK(ends_at_55);
}

TEST(terminal_redraws_are_throttled) {
    unsetenv("DUO_PROGRESS");
    char *out = capture(1, 100000, 100000, 0);
    CHECK(out);
    int cr = count_char(out, '\r'), nl = count_char(out, '\n');
    size_t len = strlen(out);
    int ends_done = strstr(out, "100000/100000 100%") != NULL && len > 0 && out[len - 1] == '\n';
    free(out);
    /* first draw, the final-count draw and progress_end's, plus at most a few timed redraws */
    CHECK_MSG(cr >= 2 && cr <= 30, "%d redraws for 100000 updates", cr);
    CHECK_EQ_INT(nl, 1);
    CHECK(ends_done);
}

TEST(terminal_line_fits_the_width) {
    unsetenv("DUO_PROGRESS");
    int master, slave;
    struct winsize ws = {.ws_row = 24, .ws_col = 40};
    if (openpty(&master, &slave, NULL, NULL, &ws) != 0) SKIP("no pseudo-terminal");
    FILE *out = fdopen(slave, "w");
    CHECK(out);
    duo_progress p;
    progress_start_on(&p, out, 1, "train", 10);
    progress_update(&p, 3, "distill 0.0123 lr 2.0e-03 \xce\xb2 and more text than forty columns hold");
    progress_end(&p);
    fclose(out);
    char buf[2048];
    ssize_t n = read(master, buf, sizeof buf - 1);
    close(master);
    CHECK(n > 0);
    buf[n] = '\0';
    /* every drawn segment (between \r and \r or \n) is at most 39 columns */
    size_t longest = 0, cur = 0;
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\r' || buf[i] == '\n') cur = 0;
        else if (((unsigned char)buf[i] & 0xC0) != 0x80 && ++cur > longest) longest = cur;
    }
    CHECK_MSG(longest == 39, "longest drawn segment %zu columns on a 40-column terminal", longest);
    CHECK(strstr(buf, "train  3/10  30%") != NULL);
}

TEST(duo_progress_0_disables) {
    setenv("DUO_PROGRESS", "0", 1);
    char *plain = capture(0, 100, 100, 0), *tty = capture(1, 100, 100, 0);
    unsetenv("DUO_PROGRESS");
    int empty = plain && tty && plain[0] == '\0' && tty[0] == '\0';
    free(plain);
    free(tty);
    CHECK(empty);
}

TEST_MAIN()
