/* A white RGB canvas to draw plots on, and its PNG writer (libpng, written atomically). */
#ifndef DUO_PATTERN_CANVAS_H
#define DUO_PATTERN_CANVAS_H

#include <stdint.h>

#include "data/error.h"

typedef struct {
    int w, h;
    uint8_t *px; /* [h][w][3] RGB, row-major */
} duo_canvas;

/* Glyphs are 5x7 pixels drawn at CANVAS_SCALE, one column of space after each. */
enum { CANVAS_SCALE = 2, CANVAS_GLYPH_W = 6 * CANVAS_SCALE, CANVAS_GLYPH_H = 7 * CANVAS_SCALE };

/* Fills [x0, x0+w) x [y0, y0+h), clipped to the canvas. */
void canvas_fill_rect(duo_canvas *c, int x0, int y0, int w, int h, const uint8_t rgb[3]);
/* Black text with its top-left corner at (x, y); characters the font lacks are left blank. */
void canvas_draw_text(duo_canvas *c, int x, int y, const char *s);
int canvas_text_width(const char *s);
/* Label every k-th index, k in 1, 2, 5, 10, 20, ..., so that labels `span` pixels wide on cells of
 * `cell` pixels do not overlap. */
int canvas_tick_every(int cell, int span);
/* Writes the canvas to path (through path.tmp.<pid>, fsync'd, renamed into place). */
int canvas_write_png(const duo_canvas *c, const char *path, duo_error *err);

#endif
