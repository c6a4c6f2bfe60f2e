/* UTF-8 validation shared by the tokenizer, the corpus reader and the sample builders
 * (well-formed per the Unicode standard's table 3-7: no overlongs, surrogates or code points above
 * U+10FFFF). */
#ifndef DUO_DATA_UTF8_H
#define DUO_DATA_UTF8_H

#include <stddef.h>

/* Length of the valid UTF-8 prefix of s (== len when all of s is valid), i.e. the offset of the
 * first byte that does not belong to a well-formed character. */
size_t utf8_valid_prefix(const char *s, size_t len);

/* Length of the well-formed character at s[0..n), or -k when its first k bytes are a maximal
 * invalid subpart (k >= 1). */
long utf8_step(const unsigned char *s, size_t n);

#endif
