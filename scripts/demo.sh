#!/usr/bin/env bash
# The one-command demo (README): on the bundled retrieval model and its bundled corpus, train the gates
# on the CPU, export the pattern at 50% sparsity, show the gates next to what the model's record
# measured (the accuracy drop when only that head streams): the heads the trainer keeps should be the
# heads whose loss breaks retrieval; then sweep the pattern on the DuoAttention inference path against
# random and inverted patterns of the same sparsity, and against two training-free rankings (`duo-train
# score`: kvpress's on-the-fly score and Wu et al.'s retrieval score), each timed next to the training.
#
#   scripts/demo.sh [OUTPUT_DIR]        (default demo_out; DUO_BIN overrides build/duo-train)
#
# DEMO_STEPS, DEMO_CTX_MIN, DEMO_CTX_MAX and DEMO_SWEEP_{SPARSITIES,CTX,SAMPLES,RANDOM} shorten the run:
# tests/cli/test_trainer_finds_heads.sh runs the demo that way and checks the gates it trains and what
# the sweep measures.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${DUO_BIN:-build/duo-train}
model=tests/fixtures/retrieval-model
corpus=tests/fixtures/retrieval-corpus/corpus.jsonl.zst
out=${1:-demo_out}
steps=${DEMO_STEPS:-200}
ctx_min=${DEMO_CTX_MIN:-1000}
ctx_max=${DEMO_CTX_MAX:-2000}
sweep_sparsities=${DEMO_SWEEP_SPARSITIES:-0,0.75,0.9375,1}
sweep_ctx=${DEMO_SWEEP_CTX:-1000,2000}
sweep_samples=${DEMO_SWEEP_SAMPLES:-5}
sweep_random=${DEMO_SWEEP_RANDOM:-1}
otf_samples=${DEMO_OTF_SAMPLES:-8}

for f in "$bin" "$model/config.json" "$model/retrieval_record.json" "$corpus"; do
    [ -e "$f" ] || { echo "demo: $f is missing (run make first; the fixture is committed)" >&2; exit 1; }
done

echo "== the model"
"$bin" inspect --model "$model"
echo
echo "== training one gate per KV head: $steps steps, samples of $ctx_min-$ctx_max haystack tokens (less after the cut) with one"
echo "   2-word passkey built on the fly from $corpus; reg_weight 1.0, sink 16, recent 64 (token level)"
rm -rf "$out/pattern" "$out/sweep" "$out/otf" "$out/retrieval"  # a previous demo run; nothing else in OUTPUT_DIR is touched
t_train=$(date +%s.%N)
"$bin" train --model "$model" --dataset "$corpus" --output_dir "$out/pattern" \
    --num_steps "$steps" --save_steps 50 --lr 0.02 --reg_weight 1.0 \
    --sink_size 16 --recent_size 64 --streaming_attn_implementation sdpa \
    --context_length_min "$ctx_min" --context_length_max "$ctx_max" --context_lengths_num_intervals 10 \
    --num_passkeys 1 --passkey_length 2 --seed 42
t_train=$(python3 -c "import sys, time; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$t_train")
echo
echo "== the pattern at 50% sparsity (DuoAttention loads $out/pattern/sparsity=0.5 as is)"
"$bin" export --pattern "$out/pattern" --sparsity 0.5
echo
echo "== trained gates against the record's ablation (accuracy drop at 1K when only that head streams)"
python3 - "$out/pattern/full_attention_heads.tsv" "$model/retrieval_record.json" <<'EOF'
import json, sys
gates = [[float(x) for x in line.split("\t")] for line in open(sys.argv[1]) if line.strip()]
record = json.load(open(sys.argv[2]))
drop = record["head_ablation"]["drop_exact"]
rows = sorted(((g, l, h) for l, row in enumerate(gates) for h, g in enumerate(row)), reverse=True)
print("rank  layer  kv_head   gate   ablation drop")
for rank, (g, l, h) in enumerate(rows, 1):
    print(f"{rank:4d}  {l:5d}  {h:7d}  {min(max(g, 0.0), 1.0):5.3f}   {drop[l][h]:+.2f}")
EOF
echo
echo "== training-free rankings (duo-train score): kvpress's on-the-fly score on $otf_samples corpus texts (first 1000"
echo "   tokens each), and the retrieval score on 5 passkey prompts of 1000 haystack tokens"
"$bin" score --model "$model" --method otf --dataset "$corpus" --samples "$otf_samples" --max_tokens 1000 \
    --sink_size 16 --recent_size 64 --output_dir "$out/otf" | tail -1
"$bin" score --model "$model" --method retrieval --prompts passkey --dataset "$corpus" --samples 5 \
    --context_lengths 1000 --num_passkeys 1 --passkey_length 2 --sink_size 16 --recent_size 64 \
    --output_dir "$out/retrieval" | tail -1
python3 - "$out" "$model/retrieval_record.json" "$t_train" <<'EOF'
import json, os, sys
out, rec, t_train = sys.argv[1], sys.argv[2], float(sys.argv[3])
drop = json.load(open(rec))["head_ablation"]["drop_exact"]
named = [(l, h) for l, row in enumerate(drop) for h, d in enumerate(row) if d >= 0.5]
print("method      seconds   rank of the ablation's head(s)   top 3 heads (layer, kv_head)")
for method, d in (("trained", "pattern"), ("otf", "otf"), ("retrieval", "retrieval")):
    v = [[float(x) for x in l.split("\t")] for l in open(os.path.join(out, d, "full_attention_heads.tsv")) if l.strip()]
    order = sorted(((l, h) for l in range(len(v)) for h in range(len(v[0]))), key=lambda i: (-v[i[0]][i[1]], i))
    secs = t_train if method == "trained" else json.load(open(os.path.join(out, d, "config.json")))["seconds"]
    ranks = ", ".join(f"{order.index(i) + 1} of {len(order)}" for i in named)
    print(f"{method:10s} {secs:8.1f}   {ranks:31s}  {order[:3]}")
print(f"(the record's ablation names {named}: accuracy drop >= 0.5 when that head alone streams)")
EOF
echo
echo "== what the patterns are worth: a short sweep on the DuoAttention inference path (passkey retrieval,"
echo "   $sweep_samples prompts per length; the trained pattern against seeded random and inverted patterns and"
echo "   the two training-free rankings)"
"$bin" sweep --model "$model" --pattern "$out/pattern" --dataset "$corpus" --task passkey \
    --sparsities "$sweep_sparsities" --context_lengths "$sweep_ctx" --samples "$sweep_samples" \
    --random_patterns "$sweep_random" --num_passkeys 1 --passkey_length 2 --output_dir "$out/sweep" \
    --compare "otf=$out/otf,retrieval=$out/retrieval"
