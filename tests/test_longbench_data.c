/* LongBench's templates (Python str.format(**record)) and pred.py's post-processing by model name. */
#include <jansson.h>

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

TEST_MAIN()
