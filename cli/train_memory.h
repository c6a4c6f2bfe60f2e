/* train's check of the step's memory plan (model/step_plan.h) against the device's free memory, before
 * the weights are loaded: refused with both figures instead of failing mid-run out of memory. */
#ifndef DUO_CLI_TRAIN_MEMORY_H
#define DUO_CLI_TRAIN_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#include "data/model.h"
#include "kernels/ops.h"
#include "model/duo_step.h"
#include "synth/h5file.h"
#include "synth/multipasskey.h"

/* The environment variable that stands in for the device's free memory (bytes), so the check and its
 * refusal can be tested on a machine without a GPU, on any backend. */
#define DUO_FAKE_DEVICE_FREE_ENV "DUO_FAKE_DEVICE_FREE_BYTES"

/* Free device memory for be: DUO_FAKE_DEVICE_FREE_BYTES where set (a bad value is an error naming it),
 * else cudaMemGetInfo on the CUDA backend.  Returns 1 when be's memory is no device's (the CPU, or a build
 * without CUDA) and no figure was injected: nothing to check; 0 with *free_bytes and *what (a label for
 * messages) set; -1 with err set. */
int train_device_free(const duo_backend *be, size_t *free_bytes, const char **what, duo_error *err);

/* The longest sample the data can give and its longest supervised suffix (labels are the QA part
 * [qa_start, n) of a multi-passkey sample): every sample of a dataset file, or the first epoch of a
 * corpus builder (one sample per context length) plus a margin for later epochs' passkeys. */
int train_longest_sample(synth_file *data, int64_t num_samples, const synth_builder *gen, size_t *n,
                         size_t *labels, duo_error *err);

/* 0 when the step's plan for the data's longest sample (train_longest_sample) fits in the device's free
 * memory, or there is no device to check (the data is then not read); -1 with err naming both figures
 * otherwise. */
int train_check_device_memory(const duo_backend *be, const duo_model *m, const duo_step_opts *so, synth_file *data,
                              int64_t num_samples, const synth_builder *gen, duo_error *err);

#endif
