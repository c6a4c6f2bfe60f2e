/* duo-train train: open the model and the dataset, set up the two-way step (model/duo_step.h) as the
 * loop's objective, write config.json, and run the training loop (train/train_loop.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/corpus.h"
#include "data/fileio.h"
#include "data/model.h"
#include "data/tokenizer.h"
#include "kernels/backend.h"
#include "kernels/prims.h"
#include "kernels/gate.h"
#include "model/duo_step.h"
#include "synth/context_bound.h"
#include "synth/encoder_tok.h"
#include "synth/h5file.h"
#include "synth/multipasskey.h"
#include "cli/cli.h"
#include "pattern/export.h"
#include "cli/output_guard.h"
#include "cli/train_args.h"
#include "cli/train_checks.h"
#include "cli/train_memory.h"
#include "train/train_loop.h"
#include "train/train_state.h"
#include "util/interrupt.h"

/* The real objective: the two-way step on sample `step` of the data.  Samples come either from a
 * `duo-train synth` file (sample step mod N) or, from a corpus, generated on the fly with the same
 * builder (sample index = step; the builder shuffles context lengths per epoch and keys its random
 * streams on the index, so a resumed run sees the same samples). */
typedef struct {
    duo_step_ctx *step;
    synth_file *data;          /* a dataset file, or */
    const synth_builder *gen;  /* a builder over a corpus */
    int64_t num_samples;
    int vocab_size;
    const char *dataset;
} step_objective;

static int step_objective_run(void *vctx, long step, const float *gates, size_t n, double *distill, float *grad,
                              long *sample_length, long *context_length, duo_error *err) {
    step_objective *o = vctx;
    synth_sample s = {0};
    int64_t index = o->data ? (int64_t)step % o->num_samples : (int64_t)step;
    if (o->data ? synth_file_read(o->data, index, &s, err) : synth_sample_generate(o->gen, index, &s, err)) return -1;
    duo_step_result res = {0};
    (void)n;
    int rc = train_check_sample_ids(s.input_ids, s.n, o->vocab_size, o->dataset, (long long)index, err);
    if (rc) {
        synth_sample_free(&s);
        return rc;
    }
    rc = duo_step_run(o->step, s.input_ids, s.labels, s.n, gates, &res, grad, err);
    if (rc) duo_error_prefix(err, "sample %lld (%zu tokens)", (long long)index, s.n);
    *distill = res.distill;
    *sample_length = (long)s.n;
    *context_length = s.context_length;
    synth_sample_free(&s);
    return rc;
}

/* 1 if path starts with the HDF5 signature (a synth file), else it is read as a corpus. */
static int is_hdf5(const char *path) {
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    unsigned char head[8] = {0};
    if (file_check_regular(path, NULL)) return 0;
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    return got == sizeof head && !memcmp(head, sig, sizeof sig);
}

/* The builder for on-the-fly samples: the model's tokenizer, the corpus, the data flags. */
/* *usage is set to 1 when the failure is a flag out of what the model or the machine allows. */
static synth_builder *corpus_builder(const duo_train_args *a, duo_tokenizer **tok, int *usage, duo_error *err) {
    synth_params p;
    train_args_synth_params(a, &p);
    if (synth_params_validate(&p, err)) return NULL;
    *tok = tokenizer_load(a->model, err);
    if (!*tok) return NULL;
    duo_corpus *corpus = corpus_open(a->dataset, err);
    if (!corpus) return NULL;
    /* the longest context the builder grows to, bounded before it starts (a readable corpus first, so
     * a bad --dataset is named as such) */
    *usage = synth_check_context_positions(p.context_length_max, "context_length_max", a->model, err) != 0;
    if (*usage || synth_check_context_memory(p.context_length_max, "context_length_max", err)) {
        corpus_close(corpus);
        return NULL;
    }
    synth_encoder enc;
    synth_encoder_from_tokenizer(*tok, a->model, &enc);
    synth_text_source src = synth_source_from_corpus_prefixes(corpus, a->dataset);
    synth_builder *b = synth_builder_new(&p, &enc, &src, err);
    corpus_close(corpus);
    return b;
}

/* The trained gates as a table, layers down and KV heads across, so a run ends with its answer. */
static void print_gate_table(FILE *f, const float *gates, int layers, int heads) {
    fprintf(f, "gates (rows: layers, columns: KV heads; 1 = full attention, 0 = streaming):\n      ");
    for (int h = 0; h < heads; h++) fprintf(f, " %6s%-2d", "h", h);
    fputc('\n', f);
    for (int l = 0; l < layers; l++) {
        fprintf(f, "  L%-3d", l);
        for (int h = 0; h < heads; h++) {
            fprintf(f, " %8.3f", gate_clamp(gates[l * heads + h]));
        }
        fputc('\n', f);
    }
}

int cmd_train(int argc, char **argv) {
    duo_train_args a;
    train_args_default(&a);
    int prc = train_args_parse(argc, argv, &a);
    if (prc == 1) return 0;
    if (prc) return 2;

    duo_error err;
    duo_model m;
    if (model_open(a.model, &m, &err)) return cli_fail(&err);
    /* the backend first: the precision it runs at is part of the run's identity and config.json */
    duo_backend *be = backend_open_prec(a.backend, a.precision, &err);
    if (!be) {
        model_close(&m);
        return cli_fail(&err);
    }
    a.precision = be->weight_type == DUO_E_BF16 ? DUO_PREC_BF16 : DUO_PREC_FP32;
    interrupt_install();
    run_lock lock = {-1};
    synth_file *data = NULL;
    synth_builder *gen = NULL;
    duo_tokenizer *tok = NULL;
    duo_step_ctx *step = NULL;
    char *identity = NULL;
    float *gates = NULL;
    json_t *cfg = NULL;
    int rc = 1, reported = 0;

    int64_t num_samples = 0;
    size_t dlen = strlen(a.dataset);
    if (!is_hdf5(a.dataset) && dlen >= 3 && !strcmp(a.dataset + dlen - 3, ".h5")) {
        duo_fail(&err, "%s is not an HDF5 file (no HDF5 signature), so not a `duo-train synth` dataset; a corpus is "
                       "JSON lines (.jsonl, .jsonl.zst) or .txt", a.dataset);
        goto done;
    }
    if (is_hdf5(a.dataset)) {
        if (train_args_from_dataset(&a, &err) || train_check_dataset_tokenizer(a.dataset, a.model, &err)) goto done;
        data = synth_file_open(a.dataset, &err);
        if (!data) goto done;
        num_samples = synth_file_num_samples(data);
        if (num_samples <= 0) {
            duo_fail(&err, "%s holds no samples", a.dataset);
            goto done;
        }
    } else {
        int usage = 0;
        gen = corpus_builder(&a, &tok, &usage, &err);
        if (!gen && usage) {
            rc = cli_usage_error("train", "%s", err.msg);
            reported = 1;
            goto done;
        }
        if (!gen) {
            duo_error_prefix(&err, "generating samples from corpus %s", a.dataset);
            goto done;
        }
    }
    if (a.sink_size + a.recent_size >= a.context_length_min)
        fprintf(stderr,
                "duo-train train: note: sink_size + recent_size = %ld >= context_length_min %ld: on samples that "
                "short, streaming attention equals full attention and they teach the gates nothing\n",
                a.sink_size + a.recent_size, a.context_length_min);

    /* on a GPU: the step's memory plan for the longest sample against the free memory, before anything
     * is written or the weights are loaded */
    duo_step_opts so = {.sink_size = (int)a.sink_size, .recent_size = (int)a.recent_size, .streaming = a.streaming,
                        .use_cone = a.use_cone};
    if (train_check_device_memory(be, &m, &so, data, num_samples, gen, &err)) goto done;

    char exp_name[512], out_dir[4096];
    train_args_exp_name(&a, m.name, exp_name, sizeof exp_name);
    if (a.output_dir) snprintf(out_dir, sizeof out_dir, "%s", a.output_dir);
    else snprintf(out_dir, sizeof out_dir, "patterns_out/%s", exp_name);
    int has_state = 0;
    if (output_guard_train_dir(out_dir, a.model, a.dataset, a.resume, a.overwrite, &lock, &has_state, &err)) goto done;
    char state_path[4200];
    path_join(state_path, sizeof state_path, out_dir, TRAIN_STATE_FILE);
    identity = train_identity_with_weights(
        train_args_identity(&a, m.name, m.cfg.num_hidden_layers, m.cfg.num_key_value_heads), a.model, &err);
    if (!identity) goto done;
    if (a.resume && has_state) {  /* refuse other settings before anything is written */
        char *saved = train_state_read_identity(state_path, &err);
        int bad = !saved || train_identity_check(saved, identity, &err);
        free(saved);
        if (bad) {
            duo_error_prefix(&err, "refusing to resume from %s", state_path);
            goto done;
        }
    } else if (a.resume) {
        fprintf(stderr, "duo-train train: note: --resume: %s holds no saved state; starting a new run\n", out_dir);
    }
    cfg = train_args_config_json(&a, exp_name, out_dir);
    if (!cfg) {
        duo_fail(&err, "out of memory");
        goto done;
    }
    char path[4200];
    if (export_write_json(path_join(path, sizeof path, out_dir, "config.json"), cfg, &err)) goto done;

    step = duo_step_create(&m, &so, be, &err);
    if (!step) goto done;
    step_objective obj_ctx = {step, data, gen, num_samples, m.cfg.vocab_size, a.dataset};
    duo_objective obj = {&obj_ctx, step_objective_run};
    duo_train_opts o = {
        .num_layers = m.cfg.num_hidden_layers, .num_kv_heads = m.cfg.num_key_value_heads,
        .num_steps = a.num_steps, .save_steps = a.save_steps, .stop_after = a.stop_after,
        .lr = a.lr, .reg_weight = a.reg_weight, .initial_value = (float)a.initial_value,
        .seed = (uint64_t)a.seed, .output_dir = out_dir, .run_identity = identity, .resume = a.resume,
        .show_progress = 1,
    };
    duo_train_result r;
    gates = malloc(sizeof *gates * (size_t)o.num_layers * (size_t)o.num_kv_heads);
    if (!gates) {
        duo_fail(&err, "out of memory");
        goto done;
    }
    if (train_loop_run(&o, &obj, &r, gates, &err)) goto done;
    if (r.start_step > 0) fprintf(stderr, "duo-train train: resumed from step %ld\n", r.start_step);
    if (r.finished) {
        printf("trained %d x %d gates for %ld steps (distill %.6g, reg %.6g at the last step): %s/full_attention_heads.tsv\n",
               o.num_layers, o.num_kv_heads, r.end_step, r.last_distill, r.last_reg, out_dir);
        print_gate_table(stdout, gates, o.num_layers, o.num_kv_heads);
        printf("heat map: %s/full_attention_heads.png\n", out_dir);
    } else if (r.interrupted) {
        fprintf(stderr, "duo-train train: interrupted after step %ld of %ld; the state of step %ld is saved in %s; "
                        "continue with the same command and --resume\n", r.end_step, a.num_steps, r.saved_step, state_path);
    } else {
        printf("stopped after step %ld of %ld; the state is saved in %s; continue with the same command and --resume\n",
               r.end_step, a.num_steps, state_path);
    }
    rc = r.interrupted ? 128 + r.interrupted : 0;
done:
    if (rc == 1 && !reported) {
        cli_fail(&err);
        if (interrupt_requested()) fprintf(stderr, "duo-train train: interrupted\n");
    }
    run_lock_release(&lock);
    interrupt_uninstall();
    json_decref(cfg);
    free(gates);
    free(identity);
    duo_step_free(step);
    backend_free(be);
    synth_file_close(data);
    synth_builder_free(gen);
    tokenizer_free(tok);
    model_close(&m);
    return rc;
}
