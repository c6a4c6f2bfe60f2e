/* The pieces of `duo-train score` shared by its methods (eval/score.h): each method's run (inputs from
 * the options, the TSV values and its config.json entries) and the helpers they share. */
#ifndef DUO_EVAL_SCORE_IMPL_H
#define DUO_EVAL_SCORE_IMPL_H

#include <jansson.h>

#include "data/tokenizer.h"
#include "eval/score.h"
#include "util/progress.h"

/* Each run fills values [L][KVH] (in [0, 1], higher = keep full) and adds its parameters and raw scores
 * to cfg.  0, or -1 with err set. */
int score_otf_run(const score_opts *o, const duo_model *m, duo_backend *be, const duo_tokenizer *tok,
                  double *values, json_t *cfg, duo_error *err);
int score_retrieval_run(const score_opts *o, const duo_model *m, duo_backend *be, const duo_tokenizer *tok,
                        double *values, json_t *cfg, duo_error *err);
int score_ablation_run(const score_opts *o, const duo_model *m, duo_backend *be, const duo_tokenizer *tok,
                       double *values, json_t *cfg, duo_error *err);

/* A rows x cols matrix as a JSON array of arrays. */
json_t *score_json_matrix(const double *v, int rows, int cols);

#endif
