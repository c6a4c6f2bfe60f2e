/* libFuzzer target: config.json bytes through the Llama/Mistral config reader; an accepted config must
 * satisfy the invariants model_open and the graph rely on. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "data/model_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    duo_model_config c;
    duo_error err;
    if (model_config_parse((const char *)data, size, "fuzz/config.json", &c, &err)) return 0;
    if (c.hidden_size < 1 || c.num_hidden_layers < 1 || c.vocab_size < 1 || c.intermediate_size < 1 ||
        c.num_key_value_heads < 1 || c.num_attention_heads % c.num_key_value_heads || c.head_dim < 2 ||
        c.head_dim % 2 || !(c.rope_theta > 0) || !(c.rms_norm_eps > 0) || !(c.rope_factor > 0))
        abort();
    return 0;
}
