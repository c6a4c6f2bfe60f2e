/* LongBench's files, templates and prompts (eval/longbench_data.h). */
#include "eval/longbench_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/fileio.h"
#include "data/ids.h"
#include "data/json.h"

/* The English datasets in eval.py's order, and pred.py's LongBench-E list. */
static const char *const ENGLISH[] = {"narrativeqa", "qasper", "multifieldqa_en", "hotpotqa", "2wikimqa", "musique",
                                      "gov_report", "qmsum", "multi_news", "trec", "triviaqa", "samsum",
                                      "passage_retrieval_en", "passage_count", "lcc", "repobench-p"};
static const char *const ENGLISH_E[] = {"qasper", "multifieldqa_en", "hotpotqa", "2wikimqa", "gov_report",
                                        "multi_news", "trec", "triviaqa", "samsum", "passage_count",
                                        "passage_retrieval_en", "lcc", "repobench-p"};
/* The fields LongBench's records have (a placeholder naming anything else is unknown unless the data has it). */
static const char *const FIELDS[] = {"input", "context", "answers", "length", "dataset", "language", "all_classes", "_id"};

/* Walks a str.format template: literal text (with {{ and }} undoubled) goes to lit, each placeholder's
 * field name to field; -1 with err on a syntax str.format rejects or a form beyond {field} (positional,
 * attribute, index, conversion, format spec). */
typedef struct {
    int (*lit)(void *ctx, const char *s, size_t len);
    int (*field)(void *ctx, const char *name, size_t len, duo_error *err);
    void *ctx;
} template_fns;

static int scan_template(const char *fmt, const char *where, const template_fns *fn, duo_error *err) {
    size_t len = strlen(fmt);
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && fmt[j] != '{' && fmt[j] != '}') j++;
        if (j > i && fn->lit(fn->ctx, fmt + i, j - i)) return duo_fail(err, "out of memory filling a prompt");
        if (j == len) break;
        if (fmt[j + 1] == fmt[j]) { /* {{ or }} */
            if (fn->lit(fn->ctx, fmt + j, 1)) return duo_fail(err, "out of memory filling a prompt");
            i = j + 2;
            continue;
        }
        if (fmt[j] == '}') return duo_fail(err, "%s: a single '}' at offset %zu (write '}}' for a brace)", where, j);
        const char *close = strchr(fmt + j + 1, '}');
        if (!close) return duo_fail(err, "%s: the '{' at offset %zu is never closed", where, j);
        const char *name = fmt + j + 1;
        size_t nl = (size_t)(close - name);
        int bad = nl == 0 || (name[0] >= '0' && name[0] <= '9');
        for (size_t k = 0; k < nl && !bad; k++) bad = strchr("!:.[]{", name[k]) != NULL;
        if (bad)
            return duo_fail(err, "%s: placeholder {%.*s} is not a {field} of the records (only named fields: no "
                                 "positions, attributes, conversions or format specs)", where, (int)nl, name);
        if (fn->field(fn->ctx, name, nl, err)) return -1;
        i = (size_t)(close - fmt) + 1;
    }
    return 0;
}

typedef struct {
    const lb_record *rec;
    const char *file;
    char *buf;
    size_t n, cap;
} fill_ctx;

static int append(void *vctx, const char *s, size_t len) {
    fill_ctx *f = vctx;
    if (f->n + len + 1 > f->cap) {
        size_t cap = 2 * (f->n + len + 1);
        char *b = realloc(f->buf, cap);
        if (!b) return -1;
        f->buf = b, f->cap = cap;
    }
    memcpy(f->buf + f->n, s, len);
    f->n += len;
    f->buf[f->n] = 0;
    return 0;
}

static int fill_field(void *vctx, const char *name, size_t len, duo_error *err) {
    fill_ctx *f = vctx;
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)len, name);
    json_t *v = json_object_get(f->rec->obj, key);
    if (!v)
        return duo_fail(err, "%s:%d: the record has no field \"%s\", which the template needs", f->file, f->rec->line,
                        key);
    char num[64];
    const char *s = NULL;
    if (json_is_string(v)) s = json_string_value(v);
    else if (json_is_integer(v)) snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v)), s = num;
    else
        return duo_fail(err, "%s:%d: field \"%s\" is not a string (the template puts it in the prompt)", f->file,
                        f->rec->line, key);
    return append(f, s, strlen(s)) ? duo_fail(err, "out of memory filling a prompt") : 0;
}

char *longbench_fill(const char *fmt, const lb_record *rec, const char *file, duo_error *err) {
    fill_ctx f = {rec, file, NULL, 0, 0};
    template_fns fn = {append, fill_field, &f};
    if (scan_template(fmt, file, &fn, err)) {
        free(f.buf);
        return NULL;
    }
    if (!f.buf && append(&f, "", 0)) duo_fail(err, "out of memory filling a prompt");
    return f.buf;
}

static int no_lit(void *ctx, const char *s, size_t len) {
    (void)ctx, (void)s, (void)len;
    return 0;
}

typedef struct {
    const lb_dataset *d;
    const char *config;
} check_ctx;

/* A placeholder must name a LongBench field or one the dataset's first record has; every record must
 * have it. */
static int check_field(void *vctx, const char *name, size_t len, duo_error *err) {
    check_ctx *c = vctx;
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)len, name);
    int known = json_object_get(c->d->r[0].obj, key) != NULL;
    for (size_t k = 0; k < sizeof FIELDS / sizeof *FIELDS && !known; k++) known = !strcmp(FIELDS[k], key);
    if (!known)
        return duo_fail(err, "%s: the template of \"%s\" has an unknown placeholder {%s} (not a field of %s)", c->config,
                        c->d->name, key, c->d->path);
    for (size_t r = 0; r < c->d->n; r++)
        if (!json_object_get(c->d->r[r].obj, key))
            return duo_fail(err, "%s:%d: the record has no field \"%s\", which the template of \"%s\" needs",
                            c->d->path, c->d->r[r].line, key, c->d->name);
    return 0;
}

static int noop_field(void *ctx, const char *name, size_t len, duo_error *err) {
    (void)ctx, (void)name, (void)len, (void)err;
    return 0;
}

/* The strings of a JSON array field; NULL array for null when nullable. */
static int string_list(json_t *obj, const char *field, int nullable, const char ***out, size_t *n, const char *file,
                       int line, duo_error *err) {
    json_t *a = json_object_get(obj, field);
    *out = NULL;
    *n = 0;
    if (!a) return duo_fail(err, "%s:%d: the record has no field \"%s\"", file, line, field);
    if (json_is_null(a) && nullable) return 0;
    if (!json_is_array(a))
        return duo_fail(err, "%s:%d: field \"%s\" is not a list%s", file, line, field, nullable ? " or null" : "");
    *out = malloc((json_array_size(a) + 1) * sizeof **out);
    if (!*out) return duo_fail(err, "out of memory");
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *s = json_array_get(a, i);
        if (!json_is_string(s)) {
            free(*out);
            *out = NULL;
            return duo_fail(err, "%s:%d: field \"%s\" item %zu is not a string", file, line, field, i);
        }
        (*out)[(*n)++] = json_string_value(s);
    }
    return 0;
}

static int load_records(lb_dataset *d, int samples, duo_error *err) {
    if (file_check_regular(d->path, err)) return -1;
    size_t len = 0;
    char *text = file_read_all(d->path, &len, err);
    if (!text) return -1;
    size_t cap = 0;
    int line = 0, rc = 0;
    for (char *p = text; p < text + len && !rc && (!samples || d->n < (size_t)samples);) {
        char *nl = memchr(p, '\n', (size_t)(text + len - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(text + len - p);
        line++;
        char *next = nl ? nl + 1 : text + len;
        size_t k = 0;
        while (k < ll && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r')) k++;
        if (k == ll) { /* a blank line */
            p = next;
            continue;
        }
        json_error_t je;
        json_t *obj = duo_json_loadb(p, ll, 0, &je);
        if (!obj || !json_is_object(obj)) {
            rc = duo_fail(err, "%s:%d: not a JSON object (LongBench data is JSON lines)%s%s", d->path, line,
                          obj ? "" : ": ", obj ? "" : je.text);
            json_decref(obj);
            break;
        }
        if (d->n == cap) {
            cap = cap ? 2 * cap : 64;
            lb_record *g = realloc(d->r, cap * sizeof *g);
            if (!g) {
                json_decref(obj);
                rc = duo_fail(err, "out of memory");
                break;
            }
            d->r = g;
        }
        lb_record *r = &d->r[d->n++];
        memset(r, 0, sizeof *r);
        r->obj = obj;
        r->line = line;
        json_t *l = json_object_get(obj, "length"), *id = json_object_get(obj, "_id");
        r->id = json_is_string(id) ? json_string_value(id) : "";
        if (string_list(obj, "answers", 0, &r->answers, &r->n_answers, d->path, line, err) ||
            string_list(obj, "all_classes", 1, &r->all_classes, &r->n_classes, d->path, line, err))
            rc = -1;
        else if (!json_is_integer(l))
            rc = duo_fail(err, "%s:%d: field \"length\" is %s, not an integer", d->path, line, l ? "not a number" : "missing");
        else if (!r->n_answers)
            rc = duo_fail(err, "%s:%d: field \"answers\" is empty", d->path, line);
        else if (d->metric == LB_CLASSIFICATION && !r->all_classes)
            rc = duo_fail(err, "%s:%d: field \"all_classes\" is null, and %s is scored against its classes", d->path,
                          line, d->name);
        else
            r->length = json_integer_value(l);
        p = next;
    }
    free(text);
    if (!rc && !d->n) rc = duo_fail(err, "%s: no records (an empty dataset)", d->path);
    return rc;
}

static int add_dataset(longbench *lb, const char *name, const char *data_dir, const char *cfg_prompt,
                       const char *cfg_maxlen, int samples, duo_error *err) {
    lb_dataset *d = &lb->d[lb->n];
    memset(d, 0, sizeof *d);
    if (strlen(name) >= sizeof d->name) return duo_fail(err, "dataset name '%.80s...' is too long", name);
    snprintf(d->name, sizeof d->name, "%s", name);
    char file[128];
    snprintf(file, sizeof file, "%s%s.jsonl", name, lb->longbench_e ? "_e" : "");
    path_join(d->path, sizeof d->path, data_dir, file);
    if (lb_dataset_metric(name, &d->metric, err)) return -1;
    if (!path_exists(d->path)) return duo_fail(err, "%s: no such file (dataset \"%s\")", d->path, name);
    json_t *t = json_object_get(lb->prompts_json, name), *g = json_object_get(lb->maxlen_json, name);
    if (!t) return duo_fail(err, "%s: no prompt for dataset \"%s\"", cfg_prompt, name);
    if (!json_is_string(t)) return duo_fail(err, "%s: the prompt of \"%s\" is not a string", cfg_prompt, name);
    if (!g) return duo_fail(err, "%s: no generation length for dataset \"%s\"", cfg_maxlen, name);
    if (!json_is_integer(g) || json_integer_value(g) < 1 || json_integer_value(g) > (1 << 20))
        return duo_fail(err, "%s: the generation length of \"%s\" is not a positive integer", cfg_maxlen, name);
    d->prompt_format = json_string_value(t);
    d->max_gen = (int)json_integer_value(g);
    char where[4400];
    snprintf(where, sizeof where, "%s (\"%s\")", cfg_prompt, name);
    template_fns syntax = {no_lit, noop_field, NULL};
    if (scan_template(d->prompt_format, where, &syntax, err)) return -1;
    lb->n++; /* counted before its records so longbench_free releases them on an error */
    if (load_records(d, samples, err)) return -1;
    check_ctx c = {d, cfg_prompt};
    template_fns fields = {no_lit, check_field, &c};
    if (scan_template(d->prompt_format, where, &fields, err)) return -1;
    if (d->max_gen > lb->max_gen) lb->max_gen = d->max_gen;
    return 0;
}

int longbench_load(const longbench_opts *o, const char *data_dir, const char *model_dir, longbench *lb,
                   duo_error *err) {
    memset(lb, 0, sizeof *lb);
    lb->longbench_e = o->longbench_e;
    if (!path_is_dir(data_dir)) return duo_fail(err, "%s: not a folder (--dataset: LongBench's data folder)", data_dir);
    char cfg[4200], cfg_prompt[4300], cfg_maxlen[4300];
    if (o->config_dir) snprintf(cfg, sizeof cfg, "%s", o->config_dir);
    else path_join(cfg, sizeof cfg, data_dir, "config");
    path_join(cfg_prompt, sizeof cfg_prompt, cfg, "dataset2prompt.json");
    path_join(cfg_maxlen, sizeof cfg_maxlen, cfg, "dataset2maxlen.json");
    lb->prompts_json = duo_json_load_file(cfg_prompt, 0, err);
    if (!lb->prompts_json) {
        duo_error_prefix(err, "LongBench's prompts (--longbench_config DIR with dataset2prompt.json)");
        return -1;
    }
    lb->maxlen_json = duo_json_load_file(cfg_maxlen, 0, err);
    if (!lb->maxlen_json) {
        duo_error_prefix(err, "LongBench's generation lengths (--longbench_config DIR with dataset2maxlen.json)");
        return -1;
    }
    if (!json_is_object(lb->prompts_json) || !json_is_object(lb->maxlen_json))
        return duo_fail(err, "%s: not a JSON object of dataset names", json_is_object(lb->prompts_json) ? cfg_maxlen : cfg_prompt);
    /* the model's name: pred.py's --model, which decides the chat wrapper and the post-processing */
    const char *name = o->model_name;
    char base[256];
    if (!name) {
        size_t l = strlen(model_dir);
        while (l > 1 && model_dir[l - 1] == '/') l--;
        size_t s = l;
        while (s > 0 && model_dir[s - 1] != '/') s--;
        snprintf(base, sizeof base, "%.*s", (int)(l - s), model_dir + s);
        name = base;
    }
    snprintf(lb->model_name, sizeof lb->model_name, "%s", name);
    lb->chat = o->chat_wrap == LB_CHAT_LLAMA2 || (o->chat_wrap == LB_CHAT_AUTO && strstr(lb->model_name, "llama-2"));
    size_t cap = 64;
    lb->d = calloc(cap, sizeof *lb->d);
    if (!lb->d) return duo_fail(err, "out of memory");
    if (o->datasets) {
        char list[4096];
        if (strlen(o->datasets) >= sizeof list) return duo_fail(err, "--longbench_datasets is too long");
        snprintf(list, sizeof list, "%s", o->datasets);
        char *save = NULL;
        for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            for (size_t k = 0; k < lb->n; k++)
                if (!strcmp(lb->d[k].name, t)) return duo_fail(err, "--longbench_datasets names \"%s\" twice", t);
            if (lb->n == cap) return duo_fail(err, "--longbench_datasets names more than %zu datasets", cap);
            if (add_dataset(lb, t, data_dir, cfg_prompt, cfg_maxlen, o->samples, err)) return -1;
        }
        if (!lb->n) return duo_fail(err, "--longbench_datasets names no dataset");
    } else {
        const char *const *list = o->longbench_e ? ENGLISH_E : ENGLISH;
        size_t n = o->longbench_e ? sizeof ENGLISH_E / sizeof *ENGLISH_E : sizeof ENGLISH / sizeof *ENGLISH;
        for (size_t k = 0; k < n; k++) {
            char file[128], path[4400];
            snprintf(file, sizeof file, "%s%s.jsonl", list[k], o->longbench_e ? "_e" : "");
            if (path_exists(path_join(path, sizeof path, data_dir, file)) &&
                add_dataset(lb, list[k], data_dir, cfg_prompt, cfg_maxlen, o->samples, err))
                return -1;
        }
        if (!lb->n)
            return duo_fail(err, "%s: no LongBench data files (<dataset>%s.jsonl for the English datasets)", data_dir,
                            o->longbench_e ? "_e" : "");
    }
    return 0;
}

void longbench_free(longbench *lb) {
    for (size_t k = 0; k < lb->n; k++) {
        for (size_t r = 0; r < lb->d[k].n; r++) {
            free(lb->d[k].r[r].answers);
            free(lb->d[k].r[r].all_classes);
            json_decref(lb->d[k].r[r].obj);
        }
        free(lb->d[k].r);
    }
    free(lb->d);
    json_decref(lb->prompts_json);
    json_decref(lb->maxlen_json);
    free(lb->prompt_dataset);
    free(lb->prompt_record);
    free(lb->truncated);
    memset(lb, 0, sizeof *lb);
}

/* pred.py's no-chat datasets */
static int no_chat(const char *d) {
    static const char *const list[] = {"trec", "triviaqa", "samsum", "lsht", "lcc", "repobench-p"};
    for (size_t k = 0; k < sizeof list / sizeof *list; k++)
        if (!strcmp(list[k], d)) return 1;
    return 0;
}

int longbench_prompts(longbench *lb, int max_length, const duo_tokenizer *tok, sweep_prompts *ps, duo_error *err) {
    size_t total = 0;
    for (size_t k = 0; k < lb->n; k++) total += lb->d[k].n;
    memset(ps, 0, sizeof *ps);
    ps->p = calloc(total, sizeof *ps->p);
    lb->prompt_dataset = malloc(total * sizeof *lb->prompt_dataset);
    lb->prompt_record = malloc(total * sizeof *lb->prompt_record);
    lb->truncated = calloc(total, 1);
    if (!ps->p || !lb->prompt_dataset || !lb->prompt_record || !lb->truncated) return duo_fail(err, "out of memory");
    for (size_t k = 0; k < lb->n; k++) {
        const lb_dataset *d = &lb->d[k];
        for (size_t r = 0; r < d->n; r++) {
            size_t i = ps->n;
            char *prompt = longbench_fill(d->prompt_format, &d->r[r], d->path, err);
            if (!prompt) return -1;
            duo_ids ids = {0};
            if (tokenizer_encode(tok, prompt, strlen(prompt), 1, &ids, err)) {
                free(prompt);
                ids_free(&ids);
                duo_error_prefix(err, "%s:%d: the prompt", d->path, d->r[r].line);
                return -1;
            }
            if (ids.len > (size_t)max_length) { /* keep the first and last max_length/2 tokens, as text */
                size_t half = (size_t)(max_length / 2), la = 0, lbl = 0;
                char *a = tokenizer_decode_len(tok, ids.ids, half, 1, &la);
                /* tokenized_prompt[-half:]: half 0 is the whole prompt in Python */
                char *b = tokenizer_decode_len(tok, ids.ids + (half ? ids.len - half : 0), half ? half : ids.len, 1, &lbl);
                char *joined = a && b ? malloc(la + lbl + 1) : NULL;
                if (joined) {
                    memcpy(joined, a, la);
                    memcpy(joined + la, b, lbl);
                    joined[la + lbl] = 0;
                }
                free(a);
                free(b);
                free(prompt);
                if (!joined) {
                    ids_free(&ids);
                    return duo_fail(err, "out of memory truncating a prompt");
                }
                prompt = joined;
                lb->truncated[i] = 1;
            }
            if (lb->chat && !no_chat(d->name)) {
                size_t pl = strlen(prompt);
                char *w = malloc(pl + 16);
                if (!w) {
                    free(prompt);
                    ids_free(&ids);
                    return duo_fail(err, "out of memory");
                }
                memcpy(w, "[INST]", 6);
                memcpy(w + 6, prompt, pl);
                memcpy(w + 6 + pl, "[/INST]", 8);
                free(prompt);
                prompt = w;
            }
            ids.len = 0;
            int rc = tokenizer_encode(tok, prompt, strlen(prompt), 1, &ids, err);
            free(prompt);
            if (rc || ids.oom || !ids.len) {
                ids_free(&ids);
                if (!rc) duo_fail(err, "out of memory, or an empty prompt");
                duo_error_prefix(err, "%s:%d: the prompt", d->path, d->r[r].line);
                return -1;
            }
            sweep_prompt *p = &ps->p[ps->n++];
            p->ids = ids.ids;
            p->n = ids.len;
            p->ctx_index = 0;
            p->sample = (int)r;
            if (p->n > ps->longest) ps->longest = p->n;
            lb->prompt_dataset[i] = (int)k;
            lb->prompt_record[i] = r;
        }
    }
    lb->num_prompts = ps->n;
    return 0;
}

/* Python's s.split(sep)[0] in place. */
static void cut_at(char *s, const char *sep) {
    char *h = strstr(s, sep);
    if (h) *h = 0;
}

char *longbench_post_process(const char *response, const char *model_name) {
    char *lower = lb_py_lower(model_name);
    if (!lower) return NULL;
    char *out = NULL;
    if (strstr(model_name, "xgen")) {
        char *s = lb_py_strip(response);
        /* .replace("Assistant:", "") */
        if (s) {
            char *w = s;
            for (char *r = s; *r;) {
                if (!strncmp(r, "Assistant:", 10)) r += 10;
                else *w++ = *r++;
            }
            *w = 0;
        }
        out = s;
    } else if (strstr(model_name, "internlm")) {
        out = strdup(response);
        if (out) cut_at(out, "<eoa>");
    } else if (strstr(lower, "llama-3") || strstr(model_name, "Llama-2-7B-32K-Instruct")) {
        char *s = strdup(response);
        if (s) {
            static const char *const l3[] = {".assistant", "\n\nQuestion", "</s>"};
            static const char *const l2[] = {"(Document", "\n\nQuestion", "\n\nAnswer", "(Passage"};
            int is3 = strstr(lower, "llama-3") != NULL;
            for (size_t k = 0; k < (is3 ? 3u : 4u); k++) cut_at(s, is3 ? l3[k] : l2[k]);
            out = lb_py_strip(s);
            free(s);
        }
    } else
        out = strdup(response);
    free(lower);
    return out;
}
