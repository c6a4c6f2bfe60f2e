#include "synth/params.h"

#include <stdlib.h>
#include <string.h>
#include "util/format.h"

const char *const SYNTH_NATO_WORDS[26] = {
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
    "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
    "sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu",
};

const char *const SYNTH_ORDINALS[SYNTH_MAX_PASSKEYS] = {
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh",
    "eighth", "ninth", "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth",
    "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth", "twentieth",
};

void synth_params_default(synth_params *p) {
    memset(p, 0, sizeof *p);
    p->context_length_min = 1000;
    p->context_length_max = 32000;
    p->context_lengths_num_intervals = 50;
    p->min_depth_ratio = 0.05;
    p->max_depth_ratio = 0.95;
    p->depth_ratio_num_intervals = 1000;
    p->num_passkeys = 10;
    p->passkey_length = 32;
    p->buffer_size = 300;
    p->pad_to_multiple_of = 16;
    p->seed = 42;
    p->shuffle = 1;
    p->needle = "Remeber this sequence of words, it's the {ordinal_number} passkey to the vault: ";
    p->retrieval_question =
        "Based on the content of the book, what is the {ordinal_number} passkey to the vault?\nPasskey: ";
    p->prompt1 = "<|im_start|> This is a very long story book: <book> ";
    p->prompt2 = " </book>.\n\n";
    p->separator = "\n\n";
    p->context_flag = "--context_length_max";
    p->repeat_flag = "--allow_repeat";
}

int synth_params_validate(const synth_params *p, duo_error *err) {
    if (p->context_length_min < 1)
        return duo_fail(err, "--context_length_min must be at least 1, got %d", p->context_length_min);
    if (p->context_length_min > p->context_length_max)
        return duo_fail(err, "--context_length_min (%d) is larger than --context_length_max (%d)",
                        p->context_length_min, p->context_length_max);
    if (p->context_lengths_num_intervals < 1)
        return duo_fail(err, "--context_lengths_num_intervals must be at least 1, got %d",
                        p->context_lengths_num_intervals);
    if (p->depth_ratio_num_intervals < 1)
        return duo_fail(err, "--depth_ratio_num_intervals must be at least 1, got %d", p->depth_ratio_num_intervals);
    if (!(p->min_depth_ratio >= 0 && p->max_depth_ratio <= 1 && p->min_depth_ratio <= p->max_depth_ratio))
        return duo_fail(err, "depth ratios must satisfy 0 <= --min_needle_depth_ratio (%s) <= "
                        "--max_needle_depth_ratio (%s) <= 1", format_double(p->min_depth_ratio, (char[40]){0}, 40),
                        format_double(p->max_depth_ratio, (char[40]){0}, 40));
    if (p->num_passkeys < 1)
        return duo_fail(err, "--num_passkeys must be at least 1, got %d", p->num_passkeys);
    if (p->num_passkeys > SYNTH_MAX_PASSKEYS)
        return duo_fail(err, "--num_passkeys %d exceeds the %d ordinals the templates know (first..twentieth)",
                        p->num_passkeys, SYNTH_MAX_PASSKEYS);
    if (p->num_passkeys > p->depth_ratio_num_intervals)
        return duo_fail(err, "--num_passkeys (%d) is larger than --depth_ratio_num_intervals (%d): depths are "
                        "drawn without replacement", p->num_passkeys, p->depth_ratio_num_intervals);
    if (p->passkey_length < 1)
        return duo_fail(err, "--passkey_length must be at least 1, got %d", p->passkey_length);
    if (p->buffer_size < 0) return duo_fail(err, "--buffer_size must not be negative, got %d", p->buffer_size);
    if (p->pad_to_multiple_of < 1)
        return duo_fail(err, "--pad_to_multiple_of must be at least 1, got %d", p->pad_to_multiple_of);
    if (!p->needle || !p->retrieval_question || !p->prompt1 || !p->prompt2 || !p->separator)
        return duo_fail(err, "a template (needle, retrieval_question, prompt1, prompt2, separator) is missing");
    return 0;
}

char *synth_format_ordinal(const char *tmpl, const char *ordinal) {
    static const char key[] = "{ordinal_number}";
    size_t kl = sizeof key - 1, ol = strlen(ordinal), n = 0;
    for (const char *p = tmpl; (p = strstr(p, key)); p += kl) n++;
    char *out = malloc(strlen(tmpl) + n * ol + 1), *w = out;
    if (!out) return NULL;
    for (const char *p = tmpl;;) {
        const char *q = strstr(p, key);
        if (!q) {
            strcpy(w, p);
            break;
        }
        memcpy(w, p, (size_t)(q - p));
        w += q - p;
        memcpy(w, ordinal, ol);
        w += ol;
        p = q + kl;
    }
    return out;
}
