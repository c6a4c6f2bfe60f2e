/* UTF-8 helpers for the tokenizer: validation, code points, the Unicode whitespace class the Rust
 * `tokenizers` library uses (char::is_whitespace), the GPT-2 byte <-> unicode table, and
 * String::from_utf8_lossy. */
#ifndef DUO_DATA_TOKENIZER_UTF8_H
#define DUO_DATA_TOKENIZER_UTF8_H

#include <stddef.h>
#include <stdint.h>

#include "data/utf8.h"


/* Byte length of the character whose lead byte is c (valid UTF-8 assumed; 1 for stray bytes). */
static inline size_t tok_utf8_len(unsigned char c) {
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* Decodes the character at s (valid UTF-8 assumed); *n gets its byte length. */
uint32_t tok_utf8_decode(const char *s, size_t *n);
/* Encodes cp into out (4 bytes room); returns the byte count. */
size_t tok_utf8_encode(uint32_t cp, char *out);

int tok_is_whitespace(uint32_t cp);  /* Rust char::is_whitespace (Unicode White_Space) */

/* GPT-2 bytes_to_unicode: byte -> code point; code point -> byte or -1. */
uint32_t tok_byte_to_cp(unsigned char b);
int tok_cp_to_byte(uint32_t cp);

/* A malloc'd, NUL-terminated copy of bytes with every maximal invalid subsequence replaced by
 * U+FFFD, as Rust's String::from_utf8_lossy; *out_len gets its length. */
char *tok_utf8_lossy(const char *bytes, size_t n, size_t *out_len); /* NULL when out of memory */

#endif
