/* Numbers as people read them in tables and messages. */
#ifndef DUO_UTIL_FORMAT_H
#define DUO_UTIL_FORMAT_H

#include <stddef.h>

/* "512 B", "12.3 MiB", "1.5 GiB" (binary units); returns buf. */
const char *format_bytes(double bytes, char *buf, size_t cap);

/* The shortest decimal that reads back as v ("%.{1..17}g"), so values that differ print differently
 * (0.9999999 is not "1"); "nan", "inf", "-inf" for non-finite values.  Returns buf (cap >= 32). */
const char *format_double(double v, char *buf, size_t cap);

/* A user's text for a message: printable ASCII and valid UTF-8 letters as they are, every other byte
 * named (a BOM as <U+FEFF BOM>, a control byte as <0x01>); at most cap-1 bytes, "..." where cut. */
const char *format_shown_text(const char *s, char *buf, size_t cap);

#endif
