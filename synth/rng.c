#include "synth/rng.h"

#define SPLITMIX_GOLDEN 0x9e3779b97f4a7c15ULL

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

synth_rng synth_rng_stream(uint64_t seed, uint64_t stream, uint64_t index) {
    synth_rng r = {mix64(mix64(mix64(seed) ^ stream) ^ index)};
    return r;
}

uint64_t synth_rng_next(synth_rng *r) {
    r->state += SPLITMIX_GOLDEN;
    return mix64(r->state);
}

uint32_t synth_rng_below(synth_rng *r, uint32_t n) {
    return (uint32_t)(((unsigned __int128)synth_rng_next(r) * n) >> 64);
}
