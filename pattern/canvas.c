/* An RGB canvas with filled rectangles and a small bitmap font, written as PNG with libpng (atomic:
 * temporary file, fsync, rename).  Shared by the gate heat map and the sweep's plots. */
#include "pattern/canvas.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A 5x7 bitmap font for the few characters the labels use (rows top to bottom, bit 4 = left). */
static const struct { char ch; uint8_t rows[7]; } FONT[] = {
    {'0', {14, 17, 19, 21, 25, 17, 14}}, {'1', {4, 12, 4, 4, 4, 4, 14}},    {'2', {14, 17, 1, 2, 4, 8, 31}},
    {'3', {31, 2, 4, 2, 1, 17, 14}},     {'4', {2, 6, 10, 18, 31, 2, 2}},   {'5', {31, 16, 30, 1, 1, 17, 14}},
    {'6', {6, 8, 16, 30, 17, 17, 14}},   {'7', {31, 1, 2, 4, 8, 8, 8}},     {'8', {14, 17, 17, 14, 17, 17, 14}},
    {'9', {14, 17, 17, 15, 1, 2, 12}},   {'.', {0, 0, 0, 0, 0, 12, 12}},    {'A', {14, 17, 17, 31, 17, 17, 17}},
    {'D', {30, 17, 17, 17, 17, 17, 30}}, {'E', {31, 16, 16, 30, 16, 16, 31}}, {'G', {14, 17, 16, 23, 17, 17, 15}},
    {'H', {17, 17, 17, 31, 17, 17, 17}}, {'K', {17, 18, 20, 24, 20, 18, 17}}, {'L', {16, 16, 16, 16, 16, 16, 31}},
    {'R', {30, 17, 17, 30, 20, 18, 17}}, {'S', {15, 16, 16, 14, 1, 1, 30}},   {'T', {31, 4, 4, 4, 4, 4, 4}},
    {'V', {17, 17, 17, 17, 17, 10, 4}},  {'Y', {17, 17, 10, 4, 4, 4, 4}},    {'X', {17, 17, 10, 4, 10, 17, 17}},
    {'(', {2, 4, 8, 8, 8, 4, 2}},        {')', {8, 4, 2, 2, 2, 4, 8}},
};

void canvas_fill_rect(duo_canvas *c, int x0, int y0, int w, int h, const uint8_t rgb[3]) {
    for (int y = y0; y < y0 + h; y++)
        for (int x = x0; x < x0 + w; x++)
            if (x >= 0 && y >= 0 && x < c->w && y < c->h) memcpy(c->px + 3 * ((size_t)y * (size_t)c->w + (size_t)x), rgb, 3);
}

void canvas_draw_text(duo_canvas *c, int x, int y, const char *s) {
    static const uint8_t ink[3] = {0, 0, 0};
    for (; *s; s++, x += CANVAS_GLYPH_W) {
        for (size_t k = 0; k < sizeof FONT / sizeof *FONT; k++) {
            if (FONT[k].ch != *s) continue;
            for (int r = 0; r < 7; r++)
                for (int b = 0; b < 5; b++)
                    if (FONT[k].rows[r] & (16 >> b)) canvas_fill_rect(c, x + b * CANVAS_SCALE, y + r * CANVAS_SCALE, CANVAS_SCALE, CANVAS_SCALE, ink);
        }
    }
}

int canvas_text_width(const char *s) { return (int)strlen(s) * CANVAS_GLYPH_W - CANVAS_SCALE; }

/* Label every k-th index, k in 1, 2, 5, 10, 20, ... so that labels of `span` pixels do not overlap. */
int canvas_tick_every(int cell, int span) {
    static const int steps[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
        if (steps[i] * cell >= span) return steps[i];
    return 1000;
}

int canvas_write_png(const duo_canvas *c, const char *path, duo_error *err) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return duo_fail(err, "%s: cannot create", tmp);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        unlink(tmp);
        return duo_fail(err, "%s: libpng failed to write the image", path);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)c->w, (png_uint_32)c->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < c->h; y++) png_write_row(png, c->px + 3 * (size_t)y * (size_t)c->w);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fflush(f) || fsync(fileno(f)) || fclose(f)) {
        unlink(tmp);
        return duo_fail(err, "%s: write error", tmp);
    }
    if (rename(tmp, path)) {
        unlink(tmp);
        return duo_fail(err, "%s: cannot rename into place", path);
    }
    return 0;
}

