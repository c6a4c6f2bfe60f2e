/* Tokenizer vs the Hugging Face `tokenizers` library: reference vectors written by
 * scripts/gen_tokenizer_refs.py (ids with and without special tokens, decode with and without
 * skipping them) for a real SentencePiece tokenizer (Mistral, two conversions), byte-level BPEs
 * (Llama-3 regex + ignore_merges, GPT-2 regex, add_prefix_space) and BPE corner cases. */
#include <dirent.h>
#include <jansson.h>

#include "data/fileio.h"
#include "data/tokenizer.h"
#include "tests/harness.h"

#define FIX "tests/fixtures/tokenizers/"

/* Prints a short escaped excerpt of text for failure messages. */
static const char *excerpt(const char *s) {
    static char buf[96];
    size_t o = 0;
    for (; *s && o < sizeof buf - 8; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n') buf[o++] = '\\', buf[o++] = 'n';
        else if (c == '\t') buf[o++] = '\\', buf[o++] = 't';
        else buf[o++] = (char)c;
    }
    buf[o] = '\0';
    return buf;
}

/* First index where got and want differ, or -1. */
static long ids_diff(const duo_ids *got, json_t *want) {
    size_t n = json_array_size(want);
    for (size_t i = 0; i < n || i < got->len; i++) {
        if (i >= n || i >= got->len) return (long)i;
        if (got->ids[i] != (int32_t)json_integer_value(json_array_get(want, i))) return (long)i;
    }
    return -1;
}

/* Checks every case of FIX<name>.vectors.json; tok_path overrides the file named inside. */
static void check_vectors(test_ctx *t, const char *name, const char *tok_path) {
    char path[512];
    snprintf(path, sizeof path, FIX "%s.vectors.json", name);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    CHECK_MSG(root, "%s: %s", path, je.text);
    char tpath[512];
    if (tok_path) snprintf(tpath, sizeof tpath, "%s", tok_path);
    else snprintf(tpath, sizeof tpath, FIX "%s", json_string_value(json_object_get(root, "tokenizer")));
    duo_error err = {{0}};
    duo_tokenizer *tok = tokenizer_load(tpath, &err);
    if (!tok) {
        json_decref(root);
        FAILF("load %.200s: %.600s", tpath, err.msg);
    }
    char fail[1024] = "";
    if (tokenizer_vocab_size(tok) != json_integer_value(json_object_get(root, "vocab_size")))
        snprintf(fail, sizeof fail, "vocab size %d, HF says %lld", tokenizer_vocab_size(tok),
                 json_integer_value(json_object_get(root, "vocab_size")));
    json_t *cases = json_object_get(root, "cases"), *c;
    size_t i;
    json_array_foreach(cases, i, c) {
        if (fail[0]) break;
        const char *text = json_string_value(json_object_get(c, "text"));
        size_t len = json_string_length(json_object_get(c, "text"));
        for (int special = 0; special < 2 && !fail[0]; special++) {
            duo_ids ids = {0};
            json_t *want = json_object_get(c, special ? "ids_special" : "ids");
            if (tokenizer_encode(tok, text, len, special, &ids, &err)) {
                snprintf(fail, sizeof fail, "case %zu \"%s\": encode failed: %.600s", i, excerpt(text), err.msg);
            } else {
                long d = ids_diff(&ids, want);
                if (d >= 0)
                    snprintf(fail, sizeof fail, "case %zu \"%s\" (special=%d): id[%ld] = %d, HF %lld (%zu ids, HF %zu)",
                             i, excerpt(text), special, d, d < (long)ids.len ? ids.ids[d] : -1,
                             d < (long)json_array_size(want) ? json_integer_value(json_array_get(want, d)) : -1LL,
                             ids.len, json_array_size(want));
            }
            ids_free(&ids);
        }
        json_t *ws = json_object_get(c, "ids_special");
        size_t n = json_array_size(ws);
        int32_t *v = malloc((n + 1) * sizeof *v);
        for (size_t k = 0; k < n; k++) v[k] = (int32_t)json_integer_value(json_array_get(ws, k));
        for (int skip = 0; skip < 2 && !fail[0]; skip++) {
            char *s = tokenizer_decode(tok, v, n, skip);
            const char *want = json_string_value(json_object_get(c, skip ? "decoded_skip" : "decoded"));
            if (strcmp(s, want)) {
                char a[96];
                snprintf(a, sizeof a, "%s", excerpt(s));
                snprintf(fail, sizeof fail, "case %zu decode(skip=%d): \"%s\", HF \"%s\"", i, skip, a, excerpt(want));
            }
            free(s);
        }
        free(v);
    }
    tokenizer_free(tok);
    json_decref(root);
    CHECK_MSG(!fail[0], "%s: %.900s", name, fail);
}

TEST(mistral_metaspace_matches_hf) { check_vectors(t, "mistral", NULL); }
TEST(mistral_legacy_prepend_replace_matches_hf) { check_vectors(t, "mistral_legacy", NULL); }
TEST(mistral_model_dir_config_bos_eos) {
    check_vectors(t, "mistral_dir", FIX "mistral");
    if (t->failed) return;
    duo_error err;
    duo_tokenizer *tok = tokenizer_load(FIX "mistral", &err);
    CHECK_MSG(tok, "%.600s", err.msg);
    CHECK_EQ_INT(tokenizer_bos_id(tok), 1);
    CHECK_EQ_INT(tokenizer_eos_id(tok), 2);
    CHECK_STR(tokenizer_id_to_token(tok, 1), "<s>");
    CHECK_EQ_INT(tokenizer_token_to_id(tok, "</s>"), 2);
    CHECK_EQ_INT(tokenizer_token_to_id(tok, "▁the"), 272);
    tokenizer_free(tok);
}
/* Qwen2/Qwen3 style: NFC, Qwen's regex (digits one by one), ByteLevel, <|im_start|> & co, no BOS;
 * its tokenizer_config.json names EOS and, with bos_token null, no BOS. */
TEST(qwen_nfc_regex_added_tokens_matches_hf) {
    check_vectors(t, "qwen", FIX "qwen");
    if (t->failed) return;
    duo_error err;
    duo_tokenizer *tok = tokenizer_load(FIX "qwen", &err);
    CHECK_MSG(tok, "%.600s", err.msg);
    int32_t eot = tokenizer_token_to_id(tok, "<|endoftext|>");
    int bos = tokenizer_bos_id(tok), eos = tokenizer_eos_id(tok);
    duo_ids ids = {0};
    int rc = tokenizer_encode(tok, "2026", 4, 1, &ids, &err);
    tokenizer_free(tok);
    CHECK_EQ_INT(bos, -1);
    CHECK(eot >= 0);
    CHECK_EQ_INT(eos, eot);
    CHECK_MSG(rc == 0, "%.600s", err.msg);
    CHECK_EQ_INT((int)ids.len, 4); /* one digit per piece */
    ids_free(&ids);
}
/* NUL characters survive a round trip: decode gives the length, not a C string. */
TEST(decode_keeps_nul_characters) {
    static const char *const files[] = {FIX "llama3_bpe.json", FIX "qwen", FIX "mistral", FIX "tiny_nfkc.json"};
    static const char text[] = "a\0b \0\0 end\0";
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        duo_error err;
        duo_tokenizer *tok = tokenizer_load(files[f], &err);
        CHECK_MSG(tok, "%.600s", err.msg);
        duo_ids ids = {0};
        int rc = tokenizer_encode(tok, text, sizeof text - 1, 0, &ids, &err);
        size_t len = 0;
        char *s = rc ? NULL : tokenizer_decode_len(tok, ids.ids, ids.len, 0, &len);
        /* SentencePiece conversions (Mistral) strip the leading space they add: the text is unchanged */
        int same = s && len == sizeof text - 1 && !memcmp(s, text, len) && s[len] == '\0';
        free(s);
        ids_free(&ids);
        tokenizer_free(tok);
        CHECK_MSG(rc == 0, "%s: %.600s", files[f], err.msg);
        CHECK_MSG(same, "%s: decode(encode(text with NULs)) gave %zu bytes, want %zu", files[f], len, sizeof text - 1);
    }
}
TEST(normalizer_nfc_matches_hf) { check_vectors(t, "tiny_nfc", NULL); }
TEST(normalizer_nfd_matches_hf) { check_vectors(t, "tiny_nfd", NULL); }
TEST(normalizer_nfkc_matches_hf) { check_vectors(t, "tiny_nfkc", NULL); }
TEST(normalizer_nfkd_matches_hf) { check_vectors(t, "tiny_nfkd", NULL); }
TEST(normalizer_sequence_of_forms_matches_hf) { check_vectors(t, "tiny_nf_sequence", NULL); }
TEST(llama3_byte_level_matches_hf) { check_vectors(t, "llama3_bpe", NULL); }
TEST(gpt2_byte_level_added_tokens_matches_hf) { check_vectors(t, "gpt2_bpe", NULL); }
TEST(byte_level_prefix_space_matches_hf) { check_vectors(t, "prefix_space_bpe", NULL); }
TEST(bpe_unk_fused_matches_hf) { check_vectors(t, "tiny_unk_fused", NULL); }
TEST(bpe_unk_unfused_matches_hf) { check_vectors(t, "tiny_unk_unfused", NULL); }
TEST(bpe_byte_fallback_matches_hf) { check_vectors(t, "tiny_byte_fallback", NULL); }
TEST(bpe_ignore_merges_matches_hf) { check_vectors(t, "tiny_ignore_merges", NULL); }
TEST(bpe_merges_matches_hf) { check_vectors(t, "tiny_merges", NULL); }
/* words are cut before "▁" only when no merge joins a character to a following "▁" */
TEST(metaspace_merge_across_space_matches_hf) { check_vectors(t, "tiny_metaspace_cross", NULL); }
TEST(metaspace_no_merge_across_space_matches_hf) { check_vectors(t, "tiny_metaspace_nocross", NULL); }
TEST(metaspace_split_and_decoder_matches_hf) { check_vectors(t, "tiny_metaspace_split", NULL); }
TEST(split_removed_matches_hf) { check_vectors(t, "tiny_split_removed", NULL); }
TEST(split_isolated_invert_matches_hf) { check_vectors(t, "tiny_split_isolated_invert", NULL); }
TEST(split_merged_with_previous_matches_hf) { check_vectors(t, "tiny_split_merged_prev", NULL); }
TEST(split_merged_with_next_invert_matches_hf) { check_vectors(t, "tiny_split_merged_next_invert", NULL); }
TEST(split_contiguous_matches_hf) { check_vectors(t, "tiny_split_contiguous", NULL); }
TEST(split_literal_pattern_matches_hf) { check_vectors(t, "tiny_split_literal", NULL); }
TEST(split_empty_regex_matches_matches_hf) { check_vectors(t, "tiny_split_empty_matches", NULL); }
/* regex and literal Replace, Prepend, WhitespaceSplit, Digits, normalized added tokens */
TEST(normalizers_and_normalized_added_tokens_match_hf) { check_vectors(t, "tiny_normalizers", NULL); }

TEST(llama3_bos_from_template) {
    duo_error err;
    duo_tokenizer *tok = tokenizer_load(FIX "llama3_bpe.json", &err);
    CHECK_MSG(tok, "%.600s", err.msg);
    int32_t bos = tokenizer_token_to_id(tok, "<|begin_of_text|>");
    CHECK(bos >= 0);
    CHECK_EQ_INT(tokenizer_bos_id(tok), bos);
    CHECK_EQ_INT(tokenizer_eos_id(tok), -1);  /* the template adds none; no tokenizer_config.json */
    tokenizer_free(tok);
}

/* Several threads encoding at once (the word cache is shared): same ids as one thread. */
TEST(parallel_encode_equals_serial) {
    duo_error err;
    duo_tokenizer *tok = tokenizer_load(FIX "llama3_bpe.json", &err);
    CHECK_MSG(tok, "%.600s", err.msg);
    static const char *texts[] = {"The quick brown fox jumps over the lazy dog. ", "Привет, как дела? 日本語 ",
                                  "<|begin_of_text|>Numbers 1234567 and emoji 👩‍💻 ", "   spaces\n\n\ttabs "};
    enum { N = 64 };
    duo_ids serial[N], parallel[N];
    memset(serial, 0, sizeof serial);
    memset(parallel, 0, sizeof parallel);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        const char *s = texts[i % 4];
        for (int r = 0; r <= i % 7; r++) bad |= tokenizer_encode(tok, s, strlen(s), 1, &serial[i], &err);
    }
#pragma omp parallel for num_threads(4) schedule(dynamic, 1) reduction(| : bad)
    for (int i = 0; i < N; i++) {
        duo_error e;
        const char *s = texts[i % 4];
        for (int r = 0; r <= i % 7; r++) bad |= tokenizer_encode(tok, s, strlen(s), 1, &parallel[i], &e);
    }
    for (int i = 0; i < N; i++) {
        bad |= serial[i].len != parallel[i].len ||
               memcmp(serial[i].ids, parallel[i].ids, serial[i].len * sizeof(int32_t)) != 0;
        ids_free(&serial[i]);
        ids_free(&parallel[i]);
    }
    tokenizer_free(tok);
    CHECK(!bad);
}

/* tokenizer_load_json reads exactly len bytes (no NUL needed) and names the source in errors. */
TEST(load_json_from_memory) {
    const char json[] = "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},\"merges\":[\"a b\"]}}XXXX";
    duo_error err;
    duo_tokenizer *tok = tokenizer_load_json(json, sizeof json - 5, "mem", &err);
    CHECK_MSG(tok, "%.600s", err.msg);
    duo_ids ids = {0};
    int rc = tokenizer_encode(tok, "abba", 4, 0, &ids, &err);
    int ok = rc == 0 && ids.len == 3 && ids.ids[0] == 2 && ids.ids[1] == 1 && ids.ids[2] == 0;
    ids_free(&ids);
    tokenizer_free(tok);
    CHECK(ok);
    CHECK(tokenizer_load_json(json, sizeof json - 1, "mem", &err) == NULL);  /* trailing garbage */
    CHECK_MSG(strstr(err.msg, "mem") && strstr(err.msg, "invalid JSON"), "%.600s", err.msg);
}

static uint64_t fnv_id(uint64_t h, uint32_t v) {
    for (int k = 0; k < 4; k++) h = (h ^ ((v >> (8 * k)) & 0xFF)) * 0x100000001b3ULL;
    return h;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Every essay of ../shared/corpus/paul_graham_essays through each tokenizer: the token count and id
 * digest equal those the script computed with HF tokenizers (skipped where ../shared is absent). */
TEST(essays_match_hf_digest) {
    const char *shared = test_shared_dir();
    if (!shared) SKIP("no ../shared (essays)");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/corpus/paul_graham_essays", shared);
    DIR *dh = opendir(dir);
    if (!dh) SKIP("%.900s absent", dir);
    char *names[512];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(dh)) && n < 512) {
        size_t l = strlen(e->d_name);
        if (l > 4 && !strcmp(e->d_name + l - 4, ".txt")) names[n++] = strdup(e->d_name);
    }
    closedir(dh);
    qsort(names, n, sizeof *names, by_name);
    json_error_t je;
    json_t *root = json_load_file(FIX "essays_digest.json", 0, &je);
    char fail[1024] = "";
    if (!root) snprintf(fail, sizeof fail, "essays_digest.json: %s", je.text);
    else if ((size_t)json_integer_value(json_object_get(root, "files")) != n)
        snprintf(fail, sizeof fail, "%zu essays here, the digest was made from %lld", n,
                 json_integer_value(json_object_get(root, "files")));
    const char *tpath;
    json_t *want;
    json_object_foreach(json_object_get(root, "tokenizers"), tpath, want) {
        if (fail[0]) break;
        char path[1024];
        snprintf(path, sizeof path, FIX "%s", tpath);
        duo_error err;
        duo_tokenizer *tok = tokenizer_load(path, &err);
        if (!tok) {
            snprintf(fail, sizeof fail, "%.900s", err.msg);
            break;
        }
        uint64_t h = 0xcbf29ce484222325ULL;
        size_t tokens = 0;
        for (size_t i = 0; i < n && !fail[0]; i++) {
            char file[2048];
            snprintf(file, sizeof file, "%s/%s", dir, names[i]);
            size_t len;
            char *text = file_read_all(file, &len, &err);
            duo_ids ids = {0};
            if (!text || tokenizer_encode(tok, text, len, 0, &ids, &err)) snprintf(fail, sizeof fail, "%.900s", err.msg);
            for (size_t k = 0; k < ids.len; k++) h = fnv_id(h, (uint32_t)ids.ids[k]);
            h = fnv_id(h, 0xFFFFFFFFu);
            tokens += ids.len;
            ids_free(&ids);
            free(text);
        }
        tokenizer_free(tok);
        char hex[17];
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h);
        if (!fail[0] && (tokens != (size_t)json_integer_value(json_object_get(want, "tokens")) ||
                         strcmp(hex, json_string_value(json_object_get(want, "fnv1a64")))))
            snprintf(fail, sizeof fail, "%s: %zu tokens digest %s, HF %lld tokens digest %s", tpath, tokens, hex,
                     json_integer_value(json_object_get(want, "tokens")),
                     json_string_value(json_object_get(want, "fnv1a64")));
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    json_decref(root);
    CHECK_MSG(!fail[0], "%.900s", fail);
}

TEST_MAIN()
