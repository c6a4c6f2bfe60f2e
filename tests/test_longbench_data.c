/* LongBench's templates (Python str.format(**record)) and pred.py's post-processing by model name. */
#include <jansson.h>

#include "data/fileio.h"
#include "eval/longbench_data.h"
#include "harness.h"

static lb_record record(json_t *obj) {
    lb_record r = {0};
    r.obj = obj;
    r.line = 7;
    return r;
}

TEST(fill_follows_str_format) {
    json_t *o = json_pack("{s:s, s:s, s:i}", "context", "C {x}", "input", "I", "length", 5);
    lb_record r = record(o);
    duo_error err = {{0}};
    char *s = longbench_fill("{{lit}} {context}-{input} }} {length}", &r, "f.jsonl", &err);
    /* "{{lit}} {context}-{input} }} {length}".format(context="C {x}", input="I", length=5) */
    CHECK_MSG(s && !strcmp(s, "{lit} C {x}-I } 5"), "got \"%.100s\" (%.300s)", s ? s : "(null)", err.msg);
    free(s);
    s = longbench_fill("", &r, "f.jsonl", &err);
    CHECK(s && !*s);
    free(s);
    json_decref(o);
}

TEST(fill_errors_name_the_placeholder_or_line) {
    json_t *o = json_pack("{s:s, s:[s]}", "context", "C", "answers", "a");
    lb_record r = record(o);
    static const struct {
        const char *fmt, *msg;
    } bad[] = {
        {"Q: {input}", "f.jsonl:7: the record has no field \"input\""},
        {"{answers}", "f.jsonl:7: field \"answers\" is not a string"},
        {"{}", "placeholder {}"},
        {"{0}", "placeholder {0}"},
        {"{context!r}", "placeholder {context!r}"},
        {"{context:>9}", "placeholder {context:>9}"},
        {"{context.x}", "placeholder {context.x}"},
        {"a } b", "a single '}' at offset 2"},
        {"a { b", "is never closed"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        duo_error err = {{0}};
        char *s = longbench_fill(bad[i].fmt, &r, "f.jsonl", &err);
        CHECK_MSG(!s && strstr(err.msg, bad[i].msg), "\"%s\": got \"%.100s\", error \"%.300s\"", bad[i].fmt, s ? s : "",
                  err.msg);
    }
    json_decref(o);
}

TEST(post_process_by_model_name) {
    /* expected values: pred.py's post_process run on these inputs (CPython 3.11) */
    static const char *const cases[][3] = {
        {"xgen-7b", "  Assistant: Paris Assistant:\n", " Paris "},
        {"internlm-chat", "Paris<eoa> tail", "Paris"},
        {"Llama-3-8B-Instruct-Gradient-1048k", " Paris.assistant\n\nQuestion: x</s>", "Paris"},
        {"LLAMA-3.1", "\xe3\x80\x80Rome\n\nQuestion y ", "Rome"},
        {"Llama-2-7B-32K-Instruct", " Paris (Document 2)\n\nAnswer: z", "Paris"},
        {"Llama-2-7B-32K-Instruct", "A(Passage 1)", "A"},
        {"mistral", "  keep.assistant  ", "  keep.assistant  "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *s = longbench_post_process(cases[i][1], cases[i][0]);
        CHECK_MSG(s && !strcmp(s, cases[i][2]), "%s: \"%.100s\", want \"%s\"", cases[i][0], s ? s : "(null)", cases[i][2]);
        free(s);
    }
}

/* The Mistral tokenizer fixture in a folder of its own with BOS only (as scripts/gen_longbench_prompt_refs.py
 * builds it): returns the folder (static buffer), NULL on failure. */
static const char *mistral_dir(void) {
    static char dir[256];
    if (dir[0]) return dir;
    snprintf(dir, sizeof dir, "%s/lbtok.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) return NULL;
    size_t len = 0;
    duo_error err = {{0}};
    char *zst = file_read_all("tests/fixtures/tokenizers/mistral/tokenizer.json.zst", &len, &err), path[512];
    const char *cfg = "{\"add_bos_token\": true, \"add_eos_token\": false, \"bos_token\": \"<s>\", \"eos_token\": "
                      "\"</s>\", \"unk_token\": \"<unk>\", \"tokenizer_class\": \"LlamaTokenizer\"}";
    snprintf(path, sizeof path, "%s/tokenizer.json.zst", dir);
    int rc = !zst || file_write_atomic(path, zst, len, &err);
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    rc = rc || file_write_atomic(path, cfg, strlen(cfg), &err);
    free(zst);
    return rc ? NULL : dir;
}

static void remove_mistral_dir(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer.json.zst", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    remove(path);
    rmdir(dir);
}

/* pred.py's prompt steps (format, truncation in the middle, [INST] wrapper, encode) against Hugging Face
 * transformers on tests/fixtures/longbench/prompts/ (scripts/gen_longbench_prompt_refs.py). */
TEST(prompts_equal_pred_py_with_transformers) {
    const char *dir = "tests/fixtures/longbench/prompts";
    json_error_t je;
    json_t *refs = json_load_file("tests/fixtures/longbench/prompts/prompt_refs.json", 0, &je);
    CHECK_MSG(refs != NULL, "prompt_refs.json: %s", je.text);
    json_t *cases = json_object_get(refs, "cases");
    size_t checked = 0, truncated = 0;
    for (size_t c = 0; c < json_array_size(cases); c++) {
        json_t *k = json_array_get(cases, c);
        const char *tpath = json_string_value(json_object_get(k, "tokenizer"));
        if (!strcmp(tpath, "mistral")) tpath = mistral_dir();
        CHECK_MSG(tpath != NULL, "cannot build the Mistral tokenizer folder");
        duo_error err = {{0}};
        duo_tokenizer *tok = tokenizer_load(tpath, &err);
        CHECK_MSG(tok != NULL, "%.300s", err.msg);
        longbench_opts o = {0};
        o.datasets = json_string_value(json_object_get(k, "dataset"));
        o.model_name = json_string_value(json_object_get(k, "model_name"));
        longbench lb;
        sweep_prompts ps = {0};
        int max_length = (int)json_integer_value(json_object_get(k, "max_length"));
        int rc = longbench_load(&o, dir, "model", &lb, &err) || longbench_prompts(&lb, max_length, tok, &ps, &err);
        CHECK_MSG(rc == 0, "%.300s", err.msg);
        size_t r = (size_t)json_integer_value(json_object_get(k, "record"));
        json_t *want = json_object_get(k, "ids");
        int same = ps.p[r].n == json_array_size(want);
        for (size_t i = 0; same && i < ps.p[r].n; i++) same = ps.p[r].ids[i] == json_integer_value(json_array_get(want, i));
        CHECK_MSG(same, "%s %s record %zu max_length %d %s: %zu ids, transformers %zu", tpath, o.datasets, r, max_length,
                  o.model_name, ps.p[r].n, json_array_size(want));
        truncated += lb.truncated[r];
        checked++;
        sweep_prompts_free(&ps);
        longbench_free(&lb);
        tokenizer_free(tok);
    }
    json_decref(refs);
    if (mistral_dir()) remove_mistral_dir(mistral_dir());
    CHECK_MSG(checked == 48 && truncated > 0, "%zu prompts checked, %zu truncated", checked, truncated);
}

TEST_MAIN()
