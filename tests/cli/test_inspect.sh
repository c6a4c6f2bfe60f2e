#!/usr/bin/env bash
# duo-train inspect on every committed checkpoint: its --json figures against ones Python computes from
# config.json, the file sizes and reference.json (numpy's parameter counts, checked against transformers
# when the fixtures were made); the text form; and broken models / bad usage (exit 1 / 2, one message).
bin=${DUO_BIN:-build/duo-train}
py=${PYTHON:-python3}
models=tests/fixtures/models
tmp=$(mktemp -d "${TMPDIR:-/tmp}/inspect.XXXXXX")

pass() { echo "PASS: cli_inspect/$1"; }
fail() { echo "FAIL: cli_inspect/$1 ($2)"; }

# Python oracle: every figure inspect reports, from the files themselves.
check_json() {  # name, model dir
    local name=$1 dir=$2
    if ! "$bin" inspect --model "$dir" --json >"$tmp/out.json" 2>"$tmp/err"; then
        fail "$name" "exit $?: $(head -c 300 "$tmp/err")"; return
    fi
    local why
    why=$("$py" - "$dir" "$tmp/out.json" "$models/reference.json" <<'EOF'
import json, os, sys
from math import prod
d, out, refp = sys.argv[1:4]
got = json.load(open(out))
cfg = json.load(open(os.path.join(d, "config.json")))
refs = json.load(open(refp))
ref = refs.get(os.path.basename(os.path.normpath(d)), refs["tiny-llama-gqa"])  # tiny-llama is a copy of it
L, H, kv = cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"])
hd = cfg.get("head_dim") or cfg["hidden_size"] // H
nbytes = {"F32": 4, "F16": 2, "BF16": 2}[ref["dtype"]]
files = sorted(f for f in os.listdir(d) if f.endswith(".safetensors"))
rp = cfg.get("rope_parameters") or {}  # transformers 5.x writes this (the Qwen fixtures) instead of the next two
rs = cfg.get("rope_scaling") or rp
theta = cfg.get("rope_theta", rp.get("rope_theta"))
want = {
    "num_hidden_layers": L, "num_attention_heads": H, "num_key_value_heads": kv, "head_dim": hd,
    "hidden_size": cfg["hidden_size"], "intermediate_size": cfg["intermediate_size"], "vocab_size": cfg["vocab_size"],
    "gqa_group_size": H // kv, "num_gates": L * kv, "tie_word_embeddings": cfg["tie_word_embeddings"],
    "kv_cache_bytes_per_token": 2 * L * kv * hd * nbytes, "kv_cache_bytes_per_token_bf16": 2 * L * kv * hd * 2,
    "num_params": ref["num_params"], "num_params_non_embedding": ref["num_params_non_embedding"],
    "weights_dtype": ref["dtype"], "weight_bytes": sum(nbytes * prod(t["shape"]) for t in ref["tensors"].values()),
    "file_bytes": sum(os.path.getsize(os.path.join(d, f)) for f in files),
    "model_type": cfg["model_type"], "architecture": cfg["architectures"][0],
    "sliding_window": cfg.get("sliding_window"),
    # transformers' Qwen2Attention always biases q/k/v; Qwen3 norms every q/k head
    "attention_bias": cfg["model_type"] == "qwen2", "qk_norm": cfg["model_type"] == "qwen3",
    "eos_token_id": cfg["eos_token_id"][0] if isinstance(cfg["eos_token_id"], list) else cfg["eos_token_id"],
}
bad = [f"{k}: {got.get(k)!r} != {v!r}" for k, v in want.items() if got.get(k) != v]
if got["rope"]["type"] != rs.get("rope_type", rs.get("type", "default")) or got["rope"]["theta"] != theta:
    bad.append(f"rope {got['rope']}")
if [s["file"] for s in got["shards"]] != files:
    bad.append(f"shards {got['shards']}")
print("; ".join(bad))
EOF
)
    if [ -n "$why" ]; then fail "$name" "$why"; else pass "$name"; fi
}

for d in "$models"/*/; do
    check_json "json_$(basename "$d")" "$d"
done
check_json json_demo tests/fixtures/tiny-llama

# The text form carries the same figures.
if out=$("$bin" inspect --model tests/fixtures/tiny-llama 2>&1) &&
   grep -q '^gates  *4 (2 layers x 2 KV heads)' <<<"$out" &&
   grep -q '^parameters  *34,976 total, 18,592 non-embedding' <<<"$out" &&
   grep -q '^KV cache per token  *256 bytes in F32, 128 bytes in BF16' <<<"$out" &&
   grep -q '^GQA group size  *2' <<<"$out"; then
    pass text_demo
else
    fail text_demo "$(head -c 400 <<<"$out")"
fi
if out=$("$bin" inspect --model "$models/tiny-llama3-rope-headdim" 2>&1) &&
   grep -q '^rope  *llama3, theta 500000, factor 8, low_freq_factor 1, high_freq_factor 4, original_max_position_embeddings 256' <<<"$out" &&
   grep -q '^head_dim  *16 (explicit' <<<"$out"; then
    pass text_llama3
else
    fail text_llama3 "$(head -c 400 <<<"$out")"
fi

# Failures: exit status, and one line on stderr that contains the expected words.
expect_error() {  # name, status, needle, command...
    local name=$1 want=$2 needle=$3; shift 3
    "$@" >/dev/null 2>"$tmp/err"; local rc=$?
    if [ "$rc" -ne "$want" ]; then fail "$name" "exit $rc, expected $want: $(head -c 300 "$tmp/err")"; return; fi
    if ! grep -qF -- "$needle" "$tmp/err"; then fail "$name" "no '$needle' in: $(head -c 300 "$tmp/err")"; return; fi
    if [ "$want" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -ne 1 ]; then fail "$name" "not one line: $(cat "$tmp/err")"; return; fi
    pass "$name"
}
copy_model() {  # source dir -> fresh copy under $tmp, printed
    local dst
    dst=$(mktemp -d "$tmp/model.XXXXXX")
    cp "$1"/* "$dst"/
    echo "$dst"
}

expect_error usage_no_model 2 "--model DIR is required" "$bin" inspect
expect_error usage_unknown 2 "unknown option '--frobnicate'" "$bin" inspect --frobnicate --model x
expect_error usage_extra 2 "unexpected argument 'extra'" "$bin" inspect --model x extra
expect_error usage_missing_value 2 "--model needs a value" "$bin" inspect --model
expect_error missing_folder 1 "$tmp/nothing: not a model folder" "$bin" inspect --model "$tmp/nothing"

m=$(copy_model "$models/tiny-llama-gqa")
head -c 5000 "$models/tiny-llama-gqa/model.safetensors" >"$m/model.safetensors"
expect_error truncated 1 "$m/model.safetensors: tensor '" "$bin" inspect --model "$m"

m=$(copy_model "$models/tiny-llama-gqa")
"$py" -c "import struct,sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[0:8]=struct.pack('<Q', len(b)); open(p,'wb').write(b)" "$m/model.safetensors"
expect_error header_length 1 "$m/model.safetensors: header length" "$bin" inspect --model "$m"

m=$(copy_model "$models/tiny-llama-gqa")
sed -i 's/"hidden_size": 32/"hidden_size": 48/' "$m/config.json"
expect_error wrong_shape 1 "has shape [256, 32], expected [256, 48] from config.json" "$bin" inspect --model "$m"

m=$(copy_model "$models/tiny-llama-gqa")
sed -i 's/"num_hidden_layers": 2/"num_hidden_layers": 3/' "$m/config.json"
expect_error missing_tensor 1 "tensor 'model.layers.2.input_layernorm.weight' is missing" "$bin" inspect --model "$m"

m=$(copy_model "$models/tiny-llama-gqa")
sed -i 's/"model_type": "llama"/"model_type": "gpt2"/' "$m/config.json"
expect_error unsupported 1 "$m/config.json: model_type 'gpt2' is not supported" "$bin" inspect --model "$m"

m=$(copy_model "$models/tiny-llama-gqa")
sed -i '/"vocab_size"/d; s/"use_cache": true,/"use_cache": true/' "$m/config.json"
expect_error missing_field 1 "$m/config.json: missing field 'vocab_size'" "$bin" inspect --model "$m"

m=$(copy_model "$models/tiny-llama-sharded")
rm "$m/model-00002-of-00002.safetensors"
expect_error missing_shard 1 "$m/model-00002-of-00002.safetensors: cannot open" "$bin" inspect --model "$m"

m=$(copy_model "$models/tiny-llama-sharded")
echo '{"weight_map": {' >"$m/model.safetensors.index.json"
expect_error bad_index 1 "$m/model.safetensors.index.json: not valid JSON" "$bin" inspect --model "$m"

rm -rf "$tmp"
