/* The multi-passkey builder on a byte tokenizer, where every token position can be computed by hand. */
#include <stdint.h>

#include "data/utf8.h"
#include "synth/multipasskey.h"
#include "synth/rng.h"
#include "tests/harness.h"
#include "tests/synth_toy.h"

/* 40 texts of 100 bytes each (4000 tokens). */
static const char *const *corpus_texts(void) {
    static char buf[40][101];
    static const char *ptrs[40];
    for (int i = 0; i < 40; i++) {
        for (int j = 0; j < 100; j++) buf[i][j] = (char)('a' + (i + j) % 26);
        buf[i][99] = ' ';
        buf[i][100] = '\0';
        ptrs[i] = buf[i];
    }
    return ptrs;
}

static synth_params small_params(void) {
    synth_params p;
    synth_params_default(&p);
    p.context_length_min = 1000;
    p.context_length_max = 3000;
    p.context_lengths_num_intervals = 5;
    p.depth_ratio_num_intervals = 50;
    p.num_passkeys = 4;
    p.passkey_length = 5;
    p.buffer_size = 100;
    return p;
}

static synth_builder *build(const synth_params *p, size_t ntexts, duo_error *err) {
    toy_texts tt = {corpus_texts(), ntexts, 0};
    synth_text_source src = toy_source(&tt);
    synth_encoder enc = toy_encoder();
    return synth_builder_new(p, &enc, &src, err);
}

/* Values printed by torch 2.x: torch.linspace(...).numpy().view(np.uint32) and dtype=torch.int. */
TEST(linspace_matches_torch) {
    float d[1000];
    synth_linspace_f32(0.05, 0.95, 1000, d);
    static const struct { int i; uint32_t bits; } want[] = {
        {0, 0x3d4ccccd}, {9, 0x3d6e02c5}, {30, 0x3d9dc059}, {31, 0x3d9f98ad}, {37, 0x3daaaaab},
        {499, 0x3effc4f5}, {500, 0x3f001d85}, {998, 0x3f72f828}, {999, 0x3f733333},
    };
    for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
        uint32_t bits;
        memcpy(&bits, &d[want[k].i], 4);
        CHECK_MSG(bits == want[k].bits, "depth[%d] bits %08x, torch %08x", want[k].i, bits, want[k].bits);
    }
    float e[7];
    synth_linspace_f32(0.1, 0.9, 7, e);
    static const uint32_t e_bits[7] = {0x3dcccccd, 0x3e6eeeee, 0x3ebbbbbb, 0x3f000000, 0x3f222222, 0x3f444444, 0x3f666666};
    for (int k = 0; k < 7; k++) {
        uint32_t bits;
        memcpy(&bits, &e[k], 4);
        CHECK_EQ_INT(bits, e_bits[k]);
    }
    int32_t c[268];
    synth_linspace_int(1000, 32000, 50, c);
    static const int32_t c_want[6] = {1000, 1632, 2265, 2897, 3530, 4163};
    for (int k = 0; k < 6; k++) CHECK_EQ_INT(c[k], c_want[k]);
    CHECK_EQ_INT(c[49], 32000);
    synth_linspace_int(764, 180607, 268, c);
    CHECK_EQ_INT(c[202], 136824);
    synth_linspace_int(7, 100, 1, c);
    CHECK_EQ_INT(c[0], 7);
}

TEST(rng_streams_are_keyed) {
    synth_rng a = synth_rng_stream(42, 3, 7), b = synth_rng_stream(42, 3, 7), c = synth_rng_stream(42, 3, 8);
    uint64_t x = synth_rng_next(&a);
    CHECK(x == synth_rng_next(&b));
    CHECK(x != synth_rng_next(&c));
    int hist[26] = {0};
    for (int i = 0; i < 26000; i++) hist[synth_rng_below(&a, 26)]++;
    for (int i = 0; i < 26; i++) CHECK_MSG(hist[i] > 800 && hist[i] < 1200, "word %d drawn %d times of 26000", i, hist[i]);
}

/* Haystack: the reference adds texts while len(encode(haystack, BOS)) < max; with 100-byte texts and
 * max 3000 that is 30 texts (3000 bytes + BOS >= 3000 after 30, 2901 < 3000 after 29). */
TEST(haystack_stops_like_reference_and_cut) {
    duo_error err = {0};
    synth_params p = small_params();
    synth_builder *b = build(&p, 40, &err);
    CHECK_MSG(b, "%.300s", err.msg);
    CHECK_EQ_INT(synth_builder_haystack_texts(b), 30);
    /* cut: other = prompt1 (+BOS) + prompt2 + (2 sep + needle0 + 2 passkey + question0) * P */
    size_t pk_len = 0;
    {
        synth_rng r = synth_rng_stream(p.seed, SYNTH_STREAM_CUT_PASSKEY, 0);
        for (int w = 0; w < p.passkey_length; w++) pk_len += strlen(SYNTH_NATO_WORDS[synth_rng_below(&r, 26)]) + (w > 0);
    }
    size_t needle0 = strlen("Remeber this sequence of words, it's the first passkey to the vault: ");
    size_t q0 = strlen("Based on the content of the book, what is the first passkey to the vault?\nPasskey: ");
    long other = (long)(strlen(p.prompt1) + 1 + strlen(p.prompt2) + (4 + needle0 + 2 * pk_len + q0) * 4);
    CHECK_EQ_INT(synth_builder_haystack_length(b), 3000 - 100 - other);
    synth_builder_free(b);
}

TEST(sample_layout_positions_and_labels) {
    duo_error err = {0};
    synth_params p = small_params();
    synth_builder *b = build(&p, 40, &err);
    CHECK_MSG(b, "%.300s", err.msg);
    const size_t p1 = strlen(p.prompt1) + 1, sep = 2;
    for (int64_t k = 0; k < 12; k++) {
        synth_sample s;
        CHECK_MSG(synth_sample_generate(b, k, &s, &err) == 0, "%.300s", err.msg);
        CHECK_MSG(s.n % 16 == 0, "sample %lld has %zu tokens", (long long)k, s.n);
        CHECK(s.input_ids[0] == TOY_BOS);
        CHECK(s.context_length == synth_builder_context_lengths(b)[s.context_index]);
        int32_t H = s.context_length < synth_builder_haystack_length(b) ? s.context_length : synth_builder_haystack_length(b);
        CHECK_EQ_INT(s.haystack_length, H);
        CHECK(s.haystack_length <= s.context_length);
        size_t before = p1; /* tokens before haystack token `ip` */
        for (int i = 0; i < s.num_passkeys; i++) {
            if (i) CHECK(s.depth_index[i] > s.depth_index[i - 1]);
            CHECK(s.depth_ratio[i] == synth_builder_depth_ratios(b)[s.depth_index[i]]);
            CHECK_EQ_INT(s.insertion_point[i], (int32_t)((float)H * s.depth_ratio[i]));
            char *needle = synth_format_ordinal(p.needle, SYNTH_ORDINALS[i]);
            /* needle i starts after prompt1, ip haystack tokens, i earlier needles and one separator */
            CHECK_EQ_INT(s.needle_pos[i][0], before + (size_t)s.insertion_point[i] + sep);
            char *txt = toy_decode(NULL, s.input_ids + s.needle_pos[i][0], (size_t)(s.needle_pos[i][1] - s.needle_pos[i][0]), 0);
            size_t nl = strlen(needle);
            CHECK(strncmp(txt, needle, nl) == 0 && strcmp(txt + nl, s.passkeys[i]) == 0);
            free(txt);
            txt = toy_decode(NULL, s.input_ids + s.passkey_pos[i][0], (size_t)(s.passkey_pos[i][1] - s.passkey_pos[i][0]), 0);
            CHECK_STR(txt, s.passkeys[i]);
            free(txt);
            txt = toy_decode(NULL, s.input_ids + s.answer_pos[i][0], (size_t)(s.answer_pos[i][1] - s.answer_pos[i][0]), 0);
            CHECK_STR(txt, s.passkeys[i]);
            free(txt);
            CHECK(s.needle_pos[i][0] >= 2 && s.input_ids[s.needle_pos[i][0] - 1] == '\n' + TOY_OFFSET);
            before += 2 * sep + nl + strlen(s.passkeys[i]);
            free(needle);
            /* passkeys are passkey_length NATO words */
            int words = 1;
            for (const char *c = s.passkeys[i]; *c; c++) words += *c == ' ';
            CHECK_EQ_INT(words, p.passkey_length);
        }
        /* labels: exactly the QA part, which is question + passkey + sep per passkey, after prompt2 */
        for (size_t q = 0; q < s.n; q++)
            CHECK(s.labels[q] == ((int32_t)q < s.qa_start ? SYNTH_IGNORE_LABEL : s.input_ids[q]));
        char *qa = toy_decode(NULL, s.input_ids + s.qa_start, s.n - (size_t)s.qa_start, 0);
        char want[8192] = "";
        for (int i = 0; i < s.num_passkeys; i++) {
            char *q = synth_format_ordinal(p.retrieval_question, SYNTH_ORDINALS[i]);
            strcat(want, q);
            strcat(want, s.passkeys[i]);
            strcat(want, "\n\n");
            free(q);
        }
        int qa_ok = strcmp(qa, want) == 0;
        CHECK_MSG(qa_ok, "sample %lld: the QA part is not question + passkey + separator per passkey", (long long)k);
        free(qa);
        char *p2 = toy_decode(NULL, s.input_ids + s.qa_start - strlen(p.prompt2), strlen(p.prompt2), 0);
        CHECK_STR(p2, p.prompt2);
        free(p2);
        /* padding: 1..16 tokens between the haystack's end and prompt2 */
        size_t body = before + (size_t)H + strlen(p.prompt2);
        size_t pad = (size_t)s.qa_start - body;
        CHECK_MSG(pad >= 1 && pad <= 16, "pad %zu", pad);
        /* the pad tokens are the cut haystack's last tokens */
        const char *const *texts = corpus_texts();
        int32_t L = synth_builder_haystack_length(b);
        for (size_t j = 0; j < pad; j++) {
            size_t hb = (size_t)L - pad + j;
            CHECK_EQ_INT(s.input_ids[before + (size_t)H + j], (unsigned char)texts[hb / 100][hb % 100] + TOY_OFFSET);
        }
        /* and the haystack runs on from prompt1: token ip0 - 1 sits right before the first separator */
        int32_t ip0 = s.insertion_point[0];
        if (ip0 > 0)
            CHECK_EQ_INT(s.input_ids[p1 + (size_t)ip0 - 1], (unsigned char)texts[(ip0 - 1) / 100][(ip0 - 1) % 100] + TOY_OFFSET);
        CHECK_EQ_INT(s.input_ids[before + (size_t)H - 1], (unsigned char)texts[(H - 1) / 100][(H - 1) % 100] + TOY_OFFSET);
        synth_sample_free(&s);
    }
    synth_builder_free(b);
}

TEST(samples_reproducible_and_independent) {
    duo_error err = {0};
    synth_params p = small_params();
    synth_builder *b1 = build(&p, 40, &err), *b2 = build(&p, 40, &err);
    CHECK_MSG(b1 && b2, "%.300s", err.msg);
    synth_sample a, c, d;
    /* sample 9 alone from one builder, after 0..8 from another: same tokens */
    for (int64_t k = 0; k < 9; k++) {
        CHECK(synth_sample_generate(b2, k, &c, &err) == 0);
        synth_sample_free(&c);
    }
    CHECK(synth_sample_generate(b1, 9, &a, &err) == 0);
    CHECK(synth_sample_generate(b2, 9, &c, &err) == 0);
    CHECK(synth_sample_generate(b2, 10, &d, &err) == 0);
    CHECK(a.n == c.n && memcmp(a.input_ids, c.input_ids, a.n * 4) == 0);
    CHECK(strcmp(a.passkeys[0], d.passkeys[0]) != 0);
    /* one epoch visits every context length once */
    int seen[5] = {0};
    for (int64_t k = 0; k < 5; k++) {
        synth_sample s;
        CHECK(synth_sample_generate(b1, k, &s, &err) == 0);
        seen[s.context_index]++;
        synth_sample_free(&s);
    }
    for (int i = 0; i < 5; i++) CHECK_EQ_INT(seen[i], 1);
    synth_sample_free(&a);
    synth_sample_free(&c);
    synth_sample_free(&d);
    synth_builder_free(b1);
    synth_builder_free(b2);
}

/* Samples built concurrently (OpenMP threads, in any order) equal the ones built one by one. */
TEST(samples_independent_of_threads) {
    duo_error err = {0};
    synth_params p = small_params();
    synth_builder *b = build(&p, 40, &err);
    CHECK_MSG(b, "%.300s", err.msg);
    enum { N = 24 };
    synth_sample seq[N], par[N];
    for (int k = 0; k < N; k++) CHECK(synth_sample_generate(b, k, &seq[k], &err) == 0);
    int fails = 0;
#pragma omp parallel for schedule(dynamic) num_threads(4) reduction(+ : fails)
    for (int k = N - 1; k >= 0; k--) {
        duo_error e;
        fails += synth_sample_generate(b, k, &par[k], &e) != 0;
    }
    CHECK_EQ_INT(fails, 0);
    int same = 1;
    for (int k = 0; k < N; k++) {
        same &= seq[k].n == par[k].n && memcmp(seq[k].input_ids, par[k].input_ids, seq[k].n * 4) == 0 &&
                strcmp(seq[k].passkeys[0], par[k].passkeys[0]) == 0;
        synth_sample_free(&seq[k]);
        synth_sample_free(&par[k]);
    }
    synth_builder_free(b);
    CHECK(same);
}

TEST(bad_inputs_are_clear_errors) {
    duo_error err = {0};
    synth_params p = small_params();
    CHECK(build(&p, 10, &err) == NULL);
    CHECK_MSG(strstr(err.msg, "too short") && strstr(err.msg, "--allow_repeat"), "%.300s", err.msg);
    p.allow_repeat = 1;
    synth_builder *b = build(&p, 10, &err);
    CHECK_MSG(b && synth_builder_repeated(b), "%.300s", err.msg);
    synth_builder_free(b);

    p = small_params();
    p.num_passkeys = 0;
    CHECK(build(&p, 40, &err) == NULL && strstr(err.msg, "--num_passkeys"));
    p.num_passkeys = 51;
    CHECK(build(&p, 40, &err) == NULL && strstr(err.msg, "--num_passkeys"));
    p = small_params();
    p.num_passkeys = 8;
    p.depth_ratio_num_intervals = 5;
    CHECK(build(&p, 40, &err) == NULL && strstr(err.msg, "--depth_ratio_num_intervals"));
    p = small_params();
    p.context_length_min = 5000;
    CHECK(build(&p, 40, &err) == NULL && strstr(err.msg, "--context_length_min"));
    p = small_params();
    p.context_length_max = 800;
    p.context_length_min = 100;
    CHECK(build(&p, 40, &err) == NULL && strstr(err.msg, "no room"));

    p = small_params();
    const char *bad[] = {"fine text ", "", "more"};
    toy_texts tt = {bad, 3, 0};
    synth_text_source src = toy_source(&tt);
    synth_encoder enc = toy_encoder();
    CHECK(synth_builder_new(&p, &enc, &src, &err) == NULL);
    CHECK_MSG(strstr(err.msg, "text 2 is empty"), "%.300s", err.msg);
    const char *bad2[] = {"fine text ", "caf\xc3", "more"};
    tt = (toy_texts){bad2, 3, 0};
    CHECK(synth_builder_new(&p, &enc, &src, &err) == NULL);
    CHECK_MSG(strstr(err.msg, "text 2 is not valid UTF-8"), "%.300s", err.msg);
    tt = (toy_texts){bad2, 0, 0};
    CHECK(synth_builder_new(&p, &enc, &src, &err) == NULL);
    CHECK_MSG(strstr(err.msg, "no texts"), "%.300s", err.msg);
}

/* Expected strings printed by transformers' PreTrainedTokenizerBase.clean_up_tokenization. */
TEST(clean_up_tokenization_like_transformers) {
    char s[] = "He said , ' yes ' . Isn 't it ? I 'm sure ! they 're ok ; we 've don't .. it 's";
    synth_clean_up_tokenization(s);
    CHECK_STR(s, "He said,'yes '. Isn 't it? I'm sure! they're ok ; we've don't.. it's");
    CHECK(utf8_valid_prefix("caf\xc3\xa9", 5) == 5);
    CHECK(utf8_valid_prefix("\xed\xa0\x80", 3) != 3); /* a surrogate */
    CHECK(utf8_valid_prefix("\xc0\xaf", 2) != 2);     /* overlong */
}

TEST_MAIN()
