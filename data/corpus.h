/* Corpus reader: JSON lines with a "text" field (plain or zstd-compressed, decompressed as a stream
 * so memory stays constant), or a directory of .txt files (sorted by name). */
#ifndef DUO_DATA_CORPUS_H
#define DUO_DATA_CORPUS_H

#include <stddef.h>

#include "data/error.h"

typedef struct duo_corpus duo_corpus;

duo_corpus *corpus_open(const char *path, duo_error *err);
/* Next text: 1 with *text and *len valid until the next call, 0 at the end, -1 on error (err names the
 * file and line). */
int corpus_next(duo_corpus *c, const char **text, size_t *len, duo_error *err);
void corpus_close(duo_corpus *c);

/* JSON lines (plain or zstd) held in memory; data must outlive the corpus.  name is used in messages. */
duo_corpus *corpus_open_memory(const void *data, size_t len, const char *name, duo_error *err);
/* Where the last text came from: its line number (JSON lines) or the 1-based index of its .txt file. */
long corpus_position(const duo_corpus *c);
/* Prefix mode, for a reader that needs only the beginning of a long text: each .txt file is read
 * only up to first_bytes (then cut at its last line break read, or its last space or tab), and
 * corpus_extend reads on.  JSON lines are always whole. */
void corpus_read_prefixes(duo_corpus *c, size_t first_bytes);
/* 1 when the last text is a prefix of its file (prefix mode, more to read). */
int corpus_text_is_prefix(const duo_corpus *c);
/* A longer prefix of the last text (twice the bytes read so far, cut as above, or all of it): 1 with
 * *text and *len replaced, 0 when the last text is already whole, -1 on error. */
int corpus_extend(duo_corpus *c, const char **text, size_t *len, duo_error *err);
/* The line of the last text's byte `offset` in its file: its JSON line, or the line of a .txt file. */
long corpus_line_of(const duo_corpus *c, size_t offset);
/* The file the last text came from (the .txt file, or the JSON-lines file itself). */
const char *corpus_current_file(const duo_corpus *c);

#endif
