/* Malformed tokenizer.json and bad input: each gives one clear error naming the file and the
 * problem (never a crash): missing file, invalid JSON, ill-typed model fields, merges naming
 * unknown tokens, unknown model / normalizer / pre-tokenizer / decoder types, invalid regexes,
 * corrupt zstd, bad tokenizer_config.json, invalid UTF-8 text. */
#include <sys/stat.h>
#include <time.h>

#include "data/tokenizer.h"
#include "tests/harness.h"

/* A minimal valid tokenizer.json; MODEL / PRE / NORM / DEC / POST / ADDED are spliced in. */
static char *make_json(const char *model, const char *norm, const char *pre, const char *dec, const char *post,
                       const char *added) {
    static char buf[8192];
    snprintf(buf, sizeof buf,
             "{\"version\":\"1.0\",\"added_tokens\":%s,\"normalizer\":%s,\"pre_tokenizer\":%s,"
             "\"post_processor\":%s,\"decoder\":%s,\"model\":%s}",
             added ? added : "[]", norm ? norm : "null", pre ? pre : "null", post ? post : "null",
             dec ? dec : "null", model);
    return buf;
}

#define GOOD_MODEL                                                                                       \
    "{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2,\"<unk>\":3},\"merges\":[\"a b\"],"          \
    "\"unk_token\":\"<unk>\"}"

static const char *write_file(const char *dir, const char *name, const void *data, size_t len) {
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return NULL;
    fwrite(data, 1, len, f);
    fclose(f);
    return path;
}

/* Loads json from a temp file: NULL expected, and the message must name the file and contain want. */
static void expect_load_error(test_ctx *t, const char *json, const char *want) {
    const char *dir = test_tmpdir();
    CHECK(dir);
    const char *path = write_file(dir, "tokenizer.json", json, strlen(json));
    CHECK(path);
    duo_error err = {{0}};
    duo_tokenizer *tok = tokenizer_load(path, &err);
    if (tok) {
        tokenizer_free(tok);
        FAILF("loaded a bad tokenizer.json; wanted an error containing \"%s\"", want);
    }
    CHECK_MSG(strstr(err.msg, path), "message does not name the file: %.600s", err.msg);
    CHECK_MSG(strstr(err.msg, want), "message lacks \"%s\": %.600s", want, err.msg);
}

TEST(good_minimal_file_loads_and_encodes) {
    const char *dir = test_tmpdir();
    const char *json = make_json(GOOD_MODEL, NULL, NULL, NULL, NULL, NULL);
    const char *path = write_file(dir, "tokenizer.json", json, strlen(json));
    duo_error err;
    duo_tokenizer *tok = tokenizer_load(path, &err);
    CHECK_MSG(tok, "%.600s", err.msg);
    duo_ids ids = {0};
    CHECK(tokenizer_encode(tok, "abxa", 4, 1, &ids, &err) == 0);
    /* "ab" merges; "x" is unknown -> <unk>; no post-processor: nothing added */
    CHECK_EQ_INT(ids.len, 3);
    CHECK_EQ_INT(ids.ids[0], 2);
    CHECK_EQ_INT(ids.ids[1], 3);
    CHECK_EQ_INT(ids.ids[2], 0);
    ids_free(&ids);
    tokenizer_free(tok);
}

TEST(missing_file) {
    duo_error err;
    CHECK(tokenizer_load("tests/fixtures/tokenizers/no-such-file.json", &err) == NULL);
    CHECK_MSG(strstr(err.msg, "no-such-file.json") && strstr(err.msg, "cannot open"), "%.600s", err.msg);
}

TEST(directory_without_tokenizer_json) {
    const char *dir = test_tmpdir();
    duo_error err;
    CHECK(tokenizer_load(dir, &err) == NULL);
    CHECK_MSG(strstr(err.msg, dir) && strstr(err.msg, "no tokenizer.json"), "%.600s", err.msg);
}

TEST(invalid_json) { expect_load_error(t, "{\"model\": {\"type\": \"BPE\", \"vocab\": {", "invalid JSON"); }
TEST(empty_file) { expect_load_error(t, "", "invalid JSON"); }
TEST(top_level_not_object) { expect_load_error(t, "[1, 2]", "JSON object"); }
TEST(missing_model) { expect_load_error(t, "{\"version\": \"1.0\"}", "missing \"model\""); }
TEST(vocab_not_object) {
    expect_load_error(t, make_json("{\"type\":\"BPE\",\"vocab\":[],\"merges\":[]}", 0, 0, 0, 0, 0), "\"vocab\"");
}
TEST(vocab_id_not_integer) {
    expect_load_error(t, make_json("{\"type\":\"BPE\",\"vocab\":{\"a\":\"0\"},\"merges\":[]}", 0, 0, 0, 0, 0),
                      "vocab entry \"a\"");
}
TEST(merges_missing) {
    expect_load_error(t, make_json("{\"type\":\"BPE\",\"vocab\":{\"a\":0}}", 0, 0, 0, 0, 0), "\"merges\"");
}
TEST(merge_names_unknown_token) {
    expect_load_error(t, make_json("{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"ab\":1},\"merges\":[\"a b\"]}", 0, 0, 0, 0, 0),
                      "token \"b\" that is not in the vocab");
}
TEST(merge_result_not_in_vocab) {
    expect_load_error(t, make_json("{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[[\"a\",\"b\"]]}", 0, 0, 0, 0, 0),
                      "merged token \"ab\"");
}
TEST(merge_malformed) {
    expect_load_error(t, make_json("{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"a\"]}", 0, 0, 0, 0, 0), "merges[0]");
    if (t->failed) return;
    expect_load_error(t, make_json("{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[[1,2]]}", 0, 0, 0, 0, 0), "merges[0]");
}
TEST(unknown_model_type) {
    expect_load_error(t, make_json("{\"type\":\"WordPiece\",\"vocab\":{}}", 0, 0, 0, 0, 0),
                      "unsupported model type \"WordPiece\"");
}
TEST(continuing_subword_prefix_rejected) {
    expect_load_error(t, make_json("{\"type\":\"BPE\",\"vocab\":{},\"merges\":[],\"continuing_subword_prefix\":\"##\"}",
                                   0, 0, 0, 0, 0), "continuing_subword_prefix");
}
TEST(ill_typed_flag) {
    expect_load_error(t, make_json("{\"type\":\"BPE\",\"vocab\":{},\"merges\":[],\"byte_fallback\":\"yes\"}", 0, 0, 0, 0, 0),
                      "byte_fallback");
}
TEST(unknown_normalizer) {
    expect_load_error(t, make_json(GOOD_MODEL, "{\"type\":\"Lowercase\"}", 0, 0, 0, 0), "unsupported normalizer type \"Lowercase\"");
}
TEST(unknown_pre_tokenizer) {
    expect_load_error(t, make_json(GOOD_MODEL, 0, "{\"type\":\"BertPreTokenizer\"}", 0, 0, 0),
                      "unsupported pre_tokenizer type \"BertPreTokenizer\"");
}
TEST(unknown_decoder) {
    expect_load_error(t, make_json(GOOD_MODEL, 0, 0, "{\"type\":\"WordPiece\"}", 0, 0), "unsupported decoder type");
}
TEST(unknown_post_processor) {
    expect_load_error(t, make_json(GOOD_MODEL, 0, 0, 0, "{\"type\":\"Magic\"}", 0), "unsupported post_processor");
}
TEST(invalid_regex) {
    expect_load_error(t,
                      make_json(GOOD_MODEL, 0,
                                "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(a|\"},\"behavior\":\"Isolated\",\"invert\":false}",
                                0, 0, 0),
                      "invalid regex");
}
TEST(split_unknown_behavior) {
    expect_load_error(t,
                      make_json(GOOD_MODEL, 0,
                                "{\"type\":\"Split\",\"pattern\":{\"String\":\" \"},\"behavior\":\"Sideways\",\"invert\":false}",
                                0, 0, 0),
                      "behavior");
}
TEST(added_token_bad_id) {
    expect_load_error(t, make_json(GOOD_MODEL, 0, 0, 0, 0, "[{\"id\":\"x\",\"content\":\"<s>\"}]"), "added_tokens[0]");
}
TEST(template_unknown_special_token) {
    expect_load_error(t,
                      make_json(GOOD_MODEL, 0, 0, 0,
                                "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},"
                                "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"special_tokens\":{}}",
                                0),
                      "special token \"<s>\"");
}

TEST(corrupt_zstd) {
    /* the first 2 KB of a valid compressed tokenizer: a truncated frame */
    FILE *f = fopen("tests/fixtures/tokenizers/mistral_legacy.json.zst", "rb");
    CHECK(f);
    char buf[2048];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    CHECK_EQ_INT(n, sizeof buf);
    const char *dir = test_tmpdir();
    const char *path = write_file(dir, "tokenizer.json.zst", buf, n);
    duo_error err;
    CHECK(tokenizer_load(path, &err) == NULL);
    CHECK_MSG(strstr(err.msg, path) && strstr(err.msg, "zstd"), "%.600s", err.msg);
    /* garbage after a valid magic number */
    memcpy(buf + 4, "garbage garbage garbage", 23);
    path = write_file(dir, "tokenizer.json.zst", buf, 64);
    CHECK(tokenizer_load(path, &err) == NULL);
    CHECK_MSG(strstr(err.msg, path) && strstr(err.msg, "zstd"), "%.600s", err.msg);
}

TEST(bad_tokenizer_config) {
    const char *dir = test_tmpdir();
    const char *json = make_json(GOOD_MODEL, 0, 0, 0, 0, 0);
    write_file(dir, "tokenizer.json", json, strlen(json));
    write_file(dir, "tokenizer_config.json", "{\"add_bos_token\": tru", 21);
    duo_error err;
    CHECK(tokenizer_load(dir, &err) == NULL);
    CHECK_MSG(strstr(err.msg, "tokenizer_config.json") && strstr(err.msg, "invalid JSON"), "%.600s", err.msg);
    write_file(dir, "tokenizer_config.json", "{\"add_bos_token\": 1}", 20);
    CHECK(tokenizer_load(dir, &err) == NULL);
    CHECK_MSG(strstr(err.msg, "tokenizer_config.json") && strstr(err.msg, "add_bos_token"), "%.600s", err.msg);
    /* what transformers loads, loads: integers past 64 bits, NaN/Infinity, reals past a double */
    const char *big = "{\"model_max_length\": 1000000000000000019884624838656, \"x\": -123456789012345678901234567890,\n"
                      "\"y\": [NaN, Infinity, -Infinity, 1e999], \"add_bos_token\": false}";
    write_file(dir, "tokenizer_config.json", big, strlen(big));
    duo_tokenizer *tok = tokenizer_load(dir, &err);
    CHECK_MSG(tok, "%.600s", err.msg);
    tokenizer_free(tok);
    /* errors still give the line */
    const char *bad = "{\"model_max_length\": 1000000000000000019884624838656,\n\"add_bos_token\": tru}";
    write_file(dir, "tokenizer_config.json", bad, strlen(bad));
    CHECK(tokenizer_load(dir, &err) == NULL);
    CHECK_MSG(strstr(err.msg, "tokenizer_config.json: invalid JSON at line 2"), "%.600s", err.msg);
}

TEST(invalid_utf8_text) {
    duo_error err;
    duo_tokenizer *tok = tokenizer_load("tests/fixtures/tokenizers/llama3_bpe.json", &err);
    CHECK_MSG(tok, "%.600s", err.msg);
    const char *bad[] = {"abc\xff", "\xc3", "ok \xe2\x82", "\xed\xa0\x80 surrogate", "\xc0\xaf overlong"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        duo_ids ids = {0};
        int rc = tokenizer_encode(tok, bad[i], strlen(bad[i]), 1, &ids, &err);
        size_t n = ids.len;
        ids_free(&ids);
        if (rc == 0) {
            tokenizer_free(tok);
            FAILF("invalid UTF-8 case %zu encoded", i);
        }
        if (!strstr(err.msg, "llama3_bpe.json") || !strstr(err.msg, "UTF-8") || n != 0) {
            tokenizer_free(tok);
            FAILF("case %zu: %.600s (ids left: %zu)", i, err.msg, n);
        }
    }
    tokenizer_free(tok);
}

TEST(unk_token_missing_from_vocab_fails_at_encode) {
    const char *dir = test_tmpdir();
    const char *json = make_json("{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[],\"unk_token\":\"<unk>\"}", 0, 0, 0, 0, 0);
    const char *path = write_file(dir, "tokenizer.json", json, strlen(json));
    duo_error err;
    duo_tokenizer *tok = tokenizer_load(path, &err);
    CHECK_MSG(tok, "%.600s", err.msg);
    duo_ids ids = {0};
    int ok_known = tokenizer_encode(tok, "aa", 2, 0, &ids, &err) == 0 && ids.len == 2;
    int rc = tokenizer_encode(tok, "ab", 2, 0, &ids, &err);
    ids_free(&ids);
    tokenizer_free(tok);
    CHECK(ok_known);
    CHECK(rc == -1);
    CHECK_MSG(strstr(err.msg, "unk_token \"<unk>\" is not in the vocabulary"), "%.600s", err.msg);
}

/* A Split regex that backtracks catastrophically, `(a+)+$` on a run of a's then a b (2^n paths):
 * PCRE2's match limit stops it in milliseconds with an error naming the tokenizer file and the
 * pattern, instead of a match that runs for minutes (40 a's: about 10^12 steps). */
TEST(catastrophic_split_regex_hits_match_limit) {
    const char *dir = test_tmpdir();
    const char *json = make_json(GOOD_MODEL, 0,
                                 "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(a+)+$\"},"
                                 "\"behavior\":\"Isolated\",\"invert\":false}",
                                 0, 0, 0);
    const char *path = write_file(dir, "tokenizer.json", json, strlen(json));
    duo_error err;
    duo_tokenizer *tok = tokenizer_load(path, &err);
    CHECK_MSG(tok, "%.600s", err.msg);
    char text[64];
    memset(text, 'a', 40);
    text[40] = 'b';
    duo_ids ids = {0};
    int ok_short = tokenizer_encode(tok, "aaab", 4, 0, &ids, &err) == 0; /* a short run still encodes */
    time_t t0 = time(NULL);
    int rc = tokenizer_encode(tok, text, 41, 0, &ids, &err);
    double secs = difftime(time(NULL), t0);
    ids_free(&ids);
    tokenizer_free(tok);
    CHECK(ok_short);
    CHECK(rc == -1);
    CHECK_MSG(secs < 10, "the match ran %.0f s before giving up", secs);
    CHECK_MSG(strstr(err.msg, path) && strstr(err.msg, "\"(a+)+$\"") && strstr(err.msg, "match limit"), "%.600s",
              err.msg);
}

TEST_MAIN()
