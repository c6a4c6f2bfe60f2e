/* A white RGB canvas to draw plots on, and its PNG writer (libpng, written atomically). */
#ifndef DUO_PATTERN_CANVAS_H
#define DUO_PATTERN_CANVAS_H

#include <stdint.h>

#include "data/error.h"

typedef struct {
    int w, h;
    uint8_t *px; /* [h][w][3] RGB, row-major */
} duo_canvas;

/* Glyphs are 5x7 pixels drawn at CANVAS_SCALE, one column of space after each; the descenders of g, j,
 * p, q, y and ',' take one more font row below (CANVAS_SCALE pixels under CANVAS_GLYPH_H).  The font
 * has all of ASCII's letters, digits and punctuation; other characters are drawn blank. */
enum { CANVAS_SCALE = 2, CANVAS_GLYPH_W = 6 * CANVAS_SCALE, CANVAS_GLYPH_H = 7 * CANVAS_SCALE };

/* Fills [x0, x0+w) x [y0, y0+h), clipped to the canvas. */
void canvas_fill_rect(duo_canvas *c, int x0, int y0, int w, int h, const uint8_t rgb[3]);
/* Black text with its top-left corner at (x, y); characters the font lacks are left blank. */
void canvas_draw_text(duo_canvas *c, int x, int y, const char *s);
int canvas_text_width(const char *s);
/* Text in colour rgb at `scale` canvas pixels per font pixel (canvas_draw_text is scale CANVAS_SCALE),
 * and its width in pixels (0 for ""; a UTF-8 character counts as one glyph). */
void canvas_draw_text_ex(duo_canvas *c, int x, int y, const char *s, const uint8_t rgb[3], int scale);
int canvas_text_width_ex(const char *s, int scale);
/* The same text turned 90 degrees anticlockwise, reading bottom to top: (x, y) is the top-left corner
 * of its box, 8 * scale wide and canvas_text_width_ex(s, scale) tall. */
void canvas_draw_text_up(duo_canvas *c, int x, int y, const char *s, const uint8_t rgb[3], int scale);
/* Anti-aliased drawing in canvas coordinates where pixel (i, j) is centred on (i, j), blended over
 * what is there and clipped to the canvas: a line `width` pixels thick with round ends, a filled disk
 * of radius r (pixels within r - 0.5 of the centre get exactly rgb), a 1-pixel rectangle outline. */
void canvas_draw_line(duo_canvas *c, double x0, double y0, double x1, double y1, double width, const uint8_t rgb[3]);
void canvas_fill_circle(duo_canvas *c, double cx, double cy, double r, const uint8_t rgb[3]);
void canvas_draw_rect(duo_canvas *c, int x0, int y0, int w, int h, const uint8_t rgb[3]);
/* Label every k-th index, k in 1, 2, 5, 10, 20, ..., so that labels `span` pixels wide on cells of
 * `cell` pixels do not overlap. */
int canvas_tick_every(int cell, int span);
/* Writes the canvas to path (through path.tmp.<pid>, fsync'd, renamed into place). */
int canvas_write_png(const duo_canvas *c, const char *path, duo_error *err);

#endif
