/* Adapters from the real tokenizer (data/tokenizer.h) and corpus reader (data/corpus.h) to the
 * builders' synth_encoder and synth_text_source. */
#ifndef DUO_SYNTH_ENCODER_TOK_H
#define DUO_SYNTH_ENCODER_TOK_H

#include "data/corpus.h"
#include "data/tokenizer.h"
#include "synth/encoder.h"
#include "synth/multipasskey.h"

/* enc wraps tok; path (the model directory or tokenizer.json given to tokenizer_load) is where
 * tokenizer_config.json's clean_up_tokenization_spaces is looked up (absent: off). */
void synth_encoder_from_tokenizer(const duo_tokenizer *tok, const char *path, synth_encoder *enc);

/* 1/0 from tokenizer_config.json next to (or in) path; 0 when there is none. */
int synth_read_clean_up_flag(const char *path);

synth_text_source synth_source_from_corpus(duo_corpus *c, const char *name);
/* The same for the multi-passkey builder, which needs only the first context_length_max tokens of the
 * haystack: a .txt file is read SYNTH_TEXT_FIRST_BYTES at a time (corpus_read_prefixes), as far as
 * the builder asks (synth_text_source.extend). */
#define SYNTH_TEXT_FIRST_BYTES (1u << 20)
synth_text_source synth_source_from_corpus_prefixes(duo_corpus *c, const char *name);

/* The trainer's one-call setup for on-the-fly samples: opens corpus_path, builds the haystack with tok
 * (tok_path: where tok was loaded from, for tokenizer_config.json), closes the corpus.  tok must
 * outlive the builder. */
synth_builder *synth_builder_from_paths(const synth_params *p, const duo_tokenizer *tok, const char *tok_path,
                                        const char *corpus_path, duo_error *err);

#endif
