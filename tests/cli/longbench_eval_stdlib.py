#!/usr/bin/env python3
"""LongBench's eval.py (mit-han-lab/duo-attention eval/LongBench/eval.py with THUDM/LongBench's
metrics.py) restated with the standard library only, for CI machines without the rouge, fuzzywuzzy
and numpy packages:

  - the rouge package 1.0.1's ROUGE-L F (Rouge().get_scores(avg=True)["rouge-l"]["f"]), its exceptions
    (an empty hypothesis or reference, the RecursionError of its LCS reconstruction under eval.py's
    stack: more than 991 nested calls) giving 0 as metrics.py's bare except does;
  - fuzzywuzzy 0.18.0's fuzz.ratio without python-Levenshtein (difflib.SequenceMatcher, which is stdlib);
  - numpy.mean's pairwise summation for scorer_e's buckets.
The rest (normalize_answer, the scores, the cleaning) is Python's own str and re, as in metrics.py.

Checked against the real packages: `--check_refs tests/fixtures/longbench/metric_refs.jsonl.gz` compares
every pair and dataset score with the ones scripts/gen_longbench_refs.py got from LongBench's metrics.py
and eval.py (2345 pairs); and on the CLI test's pred folders the real eval.py (rouge 1.0.1, fuzzywuzzy
0.18.0, numpy 2.4) printed the same result.json (tests/cli/test_longbench_cli.sh runs it when
LONGBENCH_EVAL names eval.py and LONGBENCH_PYTHON a Python with those packages).

Usage: longbench_eval_stdlib.py --results_path DIR/ [--e]     (writes DIR/result.json as eval.py does)
       longbench_eval_stdlib.py --check_refs FILE.jsonl.gz     (prints PASS/FAIL lines)
"""
import argparse
import difflib
import gzip
import json
import os
import re
import string
from collections import Counter


def normalize_answer(s):
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def qa_f1_score(prediction, ground_truth, **kwargs):
    p, g = normalize_answer(prediction).split(), normalize_answer(ground_truth).split()
    same = sum((Counter(p) & Counter(g)).values())
    if same == 0:
        return 0
    precision, recall = 1.0 * same / len(p), 1.0 * same / len(g)
    return (2 * precision * recall) / (precision + recall)


MAX_RECON_CALLS = 991  # rouge's recursive _recon under eval.py's 9 frames and the limit of 1000


def _lcs_words(x, y):
    """The words of x on the rouge package's LCS path (ties go to y's side), or None past the
    recursion limit."""
    n, m = len(x), len(y)
    t = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            t[i][j] = t[i - 1][j - 1] + 1 if x[i - 1] == y[j - 1] else max(t[i - 1][j], t[i][j - 1])
    i, j, calls, words = n, m, 1, []
    while i > 0 and j > 0:
        calls += 1
        if x[i - 1] == y[j - 1]:
            words.append(x[i - 1])
            i, j = i - 1, j - 1
        elif t[i - 1][j] > t[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return None if calls > MAX_RECON_CALLS else words


def rouge_score(prediction, ground_truth, **kwargs):
    def sentences(text):
        return [" ".join(piece.split()).split(" ") for piece in text.split(".") if len(piece) > 0]

    hyp, ref = sentences(prediction), sentences(ground_truth)
    if not hyp or not ref:
        return 0.0
    m = len({w for s in ref for w in s})
    n = len({w for s in hyp for w in s})
    union = set()
    for r in ref:
        for h in hyp:
            words = _lcs_words(r, h)
            if words is None:
                return 0.0
            union |= set(words)
    r_lcs, p_lcs = len(union) / m, len(union) / n
    return 2.0 * ((p_lcs * r_lcs) / (p_lcs + r_lcs + 1e-8))


def classification_score(prediction, ground_truth, **kwargs):
    matches = [c for c in kwargs["all_classes"] if c in prediction]
    for term in matches:  # removing while iterating, as metrics.py does
        if term in ground_truth and term != ground_truth:
            matches.remove(term)
    return 1.0 / len(matches) if ground_truth in matches else 0.0


def _numbers_score(prediction, want):
    numbers = re.findall(r"\d+", prediction)
    return 0.0 if not numbers else float(sum(str(x) == str(want) for x in numbers) / len(numbers))


def retrieval_score(prediction, ground_truth, **kwargs):
    return _numbers_score(prediction, re.findall(r"Paragraph (\d+)", ground_truth)[0])


def count_score(prediction, ground_truth, **kwargs):
    return _numbers_score(prediction, ground_truth)


def fuzz_ratio(a, b):
    if a == b:
        return 100
    if not a or not b:
        return 0
    return int(round(100 * difflib.SequenceMatcher(None, a, b).ratio()))


def code_sim_score(prediction, ground_truth, **kwargs):
    line = ""
    for candidate in prediction.lstrip("\n").split("\n"):
        if "`" not in candidate and "#" not in candidate and "//" not in candidate:
            line = candidate
            break
    return fuzz_ratio(line, ground_truth) / 100


METRIC = {"narrativeqa": qa_f1_score, "qasper": qa_f1_score, "multifieldqa_en": qa_f1_score,
          "hotpotqa": qa_f1_score, "2wikimqa": qa_f1_score, "musique": qa_f1_score, "gov_report": rouge_score,
          "qmsum": rouge_score, "multi_news": rouge_score, "trec": classification_score, "triviaqa": qa_f1_score,
          "samsum": rouge_score, "passage_retrieval_en": retrieval_score, "passage_count": count_score,
          "lcc": code_sim_score, "repobench-p": code_sim_score}
FIRST_LINE = ["trec", "triviaqa", "samsum", "lsht"]
CUTS = [".assistant", "\n\nQuestion", "</s>", "(Document", "\n\nQuestion", "\n\nAnswer", "(Passage"]


def clean(dataset, prediction, e):
    if not e:
        for cut in CUTS:
            prediction = prediction.split(cut)[0]
        prediction = prediction.strip()
    if dataset in FIRST_LINE:
        prediction = prediction.lstrip("\n").split("\n")[0]
    return prediction


def record_score(dataset, prediction, answers, all_classes, e):
    prediction, score = clean(dataset, prediction, e), 0.0
    for a in answers:
        score = max(score, METRIC[dataset](prediction, a, all_classes=all_classes))
    return score


def numpy_sum(v):
    """numpy's pairwise summation of a float64 vector."""
    n = len(v)
    if n < 8:
        res = 0.0
        for x in v:
            res += x
        return res
    if n <= 128:
        r = list(v[:8])
        i = 8
        while i < n - n % 8:
            for k in range(8):
                r[k] += v[i + k]
            i += 8
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        for x in v[i:]:
            res += x
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return numpy_sum(v[:n2]) + numpy_sum(v[n2:])


def scorer(dataset, predictions, answers, all_classes):
    total = 0.0
    for p, a in zip(predictions, answers):
        total += record_score(dataset, p, a, all_classes, False)
    return round(100 * total / len(predictions), 2)


def scorer_e(dataset, predictions, answers, lengths, all_classes):
    buckets = {"0-4k": [], "4-8k": [], "8k+": []}
    for p, a, n in zip(predictions, answers, lengths):
        s = record_score(dataset, p, a, all_classes, True)
        buckets["0-4k" if n < 4000 else "4-8k" if n < 8000 else "8k+"].append(s)
    return {k: round(100 * (numpy_sum(v) / len(v)), 2) if v else float("nan") for k, v in buckets.items()}


def evaluate(path, e):
    scores = {}
    for filename in sorted(os.listdir(path)):
        if not filename.endswith("jsonl"):
            continue
        dataset = filename.split("-")[0]
        if dataset == "repobench":
            dataset = "repobench-p"
        preds, answers, lengths, all_classes = [], [], [], None
        with open(os.path.join(path, filename), encoding="utf-8") as f:
            for line in f:
                d = json.loads(line)
                preds.append(d["pred"])
                answers.append(d["answers"])
                all_classes = d["all_classes"]  # the file's last record's, as eval.py
                if "length" in d:
                    lengths.append(d["length"])
        if preds:
            scores[filename] = (scorer_e(dataset, preds, answers, lengths, all_classes) if e
                                else scorer(dataset, preds, answers, all_classes))
    with open(os.path.join(path, "result.json"), "w") as f:
        json.dump(scores, f, ensure_ascii=False, indent=4)
    return scores


def check_refs(path):
    bad, pairs = [], 0
    for line in gzip.open(path, "rt", encoding="utf-8"):
        d = json.loads(line)
        if d["dataset"] is None:
            for e in d["numpy_sums"]:
                if numpy_sum(e["values"]) != e["sum"] or numpy_sum(e["values"]) / len(e["values"]) != e["mean"]:
                    bad.append(f"numpy sum of {len(e['values'])} values")
            continue
        ds, recs = d["dataset"], d["records"]
        for i, r in enumerate(recs):
            for e, key in ((False, "pair_scores"), (True, "pair_scores_e")):
                p = clean(ds, r["pred"], e)
                for a, want in zip(r["answers"], r[key]):
                    pairs += 1
                    got = METRIC[ds](p, a, all_classes=r["all_classes"])
                    if got != want and len(bad) < 5:
                        bad.append(f"{ds} record {i}: {got!r} vs LongBench {want!r}")
        classes = recs[-1]["all_classes"]
        args = ([r["pred"] for r in recs], [r["answers"] for r in recs])
        if scorer(ds, *args, classes) != d["scorer"]:
            bad.append(f"{ds}: scorer {scorer(ds, *args, classes)} vs {d['scorer']}")
        if scorer_e(ds, *args, [r["length"] for r in recs], classes) != d["scorer_e"]:
            bad.append(f"{ds}: scorer_e differs")
    return bad, pairs


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--results_path")
    ap.add_argument("--e", action="store_true")
    ap.add_argument("--check_refs")
    args = ap.parse_args()
    if args.check_refs:
        bad, pairs = check_refs(args.check_refs)
        print(f"{'FAIL' if bad else 'PASS'}: longbench_eval_stdlib/matches_longbench_refs ({pairs} pairs"
              f"{'; ' + '; '.join(bad) if bad else ''})")
    else:
        print(json.dumps(evaluate(args.results_path, args.e)))
