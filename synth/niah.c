/* Needle-in-a-haystack prompts, ported from the reference benchmark (see synth/niah.h). */
#include "synth/niah.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/utf8.h"

struct niah_builder {
    niah_params p;
    char *strings[5];
    synth_encoder enc;
    int32_t *lengths, *depths;
    duo_ids all; /* encode(haystack) with BOS */
    duo_ids needle;
};

void niah_params_default(niah_params *p) {
    memset(p, 0, sizeof *p);
    p->needle = "\n\nRemember, the best thing to do in San Francisco is eat a sandwich and sit in Dolores Park on a "
                "sunny day.\n\n";
    p->retrieval_question = "what is the best thing to do in San Francisco?\n\nAnswer: The best thing to do in San "
                            "Francisco is";
    p->answer = "eat a sandwich and sit in Dolores Park on a sunny day";
    p->prompt_prefix = "<|im_start|> This is a very long story book: <book> ";
    p->prompt_suffix = " </book>.\n\nQuestion: Based on the content of the book, ";
    p->context_lengths_min = 1000;
    p->context_lengths_max = 1048000;
    p->context_lengths_num_intervals = 40;
    p->document_depth_percent_min = 0;
    p->document_depth_percent_max = 100;
    p->document_depth_percent_intervals = 10;
    p->final_context_length_buffer = 200;
}

int niah_params_validate(const niah_params *p, duo_error *err) {
    if (p->context_lengths_min < 1 || p->context_lengths_min > p->context_lengths_max)
        return duo_fail(err, "need 1 <= --context_lengths_min (%d) <= --context_lengths_max (%d)",
                        p->context_lengths_min, p->context_lengths_max);
    if (p->context_lengths_num_intervals < 1 || p->document_depth_percent_intervals < 1)
        return duo_fail(err, "--context_lengths_num_intervals and --document_depth_percent_intervals must be >= 1");
    if (p->document_depth_percent_min < 0 || p->document_depth_percent_max > 100 ||
        p->document_depth_percent_min > p->document_depth_percent_max)
        return duo_fail(err, "need 0 <= --document_depth_percent_min (%d) <= --document_depth_percent_max (%d) <= 100",
                        p->document_depth_percent_min, p->document_depth_percent_max);
    if (p->final_context_length_buffer < 0) return duo_fail(err, "--final_context_length_buffer must not be negative");
    if (!p->needle || !*p->needle || !p->retrieval_question || !*p->retrieval_question)
        return duo_fail(err, "the needle and the retrieval question must not be empty");
    return 0;
}

void niah_linspace_round(double lo, double hi, int32_t n, int32_t *out) {
    double step = n > 1 ? (hi - lo) / (n - 1) : 0;
    for (int32_t i = 0; i < n; i++) out[i] = (int32_t)nearbyint(i * step + lo);
    if (n > 1) out[n - 1] = (int32_t)nearbyint(hi); /* numpy sets the endpoint exactly */
}

void niah_builder_free(niah_builder *b) {
    if (!b) return;
    for (int i = 0; i < 5; i++) free(b->strings[i]);
    free(b->lengths);
    free(b->depths);
    ids_free(&b->all);
    ids_free(&b->needle);
    free(b);
}

int32_t niah_num_context_lengths(const niah_builder *b) { return b->p.context_lengths_num_intervals; }
const int32_t *niah_context_lengths(const niah_builder *b) { return b->lengths; }
int32_t niah_num_depths(const niah_builder *b) { return b->p.document_depth_percent_intervals; }
const int32_t *niah_depth_percents(const niah_builder *b) { return b->depths; }
int64_t niah_haystack_tokens(const niah_builder *b) { return (int64_t)b->all.len; }

/* Text of k copies of d (malloc'd). */
static char *repeat_text(const char *d, size_t len, long k) {
    char *s = malloc(len * (size_t)k + 1);
    if (!s) return NULL;
    for (long i = 0; i < k; i++) memcpy(s + (size_t)i * len, d, len);
    s[len * (size_t)k] = '\0';
    return s;
}

/* encode(k copies of d, BOS) into out (cleared first). */
static int encode_copies(niah_builder *b, const char *d, size_t len, long k, duo_ids *out, duo_error *err) {
    out->len = 0;
    char *s = repeat_text(d, len, k);
    if (!s) return duo_fail(err, "out of memory repeating the haystack %ld times", k);
    int rc = b->enc.encode(b->enc.ctx, s, len * (size_t)k, 1, out, err);
    free(s);
    return rc;
}

niah_builder *niah_builder_new(const niah_params *params, const synth_encoder *enc, synth_text_source *src,
                               duo_error *err) {
    if (niah_params_validate(params, err)) return NULL;
    niah_builder *b = calloc(1, sizeof *b);
    char *d = NULL;
    size_t dlen = 0, dcap = 0, ntexts = 0;
    if (!b) goto oom;
    b->p = *params;
    b->enc = *enc;
    const char **s[5] = {&b->p.needle, &b->p.retrieval_question, &b->p.answer, &b->p.prompt_prefix,
                         &b->p.prompt_suffix};
    for (int i = 0; i < 5; i++) {
        if (!(b->strings[i] = strdup(*s[i] ? *s[i] : ""))) goto oom;
        *s[i] = b->strings[i];
    }
    b->lengths = malloc((size_t)b->p.context_lengths_num_intervals * sizeof *b->lengths);
    b->depths = malloc((size_t)b->p.document_depth_percent_intervals * sizeof *b->depths);
    if (!b->lengths || !b->depths) goto oom;
    niah_linspace_round(b->p.context_lengths_min, b->p.context_lengths_max, b->p.context_lengths_num_intervals,
                        b->lengths);
    niah_linspace_round(b->p.document_depth_percent_min, b->p.document_depth_percent_max,
                        b->p.document_depth_percent_intervals, b->depths);

    /* one pass over the files: their concatenation d */
    for (;;) {
        const char *text;
        size_t len;
        int r = src->next(src->ctx, &text, &len, err);
        if (r < 0) goto fail;
        if (r == 0) break;
        if (utf8_valid_prefix(text, len) != len) {
            duo_fail(err, "haystack %s: text %zu is not valid UTF-8", src->name, ntexts + 1);
            goto fail;
        }
        if (dlen + len + 1 > dcap) {
            dcap = (dlen + len + 1) * 2;
            char *nd = realloc(d, dcap);
            if (!nd) goto oom;
            d = nd;
        }
        memcpy(d + dlen, text, len);
        dlen += len;
        ntexts++;
    }
    if (dlen == 0) {
        duo_fail(err, "haystack %s has no text", src->name);
        goto fail;
    }
    /* The reference appends the whole set of files while the count (with BOS) is below the largest
     * context length.  Find that number of copies k from a one-copy estimate, then confirm exactly. */
    int32_t need = b->lengths[0];
    for (int32_t i = 1; i < b->p.context_lengths_num_intervals; i++)
        if (b->lengths[i] > need) need = b->lengths[i];
    if (encode_copies(b, d, dlen, 1, &b->all, err)) goto fail;
    long k = 1;
    if ((long)b->all.len < need && b->all.len < 2) {
        duo_fail(err, "haystack %s encodes to no tokens", src->name);
        goto fail;
    }
    if ((long)b->all.len < need) {
        k = (long)((need + (long)b->all.len - 2) / ((long)b->all.len - 1));
        if (k < 2) k = 2;
        for (;;) {
            if (encode_copies(b, d, dlen, k, &b->all, err)) goto fail;
            if ((long)b->all.len < need) {
                k++;
                continue;
            }
            duo_ids prev = {0};
            if (k > 2 && encode_copies(b, d, dlen, k - 1, &prev, err)) {
                ids_free(&prev);
                goto fail;
            }
            int smaller = k > 2 && (long)prev.len >= need;
            ids_free(&prev);
            if (!smaller) break;
            k--;
        }
    }
    if (b->enc.encode(b->enc.ctx, b->p.needle, strlen(b->p.needle), 0, &b->needle, err)) goto fail;
    free(d);
    return b;
oom:
    duo_fail(err, "out of memory building the needle-in-a-haystack haystack");
fail:
    free(d);
    niah_builder_free(b);
    return NULL;
}

void niah_prompt_free(niah_prompt *p) {
    if (!p) return;
    free(p->ids);
    free(p->context);
    memset(p, 0, sizeof *p);
}

static char *decode(const niah_builder *b, const int32_t *ids, size_t n, int skip) {
    char *s = b->enc.decode(b->enc.ctx, ids, n, skip);
    if (s && b->enc.clean_up_tokenization_spaces) synth_clean_up_tokenization(s);
    return s;
}

int niah_prompt_build(const niah_builder *b, int32_t context_length, double depth_percent, niah_prompt *out,
                      duo_error *err) {
    const niah_params *p = &b->p;
    memset(out, 0, sizeof *out);
    if (context_length < 1 || !(depth_percent >= 0 && depth_percent <= 100))
        return duo_fail(err, "needle-in-a-haystack: context length %d / depth %g%% out of range", context_length,
                        depth_percent);
    duo_ids ctx = {0}, nw = {0};
    char *text = NULL, *prompt = NULL;
    int rc = -1;
    /* encode_and_trim: decode(tokens[:context_length], skip_special_tokens=True) when longer */
    size_t take = (size_t)context_length < b->all.len ? (size_t)context_length : b->all.len;
    if (!(text = decode(b, b->all.ids, take, 1))) goto oom;
    if (b->enc.encode(b->enc.ctx, text, strlen(text), 0, &ctx, err)) goto done;
    long room = (long)context_length - p->final_context_length_buffer;
    if ((long)ctx.len + (long)b->needle.len > room) {
        long keep = room - (long)b->needle.len;
        if (keep < 0) {
            duo_fail(err, "needle-in-a-haystack: context length %d leaves no room for the %zu-token needle after "
                     "the %d-token buffer", context_length, b->needle.len, p->final_context_length_buffer);
            goto done;
        }
        ctx.len = (size_t)keep;
    }
    size_t ip = depth_percent == 100 ? ctx.len : (size_t)((double)ctx.len * (depth_percent / 100.0));
    ids_append(&nw, ctx.ids, ip);
    ids_append(&nw, b->needle.ids, b->needle.len);
    ids_append(&nw, ctx.ids + ip, ctx.len - ip);
    out->insertion_point = (int32_t)ip;
    out->context_tokens = (int32_t)ctx.len;
    if (!(out->context = decode(b, nw.ids, nw.len, 1))) goto oom;
    size_t lp = strlen(p->prompt_prefix), lc = strlen(out->context), ls = strlen(p->prompt_suffix),
           lq = strlen(p->retrieval_question);
    if (!(prompt = malloc(lp + lc + ls + lq + 1))) goto oom;
    memcpy(prompt, p->prompt_prefix, lp);
    memcpy(prompt + lp, out->context, lc);
    memcpy(prompt + lp + lc, p->prompt_suffix, ls);
    memcpy(prompt + lp + lc + ls, p->retrieval_question, lq + 1);
    duo_ids ids = {0};
    if (b->enc.encode(b->enc.ctx, prompt, lp + lc + ls + lq, 1, &ids, err)) {
        ids_free(&ids);
        goto done;
    }
    out->ids = ids.ids;
    out->n = ids.len;
    out->context_length = context_length;
    out->depth_percent = depth_percent;
    out->needle = p->needle;
    out->answer = p->answer;
    rc = 0;
    goto done;
oom:
    duo_fail(err, "out of memory building a needle-in-a-haystack prompt");
done:
    free(text);
    free(prompt);
    ids_free(&ctx);
    ids_free(&nw);
    if (rc) niah_prompt_free(out);
    return rc;
}
