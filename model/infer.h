/* The DuoAttention inference path (DESIGN §4), as the reference deploys it (duo_attn/patch/llama.py,
 * enable_llama_duo_attention_eval and its one-way reordered forward), on the op interface:
 *
 *   - a binary pattern: per layer, each KV head full (1) or streaming (0); each layer's heads are put in
 *     full-first order after the projections (a head permutation of q, k, v and back before o_proj, the
 *     same as reordering q/k/v rows and o_proj columns, and exact), so each kind is one attention call;
 *   - RoPE at absolute positions before caching; full heads cache every position, streaming heads the
 *     sink and the recent window, evicted after every forward (model/kv_cache.h);
 *   - the prompt's part before its last decoding_simulation_length tokens is prefilled in chunks of
 *     prefilling_chunk_size tokens counted from the first; in a chunk every head sees its cache plus the
 *     chunk causally.  With no cache yet, the first forward is therefore dense causal attention for every
 *     head, as in the reference (prefill "reference"); prefill "streaming" applies the token-level
 *     sink/recent mask to the streaming heads inside that first forward too;
 *   - then the last decoding_simulation_length prompt tokens go through the decode path one at a time;
 *   - then greedy decoding through lm_head, one token per forward, until an EOS id, the caller's stop
 *     rule or max_new_tokens (the EOS is kept in the output, as Hugging Face generate does).
 *
 * Shared first forward (share_prefill, prefill "reference" without the argmax hook): that first forward
 * is dense for every head, so its keys, values, next id and logits do not depend on the pattern.  The
 * context remembers the last one it computed (per layer the post-RoPE K and V of every KV head in the
 * checkpoint's order, with the ids it read); a later prompt whose first forward reads the same ids (any
 * pattern) restores them into its caches by the same head permutation and row copies a forward does,
 * then evicts as a forward ends, so its caches are the ones computing it would give, bit for bit. */
#ifndef DUO_MODEL_INFER_H
#define DUO_MODEL_INFER_H

#include <stddef.h>
#include <stdint.h>

#include "data/model.h"
#include "kernels/ops.h"

typedef enum { PREFILL_REFERENCE = 0, PREFILL_STREAMING } duo_prefill_mode;

/* Optional hook (the retrieval score): after each layer's attention in every forward, for the forward's
 * last query row (position query_pos), key_pos[h] = the position of the key that query head h (the
 * model's head order) weighs most (kernels/ops.h attn_argmax; -1 if it sees none). */
typedef void (*duo_argmax_fn)(void *ctx, int layer, int32_t query_pos, const int32_t *key_pos);

typedef struct {
    int sink_size, recent_size;     /* streaming heads' window (tokens) */
    int prefilling_chunk_size;      /* 0: the prefilled part in one forward */
    int decoding_simulation_length; /* reference default 50 */
    duo_prefill_mode prefill;
    int max_new_tokens;
    size_t max_prompt;              /* the longest prompt this context will see (sizes the caches) */
    duo_argmax_fn argmax_fn;        /* NULL: none (no cost) */
    void *argmax_ctx;
    int share_prefill;              /* 1: remember and reuse the first forward (see above); ignored (off) with
                                     * prefill streaming, an argmax hook, or a CPU machine too small for the
                                     * copy (2 x layers x kvdim x first-chunk rows) */
} duo_infer_opts;

typedef struct duo_infer duo_infer;

/* full: [num_layers][num_kv_heads], 1 = full head, 0 = streaming head.  The backend is used, not owned. */
duo_infer *infer_create(const duo_model *m, duo_backend *be, const uint8_t *full, const duo_infer_opts *o,
                        duo_error *err);
void infer_free(duo_infer *ctx);
/* Another pattern for the same model and options (the weights stay loaded). */
int infer_set_pattern(duo_infer *ctx, const uint8_t *full, duo_error *err);
/* Loads every weight a forward reads now (otherwise each layer and the lm_head load on first use, inside
 * the first forward), so that a timed forward times the forward alone.  0, or -1 with err. */
int infer_load_weights(duo_infer *ctx, duo_error *err);

/* 1 when the context shares first forwards (share_prefill asked and possible). */
int infer_shares_prefill(const duo_infer *ctx);

/* After every generated token: return 1 to stop (the token stays in the output). */
typedef int (*duo_stop_fn)(void *stop_ctx, const int32_t *generated, size_t n);

typedef struct {
    int32_t *ids;              /* [n] generated ids (malloc'd; free with infer_result_free) */
    size_t n;
    float *logits;             /* [logits_rows][vocab] float32, when asked for: row 0 after the prompt,
                                * row i after feeding generated id i-1 */
    size_t logits_rows;
    double prefill_s;          /* seconds of the chunked prefill; sharing: what this call added (restoring or
                                * nothing, plus the chunks after the first) */
    double shared_prefill_s;   /* sharing: seconds the shared first forward took when it was computed (by this
                                * call, or by the earlier one it was restored from); 0 when not sharing */
    int shared_prefill;        /* 0: not sharing; 1: this call computed the first forward (and kept it);
                                * 2: this call restored it */
    double decode_s;           /* seconds of the one-token forwards (decoding simulation + generation) */
    size_t decode_tokens;      /* how many one-token forwards */
    size_t kv_bytes;           /* the cache after the prompt (kv_cache_bytes) */
    size_t kv_bytes_full;      /* the same with every head full */
} duo_infer_result;

/* Runs one prompt (ids[n], n <= max_prompt) from an empty cache.  eos: the ids that end generation.
 * keep_logits: how many logits rows to return (0: none).  0, or -1 with err set. */
int infer_generate(duo_infer *ctx, const int32_t *prompt, size_t n, const int32_t *eos, int num_eos,
                   duo_stop_fn stop, void *stop_ctx, size_t keep_logits, duo_infer_result *res, duo_error *err);
void infer_result_free(duo_infer_result *res);

#endif
