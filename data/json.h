/* JSON loading for every file read from a Hugging Face folder (config.json, tokenizer.json,
 * tokenizer_config.json, generation_config.json, model.safetensors.index.json) and for corpus lines.
 *
 * Python's json module, which transformers uses, accepts numbers jansson refuses: integers of any
 * size (Mistral's and Llama-2's tokenizer_config.json hold model_max_length 1000000000000000019884624838656)
 * and the tokens NaN, Infinity and -Infinity.  Before jansson parses the text, every such number outside
 * a string is rewritten:
 *   an integer outside int64      -> the same digits as a real ("...656.0"); beyond the range of a
 *                                    double, +-1e308 (either way a real, so an integer field that holds
 *                                    it fails its range check, naming the key)
 *   NaN, Infinity, -Infinity      -> the strings "NaN", "Infinity", "-Infinity" (so a numeric field
 *                                    that holds one is "not a number"); a real beyond a double's range
 *                                    (1e999, which Python reads as inf) -> "Infinity" / "-Infinity"
 * Everything else is parsed exactly as jansson parses it; the text is copied only when something is
 * rewritten.  Line numbers in errors stay right (rewrites never add a line); columns after a rewritten
 * number on the same line may be off by a few characters. */
#ifndef DUO_DATA_JSON_H
#define DUO_DATA_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "data/error.h"

/* json_loadb(text, len, flags, jerr) after the rewrite above.  NULL with jerr filled on failure
 * (also when out of memory). */
json_t *duo_json_loadb(const char *text, size_t len, size_t flags, json_error_t *jerr);

/* Reads and parses a whole file; on failure NULL and err = "PATH: invalid JSON at line L, column C: why"
 * (or the read error). */
json_t *duo_json_load_file(const char *path, size_t flags, duo_error *err);

#endif
