/* LongBench in `duo-train sweep --task longbench` (issue 17): the user's LongBench checkout and the
 * prompts the reference's pred.py (mit-han-lab/duo-attention eval/LongBench/pred.py) builds from it.
 *
 *   data     DIR/<name>.jsonl (LongBench-E: DIR/<name>_e.jsonl), one JSON object a line with at least
 *            answers (strings), all_classes (null or strings), length (integer) and the fields its
 *            template names (strings or integers);
 *   config   dataset2prompt.json (the templates, Python str.format with {field} placeholders and {{ }})
 *            and dataset2maxlen.json (generation lengths) in --longbench_config (default DIR/config);
 *   prompt   the template filled from the record; when it encodes to more than max_length tokens, the
 *            first and last max_length/2 tokens decoded (special tokens skipped) and concatenated; then
 *            "[INST]...[/INST]" when the chat wrapper applies (the reference: "llama-2" in the model name,
 *            not for trec, triviaqa, samsum, lsht, lcc, repobench-p); encoded with the tokenizer's
 *            special tokens (BOS) as pred.py's tokenizer(prompt) does.
 * Every check on the files happens in longbench_load, before any model work; errors name the file, the
 * line, the field or the value. */
#ifndef DUO_EVAL_LONGBENCH_DATA_H
#define DUO_EVAL_LONGBENCH_DATA_H

#include <jansson.h>
#include <stddef.h>

#include "data/error.h"
#include "data/tokenizer.h"
#include "eval/longbench_metrics.h"
#include "eval/longbench_opts.h"
#include "eval/sweep_prompts.h"

typedef struct {
    json_t *obj;                 /* the record (owned) */
    const char **answers;        /* [n_answers] into obj */
    size_t n_answers;
    const char **all_classes;    /* [n_classes] into obj; NULL when null */
    size_t n_classes;
    long long length;
    const char *id;              /* _id or "" */
    int line;                    /* 1-based line in the file */
} lb_record;

typedef struct {
    char name[64];
    char path[4200];
    lb_metric metric;
    const char *prompt_format;   /* into the config's JSON (kept alive by longbench.prompts_json) */
    int max_gen;                 /* dataset2maxlen */
    lb_record *r;                /* [n] */
    size_t n;
} lb_dataset;

typedef struct {
    lb_dataset *d;               /* [n] */
    size_t n;
    int max_gen;                 /* the largest generation length */
    int longbench_e;
    char model_name[256];
    int chat;                    /* the resolved chat wrapper: 1 = llama-2 [INST] */
    json_t *prompts_json, *maxlen_json;
    /* per prompt of the sweep (the datasets' records in order) */
    int *prompt_dataset;         /* [num_prompts] */
    size_t *prompt_record;       /* [num_prompts] */
    unsigned char *truncated;    /* [num_prompts] 1 when truncated in the middle */
    size_t num_prompts;
} longbench;

/* Reads and checks the config and the chosen datasets. */
int longbench_load(const longbench_opts *o, const char *data_dir, const char *model_dir, longbench *lb,
                   duo_error *err);
void longbench_free(longbench *lb);

/* Python's str.format(**record) of fmt: malloc'd text, or NULL with err naming the placeholder, the
 * field or the record's line. */
char *longbench_fill(const char *fmt, const lb_record *rec, const char *file, duo_error *err);

/* The prompts of every record (pred.py's truncation and chat wrapper) into ps (ctx_index = dataset,
 * sample = record); max_length as longbench_opts. */
int longbench_prompts(longbench *lb, int max_length, const duo_tokenizer *tok, sweep_prompts *ps, duo_error *err);

/* pred.py's post_process(response, model_name) (malloc'd; NULL: out of memory). */
char *longbench_post_process(const char *response, const char *model_name);

#endif
