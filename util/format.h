/* Numbers as people read them in tables and messages. */
#ifndef DUO_UTIL_FORMAT_H
#define DUO_UTIL_FORMAT_H

#include <stddef.h>

/* "512 B", "12.3 MiB", "1.5 GiB" (binary units); returns buf. */
const char *format_bytes(double bytes, char *buf, size_t cap);

#endif
