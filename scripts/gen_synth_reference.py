#!/usr/bin/env python3
"""Writes the fixtures that check `duo-train synth` against the reference construction.

  tests/fixtures/corpus/synth_small.jsonl        ~40 generated texts (JSON lines with "text")
  tests/fixtures/corpus/synth_small.expected.json samples 0..N-1 built the reference's way
  tests/fixtures/corpus/niah_small/*.txt          3 short essays for the needle-in-a-haystack builder
  tests/fixtures/corpus/niah_small.expected.json  its prompts, built like eval/needle/needle_in_haystack.py

The expected samples follow duo-attention's MultiplePasskeyRetrievalDataset step by step (haystack loop
with a full re-encode per text, decode/re-encode trim, the cut sized with one passkey, _insert_needle,
_construct_input with its always-pad quirk), tokenised with transformers' PreTrainedTokenizerFast on
tests/fixtures/tokenizers/llama3_bpe.json, grids from torch.linspace.  Only the random draws are
duo-train's own (splitmix64 streams, see synth/rng.h), re-implemented here.

Run from the repository root:  python3 scripts/gen_synth_reference.py
"""
import json
import random

import torch
from transformers import PreTrainedTokenizerFast

TOKENIZER = "tests/fixtures/tokenizers/llama3_bpe.json"
CORPUS = "tests/fixtures/corpus/synth_small.jsonl"
EXPECTED = "tests/fixtures/corpus/synth_small.expected.json"

PARAMS = dict(context_length_min=400, context_length_max=2000, context_lengths_num_intervals=5,
              min_needle_depth_ratio=0.05, max_needle_depth_ratio=0.95, depth_ratio_num_intervals=100,
              num_passkeys=3, passkey_length=6, buffer_size=100, seed=42)
NUM_SAMPLES = 7

NATO = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett", "kilo",
        "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango", "uniform", "victor",
        "whiskey", "xray", "yankee", "zulu"]
ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
            "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
            "eighteenth", "nineteenth", "twentieth"]
NEEDLE = "Remeber this sequence of words, it's the {ordinal_number} passkey to the vault: "
QUESTION = "Based on the content of the book, what is the {ordinal_number} passkey to the vault?\nPasskey: "
PROMPT1 = "<|im_start|> This is a very long story book: <book> "
PROMPT2 = " </book>.\n\n"
SEP = "\n\n"

M64 = (1 << 64) - 1


def mix64(z):
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M64
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M64
    return z ^ (z >> 31)


class Stream:
    def __init__(self, seed, stream, index):
        self.state = mix64(mix64(mix64(seed) ^ stream) ^ index)

    def next(self):
        self.state = (self.state + 0x9e3779b97f4a7c15) & M64
        return mix64(self.state)

    def below(self, n):
        return (self.next() * n) >> 64


CUT, EPOCH, SAMPLE = 1, 2, 3


def passkey(r, words):
    return " ".join(NATO[r.below(26)] for _ in range(words))


def make_corpus():
    rnd = random.Random(1234)
    words = ("the a river old house night quiet stone letter garden window morning friend road "
             "story book city light winter voice door field song paper clock boat").split()
    texts = []
    for i in range(40):
        sents = []
        for _ in range(rnd.randint(4, 8)):
            s = " ".join(rnd.choice(words) for _ in range(rnd.randint(5, 12)))
            sents.append(s.capitalize() + rnd.choice([".", "!", "?", ", said Ann."]))
        texts.append(f"Chapter {i + 1}. " + " ".join(sents) + "\n")
    with open(CORPUS, "w") as f:
        for t in texts:
            f.write(json.dumps({"text": t}) + "\n")
    return texts


def main():
    texts = make_corpus()
    tok = PreTrainedTokenizerFast(tokenizer_file=TOKENIZER, clean_up_tokenization_spaces=False)
    p = PARAMS
    P, cmax = p["num_passkeys"], p["context_length_max"]
    ctx_lengths = torch.linspace(p["context_length_min"], cmax, p["context_lengths_num_intervals"], dtype=torch.int)
    depths = torch.linspace(p["min_needle_depth_ratio"], p["max_needle_depth_ratio"], p["depth_ratio_num_intervals"])

    # reference __init__
    haystack = ""
    for t in texts:
        if len(tok.encode(haystack)) >= cmax:
            break
        haystack += t
    toks = tok.encode(haystack, add_special_tokens=False)
    if len(toks) > cmax:
        haystack = tok.decode(toks[:cmax])
    needles = [tok.encode(NEEDLE.format(ordinal_number=o), add_special_tokens=False) for o in ORDINALS[:P]]
    questions = [tok.encode(QUESTION.format(ordinal_number=o), add_special_tokens=False) for o in ORDINALS[:P]]
    hay = tok.encode(haystack, add_special_tokens=False)
    sep = tok.encode(SEP, add_special_tokens=False)
    p1 = tok.encode(PROMPT1, add_special_tokens=True)
    p2 = tok.encode(PROMPT2, add_special_tokens=False)
    pk = tok.encode(passkey(Stream(p["seed"], CUT, 0), p["passkey_length"]), add_special_tokens=False)
    other = len(p1) + len(p2) + (len(sep) + len(needles[0]) + len(pk) + len(sep) + len(questions[0]) + len(pk)) * P
    if len(hay) + other > cmax - p["buffer_size"]:
        hay = hay[: cmax - p["buffer_size"] - other]

    n = p["context_lengths_num_intervals"]
    samples = []
    for k in range(NUM_SAMPLES):
        er = Stream(p["seed"], EPOCH, k // n)
        perm = list(range(n))
        for i in range(n - 1, 0, -1):
            j = er.below(i + 1)
            perm[i], perm[j] = perm[j], perm[i]
        ci = perm[k % n]
        r = Stream(p["seed"], SAMPLE, k)
        idx = list(range(p["depth_ratio_num_intervals"]))
        for i in range(P):
            j = i + r.below(len(idx) - i)
            idx[i], idx[j] = idx[j], idx[i]
        chosen = sorted(idx[:P])
        ratios = depths[torch.tensor(chosen)].sort().values
        keys = [passkey(r, p["passkey_length"]) for _ in range(P)]
        pks = [tok.encode(s, add_special_tokens=False) for s in keys]
        # _insert_needle
        h = hay[: int(ctx_lengths[ci])]
        context, last = [], 0
        for i, (ratio, pkt) in enumerate(zip(ratios, pks)):
            ip = int(len(h) * ratio)
            context += h[last:ip] + sep + needles[i] + pkt + sep
            last = ip
        context += h[last:]
        # _construct_input (its `% 16` binds to len(prompt2) only, so it always pads)
        qa = []
        for pkt, q in zip(pks, questions):
            qa += q + pkt + sep
        context = p1 + context
        pad = 16 - (len(context) + len(qa) + len(p2)) % 16
        context += hay[-pad:]
        context += p2
        ids = context + qa
        assert len(ids) % 16 == 0
        samples.append(dict(index=k, context_index=ci, context_length=int(ctx_lengths[ci]), depth_index=chosen,
                            passkeys=keys, qa_start=len(context), input_ids=ids))
    with open(EXPECTED, "w") as f:
        json.dump(dict(tokenizer=TOKENIZER, corpus=CORPUS, params=p, haystack_tokens=len(hay), samples=samples), f)
        f.write("\n")
    print(f"wrote {CORPUS} and {EXPECTED}: {NUM_SAMPLES} samples, haystack {len(hay)} tokens")


NIAH_DIR = "tests/fixtures/corpus/niah_small"
NIAH_EXPECTED = "tests/fixtures/corpus/niah_small.expected.json"
NIAH_NEEDLE = ("\n\nRemember, the best thing to do in San Francisco is eat a sandwich and sit in Dolores Park on a "
               "sunny day.\n\n")
NIAH_QUESTION = "what is the best thing to do in San Francisco?\n\nAnswer: The best thing to do in San Francisco is"
NIAH_PARAMS = dict(context_lengths_min=300, context_lengths_max=1500, context_lengths_num_intervals=3,
                   document_depth_percent_min=0, document_depth_percent_max=100,
                   document_depth_percent_intervals=3, final_context_length_buffer=100)


def niah():
    """LLMNeedleHaystackTester's generate_context + generate_prompt + tokenisation, step by step."""
    import glob
    import os

    import numpy as np

    os.makedirs(NIAH_DIR, exist_ok=True)
    rnd = random.Random(99)
    words = "we startup people work good idea make time think things know want hard money users".split()
    for name in ("b_growth.txt", "a_ideas.txt", "c_users.txt"):
        sents = [" ".join(rnd.choice(words) for _ in range(rnd.randint(6, 14))).capitalize() + "."
                 for _ in range(25)]
        with open(os.path.join(NIAH_DIR, name), "w") as f:
            f.write(" ".join(sents) + "\n\n")
    enc = PreTrainedTokenizerFast(tokenizer_file=TOKENIZER, clean_up_tokenization_spaces=False)
    p = NIAH_PARAMS
    lengths = np.round(np.linspace(p["context_lengths_min"], p["context_lengths_max"],
                                   num=p["context_lengths_num_intervals"], endpoint=True)).astype(int)
    depths = np.round(np.linspace(p["document_depth_percent_min"], p["document_depth_percent_max"],
                                  num=p["document_depth_percent_intervals"], endpoint=True)).astype(int)
    context = ""
    while len(enc.encode(context)) < max(lengths):
        for file in sorted(glob.glob(f"{NIAH_DIR}/*.txt")):  # the reference's glob order is the directory's
            with open(file) as f:
                context += f.read()
    prompts = []
    for L in lengths:
        for d in depths:
            tokens = enc.encode(context)
            ctx = enc.decode(tokens[:L], skip_special_tokens=True) if len(tokens) > L else context
            t_needle = enc.encode(NIAH_NEEDLE, add_special_tokens=False)
            t_ctx = enc.encode(ctx, add_special_tokens=False)
            room = L - p["final_context_length_buffer"]
            if len(t_ctx) + len(t_needle) > room:
                t_ctx = t_ctx[: room - len(t_needle)]
            if d == 100:
                new = t_ctx + t_needle
            else:
                ip = int(len(t_ctx) * (d / 100))
                new = t_ctx[:ip] + t_needle + t_ctx[ip:]
            new_ctx = enc.decode(new, skip_special_tokens=True)
            prompt = (f"<|im_start|> This is a very long story book: <book> {new_ctx} </book>.\n\n"
                      f"Question: Based on the content of the book, {NIAH_QUESTION}")
            prompts.append(dict(context_length=int(L), depth_percent=int(d), input_ids=enc(prompt)["input_ids"]))
    with open(NIAH_EXPECTED, "w") as f:
        json.dump(dict(tokenizer=TOKENIZER, haystack_dir=NIAH_DIR, params=p, prompts=prompts), f)
        f.write("\n")
    print(f"wrote {NIAH_DIR} and {NIAH_EXPECTED}: {len(prompts)} prompts")


if __name__ == "__main__":
    main()
    niah()
