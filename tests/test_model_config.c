/* config.json reader: every committed fixture (values as scripts/make_tiny_checkpoints.py wrote them
 * and transformers read them back), the transformers 5.x form, and every refusal naming its field. */
#pragma GCC diagnostic ignored "-Wformat-truncation" /* failure messages quote error messages */

#include "data/fileio.h"
#include "data/model_config.h"
#include "tests/harness.h"

#define MODELS "tests/fixtures/models"

static int load(const char *model, duo_model_config *c, duo_error *err) {
    char path[512];
    snprintf(path, sizeof path, MODELS "/%s/config.json", model);
    return model_config_load(path, c, err);
}

static int parse(const char *json, duo_model_config *c, duo_error *err) {
    return model_config_parse(json, strlen(json), "cfg.json", c, err);
}

TEST(llama_gqa) {
    duo_model_config c;
    duo_error err = {{0}};
    CHECK_MSG(load("tiny-llama-gqa", &c, &err) == 0, "%s", err.msg);
    CHECK_STR(c.model_type, "llama");
    CHECK_STR(c.architecture, "LlamaForCausalLM");
    CHECK_EQ_INT(c.hidden_size, 32);
    CHECK_EQ_INT(c.intermediate_size, 64);
    CHECK_EQ_INT(c.num_hidden_layers, 2);
    CHECK_EQ_INT(c.num_attention_heads, 4);
    CHECK_EQ_INT(c.num_key_value_heads, 2);
    CHECK_EQ_INT(c.head_dim, 8); /* hidden / heads */
    CHECK_EQ_INT(c.vocab_size, 256);
    CHECK_EQ_INT(c.max_position_embeddings, 2048);
    CHECK(c.rms_norm_eps == 1e-5);
    CHECK(c.rope_theta == 10000.0);
    CHECK_EQ_INT(c.rope_type, ROPE_DEFAULT);
    CHECK(c.rope_factor == 1.0);
    CHECK_EQ_INT(c.tie_word_embeddings, 0);
    CHECK_EQ_INT(c.bos_token_id, 1);
    CHECK_EQ_INT(c.eos_token_id, 2);
    CHECK_EQ_INT(c.sliding_window, 0);
    CHECK_STR(c.torch_dtype, "float32");
}

TEST(llama_mha_tied) {
    duo_model_config c;
    duo_error err = {{0}};
    CHECK_MSG(load("tiny-llama-mha-bf16-tied", &c, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(c.num_key_value_heads, 4);
    CHECK_EQ_INT(c.num_attention_heads, 4);
    CHECK_EQ_INT(c.tie_word_embeddings, 1);
    CHECK_EQ_INT(c.vocab_size, 288);
    CHECK(c.rope_theta == 500000.0);
    CHECK(c.rms_norm_eps == 1e-6);
    CHECK_STR(c.torch_dtype, "bfloat16");
}

TEST(mistral_sliding_window) {
    duo_model_config c;
    duo_error err = {{0}};
    CHECK_MSG(load("tiny-mistral-gqa-f16", &c, &err) == 0, "%s", err.msg);
    CHECK_STR(c.model_type, "mistral");
    CHECK_STR(c.architecture, "MistralForCausalLM");
    CHECK_EQ_INT(c.hidden_size, 48);
    CHECK_EQ_INT(c.num_attention_heads, 6);
    CHECK_EQ_INT(c.num_key_value_heads, 2);
    CHECK_EQ_INT(c.head_dim, 8);
    CHECK_EQ_INT(c.sliding_window, 4096);
    CHECK(c.rope_theta == 1000000.0);
    CHECK_STR(c.torch_dtype, "float16");
}

TEST(llama3_rope_head_dim_eos_list) {
    duo_model_config c;
    duo_error err = {{0}};
    CHECK_MSG(load("tiny-llama3-rope-headdim", &c, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(c.head_dim, 16); /* explicit, not hidden / heads = 8 */
    CHECK_EQ_INT(c.rope_type, ROPE_LLAMA3);
    CHECK(c.rope_factor == 8.0);
    CHECK(c.rope_low_freq_factor == 1.0);
    CHECK(c.rope_high_freq_factor == 4.0);
    CHECK_EQ_INT(c.rope_original_max_position_embeddings, 256);
    CHECK(c.rope_theta == 500000.0);
    CHECK_EQ_INT(c.eos_token_id, 2); /* first of [2, 3] */
    CHECK_STR(rope_type_name(c.rope_type), "llama3");
}

TEST(linear_rope_old_type_key) {
    duo_model_config c;
    duo_error err = {{0}};
    CHECK_MSG(load("tiny-llama-rope-linear", &c, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(c.rope_type, ROPE_LINEAR);
    CHECK(c.rope_factor == 4.0);
    CHECK_EQ_INT(c.num_key_value_heads, 1);
    CHECK_STR(rope_type_name(c.rope_type), "linear");
}

/* What transformers 5.x writes: rope_parameters, "dtype", no num_key_value_heads (defaults to heads). */
TEST(transformers5_keys_and_defaults) {
    duo_model_config c;
    duo_error err = {{0}};
    const char *j = "{\"model_type\":\"llama\",\"hidden_size\":64,\"intermediate_size\":128,\"num_hidden_layers\":3,"
                    "\"num_attention_heads\":8,\"vocab_size\":100,\"dtype\":\"bfloat16\",\"head_dim\":null,"
                    "\"eos_token_id\":null,\"sliding_window\":null,\"max_position_embeddings\":4096.0,"
                    "\"rope_parameters\":{\"rope_type\":\"llama3\",\"rope_theta\":500000.0,\"factor\":32.0,"
                    "\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,\"original_max_position_embeddings\":8192}}";
    CHECK_MSG(parse(j, &c, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(c.num_key_value_heads, 8);
    CHECK_EQ_INT(c.head_dim, 8);
    CHECK_EQ_INT(c.max_position_embeddings, 4096);
    CHECK_EQ_INT(c.eos_token_id, -1);
    CHECK_EQ_INT(c.bos_token_id, -1);
    CHECK_EQ_INT(c.sliding_window, 0);
    CHECK_EQ_INT(c.rope_type, ROPE_LLAMA3);
    CHECK(c.rope_factor == 32.0);
    CHECK(c.rope_theta == 500000.0);
    CHECK_EQ_INT(c.rope_original_max_position_embeddings, 8192);
    CHECK_STR(c.torch_dtype, "bfloat16");
    CHECK(c.rms_norm_eps == 1e-6); /* LlamaConfig's default */
    CHECK_STR(c.architecture, "");
    /* rope_scaling {"rope_type": "default"} is the same as null. */
    const char *d = "{\"model_type\":\"mistral\",\"hidden_size\":16,\"intermediate_size\":16,\"num_hidden_layers\":1,"
                    "\"num_attention_heads\":2,\"vocab_size\":10,\"rope_scaling\":{\"rope_type\":\"default\"}}";
    CHECK_MSG(parse(d, &c, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(c.rope_type, ROPE_DEFAULT);
    CHECK(c.rope_theta == 10000.0);
}

/* Each broken config must be refused with one line naming the file and the field. */
#define BASE_FIELDS "\"hidden_size\":32,\"intermediate_size\":64,\"num_hidden_layers\":2,\"num_attention_heads\":4," \
                    "\"vocab_size\":64"
static const struct {
    const char *json, *needle;
} bad_configs[] = {
    {"{\"model_type\":\"gpt2\"," BASE_FIELDS "}", "model_type 'gpt2' is not supported"},
    {"{\"model_type\":\"mixtral\"," BASE_FIELDS "}", "model_type 'mixtral'"},
    {"{\"model_type\":\"mistral\",\"architectures\":[\"MixtralForCausalLM\"]," BASE_FIELDS "}", "architectures 'MixtralForCausalLM'"},
    {"{\"model_type\":\"llama\",\"architectures\":\"LlamaForCausalLM\"," BASE_FIELDS "}", "'architectures' must be a list"},
    {"{\"model_type\":\"mistral\",\"num_local_experts\":8," BASE_FIELDS "}", "'num_local_experts'"},
    {"{\"model_type\":\"llama\",\"attention_bias\":true," BASE_FIELDS "}", "'attention_bias: true' is not supported"},
    {"{\"model_type\":\"llama\",\"mlp_bias\":true," BASE_FIELDS "}", "'mlp_bias: true' is not supported"},
    {"{\"model_type\":\"llama\",\"hidden_act\":\"gelu\"," BASE_FIELDS "}", "hidden_act 'gelu'"},
    {"{" BASE_FIELDS "}", "missing field 'model_type'"},
    {"{\"model_type\":\"llama\",\"intermediate_size\":64,\"num_hidden_layers\":2,\"num_attention_heads\":4,\"vocab_size\":64}",
     "missing field 'hidden_size'"},
    {"{\"model_type\":\"llama\",\"hidden_size\":32,\"intermediate_size\":64,\"num_attention_heads\":4,\"vocab_size\":64}",
     "missing field 'num_hidden_layers'"},
    {"{\"model_type\":\"llama\",\"hidden_size\":32,\"intermediate_size\":64,\"num_hidden_layers\":2,\"num_attention_heads\":4}",
     "missing field 'vocab_size'"},
    {"{\"model_type\":\"llama\",\"hidden_size\":\"32\",\"intermediate_size\":64,\"num_hidden_layers\":2,"
     "\"num_attention_heads\":4,\"vocab_size\":64}", "'hidden_size' must be an integer"},
    {"{\"model_type\":\"llama\",\"hidden_size\":0,\"intermediate_size\":64,\"num_hidden_layers\":2,"
     "\"num_attention_heads\":4,\"vocab_size\":64}", "'hidden_size' is 0"},
    {"{\"model_type\":\"llama\",\"num_key_value_heads\":3," BASE_FIELDS "}", "not a multiple of num_key_value_heads"},
    {"{\"model_type\":\"llama\",\"hidden_size\":30,\"intermediate_size\":64,\"num_hidden_layers\":2,"
     "\"num_attention_heads\":4,\"vocab_size\":64}", "hidden_size (30) is not a multiple of num_attention_heads"},
    {"{\"model_type\":\"llama\",\"head_dim\":7," BASE_FIELDS "}", "head_dim 7 is odd"},
    {"{\"model_type\":\"llama\",\"rope_scaling\":{\"type\":\"yarn\",\"factor\":4}," BASE_FIELDS "}", "rope_scaling type 'yarn'"},
    {"{\"model_type\":\"llama\",\"rope_scaling\":{\"rope_type\":\"dynamic\",\"factor\":4}," BASE_FIELDS "}", "'dynamic' is not supported"},
    {"{\"model_type\":\"llama\",\"rope_scaling\":{\"type\":\"linear\"}," BASE_FIELDS "}", "missing field 'rope_scaling.factor'"},
    {"{\"model_type\":\"llama\",\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8,\"low_freq_factor\":1,"
     "\"high_freq_factor\":4}," BASE_FIELDS "}", "missing field 'rope_scaling.original_max_position_embeddings'"},
    {"{\"model_type\":\"llama\",\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8,\"low_freq_factor\":4,"
     "\"high_freq_factor\":4,\"original_max_position_embeddings\":8192}," BASE_FIELDS "}", "must exceed low_freq_factor"},
    {"{\"model_type\":\"llama\",\"rope_scaling\":{\"type\":\"linear\",\"factor\":-2}," BASE_FIELDS "}", "'rope_scaling.factor' must be a positive"},
    {"{\"model_type\":\"llama\",\"rope_scaling\":\"linear\"," BASE_FIELDS "}", "'rope_scaling' must be an object or null"},
    {"{\"model_type\":\"llama\",\"rope_theta\":0," BASE_FIELDS "}", "'rope_theta' must be positive"},
    {"{\"model_type\":\"llama\",\"tie_word_embeddings\":1," BASE_FIELDS "}", "'tie_word_embeddings' must be true or false"},
    {"{\"model_type\":\"llama\",\"eos_token_id\":\"</s>\"," BASE_FIELDS "}", "'eos_token_id' must be a token id"},
    {"{\"model_type\":\"llama\",\"sliding_window\":-1," BASE_FIELDS "}", "'sliding_window' is -1"},
    {"{\"model_type\":\"llama\"," BASE_FIELDS ",\"vocab_size\":65}", "duplicate"},
    {"{\"model_type\":\"llama\",", "not valid JSON"},
    {"[1, 2]", "not a JSON object"},
    {"", "not valid JSON"},
};

TEST(refusals_name_the_field) {
    for (size_t i = 0; i < sizeof bad_configs / sizeof *bad_configs; i++) {
        duo_model_config c;
        duo_error err = {{0}};
        int rc = parse(bad_configs[i].json, &c, &err);
        CHECK_MSG(rc == -1, "case %zu accepted: %s", i, bad_configs[i].json);
        CHECK_MSG(strstr(err.msg, "cfg.json: "), "case %zu: no file name: %s", i, err.msg);
        CHECK_MSG(strstr(err.msg, bad_configs[i].needle), "case %zu: '%s' not in: %s", i, bad_configs[i].needle, err.msg);
        CHECK_MSG(!strchr(err.msg, '\n'), "case %zu: not one line: %s", i, err.msg);
    }
}

TEST(missing_file) {
    duo_model_config c;
    duo_error err = {{0}};
    CHECK(model_config_load(MODELS "/nope/config.json", &c, &err) == -1);
    CHECK_MSG(strstr(err.msg, "nope/config.json") && strstr(err.msg, "cannot open"), "%s", err.msg);
}

/* Bytes the JSON library must stop at: a buffer without a NUL terminator is read only up to len. */
TEST(buffer_not_nul_terminated) {
    const char *j = "{\"model_type\":\"llama\"," BASE_FIELDS "}GARBAGE";
    duo_model_config c;
    duo_error err = {{0}};
    CHECK_MSG(model_config_parse(j, strlen(j) - 7, "cfg.json", &c, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(c.vocab_size, 64);
}

TEST_MAIN()
