#include "synth/sample.h"

#include <stdlib.h>
#include <string.h>

void synth_sample_free(synth_sample *s) {
    if (!s) return;
    free(s->input_ids);
    free(s->labels);
    free(s->depth_index);
    free(s->depth_ratio);
    free(s->insertion_point);
    free(s->needle_pos);
    free(s->passkey_pos);
    free(s->answer_pos);
    if (s->passkeys)
        for (int32_t i = 0; i < s->num_passkeys; i++) free(s->passkeys[i]);
    free(s->passkeys);
    memset(s, 0, sizeof *s);
}
