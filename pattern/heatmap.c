#include "pattern/heatmap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gate.h"
#include "pattern/canvas.h"

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
    v = gate_clamp(v);
    double x = v * 8.0;
    int i = (int)x;
    if (i >= 8) i = 7;
    double f = x - i;
    for (int c = 0; c < 3; c++) rgb[c] = (uint8_t)lround(COOLWARM[i][c] * (1 - f) + COOLWARM[i + 1][c] * f);
}

int heatmap_write_png(const char *path, const float *gates, int num_layers, int num_kv_heads, duo_error *err) {
    if (num_layers <= 0 || num_kv_heads <= 0) return duo_fail(err, "%s: empty gate matrix", path);
    int longest = num_layers > num_kv_heads ? num_layers : num_kv_heads;
    int cell = 640 / longest;
    if (cell > 48) cell = 48;
    if (cell < 2) cell = 2;
    int grid_w = cell * num_kv_heads, grid_h = cell * num_layers;
    int left = 16 + canvas_text_width("LAYER") > 80 ? 16 + canvas_text_width("LAYER") : 80;
    int top = 20 + 2 * CANVAS_GLYPH_H, bottom = 24 + 2 * CANVAS_GLYPH_H;
    int bar_x = left + grid_w + 24, bar_w = 20, right = 24 + bar_w + 12 + canvas_text_width("0.5") + 16;
    int bar_h = grid_h < 160 ? 160 : grid_h; /* a readable scale even for a 2 x 2 model */
    duo_canvas c = {left + grid_w + right, top + (bar_h > grid_h + bottom ? bar_h : grid_h + bottom) + 8, NULL};
    if (c.w < left + canvas_text_width("GATES (LAYERS X KV HEADS)") + 16) c.w = left + canvas_text_width("GATES (LAYERS X KV HEADS)") + 16;
    c.px = malloc((size_t)c.w * (size_t)c.h * 3);
    if (!c.px) return duo_fail(err, "%s: out of memory", path);
    memset(c.px, 255, (size_t)c.w * (size_t)c.h * 3);

    canvas_draw_text(&c, left, 10, "GATES (LAYERS X KV HEADS)");
    for (int l = 0; l < num_layers; l++)
        for (int h = 0; h < num_kv_heads; h++) {
            uint8_t rgb[3];
            heatmap_coolwarm(gates[(size_t)l * (size_t)num_kv_heads + (size_t)h], rgb);
            canvas_fill_rect(&c, left + h * cell, top + l * cell, cell, cell, rgb);
        }
    char num[16];
    int ly = canvas_tick_every(cell, CANVAS_GLYPH_H + 4);
    for (int l = 0; l < num_layers; l += ly) {
        snprintf(num, sizeof num, "%d", l);
        canvas_draw_text(&c, left - 8 - canvas_text_width(num), top + l * cell + cell / 2 - CANVAS_GLYPH_H / 2, num);
    }
    canvas_draw_text(&c, 8, top - CANVAS_GLYPH_H - 6, "LAYER");
    snprintf(num, sizeof num, "%d", num_kv_heads - 1);
    int hx = canvas_tick_every(cell, canvas_text_width(num) + 8);
    for (int h = 0; h < num_kv_heads; h += hx) {
        snprintf(num, sizeof num, "%d", h);
        canvas_draw_text(&c, left + h * cell + cell / 2 - canvas_text_width(num) / 2, top + grid_h + 6, num);
    }
    canvas_draw_text(&c, left + grid_w / 2 - canvas_text_width("KV HEAD") / 2, top + grid_h + 12 + CANVAS_GLYPH_H, "KV HEAD");
    /* colour bar: 1 at the top, 0 at the bottom */
    for (int y = 0; y < bar_h; y++) {
        uint8_t rgb[3];
        heatmap_coolwarm(1.0 - (double)y / (double)(bar_h - 1), rgb);
        canvas_fill_rect(&c, bar_x, top + y, bar_w, 1, rgb);
    }
    canvas_draw_text(&c, bar_x + bar_w + 6, top, "1");
    canvas_draw_text(&c, bar_x + bar_w + 6, top + bar_h / 2 - CANVAS_GLYPH_H / 2, "0.5");
    canvas_draw_text(&c, bar_x + bar_w + 6, top + bar_h - CANVAS_GLYPH_H, "0");
    int rc = canvas_write_png(&c, path, err);
    free(c.px);
    return rc;
}
