/* libFuzzer target: one safetensors file in memory through the header parser and validator, then every
 * accepted tensor widened to float32 (which reads each byte the validator vouched for). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "data/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    duo_error err;
    duo_checkpoint *ck = checkpoint_open_buffer(data, size, "fuzz.safetensors", &err);
    if (!ck) return 0;
    float buf[256];
    for (size_t i = 0; i < checkpoint_num_tensors(ck); i++) {
        const duo_tensor *t = checkpoint_tensor(ck, i);
        if (checkpoint_find(ck, t->name) != t) abort(); /* lookup must find every tensor it lists */
        size_t n = tensor_numel(t);
        if (n * dtype_size(t->dtype) != t->nbytes) abort();
        for (size_t at = 0; at < n; at += 256) tensor_to_f32(t, at, n - at < 256 ? n - at : 256, buf);
    }
    checkpoint_close(ck);
    return 0;
}
