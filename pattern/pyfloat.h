/* Python's repr() of a float in C (shortest digits that read back to the same double, Python's choice
 * between fixed and scientific notation, ".0" on integral values), so names built from run arguments
 * match the reference's f-strings: 0.02 -> "0.02", 1.0 -> "1.0", 1e-05 -> "1e-05". */
#ifndef DUO_PATTERN_PYFLOAT_H
#define DUO_PATTERN_PYFLOAT_H

#include <stddef.h>

/* Writes repr(x) into out (cap >= 32 is always enough); returns out. */
char *py_float_repr(double x, char *out, size_t cap);

#endif
