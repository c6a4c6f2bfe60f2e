#include "trainer/heatmap.h"

#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* matplotlib's coolwarm (Moreland's diverging map) sampled at nine points, linearly interpolated. */
static const uint8_t COOLWARM[9][3] = {
    {59, 76, 192},   {87, 117, 225},  {124, 159, 249}, {170, 199, 253}, {221, 221, 221},
    {245, 196, 173}, {244, 154, 123}, {222, 96, 77},   {180, 4, 38},
};

void heatmap_coolwarm(double v, uint8_t rgb[3]) {
    if (isnan(v)) {
        rgb[0] = rgb[1] = rgb[2] = 128;
        return;
    }
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    double x = v * 8.0;
    int i = (int)x;
    if (i >= 8) i = 7;
    double f = x - i;
    for (int c = 0; c < 3; c++) rgb[c] = (uint8_t)lround(COOLWARM[i][c] * (1 - f) + COOLWARM[i + 1][c] * f);
}

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

typedef struct {
    int w, h;
    uint8_t *px; /* RGB */
} canvas;

static void fill_rect(canvas *c, int x0, int y0, int w, int h, const uint8_t rgb[3]) {
    for (int y = y0; y < y0 + h; y++)
        for (int x = x0; x < x0 + w; x++)
            if (x >= 0 && y >= 0 && x < c->w && y < c->h) memcpy(c->px + 3 * ((size_t)y * (size_t)c->w + (size_t)x), rgb, 3);
}

enum { SCALE = 2, GLYPH_W = 6 * SCALE, GLYPH_H = 7 * SCALE };

static void draw_text(canvas *c, int x, int y, const char *s) {
    static const uint8_t ink[3] = {0, 0, 0};
    for (; *s; s++, x += GLYPH_W) {
        for (size_t k = 0; k < sizeof FONT / sizeof *FONT; k++) {
            if (FONT[k].ch != *s) continue;
            for (int r = 0; r < 7; r++)
                for (int b = 0; b < 5; b++)
                    if (FONT[k].rows[r] & (16 >> b)) fill_rect(c, x + b * SCALE, y + r * SCALE, SCALE, SCALE, ink);
        }
    }
}

static int text_width(const char *s) { return (int)strlen(s) * GLYPH_W - SCALE; }

/* Label every k-th index, k in 1, 2, 5, 10, 20, ... so that labels of `span` pixels do not overlap. */
static int tick_every(int cell, int span) {
    static const int steps[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
        if (steps[i] * cell >= span) return steps[i];
    return 1000;
}

static int write_png(const char *path, const canvas *c, duo_error *err) {
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
        return duo_fail(err, "%s: libpng failed to write the heat map", path);
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

int heatmap_write_png(const char *path, const float *gates, int num_layers, int num_kv_heads, duo_error *err) {
    if (num_layers <= 0 || num_kv_heads <= 0) return duo_fail(err, "%s: empty gate matrix", path);
    int longest = num_layers > num_kv_heads ? num_layers : num_kv_heads;
    int cell = 640 / longest;
    if (cell > 48) cell = 48;
    if (cell < 2) cell = 2;
    int grid_w = cell * num_kv_heads, grid_h = cell * num_layers;
    int left = 16 + text_width("LAYER") > 80 ? 16 + text_width("LAYER") : 80;
    int top = 20 + 2 * GLYPH_H, bottom = 24 + 2 * GLYPH_H;
    int bar_x = left + grid_w + 24, bar_w = 20, right = 24 + bar_w + 12 + text_width("0.5") + 16;
    int bar_h = grid_h < 160 ? 160 : grid_h; /* a readable scale even for a 2 x 2 model */
    canvas c = {left + grid_w + right, top + (bar_h > grid_h + bottom ? bar_h : grid_h + bottom) + 8, NULL};
    if (c.w < left + text_width("GATES (LAYERS X KV HEADS)") + 16) c.w = left + text_width("GATES (LAYERS X KV HEADS)") + 16;
    c.px = malloc((size_t)c.w * (size_t)c.h * 3);
    if (!c.px) return duo_fail(err, "%s: out of memory", path);
    memset(c.px, 255, (size_t)c.w * (size_t)c.h * 3);

    draw_text(&c, left, 10, "GATES (LAYERS X KV HEADS)");
    for (int l = 0; l < num_layers; l++)
        for (int h = 0; h < num_kv_heads; h++) {
            uint8_t rgb[3];
            heatmap_coolwarm(gates[(size_t)l * (size_t)num_kv_heads + (size_t)h], rgb);
            fill_rect(&c, left + h * cell, top + l * cell, cell, cell, rgb);
        }
    char num[16];
    int ly = tick_every(cell, GLYPH_H + 4);
    for (int l = 0; l < num_layers; l += ly) {
        snprintf(num, sizeof num, "%d", l);
        draw_text(&c, left - 8 - text_width(num), top + l * cell + cell / 2 - GLYPH_H / 2, num);
    }
    draw_text(&c, 8, top - GLYPH_H - 6, "LAYER");
    snprintf(num, sizeof num, "%d", num_kv_heads - 1);
    int hx = tick_every(cell, text_width(num) + 8);
    for (int h = 0; h < num_kv_heads; h += hx) {
        snprintf(num, sizeof num, "%d", h);
        draw_text(&c, left + h * cell + cell / 2 - text_width(num) / 2, top + grid_h + 6, num);
    }
    draw_text(&c, left + grid_w / 2 - text_width("KV HEAD") / 2, top + grid_h + 12 + GLYPH_H, "KV HEAD");
    /* colour bar: 1 at the top, 0 at the bottom */
    for (int y = 0; y < bar_h; y++) {
        uint8_t rgb[3];
        heatmap_coolwarm(1.0 - (double)y / (double)(bar_h - 1), rgb);
        fill_rect(&c, bar_x, top + y, bar_w, 1, rgb);
    }
    draw_text(&c, bar_x + bar_w + 6, top, "1");
    draw_text(&c, bar_x + bar_w + 6, top + bar_h / 2 - GLYPH_H / 2, "0.5");
    draw_text(&c, bar_x + bar_w + 6, top + bar_h - GLYPH_H, "0");
    int rc = write_png(path, &c, err);
    free(c.px);
    return rc;
}
