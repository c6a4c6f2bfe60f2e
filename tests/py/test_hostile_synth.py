#!/usr/bin/env python3
"""Hostile synth files (issue 13, class 1 and 2): a table with the wrong rank, shape or dtype, a
position outside its sample, offsets that do not add up, attributes that contradict the data.  Each
bad file is built here from a good one with h5py; `synth --show` and `train` must end with status 1
and a message naming the dataset (never a signal, a sanitizer report or a silent success)."""
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

BIN = os.environ.get("DUO_BIN", "build/duo-train")
MODEL = "tests/fixtures/retrieval-model"
CORPUS = "tests/fixtures/retrieval-corpus/corpus.jsonl.zst"
results = []


def report(name, ok, why=""):
    print(f"PASS: test_hostile_synth/{name}" if ok else f"FAIL: test_hostile_synth/{name} ({why})")
    results.append(ok)


def run(args):
    env = dict(os.environ, DUO_PROGRESS="0")
    return subprocess.run([BIN] + args, capture_output=True, text=True, env=env, timeout=300)


def replace(f, name, data):
    del f[name]
    f[name] = data


# name -> (edit(f), words the message must contain)
CASES = {
    "needle_pos_3d_wrong_last_dim": (lambda f: replace(f, "needle_pos", np.zeros((4, 2, 50), np.int32)), ["/needle_pos", "(N, P, 2)"]),
    "answer_pos_wrong_shape": (lambda f: replace(f, "answer_pos", np.zeros((4, 2, 2, 2), np.int32)), ["/answer_pos"]),
    "depth_ratio_3d": (lambda f: replace(f, "depth_ratio", np.zeros((4, 2, 3), np.float32)), ["/depth_ratio", "(N, P)"]),
    "depth_ratio_as_strings": (lambda f: replace(f, "depth_ratio", np.full((4, 2), b"x")), ["/depth_ratio", "floats"]),
    "index_2d": (lambda f: replace(f, "index", np.zeros((4, 7), np.int64)), ["/index", "(N)"]),
    "context_index_long": (lambda f: replace(f, "context_index", np.zeros(9, np.int32)), ["/context_index"]),
    "context_length_2d": (lambda f: replace(f, "context_length", np.zeros((4, 4), np.int32)), ["/context_length"]),
    "input_ids_2d": (lambda f: replace(f, "input_ids", np.zeros((2, f["input_ids"].shape[0] // 2), np.int32)), ["/input_ids"]),
    "labels_float": (lambda f: replace(f, "labels", f["labels"][...].astype(np.float32)), ["/labels", "integers"]),
    "passkeys_missing": (lambda f: f.__delitem__("passkeys"), ["/passkeys", "missing"]),
    "needle_far_negative": (lambda f: f["needle_pos"].__setitem__((0, 0), [-100000, -99990]), ["/needle_pos[0, 0]"]),
    "needle_beyond_sample": (lambda f: f["needle_pos"].__setitem__((0, 1), [10, 10 ** 9]), ["/needle_pos[0, 1]"]),
    "qa_start_negative": (lambda f: f["qa_start"].__setitem__(0, -50000), ["/qa_start"]),
    "passkey_outside_needle": (lambda f: f["passkey_pos"].__setitem__((0, 0), [0, 1]), ["/passkey_pos[0, 0]"]),
    "answer_before_qa": (lambda f: f["answer_pos"].__setitem__((0, 0), [0, 1]), ["/answer_pos[0, 0]"]),
    "offsets_huge_last": (lambda f: f["offsets"].__setitem__(-1, 2 ** 62), ["/offsets"]),
    "offsets_decreasing": (lambda f: f["offsets"].__setitem__(1, 5), ["/offsets"]),
    "negative_context_length": (lambda f: f["context_length"].__setitem__(0, -7), ["context_length"]),
    "negative_token_id": (lambda f: f["input_ids"].__setitem__(3, -5), ["/input_ids[3]"]),
    "attr_num_passkeys_contradicts": (lambda f: f.attrs.__setitem__("num_passkeys", np.int64(5)), ["num_passkeys"]),
    "attr_num_samples_contradicts": (lambda f: f.attrs.__setitem__("num_samples", np.int64(40)), ["num_samples"]),
}


def main():
    tmp = tempfile.mkdtemp(dir=os.environ.get("TMPDIR"))
    try:
        good = os.path.join(tmp, "good.h5")
        r = run(["synth", "--model", MODEL, "--dataset", CORPUS, "--out", good, "--num_samples", "4",
                 "--context_length_min", "300", "--context_length_max", "600", "--context_lengths_num_intervals", "2",
                 "--num_passkeys", "2", "--passkey_length", "2", "--buffer_size", "50",
                 "--depth_ratio_num_intervals", "10"])
        if r.returncode != 0:
            report("setup", False, r.stderr[-300:])
            return 1
        r = run(["synth", "--show", good, "--index", "0", "--no_color"])
        report("good_file_shows", r.returncode == 0 and "[[" in r.stdout, r.stderr[-200:])
        for name, (edit, words) in CASES.items():
            bad = os.path.join(tmp, name + ".h5")
            shutil.copy(good, bad)
            with h5py.File(bad, "r+") as f:
                edit(f)
            why = []
            for cmd in (["synth", "--show", bad, "--index", "0", "--no_color"],
                        ["train", "--model", MODEL, "--dataset", bad, "--num_steps", "5", "--sink_size", "16",
                         "--recent_size", "64", "--output_dir", os.path.join(tmp, "run-" + name)]):
                r = run(cmd)
                if r.returncode != 1:
                    why.append(f"{cmd[0]}: exit {r.returncode}: {r.stderr.strip()[-200:]}")
                elif not all(w in r.stderr for w in words):
                    why.append(f"{cmd[0]}: message lacks {words}: {r.stderr.strip()[-200:]}")
                elif "runtime error" in r.stderr or "AddressSanitizer" in r.stderr:
                    why.append(f"{cmd[0]}: sanitizer report")
            report(name, not why, "; ".join(why))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
