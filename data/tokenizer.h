/* tokenizer.json (Hugging Face `tokenizers` format): byte-level BPE (GPT-2 / Llama-3 style) and
 * SentencePiece-style BPE with byte fallback (Llama-2 / Mistral), added and special tokens,
 * post-processor BOS/EOS, decoding.  Token ids equal the `tokenizers` library's.
 *
 * Supported parts (anything else is rejected at load with a message naming it):
 *   model          BPE (vocab, merges as "a b" or ["a","b"], unk_token, fuse_unk, byte_fallback,
 *                  ignore_merges; continuing_subword_prefix / end_of_word_suffix / dropout must be null)
 *   normalizer     Sequence, Prepend, Replace (String or Regex), NFC, NFD, NFKC, NFKD (utf8proc)
 *   pre_tokenizer  Sequence, Split, ByteLevel, Metaspace, WhitespaceSplit, Digits
 *   post_processor TemplateProcessing (single), ByteLevel, Sequence, RobertaProcessing, BertProcessing
 *   decoder        Sequence, ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip
 * Regexes run on PCRE2 (UTF + UCP); `tokenizers` runs them on Oniguruma.  The reference vectors in
 * tests/fixtures/tokenizers show where they agree.  Known differences and what is done about them:
 *   \s, \S     PCRE2's \s also matches U+180E MONGOLIAN VOWEL SEPARATOR (its fixed list of horizontal
 *              spaces), Oniguruma's is the White_Space property: patterns are compiled with \s and \S
 *              rewritten to \p{White_Space} / \P{White_Space}, which agree (tokenizer_regex.c).
 *   Unicode    PCRE2 10.42 (Debian 12) knows Unicode 14.0; the Oniguruma inside `tokenizers` 0.23 knows
 *   version    16.0.  Characters assigned since 14.0 (Kawi, Nag Mundari, CJK extensions H and I,
 *              Garay, Kirat Rai, ... e.g. U+11F04, U+2EBF0, U+10D50) are \p{L} / \p{N} there and
 *              unassigned here, so a text holding them can be split differently.  A newer PCRE2
 *              (10.44: Unicode 15.0, 10.45: 16.0) closes the gap without code changes.
 *   Normal     utf8proc 2.8 (Unicode 15.0); normalization is stable for assigned characters, so only
 *   forms      characters assigned after 15.0 that carry decompositions could differ. 
 *
 * A tokenizer is read-only after loading, except for a word cache that one encode call at a time
 * uses (others skip it), so several threads may encode with one tokenizer at once. */
#ifndef DUO_DATA_TOKENIZER_H
#define DUO_DATA_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "data/error.h"
#include "data/ids.h"

typedef struct duo_tokenizer duo_tokenizer;

/* path: a model directory (reads tokenizer.json or tokenizer.json.zst and, if present,
 * tokenizer_config.json) or a tokenizer.json file (zstd-compressed ones too).  From the config:
 * bos_token / eos_token name BOS and EOS, and add_bos_token / add_eos_token rebuild the single
 * template as [BOS] $A [EOS] the way transformers 4.x LlamaTokenizerFast does.  Without a config,
 * BOS and EOS are the special tokens before / after $A in the template.  NULL with err set on failure. */
duo_tokenizer *tokenizer_load(const char *path, duo_error *err);
void tokenizer_free(duo_tokenizer *tok);

/* A tokenizer from the text of a tokenizer.json already in memory (json[0..len), need not be
 * NUL-terminated); `name` labels error messages.  No tokenizer_config.json is read. */
duo_tokenizer *tokenizer_load_json(const char *json, size_t len, const char *name, duo_error *err);

/* Appends the ids of text[0..len) to out.  add_special_tokens as in HF encode(): applies the
 * post-processor (e.g. prepends BOS).  Invalid UTF-8 is an error. */
int tokenizer_encode(const duo_tokenizer *tok, const char *text, size_t len, int add_special_tokens,
                     duo_ids *out, duo_error *err);

/* Decodes ids to malloc'd UTF-8, as HF decode(ids, skip_special_tokens); *len (if non-NULL) gets its
 * length in bytes.  The text may hold NUL characters (a "\u0000" in the corpus, byte token <0x00>):
 * they are kept, and a NUL terminator follows the last byte.  NULL when out of memory. */
char *tokenizer_decode_len(const duo_tokenizer *tok, const int32_t *ids, size_t n, int skip_special_tokens,
                           size_t *len);
/* The same without the length, for callers that treat the text as a C string (it ends at the first NUL
 * when it holds one): tokenizer_decode_len(tok, ids, n, skip_special_tokens, NULL). */
char *tokenizer_decode(const duo_tokenizer *tok, const int32_t *ids, size_t n, int skip_special_tokens);

int tokenizer_vocab_size(const duo_tokenizer *tok);           /* including added tokens */
int32_t tokenizer_token_to_id(const duo_tokenizer *tok, const char *token);  /* -1 if absent */
const char *tokenizer_id_to_token(const duo_tokenizer *tok, int32_t id);     /* NULL if absent */
int32_t tokenizer_bos_id(const duo_tokenizer *tok);           /* -1 if none */
int32_t tokenizer_eos_id(const duo_tokenizer *tok);           /* -1 if none */

#endif
