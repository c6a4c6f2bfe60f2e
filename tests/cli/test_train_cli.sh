#!/usr/bin/env bash
# `duo-train train` from the command line on the tiny Llama fixture and a small synthetic dataset:
# usage errors, the files of a run (read back with h5py and numpy), kill -9 during a run then --resume
# gives the same pattern byte for byte, and a NaN loss stops naming the step and keeps the checkpoint.
bin=${DUO_BIN:-build/duo-train}
build=${DUO_BUILD:-build}
py=${PYTHON:-python3}
T=$(mktemp -d "${TMPDIR:-/tmp}/train-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
export DUO_PROGRESS=1
pass() { echo "PASS: cli_train/$1"; }
fail() { echo "FAIL: cli_train/$1 ($2)"; }

DUO_TRAIN_DATASET_OUT="$T/data.h5" "$build/tests/test_train_real" make_dataset >/dev/null 2>&1
if [ ! -s "$T/data.h5" ]; then fail setup "could not build the dataset with $build/tests/test_train_real"; exit 1; fi
common=(--model tests/fixtures/tiny-llama --dataset "$T/data.h5" --num_steps 10 --save_steps 2
        --sink_size 16 --recent_size 64 --reg_weight 1.0 --lr 0.05)

usage() {  # name, expected status, args...
    local name=$1 want=$2; shift 2
    "$bin" train "$@" >/dev/null 2>"$T/err"; local rc=$?
    if [ "$rc" -eq "$want" ] && [ -s "$T/err" ]; then pass "$name"; else fail "$name" "exit $rc, expected $want: $(head -c 200 "$T/err")"; fi
}
usage no_dataset 2 --model tests/fixtures/tiny-llama
usage bad_streaming_impl 2 "${common[@]}" --streaming_attn_implementation flash
usage too_few_steps 2 "${common[@]}" --num_steps 3
usage bad_number 2 "${common[@]}" --lr abc
usage missing_model 1 --model "$T/nope" --dataset "$T/data.h5"
usage not_a_dataset 1 --model tests/fixtures/tiny-llama --dataset tests/fixtures/tiny-llama/config.json

# A straight run.
if "$bin" train "${common[@]}" --output_dir "$T/a" >"$T/out" 2>"$T/err"; then
    if grep -q "distill" "$T/err" && grep -q "lr" "$T/err"; then pass progress_on_stderr
    else fail progress_on_stderr "no progress line: $(head -c 200 "$T/err")"; fi
    missing=""
    for f in config.json full_attention_heads.tsv full_attention_heads_latest.tsv "full_attention_heads_step=2.tsv" \
             "full_attention_heads_step=10.tsv" full_attention_heads.png train_state.h5; do
        [ -s "$T/a/$f" ] || missing="$missing $f"
    done
    if [ -z "$missing" ]; then pass run_files; else fail run_files "missing:$missing"; fi
    if out=$("$py" - "$T/a" <<'PYEOF' 2>&1
import json, sys
import h5py, numpy as np
d = sys.argv[1]
with h5py.File(f"{d}/train_state.h5", "r") as f:
    assert f.attrs["step"] == 10, f.attrs["step"]
    gates = f["state/gates"][...]
    for k in ["distill", "reg", "loss", "lr", "sample_length", "context_length"]:
        assert f[f"log/{k}"].shape == (10,), k
    assert f["log/gate_history"].shape == (10, 2, 2)
    assert np.array_equal(f["log/gate_history"][-1], gates)
    assert f["state/exp_avg"].shape == (2, 2) and f["state/exp_avg_sq"].shape == (2, 2)
    lr = f["log/lr"][...]
    want = [0.05 * min(1, max((s + 1) / 2, 0.1), max((10 - s) / 2, 0.1)) for s in range(10)]
    assert np.allclose(lr, want, rtol=0, atol=1e-15), (lr, want)
    loss = f["log/distill"][...] + 1.0 * f["log/reg"][...]
    assert np.allclose(loss, f["log/loss"][...], rtol=1e-15)
tsv = np.loadtxt(f"{d}/full_attention_heads.tsv", dtype=float, delimiter="\t")
assert tsv.shape == (2, 2) and np.array_equal(tsv, gates.astype(float))
cfg = json.load(open(f"{d}/config.json"))
for k in ["sink_size", "recent_size", "lr", "reg_weight", "num_steps", "context_length_min", "context_length_max",
          "num_passkeys", "streaming_attn_implementation", "initial_value", "seed", "exp_name", "output_dir"]:
    assert k in cfg, k
assert cfg["sink_size"] == 16 and cfg["recent_size"] == 64 and cfg["lr"] == 0.05 and cfg["reg_weight"] == 1.0
assert cfg["exp_name"] == "tiny-llama/lr=0.05-reg=1.0-ctx=300_600-multi_passkey2", cfg["exp_name"]
PYEOF
    ); then pass state_read_by_h5py; else fail state_read_by_h5py "$(echo "$out" | tail -3 | tr '\n' ' ')"; fi
else
    fail straight_run "exit $?: $(tail -c 300 "$T/err")"
fi

# kill -9 during a run, then --resume: the same pattern as the straight run, byte for byte.
"$bin" train "${common[@]}" --output_dir "$T/b" >/dev/null 2>&1 &
pid=$!
# (the whole run takes a quarter of a second: poll every 2 ms, and stop it the moment step 2 is saved)
for _ in $(seq 1 5000); do
    [ -f "$T/b/full_attention_heads_step=2.tsv" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.002
done
kill -STOP "$pid" 2>/dev/null
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
if [ -f "$T/b/full_attention_heads.tsv" ]; then
    echo "SKIP: cli_train/kill_then_resume (the run finished before the kill)"
elif "$bin" train "${common[@]}" --output_dir "$T/b" --resume >/dev/null 2>"$T/err"; then
    if cmp -s "$T/a/full_attention_heads.tsv" "$T/b/full_attention_heads.tsv" && \
       cmp -s "$T/a/full_attention_heads_step=6.tsv" "$T/b/full_attention_heads_step=6.tsv"; then
        pass kill_then_resume
    else fail kill_then_resume "resumed pattern differs from the straight run"; fi
else
    fail kill_then_resume "resume failed: $(tail -c 300 "$T/err")"
fi

# NaN: resume a 4-step run with a copy of the model whose final norm is NaN.
mkdir -p "$T/nan/tiny-llama"
cp tests/fixtures/tiny-llama/* "$T/nan/tiny-llama/"
"$py" - "$T/nan/tiny-llama/model.safetensors" <<'PYEOF'
import json, struct, sys
import numpy as np
p = sys.argv[1]
data = bytearray(open(p, "rb").read())
n = struct.unpack("<Q", data[:8])[0]
hdr = json.loads(data[8:8 + n])
t = hdr["model.norm.weight"]
assert t["dtype"] == "F32"
a, b = t["data_offsets"]
data[8 + n + a:8 + n + b] = np.full((b - a) // 4, np.nan, dtype=np.float32).tobytes()
open(p, "wb").write(data)
PYEOF
"$bin" train "${common[@]}" --output_dir "$T/c" --stop_after 4 >/dev/null 2>&1
nan_args=("${common[@]}")
nan_args[1]="$T/nan/tiny-llama"
"$bin" train "${nan_args[@]}" --output_dir "$T/c" --resume >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -eq 1 ] && grep -q "step 5" "$T/err" && grep -q "not finite" "$T/err" && \
   grep -q "last checkpoint (step 4)" "$T/err" && [ ! -f "$T/c/full_attention_heads_step=5.tsv" ] && \
   "$py" -c "import h5py,sys; sys.exit(0 if h5py.File('$T/c/train_state.h5','r').attrs['step']==4 else 1)"; then
    pass nan_stops_keeps_checkpoint
else
    fail nan_stops_keeps_checkpoint "exit $rc: $(tail -c 300 "$T/err")"
fi

# Samples generated on the fly from a corpus (the model's tokenizer: a byte-level BPE with the 256
# byte tokens and a BOS, written here for the tiny Mistral fixture): a run works, and stop + resume
# gives the same pattern byte for byte (sample k is a pure function of the seed and k).
mkdir -p "$T/bytemodel"
cp tests/fixtures/models/tiny-mistral-gqa-f16/* "$T/bytemodel/"
"$py" - "$T/bytemodel/tokenizer.json" <<'PYEOF'
import json, sys
bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
cs = bs[:]
n = 0
for b in range(256):
    if b not in bs:
        bs.append(b); cs.append(256 + n); n += 1
bos = {"id": 256, "content": "<s>", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
       "special": True}
seq = lambda x, t: {"Sequence": {"id": x, "type_id": t}}
spec = lambda t: {"SpecialToken": {"id": "<s>", "type_id": t}}
json.dump({"version": "1.0", "truncation": None, "padding": None, "added_tokens": [bos], "normalizer": None,
           "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
           "post_processor": {"type": "TemplateProcessing", "single": [spec(0), seq("A", 0)],
                              "pair": [spec(0), seq("A", 0), spec(1), seq("B", 1)],
                              "special_tokens": {"<s>": {"id": "<s>", "ids": [256], "tokens": ["<s>"]}}},
           "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
           "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                     "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                     "vocab": {chr(c): b for b, c in zip(bs, cs)}, "merges": []}},
          open(sys.argv[1], "w"))
PYEOF
corpus_args=(--model "$T/bytemodel" --dataset tests/fixtures/corpus/synth_small.jsonl --context_length_min 300
             --context_length_max 1000 --buffer_size 50 --context_lengths_num_intervals 3 --num_passkeys 2
             --passkey_length 2 --depth_ratio_num_intervals 10 --num_steps 5 --save_steps 2 --sink_size 16
             --recent_size 64 --reg_weight 1.0)
if "$bin" train "${corpus_args[@]}" --output_dir "$T/corpus_a" >/dev/null 2>"$T/err" &&
   "$bin" train "${corpus_args[@]}" --output_dir "$T/corpus_b" --stop_after 3 >/dev/null 2>>"$T/err" &&
   "$bin" train "${corpus_args[@]}" --output_dir "$T/corpus_b" --resume >/dev/null 2>>"$T/err"; then
    if cmp -s "$T/corpus_a/full_attention_heads.tsv" "$T/corpus_b/full_attention_heads.tsv" &&
       "$py" -c "
import h5py, sys
f = h5py.File('$T/corpus_a/train_state.h5', 'r')
ctx = set(f['log/context_length'][...].tolist())
sys.exit(0 if ctx <= {300, 650, 1000} and len(ctx) > 1 and (f['log/sample_length'][...] > 300).all() else 1)"; then
        pass corpus_on_the_fly_resume
    else fail corpus_on_the_fly_resume "resumed pattern differs or unexpected sample lengths"; fi
else
    fail corpus_on_the_fly_resume "exit status nonzero: $(tail -c 300 "$T/err")"
fi
