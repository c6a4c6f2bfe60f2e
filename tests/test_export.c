/* Pattern export: directory names as the reference's f-string, numpy-savetxt TSV text, TSV reading,
 * binarisation by sparsity (the reference's quantile rule) and by threshold.  The byte-for-byte
 * comparison with numpy itself is tests/py/test_export_numpy.py. */
#include "data/fileio.h"
#include "tests/harness.h"
#include "pattern/export.h"
#include "pattern/heatmap.h"
#include <png.h>
#include "pattern/pyfloat.h"

TEST(python_float_repr) {
    char b[40];
    CHECK_STR(py_float_repr(0.02, b, sizeof b), "0.02");
    CHECK_STR(py_float_repr(0.05, b, sizeof b), "0.05");
    CHECK_STR(py_float_repr(1.0, b, sizeof b), "1.0");
    CHECK_STR(py_float_repr(1e-05, b, sizeof b), "1e-05");
    CHECK_STR(py_float_repr(0.0001, b, sizeof b), "0.0001");
    CHECK_STR(py_float_repr(0.1 + 0.2, b, sizeof b), "0.30000000000000004");
    CHECK_STR(py_float_repr(123456.0, b, sizeof b), "123456.0");
    CHECK_STR(py_float_repr(1e16, b, sizeof b), "1e+16");
    CHECK_STR(py_float_repr(1234567890123456.0, b, sizeof b), "1234567890123456.0");
    CHECK_STR(py_float_repr(-2.5e-7, b, sizeof b), "-2.5e-07");
    CHECK_STR(py_float_repr(0.0, b, sizeof b), "0.0");
    CHECK_STR(py_float_repr(-0.0, b, sizeof b), "-0.0");
    CHECK_STR(py_float_repr(3e-4, b, sizeof b), "0.0003");
}

TEST(exp_name_like_reference) {
    char b[128];
    CHECK_STR(export_exp_name(b, sizeof b, 0.02, 0.05, 1000, 32000, 10), "lr=0.02-reg=0.05-ctx=1000_32000-multi_passkey10");
    CHECK_STR(export_exp_name(b, sizeof b, 0.1, 1.0, 500, 2000, 2), "lr=0.1-reg=1.0-ctx=500_2000-multi_passkey2");
}

TEST(tsv_text_is_savetxt) {
    float v[4] = {1.0f, -9.584426879882812500e-05f, 0.5585937500f, 0.0f};
    size_t len;
    char *txt = export_format_tsv(v, 2, 2, &len);
    CHECK_STR(txt, "1.000000000000000000e+00\t-9.584426879882812500e-05\n"
                 "5.585937500000000000e-01\t0.000000000000000000e+00\n");
    CHECK_EQ_INT(len, strlen(txt));
    free(txt);
}

TEST(tsv_round_trip_and_errors) {
    const char *dir = test_tmpdir();
    CHECK(dir);
    char path[600];
    duo_error err;
    float v[6] = {0.25f, 1.0f, 0.125f, -0.5f, 3.0f, 0.1f};
    snprintf(path, sizeof path, "%s/a.tsv", dir);
    CHECK(export_write_tsv(path, v, 3, 2, &err) == 0);
    double *back;
    int r, c;
    CHECK(export_read_tsv(path, &back, &r, &c, &err) == 0);
    CHECK_EQ_INT(r, 3);
    CHECK_EQ_INT(c, 2);
    for (int i = 0; i < 6; i++) CHECK(back[i] == (double)v[i]);
    free(back);
    CHECK(file_write_atomic(path, "1\t2\n\n3\n", 7, &err) == 0);
    CHECK(export_read_tsv(path, &back, &r, &c, &err) == -1);
    CHECK_MSG(strstr(err.msg, "line 3"), "error should name the line: %.200s", err.msg);
    CHECK(file_write_atomic(path, "1\tx\n", 4, &err) == 0);
    CHECK(export_read_tsv(path, &back, &r, &c, &err) == -1);
    CHECK(strstr(err.msg, "a.tsv") && strstr(err.msg, "line 1"));
    snprintf(path, sizeof path, "%s/missing.tsv", dir);
    CHECK(export_read_tsv(path, &back, &r, &c, &err) == -1);
}

TEST(binarise_by_sparsity) {
    double g[8] = {0.9, 0.1, 0.5, 0.3, 1.2, -0.1, 0.7, 0.2}, full[8];
    /* virtual index 0.5*8 - 0.5 = 3.5 -> 4 streaming: the 4 lowest (-0.1, 0.1, 0.2, 0.3) */
    CHECK_CLOSE(export_binarise_sparsity(g, 8, 0.5, full), 0.5, 0);
    double want[8] = {1, 0, 1, 0, 1, 0, 1, 0};
    for (int i = 0; i < 8; i++) CHECK(full[i] == want[i]);
    CHECK_CLOSE(export_binarise_sparsity(g, 8, 0.0, full), 0.0, 0);
    CHECK_CLOSE(export_binarise_sparsity(g, 8, 1.0, full), 1.0, 0);
    /* s = 1/7: index 8/7 - 1/7 = 1 exactly (up to rounding) -> 1 streaming head, as numpy's lerp */
    CHECK_CLOSE(export_binarise_sparsity(g, 8, 1.0 / 7.0, full), 0.125, 0);
    CHECK(full[5] == 0 && full[1] == 1);
    /* ties: all equal, lower index goes streaming first */
    double ties[4] = {1, 1, 1, 1};
    CHECK_CLOSE(export_binarise_sparsity(ties, 4, 0.5, full), 0.5, 0);
    CHECK(full[0] == 0 && full[1] == 0 && full[2] == 1 && full[3] == 1);
}

TEST(binarise_by_threshold) {
    double g[4] = {0.5, 0.49, 1.5, -1}, full[4];
    CHECK_CLOSE(export_binarise_threshold(g, 4, 0.5, full), 0.5, 0);
    CHECK(full[0] == 1 && full[1] == 0 && full[2] == 1 && full[3] == 0);
    CHECK_CLOSE(export_binarise_threshold(g, 4, 1.0, full), 0.75, 0); /* 1.5 clips to 1 >= 1 */
}

TEST(binary_pattern_directory) {
    const char *dir = test_tmpdir();
    CHECK(dir);
    char src[600], out[600], path[700];
    duo_error err;
    snprintf(src, sizeof src, "%s/pat", dir);
    snprintf(out, sizeof out, "%s/pat/bin", dir);
    CHECK(make_dirs(src, &err) == 0);
    float v[4] = {0.9f, 0.1f, 0.6f, 0.3f};
    CHECK(export_write_tsv(path_join(path, sizeof path, src, "full_attention_heads.tsv"), v, 2, 2, &err) == 0);
    const char *cfg = "{\"sink_size\": 64, \"recent_size\": 256, \"lr\": 0.02, \"threshold\": 0.5, \"sparsity\": null}";
    CHECK(file_write_atomic(path_join(path, sizeof path, src, "config.json"), cfg, strlen(cfg), &err) == 0);
    double s;
    size_t ns, tot;
    CHECK_MSG(export_binary_pattern(src, out, 1, 0.5, &s, &ns, &tot, &err) == 0, "%.200s", err.msg);
    CHECK_CLOSE(s, 0.5, 0);
    CHECK_EQ_INT(ns, 2);
    CHECK_EQ_INT(tot, 4);
    double *b;
    int r, c;
    CHECK(export_read_tsv(path_join(path, sizeof path, out, "full_attention_heads.tsv"), &b, &r, &c, &err) == 0);
    CHECK(b[0] == 1 && b[1] == 0 && b[2] == 1 && b[3] == 0);
    free(b);
    char *j = file_read_all(path_join(path, sizeof path, out, "config.json"), NULL, &err);
    CHECK(j);
    int ok = strstr(j, "\"sink_size\": 64") && strstr(j, "\"sparsity\": 0.5") && strstr(j, "\"threshold\": null");
    free(j);
    CHECK_MSG(ok, "config.json lacks sink_size / sparsity / threshold");
    CHECK(export_binary_pattern(src, out, 0, 0.5, &s, &ns, &tot, &err) == 0);
    j = file_read_all(path_join(path, sizeof path, out, "config.json"), NULL, &err);
    CHECK(j);
    ok = !strcmp(j, "{\"sink_size\": 64, \"recent_size\": 256, \"lr\": 0.02, \"threshold\": 0.5, \"sparsity\": null}");
    free(j);
    CHECK_MSG(ok, "config.json is not written as Python's json.dump would");
    CHECK_CLOSE(s, 0.5, 0);
    /* a config without sink_size is refused with the file's name */
    CHECK(file_write_atomic(path_join(path, sizeof path, src, "config.json"), "{}", 2, &err) == 0);
    CHECK(export_binary_pattern(src, out, 1, 0.5, &s, &ns, &tot, &err) == -1);
    CHECK(strstr(err.msg, "config.json") && strstr(err.msg, "sink_size"));
}

/* Reads an RGB PNG back with libpng; returns malloc'd pixels or NULL. */
static unsigned char *read_png(const char *path, int *w, int *h) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path)) return NULL;
    img.format = PNG_FORMAT_RGB;
    unsigned char *px = malloc(PNG_IMAGE_SIZE(img));
    if (!px || !png_image_finish_read(&img, NULL, px, 0, NULL)) {
        free(px);
        png_image_free(&img);
        return NULL;
    }
    *w = (int)img.width;
    *h = (int)img.height;
    return px;
}

TEST(heatmap_png_cells_and_colours) {
    uint8_t c[3];
    heatmap_coolwarm(0.0, c);
    CHECK(c[0] == 59 && c[1] == 76 && c[2] == 192); /* matplotlib coolwarm ends */
    heatmap_coolwarm(1.0, c);
    CHECK(c[0] == 180 && c[1] == 4 && c[2] == 38);
    heatmap_coolwarm(-3.0, c);
    CHECK(c[0] == 59);
    heatmap_coolwarm(0.5, c);
    CHECK(c[0] == 221 && c[1] == 221 && c[2] == 221);
    const char *dir = test_tmpdir();
    CHECK(dir);
    char path[600];
    snprintf(path, sizeof path, "%s/g.png", dir);
    /* 32 layers x 8 heads, layer l head h = gate (l+h) % 2: a checkerboard of blue and red cells */
    float g[32 * 8];
    for (int i = 0; i < 32 * 8; i++) g[i] = (float)((i / 8 + i % 8) % 2);
    duo_error err;
    CHECK(heatmap_write_png(path, g, 32, 8, &err) == 0);
    int w, h;
    unsigned char *px = read_png(path, &w, &h);
    CHECK_MSG(px, "libpng cannot read the heat map back");
    /* Find the grid: the first red pixel on a row through layer 0's cells, scanning from the left. */
    int blue = 0, red = 0;
    for (int i = 0; i < w * h; i++) {
        unsigned char *p = px + 3 * i;
        blue += p[0] == 59 && p[1] == 76 && p[2] == 192;
        red += p[0] == 180 && p[1] == 4 && p[2] == 38;
    }
    free(px);
    CHECK(w >= 200 && h >= 600); /* 20-pixel cells for 32 layers, plus labels */
    /* 128 cells of each colour (cells are square, >= 20 px), plus a line or so of the colour bar */
    CHECK_MSG(blue >= 128 * 400 && red >= 128 * 400 && abs(blue - red) < 2000, "blue %d red %d", blue, red);
    CHECK(heatmap_write_png(path, g, 0, 8, &err) == -1);
}

/* Writes a TSV of awkward float32 values (and their raw bytes) for tests/py/test_export_numpy.py, which
 * checks them against numpy.savetxt / numpy.loadtxt; into $DUO_TSV_SAMPLE_DIR when set. */
TEST(tsv_sample_for_numpy) {
    const char *dir = getenv("DUO_TSV_SAMPLE_DIR");
    if (!dir) dir = test_tmpdir();
    CHECK(dir);
    enum { R = 7, C = 9 };
    float v[R * C];
    unsigned long long x = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < R * C; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        unsigned bits = (unsigned)(x >> 32);
        float f;
        memcpy(&f, &bits, sizeof f);
        if (!isfinite(f)) f = 1.0f / (float)(i + 1);
        v[i] = f;
    }
    float specials[] = {0.0f, -0.0f, 1.0f, 0.5f, 1e-45f, 3.4028235e38f, 1.17549435e-38f, 0.1f, -9.584426879882812500e-05f};
    memcpy(v, specials, sizeof specials);
    char path[600];
    duo_error err;
    snprintf(path, sizeof path, "%s/sample.tsv", dir);
    CHECK(export_write_tsv(path, v, R, C, &err) == 0);
    snprintf(path, sizeof path, "%s/sample.f32", dir);
    CHECK(file_write_atomic(path, v, sizeof v, &err) == 0);
}

/* A write that cannot even start names the user's file, not the temporary one beside it. */
TEST(atomic_write_failure_names_the_file) {
    char path[1024];
    snprintf(path, sizeof path, "%s/no-such-dir/full_attention_heads.tsv", test_tmpdir());
    duo_error err = {{0}};
    CHECK(file_write_atomic(path, "1\n", 2, &err) == -1);
    CHECK_MSG(strstr(err.msg, path) == err.msg && strstr(err.msg, "cannot create") && !strstr(err.msg, ".tmp."),
              "%.600s", err.msg);
}

TEST_MAIN()
