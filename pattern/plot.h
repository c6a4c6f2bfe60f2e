/* PNG plots for the sweep (DESIGN §4), drawn on pattern/canvas: a line plot (accuracy against
 * sparsity, one series per pattern) and a needle-in-a-haystack heat map (depth x context length).
 * Both are written atomically (temporary file, fsync, rename); errors name the path. */
#ifndef DUO_PATTERN_PLOT_H
#define DUO_PATTERN_PLOT_H

#include <stdint.h>

#include "data/error.h"

/* One series of a line plot: y[i] at x[i] (NaN y: a gap), drawn as a 2 px line with markers; series k
 * has its own marker shape (circle, square, triangle, diamond, down triangle, plus, in turn; earlier
 * series' markers up to 2 px larger) and, from the third series on, its own dashes, so coinciding series
 * stay readable. */
typedef struct { const char *label; const double *x, *y; int n; } plot_series;

/* The line plot's fixed layout: an 800 x 500 canvas; the plot area (frame, grid, data) spans pixels
 * PLOT_AREA_LEFT..PLOT_AREA_RIGHT and PLOT_AREA_TOP..PLOT_AREA_BOTTOM inclusive; (x_min, y_min) maps
 * to (LEFT, BOTTOM), (x_max, y_max) to (RIGHT, TOP).  Markers have radius PLOT_MARKER_R. */
enum {
    PLOT_W = 800, PLOT_H = 500,
    PLOT_AREA_LEFT = 100, PLOT_AREA_RIGHT = 776, PLOT_AREA_TOP = 52, PLOT_AREA_BOTTOM = 432,
    PLOT_MARKER_R = 4, PLOT_PALETTE_SIZE = 10
};

/* Where data point (x, y) lands on the line plot, as pixel coordinates (pixel (i, j) is centred on
 * (i, j); round to the nearest pixel). */
void plot_data_to_pixel(double x, double y, double x_min, double x_max, double y_min, double y_max, double *px,
                        double *py);

/* Series k's colour: matplotlib's "tab10" palette, repeating after PLOT_PALETTE_SIZE series. */
void plot_palette(int k, uint8_t rgb[3]);

/* Line plot: title on top, axis labels, ticks with numbers on both axes (x and y ranges given; pass
 * y_min 0, y_max 1 for accuracy), a light grid, a legend box naming each series in its colour (placed in
 * the corner of the plot area that covers the fewest data points), PLOT_W x PLOT_H px.  Points outside
 * the ranges are clipped.  Atomic write. */
int plot_lines_png(const char *path, const char *title, const char *x_label, const char *y_label,
                   double x_min, double x_max, double y_min, double y_max,
                   const plot_series *series, int nseries, duo_error *err);

/* matplotlib's "RdYlGn" (ColorBrewer's 11 classes, linearly interpolated) at t in [0,1] (clipped):
 * low red, 0.5 pale yellow, high green; NaN is grey (128, 128, 128). */
void plot_rdylgn(double t, uint8_t rgb[3]);

/* The heat map's layout, from the same arguments plot_heatmap_png takes: canvas w x h; cell (r, c)
 * is the cell_w x cell_h block from (grid_x + c * cell_w, grid_y + r * cell_h), its last column and row
 * white when cells are at least 8 px (a line between cells); the colour bar covers
 * [bar_x, bar_x + bar_w) x [bar_y, bar_y + bar_h), v_max in its top row and v_min in its bottom row.
 * Returns -1 for an empty or over-large (> 4096) grid. */
typedef struct {
    int w, h, grid_x, grid_y, cell_w, cell_h, bar_x, bar_y, bar_w, bar_h;
} plot_heatmap_geom;
int plot_heatmap_geometry(const char *title, const char *x_label, const char *y_label,
                          const char *const *row_labels, int nrows, const char *const *col_labels, int ncols,
                          plot_heatmap_geom *g);

/* Heat map like the reference's needle-in-a-haystack plot (duo-attention eval/needle/visualize.py):
 * rows = document depth percents (row labels top to bottom), columns = context lengths (column labels,
 * e.g. "1K", "32K"), values[r * ncols + c] in [v_min, v_max] (clipped) mapped through plot_rdylgn (NaN
 * grey), a colour bar labelled v_min, mid, v_max, title, x label, y label.  Cells are 24..80 px wide and
 * 24..40 px tall, smaller only for grids too big for that.  NULL labels are drawn empty. */
int plot_heatmap_png(const char *path, const char *title, const char *x_label, const char *y_label,
                     const char *const *row_labels, int nrows, const char *const *col_labels, int ncols,
                     const double *values, double v_min, double v_max, duo_error *err);

#endif
