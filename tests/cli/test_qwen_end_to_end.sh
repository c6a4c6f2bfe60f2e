#!/usr/bin/env bash
# Qwen2 (q/k/v biases, tied embeddings) and Qwen3 (per-head q/k norms, explicit head_dim) folders through
# every command a user runs: inspect, synth, train (both streaming forms), export.  The tiny checkpoints
# carry no tokenizer; each gets a copy of a 256-token byte-level tokenizer with the NFC normaliser (Qwen's
# normal form), whose ids for the bundled corpus's ASCII text stay below both models' vocabularies.
bin=${DUO_BIN:-build/duo-train}
corpus=tests/fixtures/retrieval-corpus/corpus.jsonl.zst
pass() { echo "PASS: cli_qwen/$1"; }
fail() { echo "FAIL: cli_qwen/$1 ($2)"; }

for name in tiny-qwen2-gqa-bf16-tied tiny-qwen3-headdim; do
    m="$TMPDIR/$name"
    mkdir -p "$m"
    cp tests/fixtures/models/$name/config.json tests/fixtures/models/$name/model.safetensors "$m/"
    cp tests/fixtures/tokenizers/tiny_nfc.json "$m/tokenizer.json"
    "$bin" inspect --model "$m" >"$TMPDIR/out" 2>"$TMPDIR/err" && grep -q "^architecture *qwen" "$TMPDIR/out" &&
        pass "${name}_inspect" || fail "${name}_inspect" "$(head -c 300 "$TMPDIR/err")"
    DUO_PROGRESS=0 "$bin" synth --model "$m" --dataset "$corpus" --out "$TMPDIR/$name.h5" --num_samples 3 \
        --context_length_min 700 --context_length_max 900 --context_lengths_num_intervals 2 --buffer_size 50 --num_passkeys 1 \
        --passkey_length 2 >/dev/null 2>"$TMPDIR/err" && pass "${name}_synth" || fail "${name}_synth" "$(head -c 300 "$TMPDIR/err")"
    for form in sdpa blocksparse; do
        out="$TMPDIR/$name-$form"
        DUO_PROGRESS=0 "$bin" train --model "$m" --dataset "$TMPDIR/$name.h5" --output_dir "$out" --num_steps 6 \
            --save_steps 3 --reg_weight 1.0 --sink_size 8 --recent_size 32 --streaming_attn_implementation $form \
            >"$TMPDIR/out" 2>"$TMPDIR/err"; rc=$?
        # every gate moved off its initial value: the gradient reached each one through the biases and norms
        moved=$(python3 -c "
rows = [l.split() for l in open('$out/full_attention_heads.tsv')]
print(all(abs(float(v) - 1.0) > 1e-6 for r in rows for v in r) and len(rows) > 0)" 2>/dev/null)
        [ $rc -eq 0 ] && [ "$moved" = True ] && pass "${name}_train_$form" ||
            fail "${name}_train_$form" "exit $rc, gates moved: $moved: $(head -c 300 "$TMPDIR/err")"
    done
    "$bin" export --pattern "$TMPDIR/$name-sdpa" --sparsity 0.5 >/dev/null 2>"$TMPDIR/err" &&
        [ -f "$TMPDIR/$name-sdpa/sparsity=0.5/full_attention_heads.tsv" ] && pass "${name}_export" ||
        fail "${name}_export" "$(head -c 300 "$TMPDIR/err"; ls "$TMPDIR/$name-sdpa")"
done
exit 0
