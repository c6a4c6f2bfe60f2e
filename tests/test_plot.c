/* The sweep's PNG plots (pattern/plot) and the canvas primitives under them (pattern/canvas): sizes,
 * pixel colours at the places the documented layout puts things, and errors for bad input. */
#include "harness.h"

#include <png.h>
#include <stdint.h>
#include <sys/stat.h>

#include "pattern/canvas.h"
#include "pattern/plot.h"

typedef struct { unsigned char *px; int w, h; } image;

/* Reads a PNG back with libpng; fails unless it is 8-bit RGB (no alpha, no palette, not grey). */
static int read_rgb_png(const char *path, image *im) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path)) return -1;
    int ok = img.format == PNG_FORMAT_RGB;
    FILE *f = fopen(path, "rb");
    unsigned char hdr[26] = {0};
    ok = ok && f && fread(hdr, 1, sizeof hdr, f) == sizeof hdr && hdr[24] == 8 && hdr[25] == 2; /* IHDR: depth, RGB */
    if (f) fclose(f);
    im->px = ok ? malloc(PNG_IMAGE_SIZE(img)) : NULL;
    if (!im->px || !png_image_finish_read(&img, NULL, im->px, 0, NULL)) {
        free(im->px);
        png_image_free(&img);
        return -1;
    }
    im->w = (int)img.width;
    im->h = (int)img.height;
    return 0;
}

static const unsigned char *pix(const image *im, int x, int y) { return im->px + 3 * ((size_t)y * (size_t)im->w + (size_t)x); }
static int is_rgb(const unsigned char *p, const uint8_t c[3]) { return p[0] == c[0] && p[1] == c[1] && p[2] == c[2]; }
static int is_white(const unsigned char *p) { return p[0] == 255 && p[1] == 255 && p[2] == 255; }

/* Pixels of exactly colour c in the rectangle [x0, x1) x [y0, y1). */
static int count_rgb(const image *im, int x0, int y0, int x1, int y1, const uint8_t c[3]) {
    int n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) n += is_rgb(pix(im, x, y), c);
    return n;
}

static void tmp_path(char *buf, size_t n, const char *dir, const char *name) { snprintf(buf, n, "%s/%s", dir, name); }

/* Where the sample PNGs go: $DUO_PLOT_SAMPLE_DIR when set (to look at them), else a scratch dir. */
static const char *sample_dir(void) {
    const char *d = getenv("DUO_PLOT_SAMPLE_DIR");
    return d ? d : test_tmpdir();
}

TEST(font_has_every_label_character) {
    const char *need = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.,:;-_+=%()[]/<>'\"#*&@!?";
    for (const char *s = need; *s; s++) {
        uint8_t px[16 * 20 * 3];
        duo_canvas c = {16, 20, px};
        memset(px, 255, sizeof px);
        char one[2] = {*s, 0};
        canvas_draw_text(&c, 1, 1, one);
        int ink = 0;
        for (int i = 0; i < 16 * 20; i++) ink += px[3 * i] == 0;
        CHECK_MSG(ink >= 4 * 2, "'%c' draws %d ink pixels", *s, ink);
    }
    CHECK_EQ_INT(canvas_text_width("Ab c"), 4 * CANVAS_GLYPH_W - CANVAS_SCALE);
    /* lowercase differs from uppercase */
    uint8_t a[14 * 18 * 3], b[14 * 18 * 3];
    duo_canvas ca = {14, 18, a}, cb = {14, 18, b};
    memset(a, 255, sizeof a);
    memset(b, 255, sizeof b);
    canvas_draw_text(&ca, 1, 1, "e");
    canvas_draw_text(&cb, 1, 1, "E");
    CHECK(memcmp(a, b, sizeof a) != 0);
}

TEST(line_is_two_pixels_thick_and_disk_is_solid) {
    enum { W = 64, H = 64 };
    static uint8_t px[W * H * 3];
    duo_canvas c = {W, H, px};
    memset(px, 255, sizeof px);
    const uint8_t black[3] = {0, 0, 0};
    canvas_draw_line(&c, 8, 20, 56, 20, 2.0, black);
    for (int x = 12; x <= 52; x += 8) { /* ink summed down a column: the line's thickness */
        double ink = 0;
        for (int y = 0; y < H; y++) ink += (255 - px[3 * (y * W + x)]) / 255.0;
        CHECK_MSG(fabs(ink - 2.0) < 0.05, "column %d holds %.3f px of ink", x, ink);
    }
    memset(px, 255, sizeof px);
    canvas_draw_line(&c, 8, 8, 56, 56, 2.0, black); /* 45 degrees: 2 * sqrt(2) per column */
    double ink = 0;
    for (int y = 0; y < H; y++) ink += (255 - px[3 * (y * W + 32)]) / 255.0;
    CHECK_MSG(fabs(ink - 2.0 * sqrt(2.0)) < 0.2, "diagonal column holds %.3f px", ink);
    memset(px, 255, sizeof px);
    const uint8_t red[3] = {200, 10, 20};
    canvas_fill_circle(&c, 30, 30, 4, red);
    CHECK(memcmp(px + 3 * (30 * W + 30), red, 3) == 0 && memcmp(px + 3 * (30 * W + 33), red, 3) == 0);
    CHECK(px[3 * (30 * W + 36)] == 255 && px[3 * (22 * W + 22)] == 255);
    /* vertical text stays in its 8*scale x width box */
    memset(px, 255, sizeof px);
    canvas_draw_text_up(&c, 10, 5, "Ag", black, 2);
    int inside = 0, outside = 0, h = canvas_text_width_ex("Ag", 2);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            if (px[3 * (y * W + x)] == 0) *(x >= 10 && x < 26 && y >= 5 && y < 5 + h ? &inside : &outside) += 1;
    CHECK(inside > 20 && outside == 0);
}

TEST(rdylgn_ends_and_middle) {
    uint8_t c[3];
    plot_rdylgn(0.0, c);
    CHECK(c[0] == 165 && c[1] == 0 && c[2] == 38);
    plot_rdylgn(1.0, c);
    CHECK(c[0] == 0 && c[1] == 104 && c[2] == 55);
    plot_rdylgn(0.5, c);
    CHECK(c[0] == 255 && c[1] == 255 && c[2] == 191);
    plot_rdylgn(7.0, c);
    CHECK(c[1] == 104);
    plot_rdylgn(NAN, c);
    CHECK(c[0] == 128 && c[1] == 128 && c[2] == 128);
}

TEST(lines_png_markers_where_the_layout_says) {
    const char *dir = sample_dir();
    CHECK(dir);
    char path[700];
    tmp_path(path, sizeof path, dir, "accuracy.png");
    /* accuracy against sparsity: three patterns falling from the top left, one point out of range */
    double x[6] = {0.0, 0.2, 0.4, 0.6, 0.8, 0.9};
    double duo[6] = {1.0, 1.0, 0.95, 0.9, 0.7, 0.5}, rnd[6] = {1.0, 0.8, NAN, 0.3, 0.15, 0.1};
    double inv[6] = {0.98, 0.5, 0.25, 0.1, 0.0, -0.5};
    plot_series s[3] = {{"duo-train", x, duo, 6}, {"random", x, rnd, 6}, {"inverted", x, inv, 6}};
    duo_error err = {{0}};
    int rc = plot_lines_png(path, "Passkey accuracy vs sparsity", "sparsity", "accuracy", 0, 1, 0, 1, s, 3, &err);
    CHECK_MSG(rc == 0, "%.200s", err.msg);
    image im;
    CHECK_MSG(read_rgb_png(path, &im) == 0, "%s is not an 8-bit RGB PNG libpng can read", path);
    CHECK_EQ_INT(im.w, PLOT_W);
    CHECK_EQ_INT(im.h, PLOT_H);
    CHECK(PLOT_W >= 780 && PLOT_W <= 820 && PLOT_H >= 480 && PLOT_H <= 520);
    double px, py;
    plot_data_to_pixel(0, 0, 0, 1, 0, 1, &px, &py);
    CHECK(px == PLOT_AREA_LEFT && py == PLOT_AREA_BOTTOM);
    plot_data_to_pixel(1, 1, 0, 1, 0, 1, &px, &py);
    CHECK(px == PLOT_AREA_RIGHT && py == PLOT_AREA_TOP);
    /* markers in each series' colour at their data points (points no other series shares) */
    struct { int k; double x, y; } m[] = {{0, 0.4, 0.95}, {0, 0.6, 0.9}, {0, 0.8, 0.7}, {1, 0.2, 0.8},
                                          {1, 0.6, 0.3},  {2, 0.2, 0.5}, {2, 0.4, 0.25}, {2, 0.8, 0.0}};
    for (size_t i = 0; i < sizeof m / sizeof *m; i++) {
        uint8_t col[3];
        plot_palette(m[i].k, col);
        plot_data_to_pixel(m[i].x, m[i].y, 0, 1, 0, 1, &px, &py);
        int cx = (int)lround(px), cy = (int)lround(py);
        /* the marker's solid core: the centre and a pixel 2 px either way */
        for (int d = -2; d <= 2; d += 2)
            CHECK_MSG(is_rgb(pix(&im, cx + d, cy), col) && is_rgb(pix(&im, cx, cy + d), col),
                      "series %d marker at (%g, %g) -> pixel (%d, %d) is %d,%d,%d", m[i].k, m[i].x, m[i].y, cx, cy,
                      pix(&im, cx + d, cy)[0], pix(&im, cx + d, cy)[1], pix(&im, cx + d, cy)[2]);
    }
    /* the palette's first six colours are distinct */
    for (int a = 0; a < 6; a++)
        for (int b = a + 1; b < 6; b++) {
            uint8_t ca[3], cb[3];
            plot_palette(a, ca);
            plot_palette(b, cb);
            CHECK(abs(ca[0] - cb[0]) + abs(ca[1] - cb[1]) + abs(ca[2] - cb[2]) >= 60);
        }
    uint8_t c1[3], c2[3];
    plot_palette(1, c1);
    plot_palette(2, c2);
    /* "random" has a gap at x = 0.4: nothing of its colour between its 0.2 and 0.6 points, halfway */
    double ax, ay, bx, by;
    plot_data_to_pixel(0.2, 0.8, 0, 1, 0, 1, &ax, &ay);
    plot_data_to_pixel(0.6, 0.3, 0, 1, 0, 1, &bx, &by);
    int mx = (int)lround((ax + bx) / 2), my = (int)lround((ay + by) / 2);
    CHECK_EQ_INT(count_rgb(&im, mx - 6, my - 6, mx + 7, my + 7, c1), 0);
    /* and its line elsewhere is there: halfway between its 0.6 and 0.8 points */
    plot_data_to_pixel(0.6, 0.3, 0, 1, 0, 1, &ax, &ay);
    plot_data_to_pixel(0.8, 0.15, 0, 1, 0, 1, &bx, &by);
    mx = (int)lround((ax + bx) / 2), my = (int)lround((ay + by) / 2);
    CHECK(count_rgb(&im, mx - 2, my - 2, mx + 3, my + 3, c1) >= 2);
    /* inverted's y = -0.5 is out of range: clipped, nothing of its colour below the plot area (beyond the
     * markers on the x axis) */
    CHECK_EQ_INT(count_rgb(&im, 0, PLOT_AREA_BOTTOM + PLOT_MARKER_R + 2, PLOT_W, PLOT_H, c2), 0);
    /* white background inside the plot area away from data and grid lines; grid light grey, not white */
    plot_data_to_pixel(0.1, 0.1, 0, 1, 0, 1, &px, &py);
    CHECK(is_white(pix(&im, (int)lround(px), (int)lround(py))));
    plot_data_to_pixel(0.5, 0.4, 0, 1, 0, 1, &px, &py); /* a grid crossing (ticks every 0.1 or 0.2) */
    const unsigned char *g = pix(&im, (int)lround(px), (int)lround(py));
    CHECK_MSG(g[0] == g[1] && g[1] == g[2] && g[0] >= 200 && g[0] < 255, "grid pixel %d,%d,%d", g[0], g[1], g[2]);
    /* text: a title at the top, tick numbers below the axis and left of it */
    const uint8_t black[3] = {0, 0, 0};
    CHECK(count_rgb(&im, 0, 0, PLOT_W, PLOT_AREA_TOP - 8, black) > 100);
    CHECK(count_rgb(&im, PLOT_AREA_LEFT - 20, PLOT_AREA_BOTTOM + 6, PLOT_AREA_LEFT + 20, PLOT_AREA_BOTTOM + 30, black) > 10);
    CHECK(count_rgb(&im, 0, PLOT_AREA_TOP, PLOT_AREA_LEFT - 8, PLOT_AREA_BOTTOM, black) > 100);
    /* the legend goes where there is no data (the top right here) and names every series in its colour */
    for (int k = 0; k < 3; k++) {
        uint8_t col[3];
        plot_palette(k, col);
        CHECK_MSG(count_rgb(&im, (PLOT_AREA_LEFT + PLOT_AREA_RIGHT) / 2, PLOT_AREA_TOP, PLOT_AREA_RIGHT, PLOT_AREA_TOP + 100, col) > 60,
                  "series %d has no legend entry in the top right", k);
    }
    free(im.px);
}

TEST(heatmap_png_cells_green_red_grey) {
    const char *dir = sample_dir();
    CHECK(dir);
    char path[700];
    tmp_path(path, sizeof path, dir, "niah.png");
    enum { R = 11, C = 8 };
    const char *rows[R] = {"0", "10", "20", "30", "40", "50", "60", "70", "80", "90", "100"};
    const char *cols[C] = {"1K", "2K", "4K", "8K", "16K", "32K", "64K", "128K"};
    double v[R * C];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) v[r * C + c] = c < 4 ? 1.0 - 0.02 * r : (r * 7 + c * 3) % 11 / 10.0;
    v[0 * C + 0] = 1.0;  /* max: green */
    v[5 * C + 6] = 0.0;  /* min: red */
    v[3 * C + 2] = NAN;  /* grey */
    v[8 * C + 7] = -3.0; /* clipped to the min */
    duo_error err = {{0}};
    int rc = plot_heatmap_png(path, "Needle in a haystack: duo-train, 50% sparsity", "context length",
                              "depth percent", rows, R, cols, C, v, 0.0, 1.0, &err);
    CHECK_MSG(rc == 0, "%.200s", err.msg);
    plot_heatmap_geom g;
    CHECK(plot_heatmap_geometry("Needle in a haystack: duo-train, 50% sparsity", "context length", "depth percent",
                                rows, R, cols, C, &g) == 0);
    CHECK(g.cell_w >= 24 && g.cell_h >= 24);
    image im;
    CHECK_MSG(read_rgb_png(path, &im) == 0, "%s is not an 8-bit RGB PNG libpng can read", path);
    CHECK_EQ_INT(im.w, g.w);
    CHECK_EQ_INT(im.h, g.h);
#define CELL(r, c) pix(&im, g.grid_x + (c) * g.cell_w + g.cell_w / 2, g.grid_y + (r) * g.cell_h + g.cell_h / 2)
    const unsigned char *p = CELL(0, 0);
    CHECK_MSG(p[1] > p[0] + 60 && p[1] > p[2], "max cell is %d,%d,%d, not green", p[0], p[1], p[2]);
    p = CELL(5, 6);
    CHECK_MSG(p[0] > p[1] + 80 && p[0] > p[2] + 80, "min cell is %d,%d,%d, not red", p[0], p[1], p[2]);
    p = CELL(8, 7);
    CHECK(p[0] == 165 && p[1] == 0 && p[2] == 38);
    p = CELL(3, 2);
    CHECK_MSG(p[0] == 128 && p[1] == 128 && p[2] == 128, "NaN cell is %d,%d,%d", p[0], p[1], p[2]);
    /* every cell's middle has its value's colour */
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            uint8_t want[3];
            plot_rdylgn(v[r * C + c], want);
            CHECK_MSG(is_rgb(CELL(r, c), want), "cell (%d, %d)", r, c);
            CHECK(is_rgb(pix(&im, g.grid_x + c * g.cell_w + 1, g.grid_y + r * g.cell_h + 1), want));
        }
#undef CELL
    /* colour bar: green on top, red at the bottom */
    p = pix(&im, g.bar_x + g.bar_w / 2, g.bar_y);
    CHECK(p[0] == 0 && p[1] == 104 && p[2] == 55);
    p = pix(&im, g.bar_x + g.bar_w / 2, g.bar_y + g.bar_h - 1);
    CHECK(p[0] == 165 && p[1] == 0 && p[2] == 38);
    /* labels: ink left of the grid (row labels), below it (column labels), right of the bar (values) */
    const uint8_t black[3] = {0, 0, 0};
    CHECK(count_rgb(&im, 0, g.grid_y, g.grid_x, g.grid_y + R * g.cell_h, black) > 200);
    CHECK(count_rgb(&im, g.grid_x, g.grid_y + R * g.cell_h, g.grid_x + C * g.cell_w, g.h, black) > 200);
    CHECK(count_rgb(&im, g.bar_x + g.bar_w, g.bar_y, g.w, g.bar_y + g.bar_h, black) > 60);
    CHECK(count_rgb(&im, 0, 0, g.w, g.grid_y - 4, black) > 200);
    free(im.px);
}

TEST(heatmap_cells_shrink_for_big_grids) {
    enum { R = 200, C = 300 };
    static double v[R * C];
    for (int i = 0; i < R * C; i++) v[i] = (i % C) / (double)C;
    plot_heatmap_geom g;
    CHECK(plot_heatmap_geometry("t", "x", "y", NULL, R, NULL, C, &g) == 0);
    CHECK(g.cell_w >= 1 && g.cell_w < 24 && g.cell_h >= 1 && g.cell_h < 24 && g.w <= 2000 && g.h <= 1300);
    const char *dir = test_tmpdir();
    CHECK(dir);
    char path[700];
    tmp_path(path, sizeof path, dir, "big.png");
    duo_error err;
    CHECK_MSG(plot_heatmap_png(path, "t", "x", "y", NULL, R, NULL, C, v, 0, 1, &err) == 0, "%.200s", err.msg);
    image im;
    CHECK(read_rgb_png(path, &im) == 0 && im.w == g.w && im.h == g.h);
    free(im.px);
    /* a 1 x 1 grid: one readable cell */
    const char *one[1] = {"50"}, *len[1] = {"4K"};
    CHECK(plot_heatmap_geometry("t", "x", "y", one, 1, len, 1, &g) == 0);
    CHECK(g.cell_w >= 24 && g.cell_w <= 80 && g.cell_h >= 24 && g.cell_h <= 40);
}

TEST(bad_input_is_an_error_not_a_crash) {
    const char *dir = test_tmpdir();
    CHECK(dir);
    char path[700];
    tmp_path(path, sizeof path, dir, "bad.png");
    double x[2] = {0, 1}, y[2] = {0.5, 0.6};
    plot_series ok = {"a", x, y, 2}, empty = {"empty", x, y, 0}, nox = {"nox", NULL, y, 2};
    duo_error err;
#define FAILS(call, needle)                                                                   \
    do {                                                                                      \
        err.msg[0] = 0;                                                                       \
        CHECK_MSG((call) == -1, "%s did not fail", #call);                                   \
        CHECK_MSG(err.msg[0] && strstr(err.msg, needle), "%.100s: message \"%.300s\" lacks \"%.200s\"", #call, err.msg, needle); \
    } while (0)
    FAILS(plot_lines_png(NULL, "t", "x", "y", 0, 1, 0, 1, &ok, 1, &err), "path");
    FAILS(plot_lines_png(path, "t", "x", "y", 0, 1, 0, 1, &empty, 1, &err), path);
    CHECK(strstr(err.msg, "empty"));
    FAILS(plot_lines_png(path, "t", "x", "y", 0, 1, 0, 1, &nox, 1, &err), path);
    FAILS(plot_lines_png(path, "t", "x", "y", 1, 1, 0, 1, &ok, 1, &err), path);
    FAILS(plot_lines_png(path, "t", "x", "y", 2, 1, 0, 1, &ok, 1, &err), "x range");
    FAILS(plot_lines_png(path, "t", "x", "y", 0, NAN, 0, 1, &ok, 1, &err), "x range");
    FAILS(plot_lines_png(path, "t", "x", "y", 0, 1, 1, 0, &ok, 1, &err), "y range");
    FAILS(plot_lines_png(path, "t", "x", "y", 0, 1, 0, 1, &ok, 0, &err), path);
    FAILS(plot_lines_png(path, "t", "x", "y", 0, 1, 0, 1, NULL, 1, &err), path);
    const char *rl[2] = {"0", "100"}, *cl[2] = {"1K", "2K"};
    double v[4] = {0, 0.5, 1, NAN};
    FAILS(plot_heatmap_png(NULL, "t", "x", "y", rl, 2, cl, 2, v, 0, 1, &err), "path");
    FAILS(plot_heatmap_png(path, "t", "x", "y", rl, 0, cl, 2, v, 0, 1, &err), path);
    FAILS(plot_heatmap_png(path, "t", "x", "y", rl, 2, cl, -1, v, 0, 1, &err), path);
    FAILS(plot_heatmap_png(path, "t", "x", "y", rl, 2, cl, 2, NULL, 0, 1, &err), path);
    FAILS(plot_heatmap_png(path, "t", "x", "y", rl, 2, cl, 2, v, 1, 1, &err), "range");
    FAILS(plot_heatmap_png(path, "t", "x", "y", rl, 2, cl, 2, v, 0, INFINITY, &err), "range");
    FAILS(plot_heatmap_png(path, "t", "x", "y", rl, 100000, cl, 2, v, 0, 1, &err), "too big");
    struct stat st;
    CHECK(stat(path, &st) != 0); /* nothing written */
    /* a directory that does not exist: an error naming the path, no file */
    char missing[800];
    snprintf(missing, sizeof missing, "%s/no-such-dir/p.png", dir);
    FAILS(plot_lines_png(missing, "t", "x", "y", 0, 1, 0, 1, &ok, 1, &err), missing);
    FAILS(plot_heatmap_png(missing, "t", "x", "y", rl, 2, cl, 2, v, 0, 1, &err), missing);
    /* NULL titles and labels are drawn empty */
    CHECK(plot_lines_png(path, NULL, NULL, NULL, 0, 1, 0, 1, &ok, 1, &err) == 0);
    CHECK(plot_heatmap_png(path, NULL, NULL, NULL, NULL, 2, NULL, 2, v, 0, 1, &err) == 0);
#undef FAILS
}

/* Coinciding series stay readable: each has its own marker shape (a square's corner shows beside the
 * circle below it) and from the third on its own dashes (the solid line below shows through the gaps). */
TEST(coinciding_series_have_distinct_markers_and_dashes) {
    const char *dir = sample_dir();
    CHECK(dir);
    char path[700];
    tmp_path(path, sizeof path, dir, "coincide.png");
    double x[3] = {0, 0.5, 1}, y[3] = {0.5, 0.5, 0.5};
    plot_series s[3] = {{"pattern", x, y, 3}, {"random", x, y, 3}, {"otf", x, y, 3}};
    duo_error err = {{0}};
    CHECK_MSG(plot_lines_png(path, "t", "x", "y", 0, 1, 0, 1, s, 3, &err) == 0, "%.200s", err.msg);
    image im;
    CHECK(read_rgb_png(path, &im) == 0);
    uint8_t c0[3], c1[3], c2[3];
    plot_palette(0, c0);
    plot_palette(1, c1);
    plot_palette(2, c2);
    double px, py;
    plot_data_to_pixel(0.5, 0.5, 0, 1, 0, 1, &px, &py);
    int cx = (int)lround(px), cy = (int)lround(py);
    /* the triangle on top, the square's top corners beside its apex, outside any circle of radius 4 */
    CHECK_MSG(is_rgb(pix(&im, cx - 3, cy - 3), c1) || is_rgb(pix(&im, cx + 3, cy - 3), c1),
              "no square corner of series 1 at (%d, %d)", cx, cy);
    /* along the line between two markers: series 2's dashes and series 1 in their gaps, never series 0
     * alone (it lies under both) */
    plot_data_to_pixel(0.25, 0.5, 0, 1, 0, 1, &px, &py);
    int mx = (int)lround(px), my = (int)lround(py);
    CHECK(count_rgb(&im, mx - 40, my, mx + 40, my + 1, c2) >= 20);
    CHECK(count_rgb(&im, mx - 40, my, mx + 40, my + 1, c1) >= 10);
    CHECK_EQ_INT(count_rgb(&im, mx - 40, my, mx + 40, my + 1, c0), 0);
    free(im.px);
}

TEST_MAIN()
