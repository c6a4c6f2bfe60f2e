/* config.json reader: every committed fixture (values as scripts/make_tiny_checkpoints.py wrote them
 * and transformers read them back), the transformers 5.x form, and every refusal naming its field. */
#pragma GCC diagnostic ignored "-Wformat-truncation" /* failure messages quote error messages */

#include "data/fileio.h"
#include "data/model_config.h"
#include "tests/harness.h"

#define MODELS "tests/fixtures/models"
#define BASE_FIELDS "\"hidden_size\":32,\"intermediate_size\":64,\"num_hidden_layers\":2,\"num_attention_heads\":4," \
                    "\"vocab_size\":64"

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
/* Written by transformers 5.x itself (Qwen2Config.save_pretrained): rope_parameters, dtype, layer_types,
 * use_sliding_window false with sliding_window null, no attention_bias key. */
TEST(qwen2_fixture) {
    duo_model_config c;
    duo_error err = {{0}};
    CHECK_MSG(load("tiny-qwen2-gqa-bf16-tied", &c, &err) == 0, "%s", err.msg);
    CHECK_STR(c.model_type, "qwen2");
    CHECK_STR(c.architecture, "Qwen2ForCausalLM");
    CHECK_EQ_INT(c.attention_bias, 1);
    CHECK_EQ_INT(c.qk_norm, 0);
    CHECK_EQ_INT(c.tie_word_embeddings, 1);
    CHECK_EQ_INT(c.head_dim, 8);
    CHECK_EQ_INT(c.sliding_window, 0);
    CHECK(c.rope_theta == 1000000.0);
    CHECK_EQ_INT(c.rope_type, ROPE_DEFAULT);
    CHECK_STR(c.torch_dtype, "bfloat16");
}

TEST(qwen3_fixture) {
    duo_model_config c;
    duo_error err = {{0}};
    CHECK_MSG(load("tiny-qwen3-headdim", &c, &err) == 0, "%s", err.msg);
    CHECK_STR(c.model_type, "qwen3");
    CHECK_STR(c.architecture, "Qwen3ForCausalLM");
    CHECK_EQ_INT(c.attention_bias, 0);
    CHECK_EQ_INT(c.qk_norm, 1);
    CHECK_EQ_INT(c.tie_word_embeddings, 0);
    CHECK_EQ_INT(c.head_dim, 16); /* explicit; hidden / heads = 8 */
    CHECK(c.rms_norm_eps == 1e-6);
    CHECK_EQ_INT(c.max_position_embeddings, 40960);
}

/* Qwen2.5-7B's config.json as published (4.x form): sliding_window set but use_sliding_window false. */
TEST(qwen_published_forms) {
    duo_model_config c;
    duo_error err = {{0}};
    const char *q25 = "{\"architectures\":[\"Qwen2ForCausalLM\"],\"attention_dropout\":0.0,\"bos_token_id\":151643,"
                      "\"eos_token_id\":151643,\"hidden_act\":\"silu\",\"hidden_size\":3584,\"initializer_range\":0.02,"
                      "\"intermediate_size\":18944,\"max_position_embeddings\":131072,\"max_window_layers\":28,"
                      "\"model_type\":\"qwen2\",\"num_attention_heads\":28,\"num_hidden_layers\":28,\"num_key_value_heads\":4,"
                      "\"rms_norm_eps\":1e-06,\"rope_theta\":1000000.0,\"sliding_window\":131072,\"tie_word_embeddings\":false,"
                      "\"torch_dtype\":\"bfloat16\",\"transformers_version\":\"4.43.1\",\"use_cache\":true,"
                      "\"use_sliding_window\":false,\"vocab_size\":152064}";
    CHECK_MSG(parse(q25, &c, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(c.head_dim, 128);
    CHECK_EQ_INT(c.attention_bias, 1);
    CHECK_EQ_INT(c.sliding_window, 0);
    CHECK_EQ_INT(c.bos_token_id, 151643);
    /* Qwen3 without head_dim: Qwen3Config's default 128, not hidden / heads */
    const char *q3 = "{\"model_type\":\"qwen3\",\"hidden_size\":64,\"intermediate_size\":64,\"num_hidden_layers\":1,"
                     "\"num_attention_heads\":2,\"num_key_value_heads\":1,\"vocab_size\":10,\"attention_bias\":false}";
    CHECK_MSG(parse(q3, &c, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(c.head_dim, 128);
    CHECK_EQ_INT(c.qk_norm, 1);
}

/* Numbers Python's json reads and jansson alone refuses, in fields we do not read: they load. */
TEST(any_number_in_unread_fields_loads) {
    duo_model_config c;
    duo_error err = {{0}};
    const char *j = "{\"model_type\":\"llama\"," BASE_FIELDS ",\"model_max_length\":1000000000000000019884624838656,"
                    "\"neg\":-99999999999999999999999,\"edge\":9223372036854775807,\"edge_neg\":-9223372036854775808,"
                    "\"over\":9223372036854775808,\"nan\":NaN,\"inf\":Infinity,\"ninf\":-Infinity,\"huge_real\":1e999,"
                    "\"list\":[1e400,-2E+999,123456789012345678901234567890],\"s\":\"NaN 99999999999999999999999 \\\" 1e999\","
                    "\"frac\":3.5,\"exp\":2.5e-400}";
    CHECK_MSG(parse(j, &c, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(c.vocab_size, 64);
    /* 400 digits: past a double's range too */
    char big[700];
    int n = snprintf(big, sizeof big, "{\"model_type\":\"llama\"," BASE_FIELDS ",\"x\":");
    for (int i = 0; i < 400; i++) big[n++] = (char)('1' + i % 9);
    snprintf(big + n, sizeof big - (size_t)n, "}");
    CHECK_MSG(parse(big, &c, &err) == 0, "%s", err.msg);
}

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
static const struct {
    const char *json, *needle;
} bad_configs[] = {
    {"{\"model_type\":\"gpt2\"," BASE_FIELDS "}", "model_type 'gpt2' is not supported (llama, mistral, qwen2 or qwen3)"},
    {"{\"model_type\":\"qwen2_moe\"," BASE_FIELDS "}", "model_type 'qwen2_moe' is a mixture-of-experts model"},
    {"{\"model_type\":\"qwen3_moe\"," BASE_FIELDS "}", "model_type 'qwen3_moe' is a mixture-of-experts model"},
    {"{\"model_type\":\"qwen2\",\"architectures\":[\"Qwen2MoeForCausalLM\"]," BASE_FIELDS "}", "architectures 'Qwen2MoeForCausalLM'"},
    {"{\"model_type\":\"qwen2\",\"use_sliding_window\":true,\"sliding_window\":4096," BASE_FIELDS "}",
     "'use_sliding_window: true' is not supported"},
    {"{\"model_type\":\"qwen3\",\"use_sliding_window\":true," BASE_FIELDS "}", "'use_sliding_window: true' is not supported"},
    {"{\"model_type\":\"qwen3\",\"attention_bias\":true," BASE_FIELDS "}", "'attention_bias: true' is not supported"},
    {"{\"model_type\":\"qwen2\",\"layer_types\":[\"full_attention\",\"sliding_attention\"]," BASE_FIELDS "}",
     "layer_types[1] is 'sliding_attention'"},
    {"{\"model_type\":\"qwen2\",\"mlp_bias\":true," BASE_FIELDS "}", "'mlp_bias: true' is not supported"},
    {"{\"model_type\":\"qwen2\",\"num_experts\":8," BASE_FIELDS "}", "'num_experts' is set"},
    /* fields we read keep their range checks, whatever number form they hold */
    {"{\"model_type\":\"llama\",\"hidden_size\":1e30,\"intermediate_size\":64,\"num_hidden_layers\":2,"
     "\"num_attention_heads\":4,\"vocab_size\":64}", "'hidden_size' is 1e+30, outside [1, "},
    {"{\"model_type\":\"llama\",\"hidden_size\":1000000000000000019884624838656,\"intermediate_size\":64,"
     "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"vocab_size\":64}", "'hidden_size' is 1e+30, outside [1, "},
    {"{\"model_type\":\"llama\",\"hidden_size\":3.5,\"intermediate_size\":64,\"num_hidden_layers\":2,"
     "\"num_attention_heads\":4,\"vocab_size\":64}", "'hidden_size' must be an integer"},
    {"{\"model_type\":\"llama\",\"hidden_size\":NaN,\"intermediate_size\":64,\"num_hidden_layers\":2,"
     "\"num_attention_heads\":4,\"vocab_size\":64}", "'hidden_size' must be an integer"},
    {"{\"model_type\":\"llama\",\"rope_theta\":Infinity," BASE_FIELDS "}", "'rope_theta' must be a number"},
    {"{\"model_type\":\"llama\",\"rope_theta\":1e999," BASE_FIELDS "}", "'rope_theta' must be a number"},
    {"{\"model_type\":\"llama\",\"eos_token_id\":99999999999999999999999," BASE_FIELDS "}", "'eos_token_id' must be a token id"},
    {"{\"model_type\":\"llama\",\"max_position_embeddings\":-1e30," BASE_FIELDS "}", "'max_position_embeddings' is -1e+30"},
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
