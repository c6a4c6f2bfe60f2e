/* Issue 20 (hostile inputs, second wall) at the library level; every bad input is built here:
 *   - a NaN planted in one weight of an in-memory model: the inference path and the plain forward refuse
 *     it, naming the layer and the tensor (they returned id 0 / NaN logits before);
 *   - format_double: shortest round-trip digits (0.9999999 is not "1"), non-finite named; the sweep's
 *     prompt identity keeps such sparsities apart;
 *   - format_shown_text names a BOM and control bytes;
 *   - a JSON real of 400 digits without an exponent reads as inf, as Python's json does;
 *   - a chain of Replace normalizers that multiplies its input stops at the cap on the normalized length;
 *   - a context the machine cannot hold (17 TB of KV cache) is refused with both numbers before allocating;
 *   - output checks: make_dirs on a file, file_check_output on a directory / FIFO / symlink loop, each
 *     with the OS's reason; a 3000-byte path keeps the reason at the end of the message. */
#include <errno.h>
#include <jansson.h>
#include <sys/stat.h>

#include "data/fileio.h"
#include "data/json.h"
#include "data/tokenizer.h"
#include "eval/sweep_output.h"
#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "model/forward.h"
#include "model/infer.h"
#include "model/random_model.h"
#include "tests/harness.h"
#include "tests/tiny_model.h"
#include "util/format.h"

/* A NaN at element 3 of layer 1's k_proj weight (an f32 model held in writable memory). */
static int nan_model(duo_model *m, duo_error *err) {
    duo_model_config cfg = tiny_cfg(3, 4, 2, 4);
    if (random_model_create(&cfg, DUO_F32, 3, 1.0, m, err)) return -1;
    ((float *)m->layers[1].k_proj->data)[3] = NAN;
    return 0;
}

TEST(nan_weight_refused_by_inference_path) {
    duo_model m;
    duo_error err = {{0}};
    CHECK_MSG(nan_model(&m, &err) == 0, "%.300s", err.msg);
    duo_backend *be = backend_cpu_create(0, &err);
    CHECK(be);
    uint8_t full[6] = {1, 1, 1, 0, 1, 1};
    duo_infer_opts o = {.sink_size = 2, .recent_size = 4, .decoding_simulation_length = 3, .max_new_tokens = 4,
                        .max_prompt = 20};
    duo_infer *ctx = infer_create(&m, be, full, &o, &err);
    int32_t prompt[20];
    for (int i = 0; i < 20; i++) prompt[i] = (i * 7 + 3) % 50;
    duo_infer_result r;
    int rc = ctx ? infer_generate(ctx, prompt, 20, NULL, 0, NULL, NULL, 0, &r, &err) : 0;
    infer_free(ctx);
    backend_free(be);
    random_model_free(&m);
    CHECK(ctx);
    CHECK_MSG(rc == -1, "a NaN weight generated ids without an error");
    CHECK_MSG(strstr(err.msg, "layer 1's attention") && strstr(err.msg, "k_proj holds NaN at element 3"),
              "message: %.400s", err.msg);
}

TEST(nan_weight_refused_by_forward) {
    duo_model m;
    duo_error err = {{0}};
    CHECK_MSG(nan_model(&m, &err) == 0, "%.300s", err.msg);
    int32_t ids[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    size_t d = 16, L = 3;
    float *hidden = malloc((L + 1) * 8 * d * sizeof *hidden), *logits = malloc(8 * 50 * sizeof *logits);
    int with_hidden = duo_forward(&m, ids, 8, hidden, logits, &err);
    static duo_error first;
    first = err;
    const char *msg1 = first.msg;
    int logits_only = duo_forward(&m, ids, 8, NULL, logits, &err);
    random_model_free(&m);
    free(hidden);
    free(logits);
    CHECK_MSG(with_hidden == -1 && strstr(msg1, "after layer 1 is not finite") && strstr(msg1, "k_proj holds NaN"),
              "with hidden states: %d %.400s", with_hidden, msg1);
    CHECK_MSG(logits_only == -1 && strstr(err.msg, "logits are not finite"), "logits only: %d %.400s", logits_only,
              err.msg);
}

TEST(context_beyond_memory_refused_before_allocating) {
    duo_model_config cfg = tiny_cfg(3, 4, 2, 4);
    cfg.num_hidden_layers = 8;
    cfg.num_attention_heads = 4;
    cfg.num_key_value_heads = 4;
    cfg.head_dim = 64;
    cfg.max_position_embeddings = 1 << 30;
    duo_model m;
    duo_error err = {{0}};
    CHECK_MSG(random_model_create(&cfg, DUO_F32, 3, 1.0, &m, &err) == 0, "%.300s", err.msg);
    duo_backend *be = backend_cpu_create(0, &err);
    uint8_t full[32];
    memset(full, 1, sizeof full);
    duo_infer_opts o = {.sink_size = 2, .recent_size = 4, .decoding_simulation_length = 3, .max_new_tokens = 4,
                        .max_prompt = (1u << 30) - 8, .prefilling_chunk_size = 1024};
    duo_infer *ctx = be ? infer_create(&m, be, full, &o, &err) : NULL;
    infer_free(ctx);
    backend_free(be);
    random_model_free(&m);
    CHECK(be);
    CHECK(!ctx);
    CHECK_MSG(strstr(err.msg, "1073741820 positions need about") && strstr(err.msg, "KV cache 16384.0 GiB") &&
              strstr(err.msg, "more than this machine's") && strstr(err.msg, "positions fit"), "%.400s", err.msg);
}

TEST(shortest_round_trip_numbers) {
    char a[40], b[40];
    CHECK_STR(format_double(0.9999999, a, sizeof a), "0.9999999");
    CHECK_STR(format_double(1.0000001, a, sizeof a), "1.0000001");
    CHECK_STR(format_double(1, a, sizeof a), "1");
    CHECK_STR(format_double(0.1, a, sizeof a), "0.1");
    CHECK_STR(format_double(600, a, sizeof a), "600");
    CHECK_STR(format_double(1e300, a, sizeof a), "1e+300");
    CHECK_STR(format_double(NAN, a, sizeof a), "nan");
    CHECK_STR(format_double(-INFINITY, a, sizeof a), "-inf");
    double tricky[] = {1.0 / 3, 5e-324, 1.7976931348623157e308, 0.30000000000000004};
    for (int i = 0; i < 4; i++) CHECK(strtod(format_double(tricky[i], a, sizeof a), NULL) == tricky[i]);
    /* the sweep's prompt identity keeps sparsities that %g prints alike apart */
    sweep_prompt_key(a, sizeof a, 0.9999999, "pattern", 0, 100, NAN, 0, NULL);
    sweep_prompt_key(b, sizeof b, 1.0, "pattern", 0, 100, NAN, 0, NULL);
    CHECK_MSG(strcmp(a, b) != 0, "keys alike: %s", a);
    /* LongBench's records: the dataset is part of the identity; passkey / NIAH keys have no such field */
    CHECK(!strstr(a, "dataset"));
    char ka[512], kb[512];
    sweep_prompt_key(ka, sizeof ka, 0.5, "pattern", 0, 4000, NAN, 3, "trec");
    sweep_prompt_key(kb, sizeof kb, 0.5, "pattern", 0, 4000, NAN, 3, "lcc");
    CHECK_MSG(strcmp(ka, kb) != 0 && strstr(ka, "dataset=trec"), "key: %s", ka);
    json_t *line = json_pack("{s:f, s:s, s:i, s:i, s:i, s:s}", "sparsity", 0.5, "baseline", "pattern", "seed", 0,
                             "context_length", 4000, "sample", 3, "dataset", "trec");
    CHECK(line && sweep_line_key(line, kb, sizeof kb) && !strcmp(ka, kb));
    json_object_set_new(line, "dataset", json_integer(1)); /* a dataset that is not a name: not a response line */
    CHECK(!sweep_line_key(line, kb, sizeof kb));
    json_object_del(line, "dataset");
    sweep_prompt_key(ka, sizeof ka, 0.5, "pattern", 0, 4000, NAN, 3, NULL);
    CHECK(sweep_line_key(line, kb, sizeof kb) && !strcmp(ka, kb));
    json_decref(line);
}

TEST(invisible_bytes_named) {
    char buf[128];
    CHECK_STR(format_shown_text("\xEF\xBB\xBF" "0.5", buf, sizeof buf), "<U+FEFF BOM>0.5");
    CHECK_STR(format_shown_text("a\x01" "b\xff", buf, sizeof buf), "a<0x01>b<0xff>");
    CHECK_STR(format_shown_text("caf\xC3\xA9", buf, sizeof buf), "caf\xC3\xA9");
    char longtext[300];
    memset(longtext, 'x', sizeof longtext - 1);
    longtext[299] = 0;
    format_shown_text(longtext, buf, 20);
    CHECK_MSG(strlen(buf) < 20 && strstr(buf, "..."), "cut: %s", buf);
}

TEST(json_long_real_without_exponent_is_inf) {
    char text[1200];
    int n = snprintf(text, sizeof text, "{\"x\": ");
    for (int i = 0; i < 400; i++) text[n++] = i ? '7' : '1';
    n += snprintf(text + n, sizeof text - (size_t)n, ".5, \"y\": -");
    for (int i = 0; i < 320; i++) text[n++] = '9';
    n += snprintf(text + n, sizeof text - (size_t)n, ".0, \"z\": 12.25}");
    json_error_t je;
    json_t *root = duo_json_loadb(text, (size_t)n, 0, &je);
    CHECK_MSG(root, "refused: %s", je.text);
    json_t *x = json_object_get(root, "x"), *y = json_object_get(root, "y"), *z = json_object_get(root, "z");
    int ok = json_is_string(x) && !strcmp(json_string_value(x), "Infinity") && json_is_string(y) &&
             !strcmp(json_string_value(y), "-Infinity") && json_real_value(z) == 12.25;
    json_decref(root);
    CHECK_MSG(ok, "x, y, z not read as Python reads them");
}

TEST(output_checks_name_the_os_reason) {
    char dir[] = "/tmp/duo-wall2.XXXXXX";
    CHECK(mkdtemp(dir));
    char file[200], sub[300], fifo[200], loop[200], deep[6000];
    snprintf(file, sizeof file, "%s/file", dir);
    snprintf(sub, sizeof sub, "%s/sub/x", file);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    snprintf(loop, sizeof loop, "%s/loop", dir);
    FILE *f = fopen(file, "w");
    CHECK(f);
    fclose(f);
    CHECK(mkfifo(fifo, 0600) == 0);
    CHECK(symlink(loop, loop) == 0);
    duo_error err = {{0}};
    CHECK(make_dirs(file, &err) == -1 && strstr(err.msg, "file: cannot use as a directory: Not a directory"));
    CHECK(make_dirs(sub, &err) == -1 && strstr(err.msg, "Not a directory"));
    CHECK(make_dirs(loop, &err) == -1 && strstr(err.msg, "Too many levels of symbolic links"));
    CHECK(file_check_output(dir, &err) == -1 && strstr(err.msg, "Is a directory"));
    CHECK(file_check_output(fifo, &err) == -1 && strstr(err.msg, "a FIFO"));
    CHECK(file_check_output(loop, &err) == -1 && strstr(err.msg, "Too many levels of symbolic links"));
    CHECK(file_write_atomic(fifo, "x", 1, &err) == -1 && strstr(err.msg, "a FIFO"));
    struct stat st;
    CHECK(stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode)); /* not replaced */
    /* a long path: the message still ends with the reason */
    int n = snprintf(deep, sizeof deep, "%s", file);
    while (n < 3000) n += snprintf(deep + n, sizeof deep - (size_t)n, "/%s", "a-rather-long-folder-name");
    CHECK(file_check_output(deep, &err) == -1);
    CHECK_MSG(strstr(err.msg, "Not a directory") && strlen(err.msg) > 3000, "cut: ...%s", err.msg + strlen(err.msg) - 60);
    unlink(file);
    unlink(fifo);
    unlink(loop);
    rmdir(dir);
}

TEST(multiplying_normalizers_are_bounded) {
    const char *dir = test_tmpdir();
    CHECK(dir);
    char path[1024], json[2048];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    const char *rep = "{\"type\":\"Replace\",\"pattern\":{\"String\":\"a\"},\"content\":\"aaaaaaaaaaaaaaaa\"}";
    snprintf(json, sizeof json,
             "{\"version\":\"1.0\",\"added_tokens\":[],\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[%s,%s,%s,%s,"
             "%s,%s]},\"pre_tokenizer\":null,\"post_processor\":null,\"decoder\":null,\"model\":{\"type\":\"BPE\","
             "\"vocab\":{\"a\":0,\"b\":1,\"<unk>\":2},\"merges\":[],\"unk_token\":\"<unk>\"}}",
             rep, rep, rep, rep, rep, rep);
    FILE *f = fopen(path, "w");
    CHECK(f);
    fputs(json, f);
    fclose(f);
    duo_error err = {{0}};
    duo_tokenizer *tok = tokenizer_load(path, &err);
    CHECK_MSG(tok, "%.300s", err.msg);
    duo_ids ids = {0};
    int small = tokenizer_encode(tok, "b", 1, 0, &ids, &err); /* no "a": nothing grows */
    ids_free(&ids);
    /* 16^6 = 16.7M bytes per "a": refused at the third step (4 x 16^3 > 4 x 64 + 4096) */
    int big = tokenizer_encode(tok, "aaaa", 4, 0, &ids, &err);
    ids_free(&ids);
    tokenizer_free(tok);
    CHECK(small == 0);
    CHECK(big == -1);
    CHECK_MSG(strstr(err.msg, "normalizer 2 (Replace) would make 16384 bytes of a 4-byte text") &&
              strstr(err.msg, "multiply their input"), "%.400s", err.msg);
}

TEST_MAIN()
