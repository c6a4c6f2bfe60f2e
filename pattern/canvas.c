/* An RGB canvas with filled rectangles and a small bitmap font, written as PNG with libpng (atomic:
 * temporary file, fsync, rename).  Shared by the gate heat map and the sweep's plots. */
#include "pattern/canvas.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/fileio.h"

/* A 5x7 bitmap font (rows top to bottom, bit 4 = left) with an eighth row for the descenders of
 * g, j, p, q, y and the comma's tail.  The digits, '.', '(', ')' and the uppercase letters the gate heat
 * map uses keep their original shapes, so its pixels do not change.  Space is blank. */
static const struct { char ch; uint8_t rows[8]; } FONT[] = {
    {'0', {14, 17, 19, 21, 25, 17, 14}}, {'1', {4, 12, 4, 4, 4, 4, 14}},    {'2', {14, 17, 1, 2, 4, 8, 31}},
    {'3', {31, 2, 4, 2, 1, 17, 14}},     {'4', {2, 6, 10, 18, 31, 2, 2}},   {'5', {31, 16, 30, 1, 1, 17, 14}},
    {'6', {6, 8, 16, 30, 17, 17, 14}},   {'7', {31, 1, 2, 4, 8, 8, 8}},     {'8', {14, 17, 17, 14, 17, 17, 14}},
    {'9', {14, 17, 17, 15, 1, 2, 12}},   {'.', {0, 0, 0, 0, 0, 12, 12}},    {'A', {14, 17, 17, 31, 17, 17, 17}},
    {'D', {30, 17, 17, 17, 17, 17, 30}}, {'E', {31, 16, 16, 30, 16, 16, 31}}, {'G', {14, 17, 16, 23, 17, 17, 15}},
    {'H', {17, 17, 17, 31, 17, 17, 17}}, {'K', {17, 18, 20, 24, 20, 18, 17}}, {'L', {16, 16, 16, 16, 16, 16, 31}},
    {'R', {30, 17, 17, 30, 20, 18, 17}}, {'S', {15, 16, 16, 14, 1, 1, 30}},   {'T', {31, 4, 4, 4, 4, 4, 4}},
    {'V', {17, 17, 17, 17, 17, 10, 4}},  {'Y', {17, 17, 10, 4, 4, 4, 4}},    {'X', {17, 17, 10, 4, 10, 17, 17}},
    {'(', {2, 4, 8, 8, 8, 4, 2}},        {')', {8, 4, 2, 2, 2, 4, 8}},
    /* the rest of the uppercase letters */
    {'B', {30, 17, 17, 30, 17, 17, 30}}, {'C', {14, 17, 16, 16, 16, 17, 14}}, {'F', {31, 16, 16, 30, 16, 16, 16}},
    {'I', {14, 4, 4, 4, 4, 4, 14}},      {'J', {7, 2, 2, 2, 2, 18, 12}},    {'M', {17, 27, 21, 21, 17, 17, 17}},
    {'N', {17, 17, 25, 21, 19, 17, 17}}, {'O', {14, 17, 17, 17, 17, 17, 14}}, {'P', {30, 17, 17, 30, 16, 16, 16}},
    {'Q', {14, 17, 17, 17, 21, 18, 13}}, {'U', {17, 17, 17, 17, 17, 17, 14}}, {'W', {17, 17, 17, 21, 21, 21, 10}},
    {'Z', {31, 1, 2, 4, 8, 16, 31}},
    /* lowercase: x-height of five rows, ascenders to the top row, descenders into the eighth */
    {'a', {0, 0, 14, 1, 15, 17, 15}},    {'b', {16, 16, 22, 25, 17, 17, 30}}, {'c', {0, 0, 14, 16, 16, 17, 14}},
    {'d', {1, 1, 13, 19, 17, 17, 15}},   {'e', {0, 0, 14, 17, 31, 16, 14}}, {'f', {6, 9, 8, 28, 8, 8, 8}},
    {'g', {0, 0, 15, 17, 17, 15, 1, 14}}, {'h', {16, 16, 22, 25, 17, 17, 17}}, {'i', {4, 0, 12, 4, 4, 4, 14}},
    {'j', {2, 0, 6, 2, 2, 2, 18, 12}},   {'k', {16, 16, 18, 20, 24, 20, 18}}, {'l', {12, 4, 4, 4, 4, 4, 14}},
    {'m', {0, 0, 26, 21, 21, 17, 17}},   {'n', {0, 0, 22, 25, 17, 17, 17}}, {'o', {0, 0, 14, 17, 17, 17, 14}},
    {'p', {0, 0, 30, 17, 17, 30, 16, 16}}, {'q', {0, 0, 15, 17, 17, 15, 1, 1}}, {'r', {0, 0, 22, 25, 16, 16, 16}},
    {'s', {0, 0, 15, 16, 14, 1, 30}},    {'t', {8, 8, 28, 8, 8, 9, 6}},     {'u', {0, 0, 17, 17, 17, 19, 13}},
    {'v', {0, 0, 17, 17, 17, 10, 4}},    {'w', {0, 0, 17, 17, 21, 21, 10}}, {'x', {0, 0, 17, 10, 4, 10, 17}},
    {'y', {0, 0, 17, 17, 17, 15, 1, 14}}, {'z', {0, 0, 31, 2, 4, 8, 31}},
    /* punctuation and symbols */
    {',', {0, 0, 0, 0, 0, 12, 4, 8}},    {':', {0, 12, 12, 0, 12, 12, 0}},  {';', {0, 12, 12, 0, 12, 4, 8}},
    {'-', {0, 0, 0, 31, 0, 0, 0}},       {'_', {0, 0, 0, 0, 0, 0, 31}},     {'+', {0, 4, 4, 31, 4, 4, 0}},
    {'=', {0, 0, 31, 0, 31, 0, 0}},      {'%', {24, 25, 2, 4, 8, 19, 3}},   {'[', {14, 8, 8, 8, 8, 8, 14}},
    {']', {14, 2, 2, 2, 2, 2, 14}},      {'/', {0, 1, 2, 4, 8, 16, 0}},     {'\\', {0, 16, 8, 4, 2, 1, 0}},
    {'<', {2, 4, 8, 16, 8, 4, 2}},       {'>', {8, 4, 2, 1, 2, 4, 8}},      {'\'', {12, 4, 8, 0, 0, 0, 0}},
    {'"', {10, 10, 20, 0, 0, 0, 0}},     {'#', {10, 10, 31, 10, 31, 10, 10}}, {'*', {0, 4, 21, 14, 21, 4, 0}},
    {'&', {12, 18, 20, 8, 21, 18, 13}},  {'@', {14, 17, 1, 13, 21, 21, 14}}, {'!', {4, 4, 4, 4, 4, 0, 4}},
    {'?', {14, 17, 1, 2, 4, 0, 4}},      {'|', {4, 4, 4, 4, 4, 4, 4}},      {'$', {4, 15, 20, 14, 5, 30, 4}},
    {'^', {4, 10, 17, 0, 0, 0, 0}},      {'~', {0, 0, 8, 21, 2, 0, 0}},     {'{', {2, 4, 4, 8, 4, 4, 2}},
    {'}', {8, 4, 4, 2, 4, 4, 8}},        {'`', {8, 4, 2, 0, 0, 0, 0}},
};

void canvas_fill_rect(duo_canvas *c, int x0, int y0, int w, int h, const uint8_t rgb[3]) {
    for (int y = y0; y < y0 + h; y++)
        for (int x = x0; x < x0 + w; x++)
            if (x >= 0 && y >= 0 && x < c->w && y < c->h) memcpy(c->px + 3 * ((size_t)y * (size_t)c->w + (size_t)x), rgb, 3);
}

static const uint8_t *glyph(unsigned char ch) {
    for (size_t k = 0; k < sizeof FONT / sizeof *FONT; k++)
        if ((unsigned char)FONT[k].ch == ch) return FONT[k].rows;
    return NULL;
}

/* A UTF-8 continuation byte takes no room: a non-ASCII character is one blank glyph. */
static int is_cont(unsigned char ch) { return (ch & 0xC0) == 0x80; }

void canvas_draw_text_ex(duo_canvas *c, int x, int y, const char *s, const uint8_t rgb[3], int scale) {
    for (; *s; s++) {
        if (is_cont((unsigned char)*s)) continue;
        const uint8_t *rows = glyph((unsigned char)*s);
        if (rows)
            for (int r = 0; r < 8; r++)
                for (int b = 0; b < 5; b++)
                    if (rows[r] & (16 >> b)) canvas_fill_rect(c, x + b * scale, y + r * scale, scale, scale, rgb);
        x += 6 * scale;
    }
}

void canvas_draw_text_up(duo_canvas *c, int x, int y, const char *s, const uint8_t rgb[3], int scale) {
    /* Turned anticlockwise: font row r becomes box column r (the glyphs' tops face left) and font
     * column 6i + b, counted from the text's start, becomes a box row counted from the bottom. */
    int wpx = canvas_text_width_ex(s, scale);
    int i = 0;
    for (; *s; s++) {
        if (is_cont((unsigned char)*s)) continue;
        const uint8_t *rows = glyph((unsigned char)*s);
        if (rows)
            for (int r = 0; r < 8; r++)
                for (int b = 0; b < 5; b++)
                    if (rows[r] & (16 >> b))
                        canvas_fill_rect(c, x + r * scale, y + wpx - (6 * i + b + 1) * scale, scale, scale, rgb);
        i++;
    }
}

void canvas_draw_text(duo_canvas *c, int x, int y, const char *s) {
    static const uint8_t ink[3] = {0, 0, 0};
    canvas_draw_text_ex(c, x, y, s, ink, CANVAS_SCALE);
}

int canvas_text_width_ex(const char *s, int scale) {
    int n = 0;
    for (; *s; s++) n += !is_cont((unsigned char)*s);
    return n ? n * 6 * scale - scale : 0;
}

int canvas_text_width(const char *s) { return canvas_text_width_ex(s, CANVAS_SCALE); }

static void blend(duo_canvas *c, int x, int y, const uint8_t rgb[3], double a) {
    if (x < 0 || y < 0 || x >= c->w || y >= c->h || a <= 0) return;
    if (a > 1) a = 1;
    uint8_t *p = c->px + 3 * ((size_t)y * (size_t)c->w + (size_t)x);
    for (int k = 0; k < 3; k++) p[k] = (uint8_t)lround(p[k] * (1 - a) + rgb[k] * a);
}

/* Distance from (px, py) to the segment (x0, y0)-(x1, y1). */
static double seg_dist(double px, double py, double x0, double y0, double x1, double y1) {
    double dx = x1 - x0, dy = y1 - y0, l2 = dx * dx + dy * dy;
    double t = l2 > 0 ? ((px - x0) * dx + (py - y0) * dy) / l2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double ex = x0 + t * dx - px, ey = y0 + t * dy - py;
    return sqrt(ex * ex + ey * ey);
}

void canvas_draw_line(duo_canvas *c, double x0, double y0, double x1, double y1, double width, const uint8_t rgb[3]) {
    if (!isfinite(x0) || !isfinite(y0) || !isfinite(x1) || !isfinite(y1) || !(width > 0)) return;
    double r = width / 2;
    /* Walk the major axis; cover the strip of pixels within r + 1 of the line across it. */
    int steep = fabs(y1 - y0) > fabs(x1 - x0);
    double a0 = steep ? y0 : x0, a1 = steep ? y1 : x1, b0 = steep ? x0 : y0, b1 = steep ? x1 : y1;
    if (a0 > a1) {
        double t = a0; a0 = a1; a1 = t;
        t = b0; b0 = b1; b1 = t;
    }
    double da = a1 - a0, db = b1 - b0, len = sqrt(da * da + db * db);
    double half = (r + 1) * (da > 0 ? len / da : 1) + 1; /* the strip's half height across the major axis */
    for (int a = (int)floor(a0 - r - 1); a <= (int)ceil(a1 + r + 1); a++) {
        if (a < -1 || a > (steep ? c->h : c->w)) continue;
        double t = da > 0 ? (a - a0) / da : 0;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        double bc = b0 + t * db;
        for (int b = (int)floor(bc - half); b <= (int)ceil(bc + half); b++) {
            int x = steep ? b : a, y = steep ? a : b;
            blend(c, x, y, rgb, r + 0.5 - seg_dist(x, y, x0, y0, x1, y1));
        }
    }
}

void canvas_fill_circle(duo_canvas *c, double cx, double cy, double r, const uint8_t rgb[3]) {
    if (!isfinite(cx) || !isfinite(cy) || !(r > 0)) return;
    for (int y = (int)floor(cy - r - 1); y <= (int)ceil(cy + r + 1); y++)
        for (int x = (int)floor(cx - r - 1); x <= (int)ceil(cx + r + 1); x++)
            blend(c, x, y, rgb, r + 0.5 - hypot(x - cx, y - cy));
}

void canvas_draw_rect(duo_canvas *c, int x0, int y0, int w, int h, const uint8_t rgb[3]) {
    canvas_fill_rect(c, x0, y0, w, 1, rgb);
    canvas_fill_rect(c, x0, y0 + h - 1, w, 1, rgb);
    canvas_fill_rect(c, x0, y0, 1, h, rgb);
    canvas_fill_rect(c, x0 + w - 1, y0, 1, h, rgb);
}

/* Label every k-th index, k in 1, 2, 5, 10, 20, ... so that labels of `span` pixels do not overlap. */
int canvas_tick_every(int cell, int span) {
    static const int steps[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
        if (steps[i] * cell >= span) return steps[i];
    return 1000;
}

int canvas_write_png(const duo_canvas *c, const char *path, duo_error *err) {
    char tmp[4200];
    if (file_check_output(path, err)) return -1; /* a folder, a FIFO, a symlink loop: refused, not replaced */
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    errno = 0;
    FILE *f = fopen(tmp, "wb");
    if (!f) return duo_fail(err, "%s: cannot create: %s", path, strerror(errno));
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        int e = errno; /* a write libpng made failed: the OS's reason (file too large, no space) */
        png_destroy_write_struct(&png, &info);
        fclose(f);
        unlink(tmp);
        return duo_fail(err, "%s: write failed: %s", path, e ? strerror(e) : "libpng could not write the image");
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)c->w, (png_uint_32)c->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < c->h; y++) png_write_row(png, c->px + 3 * (size_t)y * (size_t)c->w);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    int e = fflush(f) || fsync(fileno(f)) ? (errno ? errno : EIO) : 0;
    if (fclose(f) && !e) e = errno ? errno : EIO;
    if (!e && rename(tmp, path)) e = errno;
    if (e) {
        unlink(tmp);
        return duo_fail(err, "%s: write failed: %s", path, strerror(e));
    }
    return 0;
}

