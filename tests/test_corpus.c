/* Corpus reader: JSON lines plain and zstd (single frame, several frames split mid-line, skippable
 * frames, a line over 1 MB), .txt directories, every error naming file and line, the Paul Graham essays
 * from ../shared, and constant memory over a ~50 MB stream.  Inputs are generated in $TMPDIR; zstd
 * data is made with libzstd itself. */
#include <dirent.h>
#include <jansson.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <zstd.h>

#include "data/corpus.h"
#include "data/fileio.h"
#include "tests/harness.h"

/* One scratch directory for the whole run (test_tmpdir() makes a new one per call). */
static const char *scratch(void) {
    static char dir[600];
    if (!dir[0]) snprintf(dir, sizeof dir, "%s", test_tmpdir());
    return dir;
}

static char *tmp_file(const char *name) {
    static char path[8][700];
    static int k;
    char *p = path[k++ % 8];
    snprintf(p, sizeof path[0], "%s/%s", scratch(), name);
    return p;
}

static int write_bytes(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t n = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && n == len) ? 0 : -1;
}

/* One zstd frame of data (with a content checksum, so corruption is always detected). */
static void *zstd_frame(const void *data, size_t len, size_t *out_len) {
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 3);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
    size_t cap = ZSTD_compressBound(len);
    void *out = malloc(cap);
    *out_len = ZSTD_compress2(cc, out, cap, data, len);
    ZSTD_freeCCtx(cc);
    if (ZSTD_isError(*out_len)) {
        free(out);
        return NULL;
    }
    return out;
}

static int write_zstd(const char *path, const void *data, size_t len) {
    size_t n;
    void *z = zstd_frame(data, len, &n);
    int rc = z ? write_bytes(path, z, n) : -1;
    free(z);
    return rc;
}

/* Reads every text, concatenated with '\x01' after each; returns the count or -1 (err filled). */
static long read_all(duo_corpus *c, char **joined, size_t *joined_len, duo_error *err) {
    size_t cap = 1024, n = 0;
    char *out = malloc(cap);
    long count = 0;
    const char *txt;
    size_t len;
    int r;
    while ((r = corpus_next(c, &txt, &len, err)) == 1) {
        if (n + len + 2 > cap) {
            while (n + len + 2 > cap) cap *= 2;
            out = realloc(out, cap);
        }
        memcpy(out + n, txt, len);
        n += len;
        out[n++] = '\x01';
        count++;
    }
    out[n] = '\0';
    if (joined) *joined = out;
    else free(out);
    if (joined_len) *joined_len = n;
    return r == 0 ? count : -1;
}

/* Opens path, reads it all, and checks the texts; returns NULL or a failure description. */
static const char *expect_texts(const char *path, const char *want, long want_count, size_t want_len) {
    static char why[1200];
    duo_error err = {{0}};
    duo_corpus *c = corpus_open(path, &err);
    if (!c) {
        snprintf(why, sizeof why, "open: %.1000s", err.msg);
        return why;
    }
    char *got = NULL;
    size_t got_len = 0;
    long n = read_all(c, &got, &got_len, &err);
    /* the end is sticky */
    const char *txt;
    size_t len;
    int again = corpus_next(c, &txt, &len, &err);
    corpus_close(c);
    const char *res = NULL;
    if (n < 0) {
        snprintf(why, sizeof why, "read: %.1000s", err.msg);
        res = why;
    } else if (n != want_count) {
        snprintf(why, sizeof why, "%ld texts, expected %ld", n, want_count);
        res = why;
    }
    else if (got_len != want_len || memcmp(got, want, want_len) != 0) res = "texts differ";
    else if (again != 0) res = "corpus_next after the end did not return 0";
    free(got);
    return res;
}

/* Opens (or fails to open) path and reads until an error; returns the error message, or NULL if the
 * whole corpus read without one. */
static const char *first_error(const char *path) {
    static duo_error err, first;
    memset(&err, 0, sizeof err);
    duo_corpus *c = corpus_open(path, &err);
    if (!c) return err.msg;
    long n = read_all(c, NULL, NULL, &err);
    first = err;
    const char *txt;
    size_t len;
    int sticky = n < 0 ? corpus_next(c, &txt, &len, &err) : 0;
    corpus_close(c);
    if (n >= 0) return NULL;
    return sticky == -1 ? first.msg : "error was not sticky";
}

#define CHECK_ERROR(path, ...)                                                              \
    do {                                                                                    \
        const char *m_ = first_error(path);                                                 \
        const char *subs_[] = {__VA_ARGS__};                                                \
        CHECK_MSG(m_, "%s: no error", path);                                                \
        for (size_t i_ = 0; i_ < sizeof subs_ / sizeof *subs_; i_++)                        \
            CHECK_MSG(strstr(m_, subs_[i_]), "error \"%.500s\" lacks \"%.300s\"", m_, subs_[i_]); \
    } while (0)

/* ---- constant memory: run first, so the process's peak RSS (getrusage) is still low ---- */

static uint64_t fnv1a(uint64_t h, const void *p, size_t n) {
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

static uint64_t xorshift(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Writes ~target bytes of JSON lines through a streaming compressor with small buffers, so the writer
 * itself never holds much; returns the number of texts and the hash of their bytes. */
static long write_big_zst(const char *path, size_t target, uint64_t *hash, size_t *raw_bytes) {
    static const char *words[] = {"the", "essay", "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "quote\"d",
                                  "back\\slash", "new\nline", "tab\there", "vault", "passkey", "\xf0\x9f\x99\x82"};
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 1);
    size_t out_cap = ZSTD_CStreamOutSize();
    char *out = malloc(out_cap), *text = malloc(400000);
    uint64_t seed = 42;
    long count = 0;
    size_t total = 0;
    *hash = 1469598103934665603ull;
    while (total < target) {
        size_t want = count % 500 == 499 ? 300000 : 1000 + xorshift(&seed) % 20000, n = 0;
        while (n < want) {
            const char *w = words[xorshift(&seed) % (sizeof words / sizeof *words)];
            size_t k = strlen(w);
            memcpy(text + n, w, k);
            n += k;
            text[n++] = ' ';
        }
        *hash = fnv1a(*hash, text, n);
        json_t *rec = json_pack("{s:s%,s:I}", "text", text, n, "id", (json_int_t)count);
        char *line = json_dumps(rec, JSON_COMPACT);
        json_decref(rec);
        size_t len = strlen(line);
        line[len] = '\n';  /* replaces the NUL; line is no longer used as a string */
        ZSTD_inBuffer in = {line, len + 1, 0};
        while (in.pos < in.size) {
            ZSTD_outBuffer o = {out, out_cap, 0};
            ZSTD_compressStream2(cc, &o, &in, ZSTD_e_continue);
            fwrite(out, 1, o.pos, f);
        }
        free(line);
        total += n;
        count++;
    }
    size_t left;
    do {
        ZSTD_inBuffer in = {NULL, 0, 0};
        ZSTD_outBuffer o = {out, out_cap, 0};
        left = ZSTD_compressStream2(cc, &o, &in, ZSTD_e_end);
        fwrite(out, 1, o.pos, f);
    } while (left != 0);
    ZSTD_freeCCtx(cc);
    free(out);
    free(text);
    fclose(f);
    *raw_bytes = total;
    return count;
}

static long max_rss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Live heap bytes, from the sanitizer runtime when there is one (weak: absent in plain builds). */
extern size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

TEST(zstd_stream_memory_stays_constant) {
    /* Under ASan, freed memory sits in a quarantine, so peak RSS says nothing: there the live heap is
     * sampled after every text instead, over a smaller stream (ASan is slow). */
    int sanitized = getenv("DUO_SANITIZED") != NULL;
    if (sanitized && !__sanitizer_get_current_allocated_bytes) SKIP("sanitized build without the allocator interface");
    const char *path = tmp_file("big.jsonl.zst");
    uint64_t want_hash;
    size_t raw;
    long want = write_big_zst(path, (sanitized ? 10u : 50u) << 20, &want_hash, &raw);
    CHECK(want > 0);
    struct stat st;
    CHECK(stat(path, &st) == 0);
    long before = max_rss_kb();
    size_t live0 = sanitized ? __sanitizer_get_current_allocated_bytes() : 0, live_peak = live0;
    duo_error err = {{0}};
    duo_corpus *c = corpus_open(path, &err);
    CHECK_MSG(c, "%.900s", err.msg);
    const char *txt;
    size_t len, bytes = 0;
    long n = 0;
    uint64_t hash = 1469598103934665603ull;
    int r;
    while ((r = corpus_next(c, &txt, &len, &err)) == 1) {
        hash = fnv1a(hash, txt, len);
        bytes += len;
        n++;
        if (sanitized) {
            size_t live = __sanitizer_get_current_allocated_bytes();
            if (live > live_peak) live_peak = live;
        }
    }
    corpus_close(c);
    long growth = sanitized ? (long)((live_peak - live0) >> 10) : max_rss_kb() - before;
    CHECK_MSG(r == 0, "%.900s", err.msg);
    CHECK_EQ_INT(n, want);
    CHECK_EQ_INT(bytes, raw);
    CHECK(hash == want_hash);
    fprintf(stderr, "corpus memory: %zu MB of text (%lld MB compressed) read with %s growth %ld KB\n", raw >> 20,
            (long long)st.st_size >> 20, sanitized ? "peak live heap" : "peak RSS", growth);
    /* The buffers are 2 x 128 KB plus a line (<= 1.2 MB here) and its JSON tree. */
    CHECK_MSG(growth < 12 * 1024, "memory grew by %ld KB reading %zu MB", growth, raw >> 20);
    /* Control: the same measurement does see 48 MB being held. */
    before = max_rss_kb();
    live0 = sanitized ? __sanitizer_get_current_allocated_bytes() : 0;
    size_t hold = 48u << 20;
    char *volatile big = malloc(hold);  /* volatile: the compiler may not drop the allocation */
    CHECK(big);
    memset(big, 1, hold);
    long control = sanitized ? (long)((__sanitizer_get_current_allocated_bytes() - live0) >> 10) : max_rss_kb() - before;
    free(big);
    CHECK_MSG(control > 40 * 1024, "the memory measurement missed a 48 MB allocation (%ld KB)", control);
}

/* ---- JSON lines ---- */

static const char JSONL[] =
    "{\"text\": \"first line\", \"id\": 1}\n"
    "\n"
    "   \t\n"
    "{\"id\": 2, \"text\": \"esc \\\" \\\\ \\n caf\\u00e9 \\ud83d\\ude00 \xe6\x97\xa5\"}\r\n"
    "{\"text\": \"\"}\n"
    "{\"text\": \"nul \\u0000 inside\", \"id\": 123456789012345678901234567890, \"score\": NaN}\n"
    "{\"text\": \"last, no newline\"}";

/* The decoded texts, each followed by \x01 (see read_all). */
static const char JSONL_TEXTS[] =
    "first line\x01"
    "esc \" \\ \n caf\xc3\xa9 \xf0\x9f\x98\x80 \xe6\x97\xa5\x01"
    "\x01"
    "nul \0 inside\x01"
    "last, no newline\x01";

TEST(jsonl_plain) {
    const char *path = tmp_file("plain.jsonl");
    CHECK(write_bytes(path, JSONL, sizeof JSONL - 1) == 0);
    const char *why = expect_texts(path, JSONL_TEXTS, 5, sizeof JSONL_TEXTS - 1);
    CHECK_MSG(!why, "%s", why);
    /* .json is read as JSON lines too */
    path = tmp_file("plain.json");
    CHECK(write_bytes(path, JSONL, sizeof JSONL - 1) == 0);
    why = expect_texts(path, JSONL_TEXTS, 5, sizeof JSONL_TEXTS - 1);
    CHECK_MSG(!why, "%s", why);
}

TEST(jsonl_zstd_detected_by_magic) {
    const char *path = tmp_file("one.jsonl.zst");
    CHECK(write_zstd(path, JSONL, sizeof JSONL - 1) == 0);
    const char *why = expect_texts(path, JSONL_TEXTS, 5, sizeof JSONL_TEXTS - 1);
    CHECK_MSG(!why, "%s", why);
    path = tmp_file("compressed-but-named.jsonl");
    CHECK(write_zstd(path, JSONL, sizeof JSONL - 1) == 0);
    why = expect_texts(path, JSONL_TEXTS, 5, sizeof JSONL_TEXTS - 1);
    CHECK_MSG(!why, "%s", why);
}

TEST(jsonl_zstd_many_frames_split_mid_line) {
    /* frames cut at arbitrary bytes, one of them empty, and a skippable frame in between */
    size_t n = sizeof JSONL - 1, cuts[] = {0, 7, 7, 40, 41, n / 2 + 3, n};
    FILE *f = fopen(tmp_file("multi.jsonl.zst"), "wb");
    CHECK(f);
    for (size_t i = 0; i + 1 < sizeof cuts / sizeof *cuts; i++) {
        size_t zn;
        void *z = zstd_frame(JSONL + cuts[i], cuts[i + 1] - cuts[i], &zn);
        CHECK(z);
        fwrite(z, 1, zn, f);
        free(z);
        if (i == 2) {  /* skippable frame: magic 0x184D2A5?, 4-byte little-endian size, payload */
            static const unsigned char skip[] = {0x53, 0x2A, 0x4D, 0x18, 5, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'};
            fwrite(skip, 1, sizeof skip, f);
        }
    }
    fclose(f);
    const char *why = expect_texts(tmp_file("multi.jsonl.zst"), JSONL_TEXTS, 5, sizeof JSONL_TEXTS - 1);
    CHECK_MSG(!why, "%s", why);
}

TEST(lines_longer_than_a_megabyte) {
    size_t big = 3u << 20;
    char *text = malloc(big + 1);
    uint64_t s = 7;
    for (size_t i = 0; i < big; i++) text[i] = (char)('a' + xorshift(&s) % 26);
    text[big] = '\0';
    json_t *rec = json_pack("{s:s}", "text", text);
    char *line = json_dumps(rec, JSON_COMPACT);
    json_decref(rec);
    size_t ll = strlen(line);
    char *file = malloc(ll + 64);
    int n = sprintf(file, "{\"text\":\"short\"}\n");
    memcpy(file + n, line, ll);
    n += (int)ll;
    n += sprintf(file + n, "\n{\"text\":\"after\"}\n");
    free(line);
    char *want = malloc(big + 32);
    size_t wn = (size_t)sprintf(want, "short\x01");
    memcpy(want + wn, text, big);
    wn += big;
    wn += (size_t)sprintf(want + wn, "\x01" "after\x01");
    const char *plain = tmp_file("long.jsonl"), *packed = tmp_file("long.jsonl.zst");
    int ok = write_bytes(plain, file, (size_t)n) == 0 && write_zstd(packed, file, (size_t)n) == 0;
    const char *why1 = ok ? expect_texts(plain, want, 3, wn) : "write failed";
    const char *why2 = ok ? expect_texts(packed, want, 3, wn) : "write failed";
    free(file);
    free(want);
    free(text);
    CHECK_MSG(!why1, "plain: %s", why1);
    CHECK_MSG(!why2, "zstd: %s", why2);
}

TEST(memory_source) {
    duo_error err = {{0}};
    duo_corpus *c = corpus_open_memory(JSONL, sizeof JSONL - 1, "mem.jsonl", &err);
    CHECK_MSG(c, "%.900s", err.msg);
    long n = read_all(c, NULL, NULL, &err);
    corpus_close(c);
    CHECK_EQ_INT(n, 5);
    size_t zn;
    void *z = zstd_frame(JSONL, sizeof JSONL - 1, &zn);
    c = corpus_open_memory(z, zn, "mem.zst", &err);
    CHECK_MSG(c, "%.900s", err.msg);
    char *got = NULL;
    size_t got_len = 0;
    n = read_all(c, &got, &got_len, &err);
    corpus_close(c);
    free(z);
    int same = got_len == sizeof JSONL_TEXTS - 1 && memcmp(got, JSONL_TEXTS, got_len) == 0;
    free(got);
    CHECK_EQ_INT(n, 5);
    CHECK(same);
    /* positions: the line of the last text */
    c = corpus_open_memory(JSONL, sizeof JSONL - 1, "mem.jsonl", &err);
    const char *txt;
    size_t len;
    CHECK(corpus_next(c, &txt, &len, &err) == 1 && corpus_position(c) == 1);
    CHECK(corpus_next(c, &txt, &len, &err) == 1 && corpus_position(c) == 4);
    CHECK_STR(corpus_current_file(c), "mem.jsonl");
    corpus_close(c);
}

/* ---- errors ---- */

static const char *write_case(const char *name, const char *content) {
    const char *p = tmp_file(name);
    return write_bytes(p, content, strlen(content)) == 0 ? p : "(write failed)";
}

TEST(jsonl_errors_name_file_and_line) {
    const char *p = write_case("badjson.jsonl", "{\"text\":\"a\"}\n\n{\"text\": \"b\",}\n");
    CHECK_ERROR(p, p, ":3:", "invalid JSON");
    p = write_case("notext.jsonl", "{\"text\":\"a\"}\n{\"title\": \"b\"}\n");
    CHECK_ERROR(p, p, ":2:", "no \"text\" field");
    p = write_case("textnum.jsonl", "{\"text\": 5}\n");
    CHECK_ERROR(p, p, ":1:", "\"text\" is not a string");
    p = write_case("textnull.jsonl", "{\"text\":\"a\"}\n{\"text\": null}\n");
    CHECK_ERROR(p, p, ":2:", "not a string");
    p = write_case("array.jsonl", "{\"text\":\"a\"}\n[1, 2]\n");
    CHECK_ERROR(p, p, ":2:", "not a JSON object");
    p = write_case("whole.json", "[\n {\"text\": \"a\"}\n]\n");
    CHECK_ERROR(p, p, ":1:", "JSON lines");
    p = write_case("surrogate.jsonl", "{\"text\": \"lone \\ud800 surrogate\"}\n");
    CHECK_ERROR(p, p, ":1:", "invalid JSON");
    p = write_case("empty.jsonl", "");
    CHECK_ERROR(p, p, "no texts");
    p = write_case("blank.jsonl", "\n  \n\r\n");
    CHECK_ERROR(p, p, "no texts");
    p = write_case("gz.jsonl", "\x1f\x8b\x08\x00rest");
    CHECK_ERROR(p, p, "gzip");
    p = write_case("fake.jsonl.zst", "{\"text\":\"a\"}\n");
    CHECK_ERROR(p, p, "not zstd data");
    CHECK_ERROR(tmp_file("does-not-exist.jsonl"), "does-not-exist.jsonl", "cannot open");
    /* a path through a regular file cannot be opened, whoever runs the test */
    char through[800];
    snprintf(through, sizeof through, "%s/inner.jsonl", write_case("plainfile", "x"));
    CHECK_ERROR(through, through, "cannot open");
    if (geteuid() != 0) {  /* root reads anything */
        p = write_case("unreadable.jsonl", "{\"text\":\"a\"}\n");
        chmod(p, 0);
        CHECK_ERROR(p, p, "cannot open");
    }
}

TEST(invalid_utf8_names_the_line) {
    static const char *bad[] = {
        "\xff",                 /* never valid */
        "\xc0\xaf",             /* overlong '/' */
        "\xe0\x80\xaf",         /* overlong, 3 bytes */
        "\xed\xa0\x80",         /* UTF-16 surrogate encoded */
        "\xf4\x90\x80\x80",     /* above U+10FFFF */
        "\xe6\x97",             /* truncated sequence */
        "\x80",                 /* lone continuation byte */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char content[128];
        snprintf(content, sizeof content, "{\"text\":\"ok\"}\n{\"text\":\"ok\"}\n{\"text\":\"x%sy\"}\n", bad[i]);
        char name[32];
        snprintf(name, sizeof name, "utf8-%zu.jsonl", i);
        const char *p = write_case(name, content);
        CHECK_ERROR(p, p, ":3:", "invalid UTF-8");
    }
    /* the boundaries that are valid */
    const char *p = write_case("utf8-ok.jsonl", "{\"text\":\"\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 "
                                                "\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf\"}\n");
    const char *m = first_error(p);
    CHECK_MSG(!m, "%.900s", m);
}

TEST(corrupt_and_truncated_zstd) {
    size_t zn;
    unsigned char *z = zstd_frame(JSONL, sizeof JSONL - 1, &zn);
    CHECK(z);
    /* truncated anywhere after the magic: the texts before the cut come out, then a clear error */
    size_t cuts[] = {4, 6, zn / 2, zn - 4, zn - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        char name[32];
        snprintf(name, sizeof name, "cut-%zu.jsonl.zst", cuts[i]);
        const char *p = tmp_file(name);
        CHECK(write_bytes(p, z, cuts[i]) == 0);
        CHECK_ERROR(p, p, "truncated zstd");
    }
    /* a flipped byte in the compressed body or the frame header */
    size_t flips[] = {zn / 2, 4, zn - 2};
    for (size_t i = 0; i < sizeof flips / sizeof *flips; i++) {
        unsigned char *bad = malloc(zn);
        memcpy(bad, z, zn);
        bad[flips[i]] ^= 0x5a;
        char name[32];
        snprintf(name, sizeof name, "flip-%zu.jsonl.zst", flips[i]);
        const char *p = tmp_file(name);
        CHECK(write_bytes(p, bad, zn) == 0);
        free(bad);
        CHECK_ERROR(p, p, "zstd");
    }
    /* garbage after a complete frame */
    unsigned char *tail = malloc(zn + 8);
    memcpy(tail, z, zn);
    memcpy(tail + zn, "garbage!", 8);
    const char *p = tmp_file("tail.jsonl.zst");
    CHECK(write_bytes(p, tail, zn + 8) == 0);
    free(tail);
    free(z);
    CHECK_ERROR(p, p, "corrupt zstd");
}

/* A stream of blank lines (an 8 GB one ran 148 s without a text or a word) ends with an error after
 * BLANK_MAX_LINES (2^20) blank lines or 64 MiB of blank input in a row, naming the file, the lines and
 * the byte offset where the run began; fewer blank lines before a text still read. */
TEST(blank_line_stream_gives_up) {
    size_t n = (1u << 20) + 100;
    char *blank = malloc(n + 32);
    memset(blank, '\n', n);
    strcpy(blank + n, "{\"text\":\"late\"}\n");
    duo_error err = {{0}};
    const char *txt;
    size_t len;
    duo_corpus *c = corpus_open_memory(blank, strlen(blank), "blank.jsonl", &err);
    CHECK_MSG(c, "%.900s", err.msg);
    int r = corpus_next(c, &txt, &len, &err);
    corpus_close(c);
    CHECK(r == -1);
    CHECK_MSG(strstr(err.msg, "blank.jsonl:1048576: 1048576 blank lines in a row (lines 1 to 1048576") &&
                  strstr(err.msg, "from byte offset 0"),
              "%.900s", err.msg);
    /* the same, compressed: the offset is in the decompressed stream */
    size_t zn;
    void *z = zstd_frame(blank, strlen(blank), &zn);
    const char *p = tmp_file("blank.jsonl.zst");
    CHECK(z && write_bytes(p, z, zn) == 0);
    free(z);
    CHECK_ERROR(p, p, ":1048576: 1048576 blank lines", "decompressed byte offset 0");
    /* 1000 blank lines before a text are fine */
    c = corpus_open_memory(blank + n - 1000, 1000 + strlen(blank + n), "some-blank.jsonl", &err);
    CHECK_MSG(c, "%.900s", err.msg);
    r = corpus_next(c, &txt, &len, &err);
    int late = r == 1 && len == 4 && !memcmp(txt, "late", 4);
    corpus_close(c);
    CHECK_MSG(late, "%d %.900s", r, err.msg);
    free(blank);
    /* long blank lines (4 KiB of spaces each) after a first text: the 64 MiB bound, from byte 13 */
    size_t line = 4096, lines = (64u << 20) / line + 8, head = 13;
    char *spaces = malloc(head + lines * line + 1);
    memcpy(spaces, "{\"text\":\"a\"}\n", head);
    for (size_t i = 0; i < lines; i++) {
        memset(spaces + head + i * line, ' ', line - 1);
        spaces[head + i * line + line - 1] = '\n';
    }
    c = corpus_open_memory(spaces, head + lines * line, "spaces.jsonl", &err);
    CHECK_MSG(c, "%.900s", err.msg);
    int r1 = corpus_next(c, &txt, &len, &err), r2 = corpus_next(c, &txt, &len, &err);
    corpus_close(c);
    free(spaces);
    CHECK(r1 == 1 && r2 == -1);
    CHECK_MSG(strstr(err.msg, "spaces.jsonl:16385: 16384 blank lines in a row (lines 2 to 16385, 67108864 bytes from "
                              "byte offset 13)") && strstr(err.msg, "64 MiB"),
              "%.900s", err.msg);
}

/* Corruption in a later frame of a many-frame file names that frame, its compressed start, where the
 * error showed and the line being read, so the damage can be found (and cut) in the file. */
TEST(corrupt_zstd_names_frame_and_line) {
    const char *a = "{\"text\":\"one\"}\n{\"text\":\"two\"}\n", *b = "{\"text\":\"three\"}\n{\"text\":\"four\"}\n";
    size_t na, nb;
    unsigned char *za = zstd_frame(a, strlen(a), &na), *zb = zstd_frame(b, strlen(b), &nb);
    CHECK(za && zb);
    unsigned char *both = malloc(na + nb);
    memcpy(both, za, na);
    memcpy(both + na, zb, nb);
    both[na + nb - 2] ^= 0x5a; /* inside frame 2's checksum */
    const char *p = tmp_file("frames.jsonl.zst");
    CHECK(write_bytes(p, both, na + nb) == 0);
    char want[96];
    snprintf(want, sizeof want, "in frame 2 (compressed bytes from %zu;", na);
    CHECK_ERROR(p, p, "corrupt zstd data", want, "the frame began at line 3");
    CHECK(write_bytes(p, both, na + nb / 2) == 0); /* cut inside frame 2 */
    snprintf(want, sizeof want, "ends at compressed byte %zu, inside frame 2 (compressed bytes from %zu)", na + nb / 2, na);
    CHECK_ERROR(p, p, "truncated zstd data", want);
    free(both);
    free(za);
    free(zb);
}

/* ---- .txt directories ---- */

TEST(txt_directory_sorted_by_name) {
    char dir[700];
    snprintf(dir, sizeof dir, "%s/essays", scratch());
    CHECK(mkdir(dir, 0755) == 0);
    char p[800];
    CHECK(write_bytes(path_join(p, sizeof p, dir, "b.txt"), "second\n", 7) == 0);
    CHECK(write_bytes(path_join(p, sizeof p, dir, "a.txt"), "first", 5) == 0);
    CHECK(write_bytes(path_join(p, sizeof p, dir, "B.txt"), "upper case sorts first", 22) == 0);
    CHECK(write_bytes(path_join(p, sizeof p, dir, "c.md"), "not a text", 10) == 0);
    CHECK(write_bytes(path_join(p, sizeof p, dir, ".hidden.txt"), "editor file", 11) == 0);
    CHECK(write_bytes(path_join(p, sizeof p, dir, "e.txt"), "", 0) == 0);
    CHECK(write_bytes(path_join(p, sizeof p, dir, "d.txt"), "\xef\xbb\xbf" "bom \xc3\xa9", 9) == 0);
    CHECK(mkdir(path_join(p, sizeof p, dir, "sub.txt"), 0755) == 0);
    static const char want[] = "upper case sorts first\x01" "first\x01" "second\n\x01" "bom \xc3\xa9\x01";
    const char *why = expect_texts(dir, want, 4, sizeof want - 1);
    CHECK_MSG(!why, "%s", why);

    /* one .txt file on its own */
    why = expect_texts(path_join(p, sizeof p, dir, "b.txt"), "second\n\x01", 1, 8);
    CHECK_MSG(!why, "%s", why);

    /* invalid UTF-8 in one file: the error names that file and its line */
    CHECK(write_bytes(path_join(p, sizeof p, dir, "c2.txt"), "ok\nok\nbad \xc3\x28 byte\n", 19) == 0);
    char bad_name[900];
    snprintf(bad_name, sizeof bad_name, "%s:3:", p);
    CHECK_ERROR(dir, bad_name, "invalid UTF-8");

    /* an empty directory, and one without .txt files */
    char empty[700];
    snprintf(empty, sizeof empty, "%s/empty", scratch());
    CHECK(mkdir(empty, 0755) == 0);
    CHECK_ERROR(empty, empty, "no .txt files");
    CHECK(write_bytes(path_join(p, sizeof p, empty, "x.md"), "x", 1) == 0);
    CHECK_ERROR(empty, empty, "no .txt files");
    /* only empty .txt files: no texts */
    CHECK(write_bytes(path_join(p, sizeof p, empty, "x.txt"), "", 0) == 0);
    CHECK_ERROR(empty, empty, "no texts");
}

static int txt_filter(const struct dirent *e) {
    size_t n = strlen(e->d_name);
    return e->d_name[0] != '.' && n > 4 && strcmp(e->d_name + n - 4, ".txt") == 0;
}

static int byte_order(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

TEST(paul_graham_essays) {
    const char *shared = test_shared_dir();
    if (!shared) SKIP("../shared not present");
    char dir[700];
    snprintf(dir, sizeof dir, "%s/corpus/paul_graham_essays", shared);
    if (!path_is_dir(dir)) SKIP("%s not present", dir);
    struct dirent **list;
    int n = scandir(dir, &list, txt_filter, byte_order);
    CHECK(n > 0);
    duo_error err = {{0}};
    duo_corpus *c = corpus_open(dir, &err);
    CHECK_MSG(c, "%.900s", err.msg);
    int i = 0, mismatch = -1;
    const char *txt;
    size_t len;
    int r;
    while ((r = corpus_next(c, &txt, &len, &err)) == 1) {
        /* each text is its file, byte for byte (minus a byte-order mark, which these files do not have) */
        char p[1000];
        size_t flen = 0;
        char *want = i < n ? file_read_all(path_join(p, sizeof p, dir, list[i]->d_name), &flen, NULL) : NULL;
        if (mismatch < 0 && (!want || flen != len || memcmp(want, txt, len) != 0 ||
                             strcmp(corpus_current_file(c), p) != 0))
            mismatch = i;
        free(want);
        i++;
    }
    corpus_close(c);
    for (int k = 0; k < n; k++) free(list[k]);
    free(list);
    CHECK_MSG(r == 0, "%.900s", err.msg);
    CHECK_EQ_INT(i, n);
    CHECK_MSG(mismatch < 0, "text %d differs from its file", mismatch);
}

TEST_MAIN()
