/* The sweep's plots on pattern/canvas: a line plot and a needle-in-a-haystack heat map. */
#include "pattern/plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern/canvas.h"

static const uint8_t INK[3] = {0, 0, 0}, WHITE[3] = {255, 255, 255}, GRID[3] = {228, 228, 228},
                     FRAME[3] = {90, 90, 90}, LEGEND_EDGE[3] = {170, 170, 170};

enum { TEXT_H = CANVAS_GLYPH_H, TEXT_BOX = 8 * CANVAS_SCALE /* with descenders */ };

static const char *nz(const char *s) { return s ? s : ""; }
static int imax(int a, int b) { return a > b ? a : b; }

/* matplotlib's tab10. */
static const uint8_t PALETTE[PLOT_PALETTE_SIZE][3] = {
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
    {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207},
};

void plot_palette(int k, uint8_t rgb[3]) {
    k %= PLOT_PALETTE_SIZE;
    if (k < 0) k += PLOT_PALETTE_SIZE;
    memcpy(rgb, PALETTE[k], 3);
}

/* ColorBrewer RdYlGn, 11 classes (what matplotlib's "RdYlGn" interpolates). */
static const uint8_t RDYLGN[11][3] = {
    {165, 0, 38},    {215, 48, 39},   {244, 109, 67}, {253, 174, 97}, {254, 224, 139}, {255, 255, 191},
    {217, 239, 139}, {166, 217, 106}, {102, 189, 99}, {26, 152, 80},  {0, 104, 55},
};

void plot_rdylgn(double t, uint8_t rgb[3]) {
    if (isnan(t)) {
        rgb[0] = rgb[1] = rgb[2] = 128;
        return;
    }
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double x = t * 10.0;
    int i = (int)x;
    if (i >= 10) i = 9;
    double f = x - i;
    for (int c = 0; c < 3; c++) rgb[c] = (uint8_t)lround(RDYLGN[i][c] * (1 - f) + RDYLGN[i + 1][c] * f);
}

static int canvas_new(duo_canvas *c, int w, int h, const char *path, duo_error *err) {
    c->w = w;
    c->h = h;
    c->px = malloc((size_t)w * (size_t)h * 3);
    if (!c->px) return duo_fail(err, "%s: out of memory for a %d x %d plot", path, w, h);
    memset(c->px, 255, (size_t)w * (size_t)h * 3);
    return 0;
}

/* Text centred on x (left-aligned at `margin` when it is wider than the canvas allows). */
static void text_centred(duo_canvas *c, int x, int y, const char *s, const uint8_t rgb[3], int margin) {
    int w = canvas_text_width_ex(s, CANVAS_SCALE), x0 = x - w / 2;
    if (x0 + w > c->w - margin) x0 = c->w - margin - w;
    if (x0 < margin) x0 = margin;
    canvas_draw_text_ex(c, x0, y, s, rgb, CANVAS_SCALE);
}

/* ---- line plot ---- */

void plot_data_to_pixel(double x, double y, double x_min, double x_max, double y_min, double y_max, double *px,
                        double *py) {
    *px = PLOT_AREA_LEFT + (x - x_min) / (x_max - x_min) * (PLOT_AREA_RIGHT - PLOT_AREA_LEFT);
    *py = PLOT_AREA_BOTTOM - (y - y_min) / (y_max - y_min) * (PLOT_AREA_BOTTOM - PLOT_AREA_TOP);
}

enum { MAX_TICKS = 32 };

/* Round tick positions over [lo, hi]: a step of 1, 2, 2.5 or 5 x 10^k giving about `target` intervals;
 * writes the values and their labels, returns the count. */
static int make_ticks(double lo, double hi, int target, double *val, char lab[][32]) {
    double raw = (hi - lo) / target, p = pow(10, floor(log10(raw))), m = raw / p;
    double step = (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * p;
    int dec = 0;
    while (dec < 12 && fabs(step * pow(10, dec) - nearbyint(step * pow(10, dec))) > 1e-6 * step * pow(10, dec)) dec++;
    double k0 = ceil(lo / step - 1e-9), k1 = floor(hi / step + 1e-9);
    int n = 0;
    for (double k = k0; k <= k1 && n < MAX_TICKS; k++) {
        double v = k * step;
        if (fabs(v) < step * 1e-9) v = 0;
        val[n] = v;
        snprintf(lab[n], 32, "%.*f", dec, v);
        n++;
    }
    return n;
}

/* Ticks whose labels do not crowd: the largest target of 8..2 whose labels fit `gap` pixels apart. */
static int axis_ticks(double lo, double hi, int length_px, int vertical, double *val, char lab[][32]) {
    int n = 0;
    for (int target = vertical ? 6 : 8; target >= 2; target--) {
        n = make_ticks(lo, hi, target, val, lab);
        if (n < 2) continue;
        double spacing = (val[1] - val[0]) / (hi - lo) * length_px;
        int need = 0;
        for (int i = 0; i < n; i++) need = imax(need, vertical ? TEXT_BOX : canvas_text_width_ex(lab[i], CANVAS_SCALE));
        if (spacing >= need + (vertical ? 10 : 16)) break;
    }
    return n;
}

/* Liang-Barsky: clips the segment to the plot area; 0 when nothing is left. */
static int clip_segment(double *x0, double *y0, double *x1, double *y1) {
    double t0 = 0, t1 = 1, dx = *x1 - *x0, dy = *y1 - *y0;
    double p[4] = {-dx, dx, -dy, dy};
    double q[4] = {*x0 - PLOT_AREA_LEFT, PLOT_AREA_RIGHT - *x0, *y0 - PLOT_AREA_TOP, PLOT_AREA_BOTTOM - *y0};
    for (int i = 0; i < 4; i++) {
        if (p[i] == 0) {
            if (q[i] < 0) return 0;
            continue;
        }
        double r = q[i] / p[i];
        if (p[i] < 0) {
            if (r > t1) return 0;
            if (r > t0) t0 = r;
        } else {
            if (r < t0) return 0;
            if (r < t1) t1 = r;
        }
    }
    double ax = *x0 + t0 * dx, ay = *y0 + t0 * dy;
    *x1 = *x0 + t1 * dx;
    *y1 = *y0 + t1 * dy;
    *x0 = ax;
    *y0 = ay;
    return 1;
}

static int in_area(double px, double py) {
    return px >= PLOT_AREA_LEFT - 0.5 && px <= PLOT_AREA_RIGHT + 0.5 && py >= PLOT_AREA_TOP - 0.5 &&
           py <= PLOT_AREA_BOTTOM + 0.5;
}

typedef struct { double x_min, x_max, y_min, y_max; } ranges;

static int point_px(const ranges *r, const plot_series *s, int i, double *px, double *py) {
    if (!isfinite(s->x[i]) || !isfinite(s->y[i])) return 0;
    plot_data_to_pixel(s->x[i], s->y[i], r->x_min, r->x_max, r->y_min, r->y_max, px, py);
    return 1;
}

/* Series k's look, so that lines that coincide stay apart: its marker shape (circle, square, triangle,
 * diamond, down triangle, plus, then again), drawn larger for earlier series (up to 2 px, so a marker
 * drawn later on the same point leaves a rim of the one below), and its line's dashes (solid for the
 * first two series, then dashed, dotted, dash-dotted, in turn).  Every marker covers its centre and
 * 2 px either way. */
static void draw_marker(duo_canvas *c, int k, double px, double py, int r, const uint8_t col[3]) {
    int shape = k % 6;
    if (shape == 0) {
        canvas_fill_circle(c, px, py, r, col);
        return;
    }
    int cx = (int)lround(px), cy = (int)lround(py);
    for (int dy = -r - 1; dy <= r + 1; dy++)
        for (int dx = -r - 1; dx <= r + 1; dx++) {
            int ady = abs(dy), adx = abs(dx), in;
            switch (shape) {
            case 1: in = adx <= r - 1 && ady <= r - 1; break;                                /* square */
            case 2: in = dy <= r && 9 * adx <= 5 * (dy + r + 1); break;                      /* triangle */
            case 3: in = adx + ady <= r + 1; break;                                          /* diamond */
            case 4: in = dy >= -r && 9 * adx <= 5 * (r + 1 - dy); break;                     /* down triangle */
            default: in = (adx <= 1 && ady <= r + 1) || (ady <= 1 && adx <= r + 1); break; /* plus */
            }
            if (in) canvas_fill_rect(c, cx + dx, cy + dy, 1, 1, col);
        }
}

static void draw_series_line(duo_canvas *c, int k, double ax, double ay, double bx, double by, const uint8_t col[3]) {
    static const double on[4] = {0, 9, 3, 9}, off[4] = {0, 5, 4, 4}; /* px; the 4th adds a dot per gap */
    int dash = k < 2 ? 0 : 1 + (k - 2) % 3;
    if (!dash) {
        canvas_draw_line(c, ax, ay, bx, by, 2.0, col);
        return;
    }
    double len = hypot(bx - ax, by - ay), ux = len > 0 ? (bx - ax) / len : 0, uy = len > 0 ? (by - ay) / len : 0;
    for (double t = 0; t < len; t += on[dash] + off[dash]) {
        double t1 = t + on[dash] < len ? t + on[dash] : len;
        canvas_draw_line(c, ax + ux * t, ay + uy * t, ax + ux * t1, ay + uy * t1, 2.0, col);
        if (dash == 3 && t1 + 2 < len) canvas_fill_circle(c, ax + ux * (t1 + 2), ay + uy * (t1 + 2), 1.2, col);
    }
}

/* How much of the data a legend box at (x, y, w, h) would hide: markers weigh 8, line samples 1. */
static long legend_cost(const ranges *r, const plot_series *series, int nseries, int x, int y, int w, int h) {
    long cost = 0;
    double x0 = x - 6, x1 = x + w + 6, y0 = y - 6, y1 = y + h + 6;
    for (int k = 0; k < nseries; k++) {
        const plot_series *s = &series[k];
        double ppx = 0, ppy = 0;
        int prev = 0;
        for (int i = 0; i < s->n; i++) {
            double px, py;
            int ok = point_px(r, s, i, &px, &py);
            if (ok && px >= x0 && px <= x1 && py >= y0 && py <= y1) cost += 8;
            if (ok && prev) {
                double ax = ppx, ay = ppy, bx = px, by = py;
                if (clip_segment(&ax, &ay, &bx, &by)) {
                    int steps = (int)(hypot(bx - ax, by - ay) / 3) + 1;
                    for (int j = 0; j <= steps; j++) {
                        double sx = ax + (bx - ax) * j / steps, sy = ay + (by - ay) * j / steps;
                        cost += sx >= x0 && sx <= x1 && sy >= y0 && sy <= y1;
                    }
                }
            }
            prev = ok;
            ppx = px;
            ppy = py;
        }
    }
    return cost;
}

int plot_lines_png(const char *path, const char *title, const char *x_label, const char *y_label,
                   double x_min, double x_max, double y_min, double y_max,
                   const plot_series *series, int nseries, duo_error *err) {
    if (!path) return duo_fail(err, "line plot: no output path");
    if (!(isfinite(x_min) && isfinite(x_max) && x_min < x_max))
        return duo_fail(err, "%s: x range [%g, %g] is empty or not finite", path, x_min, x_max);
    if (!(isfinite(y_min) && isfinite(y_max) && y_min < y_max))
        return duo_fail(err, "%s: y range [%g, %g] is empty or not finite", path, y_min, y_max);
    if (nseries < 1 || !series) return duo_fail(err, "%s: no series to plot", path);
    for (int k = 0; k < nseries; k++) {
        if (series[k].n < 1) return duo_fail(err, "%s: series %d (\"%s\") has no points", path, k, nz(series[k].label));
        if (!series[k].x || !series[k].y)
            return duo_fail(err, "%s: series %d (\"%s\") has no x or y values", path, k, nz(series[k].label));
    }
    duo_canvas c;
    if (canvas_new(&c, PLOT_W, PLOT_H, path, err)) return -1;
    ranges r = {x_min, x_max, y_min, y_max};
    const int L = PLOT_AREA_LEFT, R = PLOT_AREA_RIGHT, T = PLOT_AREA_TOP, B = PLOT_AREA_BOTTOM;

    /* grid and ticks */
    double xv[MAX_TICKS], yv[MAX_TICKS];
    char xl[MAX_TICKS][32], yl[MAX_TICKS][32];
    int nx = axis_ticks(x_min, x_max, R - L, 0, xv, xl), ny = axis_ticks(y_min, y_max, B - T, 1, yv, yl);
    int ytick_w = 0;
    for (int i = 0; i < nx; i++) {
        double px, py;
        plot_data_to_pixel(xv[i], y_min, x_min, x_max, y_min, y_max, &px, &py);
        int x = (int)lround(px);
        canvas_fill_rect(&c, x, T, 1, B - T, GRID);
        canvas_fill_rect(&c, x, B, 1, 6, FRAME);
        text_centred(&c, x, B + 10, xl[i], INK, 2);
    }
    for (int i = 0; i < ny; i++) {
        double px, py;
        plot_data_to_pixel(x_min, yv[i], x_min, x_max, y_min, y_max, &px, &py);
        int y = (int)lround(py), w = canvas_text_width_ex(yl[i], CANVAS_SCALE);
        ytick_w = imax(ytick_w, w);
        canvas_fill_rect(&c, L + 1, y, R - L - 1, 1, GRID);
        canvas_fill_rect(&c, L - 6, y, 6, 1, FRAME);
        canvas_draw_text_ex(&c, L - 10 - w, y - TEXT_H / 2, yl[i], INK, CANVAS_SCALE);
    }
    canvas_draw_rect(&c, L, T, R - L + 1, B - T + 1, FRAME);

    /* titles */
    text_centred(&c, PLOT_W / 2, 18, nz(title), INK, 8);
    text_centred(&c, (L + R) / 2, B + 10 + TEXT_BOX + 12, nz(x_label), INK, 8);
    int yw = canvas_text_width_ex(nz(y_label), CANVAS_SCALE), yx = L - 10 - ytick_w - 14 - TEXT_BOX;
    if (yx < 4) yx = 4;
    int yy = (T + B) / 2 - yw / 2;
    if (yy < 4) yy = 4;
    canvas_draw_text_up(&c, yx, yy, nz(y_label), INK, CANVAS_SCALE);

    /* series: lines first, markers on top, in series order */
    for (int k = 0; k < nseries; k++) {
        const plot_series *s = &series[k];
        uint8_t col[3];
        plot_palette(k, col);
        double ppx = 0, ppy = 0;
        int prev = 0;
        for (int i = 0; i < s->n; i++) {
            double px, py;
            int ok = point_px(&r, s, i, &px, &py);
            if (ok && prev) {
                double ax = ppx, ay = ppy, bx = px, by = py;
                if (clip_segment(&ax, &ay, &bx, &by)) draw_series_line(&c, k, ax, ay, bx, by, col);
            }
            prev = ok;
            ppx = px;
            ppy = py;
        }
        for (int i = 0; i < s->n; i++) {
            double px, py;
            int grow = nseries - 1 - k < 2 ? nseries - 1 - k : 2;
            if (point_px(&r, s, i, &px, &py) && in_area(px, py)) draw_marker(&c, k, px, py, PLOT_MARKER_R + grow, col);
        }
    }

    /* legend: the candidate place that hides the least data */
    int lw = 0;
    for (int k = 0; k < nseries; k++) lw = imax(lw, canvas_text_width_ex(nz(series[k].label), CANVAS_SCALE));
    enum { ROW = 20, PAD = 8, SWATCH = 28 };
    int bw = PAD + SWATCH + 8 + lw + PAD, bh = PAD + ROW * nseries - (ROW - TEXT_BOX) + PAD;
    int cx[8] = {R - 10 - bw, L + 10, R - 10 - bw, L + 10, R - 10 - bw, L + 10, (L + R - bw) / 2, (L + R - bw) / 2};
    int cy[8] = {T + 10, T + 10, B - 10 - bh, B - 10 - bh, (T + B - bh) / 2, (T + B - bh) / 2, T + 10, B - 10 - bh};
    int best = 0;
    long best_cost = -1;
    for (int i = 0; i < 8; i++) {
        long cost = legend_cost(&r, series, nseries, cx[i], cy[i], bw, bh);
        if (best_cost < 0 || cost < best_cost) best = i, best_cost = cost;
    }
    int bx = cx[best], by = cy[best];
    canvas_fill_rect(&c, bx, by, bw, bh, WHITE);
    canvas_draw_rect(&c, bx, by, bw, bh, LEGEND_EDGE);
    for (int k = 0; k < nseries; k++) {
        uint8_t col[3];
        plot_palette(k, col);
        int ty = by + PAD + k * ROW, my = ty + TEXT_H / 2;
        draw_series_line(&c, k, bx + PAD, my, bx + PAD + SWATCH, my, col);
        draw_marker(&c, k, bx + PAD + SWATCH / 2.0, my, PLOT_MARKER_R, col);
        canvas_draw_text_ex(&c, bx + PAD + SWATCH + 8, ty, nz(series[k].label), col, CANVAS_SCALE);
    }

    int rc = canvas_write_png(&c, path, err);
    free(c.px);
    return rc;
}

/* ---- heat map ---- */

enum { HM_MARGIN = 16, HM_BAR_W = 20, HM_MAX_CELLS = 4096 };

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static int max_label_w(const char *const *labels, int n) {
    int w = 0;
    for (int i = 0; labels && i < n; i++) w = imax(w, canvas_text_width_ex(nz(labels[i]), CANVAS_SCALE));
    return w;
}

int plot_heatmap_geometry(const char *title, const char *x_label, const char *y_label,
                          const char *const *row_labels, int nrows, const char *const *col_labels, int ncols,
                          plot_heatmap_geom *g) {
    if (nrows < 1 || ncols < 1 || nrows > HM_MAX_CELLS || ncols > HM_MAX_CELLS) return -1;
    int rw = max_label_w(row_labels, nrows), cw = max_label_w(col_labels, ncols);
    /* cells 24..80 px wide (wide enough for the column labels when that fits in 1600 px) and 24..40 px
     * tall; big grids get smaller cells */
    g->cell_w = clampi(960 / ncols, 24, 80);
    if (g->cell_w < cw + 8 && (cw + 8) * ncols <= 1600) g->cell_w = cw + 8;
    if (g->cell_w * ncols > 1600) g->cell_w = imax(1, 1600 / ncols);
    g->cell_h = clampi(520 / nrows, 24, 40);
    if (g->cell_h * nrows > 1000) g->cell_h = imax(1, 1000 / nrows);
    int grid_w = g->cell_w * ncols, grid_h = g->cell_h * nrows;
    int has_y = y_label && *y_label;
    g->grid_x = HM_MARGIN + (has_y ? TEXT_BOX + 12 : 0) + rw + 10;
    g->grid_y = HM_MARGIN + TEXT_BOX + 14;
    g->bar_x = g->grid_x + grid_w + 24;
    g->bar_y = g->grid_y;
    g->bar_w = HM_BAR_W;
    g->bar_h = imax(grid_h, 160);
    int bar_label_w = canvas_text_width_ex("-1.2e+05", CANVAS_SCALE); /* fmt_value's longest */
    g->w = imax(g->bar_x + g->bar_w + 8 + bar_label_w + HM_MARGIN,
                2 * HM_MARGIN + canvas_text_width_ex(nz(title), CANVAS_SCALE));
    int below = 8 + TEXT_BOX + (x_label && *x_label ? 12 + TEXT_BOX : 0);
    g->h = g->grid_y + imax(grid_h + below, g->bar_h) + HM_MARGIN;
    return 0;
}

/* A colour bar label of at most 8 characters. */
static void fmt_value(char *buf, size_t n, double v) {
    if (fabs(v) < 1e-12) v = 0;
    snprintf(buf, n, "%.4g", v);
    if (strlen(buf) > 8) snprintf(buf, n, "%.2g", v);
    if (strlen(buf) > 8) snprintf(buf, n, "%.1g", v);
}

int plot_heatmap_png(const char *path, const char *title, const char *x_label, const char *y_label,
                     const char *const *row_labels, int nrows, const char *const *col_labels, int ncols,
                     const double *values, double v_min, double v_max, duo_error *err) {
    if (!path) return duo_fail(err, "heat map: no output path");
    if (nrows < 1 || ncols < 1) return duo_fail(err, "%s: empty heat map (%d rows x %d columns)", path, nrows, ncols);
    if (nrows > HM_MAX_CELLS || ncols > HM_MAX_CELLS)
        return duo_fail(err, "%s: heat map of %d x %d cells is too big (at most %d a side)", path, nrows, ncols,
                        HM_MAX_CELLS);
    if (!values) return duo_fail(err, "%s: no heat map values", path);
    if (!(isfinite(v_min) && isfinite(v_max) && v_min < v_max))
        return duo_fail(err, "%s: value range [%g, %g] is empty or not finite", path, v_min, v_max);
    plot_heatmap_geom g;
    plot_heatmap_geometry(title, x_label, y_label, row_labels, nrows, col_labels, ncols, &g);
    duo_canvas c;
    if (canvas_new(&c, g.w, g.h, path, err)) return -1;
    int gap = g.cell_w >= 8 && g.cell_h >= 8; /* white lines between cells */
    int grid_w = g.cell_w * ncols, grid_h = g.cell_h * nrows;

    for (int r = 0; r < nrows; r++)
        for (int k = 0; k < ncols; k++) {
            uint8_t rgb[3];
            double v = values[(size_t)r * (size_t)ncols + (size_t)k];
            plot_rdylgn(isnan(v) ? v : (v - v_min) / (v_max - v_min), rgb);
            canvas_fill_rect(&c, g.grid_x + k * g.cell_w, g.grid_y + r * g.cell_h, g.cell_w - gap, g.cell_h - gap, rgb);
        }

    text_centred(&c, g.w / 2, HM_MARGIN, nz(title), INK, HM_MARGIN);
    /* row labels, right-aligned beside their rows */
    int rstep = canvas_tick_every(g.cell_h, TEXT_BOX + 4);
    for (int r = 0; row_labels && r < nrows; r += rstep) {
        const char *s = nz(row_labels[r]);
        canvas_draw_text_ex(&c, g.grid_x - 10 - canvas_text_width_ex(s, CANVAS_SCALE),
                            g.grid_y + r * g.cell_h + (g.cell_h - gap) / 2 - TEXT_H / 2, s, INK, CANVAS_SCALE);
    }
    int cstep = canvas_tick_every(g.cell_w, max_label_w(col_labels, ncols) + 8);
    for (int k = 0; col_labels && k < ncols; k += cstep) {
        const char *s = nz(col_labels[k]);
        canvas_draw_text_ex(&c, g.grid_x + k * g.cell_w + (g.cell_w - gap) / 2 - canvas_text_width_ex(s, CANVAS_SCALE) / 2,
                            g.grid_y + grid_h + 8, s, INK, CANVAS_SCALE);
    }
    if (x_label && *x_label) text_centred(&c, g.grid_x + grid_w / 2, g.grid_y + grid_h + 8 + TEXT_BOX + 12, x_label, INK, 4);
    if (y_label && *y_label) {
        int yw = canvas_text_width_ex(y_label, CANVAS_SCALE), yy = g.grid_y + grid_h / 2 - yw / 2;
        canvas_draw_text_up(&c, HM_MARGIN, yy < 4 ? 4 : yy, y_label, INK, CANVAS_SCALE);
    }

    /* colour bar: v_max on top */
    for (int y = 0; y < g.bar_h; y++) {
        uint8_t rgb[3];
        plot_rdylgn(1.0 - (double)y / (double)(g.bar_h - 1), rgb);
        canvas_fill_rect(&c, g.bar_x, g.bar_y + y, g.bar_w, 1, rgb);
    }
    canvas_draw_rect(&c, g.bar_x - 1, g.bar_y - 1, g.bar_w + 2, g.bar_h + 2, LEGEND_EDGE);
    char num[32];
    int lx = g.bar_x + g.bar_w + 8;
    fmt_value(num, sizeof num, v_max);
    canvas_draw_text_ex(&c, lx, g.bar_y, num, INK, CANVAS_SCALE);
    fmt_value(num, sizeof num, (v_min + v_max) / 2);
    canvas_draw_text_ex(&c, lx, g.bar_y + g.bar_h / 2 - TEXT_H / 2, num, INK, CANVAS_SCALE);
    fmt_value(num, sizeof num, v_min);
    canvas_draw_text_ex(&c, lx, g.bar_y + g.bar_h - TEXT_H, num, INK, CANVAS_SCALE);

    int rc = canvas_write_png(&c, path, err);
    free(c.px);
    return rc;
}
