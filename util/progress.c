#include "util/progress.h"
#include "util/clock.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define REDRAW_INTERVAL_S 0.1   /* terminal: at most 10 redraws a second */
#define PLAIN_INTERVAL_S 10.0   /* plain lines when the total is unknown */


char *progress_format_duration(char *buf, size_t cap, double seconds) {
    if (!(seconds >= 0) || seconds >= 1000.0 * 3600) {  /* also catches NaN */
        snprintf(buf, cap, "--:--");
        return buf;
    }
    long s = lround(seconds);
    long h = s / 3600, m = s / 60 % 60, sec = s % 60;
    if (h > 0) snprintf(buf, cap, "%ld:%02ld:%02ld", h, m, sec);
    else snprintf(buf, cap, "%ld:%02ld", m, sec);
    return buf;
}

/* 3 significant digits without switching to exponent notation: 3.25, 12.5, 125. */
static void three_digits(char *buf, size_t cap, double v, const char *unit) {
    const char *fmt = v < 9.995 ? "%.2f%s" : v < 99.95 ? "%.1f%s" : "%.0f%s";
    snprintf(buf, cap, fmt, v, unit);
}

char *progress_format_rate(char *buf, size_t cap, double per_second) {
    if (!(per_second > 0) || isinf(per_second)) snprintf(buf, cap, "-- it/s");
    else if (per_second >= 999.5e3) three_digits(buf, cap, per_second / 1e6, "M it/s");
    else if (per_second >= 999.5) three_digits(buf, cap, per_second / 1e3, "k it/s");
    else if (per_second >= 1) three_digits(buf, cap, per_second, " it/s");
    else three_digits(buf, cap, 1.0 / per_second, " s/it");
    return buf;
}

char *progress_format_line(const duo_progress *p, double now, char *buf, size_t cap) {
    double elapsed = now - p->t_start;
    double rate = elapsed > 0 && p->done > 0 ? (double)p->done / elapsed : 0;
    char r[32], el[32], eta[32];
    progress_format_rate(r, sizeof r, rate);
    progress_format_duration(el, sizeof el, elapsed);
    const char *sep = p->extra[0] ? "  " : "";
    if (p->total > 0) {
        long left = p->total - p->done;
        double eta_s = left <= 0 ? 0 : rate > 0 ? (double)left / rate : NAN;
        progress_format_duration(eta, sizeof eta, eta_s);
        int pct = (int)(100.0 * (double)p->done / (double)p->total);
        snprintf(buf, cap, "%s  %ld/%ld %3d%%  %s  elapsed %s  eta %s%s%s", p->label, p->done, p->total, pct, r,
                 el, eta, sep, p->extra);
    } else {
        snprintf(buf, cap, "%s  %ld  %s  elapsed %s%s%s", p->label, p->done, r, el, sep, p->extra);
    }
    return buf;
}

void progress_start_on(duo_progress *p, FILE *out, int tty, const char *label, long total) {
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    const char *env = getenv("DUO_PROGRESS");
    p->enabled = !(env && strcmp(env, "0") == 0);
    p->out = out;
    p->tty = tty;
    p->total = total;
    p->every_pct = 10;
    p->printed_done = -1;
    p->t_start = clock_wall_s();
    p->t_drawn = p->t_start;
}

void progress_start(duo_progress *p, const char *label, long total) {
    progress_start_on(p, stderr, isatty(fileno(stderr)), label, total);
}

static void draw(duo_progress *p, double now, int final) {
    char line[512];
    progress_format_line(p, now, line, sizeof line);
    size_t w = strlen(line);
    if (p->tty) {
        /* A line wider than the terminal wraps, and \r would then redraw only its last row. */
        struct winsize ws;
        if (ioctl(fileno(p->out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 && w >= ws.ws_col) {
            w = (size_t)ws.ws_col - 1;
            while (w > 0 && ((unsigned char)line[w] & 0xC0) == 0x80) w--;  /* not inside a UTF-8 character */
            line[w] = '\0';
        }
        /* Blank what is left of a longer previous line. */
        int pad = p->drawn_width > w ? (int)(p->drawn_width - w) : 0;
        fprintf(p->out, "\r%s%*s%s", line, pad, "", final ? "\n" : "");
        p->drawn_width = w;
    } else {
        fprintf(p->out, "%s\n", line);
    }
    fflush(p->out);
    p->t_drawn = now;
    p->printed_done = p->done;
}

void progress_update(duo_progress *p, long done, const char *fmt, ...) {
    if (!p->enabled) return;
    p->done = done;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->extra, sizeof p->extra, fmt, ap);
        va_end(ap);
    }
    double now = clock_wall_s();
    if (p->tty) {
        if (now - p->t_drawn >= REDRAW_INTERVAL_S || p->printed_done < 0 || (p->total > 0 && done >= p->total))
            draw(p, now, 0);
        return;
    }
    if (p->total > 0) {
        int every = p->every_pct > 0 ? p->every_pct : 10;
        int bucket = (int)(100.0 * (double)done / (double)p->total) / every;
        if (bucket > p->printed_bucket) {
            draw(p, now, 0);
            p->printed_bucket = bucket;
        }
    } else if (now - p->t_drawn >= PLAIN_INTERVAL_S) {
        draw(p, now, 0);
    }
}

void progress_end(duo_progress *p) {
    if (!p->enabled) return;
    if (p->tty) draw(p, clock_wall_s(), 1);
    else if (p->printed_done != p->done) draw(p, clock_wall_s(), 1);
}
