/* Corpus reader.  Three sources:
 *   - JSON lines (one object per line with a string "text"), plain or zstd-compressed.  Compression is
 *     detected by the magic number, not the name.  zstd data is decompressed as a stream through two
 *     fixed buffers, so memory stays constant whatever the file size; only the current line is held
 *     (its buffer grows for a long line and shrinks back afterwards).
 *   - a directory of .txt files, sorted by name (byte order), one text per file;
 *   - a single .txt file (one text).
 * Texts must be valid UTF-8.  Blank lines are skipped; empty .txt files are skipped.  A corpus that
 * yields no text at all is an error (a caller cycling over it would otherwise spin), and so is a run
 * of BLANK_MAX_LINES blank lines or BLANK_MAX_BYTES of blank input in a row: no corpus has that, and
 * a stream of gigabytes of blank lines would otherwise be read for minutes without a text or a word. */
#include "data/corpus.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zstd.h>

#include "data/fileio.h"
#include "data/json.h"
#include "data/utf8.h"

#define CHUNK (128u << 10)          /* input and output buffer size */
#define LINE_KEEP (1u << 20)        /* a line buffer above this is released after its line */
#define LINE_MAX_BYTES (256u << 20) /* longer lines are refused (a binary file without newlines) */
#define BLANK_MAX_LINES (1u << 20)  /* this many blank lines in a row end the reading with an error */
#define BLANK_MAX_BYTES (64u << 20) /* ... and so does this much blank input in a row */

enum source_kind { SOURCE_JSONL, SOURCE_TXT };

struct duo_corpus {
    char *path;          /* file, directory or memory name, for messages */
    enum source_kind kind;
    long n_texts;        /* texts returned so far */
    int failed;

    /* raw bytes: a file or a caller's memory */
    FILE *f;
    const unsigned char *mem;
    size_t mem_len, mem_pos;
    unsigned long long raw_read; /* bytes taken from the source so far */
    int raw_eof;

    /* zstd stream state */
    int zstd;
    ZSTD_DCtx *dctx;
    unsigned char *zin;
    ZSTD_inBuffer in;
    size_t zret;         /* last ZSTD_decompressStream result: 0 when a frame has just ended */
    long frame_no;       /* 1-based index of the frame being decoded (skippable frames count) */
    unsigned long long frame_start; /* its compressed byte offset */
    long frame_line;     /* the line being read when it began */

    /* decoded bytes and the current line */
    unsigned char *buf;
    size_t buf_len, buf_pos;
    char *line;
    size_t line_len, line_cap;
    long line_no;
    unsigned long long dec_base; /* decoded bytes before buf[0] */
    long blank_lines;            /* blank lines in a row, the last one read included */
    long blank_from;             /* the first of them */
    unsigned long long blank_off; /* its decoded byte offset */
    json_t *record;      /* owns the text returned last */

    /* .txt files */
    char **names;
    size_t n_names, next_name;
    int single_file;     /* path is one .txt file, not a directory */
    FILE *tf;            /* the current .txt file */
    char *text;          /* what was read of it */
    size_t text_len, text_cap, text_shown, text_checked; /* read, allocated, returned, checked as UTF-8 */
    int text_eof;        /* all of it was read */
    size_t prefix_bytes; /* prefix mode (corpus_read_prefixes): the first read of each file; 0: off */
    char file_path[4096];
};

/* --- raw input ----------------------------------------------------------------------------- */

static long raw_read(duo_corpus *c, unsigned char *dst, size_t cap, duo_error *err) {
    size_t n;
    if (c->f) {
        n = fread(dst, 1, cap, c->f);
        if (n < cap && ferror(c->f)) return duo_fail(err, "%s: read error: %s", c->path, strerror(errno));
    } else {
        n = c->mem_len - c->mem_pos < cap ? c->mem_len - c->mem_pos : cap;
        if (n) memcpy(dst, c->mem + c->mem_pos, n);
        c->mem_pos += n;
    }
    if (n == 0) c->raw_eof = 1;
    c->raw_read += n;
    return (long)n;
}

static unsigned long long zstd_consumed(const duo_corpus *c) { return c->raw_read - (c->in.size - c->in.pos); }

/* Refills c->buf with decoded bytes: >0 bytes available, 0 at the end, -1 on error. */
static long refill(duo_corpus *c, duo_error *err) {
    c->dec_base += c->buf_len;
    c->buf_pos = c->buf_len = 0;
    if (!c->zstd) {
        if (c->raw_eof) return 0;
        long n = raw_read(c, c->buf, CHUNK, err);
        if (n > 0) c->buf_len = (size_t)n;
        return n;
    }
    for (;;) {
        if (c->in.pos == c->in.size && !c->raw_eof) {
            long n = raw_read(c, c->zin, CHUNK, err);
            if (n < 0) return -1;
            c->in.src = c->zin;
            c->in.size = (size_t)n;
            c->in.pos = 0;
        }
        int input_done = c->raw_eof && c->in.pos == c->in.size;
        if (input_done && c->zret == 0) return 0;  /* every frame complete */
        if (c->zret == 0 && c->in.pos < c->in.size) {  /* a new frame begins here */
            c->frame_no++;
            c->frame_start = zstd_consumed(c);
            c->frame_line = c->line_no + 1;
        }
        ZSTD_outBuffer out = {c->buf, CHUNK, 0};
        size_t ret = ZSTD_decompressStream(c->dctx, &out, &c->in);
        if (ZSTD_isError(ret))
            return duo_fail(err,
                            "%s: corrupt zstd data in frame %ld (compressed bytes from %llu; the error shows at byte "
                            "%llu), reading line %ld (the frame began at line %ld): %s",
                            c->path, c->frame_no, c->frame_start, zstd_consumed(c), c->line_no + 1, c->frame_line,
                            ZSTD_getErrorName(ret));
        c->zret = ret;
        if (out.pos > 0) {
            c->buf_len = out.pos;
            return (long)out.pos;
        }
        if (input_done) {  /* no input left and nothing more came out */
            if (ret != 0)
                return duo_fail(err,
                                "%s: truncated zstd data: the file ends at compressed byte %llu, inside frame %ld "
                                "(compressed bytes from %llu), reading line %ld",
                                c->path, c->raw_read, c->frame_no, c->frame_start, c->line_no + 1);
            return 0;
        }
    }
}

static int line_append(duo_corpus *c, const unsigned char *src, size_t n, duo_error *err) {
    if (c->line_len + n + 1 > c->line_cap) {
        if (c->line_len + n > LINE_MAX_BYTES)
            return duo_fail(err, "%s:%ld: line longer than %u MiB (not JSON lines?)", c->path, c->line_no + 1,
                            LINE_MAX_BYTES >> 20);
        size_t cap = c->line_cap ? c->line_cap : 4096;
        while (cap < c->line_len + n + 1) cap *= 2;
        char *grown = realloc(c->line, cap);
        if (!grown) return duo_fail(err, "%s:%ld: out of memory for a %zu-byte line", c->path, c->line_no + 1, cap);
        c->line = grown;
        c->line_cap = cap;
    }
    memcpy(c->line + c->line_len, src, n);
    c->line_len += n;
    c->line[c->line_len] = '\0';
    return 0;
}

/* Reads the next line (without its '\n') into c->line: 1, 0 at the end, -1 on error. */
static int read_line(duo_corpus *c, duo_error *err) {
    if (c->line_cap > LINE_KEEP) {  /* give back what a long previous line took */
        free(c->line);
        c->line = NULL;
        c->line_cap = 0;
    }
    c->line_len = 0;
    if (c->line) c->line[0] = '\0';
    for (;;) {
        if (c->buf_pos == c->buf_len) {
            long n = refill(c, err);
            if (n < 0) return -1;
            if (n == 0) {
                if (c->line_len == 0) return 0;
                c->line_no++;  /* a last line without '\n' */
                return 1;
            }
        }
        const unsigned char *start = c->buf + c->buf_pos;
        size_t avail = c->buf_len - c->buf_pos;
        const unsigned char *nl = memchr(start, '\n', avail);
        size_t take = nl ? (size_t)(nl - start) : avail;
        if (line_append(c, start, take, err) != 0) return -1;
        c->buf_pos += take + (nl ? 1 : 0);
        if (nl) {
            c->line_no++;
            return 1;
        }
    }
}

static int is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\f' && s[i] != '\v') return 0;
    return 1;
}

static unsigned long long decoded_pos(const duo_corpus *c) { return c->dec_base + c->buf_pos; }

/* Counts a blank line into the current run; -1 with an error when the run is past its bounds. */
static int blank_line(duo_corpus *c, unsigned long long line_start, duo_error *err) {
    if (c->blank_lines++ == 0) {
        c->blank_from = c->line_no;
        c->blank_off = line_start;
    }
    unsigned long long bytes = decoded_pos(c) - c->blank_off;
    if (c->blank_lines < (long)BLANK_MAX_LINES && bytes < BLANK_MAX_BYTES) return 0;
    return duo_fail(err,
                    "%s:%ld: %ld blank lines in a row (lines %ld to %ld, %llu bytes from %sbyte offset %llu) and no "
                    "text: not a JSON-lines corpus (reading gives up after %u blank lines or %u MiB of blank input)",
                    c->path, c->line_no, c->blank_lines, c->blank_from, c->line_no, bytes,
                    c->zstd ? "decompressed " : "", c->blank_off, BLANK_MAX_LINES, BLANK_MAX_BYTES >> 20);
}

static int next_jsonl(duo_corpus *c, const char **text, size_t *len, duo_error *err) {
    for (;;) {
        unsigned long long line_start = decoded_pos(c);
        int r = read_line(c, err);
        if (r <= 0) return r;
        if (c->line_no == 1 && c->line_len >= 3 && memcmp(c->line, "\xEF\xBB\xBF", 3) == 0) {
            /* a byte-order mark is not text, as in .txt files */
            memmove(c->line, c->line + 3, c->line_len - 3 + 1);
            c->line_len -= 3;
        }
        if (c->line_len == 0 || is_blank(c->line, c->line_len)) {
            if (blank_line(c, line_start, err)) return -1;
            continue;
        }
        c->blank_lines = 0;
        size_t bad = utf8_valid_prefix(c->line, c->line_len);
        if (bad < c->line_len)
            return duo_fail(err, "%s:%ld: invalid UTF-8 at byte %zu of the line (byte 0x%02x)", c->path, c->line_no,
                            bad + 1, (unsigned char)c->line[bad]);
        json_error_t jerr;
        json_t *rec = duo_json_loadb(c->line, c->line_len, JSON_ALLOW_NUL, &jerr);
        if (!rec) {
            const char *hint = c->line_no == 1 && c->line[strspn(c->line, " \t\r")] == '['
                                   ? " (a JSON array? expected JSON lines: one object per line)" : "";
            return duo_fail(err, "%s:%ld: invalid JSON at column %d: %s%s", c->path, c->line_no, jerr.column, jerr.text,
                            hint);
        }
        json_t *t = json_is_object(rec) ? json_object_get(rec, "text") : NULL;
        if (!json_is_string(t)) {
            int obj = json_is_object(rec);
            json_decref(rec);
            return duo_fail(err, "%s:%ld: %s", c->path, c->line_no,
                            !obj ? "not a JSON object" : t ? "\"text\" is not a string" : "no \"text\" field");
        }
        const char *v = json_string_value(t);
        size_t n = json_string_length(t);
        json_decref(c->record);
        c->record = rec;
        *text = v;
        *len = n;
        return 1;
    }
}

/* --- .txt files ---------------------------------------------------------------------------- */

static int has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int list_txt_files(duo_corpus *c, duo_error *err) {
    DIR *d = opendir(c->path);
    if (!d) return duo_fail(err, "%s: cannot open directory: %s", c->path, strerror(errno));
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !has_suffix(e->d_name, ".txt")) continue;  /* hidden: editor droppings */
        char full[4096];
        struct stat st;
        if (stat(path_join(full, sizeof full, c->path, e->d_name), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (c->n_names == cap) {
            cap = cap ? cap * 2 : 64;
            c->names = realloc(c->names, cap * sizeof *c->names);
        }
        c->names[c->n_names++] = strdup(e->d_name);
    }
    closedir(d);
    if (c->n_names == 0) return duo_fail(err, "%s: no .txt files in the directory", c->path);
    qsort(c->names, c->n_names, sizeof *c->names, cmp_names);
    return 0;
}

/* Reads from the open .txt file until c->text_len is `total` bytes or the file ends (the buffer
 * grows with what is read, so `total` may be SIZE_MAX: the whole file). */
static int txt_read_to(duo_corpus *c, size_t total, duo_error *err) {
    if (!c->text) {
        if (!(c->text = malloc(CHUNK))) return duo_fail(err, "%s: out of memory", c->file_path);
        c->text_cap = CHUNK;
    }
    while (c->text_len < total && !c->text_eof) {
        size_t want = total - c->text_len < CHUNK ? total - c->text_len : CHUNK;
        if (c->text_len + want + 1 > c->text_cap) {
            size_t cap = c->text_cap ? c->text_cap : CHUNK;
            while (cap < c->text_len + want + 1) cap *= 2;
            char *grown = realloc(c->text, cap);
            if (!grown)
                return duo_fail(err, "%s: out of memory for %zu bytes of text", c->file_path, c->text_len + want);
            c->text = grown;
            c->text_cap = cap;
        }
        size_t n = fread(c->text + c->text_len, 1, want, c->tf);
        if (n < want && ferror(c->tf)) return duo_fail(err, "%s: read error: %s", c->file_path, strerror(errno));
        c->text_len += n;
        if (n < want) c->text_eof = 1;
    }
    c->text[c->text_len] = '\0';
    return 0;
}

/* How much of what was read is shown as the text: all of it at the end of the file, else up to the
 * last line break read (the last space or tab when there is none); 0 when there is neither yet. */
static size_t txt_boundary(const duo_corpus *c) {
    if (c->text_eof) return c->text_len;
    const char *nl = memrchr(c->text, '\n', c->text_len);
    if (nl) return (size_t)(nl - c->text) + 1;
    for (size_t i = c->text_len; i > 0; i--)
        if (c->text[i - 1] == ' ' || c->text[i - 1] == '\t') return i;
    return 0;
}

/* Reads on from the current .txt file until at least `total` bytes are read (or it ends) and a
 * boundary is found, then checks the newly shown bytes are UTF-8 and shows them. */
static int txt_show(duo_corpus *c, size_t total, const char **text, size_t *len, duo_error *err) {
    size_t shown;
    for (;;) {
        if (txt_read_to(c, total, err)) return -1;
        if ((shown = txt_boundary(c)) > c->text_shown || c->text_eof) break;
        total = c->text_len * 2;  /* no boundary yet: read on */
    }
    size_t bad = c->text_checked + utf8_valid_prefix(c->text + c->text_checked, shown - c->text_checked);
    if (bad < shown) {
        long line = 1;
        for (size_t i = 0; i < bad; i++) line += c->text[i] == '\n';
        return duo_fail(err, "%s:%ld: invalid UTF-8 (byte 0x%02x at offset %zu)", c->file_path, line,
                        (unsigned char)c->text[bad], bad);
    }
    c->text_checked = c->text_shown = shown;
    size_t bom = c->text_shown >= 3 && memcmp(c->text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0; /* a BOM is not text */
    *text = c->text + bom;
    *len = c->text_shown - bom;
    return 0;
}

static void txt_close_file(duo_corpus *c) {
    if (c->tf) fclose(c->tf);
    c->tf = NULL;
}

/* The next .txt file: all of it, or (prefix mode) its first prefix_bytes, cut at a line boundary. */
static int next_txt(duo_corpus *c, const char **text, size_t *len, duo_error *err) {
    while (c->next_name < c->n_names) {
        const char *name = c->names[c->next_name++];
        if (c->single_file) snprintf(c->file_path, sizeof c->file_path, "%s", name);
        else path_join(c->file_path, sizeof c->file_path, c->path, name);
        txt_close_file(c);
        c->text_len = c->text_shown = c->text_checked = 0;
        c->text_eof = 0;
        if (file_check_regular(c->file_path, err)) return -1;
        if (!(c->tf = fopen(c->file_path, "rb")))
            return duo_fail(err, "%s: cannot open: %s", c->file_path, strerror(errno));
        if (txt_show(c, c->prefix_bytes ? c->prefix_bytes : SIZE_MAX, text, len, err)) return -1;
        if (c->text_len > LINE_KEEP && c->text_eof && c->text_cap > 2 * c->text_len) {
            char *fit = realloc(c->text, c->text_len + 1);  /* a whole file: give back the slack */
            if (fit) c->text = fit, c->text_cap = c->text_len + 1;
            *text = c->text + (c->text_shown - *len);
        }
        if (*len == 0 && c->text_eof) continue;  /* an empty file */
        return 1;
    }
    return 0;
}

int corpus_extend(duo_corpus *c, const char **text, size_t *len, duo_error *err) {
    if (c->failed) return duo_fail(err, "%s: reading stopped at an earlier error", c->path);
    if (c->kind != SOURCE_TXT || !c->tf || c->text_eof) return 0;
    int r = txt_show(c, c->text_len * 2, text, len, err) ? -1 : 1;
    if (r < 0) c->failed = 1;
    return r;
}

int corpus_text_is_prefix(const duo_corpus *c) { return c->kind == SOURCE_TXT && c->tf && !c->text_eof; }

void corpus_read_prefixes(duo_corpus *c, size_t first_bytes) { c->prefix_bytes = first_bytes; }

/* --- open / next / close ------------------------------------------------------------------- */

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads the first chunk and decides between plain and zstd JSON lines. */
static int start_jsonl(duo_corpus *c, duo_error *err) {
    c->buf = malloc(CHUNK);
    c->zin = malloc(CHUNK);
    long n = raw_read(c, c->zin, CHUNK, err);
    if (n < 0) return -1;
    uint32_t magic = n >= 4 ? le32(c->zin) : 0;
    int is_zstd = magic == ZSTD_MAGICNUMBER || (magic & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START;
    if (n >= 2 && c->zin[0] == 0x1f && c->zin[1] == 0x8b)
        return duo_fail(err, "%s: gzip data is not supported (recompress with zstd)", c->path);
    if (!is_zstd && has_suffix(c->path, ".zst"))
        return duo_fail(err, "%s: not zstd data (no zstd magic number) although the name ends in .zst", c->path);
    if (is_zstd) {
        c->zstd = 1;
        c->dctx = ZSTD_createDCtx();
        if (!c->dctx) return duo_fail(err, "%s: cannot create a zstd decoder", c->path);
        c->in = (ZSTD_inBuffer){c->zin, (size_t)n, 0};
        c->zret = 1;  /* nothing decoded yet: an input that stops now is truncated */
        c->frame_no = 1;
        c->frame_line = 1;
    } else {
        memcpy(c->buf, c->zin, (size_t)n);
        c->buf_len = (size_t)n;
    }
    return 0;
}

static duo_corpus *new_corpus(const char *name) {
    duo_corpus *c = calloc(1, sizeof *c);
    c->path = strdup(name);
    return c;
}

duo_corpus *corpus_open(const char *path, duo_error *err) {
    duo_corpus *c = new_corpus(path);
    struct stat st;
    if (stat(path, &st) != 0) {
        duo_fail(err, "%s: cannot open: %s", path, strerror(errno));
        corpus_close(c);
        return NULL;
    }
    int rc;
    if (S_ISDIR(st.st_mode)) {
        c->kind = SOURCE_TXT;
        rc = list_txt_files(c, err);
    } else if (has_suffix(path, ".txt") && !S_ISREG(st.st_mode)) {
        rc = file_check_regular(path, err);
    } else if (has_suffix(path, ".txt")) {
        c->kind = SOURCE_TXT;
        c->names = malloc(sizeof *c->names);
        c->names[0] = strdup(path);
        c->n_names = 1;
        c->single_file = 1;
        rc = 0;
    } else if (file_check_regular(path, err)) {
        rc = -1;  /* a FIFO or /dev/zero would block or never end */
    } else {
        c->kind = SOURCE_JSONL;
        c->f = fopen(path, "rb");
        rc = c->f ? start_jsonl(c, err) : duo_fail(err, "%s: cannot open: %s", path, strerror(errno));
    }
    if (rc != 0) {
        corpus_close(c);
        return NULL;
    }
    return c;
}

duo_corpus *corpus_open_memory(const void *data, size_t len, const char *name, duo_error *err) {
    duo_corpus *c = new_corpus(name ? name : "(memory)");
    c->kind = SOURCE_JSONL;
    c->mem = data;
    c->mem_len = len;
    if (start_jsonl(c, err) != 0) {
        corpus_close(c);
        return NULL;
    }
    return c;
}

int corpus_next(duo_corpus *c, const char **text, size_t *len, duo_error *err) {
    *text = NULL;
    *len = 0;
    if (c->failed) return duo_fail(err, "%s: reading stopped at an earlier error", c->path);
    int r = c->kind == SOURCE_TXT ? next_txt(c, text, len, err) : next_jsonl(c, text, len, err);
    if (r == 0 && c->n_texts == 0) r = duo_fail(err, "%s: no texts in the corpus", c->path);
    if (r < 0) c->failed = 1;
    if (r == 1) c->n_texts++;
    return r;
}

long corpus_line_of(const duo_corpus *c, size_t offset) {
    if (c->kind != SOURCE_TXT) return c->line_no;
    size_t bom = c->text_shown >= 3 && memcmp(c->text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    long line = 1;
    for (size_t i = 0; i < bom + offset && i < c->text_shown; i++) line += c->text[i] == '\n';
    return line;
}

long corpus_position(const duo_corpus *c) { return c->kind == SOURCE_TXT ? (long)c->next_name : c->line_no; }

const char *corpus_current_file(const duo_corpus *c) { return c->kind == SOURCE_TXT && c->next_name ? c->file_path : c->path; }

void corpus_close(duo_corpus *c) {
    if (!c) return;
    if (c->f) fclose(c->f);
    ZSTD_freeDCtx(c->dctx);
    free(c->zin);
    free(c->buf);
    free(c->line);
    json_decref(c->record);
    for (size_t i = 0; i < c->n_names; i++) free(c->names[i]);
    free(c->names);
    txt_close_file(c);
    free(c->text);
    free(c->path);
    free(c);
}
