/* The builders on the real tokenizer and corpus reader, through the trainer's entry point
 * (synth_builder_from_paths): samples equal the reference construction in
 * tests/fixtures/corpus/synth_small.expected.json (scripts/gen_synth_reference.py, HF transformers). */
#include <jansson.h>

#include "synth/encoder_tok.h"
#include "tests/harness.h"

TEST(builder_matches_reference_samples) {
    duo_error err = {0};
    json_t *exp = json_load_file("tests/fixtures/corpus/synth_small.expected.json", 0, NULL);
    CHECK(exp);
    json_t *jp = json_object_get(exp, "params");
    const char *tpath = json_string_value(json_object_get(exp, "tokenizer"));
    synth_params p;
    synth_params_default(&p);
    p.context_length_min = (int32_t)json_integer_value(json_object_get(jp, "context_length_min"));
    p.context_length_max = (int32_t)json_integer_value(json_object_get(jp, "context_length_max"));
    p.context_lengths_num_intervals = (int32_t)json_integer_value(json_object_get(jp, "context_lengths_num_intervals"));
    p.min_depth_ratio = json_real_value(json_object_get(jp, "min_needle_depth_ratio"));
    p.max_depth_ratio = json_real_value(json_object_get(jp, "max_needle_depth_ratio"));
    p.depth_ratio_num_intervals = (int32_t)json_integer_value(json_object_get(jp, "depth_ratio_num_intervals"));
    p.num_passkeys = (int32_t)json_integer_value(json_object_get(jp, "num_passkeys"));
    p.passkey_length = (int32_t)json_integer_value(json_object_get(jp, "passkey_length"));
    p.buffer_size = (int32_t)json_integer_value(json_object_get(jp, "buffer_size"));
    p.seed = (uint64_t)json_integer_value(json_object_get(jp, "seed"));
    duo_tokenizer *tok = tokenizer_load(tpath, &err);
    CHECK_MSG(tok, "%.300s", err.msg);
    synth_builder *b = synth_builder_from_paths(&p, tok, tpath, json_string_value(json_object_get(exp, "corpus")), &err);
    CHECK_MSG(b, "%.300s", err.msg);
    CHECK_EQ_INT(synth_builder_haystack_length(b), json_integer_value(json_object_get(exp, "haystack_tokens")));
    json_t *samples = json_object_get(exp, "samples");
    int ok = 1;
    char why[256] = "";
    /* built in reverse order: each sample depends only on its index */
    for (int k = (int)json_array_size(samples) - 1; k >= 0 && ok; k--) {
        json_t *js = json_array_get(samples, (size_t)k), *ids = json_object_get(js, "input_ids");
        synth_sample s;
        if (synth_sample_generate(b, k, &s, &err)) {
            snprintf(why, sizeof why, "sample %d: %.200s", k, err.msg);
            ok = 0;
            break;
        }
        if (s.n != json_array_size(ids) || s.qa_start != json_integer_value(json_object_get(js, "qa_start"))) {
            snprintf(why, sizeof why, "sample %d: %zu tokens, qa_start %d", k, s.n, s.qa_start);
            ok = 0;
        }
        for (size_t i = 0; ok && i < s.n; i++)
            if (s.input_ids[i] != json_integer_value(json_array_get(ids, i))) {
                snprintf(why, sizeof why, "sample %d differs at token %zu", k, i);
                ok = 0;
            }
        for (int j = 0; ok && j < s.num_passkeys; j++)
            if (strcmp(s.passkeys[j], json_string_value(json_array_get(json_object_get(js, "passkeys"), (size_t)j)))) {
                snprintf(why, sizeof why, "sample %d passkey %d differs", k, j);
                ok = 0;
            }
        synth_sample_free(&s);
    }
    synth_builder_free(b);
    tokenizer_free(tok);
    json_decref(exp);
    CHECK_MSG(ok, "%s", why);
}

static int write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

TEST(clean_up_flag_from_tokenizer_config) {
    const char *dir = test_tmpdir();
    CHECK(dir);
    char cfg[600], tj[600];
    snprintf(cfg, sizeof cfg, "%s/tokenizer_config.json", dir);
    snprintf(tj, sizeof tj, "%s/tokenizer.json", dir);
    CHECK_EQ_INT(synth_read_clean_up_flag(dir), 0); /* no config: off, as transformers' default */
    CHECK(write_file(cfg, "{\"clean_up_tokenization_spaces\": true}") == 0);
    CHECK_EQ_INT(synth_read_clean_up_flag(dir), 1);
    CHECK_EQ_INT(synth_read_clean_up_flag(tj), 1); /* a tokenizer.json path looks next to it */
    CHECK(write_file(cfg, "{\"clean_up_tokenization_spaces\": false}") == 0);
    CHECK_EQ_INT(synth_read_clean_up_flag(dir), 0);
    /* Llama-2 / Mistral configs: model_max_length int(1e30) must not hide the flag */
    CHECK(write_file(cfg, "{\"model_max_length\": 1000000000000000019884624838656, \"clean_up_tokenization_spaces\": true}") == 0);
    CHECK_EQ_INT(synth_read_clean_up_flag(dir), 1);
}

TEST_MAIN()
