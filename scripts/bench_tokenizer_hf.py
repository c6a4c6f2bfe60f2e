#!/usr/bin/env python3
"""The Hugging Face `tokenizers` library on the same text as `duo-train bench tokenizer`, one thread.

Each document (each .txt file of DIR, or FILE) is encoded on its own with add_special_tokens=False,
documents repeated until --mb MB of UTF-8 have been encoded; prints MB/s.  RAYON_NUM_THREADS=1 and
TOKENIZERS_PARALLELISM=false are set before the import, and encode() (not encode_batch) is used, so
the library runs on one thread.  --compare FILE checks ids written by `duo-train bench tokenizer
--dump-ids FILE` against the library's, document by document.

usage: bench_tokenizer_hf.py --tokenizer PATH [--text FILE|DIR] [--mb 10] [--compare IDS.txt]
PATH: a tokenizer.json, a .json.zst, or a directory holding one.
"""
import argparse
import os
import sys
import time

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

from tokenizers import Tokenizer  # noqa: E402


def load_tokenizer(path):
    if os.path.isdir(path):
        for name in ("tokenizer.json", "tokenizer.json.zst"):
            if os.path.exists(os.path.join(path, name)):
                path = os.path.join(path, name)
                break
    if path.endswith(".zst"):
        import subprocess
        text = subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout.decode()
        return Tokenizer.from_str(text)
    return Tokenizer.from_file(path)


def load_docs(text):
    if os.path.isdir(text):
        names = sorted(n for n in os.listdir(text) if n.endswith(".txt"))
        paths = [os.path.join(text, n) for n in names]
    else:
        paths = [text]
    return [open(p, "rb").read().decode("utf-8") for p in paths]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--text", default="../shared/corpus/paul_graham_essays")
    ap.add_argument("--mb", type=float, default=10)
    ap.add_argument("--compare")
    a = ap.parse_args()
    tok = load_tokenizer(a.tokenizer)
    docs = load_docs(a.text)
    sizes = [len(d.encode("utf-8")) for d in docs]
    if a.compare:
        lines = open(a.compare).read().split("\n")
        bad = 0
        for i, d in enumerate(docs):
            want = tok.encode(d, add_special_tokens=False).ids
            got = [int(x) for x in lines[i].split()] if i < len(lines) else []
            if got != want:
                k = next((j for j in range(min(len(got), len(want))) if got[j] != want[j]), min(len(got), len(want)))
                print(f"document {i}: first difference at token {k} (C {got[k:k+5]}, HF {want[k:k+5]})")
                bad += 1
        print(f"compare: {len(docs) - bad}/{len(docs)} documents identical")
        if bad:
            sys.exit(1)
    target = int(a.mb * (1 << 20))
    done = tokens = n = 0
    t0 = time.perf_counter()
    while done < target:
        i = n % len(docs)
        tokens += len(tok.encode(docs[i], add_special_tokens=False).ids)
        done += sizes[i]
        n += 1
    secs = time.perf_counter() - t0
    print(f"HF tokenizers: {done / 1048576:.2f} MB in {n} documents, {tokens} tokens, {secs:.3f} s (one thread)")
    print(f"throughput: {done / 1048576 / secs:.2f} MB/s, {tokens / secs:.0f} tokens/s")


if __name__ == "__main__":
    main()
