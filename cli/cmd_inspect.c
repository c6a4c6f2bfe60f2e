/* duo-train inspect: a checkpoint's architecture, size, gate count and KV-cache cost, after model_open
 * has validated every tensor against config.json.  Plain text by default, --json for scripts. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/model.h"
#include "cli/cli.h"
#include "util/format.h"

static void inspect_usage(FILE *f) {
    fprintf(f,
            "usage: duo-train inspect --model DIR [--json]\n"
            "\n"
            "Opens a Hugging Face Llama or Mistral checkpoint (config.json + model.safetensors, or the shards\n"
            "of model.safetensors.index.json), checks every tensor's name, dtype and shape against the config,\n"
            "and prints the architecture, the parameter count, the weights' dtype and size, the number of\n"
            "gates DuoAttention trains (layers x KV heads) and the KV-cache bytes per token.\n"
            "\n"
            "  --model DIR   the checkpoint folder\n"
            "  --json        print one JSON object instead of text\n");
}

/* What inspect reports, gathered once for both output forms. */
typedef struct {
    long long params, params_non_embedding;
    size_t weight_bytes, file_bytes; /* bytes of the tensors the model uses; of all files on disk */
    int dtype_count[3];              /* tensors the model uses, by duo_dtype */
    duo_dtype kv_dtype;              /* of k_proj: what a KV cache in the checkpoint's dtype would hold */
    long long gates, kv_elems_per_token;
} inspect_facts;

static void count_tensor(inspect_facts *f, const duo_tensor *t) {
    f->dtype_count[t->dtype]++;
    f->weight_bytes += t->nbytes;
}

static void gather(const duo_model *m, inspect_facts *f) {
    const duo_model_config *c = &m->cfg;
    memset(f, 0, sizeof *f);
    f->params = model_num_params(m);
    f->params_non_embedding = model_num_params_non_embedding(m);
    count_tensor(f, m->embed_tokens);
    count_tensor(f, m->norm);
    if (m->lm_head != m->embed_tokens) count_tensor(f, m->lm_head);
    for (int i = 0; i < c->num_hidden_layers; i++) {
        const duo_tensor *ts[DUO_LAYER_MAX_TENSORS];
        int nt = model_layer_tensors(&m->layers[i], ts);
        for (int k = 0; k < nt; k++) count_tensor(f, ts[k]);
    }
    for (size_t i = 0; i < checkpoint_num_files(m->ckpt); i++) f->file_bytes += checkpoint_file_size(m->ckpt, i);
    f->kv_dtype = m->layers[0].k_proj->dtype;
    f->gates = (long long)c->num_hidden_layers * c->num_key_value_heads;
    /* K and V, per layer, per KV head, head_dim values each. */
    f->kv_elems_per_token = 2LL * c->num_hidden_layers * c->num_key_value_heads * c->head_dim;
}

/* "1,234,567" */
static const char *grouped(long long v, char *buf, size_t cap) {
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%lld", v < 0 ? -v : v), o = 0;
    if (v < 0 && o < (int)cap - 1) buf[o++] = '-';
    for (int i = 0; i < n && o < (int)cap - 2; i++) {
        if (i && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

static const char *file_base(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static size_t tensors_in_file(const duo_checkpoint *ck, const char *path) {
    size_t n = 0;
    for (size_t i = 0; i < checkpoint_num_tensors(ck); i++) n += !strcmp(checkpoint_tensor(ck, i)->file, path);
    return n;
}

static void weights_dtype(const inspect_facts *f, char *out, size_t cap) {
    int kinds = (f->dtype_count[0] > 0) + (f->dtype_count[1] > 0) + (f->dtype_count[2] > 0);
    size_t n = 0;
    out[0] = '\0';
    for (int d = 0; d < 3; d++) {
        if (!f->dtype_count[d]) continue;
        if (kinds == 1) snprintf(out, cap, "%s", dtype_name((duo_dtype)d));
        else n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s x %d", n ? ", " : "mixed: ",
                                   dtype_name((duo_dtype)d), f->dtype_count[d]);
    }
}

static void rope_text(const duo_model_config *c, char *out, size_t cap) {
    if (c->rope_type == ROPE_LLAMA3)
        snprintf(out, cap, "llama3, theta %g, factor %g, low_freq_factor %g, high_freq_factor %g, original_max_position_embeddings %d",
                 c->rope_theta, c->rope_factor, c->rope_low_freq_factor, c->rope_high_freq_factor,
                 c->rope_original_max_position_embeddings);
    else if (c->rope_type == ROPE_LINEAR)
        snprintf(out, cap, "linear, theta %g, factor %g", c->rope_theta, c->rope_factor);
    else
        snprintf(out, cap, "default, theta %g", c->rope_theta);
}

static void print_text(const duo_model *m, const inspect_facts *f) {
    const duo_model_config *c = &m->cfg;
    char a[64], b[64], d[128], r[256];
    int group = c->num_attention_heads / c->num_key_value_heads;
    const char *kind = group == 1 ? "multi-head attention"
                       : c->num_key_value_heads == 1 ? "multi-query attention" : "grouped-query attention";
    printf("model               %s\n", m->dir);
    printf("architecture        %s (%s)\n", c->model_type, c->architecture[0] ? c->architecture : "no 'architectures' field");
    printf("layers              %d\n", c->num_hidden_layers);
    printf("hidden size         %d\n", c->hidden_size);
    printf("intermediate size   %d\n", c->intermediate_size);
    printf("attention heads     %d\n", c->num_attention_heads);
    printf("KV heads            %d\n", c->num_key_value_heads);
    printf("head_dim            %d%s\n", c->head_dim,
           c->head_dim * c->num_attention_heads != c->hidden_size ? " (explicit, not hidden / heads)" : "");
    printf("GQA group size      %d (%s)\n", group, kind);
    printf("vocab size          %d\n", c->vocab_size);
    printf("max positions       %d\n", c->max_position_embeddings);
    rope_text(c, r, sizeof r);
    printf("rope                %s\n", r);
    printf("tied embeddings     %s\n", c->tie_word_embeddings ? "yes (lm_head = embed_tokens)" : "no");
    printf("q/k/v bias          %s\n", c->attention_bias ? "yes" : "no");
    printf("q/k norm            %s\n", c->qk_norm ? "yes (RMSNorm per head, before RoPE)" : "no");
    if (c->sliding_window) printf("sliding window      %d (ignored for training)\n", c->sliding_window);
    else printf("sliding window      none\n");
    printf("bos / eos ids       %d / %d\n", c->bos_token_id, c->eos_token_id);
    printf("parameters          %s total, %s non-embedding\n", grouped(f->params, a, sizeof a),
           grouped(f->params_non_embedding, b, sizeof b));
    weights_dtype(f, d, sizeof d);
    printf("weights             %s%s%s%s, %s bytes (%s)", d, c->torch_dtype[0] ? " (config: " : "", c->torch_dtype,
           c->torch_dtype[0] ? ")" : "", grouped((long long)f->weight_bytes, a, sizeof a),
           format_bytes((double)f->weight_bytes, b, sizeof b));
    printf("; %s bytes on disk\n", grouped((long long)f->file_bytes, a, sizeof a));
    printf("gates               %lld (%d layers x %d KV heads)\n", f->gates, c->num_hidden_layers, c->num_key_value_heads);
    long long kv_native = f->kv_elems_per_token * (long long)dtype_size(f->kv_dtype), kv_bf16 = f->kv_elems_per_token * 2;
    char also[96] = "";
    if (f->kv_dtype != DUO_BF16) snprintf(also, sizeof also, ", %s bytes in BF16", grouped(kv_bf16, b, sizeof b));
    printf("KV cache per token  %s bytes in %s%s (2 x %d layers x %d KV heads x %d head_dim x bytes)\n",
           grouped(kv_native, a, sizeof a), dtype_name(f->kv_dtype), also, c->num_hidden_layers,
           c->num_key_value_heads, c->head_dim);
    char label[32];
    snprintf(label, sizeof label, "KV cache at %d", c->max_position_embeddings);
    printf("%-20s%s in BF16 (per sequence of max positions)\n", label,
           format_bytes((double)kv_bf16 * c->max_position_embeddings, a, sizeof a));
    size_t nf = checkpoint_num_files(m->ckpt);
    for (size_t i = 0; i < nf; i++) {
        const char *p = checkpoint_file_path(m->ckpt, i);
        printf("%-20s%s (%s bytes, %zu tensors)\n", i ? "" : nf > 1 ? "shards" : "file", file_base(p),
               grouped((long long)checkpoint_file_size(m->ckpt, i), a, sizeof a), tensors_in_file(m->ckpt, p));
    }
}

static int print_json(const duo_model *m, const inspect_facts *f) {
    const duo_model_config *c = &m->cfg;
    char d[128];
    weights_dtype(f, d, sizeof d);
    json_t *rope = json_pack("{s:s,s:f,s:f}", "type", rope_type_name(c->rope_type), "theta", c->rope_theta, "factor",
                             c->rope_factor);
    if (c->rope_type == ROPE_LLAMA3) {
        json_object_set_new(rope, "low_freq_factor", json_real(c->rope_low_freq_factor));
        json_object_set_new(rope, "high_freq_factor", json_real(c->rope_high_freq_factor));
        json_object_set_new(rope, "original_max_position_embeddings", json_integer(c->rope_original_max_position_embeddings));
    }
    json_t *shards = json_array();
    for (size_t i = 0; i < checkpoint_num_files(m->ckpt); i++) {
        const char *p = checkpoint_file_path(m->ckpt, i);
        json_array_append_new(shards, json_pack("{s:s,s:I,s:I}", "file", file_base(p), "bytes",
                                                (json_int_t)checkpoint_file_size(m->ckpt, i), "tensors",
                                                (json_int_t)tensors_in_file(m->ckpt, p)));
    }
    json_t *o = json_object();
    json_object_set_new(o, "model", json_string(m->dir));
    json_object_set_new(o, "name", json_string(m->name));
    json_object_set_new(o, "model_type", json_string(c->model_type));
    json_object_set_new(o, "architecture", json_string(c->architecture));
    json_object_set_new(o, "num_hidden_layers", json_integer(c->num_hidden_layers));
    json_object_set_new(o, "hidden_size", json_integer(c->hidden_size));
    json_object_set_new(o, "intermediate_size", json_integer(c->intermediate_size));
    json_object_set_new(o, "num_attention_heads", json_integer(c->num_attention_heads));
    json_object_set_new(o, "num_key_value_heads", json_integer(c->num_key_value_heads));
    json_object_set_new(o, "head_dim", json_integer(c->head_dim));
    json_object_set_new(o, "gqa_group_size", json_integer(c->num_attention_heads / c->num_key_value_heads));
    json_object_set_new(o, "vocab_size", json_integer(c->vocab_size));
    json_object_set_new(o, "max_position_embeddings", json_integer(c->max_position_embeddings));
    json_object_set_new(o, "rope", rope);
    json_object_set_new(o, "tie_word_embeddings", json_boolean(c->tie_word_embeddings));
    json_object_set_new(o, "attention_bias", json_boolean(c->attention_bias));
    json_object_set_new(o, "qk_norm", json_boolean(c->qk_norm));
    json_object_set_new(o, "sliding_window", c->sliding_window ? json_integer(c->sliding_window) : json_null());
    json_object_set_new(o, "bos_token_id", c->bos_token_id >= 0 ? json_integer(c->bos_token_id) : json_null());
    json_object_set_new(o, "eos_token_id", c->eos_token_id >= 0 ? json_integer(c->eos_token_id) : json_null());
    json_object_set_new(o, "num_params", json_integer(f->params));
    json_object_set_new(o, "num_params_non_embedding", json_integer(f->params_non_embedding));
    json_object_set_new(o, "weights_dtype", json_string(d));
    json_object_set_new(o, "torch_dtype", json_string(c->torch_dtype));
    json_object_set_new(o, "weight_bytes", json_integer((json_int_t)f->weight_bytes));
    json_object_set_new(o, "file_bytes", json_integer((json_int_t)f->file_bytes));
    json_object_set_new(o, "num_gates", json_integer(f->gates));
    json_object_set_new(o, "kv_cache_dtype", json_string(dtype_name(f->kv_dtype)));
    json_object_set_new(o, "kv_cache_bytes_per_token",
                        json_integer(f->kv_elems_per_token * (json_int_t)dtype_size(f->kv_dtype)));
    json_object_set_new(o, "kv_cache_bytes_per_token_bf16", json_integer(f->kv_elems_per_token * 2));
    json_object_set_new(o, "shards", shards);
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s) return -1;
    printf("%s\n", s);
    free(s);
    return 0;
}

int cmd_inspect(int argc, char **argv) {
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    const char *dir = NULL;
    int as_json = 0, c;
    optind = 1;
    opterr = 0; /* one message of our own, not getopt's as well */
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': dir = optarg; break;
        case 'j': as_json = 1; break;
        case 'h': inspect_usage(stdout); return 0;
        case ':': return cli_usage_error("inspect", "%s needs a value", argv[optind - 1]);
        default: return cli_usage_error("inspect", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("inspect", "unexpected argument '%s'", argv[optind]);
    if (!dir) return cli_usage_error("inspect", "--model DIR is required");
    duo_model m;
    duo_error err;
    if (model_open(dir, &m, &err)) return cli_fail(&err);
    inspect_facts f;
    gather(&m, &f);
    int rc = 0;
    if (as_json) rc = print_json(&m, &f);
    else print_text(&m, &f);
    model_close(&m);
    if (rc) {
        snprintf(err.msg, sizeof err.msg, "inspect: cannot format JSON");
        return cli_fail(&err);
    }
    return 0;
}
