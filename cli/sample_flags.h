/* The passkey sample templates, one set of flags for every command that builds passkey prompts
 * (synth, train from a corpus, sweep; issue 20 class 6), with synth's names: a model trained on its own
 * prompt format is trained and evaluated on it without an intermediate file.
 *
 *   static const struct option opts[] = { ..., SAMPLE_TEMPLATE_OPTIONS, {0, 0, 0, 0} };
 *   default: if (sample_template_flag(c, optarg, &params)) break; ...
 */
#ifndef DUO_CLI_SAMPLE_FLAGS_H
#define DUO_CLI_SAMPLE_FLAGS_H

#include <getopt.h>

#include "synth/params.h"

enum { SAMPLE_OPT_NEEDLE = 0x5100, SAMPLE_OPT_QUESTION, SAMPLE_OPT_PROMPT1, SAMPLE_OPT_PROMPT2, SAMPLE_OPT_SEPARATOR };

#define SAMPLE_TEMPLATE_OPTIONS                                                                              \
    {"needle", required_argument, 0, SAMPLE_OPT_NEEDLE},                                                    \
    {"retrieval-question", required_argument, 0, SAMPLE_OPT_QUESTION},                                      \
    {"prompt1", required_argument, 0, SAMPLE_OPT_PROMPT1}, {"prompt2", required_argument, 0, SAMPLE_OPT_PROMPT2}, \
    {"separator", required_argument, 0, SAMPLE_OPT_SEPARATOR},                                              \
    {"seperator", required_argument, 0, SAMPLE_OPT_SEPARATOR} /* the reference's spelling */

#define SAMPLE_TEMPLATE_HELP                                                                                 \
    "  --needle T, --retrieval_question T, --prompt1 T, --prompt2 T, --separator T\n"                         \
    "                                passkey sample templates, as `duo-train synth` takes them\n"            \
    "                                ({ordinal_number} becomes first, second, ...)\n"

/* 1 when getopt's c is one of the template flags (value stored into p), else 0. */
int sample_template_flag(int c, const char *value, synth_params *p);
/* 1 when p's templates differ from the defaults (a flag was given). */
int sample_templates_given(const synth_params *p);

#endif
