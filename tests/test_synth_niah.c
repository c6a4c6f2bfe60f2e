/* Needle-in-a-haystack prompts on the byte tokenizer: the prompt is checked against the reference's
 * construction written out by hand (cut, insertion point, prompt text). */
#include "synth/niah.h"
#include "tests/harness.h"
#include "tests/synth_toy.h"

/* Values printed by numpy: np.round(np.linspace(...)).astype(int). */
TEST(grid_matches_numpy) {
    int32_t d[40];
    niah_linspace_round(0, 100, 10, d);
    static const int32_t want[10] = {0, 11, 22, 33, 44, 56, 67, 78, 89, 100};
    for (int i = 0; i < 10; i++) CHECK_EQ_INT(d[i], want[i]);
    niah_linspace_round(1000, 1048000, 40, d);
    static const int32_t want2[8] = {1000, 27846, 54692, 81538, 108385, 135231, 162077, 188923};
    for (int i = 0; i < 8; i++) CHECK_EQ_INT(d[i], want2[i]);
    CHECK_EQ_INT(d[39], 1048000);
    niah_linspace_round(1, 6, 5, d);
    static const int32_t want3[5] = {1, 2, 4, 5, 6}; /* 3.5 rounds to even */
    for (int i = 0; i < 5; i++) CHECK_EQ_INT(d[i], want3[i]);
}

static const char *const essays[] = {"Alpha essay text. ", "Bravo essay, second file. ", "Charlie closes it.\n"};
#define ESSAYS_LEN (18 + 26 + 19)

TEST(prompt_matches_reference_construction) {
    duo_error err = {0};
    niah_params p;
    niah_params_default(&p);
    p.context_lengths_min = 300;
    p.context_lengths_max = 600;
    p.context_lengths_num_intervals = 2;
    p.final_context_length_buffer = 50;
    p.needle = "[NEEDLE]";
    toy_texts tt = {essays, 3, 0};
    synth_text_source src = toy_source(&tt);
    synth_encoder enc = toy_encoder();
    niah_builder *b = niah_builder_new(&p, &enc, &src, &err);
    CHECK_MSG(b, "%.300s", err.msg);
    /* the reference repeats all files until >= 600 tokens with BOS: ceil(599 / 63) = 10 copies */
    CHECK_EQ_INT(niah_haystack_tokens(b), 1 + 10 * ESSAYS_LEN);
    char hay[1024] = "";
    for (int k = 0; k < 10; k++)
        for (int i = 0; i < 3; i++) strcat(hay, essays[i]);
    for (int di = 0; di < niah_num_depths(b); di++) {
        int32_t depth = niah_depth_percents(b)[di];
        niah_prompt pr;
        CHECK_MSG(niah_prompt_build(b, 300, depth, &pr, &err) == 0, "%.300s", err.msg);
        /* first 300 tokens incl. BOS -> 299 bytes; cut to 300 - 50 - 8 = 242 */
        CHECK_EQ_INT(pr.context_tokens, 242);
        int32_t ip = depth == 100 ? 242 : (int32_t)(242 * (depth / 100.0));
        CHECK_EQ_INT(pr.insertion_point, ip);
        char want[2048];
        snprintf(want, sizeof want, "%s%.*s[NEEDLE]%.*s%s%s", p.prompt_prefix, ip, hay, 242 - ip, hay + ip,
                 p.prompt_suffix, p.retrieval_question);
        char *got = toy_decode(NULL, pr.ids, pr.n, 0);
        if (strcmp(got + 1, want)) fprintf(stderr, "got  %s\nwant %s\n", got + 1, want);
        CHECK_EQ_INT(pr.ids[0], TOY_BOS);
        int same = strcmp(got + 1, want) == 0;
        CHECK_MSG(same, "depth %d: prompt differs from the reference construction", depth);
        free(got);
        CHECK_STR(pr.answer, "eat a sandwich and sit in Dolores Park on a sunny day");
        niah_prompt_free(&pr);
    }
    niah_prompt pr;
    CHECK(niah_prompt_build(b, 55, 50, &pr, &err) == -1 && strstr(err.msg, "no room"));
    niah_builder_free(b);
}

TEST_MAIN()
