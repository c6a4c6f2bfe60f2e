/* A huge .txt corpus is read only as far as the multi-passkey builder needs (data/corpus.c prefix
 * mode, synth_text_source.extend): the samples equal those built from the whole file read at once
 * and those built from the same text cut short at a line break, for a byte-level BPE tokenizer and a
 * SentencePiece-style one (no pre-tokenizer split, the riskier case for a cut); and a 64 MiB file
 * builds with a small, bounded amount of memory (reading it whole took the file's size several times:
 * 300 MB took 4.8 GB and 39 s). */
#include <sys/resource.h>

#include "data/corpus.h"
#include "synth/encoder_tok.h"
#include "tests/harness.h"

static const char *WORDS[] = {"the", "river", "ran", "past", "old", "mills,", "and", "a", "boy", "said:",
                              "\"stop\"", "while", "42", "lanterns", "glowed.", "Über", "naïve", "café", "—", "then"};

/* Writes about `bytes` of lines of pseudo-random words to path (a fixed LCG: the same text each run). */
static int write_text(const char *path, size_t bytes) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    uint64_t x = 12345;
    size_t n = 0;
    while (n < bytes) {
        int words = 3 + (int)((x >> 33) % 17);
        for (int w = 0; w < words; w++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            const char *s = WORDS[(x >> 33) % (sizeof WORDS / sizeof *WORDS)];
            n += (size_t)fprintf(f, "%s%s", w ? " " : "", s);
        }
        n += (size_t)fprintf(f, (x >> 40) % 5 ? "\n" : "\n\n");
    }
    return fclose(f);
}

static void small_params(synth_params *p) {
    synth_params_default(p);
    p->context_length_min = 1500;
    p->context_length_max = 3000;
    p->context_lengths_num_intervals = 3;
    p->num_passkeys = 3;
    p->passkey_length = 2;
    p->buffer_size = 50;
    p->depth_ratio_num_intervals = 10;
}

/* Builder over path: whole texts (first_bytes 0) or prefixes starting at first_bytes. */
static synth_builder *build(const synth_params *p, const duo_tokenizer *tok, const char *tpath, const char *path,
                            size_t first_bytes, duo_error *err) {
    duo_corpus *c = corpus_open(path, err);
    if (!c) return NULL;
    synth_encoder enc;
    synth_encoder_from_tokenizer(tok, tpath, &enc);
    synth_text_source src = first_bytes ? synth_source_from_corpus_prefixes(c, path) : synth_source_from_corpus(c, path);
    if (first_bytes) corpus_read_prefixes(c, first_bytes);
    synth_builder *b = synth_builder_new(p, &enc, &src, err);
    corpus_close(c);
    return b;
}

/* 1 when samples 0..n-1 of a and b are identical. */
static int same_samples(synth_builder *a, synth_builder *b, int n, char *why, size_t cap) {
    duo_error err = {0};
    for (int k = 0; k < n; k++) {
        synth_sample x, y;
        if (synth_sample_generate(a, k, &x, &err)) return snprintf(why, cap, "%.200s", err.msg), 0;
        if (synth_sample_generate(b, k, &y, &err)) {
            synth_sample_free(&x);
            return snprintf(why, cap, "%.200s", err.msg), 0;
        }
        int same = x.n == y.n && x.qa_start == y.qa_start && !memcmp(x.input_ids, y.input_ids, x.n * sizeof *x.input_ids) &&
                   !memcmp(x.labels, y.labels, x.n * sizeof *x.labels);
        if (!same) snprintf(why, cap, "sample %d: %zu vs %zu tokens", k, x.n, y.n);
        synth_sample_free(&x);
        synth_sample_free(&y);
        if (!same) return 0;
    }
    return 1;
}

static void check_tokenizer(test_ctx *t, const char *tpath) {
    duo_error err = {0};
    const char *dir = test_tmpdir();
    char big[700], cut[700];
    snprintf(big, sizeof big, "%s/big.txt", dir);
    snprintf(cut, sizeof cut, "%s/cut.txt", dir);
    CHECK(write_text(big, 3u << 20) == 0);
    /* the same text cut at the first line break after 200 KB (about 60K tokens: far beyond 3000) */
    FILE *f = fopen(big, "rb"), *g = fopen(cut, "wb");
    CHECK(f && g);
    int ch;
    for (size_t i = 0; (ch = fgetc(f)) != EOF; i++) {
        fputc(ch, g);
        if (i >= (200u << 10) && ch == '\n') break;
    }
    fclose(f);
    fclose(g);
    duo_tokenizer *tok = tokenizer_load(tpath, &err);
    CHECK_MSG(tok, "%.300s", err.msg);
    synth_params p;
    small_params(&p);
    synth_builder *whole = build(&p, tok, tpath, big, 0, &err), *prefix = NULL, *shortened = NULL;
    if (whole) prefix = build(&p, tok, tpath, big, 4096, &err); /* several extends: 4K, 8K, ... */
    if (prefix) shortened = build(&p, tok, tpath, cut, 0, &err);
    char why[300] = "";
    int ok = whole && prefix && shortened && synth_builder_haystack_length(whole) == synth_builder_haystack_length(prefix) &&
             synth_builder_haystack_length(whole) == synth_builder_haystack_length(shortened) &&
             same_samples(whole, prefix, 6, why, sizeof why) && same_samples(whole, shortened, 6, why, sizeof why);
    if (!whole || !prefix || !shortened) snprintf(why, sizeof why, "%.290s", err.msg);
    synth_builder_free(whole);
    synth_builder_free(prefix);
    synth_builder_free(shortened);
    tokenizer_free(tok);
    CHECK_MSG(ok, "%s: %s", tpath, why);
}

static long peak_rss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* A source that passes the corpus's texts on and records the longest one handed to the builder. */
typedef struct {
    synth_text_source inner;
    size_t longest;
} watched_source;

static int watched_next(void *ctx, const char **text, size_t *len, duo_error *err) {
    watched_source *w = ctx;
    int r = w->inner.next(w->inner.ctx, text, len, err);
    if (r == 1 && *len > w->longest) w->longest = *len;
    return r;
}

static int watched_extend(void *ctx, const char **text, size_t *len, duo_error *err) {
    watched_source *w = ctx;
    int r = w->inner.extend(w->inner.ctx, text, len, err);
    if (r == 1 && *len > w->longest) w->longest = *len;
    return r;
}

/* Run first (registration order), while the peak RSS is still low.  The builder is handed at most a
 * couple of MiB of the 64 MiB file; in plain builds the peak RSS shows it too (under ASan freed
 * memory stays in a quarantine, so RSS says nothing there). */
TEST(a_64_mib_text_builds_in_bounded_memory) {
    const char *dir = test_tmpdir();
    char big[700];
    snprintf(big, sizeof big, "%s/huge.txt", dir);
    CHECK(write_text(big, 64u << 20) == 0);
    duo_error err = {0};
    const char *tpath = "tests/fixtures/retrieval-model";
    duo_tokenizer *tok = tokenizer_load(tpath, &err);
    CHECK_MSG(tok, "%.300s", err.msg);
    long before = peak_rss_kb();
    synth_params p;
    small_params(&p);
    duo_corpus *c = corpus_open(big, &err);
    CHECK_MSG(c, "%.300s", err.msg);
    watched_source w = {synth_source_from_corpus_prefixes(c, big), 0};
    synth_text_source src = {&w, watched_next, big, watched_extend};
    synth_encoder enc;
    synth_encoder_from_tokenizer(tok, tpath, &enc);
    synth_builder *b = synth_builder_new(&p, &enc, &src, &err);
    corpus_close(c);
    long grew = peak_rss_kb() - before;
    int texts = b ? synth_builder_haystack_texts(b) : 0;
    synth_builder_free(b);
    tokenizer_free(tok);
    remove(big);
    CHECK_MSG(b, "%.300s", err.msg);
    CHECK_EQ_INT(texts, 1);
    CHECK_MSG(w.longest <= SYNTH_TEXT_FIRST_BYTES, "the builder was handed %zu bytes of the 64 MiB text", w.longest);
    if (!getenv("DUO_SANITIZED"))
        CHECK_MSG(grew < 24 * 1024, "peak RSS grew by %ld KB building from a 64 MiB .txt", grew);
}

TEST(prefix_samples_equal_whole_file_byte_level_bpe) { check_tokenizer(t, "tests/fixtures/retrieval-model"); }
TEST(prefix_samples_equal_whole_file_sentencepiece) { check_tokenizer(t, "tests/fixtures/tokenizers/mistral"); }

TEST_MAIN()
