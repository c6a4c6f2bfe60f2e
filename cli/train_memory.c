#include "cli/train_memory.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/step_plan.h"
#include "synth/sample.h"
#ifdef DUO_HAVE_CUDA
#include "kernels/cuda/cuda_backend.h"
#endif

int train_device_free(const duo_backend *be, size_t *free_bytes, const char **what, duo_error *err) {
    const char *fake = getenv(DUO_FAKE_DEVICE_FREE_ENV);
    if (fake && *fake) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(fake, &end, 10);
        if (errno || *end || end == fake || fake[0] == '-')
            return duo_fail(err, "%s=%s is not a number of bytes", DUO_FAKE_DEVICE_FREE_ENV, fake);
        *free_bytes = (size_t)v;
        *what = "the device (" DUO_FAKE_DEVICE_FREE_ENV ")";
        return 0;
    }
#ifdef DUO_HAVE_CUDA
    if (!strcmp(be->name, "cuda")) {
        size_t total = 0;
        if (cuda_device_memory_info(free_bytes, &total, err)) return -1;
        *what = "CUDA device 0";
        return 0;
    }
#endif
    (void)be;
    return 1; /* host memory: the CPU backend's buffers are checked as the machine's memory elsewhere */
}

int train_longest_sample(synth_file *data, int64_t num_samples, const synth_builder *gen, size_t *n,
                         size_t *labels, duo_error *err) {
    *n = *labels = 0;
    int64_t count = data ? num_samples : synth_builder_num_context_lengths(gen);
    for (int64_t i = 0; i < count; i++) {
        synth_sample s = {0};
        if (data ? synth_file_read(data, i, &s, err) : synth_sample_generate(gen, i, &s, err)) return -1;
        size_t lab = s.n - (size_t)s.qa_start;
        if (s.n > *n) *n = s.n;
        if (lab > *labels) *labels = lab;
        synth_sample_free(&s);
    }
    if (gen) { /* later epochs draw other passkeys: allow one more token per passkey word, twice (needle and
                * answer), and a whole padding multiple */
        const synth_params *p = synth_builder_params(gen);
        size_t margin = 2 * (size_t)p->num_passkeys * (size_t)p->passkey_length + (size_t)p->pad_to_multiple_of;
        *n += margin;
        *labels += margin;
    }
    if (*labels > *n) *labels = *n;
    return 0;
}

int train_check_device_memory(const duo_backend *be, const duo_model *m, const duo_step_opts *so, synth_file *data,
                              int64_t num_samples, const synth_builder *gen, duo_error *err) {
    size_t free_bytes = 0, n = 0, labels = 0;
    const char *what = NULL;
    int rc = train_device_free(be, &free_bytes, &what, err);
    if (rc) return rc < 0 ? -1 : 0;
    if (train_longest_sample(data, num_samples, gen, &n, &labels, err)) return -1;
    if (n == 0) return 0;
    if (labels == 0) labels = 1;
    duo_step_plan_in in = {.cfg = &m->cfg, .opts = *so, .n = n, .label_first = n - labels, .label_count = labels};
    step_plan_backend_of(be, &in.be);
    duo_step_plan p;
    if (step_plan_make(&in, &p, NULL, NULL, err)) return -1;
    rc = step_plan_check_fits(&p, free_bytes, what, err);
    step_plan_free(&p);
    if (rc) duo_error_prefix(err, "%s", m->dir);
    return rc;
}
