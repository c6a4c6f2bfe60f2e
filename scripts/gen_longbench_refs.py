#!/usr/bin/env python3
"""Reference scores for duo-train's LongBench metrics (eval/longbench_metrics.h).

Generates prediction/answer records for every English LongBench dataset (empty predictions,
punctuation-only strings, accents, final sigma, dotted I, CJK, emoji, Unicode spaces and digits, code
with comments and backticks, numbers, "Paragraph N" forms, several answers, sentences long enough to hit
the rouge package's recursion limit) and scores them with the real thing: LongBench's metrics.py and the
duo-attention eval.py (its scorer() and scorer_e()), exec'd from the paths given; and numpy's float64 sums (np.mean's pairwise
summation, which scorer_e's buckets use) on vectors of 1 to 1031 values.

Writes tests/fixtures/longbench/unicode_refs.json.gz (Python's \\w, \\d, isspace() and lower() of every code
point) and tests/fixtures/longbench/metric_refs.jsonl.gz: one line per dataset,
  {"dataset", "records": [{"pred", "answers", "all_classes", "length",
                           "pair_scores", "pair_scores_e", "score", "score_e"}],
   "scorer": eval.py scorer(), "scorer_e": eval.py scorer_e()}
and a last line {"dataset": null, "numpy_sums": [{"values", "sum", "mean"}]}
where pair_scores[k] = metric(cleaned pred, answers[k]) with scorer()'s cleaning and pair_scores_e with
scorer_e()'s.

The venv it needs (nothing is installed by this script):
    python3 -m venv /work/venv-longbench
    /work/venv-longbench/bin/pip install rouge==1.0.1 fuzzywuzzy==0.18.0 numpy
(no python-Levenshtein: LongBench's requirements.txt lists rouge, jieba, fuzzywuzzy unpinned and not
python-Levenshtein, so fuzz.ratio runs on difflib.SequenceMatcher; jieba is stubbed, the Chinese
metrics are not exercised.)  Usage:
    /work/venv-longbench/bin/python scripts/gen_longbench_refs.py \
        --metrics LongBench/LongBench/metrics.py --eval duo-attention/eval/LongBench/eval.py \
        --out tests/fixtures/longbench/metric_refs.jsonl.gz
"""
import argparse
import difflib
import gzip
import json
import random
import sys
import types

ap = argparse.ArgumentParser()
ap.add_argument("--metrics", required=True, help="THUDM/LongBench's LongBench/metrics.py")
ap.add_argument("--eval", required=True, help="mit-han-lab/duo-attention's eval/LongBench/eval.py")
ap.add_argument("--out", required=True)
ap.add_argument("--seed", type=int, default=17)
args = ap.parse_args()

sys.modules["jieba"] = types.ModuleType("jieba")  # only the *_zh metrics use it
metrics = types.ModuleType("metrics")
metrics.__file__ = args.metrics
exec(compile(open(args.metrics, encoding="utf-8").read(), args.metrics, "exec"), metrics.__dict__)
sys.modules["metrics"] = metrics
from fuzzywuzzy import fuzz  # noqa: E402

assert fuzz.SequenceMatcher is difflib.SequenceMatcher, "python-Levenshtein is installed: remove it"
ev = {"__name__": "longbench_eval"}
exec(compile(open(args.eval, encoding="utf-8").read(), args.eval, "exec"), ev)
dataset2metric, scorer, scorer_e = ev["dataset2metric"], ev["scorer"], ev["scorer_e"]

rng = random.Random(args.seed)
WORDS = ("the a an The A An THE cat dog Paris river 1990 42 e.g. U.S. don't well-known co-op "
         "naïve café résumé Straße İstanbul ΟΔΥΣΣΕΥΣ ΣΟΦΟΣ σοφός Ἀθῆναι ﬁne Ǆemal "
         "北京 東京 中文 答案 😀 🚀👍 ½ ² ٣٤ ３ ١٢ x_y __init__ an_apple the-end "
         "yes no unanswerable Answer: Question:").split()
PUNCT = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + ["。", "，", "—", "…", "¿", "«", "»"]
SPACES = [" ", " ", " ", "  ", "\t", "\n", "\u00a0", "\u3000", "\u2003", "\x1c", "\x1f", "\x85", "\u200b"]
CLEAN_CUTS = [".assistant", "\n\nQuestion", "</s>", "(Document", "\n\nAnswer", "(Passage"]


def words(k):
    out = []
    for _ in range(k):
        w = rng.choice(WORDS)
        if rng.random() < 0.15:
            w += rng.choice(PUNCT)
        if rng.random() < 0.05:
            w = rng.choice(PUNCT) + w
        out.append(w)
        out.append(rng.choice(SPACES) if rng.random() < 0.3 else " ")
    return "".join(out[:-1]) if out else ""


def sentences(k):
    return "".join(words(rng.randint(0, 12)) + rng.choice([".", ". ", "..", " . ", ".\n"]) for _ in range(k))


def noise(text):
    r = rng.random()
    if r < 0.08:
        return ""
    if r < 0.14:
        return "".join(rng.choice(PUNCT + [" ", "."]) for _ in range(rng.randint(1, 6)))
    if r < 0.24:
        return text + rng.choice(CLEAN_CUTS) + words(3)
    if r < 0.32:
        return rng.choice(["\n", "\n\n", " ", ""]) + text + "\n" + words(4)
    if r < 0.38:
        return text.upper()
    return text


def qa_record():
    answers = [words(rng.randint(1, 5)) for _ in range(rng.randint(1, 3))]
    base = rng.choice(answers) if rng.random() < 0.6 else words(rng.randint(1, 8))
    pred = noise(base if rng.random() < 0.5 else words(rng.randint(0, 4)) + " " + base)
    return pred, answers, None


def rouge_record():
    answers = [sentences(rng.randint(1, 4))]
    pred = noise(rng.choice([answers[0], sentences(rng.randint(0, 4)), words(rng.randint(0, 20))]))
    return pred, answers, None


TREC = ["Abbreviation", "Expression abbreviated", "Animal", "Color", "Date", "Individual", "Title",
        "Description", "Definition of something", "City", "Country", "Other location", "Other number",
        "Number of something", "Other entity", "Reason", "Manner of an action", "Lasting time of something"]


def trec_record():
    answers = [rng.choice(TREC)]
    k = rng.randint(0, 3)
    pred = " ".join(rng.choice(TREC + [answers[0]] * 6 + WORDS) for _ in range(k))
    return noise(pred), answers, TREC


def retrieval_record():
    n = rng.randint(1, 30)
    answers = [rng.choice([f"Paragraph {n}", f"Paragraph {n} ", f"See Paragraph {n}, then Paragraph 3"])]
    pred = rng.choice([f"Paragraph {n}", f"Paragraph {rng.randint(1, 30)}", f"Paragraphs {n} and {n + 1}",
                       f"Paragraph ٣ or {n}", f"{n}{n}", f"Paragraph {n:02d}", "", "none", f"Paragraph３ {n}"])
    return noise(pred), answers, None


def count_record():
    n = rng.randint(0, 40)
    answers = [str(n)]
    pred = rng.choice([str(n), f"There are {n} paragraphs", f"{n} or {n + 1}", f"{n}, {n}, 7", "", "none",
                       "٣", f"{n}.5", f"０{n}", f"x{n}y {n}"])
    return noise(pred), answers, None


CODE = ["x = foo(bar)", "return self._cache[key]", "for (int i = 0; i < n; i++) {", "# a comment",
        "// the next line", "```python", "print(f\"{x!r}\")", "    if not items: return []", "}",
        "const s = `tmpl ${a}`;", "def f(a, b):  # sum", "url = 'http://x.y/z'", "λ = lambda é: é + 1",
        "s = '中文😀'", "        pass"]


def code_record():
    answers = [rng.choice(CODE)]
    lines = [rng.choice(CODE + answers * 2) for _ in range(rng.randint(0, 4))]
    pred = rng.choice(["\n", "", "\n\n"]) + "\n".join(lines)
    if rng.random() < 0.1:  # long lines exercise difflib's autojunk (200+ characters)
        answers = [answers[0] * rng.randint(10, 30)]
        pred = answers[0][: rng.randint(0, len(answers[0]))] + rng.choice(CODE)
    return pred, answers, None


FAMILY = {"qa_f1_score": qa_record, "rouge_score": rouge_record, "classification_score": trec_record,
          "retrieval_score": retrieval_record, "count_score": count_record, "code_sim_score": code_record}


def raw_pair(dataset, pred, answers, all_classes, e):
    # the per-pair metric itself (unrounded), with eval.py's cleaning restated from the file's scorer
    p = pred
    if not e:
        for cut in CLEAN_CUTS:
            p = p.split(cut)[0]
        p = p.strip()
    if dataset in ["trec", "triviaqa", "samsum", "lsht"]:
        p = p.lstrip("\n").split("\n")[0]
    out = []
    for a in answers:  # a loop, not a comprehension: the same stack depth as eval.py's scorer()
        out.append(dataset2metric[dataset](p, a, all_classes=all_classes))
    return out


datasets = [d for d in dataset2metric if not any(z in d for z in ("zh", "dureader", "vcsum", "lsht"))]
lines = []
total_pairs = 0
for dataset in datasets:
    family = dataset2metric[dataset].__name__
    n = 400 if dataset == "qasper" else 150 if dataset == "gov_report" else 70
    recs = []
    for i in range(n):
        pred, answers, all_classes = FAMILY[family]()
        recs.append({"pred": pred, "answers": answers, "all_classes": all_classes,
                     "length": rng.choice([rng.randint(0, 3999), 3999, 4000, 7999, 8000, rng.randint(4000, 20000)])})
    if family == "rouge_score" and dataset == "gov_report":  # one-sentence texts around the recursion limit
        for k in (980, 989, 990, 991, 1200):
            recs.append({"pred": " ".join(f"w{i}" for i in range(k)), "answers": ["w0", "w1 w2. w0"],
                         "all_classes": None, "length": 5000})
    for r in recs:
        r["pair_scores"] = raw_pair(dataset, r["pred"], r["answers"], r["all_classes"], False)
        r["pair_scores_e"] = raw_pair(dataset, r["pred"], r["answers"], r["all_classes"], True)
        r["score"] = max([0.0] + r["pair_scores"])
        r["score_e"] = max([0.0] + r["pair_scores_e"])
        total_pairs += len(r["answers"])
    all_classes = recs[-1]["all_classes"]  # eval.py reads all_classes from the file's last record
    sc = scorer(dataset, [r["pred"] for r in recs], [r["answers"] for r in recs], all_classes)
    sce = scorer_e(dataset, [r["pred"] for r in recs], [r["answers"] for r in recs], [r["length"] for r in recs],
                   all_classes)
    lines.append(json.dumps({"dataset": dataset, "records": recs, "scorer": sc, "scorer_e": sce},
                            ensure_ascii=False))
# numpy's float64 sum (np.mean of scorer_e is this sum / n): vectors across its pairwise block sizes
import numpy as np  # noqa: E402

sums = []
for n in (1, 7, 8, 9, 15, 16, 17, 127, 128, 129, 255, 256, 257, 300, 1000, 1031):
    v = [rng.random() * rng.choice([1.0, 1e-3, 1e5]) for _ in range(n)]
    sums.append({"values": v, "sum": float(np.add.reduce(np.array(v, dtype=np.float64))),
                 "mean": float(np.mean(v))})
lines.append(json.dumps({"dataset": None, "numpy_sums": sums}))
def write_gz(path, text):  # mtime 0: the same inputs give the same bytes
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as f:
        f.write(text.encode("utf-8"))


write_gz(args.out, "\n".join(lines) + "\n")
print(f"{args.out}: {len(datasets)} datasets, {total_pairs} prediction/answer pairs")

# Python's character properties the metrics rely on, over every code point (surrogates excepted):
# re's \w and \d, str.isspace() and str.lower() of each single character, and the assigned code points
# of this Python's Unicode version (the C test compares inside those).
import re  # noqa: E402
import unicodedata  # noqa: E402


def ranges(pred):
    out, start = [], None
    for cp in range(0x110000):
        ok = not (0xD800 <= cp <= 0xDFFF) and pred(chr(cp))
        if ok and start is None:
            start = cp
        if not ok and start is not None:
            out.append([start, cp - 1])
            start = None
    if start is not None:
        out.append([start, 0x10FFFF])
    return out


word, digit = re.compile(r"\w"), re.compile(r"\d")
uni = {"unidata_version": unicodedata.unidata_version,
       "assigned": ranges(lambda c: unicodedata.category(c) != "Cn"),
       "word": ranges(lambda c: word.match(c) is not None),
       "digit": ranges(lambda c: digit.match(c) is not None),
       "space": ranges(str.isspace),
       "lower": [[cp, [ord(x) for x in chr(cp).lower()]] for cp in range(0x110000)
                 if not (0xD800 <= cp <= 0xDFFF) and chr(cp).lower() != chr(cp)]}
uni_out = args.out.replace("metric_refs.jsonl", "unicode_refs.json")
write_gz(uni_out, json.dumps(uni))
print(f"{uni_out}: Unicode {unicodedata.unidata_version}, {len(uni['lower'])} lowercase mappings")
