/* Text helpers shared by the builders: transformers' decode clean-up and a UTF-8 check. */
#include <string.h>

#include "synth/encoder.h"

/* Replaces every occurrence of from by to (to no longer than from), in place. */
static size_t replace_all(char *s, size_t len, const char *from, const char *to) {
    size_t fl = strlen(from), tl = strlen(to), r = 0, w = 0;
    while (r < len) {
        if (r + fl <= len && memcmp(s + r, from, fl) == 0) {
            memmove(s + w, to, tl);
            w += tl;
            r += fl;
        } else {
            s[w++] = s[r++];
        }
    }
    s[w] = '\0';
    return w;
}

size_t synth_clean_up_tokenization(char *s) { return synth_clean_up_tokenization_len(s, strlen(s)); }

size_t synth_clean_up_tokenization_len(char *s, size_t len) {
    /* The same replacements, in the same order, as transformers' clean_up_tokenization. */
    static const char *const pairs[][2] = {
        {" .", "."},   {" ?", "?"},     {" !", "!"},     {" ,", ","},     {" ' ", "'"},
        {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) len = replace_all(s, len, pairs[i][0], pairs[i][1]);
    return len;
}
