/* What bounds a context length before a builder grows to it: the model's positions and the
 * machine's memory.  A context length of 10^9 tokens passes the option's range check (it fits the
 * int32 the samples store) but would make the builders hold tens of GB for many minutes before
 * failing, so the commands check both up front. */
#ifndef DUO_SYNTH_CONTEXT_BOUND_H
#define DUO_SYNTH_CONTEXT_BOUND_H

#include <stdint.h>

#include "data/error.h"

/* Bytes the multi-passkey and NIAH builders hold per token of the longest context: the haystack
 * text, its ids (capacity doubling included), the re-encoded cut and the tokenizer's pieces while
 * encoding it.  Measured: about 60 (multi-passkey, 1.6M tokens) and 70 (NIAH, 800K tokens) bytes
 * per token of peak RSS; twice that as the estimate. */
#define SYNTH_BYTES_PER_TOKEN 128

/* The machine's physical memory in bytes (sysconf), or 0 when unknown. */
uint64_t synth_physical_memory(void);

/* 0 when `tokens` tokens (the value of --`option`) fit in the machine's memory by the estimate above,
 * else -1 with a message naming the option, the estimate and the memory. */
int synth_check_context_memory(int64_t tokens, const char *option, duo_error *err);

/* 0 when model_dir has no readable config.json or `tokens` <= its max_position_embeddings; else -1
 * with a message naming the option, its value, the config file and max_position_embeddings. */
int synth_check_context_positions(int64_t tokens, const char *option, const char *model_dir, duo_error *err);

#endif
