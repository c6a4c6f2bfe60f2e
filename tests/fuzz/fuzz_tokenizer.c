/* libFuzzer target: the input bytes are a tokenizer.json; if it loads, a fixed text (prose,
 * whitespace runs, multilingual, emoji, special-token strings) is encoded with and without special
 * tokens and decoded back.  Any crash, leak or sanitizer report is a bug. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer.h"

static const char TEXT[] =
    "Hello world, it's 2026!  Tabs\tand\n\nnewlines   <s>x</s> <|begin_of_text|> <mask> hello world "
    "Café Привет 日本語 مرحبا नमस्ते 😀👩‍💻 1234567 ▁meta <0x41>";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    duo_error err;
    duo_tokenizer *tok = tokenizer_load_json((const char *)data, size, "fuzz-input", &err);
    if (!tok) return 0;
    for (int special = 0; special < 2; special++) {
        duo_ids ids = {0};
        if (tokenizer_encode(tok, TEXT, sizeof TEXT - 1, special, &ids, &err) == 0) {
            for (int skip = 0; skip < 2; skip++) free(tokenizer_decode(tok, ids.ids, ids.len, skip));
            for (size_t i = 0; i < ids.len && i < 8; i++) (void)tokenizer_id_to_token(tok, ids.ids[i]);
        }
        ids_free(&ids);
    }
    (void)tokenizer_vocab_size(tok);
    (void)tokenizer_token_to_id(tok, "<s>");
    tokenizer_free(tok);
    return 0;
}
