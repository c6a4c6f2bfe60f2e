/* Counter-based random streams for sample generation.
 *
 * A stream is keyed on (seed, stream id, index), so sample k draws the same numbers whatever thread
 * builds it and whichever other samples are built.  The generator is splitmix64:
 *   state = mix(mix(mix(seed) ^ stream) ^ index);  next: state += GOLDEN; return mix(state)
 * and a draw below n is the high 64 bits of next() * n (scripts/gen_synth_reference.py mirrors this). */
#ifndef DUO_SYNTH_RNG_H
#define DUO_SYNTH_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t state;
} synth_rng;

/* Stream ids used by the builders. */
enum {
    SYNTH_STREAM_CUT_PASSKEY = 1, /* the passkey that sizes the haystack cut (reference __init__) */
    SYNTH_STREAM_EPOCH = 2,       /* per-epoch shuffle of the context-length intervals */
    SYNTH_STREAM_SAMPLE = 3,      /* per-sample depths and passkeys */
};

synth_rng synth_rng_stream(uint64_t seed, uint64_t stream, uint64_t index);
uint64_t synth_rng_next(synth_rng *r);
/* Uniform-enough integer in [0, n) (n >= 1). */
uint32_t synth_rng_below(synth_rng *r, uint32_t n);

#endif
