/* duo-train bench tokenizer: option handling, and --dump-ids writes the ids HF gives (the reference
 * vectors) for a text file, one line per document. */
#include <fcntl.h>
#include <jansson.h>

#include "data/tokenizer.h"
#include "tests/harness.h"
#include "cli/bench.h"

/* Runs bench_tokenizer with stdout and stderr silenced; returns its exit status. */
static int run_bench(int argc, char **argv) {
    fflush(stdout);
    fflush(stderr);
    int out = dup(1), errfd = dup(2), nul = open("/dev/null", O_WRONLY);
    dup2(nul, 1);
    dup2(nul, 2);
    int rc = bench_tokenizer(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(out, 1);
    dup2(errfd, 2);
    close(out);
    close(errfd);
    close(nul);
    return rc;
}

TEST(usage_errors_exit_2) {
    char *a1[] = {"tokenizer", NULL};
    CHECK_EQ_INT(run_bench(1, a1), 2);  /* --tokenizer missing */
    char *a2[] = {"tokenizer", "--tokenizer", "x", "--mb", "ten", NULL};
    CHECK_EQ_INT(run_bench(5, a2), 2);
    char *a3[] = {"tokenizer", "--bogus", NULL};
    CHECK_EQ_INT(run_bench(2, a3), 2);
    char *a4[] = {"tokenizer", "--help", NULL};
    CHECK_EQ_INT(run_bench(2, a4), 0);
}

TEST(missing_tokenizer_or_text_exit_1) {
    char *a1[] = {"tokenizer", "--tokenizer", "tests/fixtures/tokenizers/none.json", "--text", "README.md", NULL};
    CHECK_EQ_INT(run_bench(5, a1), 1);
    char *a2[] = {"tokenizer", "--tokenizer", "tests/fixtures/tokenizers/llama3_bpe.json", "--text", "no-such.txt", NULL};
    CHECK_EQ_INT(run_bench(5, a2), 1);
}

TEST(dump_ids_equal_reference_vectors) {
    json_error_t je;
    json_t *root = json_load_file("tests/fixtures/tokenizers/llama3_bpe.vectors.json", 0, &je);
    CHECK_MSG(root, "%s", je.text);
    json_t *c = json_array_get(json_object_get(root, "cases"), 1);  /* English prose */
    const char *dir = test_tmpdir();
    char text[512], ids_path[512];
    snprintf(text, sizeof text, "%s/doc.txt", dir);
    snprintf(ids_path, sizeof ids_path, "%s/ids.txt", dir);
    FILE *f = fopen(text, "w");
    fputs(json_string_value(json_object_get(c, "text")), f);
    fclose(f);
    char *argv[] = {"tokenizer", "--tokenizer", "tests/fixtures/tokenizers/llama3_bpe.json", "--text", text,
                    "--mb", "1", "--dump-ids", ids_path, NULL};
    int rc = run_bench(9, argv);
    char line[65536] = "", want[65536] = "";
    f = fopen(ids_path, "r");
    if (f) {
        if (!fgets(line, sizeof line, f)) line[0] = '\0';
        fclose(f);
    }
    json_t *ids = json_object_get(c, "ids");
    size_t o = 0;
    for (size_t i = 0; i < json_array_size(ids); i++)
        o += (size_t)snprintf(want + o, sizeof want - o, i ? " %lld" : "%lld", json_integer_value(json_array_get(ids, i)));
    snprintf(want + o, sizeof want - o, "\n");
    json_decref(root);
    CHECK_EQ_INT(rc, 0);
    CHECK_MSG(!strcmp(line, want), "dumped \"%.200s\", HF \"%.200s\"", line, want);
}

TEST_MAIN()
