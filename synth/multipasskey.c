/* Multi-passkey retrieval samples, ported from the reference's MultiplePasskeyRetrievalDataset. */
#include "synth/multipasskey.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/utf8.h"
#include "synth/rng.h"

/* Tokens a text prefix must have beyond twice what the haystack still lacks (see gather_haystack). */
#define SYNTH_PREFIX_MARGIN_TOKENS 4096

struct synth_builder {
    synth_params p;
    char *strings[5]; /* owned copies of the templates p points to */
    synth_encoder enc;
    int32_t nctx;
    int32_t *ctx_lengths;
    float *depths;
    duo_ids haystack; /* after the reference's cut */
    duo_ids needle[SYNTH_MAX_PASSKEYS], question[SYNTH_MAX_PASSKEYS];
    duo_ids sep, prompt1, prompt2;
    int32_t ntexts;
    int repeated;
};

/* torch.linspace(lo, hi, n, dtype=torch.int): double step, first half from lo, second half from hi,
 * truncated to int (checked against torch for thousands of (lo, hi, n)). */
void synth_linspace_int(int32_t lo, int32_t hi, int32_t n, int32_t *out) {
    if (n == 1) {
        out[0] = lo;
        return;
    }
    double step = ((double)hi - (double)lo) / (double)(n - 1);
    for (int32_t i = 0; i < n; i++)
        out[i] = (int32_t)(i < n / 2 ? lo + step * i : hi - step * (n - 1 - i));
}

/* torch.linspace(lo, hi, n) in float32: float step; each value is one fused multiply-add (torch's
 * vectorised kernel), which is what makes it bit-identical to torch. */
void synth_linspace_f32(double lo, double hi, int32_t n, float *out) {
    float a = (float)lo, b = (float)hi;
    if (n == 1) {
        out[0] = a;
        return;
    }
    float step = (b - a) / (float)(n - 1);
    for (int32_t i = 0; i < n; i++)
        out[i] = i < n / 2 ? fmaf(step, (float)i, a) : fmaf(-step, (float)(n - 1 - i), b);
}

const synth_params *synth_builder_params(const synth_builder *b) { return &b->p; }
int32_t synth_builder_num_context_lengths(const synth_builder *b) { return b->nctx; }
const int32_t *synth_builder_context_lengths(const synth_builder *b) { return b->ctx_lengths; }
const float *synth_builder_depth_ratios(const synth_builder *b) { return b->depths; }
int32_t synth_builder_haystack_length(const synth_builder *b) { return (int32_t)b->haystack.len; }
int32_t synth_builder_haystack_texts(const synth_builder *b) { return b->ntexts; }
int synth_builder_repeated(const synth_builder *b) { return b->repeated; }

void synth_builder_free(synth_builder *b) {
    if (!b) return;
    for (int i = 0; i < 5; i++) free(b->strings[i]);
    free(b->ctx_lengths);
    free(b->depths);
    ids_free(&b->haystack);
    for (int i = 0; i < SYNTH_MAX_PASSKEYS; i++) {
        ids_free(&b->needle[i]);
        ids_free(&b->question[i]);
    }
    ids_free(&b->sep);
    ids_free(&b->prompt1);
    ids_free(&b->prompt2);
    free(b);
}

static int encode(const synth_builder *b, const char *text, size_t len, int special, duo_ids *out, duo_error *err) {
    return b->enc.encode(b->enc.ctx, text, len, special, out, err);
}

/* Number of tokens of text (as HF len(encode(text, add_special_tokens))), or -1. */
static long count_tokens(const synth_builder *b, const char *text, size_t len, int special, duo_error *err) {
    duo_ids ids = {0};
    long n = encode(b, text, len, special, &ids, err) ? -1 : (long)ids.len;
    ids_free(&ids);
    return n;
}

typedef struct {
    char *data;
    size_t len, cap;
} strbuf;

static int strbuf_reserve(strbuf *s, size_t extra) {
    if (s->len + extra + 1 <= s->cap) return 0;
    size_t cap = s->cap ? s->cap : 4096;
    while (cap < s->len + extra + 1) cap *= 2;
    char *d = realloc(s->data, cap);
    if (!d) return -1;
    s->data = d;
    s->cap = cap;
    return 0;
}

/* A passkey: `words` NATO words drawn from r, joined by single spaces (malloc'd). */
static char *make_passkey(synth_rng *r, int32_t words) {
    char *out = malloc((size_t)words * 9 + 1), *w = out;
    if (!out) return NULL;
    for (int32_t i = 0; i < words; i++) {
        const char *word = SYNTH_NATO_WORDS[synth_rng_below(r, 26)];
        if (i) *w++ = ' ';
        size_t l = strlen(word);
        memcpy(w, word, l);
        w += l;
    }
    *w = '\0';
    return out;
}

/* Tokens of corpus text number ntexts (0-based) after checking it is valid UTF-8; -1 with err naming it. */
static long text_tokens(const synth_builder *b, const synth_text_source *src, size_t ntexts, const char *text,
                        size_t len, duo_error *err) {
    if (utf8_valid_prefix(text, len) != len)
        return duo_fail(err, "corpus %s: text %zu is not valid UTF-8", src->name, ntexts + 1);
    long n = count_tokens(b, text, len, 0, err);
    if (n < 0) duo_error_prefix(err, "corpus %s, text %zu: ", src->name, ntexts + 1);
    return n;
}

/* The reference's haystack loop: `for text in corpus: if len(encode(haystack)) >= max: break;
 * haystack += text`.  Counting with a full re-encode per text would be quadratic, so each text is
 * tokenised once and the running sum is an estimate; the exact count of the concatenation (which can
 * differ by a token or so at each join) is taken only when the estimate comes within 2 tokens per join
 * of the target, and then becomes the new anchor.  The stopping text is therefore the reference's. */
static int gather_haystack(synth_builder *b, synth_text_source *src, strbuf *S, duo_error *err) {
    const int32_t max = b->p.context_length_max;
    size_t *off = NULL, *lens = NULL, ntexts = 0, cap = 0, orig = 0, cycle = 0;
    long *counts = NULL;
    long est = count_tokens(b, "", 0, 1, err), joins = 0, exact = -1;
    int exhausted = 0, rc = -1;
    if (est < 0) goto done;
    if (strbuf_reserve(S, 0)) goto oom;
    S->data[0] = '\0';
    for (;;) {
        if (ntexts > 0 && est + 2 * joins + 2 >= max) {
            if ((exact = count_tokens(b, S->data, S->len, 1, err)) < 0) goto done;
            if (exact >= max) break;
            est = exact;
            joins = 0;
        }
        const char *text = NULL;
        size_t len = 0;
        long n_t;
        if (!exhausted) {
            int r = src->next(src->ctx, &text, &len, err);
            if (r < 0) goto done;
            if (r == 0) {
                exhausted = 1;
                orig = ntexts;
                if (ntexts == 0) {
                    duo_fail(err, "corpus %s has no texts", src->name);
                    goto done;
                }
                if ((exact = count_tokens(b, S->data, S->len, 1, err)) < 0) goto done;
                if (exact >= max) break;
                if (!b->p.allow_repeat) {
                    duo_fail(err, "corpus %s is too short: its %zu texts make %ld tokens, fewer than "
                             "%s %d (%s%s%s)", src->name, ntexts, exact, b->p.context_flag ? b->p.context_flag : "the context length", max,
                             b->p.repeat_flag ? "pass " : "give a longer corpus or a shorter context length",
                             b->p.repeat_flag ? b->p.repeat_flag : "", b->p.repeat_flag ? " to repeat the corpus" : "");
                    goto done;
                }
                b->repeated = 1;
                est = exact;
                joins = 0;
                continue;
            }
            if (len == 0) {
                duo_fail(err, "corpus %s: text %zu is empty", src->name, ntexts + 1);
                goto done;
            }
            if ((n_t = text_tokens(b, src, ntexts, text, len, err)) < 0) goto done;
            /* A text given as a prefix (a huge .txt file) is read on until its tokens reach twice what
             * the haystack still lacks plus a margin: the haystack keeps only its first max tokens, and
             * the prefix ends at a line break (or space) far beyond them, so those tokens are the ones
             * the whole text gives (tests/test_synth_tok.c compares with the text cut short). */
            while (src->extend && n_t < 2 * (max - est) + SYNTH_PREFIX_MARGIN_TOKENS) {
                int r = src->extend(src->ctx, &text, &len, err);
                if (r < 0) goto done;
                if (r == 0) break;
                if ((n_t = text_tokens(b, src, ntexts, text, len, err)) < 0) goto done;
            }
            if (ntexts == cap) {
                cap = cap ? 2 * cap : 64;
                size_t *o2 = realloc(off, cap * sizeof *off), *l2 = o2 ? realloc(lens, cap * sizeof *lens) : NULL;
                if (o2) off = o2;
                if (l2) lens = l2;
                long *c2 = l2 ? realloc(counts, cap * sizeof *counts) : NULL;
                if (!c2) goto oom;
                counts = c2;
            }
            off[ntexts] = S->len;
            lens[ntexts] = len;
            counts[ntexts] = n_t;
            if (strbuf_reserve(S, len)) goto oom;
            memcpy(S->data + S->len, text, len);
        } else {
            /* --allow_repeat: cycle through the texts already read, in order. */
            size_t k = cycle++ % orig;
            len = lens[k];
            n_t = counts[k];
            if (strbuf_reserve(S, len)) goto oom;
            memcpy(S->data + S->len, S->data + off[k], len);
        }
        if (S->len) joins++;
        S->len += len;
        S->data[S->len] = '\0';
        est += n_t;
        if (!exhausted) ntexts++;
    }
    b->ntexts = (int32_t)ntexts;
    rc = 0;
    goto done;
oom:
    duo_fail(err, "out of memory reading corpus %s", src->name);
done:
    free(off);
    free(lens);
    free(counts);
    return rc;
}

/* The reference's __init__ after the haystack text is gathered: trim to context_length_max tokens by
 * decoding the first max tokens and re-encoding, tokenise the fixed pieces, and cut the haystack so
 * the longest sample fits max - buffer_size (sized with one random passkey, as the reference does). */
static int prepare(synth_builder *b, strbuf *S, duo_error *err) {
    const synth_params *p = &b->p;
    duo_ids all = {0};
    int rc = -1;
    if (encode(b, S->data, S->len, 0, &all, err)) goto done;
    if ((long)all.len > p->context_length_max) {
        size_t len = 0;
        char *text = b->enc.decode_len ? b->enc.decode_len(b->enc.ctx, all.ids, (size_t)p->context_length_max, 0, &len)
                                       : b->enc.decode(b->enc.ctx, all.ids, (size_t)p->context_length_max, 0);
        if (!text) {
            duo_fail(err, "decoding the haystack's first %d tokens failed", p->context_length_max);
            goto done;
        }
        if (!b->enc.decode_len) len = strlen(text);
        if (b->enc.clean_up_tokenization_spaces) len = synth_clean_up_tokenization_len(text, len);
        int e = encode(b, text, len, 0, &b->haystack, err);
        free(text);
        if (e) goto done;
    } else {
        b->haystack = all;
        all = (duo_ids){0};
    }

    for (int32_t i = 0; i < p->num_passkeys; i++) {
        char *n = synth_format_ordinal(p->needle, SYNTH_ORDINALS[i]);
        char *q = synth_format_ordinal(p->retrieval_question, SYNTH_ORDINALS[i]);
        int e = !n || !q || encode(b, n, strlen(n), 0, &b->needle[i], err) ||
                encode(b, q, strlen(q), 0, &b->question[i], err);
        free(n);
        free(q);
        if (e) goto done;
    }
    if (encode(b, p->separator, strlen(p->separator), 0, &b->sep, err) ||
        encode(b, p->prompt1, strlen(p->prompt1), 1, &b->prompt1, err) ||
        encode(b, p->prompt2, strlen(p->prompt2), 0, &b->prompt2, err))
        goto done;

    synth_rng r = synth_rng_stream(p->seed, SYNTH_STREAM_CUT_PASSKEY, 0);
    char *pk = make_passkey(&r, p->passkey_length);
    duo_ids pkt = {0};
    int e = !pk || encode(b, pk, strlen(pk), 0, &pkt, err);
    free(pk);
    long pkl = (long)pkt.len;
    ids_free(&pkt);
    if (e) goto done;
    long other = (long)b->prompt1.len + (long)b->prompt2.len +
                 ((long)b->sep.len + (long)b->needle[0].len + pkl + (long)b->sep.len + (long)b->question[0].len + pkl) *
                     p->num_passkeys;
    long room = (long)p->context_length_max - p->buffer_size;
    if ((long)b->haystack.len + other > room) {
        long keep = room - other;
        if (keep < p->pad_to_multiple_of) {
            duo_fail(err, "%s %d leaves no room for a haystack: --buffer_size %d and the prompts, needles and "
                     "answers of %d passkeys take %ld tokens; give at least %ld", p->context_flag ? p->context_flag : "the context length",
                     p->context_length_max, p->buffer_size, p->num_passkeys, (long)p->buffer_size + other,
                     (long)p->buffer_size + other + p->pad_to_multiple_of);
            goto done;
        }
        b->haystack.len = (size_t)keep;
    }
    if ((long)b->haystack.len < p->pad_to_multiple_of) {
        duo_fail(err, "the haystack has only %zu tokens; padding needs at least %d", b->haystack.len,
                 p->pad_to_multiple_of);
        goto done;
    }
    rc = 0;
done:
    ids_free(&all);
    return rc;
}

synth_builder *synth_builder_new(const synth_params *params, const synth_encoder *enc, synth_text_source *src,
                                 duo_error *err) {
    if (synth_params_validate(params, err)) return NULL;
    synth_builder *b = calloc(1, sizeof *b);
    strbuf S = {0};
    if (!b) {
        duo_fail(err, "out of memory");
        return NULL;
    }
    b->p = *params;
    b->enc = *enc;
    const char **tmpl[5] = {&b->p.needle, &b->p.retrieval_question, &b->p.prompt1, &b->p.prompt2, &b->p.separator};
    for (int i = 0; i < 5; i++) {
        if (!(b->strings[i] = strdup(*tmpl[i]))) goto oom;
        *tmpl[i] = b->strings[i];
    }
    b->nctx = b->p.context_lengths_num_intervals;
    b->ctx_lengths = malloc((size_t)b->nctx * sizeof *b->ctx_lengths);
    b->depths = malloc((size_t)b->p.depth_ratio_num_intervals * sizeof *b->depths);
    if (!b->ctx_lengths || !b->depths) goto oom;
    synth_linspace_int(b->p.context_length_min, b->p.context_length_max, b->nctx, b->ctx_lengths);
    synth_linspace_f32(b->p.min_depth_ratio, b->p.max_depth_ratio, b->p.depth_ratio_num_intervals, b->depths);

    if (gather_haystack(b, src, &S, err) || prepare(b, &S, err)) goto fail;
    free(S.data);
    return b;
oom:
    duo_fail(err, "out of memory");
fail:
    free(S.data);
    synth_builder_free(b);
    return NULL;
}

/* Which context-length interval sample `index` uses: a fresh permutation per epoch (Fisher-Yates on its
 * own stream), so any sample can be built without the ones before it. */
static int32_t context_index_of(const synth_builder *b, int64_t index, int32_t *perm) {
    int32_t n = b->nctx;
    int64_t epoch = index / n, pos = index % n;
    if (!b->p.shuffle) return (int32_t)pos;
    synth_rng r = synth_rng_stream(b->p.seed, SYNTH_STREAM_EPOCH, (uint64_t)epoch);
    for (int32_t i = 0; i < n; i++) perm[i] = i;
    for (int32_t i = n - 1; i > 0; i--) {
        int32_t j = (int32_t)synth_rng_below(&r, (uint32_t)i + 1);
        int32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    return perm[pos];
}

static int alloc_sample(synth_sample *s, int32_t P) {
    s->num_passkeys = P;
    s->depth_index = calloc((size_t)P, sizeof *s->depth_index);
    s->depth_ratio = calloc((size_t)P, sizeof *s->depth_ratio);
    s->insertion_point = calloc((size_t)P, sizeof *s->insertion_point);
    s->needle_pos = calloc((size_t)P, sizeof *s->needle_pos);
    s->passkey_pos = calloc((size_t)P, sizeof *s->passkey_pos);
    s->answer_pos = calloc((size_t)P, sizeof *s->answer_pos);
    s->passkeys = calloc((size_t)P, sizeof *s->passkeys);
    return s->depth_index && s->depth_ratio && s->insertion_point && s->needle_pos && s->passkey_pos &&
                   s->answer_pos && s->passkeys
               ? 0
               : -1;
}

int synth_sample_generate(const synth_builder *b, int64_t index, synth_sample *out, duo_error *err) {
    const synth_params *p = &b->p;
    const int32_t P = p->num_passkeys, nd = p->depth_ratio_num_intervals;
    memset(out, 0, sizeof *out);
    if (index < 0) return duo_fail(err, "sample index %lld is negative", (long long)index);
    int32_t *scratch = malloc((size_t)(nd > b->nctx ? nd : b->nctx) * sizeof *scratch);
    duo_ids pk[SYNTH_MAX_PASSKEYS] = {{0}}, ids = {0};
    int rc = -1;
    if (!scratch || alloc_sample(out, P)) goto oom;

    out->index = index;
    out->context_index = context_index_of(b, index, scratch);
    out->context_length = b->ctx_lengths[out->context_index];
    const int32_t H = out->context_length < (int32_t)b->haystack.len ? out->context_length : (int32_t)b->haystack.len;
    out->haystack_length = H;

    /* depths: num_passkeys of the depth intervals without replacement (partial Fisher-Yates), sorted */
    synth_rng r = synth_rng_stream(p->seed, SYNTH_STREAM_SAMPLE, (uint64_t)index);
    for (int32_t i = 0; i < nd; i++) scratch[i] = i;
    for (int32_t i = 0; i < P; i++) {
        int32_t j = i + (int32_t)synth_rng_below(&r, (uint32_t)(nd - i));
        int32_t t = scratch[i];
        scratch[i] = scratch[j];
        scratch[j] = t;
    }
    for (int32_t i = 1; i < P; i++)
        for (int32_t j = i; j > 0 && scratch[j - 1] > scratch[j]; j--) {
            int32_t t = scratch[j];
            scratch[j] = scratch[j - 1];
            scratch[j - 1] = t;
        }
    for (int32_t i = 0; i < P; i++) {
        out->depth_index[i] = scratch[i];
        out->depth_ratio[i] = b->depths[scratch[i]];
    }
    for (int32_t i = 0; i < P; i++) {
        if (!(out->passkeys[i] = make_passkey(&r, p->passkey_length))) goto oom;
        if (encode(b, out->passkeys[i], strlen(out->passkeys[i]), 0, &pk[i], err)) goto done;
    }

    /* prompt1 + haystack[:H] with the needles (reference _insert_needle) */
    const int32_t *hay = b->haystack.ids;
    ids_append(&ids, b->prompt1.ids, b->prompt1.len);
    int32_t last = 0;
    for (int32_t i = 0; i < P; i++) {
        /* int(len(haystack_tokens) * depth_ratio): a float32 product, truncated */
        int32_t ip = (int32_t)((float)H * out->depth_ratio[i]);
        out->insertion_point[i] = ip;
        ids_append(&ids, hay + last, (size_t)(ip - last));
        ids_append(&ids, b->sep.ids, b->sep.len);
        out->needle_pos[i][0] = (int32_t)ids.len;
        ids_append(&ids, b->needle[i].ids, b->needle[i].len);
        out->passkey_pos[i][0] = (int32_t)ids.len;
        ids_append(&ids, pk[i].ids, pk[i].len);
        out->passkey_pos[i][1] = out->needle_pos[i][1] = (int32_t)ids.len;
        ids_append(&ids, b->sep.ids, b->sep.len);
        last = ip;
    }
    ids_append(&ids, hay + last, (size_t)(H - last));

    /* the reference's padding: its `% 16 != 0` test binds to len(prompt2) only, so it always pads,
     * a whole multiple (16 tokens) when the length is already aligned; pad tokens are the last tokens
     * of the cut haystack */
    size_t qa_len = 0;
    for (int32_t i = 0; i < P; i++) qa_len += b->question[i].len + pk[i].len + b->sep.len;
    size_t m = (size_t)p->pad_to_multiple_of;
    size_t pad = m - (ids.len + qa_len + b->prompt2.len) % m;
    ids_append(&ids, b->haystack.ids + b->haystack.len - pad, pad);
    ids_append(&ids, b->prompt2.ids, b->prompt2.len);

    out->qa_start = (int32_t)ids.len;
    for (int32_t i = 0; i < P; i++) {
        ids_append(&ids, b->question[i].ids, b->question[i].len);
        out->answer_pos[i][0] = (int32_t)ids.len;
        ids_append(&ids, pk[i].ids, pk[i].len);
        out->answer_pos[i][1] = (int32_t)ids.len;
        ids_append(&ids, b->sep.ids, b->sep.len);
    }
    if (!ids.ids) goto oom;
    out->n = ids.len;
    out->input_ids = ids.ids;
    ids = (duo_ids){0};
    if (!(out->labels = malloc(out->n * sizeof *out->labels))) goto oom;
    for (size_t t = 0; t < out->n; t++)
        out->labels[t] = (int32_t)t < out->qa_start ? SYNTH_IGNORE_LABEL : out->input_ids[t];
    rc = 0;
    goto done;
oom:
    duo_fail(err, "out of memory building sample %lld", (long long)index);
done:
    free(scratch);
    ids_free(&ids);
    for (int32_t i = 0; i < P; i++) ids_free(&pk[i]);
    if (rc) synth_sample_free(out);
    return rc;
}
