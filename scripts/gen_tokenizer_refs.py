#!/usr/bin/env python3
"""Writes the tokenizer fixtures and reference vectors under tests/fixtures/tokenizers/.

Oracle: the Hugging Face `tokenizers` library (ids, decode).  The SentencePiece fixtures are the
Mistral tokenizer.model shipped in `mistral-common`, converted to tokenizer.json the way transformers'
LlamaConverter does (vocab + merges ranked by piece score via transformers.generate_merges; the
normalizer / pre-tokenizer / decoder of its legacy and non-legacy modes are set here because
transformers 5.x's LlamaConverter no longer converts a bare .model file), and checked to encode
exactly like `sentencepiece` itself.  The byte-level fixtures are trained here with
`tokenizers` on text this script generates.

Outputs (all small; the Mistral files are zstd-compressed):
  mistral/tokenizer.json.zst, mistral/tokenizer_config.json   Metaspace(prepend_scheme=first) conversion
  mistral_legacy.json.zst                                      Prepend+Replace normalizer conversion
  llama3_bpe.json      Split(Llama-3 regex) + ByteLevel, ignore_merges, specials, BOS template
  gpt2_bpe.json        ByteLevel(use_regex) GPT-2 style, "a b" merges, added tokens with strip flags
  qwen/tokenizer.json, qwen/tokenizer_config.json
                       Qwen2/Qwen3 style: NFC normalizer, Qwen's Split regex (digits one by one) +
                       ByteLevel(use_regex=false), <|endoftext|> <|im_start|> <|im_end|>, no BOS
  tiny_nf{c,d,kc,kd}.json  each Unicode normal form alone over the 256 byte-level characters (no merges,
                       so the ids spell out the normalized bytes), NFKC also inside a Sequence
  tiny_*.json          hand-written corner cases (unk fusing, byte fallback, ignore_merges)
  essays_digest.json   per tokenizer, the token count and an FNV-1a-64 digest of the ids of every essay in
                       ../shared/corpus/paul_graham_essays (read there, never copied; skipped if absent)
  <name>.vectors.json  {"tokenizer": file, "vocab_size": n,
                        "cases": [{text, ids, ids_special, decoded, decoded_skip}]}
Run from the repository root: python3 scripts/gen_tokenizer_refs.py [--only qwen]
(--only qwen writes just the Qwen and normal-form fixtures, and needs neither mistral_common nor
sentencepiece.)
"""
import json
import os
import random
import subprocess
import sys

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

OUT = os.path.join("tests", "fixtures", "tokenizers")
LLAMA3_RE = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
             r"|\s*[\r\n]+|\s+(?!\S)|\s+")

TEXTS = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog. It's 5 o'clock; we'll see what they've done, isn't it?",
    "Paul Graham wrote essays about startups, programming languages and how to do great work.",
    "Café naïve résumé façade Ångström über straße déjà vu",
    "Привет, как дела? Москва — столица России.",
    "日本語のテキストと中文文本，还有한국어 문장。",
    "مرحبا بالعالم، كيف حالك؟",
    "नमस्ते दुनिया, आप कैसे हैं?",
    "Numbers: 0 7 42 123 4567 1234567890 3.14159 1,000,000 -273.15 2026-11-27",
    "31415926535897932384626433832795028841971693993751058209749445923078164062862089986280348253421170679",
    "spaces    between   words and\ttabs\t\there\n\nnew paragraph\r\nwindows line\n\n\n\nend",
    "   leading spaces",
    "trailing spaces   ",
    " ",
    "\n",
    "    \t\n  \n",
    "",
    "Emoji: 😀 👍🏽 👩‍💻 👨‍👩‍👧‍👦 🏳️‍🌈 🇫🇷 ❤️ 🤖",
    "Mixed😀text🚀without👍🏿spaces",
    "<s>bos inline</s> and <unk> too",
    "<|begin_of_text|>Hello<|end_of_text|> <|eot_id|>next",
    "a<mask> b <mask>c hello world helloworld xhello world",
    "<|im_start|> This is a very long story book: <book> ",
    "\n\nRemeber this sequence of words, it's the first passkey to the vault: alpha bravo charlie delta\n\n",
    " </book>.\n\n",
    "Based on the content of the book, what is the 3rd passkey to the vault?\nPasskey: xray yankee zulu\n\n",
    "I'M SHOUTING! DON'T YOU'LL WE'VE THEY'RE I'D",
    "code: def f(x):\n    return x**2 + 1  # comment\n",
    "weird\u00a0nbsp\u2003emspace\u3000ideographic\u200bzero-width",
    "ZWJ alone \u200d and combining e\u0301 a\u0308",
    "▁already▁has▁metaspace",
    "<0x41> looks like a byte token",
    # whitespace and letter classes where regex engines can differ (Oniguruma in HF, PCRE2 here)
    "a\x85b next\u2028line\u2029para \ufeffbom \u180emongolian vt\x0bff\x0c end",
    "it'ſ I'LL don’t we'Re 'tis x'd",
    "digits ٣٤٥ १२३ Ⅻ ½ x² ①②",
    "marks: a\u0300\u0301 \u094d\u0915 e\ufe0f \U0001F44D\U0001F3FB",
    # single_word added token "hello world" next to non-ASCII letters, marks and digits
    "éhello world|hello worldé|hello world\u0301|\u0301hello world|٣hello world|hello world½|ⅻhello world",
]

# Text the byte-level fixtures are trained on: prose, the test scripts, numbers, whitespace and emoji,
# so the merges include multi-byte characters.
def training_corpus():
    rng = random.Random(7)
    words = ("the of and to in a is that for it as was with be by on not he this are or his from at which but have "
             "an they you were her she there been one all we their has would when if so no what up out about into "
             "than them can only other new some time could these two may then do first any my now such like our "
             "over man me even most made after also did many before must through years where much your way well "
             "startup founders programming language essay great work idea ideas people users money investors "
             "passkey vault book story content remember sequence words alpha bravo charlie delta echo foxtrot").split()
    extra = " ".join(TEXTS[3:9] + TEXTS[17:19] + TEXTS[26:28])
    lines = []
    for _ in range(3000):
        n = rng.randint(5, 25)
        s = " ".join(rng.choice(words) for _ in range(n))
        if rng.random() < 0.3:
            s = s.capitalize() + "."
        if rng.random() < 0.2:
            s += " " + str(rng.randint(0, 10 ** rng.randint(1, 9)))
        lines.append(s)
    for _ in range(40):
        lines.append(extra)
    return lines


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=None, separators=(",", ":"))
        f.write("\n")


def write_tokenizer(tok, name, compress=False, legacy_merges=False):
    """Saves tok as OUT/name (zstd-compressed when asked); returns the path written (relative to OUT)."""
    j = json.loads(tok.to_str())
    if legacy_merges:  # the older "a b" string format of merges
        j["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in j["model"]["merges"]]
    text = json.dumps(j, ensure_ascii=False, separators=(",", ":"))
    # the file must load in `tokenizers` exactly as written
    reloaded = Tokenizer.from_str(text)
    path = os.path.join(OUT, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if compress:
        subprocess.run(["zstd", "-q", "-19", "-f", "-o", path + ".zst"], input=text.encode(), check=True)
        return reloaded, name + ".zst"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return reloaded, name


def vectors(tok, tokfile, name, texts, template_override=None):
    cases = []
    for t in texts:
        plain = tok.encode(t, add_special_tokens=False).ids
        special = tok.encode(t, add_special_tokens=True).ids
        cases.append({
            "text": t,
            "ids": plain,
            "ids_special": special,
            "decoded": tok.decode(special, skip_special_tokens=False),
            "decoded_skip": tok.decode(special, skip_special_tokens=True),
        })
    write_json(os.path.join(OUT, name + ".vectors.json"),
               {"tokenizer": tokfile, "vocab_size": tok.get_vocab_size(with_added_tokens=True), "cases": cases})


def mistral_tokenizer(legacy):
    import mistral_common
    import sentencepiece as spm
    from transformers.tokenization_utils_base import generate_merges
    data = os.path.join(os.path.dirname(mistral_common.__file__), "data")
    sp_path = os.path.join(data, "tokenizer.model.v1")
    sp = spm.SentencePieceProcessor(model_file=sp_path)
    n = sp.get_piece_size()
    vocab = {sp.id_to_piece(i): i for i in range(n)}
    scores = {sp.id_to_piece(i): sp.get_score(i) for i in range(n)}
    merges = generate_merges(vocab, scores)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in ("<unk>", "<s>", "</s>")])
    if legacy:
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    else:
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(content=" ", left=1)])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                       special_tokens=[("<s>", 1)])
    # the conversion must encode like sentencepiece itself (texts without special-token strings).
    # Known, intended difference of the Metaspace conversion (the `tokenizers` behaviour we match): a text
    # that starts with a space (or "▁") gets no extra "▁" prefix, while sentencepiece always adds one.
    for t in TEXTS:
        if "<s>" in t or "</s>" in t or "<unk>" in t:
            continue
        if not legacy and t[:1] in (" ", "▁"):
            continue
        a = tok.encode(t, add_special_tokens=False).ids
        b = sp.encode(t)
        if a != b:
            raise SystemExit(f"conversion differs from sentencepiece on {t!r}:\n  hf {a}\n  sp {b}")
    return tok


def byte_level_llama3():
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_RE), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1500, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(training_corpus(), trainer)
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
                "<|reserved_special_token_0|>"]
    tok.add_special_tokens([AddedToken(s, normalized=False, special=True) for s in specials])
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B",
                                      special_tokens=[("<|begin_of_text|>", bos)])])
    return tok


def byte_level_gpt2():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1200, show_progress=False, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(training_corpus(), trainer)
    # added tokens exercising lstrip/rstrip/single_word/normalized, special and not
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=True, special=True, normalized=False)])
    tok.add_tokens([AddedToken("hello world", single_word=True, normalized=True, special=False),
                    AddedToken("<book>", normalized=False, special=False),
                    AddedToken("🤖", normalized=True, special=False)])
    eot = tok.token_to_id("<|endoftext|>")
    tok.post_processor = processors.TemplateProcessing(single="$A <|endoftext|>", pair="$A <|endoftext|> $B",
                                                       special_tokens=[("<|endoftext|>", eot)])
    return tok


def byte_level_prefix_space():
    """GPT-2 style with add_prefix_space: every piece between added tokens gets a leading space."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, show_progress=False, special_tokens=["<s>", "</s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(training_corpus(), trainer)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 1)])
    return tok


def tiny(name, model, texts, **parts):
    """A hand-written tokenizer.json for one corner case of the BPE model."""
    j = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": parts.get("added", []),
         "normalizer": parts.get("normalizer"), "pre_tokenizer": parts.get("pre_tokenizer"),
         "post_processor": None, "decoder": parts.get("decoder"), "model": model}
    tok, path = write_tokenizer(Tokenizer.from_str(json.dumps(j)), name)
    vectors(tok, path, name.replace(".json", ""), texts)


ESSAYS = os.path.join("..", "shared", "corpus", "paul_graham_essays")


def ids_digest(docs_ids):
    """FNV-1a 64 over each id as 4 little-endian bytes, 0xFFFFFFFF after each document."""
    h = 0xcbf29ce484222325
    for ids in docs_ids:
        for v in list(ids) + [0xFFFFFFFF]:
            for k in range(4):
                h ^= (v >> (8 * k)) & 0xFF
                h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def essays_digest(tokenizers):
    """The ids of every essay (file name order, no special tokens) for each tokenizer, as a digest."""
    if not os.path.isdir(ESSAYS):
        print(f"{ESSAYS} absent: essays_digest.json not written")
        return
    names = sorted(n for n in os.listdir(ESSAYS) if n.endswith(".txt"))
    docs = [open(os.path.join(ESSAYS, n), "rb").read().decode("utf-8") for n in names]
    out = {"files": len(docs), "tokenizers": {}}
    for path, tok in tokenizers:
        all_ids = [tok.encode(d, add_special_tokens=False).ids for d in docs]
        out["tokenizers"][path] = {"tokens": sum(map(len, all_ids)), "fnv1a64": ids_digest(all_ids)}
    write_json(os.path.join(OUT, "essays_digest.json"), out)


# Qwen2 / Qwen2.5 / Qwen3's pre-tokenizer regex (their tokenizer.json): like Llama-3's but one digit per piece.
QWEN_RE = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
           r"|\s*[\r\n]+|\s+(?!\S)|\s+")

# Text that the Unicode normal forms change (or must keep), for the Qwen and tiny_nf* fixtures.
NF_TEXTS = [
    "Café composed / Cafe\u0301 decomposed / CAFE\u0301 / e\u0301t\u00e9",
    "A\u030a \u212b \u00c5 Angstrom sign, ring and precomposed",  # U+212B -> U+00C5 under NFC
    "\u2126 ohm sign becomes omega \u03a9; \u212a kelvin becomes K",  # singletons
    "ﬁ ligature ﬂ ﬀ stays under NFC; ½ x² ① Ⅻ ™ ǅ ｆｕｌｌｗｉｄｔｈ ﾊﾝｶｸ",  # compatibility characters NFC keeps
    "Hangul jamo \u1100\u1161\u11a8 \u1112\u1161\u11ab\u1100\u116e\u11a8 and precomposed 각 한국어 문장",
    "canonical order a\u0327\u0301 a\u0301\u0327 \u1e9b\u0323 q\u0307\u0323 \u1e0b\u0323",
    "Vie\u0302\u0323t Tie\u0302\u0301ng Việt Tiếng, Ελληνικά α\u0301 ά, Ё Е\u0308 й и\u0306",
    "exclusions \u0958 \u0915\u093c \u2adc \uf900 \uf9d2 \u0344 \u0340",  # composition exclusions, CJK compat
    "en quad\u2000em quad\u2001space \u2002 \u2003 and \u00a0nbsp \u3000ideographic",  # U+2000 -> U+2002
    "日本語のテキストと中文文本，还有한국어 문장。 ｶﾀｶﾅ カタカナ が か\u3099 ぱ は\u309a",
    "digits 1234567890 3.14159 2026-11-27 ٣٤٥ १२३ ¹²³ 1,000,000",
    "contractions I'm you're he's we've they'll I'd DON'T It'S o'clock ’s",
    "newlines\n\nparagraph\r\nwindows\n  indented\n\t\ttabs   \n\n\n",
    "emoji 😀 👍🏽 👩‍💻 👨‍👩‍👧‍👦 🏳️‍🌈 🇫🇷 ❤️ 🤖 e\u0301😀",
    "\u180emongolian vowel separator, a\u180eb, \x85 next line, \u2028 \u2029 \ufeff bom",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nCafe\u0301 1234?<|im_end|>\n",
    "text<|endoftext|>more text <|endoftext|><|endoftext|> <|im_end|>",
    "",
    " ",
]


def qwen_tokenizer():
    """A small Qwen2-style tokenizer: what Qwen2/2.5/3's tokenizer.json holds, with a vocabulary trained here."""
    tok = Tokenizer(models.BPE(byte_fallback=False, ignore_merges=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_RE), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    trainer = trainers.BpeTrainer(vocab_size=1600, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(training_corpus() + NF_TEXTS * 20, trainer)
    tok.add_special_tokens([AddedToken(s, normalized=False, special=True)
                            for s in ("<|endoftext|>", "<|im_start|>", "<|im_end|>")])
    return tok


def write_qwen():
    tok, path = write_tokenizer(qwen_tokenizer(), "qwen/tokenizer.json")
    ids = {s: tok.token_to_id(s) for s in ("<|endoftext|>", "<|im_start|>", "<|im_end|>")}
    # as Qwen2.5's tokenizer_config.json: no BOS, EOS <|endoftext|> (base models), no template change
    cfg = {"add_bos_token": False, "add_prefix_space": False,
           "added_tokens_decoder": {str(i): {"content": s, "lstrip": False, "normalized": False, "rstrip": False,
                                             "single_word": False, "special": True} for s, i in ids.items()},
           "bos_token": None, "clean_up_tokenization_spaces": False, "eos_token": "<|endoftext|>",
           "errors": "replace", "model_max_length": 131072, "pad_token": "<|endoftext|>",
           "split_special_tokens": False, "tokenizer_class": "Qwen2Tokenizer", "unk_token": None}
    write_json(os.path.join(OUT, "qwen", "tokenizer_config.json"), cfg)
    vectors(tok, "qwen", "qwen", NF_TEXTS + TEXTS)


def write_normal_forms():
    """Each normal form alone, over a vocabulary of the 256 byte-level characters: ids = normalized bytes."""
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    byte_model = {"type": "BPE", "dropout": None, "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "unk_token": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": {c: i for i, c in enumerate(alphabet)}, "merges": []}
    bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}
    dec = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    texts = NF_TEXTS + TEXTS[3:8] + TEXTS[17:19] + TEXTS[28:37]
    for form in ("NFC", "NFD", "NFKC", "NFKD"):
        tiny(f"tiny_{form.lower()}.json", byte_model, texts, pre_tokenizer=bl, decoder=dec,
             normalizer={"type": form})
    seq = {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Replace", "pattern": {"String": "fi"},
                                                                   "content": "[fi]"}, {"type": "NFD"}]}
    tiny("tiny_nf_sequence.json", byte_model, texts, pre_tokenizer=bl, decoder=dec, normalizer=seq)


def main():
    os.makedirs(OUT, exist_ok=True)
    if sys.argv[1:] == ["--only", "qwen"]:
        write_qwen()
        write_normal_forms()
        return
    if sys.argv[1:]:
        raise SystemExit("usage: gen_tokenizer_refs.py [--only qwen]")
    write_qwen()
    write_normal_forms()
    digest_set = []

    tok, path = write_tokenizer(mistral_tokenizer(legacy=False), "mistral/tokenizer.json", compress=True)
    vectors(tok, "mistral/tokenizer.json.zst", "mistral", TEXTS)
    digest_set.append((path, Tokenizer.from_str(tok.to_str())))
    # model_max_length as real Mistral / Llama-2 configs hold it (int(1e30)): beyond 64 bits
    cfg = {"add_bos_token": True, "add_eos_token": True, "bos_token": "<s>", "eos_token": "</s>",
           "unk_token": "<unk>", "tokenizer_class": "LlamaTokenizer",
           "model_max_length": 1000000000000000019884624838656}
    write_json(os.path.join(OUT, "mistral", "tokenizer_config.json"), cfg)
    # the model directory's config asks for BOS and EOS: the template transformers 4.x builds from
    # add_bos_token/add_eos_token (LlamaTokenizerFast.update_post_processor: "<s> $A </s>").  Note that
    # transformers 5.x's LlamaTokenizer ignores add_eos_token; duo-train follows the 4.x behaviour.
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 1), ("</s>", 2)])
    vectors(tok, "mistral", "mistral_dir", TEXTS)

    tok, path = write_tokenizer(mistral_tokenizer(legacy=True), "mistral_legacy.json", compress=True)
    vectors(tok, path, "mistral_legacy", TEXTS)
    digest_set.append((path, tok))

    tok, path = write_tokenizer(byte_level_llama3(), "llama3_bpe.json")
    vectors(tok, path, "llama3_bpe", TEXTS)
    digest_set.append((path, tok))

    tok, path = write_tokenizer(byte_level_gpt2(), "gpt2_bpe.json", legacy_merges=True)
    vectors(tok, path, "gpt2_bpe", TEXTS)
    digest_set.append((path, tok))

    tok, path = write_tokenizer(byte_level_prefix_space(), "prefix_space_bpe.json")
    vectors(tok, path, "prefix_space_bpe", TEXTS)
    digest_set.append((path, tok))
    essays_digest(digest_set)

    # BPE corner cases on a 10-token vocabulary
    vocab = {"<unk>": 0, "a": 1, "b": 2, "c": 3, "ab": 4, "bc": 5, "abc": 6, "<0x78>": 7, "<0xC3>": 8, "<0xA9>": 9}
    merges = [["b", "c"], ["a", "b"], ["a", "bc"]]
    corner = ["abc", "aabbcc", "xyz", "xxabcyy", "ééx", "a b", "zzzz"]
    base = {"type": "BPE", "dropout": None, "continuing_subword_prefix": None, "end_of_word_suffix": None,
            "vocab": vocab, "merges": merges}
    tiny("tiny_unk_fused.json", dict(base, unk_token="<unk>", fuse_unk=True, byte_fallback=False), corner)
    tiny("tiny_unk_unfused.json", dict(base, unk_token="<unk>", fuse_unk=False, byte_fallback=False), corner)
    tiny("tiny_byte_fallback.json", dict(base, unk_token="<unk>", fuse_unk=True, byte_fallback=True), corner,
         decoder={"type": "ByteFallback"})
    # "abc" is in the vocabulary but the merges would give "ab"+"c": ignore_merges keeps the whole word
    im_vocab = {"a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4, "abc": 5}
    im = {"type": "BPE", "dropout": None, "continuing_subword_prefix": None, "end_of_word_suffix": None,
          "unk_token": None, "fuse_unk": False, "byte_fallback": False, "vocab": im_vocab, "merges": [["a", "b"]]}
    ws = {"type": "WhitespaceSplit"}
    tiny("tiny_ignore_merges.json", dict(im, ignore_merges=True), ["abc", "abc ab abcabc bc"], pre_tokenizer=ws)
    tiny("tiny_merges.json", dict(im, ignore_merges=False), ["abc", "abc ab abcabc bc"], pre_tokenizer=ws)
    # SentencePiece-style words: a merge that joins "a" to a following "▁" (so words must not be cut
    # before "▁"), and one vocabulary where no merge does (so they may be)
    ms = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}
    cross_vocab = {"▁": 0, "a": 1, "b": 2, "▁a": 3, "a▁": 4, "▁b": 5, "a▁b": 6, "▁a▁b": 7}
    cross = {"type": "BPE", "dropout": None, "continuing_subword_prefix": None, "end_of_word_suffix": None,
             "unk_token": None, "fuse_unk": True, "byte_fallback": False, "ignore_merges": False,
             "vocab": cross_vocab, "merges": [["a", "▁"], ["▁", "a"], ["a▁", "b"], ["▁a", "▁b"], ["▁", "b"]]}
    meta_texts = ["a b", "a a b", "aa b", " a  b", "b a", "a  b a b"]
    tiny("tiny_metaspace_cross.json", cross, meta_texts, pre_tokenizer=ms)
    tiny("tiny_metaspace_nocross.json", dict(cross, merges=[["▁", "a"], ["▁", "b"]]), meta_texts, pre_tokenizer=ms)
    # Metaspace with split=true, prepend always, and the Metaspace decoder
    ms_split = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}
    tiny("tiny_metaspace_split.json", cross, meta_texts + ["▁a b", "  "], pre_tokenizer=ms_split,
         decoder={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True})

    # Split behaviours (with and without invert, a literal pattern, empty regex matches), Digits,
    # WhitespaceSplit and regex Replace normalizers, over a vocabulary of the 256 byte-level characters
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    byte_vocab = {c: i for i, c in enumerate(alphabet)}
    byte_model = {"type": "BPE", "dropout": None, "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "unk_token": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": byte_vocab, "merges": []}
    bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}
    dec = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    split_texts = TEXTS[:4] + TEXTS[8:13] + TEXTS[17:19] + ["x1 22  333\t\tz", "xxaxx", ""]
    splits = [("removed", "Removed", False, {"Regex": r"\s+|\d"}),
              ("isolated_invert", "Isolated", True, {"Regex": r"\p{L}+"}),
              ("merged_prev", "MergedWithPrevious", False, {"Regex": r"\s+|\d"}),
              ("merged_next_invert", "MergedWithNext", True, {"Regex": r"[aeiou]"}),
              ("contiguous", "Contiguous", False, {"Regex": r"\d|\s"}),
              ("literal", "Isolated", False, {"String": "x"}),
              ("empty_matches", "Removed", False, {"Regex": r"x*"})]
    for name, behavior, invert, pattern in splits:
        pre = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": pattern, "behavior": behavior, "invert": invert}, bl]}
        tiny(f"tiny_split_{name}.json", byte_model, split_texts, pre_tokenizer=pre, decoder=dec)
    pre = {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, {"type": "Digits", "individual_digits": True}, bl]}
    norm = {"type": "Sequence", "normalizers": [
        {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        {"type": "Replace", "pattern": {"String": "a"}, "content": "A"},
        {"type": "Prepend", "prepend": "^"}]}
    added = [{"id": 256, "content": "Ab", "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": True, "special": False},
             {"id": 257, "content": "[X]", "single_word": False, "lstrip": True, "rstrip": False,
              "normalized": False, "special": True}]
    tiny("tiny_normalizers.json", byte_model, split_texts + ["ab  ab[X] ab", "  [X]ab"], pre_tokenizer=pre,
         decoder=dec, normalizer=norm, added=added)


if __name__ == "__main__":
    main()
