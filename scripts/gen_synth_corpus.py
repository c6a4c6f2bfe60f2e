#!/usr/bin/env python3
"""Writes a large JSON-lines corpus of generated book-like text to stdout, for `duo-train bench synth`.

  python3 scripts/gen_synth_corpus.py 100 | zstd -q -o /tmp/bench_corpus.jsonl.zst

The argument is the uncompressed size in MB (default 100).  Texts are 20-60 KB "chapters" of random
sentences over a few hundred words, so the corpus tokenises like prose but compresses well; nothing
here is committed data.
"""
import json
import random
import sys


def main():
    mb = float(sys.argv[1]) if len(sys.argv) > 1 else 100.0
    rnd = random.Random(7)
    words = ("the of and to a in that it was he she they his her for on with as at by from this be had "
             "not but what all were when we there can an your which their said if do will each about how up "
             "out them then many some so these would other into has more two like him see time could no make "
             "than first been its who now people my made over did down only way find use may water long "
             "little very after words called just where most know river house night quiet stone letter "
             "garden window morning friend road story book city light winter voice door field song paper "
             "clock boat mountain forest village captain mother father brother sister king queen soldier "
             "ship sea storm silver golden ancient secret promise journey").split()
    target = int(mb * 1e6)
    written = 0
    chapter = 0
    out = sys.stdout
    while written < target:
        chapter += 1
        parts = [f"Chapter {chapter}."]
        size = rnd.randint(20000, 60000)
        n = 0
        while n < size:
            s = " ".join(rnd.choice(words) for _ in range(rnd.randint(6, 20)))
            s = s[0].upper() + s[1:] + rnd.choice([".", ".", ".", "!", "?", ", she said."])
            parts.append(s)
            n += len(s) + 1
        line = json.dumps({"text": " ".join(parts) + "\n"}) + "\n"
        out.write(line)
        written += len(line)


if __name__ == "__main__":
    main()
