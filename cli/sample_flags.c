#include "cli/sample_flags.h"

#include <string.h>

int sample_template_flag(int c, const char *value, synth_params *p) {
    switch (c) {
    case SAMPLE_OPT_NEEDLE: p->needle = value; return 1;
    case SAMPLE_OPT_QUESTION: p->retrieval_question = value; return 1;
    case SAMPLE_OPT_PROMPT1: p->prompt1 = value; return 1;
    case SAMPLE_OPT_PROMPT2: p->prompt2 = value; return 1;
    case SAMPLE_OPT_SEPARATOR: p->separator = value; return 1;
    default: return 0;
    }
}

int sample_templates_given(const synth_params *p) {
    synth_params d;
    synth_params_default(&d);
    return strcmp(p->needle, d.needle) || strcmp(p->retrieval_question, d.retrieval_question) ||
           strcmp(p->prompt1, d.prompt1) || strcmp(p->prompt2, d.prompt2) || strcmp(p->separator, d.separator);
}
