/* model_open: the committed checkpoints (parameter counts against numpy's and transformers' count in
 * tests/fixtures/models/reference.json), and broken model folders generated here. */
#pragma GCC diagnostic ignored "-Wformat-truncation" /* failure messages quote error messages */

#include <jansson.h>

#include "data/fileio.h"
#include "data/model.h"
#include "tests/harness.h"

#define MODELS "tests/fixtures/models"

TEST(fixtures_open_with_reference_counts) {
    json_error_t jerr;
    json_t *ref = json_load_file(MODELS "/reference.json", 0, &jerr);
    CHECK_MSG(ref, "reference.json: %s", jerr.text);
    const char *name;
    json_t *mref;
    char bad[1024] = "";
    json_object_foreach(ref, name, mref) {
        char dir[512];
        snprintf(dir, sizeof dir, MODELS "/%s", name);
        duo_model m;
        duo_error err = {{0}};
        if (model_open(dir, &m, &err)) {
            snprintf(bad, sizeof bad, "%s", err.msg);
            break;
        }
        long long total = json_integer_value(json_object_get(mref, "num_params"));
        long long non_emb = json_integer_value(json_object_get(mref, "num_params_non_embedding"));
        const duo_model_config *c = &m.cfg;
        int tied_ok = c->tie_word_embeddings ? m.lm_head == m.embed_tokens : m.lm_head != m.embed_tokens;
        const duo_tensor *q = m.layers[c->num_hidden_layers - 1].q_proj, *k = m.layers[0].k_proj;
        if (model_num_params(&m) != total || model_num_params_non_embedding(&m) != non_emb)
            snprintf(bad, sizeof bad, "%s: %lld / %lld parameters, reference %lld / %lld", name, model_num_params(&m),
                     model_num_params_non_embedding(&m), total, non_emb);
        else if (!tied_ok || strcmp(m.name, name) || strcmp(m.dir, dir))
            snprintf(bad, sizeof bad, "%s: tied %d, name '%s'", name, c->tie_word_embeddings, m.name);
        else if (q->shape[0] != (int64_t)c->num_attention_heads * c->head_dim || q->shape[1] != c->hidden_size ||
                 k->shape[0] != (int64_t)c->num_key_value_heads * c->head_dim)
            snprintf(bad, sizeof bad, "%s: q/k shapes", name);
        model_close(&m);
        if (bad[0]) break;
    }
    json_decref(ref);
    CHECK_MSG(!bad[0], "%s", bad);
}

TEST(demo_model_and_trailing_slash) {
    duo_model m;
    duo_error err = {{0}};
    CHECK_MSG(model_open("tests/fixtures/tiny-llama/", &m, &err) == 0, "%s", err.msg);
    int ok = !strcmp(m.name, "tiny-llama") && m.cfg.num_hidden_layers == 2 && m.layers[1].down_proj &&
             m.layers[1].down_proj->shape[0] == 32 && m.layers[1].down_proj->shape[1] == 64;
    model_close(&m);
    model_close(&m); /* closing twice is harmless */
    CHECK(ok);
    /* "DIR/." is named after the folder it stands for (patterns_out/<name>/ uses it). */
    CHECK_MSG(model_open("tests/fixtures/tiny-llama/.", &m, &err) == 0, "%s", err.msg);
    char name[256];
    snprintf(name, sizeof name, "%s", m.name);
    model_close(&m);
    CHECK_STR(name, "tiny-llama");
}

/* ---- generated model folders ------------------------------------------------------------------- */

/* 1 layer, hidden 8, 2 heads of 4, 1 KV head, intermediate 12, vocab 16. */
#define GEN_CONFIG_TYPE(type, extra)                                                                        \
    "{\"model_type\":\"" type "\",\"hidden_size\":8,"                                                          \
    "\"intermediate_size\":12,\"num_hidden_layers\":1,\"num_attention_heads\":2,\"num_key_value_heads\":1," \
    "\"vocab_size\":16" extra "}"
#define GEN_CONFIG(extra) GEN_CONFIG_TYPE("llama", ",\"architectures\":[\"LlamaForCausalLM\"]" extra)

typedef struct {
    const char *omit;       /* tensor left out */
    const char *reshape;    /* tensor given `shape` instead */
    int ndim;
    int64_t shape[2];
    int with_lm_head;       /* 1: store lm_head.weight */
    const char *dtype;      /* "F32" default */
    int qwen;               /* 2: store q/k/v biases; 3: store q_norm/k_norm [4] */
    int extra_layers;       /* 1: also store tensors of layers 12 and 1, which a 1-layer config lacks */
} gen_opts;

static void add_tensor(json_t *hdr, const gen_opts *o, const char *name, int64_t d0, int64_t d1, size_t *offset) {
    if (o->omit && !strcmp(o->omit, name)) return;
    int64_t shape[2] = {d0, d1};
    int ndim = d1 ? 2 : 1;
    if (o->reshape && !strcmp(o->reshape, name)) {
        ndim = o->ndim;
        shape[0] = o->shape[0];
        shape[1] = o->shape[1];
    }
    const char *dt = o->dtype ? o->dtype : "F32";
    size_t n = strcmp(dt, "F32") ? 2 : 4;
    json_t *js = json_array();
    for (int i = 0; i < ndim; i++) {
        json_array_append_new(js, json_integer(shape[i]));
        n *= (size_t)shape[i];
    }
    json_object_set_new(hdr, name, json_pack("{s:s,s:o,s:[I,I]}", "dtype", dt, "shape", js, "data_offsets",
                                             (json_int_t)*offset, (json_int_t)(*offset + n)));
    *offset += n;
}

/* Writes dir/config.json (unless NULL) and dir/model.safetensors for the generated model; returns dir. */
static const char *gen_model(const char *config, const gen_opts *o) {
    const char *dir = test_tmpdir();
    char path[1024];
    if (config) {
        path_join(path, sizeof path, dir, "config.json");
        FILE *f = fopen(path, "w");
        fputs(config, f);
        fclose(f);
    }
    json_t *hdr = json_object();
    size_t off = 0;
    add_tensor(hdr, o, "model.embed_tokens.weight", 16, 8, &off);
    add_tensor(hdr, o, "model.layers.0.input_layernorm.weight", 8, 0, &off);
    add_tensor(hdr, o, "model.layers.0.self_attn.q_proj.weight", 8, 8, &off);
    add_tensor(hdr, o, "model.layers.0.self_attn.k_proj.weight", 4, 8, &off);
    add_tensor(hdr, o, "model.layers.0.self_attn.v_proj.weight", 4, 8, &off);
    add_tensor(hdr, o, "model.layers.0.self_attn.o_proj.weight", 8, 8, &off);
    add_tensor(hdr, o, "model.layers.0.post_attention_layernorm.weight", 8, 0, &off);
    add_tensor(hdr, o, "model.layers.0.mlp.gate_proj.weight", 12, 8, &off);
    add_tensor(hdr, o, "model.layers.0.mlp.up_proj.weight", 12, 8, &off);
    add_tensor(hdr, o, "model.layers.0.mlp.down_proj.weight", 8, 12, &off);
    add_tensor(hdr, o, "model.layers.0.self_attn.rotary_emb.inv_freq", 2, 0, &off); /* extra: ignored */
    if (o->qwen == 2) {
        add_tensor(hdr, o, "model.layers.0.self_attn.q_proj.bias", 8, 0, &off);
        add_tensor(hdr, o, "model.layers.0.self_attn.k_proj.bias", 4, 0, &off);
        add_tensor(hdr, o, "model.layers.0.self_attn.v_proj.bias", 4, 0, &off);
    } else if (o->qwen == 3) {
        add_tensor(hdr, o, "model.layers.0.self_attn.q_norm.weight", 4, 0, &off);
        add_tensor(hdr, o, "model.layers.0.self_attn.k_norm.weight", 4, 0, &off);
    }
    if (o->extra_layers) {
        add_tensor(hdr, o, "model.layers.12.self_attn.q_proj.weight", 8, 8, &off);
        add_tensor(hdr, o, "model.layers.1.post_attention_layernorm.weight", 8, 0, &off);
        add_tensor(hdr, o, "model.layers.1.input_layernorm.weight", 8, 0, &off);
    }
    add_tensor(hdr, o, "model.norm.weight", 8, 0, &off);
    if (o->with_lm_head) add_tensor(hdr, o, "lm_head.weight", 16, 8, &off);
    char *h = json_dumps(hdr, JSON_COMPACT);
    json_decref(hdr);
    path_join(path, sizeof path, dir, "model.safetensors");
    FILE *f = fopen(path, "wb");
    uint64_t hl = strlen(h);
    for (int i = 0; i < 8; i++) fputc((int)((hl >> (8 * i)) & 0xff), f);
    fputs(h, f);
    for (size_t i = 0; i < off; i++) fputc(0, f);
    fclose(f);
    free(h);
    return dir;
}

#define EXPECT_MODEL_FAILS(dir, what, needle)                                                       \
    do {                                                                                            \
        duo_model m_;                                                                               \
        duo_error e_ = {{0}};                                                                       \
        if (model_open(dir, &m_, &e_) == 0) {                                                       \
            model_close(&m_);                                                                       \
            FAILF("%s opened, expected an error containing '%s'", dir, needle);                     \
        }                                                                                           \
        CHECK_MSG(strstr(e_.msg, what), "error does not name '%s': %s", what, e_.msg);              \
        CHECK_MSG(strstr(e_.msg, needle), "error lacks '%s': %s", needle, e_.msg);                  \
        CHECK_MSG(!strchr(e_.msg, '\n'), "error is not one line: %s", e_.msg);                      \
    } while (0)

TEST(generated_ok_untied_tied_and_half) {
    gen_opts o = {.with_lm_head = 1};
    duo_model m;
    duo_error err = {{0}};
    const char *dir = gen_model(GEN_CONFIG(""), &o);
    CHECK_MSG(model_open(dir, &m, &err) == 0, "%s", err.msg);
    /* 16*8 embed + 16*8 head + 8+64+32+32+64+8+96+96+96 layer + 8 norm */
    long long total = model_num_params(&m), non_emb = model_num_params_non_embedding(&m);
    model_close(&m);
    CHECK_EQ_INT(non_emb, 8 + 64 + 32 + 32 + 64 + 8 + 96 + 96 + 96 + 8);
    CHECK_EQ_INT(total, non_emb + 2 * 128);
    /* Tied, with lm_head.weight stored anyway: the embedding is the head, as in transformers. */
    dir = gen_model(GEN_CONFIG(",\"tie_word_embeddings\":true"), &o);
    CHECK_MSG(model_open(dir, &m, &err) == 0, "%s", err.msg);
    int tied = m.lm_head == m.embed_tokens && model_num_params(&m) == non_emb + 128;
    model_close(&m);
    CHECK(tied);
    gen_opts h = {.dtype = "BF16"};
    dir = gen_model(GEN_CONFIG(",\"tie_word_embeddings\":true"), &h);
    CHECK_MSG(model_open(dir, &m, &err) == 0, "%s", err.msg);
    int bf = m.norm->dtype == DUO_BF16 && m.lm_head == m.embed_tokens;
    model_close(&m);
    CHECK(bf);
}

/* The committed Qwen fixtures: the optional tensors are there exactly where the architecture has them. */
TEST(qwen_fixtures_optional_tensors) {
    duo_model m;
    duo_error err = {{0}};
    CHECK_MSG(model_open(MODELS "/tiny-qwen2-gqa-bf16-tied", &m, &err) == 0, "%s", err.msg);
    const duo_layer_weights *l = &m.layers[1];
    int ok2 = m.cfg.attention_bias && !m.cfg.qk_norm && m.lm_head == m.embed_tokens && l->q_bias &&
              l->q_bias->ndim == 1 && l->q_bias->shape[0] == 32 && l->k_bias->shape[0] == 16 &&
              l->v_bias->shape[0] == 16 && !l->q_norm && !l->k_norm;
    model_close(&m);
    CHECK(ok2);
    CHECK_MSG(model_open(MODELS "/tiny-qwen3-headdim", &m, &err) == 0, "%s", err.msg);
    l = &m.layers[0];
    int ok3 = !m.cfg.attention_bias && m.cfg.qk_norm && m.cfg.head_dim == 16 && m.lm_head != m.embed_tokens &&
              !l->q_bias && !l->k_bias && !l->v_bias && l->q_norm && l->q_norm->shape[0] == 16 &&
              l->k_norm->shape[0] == 16 && l->q_proj->shape[0] == 64;
    const duo_tensor *ts[DUO_LAYER_MAX_TENSORS];
    int nt = model_layer_tensors(l, ts);
    model_close(&m);
    CHECK(ok3);
    CHECK_EQ_INT(nt, 11);
}

TEST(generated_qwen) {
    duo_model m;
    duo_error err = {{0}};
    gen_opts q2 = {.with_lm_head = 1, .qwen = 2};
    const char *dir = gen_model(GEN_CONFIG_TYPE("qwen2", ""), &q2);
    CHECK_MSG(model_open(dir, &m, &err) == 0, "%s", err.msg);
    long long non_emb = model_num_params_non_embedding(&m);
    int ok = m.layers[0].q_bias && m.layers[0].v_bias->shape[0] == 4 && !m.layers[0].q_norm;
    model_close(&m);
    CHECK(ok);
    CHECK_EQ_INT(non_emb, 8 + 64 + 32 + 32 + 64 + 8 + 96 + 96 + 96 + 8 + 16);
    /* the same tensors under a Llama config: the biases are ignored, as transformers ignores them */
    dir = gen_model(GEN_CONFIG(""), &q2);
    CHECK_MSG(model_open(dir, &m, &err) == 0, "%s", err.msg);
    ok = !m.layers[0].q_bias && model_num_params_non_embedding(&m) == non_emb - 16;
    model_close(&m);
    CHECK(ok);
    gen_opts q3 = {.with_lm_head = 1, .qwen = 3};
    dir = gen_model(GEN_CONFIG_TYPE("qwen3", ",\"head_dim\":4"), &q3);
    CHECK_MSG(model_open(dir, &m, &err) == 0, "%s", err.msg);
    ok = m.layers[0].q_norm && m.layers[0].k_norm->shape[0] == 4 && !m.layers[0].k_bias &&
         model_num_params_non_embedding(&m) == non_emb - 16 + 8;
    model_close(&m);
    CHECK(ok);
}

TEST(bad_qwen_tensors) {
    gen_opts o = {.with_lm_head = 1, .qwen = 2, .omit = "model.layers.0.self_attn.k_proj.bias"};
    const char *dir = gen_model(GEN_CONFIG_TYPE("qwen2", ""), &o);
    EXPECT_MODEL_FAILS(dir, dir, "tensor 'model.layers.0.self_attn.k_proj.bias' is missing");
    gen_opts r = {.with_lm_head = 1, .qwen = 2, .reshape = "model.layers.0.self_attn.v_proj.bias", .ndim = 1, .shape = {8, 0}};
    dir = gen_model(GEN_CONFIG_TYPE("qwen2", ""), &r);
    EXPECT_MODEL_FAILS(dir, "model.safetensors", "tensor 'model.layers.0.self_attn.v_proj.bias' has shape [8], expected [4]");
    gen_opts l = {.with_lm_head = 1}; /* a Llama checkpoint under a qwen2 config: no biases */
    dir = gen_model(GEN_CONFIG_TYPE("qwen2", ""), &l);
    EXPECT_MODEL_FAILS(dir, dir, "tensor 'model.layers.0.self_attn.q_proj.bias' is missing");
    gen_opts n = {.with_lm_head = 1, .qwen = 3, .omit = "model.layers.0.self_attn.k_norm.weight"};
    dir = gen_model(GEN_CONFIG_TYPE("qwen3", ",\"head_dim\":4"), &n);
    EXPECT_MODEL_FAILS(dir, dir, "tensor 'model.layers.0.self_attn.k_norm.weight' is missing");
    gen_opts s = {.with_lm_head = 1, .qwen = 3, .reshape = "model.layers.0.self_attn.q_norm.weight", .ndim = 1, .shape = {8, 0}};
    dir = gen_model(GEN_CONFIG_TYPE("qwen3", ",\"head_dim\":4"), &s);
    EXPECT_MODEL_FAILS(dir, "model.safetensors", "'model.layers.0.self_attn.q_norm.weight' has shape [8], expected [4]");
}

TEST(bad_tensor_shape) {
    gen_opts o = {.with_lm_head = 1, .reshape = "model.layers.0.self_attn.k_proj.weight", .ndim = 2, .shape = {8, 8}};
    const char *dir = gen_model(GEN_CONFIG(""), &o);
    EXPECT_MODEL_FAILS(dir, "model.safetensors", "tensor 'model.layers.0.self_attn.k_proj.weight' has shape [8, 8], expected [4, 8]");
    gen_opts d = {.with_lm_head = 1, .reshape = "model.layers.0.mlp.down_proj.weight", .ndim = 2, .shape = {12, 8}};
    dir = gen_model(GEN_CONFIG(""), &d);
    EXPECT_MODEL_FAILS(dir, "down_proj", "has shape [12, 8], expected [8, 12]");
    gen_opts n = {.with_lm_head = 1, .reshape = "model.norm.weight", .ndim = 2, .shape = {1, 8}};
    dir = gen_model(GEN_CONFIG(""), &n);
    EXPECT_MODEL_FAILS(dir, "model.norm.weight", "has shape [1, 8], expected [8]");
    gen_opts v = {.with_lm_head = 1, .reshape = "lm_head.weight", .ndim = 2, .shape = {15, 8}};
    dir = gen_model(GEN_CONFIG(""), &v);
    EXPECT_MODEL_FAILS(dir, "lm_head.weight", "expected [16, 8]");
    /* The config says head_dim 8 explicitly: the generated q/k/v (head_dim 4) no longer fit. */
    gen_opts plain = {.with_lm_head = 1};
    dir = gen_model(GEN_CONFIG(",\"head_dim\":8"), &plain);
    EXPECT_MODEL_FAILS(dir, "q_proj", "expected [16, 8]");
}

TEST(bad_missing_tensors) {
    gen_opts o = {.with_lm_head = 1, .omit = "model.layers.0.mlp.up_proj.weight"};
    const char *dir = gen_model(GEN_CONFIG(""), &o);
    EXPECT_MODEL_FAILS(dir, dir, "tensor 'model.layers.0.mlp.up_proj.weight' is missing");
    gen_opts e = {.with_lm_head = 1, .omit = "model.embed_tokens.weight"};
    dir = gen_model(GEN_CONFIG(""), &e);
    EXPECT_MODEL_FAILS(dir, dir, "'model.embed_tokens.weight' is missing");
    gen_opts h = {.with_lm_head = 0};
    dir = gen_model(GEN_CONFIG(""), &h);
    EXPECT_MODEL_FAILS(dir, dir, "'lm_head.weight' is missing from the checkpoint (config.json has tie_word_embeddings false)");
    /* Two layers in the config, one in the file. */
    dir = gen_model("{\"model_type\":\"llama\",\"hidden_size\":8,\"intermediate_size\":12,\"num_hidden_layers\":2,"
                    "\"num_attention_heads\":2,\"num_key_value_heads\":1,\"vocab_size\":16}", &(gen_opts){.with_lm_head = 1});
    EXPECT_MODEL_FAILS(dir, dir, "'model.layers.1.input_layernorm.weight' is missing");
}

/* config.json with fewer num_hidden_layers than the checkpoint: refused (training it would find the
 * heads of the first layers of a bigger model, silently), naming the first tensor of the lowest layer
 * the config lacks and the config's value. */
TEST(bad_checkpoint_has_more_layers_than_config) {
    gen_opts o = {.with_lm_head = 1, .extra_layers = 1};
    const char *dir = gen_model(GEN_CONFIG(""), &o);
    EXPECT_MODEL_FAILS(dir, "model.safetensors",
                       "tensor 'model.layers.1.input_layernorm.weight' is of layer 1, but config.json has "
                       "num_hidden_layers 1");
}

TEST(bad_config) {
    gen_opts o = {.with_lm_head = 1};
    const char *dir = gen_model(NULL, &o);
    EXPECT_MODEL_FAILS(dir, "config.json", "cannot open");
    dir = gen_model("{\"model_type\":\"gpt2\",\"n_embd\":8}", &o);
    EXPECT_MODEL_FAILS(dir, "config.json", "model_type 'gpt2' is not supported");
    dir = gen_model(GEN_CONFIG(",\"architectures\":[\"MixtralForCausalLM\"]"), &o);
    EXPECT_MODEL_FAILS(dir, "config.json", "duplicate"); /* architectures given twice */
    dir = gen_model("{\"architectures\":[\"MixtralForCausalLM\"],\"model_type\":\"mistral\",\"hidden_size\":8,"
                    "\"intermediate_size\":12,\"num_hidden_layers\":1,\"num_attention_heads\":2,\"vocab_size\":16}", &o);
    EXPECT_MODEL_FAILS(dir, "config.json", "architectures 'MixtralForCausalLM' is not supported");
    dir = gen_model("{\"model_type\":\"llama\",\"hidden_size\":8,\"num_hidden_layers\":1,\"num_attention_heads\":2,"
                    "\"vocab_size\":16}", &o);
    EXPECT_MODEL_FAILS(dir, "config.json", "missing field 'intermediate_size'");
    dir = gen_model("{\"model_type\": \"llama\", ", &o);
    EXPECT_MODEL_FAILS(dir, "config.json", "not valid JSON");
}

TEST(bad_folders_and_shards) {
    EXPECT_MODEL_FAILS("tests/fixtures/models/no-such-model", "no-such-model", "not a model folder");
    EXPECT_MODEL_FAILS(MODELS "/tiny-llama-gqa/config.json", "config.json", "not a model folder");
    /* config.json but no weights */
    const char *dir = test_tmpdir();
    char path[1024];
    path_join(path, sizeof path, dir, "config.json");
    FILE *f = fopen(path, "w");
    fputs(GEN_CONFIG(""), f);
    fclose(f);
    EXPECT_MODEL_FAILS(dir, dir, "no model.safetensors or model.safetensors.index.json");
    /* An index naming a shard that is not there. */
    path_join(path, sizeof path, dir, "model.safetensors.index.json");
    f = fopen(path, "w");
    fputs("{\"weight_map\":{\"model.embed_tokens.weight\":\"model-00001-of-00002.safetensors\"}}", f);
    fclose(f);
    EXPECT_MODEL_FAILS(dir, "model-00001-of-00002.safetensors", "cannot open");
    /* A malformed index. */
    f = fopen(path, "w");
    fputs("{\"weight_map\": {\"model.embed_tokens.weight\": ", f);
    fclose(f);
    EXPECT_MODEL_FAILS(dir, "model.safetensors.index.json", "not valid JSON");
}

TEST_MAIN()
