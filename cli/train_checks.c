#include "cli/train_checks.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "data/fileio.h"
#include "data/fingerprint.h"
#include "data/h5store.h"

char *train_identity_with_weights(char *identity, const char *model_dir, duo_error *err) {
    char fp[64];
    if (!identity) {
        duo_fail(err, "out of memory");
        return NULL;
    }
    if (fingerprint_model_weights(model_dir, fp, sizeof fp, err)) {
        free(identity);
        return NULL;
    }
    json_error_t je;
    json_t *o = json_loads(identity, 0, &je);
    free(identity);
    char *s = NULL;
    if (o && !json_object_set_new(o, "weights", json_string(fp)))
        s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s) duo_fail(err, "out of memory");
    return s;
}

int train_check_dataset_tokenizer(const char *dataset, const char *model_dir, duo_error *err) {
    char tok[4200], fp[64];
    if (!path_exists(path_join(tok, sizeof tok, model_dir, "tokenizer.json"))) return 0;
    duo_h5 *h = h5store_open(dataset, 0, err);
    if (!h) return -1;
    char *recorded = h5store_has_attr(h, NULL, "tokenizer_fingerprint")
                         ? h5store_get_attr_str(h, NULL, "tokenizer_fingerprint", err) : NULL;
    char *name = h5store_has_attr(h, NULL, "tokenizer") ? h5store_get_attr_str(h, NULL, "tokenizer", err) : NULL;
    h5store_close(h);
    int rc = 0;
    if (recorded && fingerprint_tokenizer(tok, fp, sizeof fp, err) == 0 && strcmp(fp, recorded) != 0)
        rc = duo_fail(err, "%s was built with another tokenizer (%s, fingerprint %s) than the model's %s (%s); rebuild "
                           "it with `duo-train synth --model %s`", dataset, name ? name : "?", recorded, tok, fp, model_dir);
    free(recorded);
    free(name);
    return rc;
}

int train_check_sample_ids(const int32_t *ids, size_t n, int vocab_size, const char *dataset, long long sample,
                           duo_error *err) {
    for (size_t t = 0; t < n; t++)
        if (ids[t] < 0 || ids[t] >= vocab_size)
            return duo_fail(err, "%s: sample %lld: token id %d at position %zu is outside the model's vocabulary "
                                 "(%d tokens): was it built with another tokenizer?", dataset, sample, ids[t], t, vocab_size);
    return 0;
}
