/* The pieces of Python's str semantics the reference's scores rely on, over UTF-8 bytes. */
#ifndef DUO_EVAL_PYTEXT_H
#define DUO_EVAL_PYTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes the character at s[0..n) (n >= 1) into *cp and returns its length in bytes; a maximal
 * invalid subpart is one U+FFFD (as Python's errors="replace" decodes it) of its length. */
size_t pytext_next(const char *s, size_t n, uint32_t *cp);

/* Python's str.isspace(), which is what str.split() without arguments splits on. */
bool pytext_is_space(uint32_t cp);

#endif
