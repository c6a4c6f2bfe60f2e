/* Internals of the tokenizer shared by its parts (loading, normalizers, pre-tokenizers, added
 * tokens, BPE model, decoders).  Not for use outside data/tokenizer*.c. */
#ifndef DUO_DATA_TOKENIZER_IMPL_H
#define DUO_DATA_TOKENIZER_IMPL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "data/error.h"
#include "data/ids.h"
#include "data/tokenizer.h"
#include "data/tokenizer_map.h"

/* Token ids above this are rejected (real vocabularies are < 1M): keeps id-indexed tables small. */
#define TOK_MAX_ID (1 << 24)

/* ---- pieces of text moving through the pipeline ---- */

typedef struct {
    size_t off, len;   /* bytes in the owning tok_pieces' arena */
    int32_t id;        /* >= 0: an added token, which never passes through the model */
    uint8_t at_start;  /* the piece begins at offset 0 of the original text */
} tok_piece;

typedef struct {
    char *buf;
    size_t len, cap;
    tok_piece *v;
    size_t n, vcap;
    int oom;           /* an append ran out of memory (the piece was dropped); cleared by tok_pieces_clear */
} tok_pieces;

void tok_pieces_clear(tok_pieces *p);
void tok_pieces_free(tok_pieces *p);
/* Appends bytes to the arena; returns their offset (on out of memory: sets oom, copies nothing). */
size_t tok_pieces_bytes(tok_pieces *p, const char *s, size_t len);
/* Appends a piece whose bytes are s[0..len) (copied); empty text pieces are dropped as HF does. */
void tok_pieces_add(tok_pieces *p, const char *s, size_t len, int32_t id, int at_start);

/* A regex: PCRE2 with UTF + UCP (JIT when available).  Matches are found as Rust's onig
 * find_iter does (an empty match right after the previous match is skipped).  Every match runs under
 * the limits below, so a pattern that backtracks catastrophically on some text (`(a+)+$` on a run of
 * a's and a b) fails with an error naming the pattern instead of running for minutes.  Real tokenizer
 * patterns (GPT-2, Llama-3, Qwen, SentencePiece) need a few steps per matched character: the limits
 * are far above that (see tokenizer_regex.c). */
#define TOK_REGEX_MATCH_LIMIT 10000000u  /* PCRE2's "match()" calls (backtracking points) per match */
#define TOK_REGEX_DEPTH_LIMIT 1000000u   /* nested backtracking frames per match (interpreter) */
#define TOK_REGEX_HEAP_LIMIT_KIB 262144u /* 256 MiB of backtracking frames per match (interpreter) */
typedef struct {
    pcre2_code *code;
    pcre2_match_context *mctx;  /* the limits above */
    char *pattern;              /* the pattern as written in tokenizer.json, for messages */
    size_t pattern_len;
} tok_regex;

int tok_regex_compile(tok_regex *re, const char *pattern, size_t len, int literal, duo_error *err);
void tok_regex_free(tok_regex *re);
/* Reads a tokenizer.json pattern, {"String": literal} or {"Regex": pattern}; `what` names the owner. */
int tok_load_pattern(json_t *pat, tok_regex *re, const char *what, duo_error *err);

typedef struct { size_t start, end; } tok_span;
typedef struct {
    tok_span *v;
    size_t n, cap;
    int oom;           /* a match was dropped for want of memory */
} tok_spans;
/* Appends [a, b) to s; on out of memory sets s->oom and drops it. */
void tok_spans_push(tok_spans *s, size_t a, size_t b);
/* All matches of re in s[0..len). */
int tok_regex_find_all(const tok_regex *re, pcre2_match_data *md, const char *s, size_t len, tok_spans *out,
                       duo_error *err);

/* ---- normalizers ---- */

enum { NORM_PREPEND, NORM_REPLACE, NORM_NFC, NORM_NFD, NORM_NFKC, NORM_NFKD };
typedef struct {
    int type;
    char *text;        /* Prepend: the prefix; Replace: the content */
    size_t text_len;
    tok_regex re;      /* Replace: the pattern */
} tok_normalizer;

/* ---- pre-tokenizers ---- */

enum { PRE_SPLIT, PRE_BYTE_LEVEL, PRE_METASPACE, PRE_WHITESPACE_SPLIT, PRE_DIGITS };
enum { SPLIT_REMOVED, SPLIT_ISOLATED, SPLIT_MERGED_PREV, SPLIT_MERGED_NEXT, SPLIT_CONTIGUOUS };
enum { PREPEND_ALWAYS, PREPEND_FIRST, PREPEND_NEVER };
typedef struct {
    int type;
    tok_regex re;          /* Split (also ByteLevel with use_regex: the GPT-2 pattern) */
    int behavior, invert;  /* Split */
    int add_prefix_space, use_regex, map_bytes;  /* ByteLevel; map_bytes=0 when the model takes raw bytes */
    char repl[8];          /* Metaspace replacement character (UTF-8) */
    size_t repl_len;
    int prepend_scheme, split;  /* Metaspace */
    int individual_digits;      /* Digits */
} tok_pretok;

/* ---- added tokens ---- */

typedef struct {
    char *content;
    size_t len;
    char *pattern;     /* what is searched for: content, normalized when `normalized` */
    size_t pattern_len;
    int32_t id;
    uint8_t special, lstrip, rstrip, single_word, normalized;
} tok_added;

/* One set of added tokens searched together (leftmost, then longest match). */
typedef struct {
    int32_t *order;    /* indices into tok->added, longest pattern first */
    size_t n;
    uint8_t first_byte[256];
} tok_added_set;

/* ---- the BPE model ---- */

typedef struct tok_cache tok_cache;
typedef struct tok_work tok_work;

typedef struct {
    tok_str_map vocab;       /* token text -> id */
    tok_str_map vocab_raw;   /* byte-level models: raw bytes of a token -> id */
    char **id_to_token;      /* model tokens by id (NULL gaps) */
    int32_t n_ids;
    size_t vocab_count;
    tok_pair_map merges;     /* (left id, right id) -> (rank, merged id) */
    char *unk_token;
    int32_t unk_id;          /* -1: none, or unk_token missing from the vocabulary */
    int fuse_unk, byte_fallback, ignore_merges;
    int32_t byte_ids[256];   /* id of "<0xXX>", or -1 */
    int raw_input;           /* pieces arrive as raw bytes: ByteLevel's mapping folded into vocab_raw */
    int split_metaspace;     /* no merge joins a non-"▁" character to a following "▁": words may be cut
                                before each such "▁" without changing the result (SentencePiece vocabs) */
    tok_cache *cache;
} tok_bpe;

/* ---- decoders ---- */

enum { DEC_BYTE_LEVEL, DEC_METASPACE, DEC_REPLACE, DEC_BYTE_FALLBACK, DEC_FUSE, DEC_STRIP };
typedef struct {
    int type;
    char *pattern, *content;   /* Replace (a literal pattern) */
    size_t pattern_len, content_len;
    uint32_t strip_cp;         /* Strip */
    int strip_start, strip_stop;
    uint32_t repl_cp;          /* Metaspace */
    int prepend_scheme;
} tok_decoder;

/* ---- post-processor ---- */

typedef struct {
    int32_t *ids;      /* special token ids of one template item; NULL marks the sequence $A */
    size_t n;
} tok_template_item;

struct duo_tokenizer {
    char *path;                  /* for messages */
    tok_normalizer *norms;
    size_t n_norms;
    tok_pretok *pretoks;
    size_t n_pretoks;
    tok_added *added;
    size_t n_added;
    tok_added_set raw_set, normalized_set;
    int32_t *added_by_id;        /* id -> index in added, or -1 */
    tok_str_map special_contents;  /* contents of the special added tokens (skipped by decode) */
    tok_regex word_char;         /* Rust regex \w: the word-boundary test of single_word added tokens */
    int32_t n_added_by_id;
    tok_bpe bpe;
    tok_decoder *decoders;
    size_t n_decoders;
    int has_decoder;
    tok_template_item *tmpl;     /* single-sequence template; NULL: no special tokens added */
    size_t n_tmpl;
    int32_t bos_id, eos_id;
};

/* Parts' loaders: each reads its JSON object and fills tok, or fills err and returns -1. */
int tok_load_normalizer(duo_tokenizer *tok, json_t *j, duo_error *err);
int tok_load_pretokenizer(duo_tokenizer *tok, json_t *j, duo_error *err);
int tok_load_added(duo_tokenizer *tok, json_t *j, duo_error *err);
int tok_load_bpe(tok_bpe *bpe, json_t *j, duo_error *err);
int tok_load_decoder(duo_tokenizer *tok, json_t *j, duo_error *err);
int tok_load_post_processor(duo_tokenizer *tok, json_t *j, duo_error *err);
/* After the normalizers and added tokens are loaded: the match sets of the added tokens. */
int tok_added_build_sets(duo_tokenizer *tok, tok_work *w, duo_error *err);
/* Builds vocab_raw and turns ByteLevel's mapping off when it is the last pre-tokenizer step. */
int tok_bpe_fold_byte_level(duo_tokenizer *tok, duo_error *err);
void tok_bpe_free(tok_bpe *bpe);

/* Scratch space for one encode call (regex match data, piece lists, BPE work arrays). */
struct tok_work {
    pcre2_match_data *md;
    tok_pieces a, b;
    tok_spans spans;
    char *tmp, *tmp2;
    size_t tmp_cap, tmp2_cap;
    void *bpe_sym, *bpe_heap;
    size_t bpe_sym_cap, bpe_heap_cap;
    int cache_locked;
};

/* Normalizes s[0..len) through every normalizer; result in *out and *out_len (may point into w scratch). */
int tok_normalize(const duo_tokenizer *tok, tok_work *w, const char *s, size_t len, const char **out,
                  size_t *out_len, duo_error *err);
/* Splits `in` on the added tokens (both passes, normalizing between), into `out`. */
int tok_split_added(const duo_tokenizer *tok, tok_work *w, const char *text, size_t len, tok_pieces *out,
                    duo_error *err);
/* Runs the pre-tokenizer steps over the text pieces of w->a (result left in w->a). */
int tok_pretokenize(const duo_tokenizer *tok, tok_work *w, duo_error *err);
/* Appends the model's ids for one word. */
int tok_bpe_encode_word(const tok_bpe *bpe, tok_work *w, const char *s, size_t len, duo_ids *out, duo_error *err);
void tok_work_free(tok_work *w);
/* The word cache is used by one encode call at a time: trylock it (1: got it), unlock after. */
int tok_bpe_cache_lock(const tok_bpe *bpe);
void tok_bpe_cache_unlock(const tok_bpe *bpe);

#endif
