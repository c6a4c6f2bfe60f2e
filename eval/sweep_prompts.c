#include "eval/sweep_prompts.h"

#include <stdlib.h>
#include <string.h>

#include "data/corpus.h"
#include "synth/encoder_tok.h"
#include "synth/multipasskey.h"

static int push(sweep_prompts *ps, size_t *cap, sweep_prompt p, duo_error *err) {
    if (ps->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 16;
        sweep_prompt *np = realloc(ps->p, nc * sizeof *np);
        if (!np) return duo_fail(err, "out of memory for the prompts");
        ps->p = np;
        *cap = nc;
    }
    ps->p[ps->n++] = p;
    if (p.n > ps->longest) ps->longest = p.n;
    return 0;
}

/* Sample i of context length L, cut before its QA part, plus the question for passkey i % num_passkeys. */
static int passkey_prompts(const sweep_opts *o, const duo_tokenizer *tok, const char *tok_path, sweep_prompts *ps,
                           size_t *cap, duo_error *err) {
    synth_encoder enc;
    synth_encoder_from_tokenizer(tok, tok_path, &enc);
    for (int c = 0; c < o->num_context_lengths; c++) {
        synth_params p = o->passkey;
        p.context_length_min = p.context_length_max = o->context_lengths[c];
        p.context_lengths_num_intervals = 1;
        p.seed = o->seed;
        if (synth_params_validate(&p, err)) return -1;
        synth_builder *b = synth_builder_from_paths(&p, tok, tok_path, o->dataset, err);
        if (!b) {
            duo_error_prefix(err, "passkey prompts of context length %d from %s", o->context_lengths[c], o->dataset);
            return -1;
        }
        for (int i = 0; i < o->samples; i++) {
            synth_sample s = {0};
            if (synth_sample_generate(b, i, &s, err)) {
                synth_builder_free(b);
                return -1;
            }
            int k = i % s.num_passkeys;
            char *question = synth_format_ordinal(p.retrieval_question, SYNTH_ORDINALS[k]);
            duo_ids ids = {0};
            int rc = 0;
            if (!question || ids_append(&ids, s.input_ids, (size_t)s.qa_start)) rc = duo_fail(err, "out of memory");
            else if (enc.encode(enc.ctx, question, strlen(question), 0, &ids, err)) rc = -1;
            free(question);
            sweep_prompt sp = {.ids = ids.ids, .n = ids.len, .ctx_index = c, .sample = i,
                               .expected = rc ? NULL : strdup(s.passkeys[k])};
            synth_sample_free(&s);
            if (!rc && !sp.expected) rc = duo_fail(err, "out of memory");
            if (!rc) rc = push(ps, cap, sp, err);
            if (rc) {
                free(sp.ids);
                free(sp.expected);
                synth_builder_free(b);
                return -1;
            }
        }
        synth_builder_free(b);
    }
    return 0;
}

static int niah_prompts(const sweep_opts *o, const duo_tokenizer *tok, const char *tok_path, sweep_prompts *ps,
                        size_t *cap, duo_error *err) {
    niah_params np = o->niah;
    np.context_lengths_min = np.context_lengths_max = o->context_lengths[0];
    for (int c = 0; c < o->num_context_lengths; c++) {
        if (o->context_lengths[c] < np.context_lengths_min) np.context_lengths_min = o->context_lengths[c];
        if (o->context_lengths[c] > np.context_lengths_max) np.context_lengths_max = o->context_lengths[c];
    }
    if (niah_params_validate(&np, err)) return -1;
    duo_corpus *corpus = corpus_open(o->dataset, err);
    if (!corpus) return -1;
    synth_encoder enc;
    synth_encoder_from_tokenizer(tok, tok_path, &enc);
    synth_text_source src = synth_source_from_corpus(corpus, o->dataset);
    niah_builder *b = niah_builder_new(&np, &enc, &src, err);
    corpus_close(corpus);
    if (!b) {
        duo_error_prefix(err, "needle prompts from %s", o->dataset);
        return -1;
    }
    int rc = 0;
    for (int c = 0; c < o->num_context_lengths && !rc; c++)
        for (int d = 0; d < o->num_depths && !rc; d++) {
            niah_prompt p = {0};
            if (niah_prompt_build(b, o->context_lengths[c], o->depths[d], &p, err)) {
                rc = -1;
                break;
            }
            sweep_prompt sp = {.ids = p.ids, .n = p.n, .ctx_index = c, .depth_index = d,
                               .expected = strdup(p.answer), .needle = strdup(p.needle)};
            p.ids = NULL;
            niah_prompt_free(&p);
            if (!sp.expected || !sp.needle || push(ps, cap, sp, err)) {
                free(sp.ids);
                free(sp.expected);
                free(sp.needle);
                rc = duo_fail(err, "out of memory for the prompts");
            }
        }
    niah_builder_free(b);
    return rc;
}

int sweep_prompts_build(const sweep_opts *o, const duo_tokenizer *tok, const char *tok_path, sweep_prompts *out,
                        duo_error *err) {
    memset(out, 0, sizeof *out);
    size_t cap = 0;
    int rc = o->task == SWEEP_PASSKEY ? passkey_prompts(o, tok, tok_path, out, &cap, err)
                                      : niah_prompts(o, tok, tok_path, out, &cap, err);
    if (rc) sweep_prompts_free(out);
    return rc;
}

void sweep_prompts_free(sweep_prompts *ps) {
    for (size_t i = 0; i < ps->n; i++) {
        free(ps->p[i].ids);
        free(ps->p[i].expected);
        free(ps->p[i].needle);
    }
    free(ps->p);
    memset(ps, 0, sizeof *ps);
}
