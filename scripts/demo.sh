#!/usr/bin/env bash
# The one-command demo (README): on the bundled retrieval model and its bundled corpus, train the gates
# on the CPU, export the pattern at 50% sparsity, show the gates next to what the model's record
# measured (the accuracy drop when only that head streams): the heads the trainer keeps should be the
# heads whose loss breaks retrieval; then sweep the pattern on the DuoAttention inference path against
# random and inverted patterns of the same sparsity.
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
sweep_random=${DEMO_SWEEP_RANDOM:-2}

for f in "$bin" "$model/config.json" "$model/retrieval_record.json" "$corpus"; do
    [ -e "$f" ] || { echo "demo: $f is missing (run make first; the fixture is committed)" >&2; exit 1; }
done

echo "== the model"
"$bin" inspect --model "$model"
echo
echo "== training one gate per KV head: $steps steps, samples of $ctx_min-$ctx_max haystack tokens (less after the cut) with one"
echo "   2-word passkey built on the fly from $corpus; reg_weight 1.0, sink 16, recent 64 (token level)"
rm -rf "$out/pattern" "$out/sweep"  # a previous demo run; nothing else in OUTPUT_DIR is touched
"$bin" train --model "$model" --dataset "$corpus" --output_dir "$out/pattern" \
    --num_steps "$steps" --save_steps 50 --lr 0.02 --reg_weight 1.0 \
    --sink_size 16 --recent_size 64 --streaming_attn_implementation sdpa \
    --context_length_min "$ctx_min" --context_length_max "$ctx_max" --context_lengths_num_intervals 10 \
    --num_passkeys 1 --passkey_length 2 --seed 42
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
echo "== what the pattern is worth: a short sweep on the DuoAttention inference path (passkey retrieval,"
echo "   $sweep_samples prompts per length; the pattern against seeded random and inverted patterns)"
"$bin" sweep --model "$model" --pattern "$out/pattern" --dataset "$corpus" --task passkey \
    --sparsities "$sweep_sparsities" --context_lengths "$sweep_ctx" --samples "$sweep_samples" \
    --random_patterns "$sweep_random" --num_passkeys 1 --passkey_length 2 --output_dir "$out/sweep"
