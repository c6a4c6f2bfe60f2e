/* duo-train bench tokenizer: tokenisation throughput on one thread (MB of UTF-8 text per second).
 * The text is a set of documents (each file one document) repeated until it reaches --mb; every
 * document is encoded on its own without special tokens, as scripts/bench_tokenizer_hf.py does with
 * the Hugging Face `tokenizers` library, so the two figures compare. */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/fileio.h"
#include "data/tokenizer.h"
#include "cli/bench.h"
#include "cli/cli.h"
#include "util/clock.h"

static const char *const DEFAULT_ESSAYS = "../shared/corpus/paul_graham_essays";

static const char *const usage_text =
    "usage: duo-train bench tokenizer --tokenizer PATH [--text FILE|DIR] [--mb N (10)] [--dump-ids FILE]\n"
    "Encodes N MB of text on one thread and prints MB/s.  Text: FILE, or every .txt file of DIR, one\n"
    "document each, repeated to N MB (default: the essays in " "../shared/corpus/paul_graham_essays).\n"
    "--dump-ids writes the ids of one pass over the documents (one line per document) for comparison\n"
    "with scripts/bench_tokenizer_hf.py --compare.\n";

typedef struct {
    char **text;
    size_t *len, n;
} docs;

static int add_doc(docs *d, const char *path, duo_error *err) {
    size_t len;
    char *s = file_read_all(path, &len, err);
    if (!s) return -1;
    char **t = realloc(d->text, (d->n + 1) * sizeof *d->text);
    if (t) d->text = t;
    size_t *l = t ? realloc(d->len, (d->n + 1) * sizeof *d->len) : NULL;
    if (l) d->len = l;
    if (!t || !l) {
        free(s);
        return duo_fail(err, "%s: out of memory", path);
    }
    d->text[d->n] = s;
    d->len[d->n++] = len;
    return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Every .txt file of dir, in name order (the HF script reads them in the same order). */
static int load_dir(docs *d, const char *dir, duo_error *err) {
    DIR *dh = opendir(dir);
    if (!dh) return duo_fail(err, "%s: cannot open directory", dir);
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(dh))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".txt")) continue;
        char **grown = realloc(names, (n + 1) * sizeof *names);
        if (!grown || !(grown[n] = strdup(e->d_name))) {
            if (grown) names = grown;
            for (size_t i = 0; i < n; i++) free(names[i]);
            free(names);
            closedir(dh);
            return duo_fail(err, "%s: out of memory listing the directory", dir);
        }
        names = grown;
        n++;
    }
    closedir(dh);
    if (n == 0) return duo_fail(err, "%s: no .txt files", dir);  /* names is NULL: nothing to sort */
    qsort(names, n, sizeof *names, by_name);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        if (!rc) rc = add_doc(d, path_join(path, sizeof path, dir, names[i]), err);
        free(names[i]);
    }
    free(names);
    return rc;
}

static void free_docs(docs *d) {
    for (size_t i = 0; i < d->n; i++) free(d->text[i]);
    free(d->text);
    free(d->len);
}

static int dump_ids(const duo_tokenizer *tok, const docs *d, const char *path, duo_error *err) {
    FILE *f = fopen(path, "w");
    if (!f) return duo_fail(err, "%s: cannot create", path);
    for (size_t i = 0; i < d->n; i++) {
        duo_ids ids = {0};
        if (tokenizer_encode(tok, d->text[i], d->len[i], 0, &ids, err)) {
            ids_free(&ids);
            fclose(f);
            return -1;
        }
        for (size_t k = 0; k < ids.len; k++) fprintf(f, k ? " %d" : "%d", ids.ids[k]);
        fputc('\n', f);
        ids_free(&ids);
    }
    return fclose(f) ? duo_fail(err, "%s: write failed", path) : 0;
}

int bench_tokenizer(int argc, char **argv) {
    static const struct option opts[] = {
        {"tokenizer", required_argument, 0, 't'}, {"model", required_argument, 0, 't'},
        {"text", required_argument, 0, 'x'},      {"mb", required_argument, 0, 'm'},
        {"dump-ids", required_argument, 0, 'd'},  {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *tpath = NULL, *text = NULL, *dump = NULL;
    long mb = 10;
    optind = 1;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, "", opts, NULL);
        if (c == -1) break;
        switch (c) {
        case 't': tpath = optarg; break;
        case 'x': text = optarg; break;
        case 'd': dump = optarg; break;
        case 'm': if (cli_parse_long("bench tokenizer", "mb", optarg, 1, 100000, &mb)) return 2; break;
        case 'h': fputs(usage_text, stdout); return 0;
        default: return cli_usage_error("bench tokenizer", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("bench tokenizer", "unexpected argument '%s'", argv[optind]);
    if (!tpath) return cli_usage_error("bench tokenizer", "--tokenizer PATH is required");
    if (!text) text = DEFAULT_ESSAYS;

    duo_error err = {{0}};
    docs d = {0};
    if ((path_is_dir(text) ? load_dir(&d, text, &err) : add_doc(&d, text, &err))) {
        free_docs(&d);
        return cli_fail(&err);
    }
    size_t one_pass = 0;
    for (size_t i = 0; i < d.n; i++) one_pass += d.len[i];
    if (one_pass == 0) {
        free_docs(&d);
        duo_fail(&err, "%s: the text is empty", text);
        return cli_fail(&err);
    }
    double t0 = clock_wall_s();
    duo_tokenizer *tok = tokenizer_load(tpath, &err);
    if (!tok) {
        free_docs(&d);
        return cli_fail(&err);
    }
    double t_load = clock_wall_s() - t0;
    int rc = 0;
    if (dump && dump_ids(tok, &d, dump, &err)) rc = cli_fail(&err);

    /* the timed part: documents in order, repeated until the target size */
    size_t target = (size_t)mb << 20, done = 0, tokens = 0, docs_done = 0;
    duo_ids ids = {0};
    double t1 = clock_wall_s();
    for (size_t i = 0; !rc && done < target; i = (i + 1) % d.n) {
        ids.len = 0;
        if (tokenizer_encode(tok, d.text[i], d.len[i], 0, &ids, &err)) rc = cli_fail(&err);
        done += d.len[i];
        tokens += ids.len;
        docs_done++;
    }
    double secs = clock_wall_s() - t1;
    ids_free(&ids);
    if (!rc) {
        printf("tokenizer:  %s (loaded in %.3f s)\n", tpath, t_load);
        printf("text:       %s (%zu documents, %.2f MB per pass)\n", text, d.n, one_pass / 1048576.0);
        printf("encoded:    %.2f MB in %zu documents, %zu tokens, %.3f s (one thread)\n", done / 1048576.0,
               docs_done, tokens, secs);
        printf("throughput: %.2f MB/s, %.0f tokens/s\n", done / 1048576.0 / secs, tokens / secs);
    }
    tokenizer_free(tok);
    free_docs(&d);
    return rc;
}
