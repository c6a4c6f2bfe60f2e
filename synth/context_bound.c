/* Up-front bounds on a context length: the model's max_position_embeddings and the machine's memory. */
#include "synth/context_bound.h"

#include <unistd.h>

#include "data/fileio.h"
#include "data/model_config.h"

uint64_t synth_physical_memory(void) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
}

int synth_check_context_memory(int64_t tokens, const char *option, duo_error *err) {
    uint64_t mem = synth_physical_memory();
    if (!mem || tokens <= 0) return 0;
    uint64_t need = (uint64_t)tokens * SYNTH_BYTES_PER_TOKEN;
    if (need <= mem) return 0;
    return duo_fail(err,
                    "--%s %lld needs about %.1f GiB to build (%d bytes per token), more than this machine's "
                    "%.1f GiB of memory; at most %llu tokens fit",
                    option, (long long)tokens, need / 1073741824.0, SYNTH_BYTES_PER_TOKEN, mem / 1073741824.0,
                    (unsigned long long)(mem / SYNTH_BYTES_PER_TOKEN));
}

int synth_check_context_positions(int64_t tokens, const char *option, const char *model_dir, duo_error *err) {
    if (!model_dir || !path_is_dir(model_dir)) return 0;
    char path[4096];
    path_join(path, sizeof path, model_dir, "config.json");
    duo_model_config cfg;
    duo_error ignored;
    /* synth reads only the tokenizer of --model: a folder without a loadable config is not bounded here */
    if (!path_exists(path) || model_config_load(path, &cfg, &ignored)) return 0;
    if (tokens <= cfg.max_position_embeddings) return 0;
    return duo_fail(err, "--%s %lld is more than the model's max_position_embeddings %d (%s)", option,
                    (long long)tokens, cfg.max_position_embeddings, path);
}
