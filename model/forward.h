/* The plain float32 forward pass of a Llama/Mistral checkpoint (the teacher alone), for checking the
 * CPU numerics against Hugging Face transformers. */
#ifndef DUO_MODEL_FORWARD_H
#define DUO_MODEL_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "data/error.h"
#include "data/model.h"

/* hidden: (num_layers + 1) x n x hidden_size, as HF output_hidden_states (the embeddings, each layer's
 * input, and last the final norm's output); logits: n x vocab.  Either may be NULL.  0 or -1 (err). */
int duo_forward(const duo_model *m, const int32_t *ids, size_t n, float *hidden, float *logits, duo_error *err);

#endif
