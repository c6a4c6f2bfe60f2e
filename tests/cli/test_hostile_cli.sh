#!/usr/bin/env bash
# Hostile inputs from the command line (issue 13): each case builds its bad input here and checks the
# outcome: no crash, no hang, no silent wrong result, nothing of the user's lost.  One regression check
# per class (crashes, silent wrong results, data loss, hangs, messages and exit codes).
bin=${DUO_BIN:-build/duo-train}
build=${DUO_BUILD:-build}
py=${PYTHON:-python3}
T=$(mktemp -d "${TMPDIR:-/tmp}/hostile-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
export DUO_PROGRESS=0
pass() { echo "PASS: cli_hostile/$1"; }
fail() { echo "FAIL: cli_hostile/$1 ($2)"; }
# check NAME WANT_STATUS GREP_PATTERN CMD...: exit status and a message matching the pattern on stderr
check() {
    local name=$1 want=$2 pat=$3; shift 3
    timeout -k 10 120 "$@" >"$T/out" 2>"$T/err"; local rc=$?
    if [ "$rc" -eq "$want" ] && grep -qE -- "$pat" "$T/err" && ! grep -qE "runtime error|AddressSanitizer" "$T/err"; then
        pass "$name"
    else
        fail "$name" "exit $rc, expected $want /$pat/: $(head -c 300 "$T/err")"
    fi
}

DUO_TRAIN_DATASET_OUT="$T/data.h5" "$build/tests/test_train_real" make_dataset >/dev/null 2>&1
[ -s "$T/data.h5" ] || { fail setup "no dataset"; exit 1; }
tiny=(--model tests/fixtures/tiny-llama --dataset "$T/data.h5" --num_steps 10 --save_steps 2 --sink_size 16
      --recent_size 64 --reg_weight 1.0 --lr 0.05)
rmodel=tests/fixtures/retrieval-model
corpus=tests/fixtures/retrieval-corpus/corpus.jsonl.zst
small=(--context_length_min 300 --context_length_max 600 --context_lengths_num_intervals 2 --num_passkeys 2
       --passkey_length 2 --buffer_size 50 --depth_ratio_num_intervals 10)

# ---- 1. crashes ------------------------------------------------------------------------------
# A full disk while saving a checkpoint (simulated with RLIMIT_FSIZE, SIGXFSZ ignored so write() fails
# with EFBIG): status 1 naming the state file, the previous checkpoint intact, no temporary file left.
"$bin" train "${tiny[@]}" --output_dir "$T/disk" --stop_after 2 >/dev/null 2>&1
cp "$T/disk/train_state.h5" "$T/state-step2.h5"
size=$(stat -c %s "$T/disk/train_state.h5")
(trap '' XFSZ; ulimit -f $(( size / 1024 )); exec "$bin" train "${tiny[@]}" --output_dir "$T/disk" --resume) >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -eq 1 ] && grep -q "train_state.h5" "$T/err" && ! grep -q "tmp\." "$T/err" && cmp -s "$T/disk/train_state.h5" "$T/state-step2.h5" &&
   [ -z "$(ls "$T/disk" | grep 'tmp\.')" ] && "$bin" train "${tiny[@]}" --output_dir "$T/disk" --resume >/dev/null 2>&1; then
    pass full_disk_keeps_checkpoint
else
    fail full_disk_keeps_checkpoint "exit $rc: $(head -c 300 "$T/err"); files: $(ls "$T/disk" | tr '\n' ' ')"
fi
# The largest window the option accepts trains (sink + recent >= n is full attention) without a crash.
check sink_size_int_max 0 "note: sink_size" "$bin" train --model "$rmodel" --dataset "$T/data.h5" --num_steps 5 \
    --sink_size 2147483647 --recent_size 64 --output_dir "$T/bigsink"
mkdir -p "$T/empty"
check bench_tokenizer_empty_dir 1 "no .txt files" "$bin" bench tokenizer --model "$rmodel" --text "$T/empty"

# ---- 2. silent wrong results ------------------------------------------------------------------
check sink_size_beyond_32_bits 2 "sink_size must be between" "$bin" train "${tiny[@]}" --sink_size 4294967312
check context_length_beyond_32_bits 2 "context_length_min must be between" "$bin" train --model "$rmodel" \
    --dataset "$corpus" --context_length_min 4294967796
check synth_context_beyond_32_bits 2 "context_length_max must be between" "$bin" synth --model "$rmodel" \
    --dataset "$corpus" --out "$T/x.h5" --context_length_max 4294967796
printf '{"text": "one two three. \\u0000 four five six seven."}\n' > "$T/nul.jsonl"
check corpus_nul_named 1 "nul.jsonl:1: .*NUL" "$bin" synth --model "$rmodel" --dataset "$T/nul.jsonl" --out "$T/nul.h5" \
    --context_length_min 10 --context_length_max 20 --allow_repeat
# in a .txt file the NUL's own line is named (it was the file's index among the corpus files)
printf 'one two three four.\nfive six \000 seven eight.\n' > "$T/nul.txt"
check corpus_nul_txt_line 1 "nul.txt:2: .*NUL" "$bin" synth --model "$rmodel" --dataset "$T/nul.txt" --out "$T/nult.h5" \
    --context_length_min 10 --context_length_max 20 --allow_repeat
# samples built with another tokenizer
"$bin" synth --model "$rmodel" --dataset "$corpus" --out "$T/rm.h5" --num_samples 2 "${small[@]}" >/dev/null 2>&1
mkdir -p "$T/othertok"
cp "$rmodel"/* "$T/othertok/"
cp tests/fixtures/tokenizers/llama3_bpe.json "$T/othertok/tokenizer.json" 2>/dev/null
check other_tokenizer_refused 1 "another tokenizer" "$bin" train --model "$T/othertok" --dataset "$T/rm.h5" --num_steps 5 \
    --output_dir "$T/othertok-run"
# --resume with another checkpoint in a folder of the same name
mkdir -p "$T/w/tiny-llama"
cp tests/fixtures/tiny-llama/* "$T/w/tiny-llama/"
"$py" - "$T/w/tiny-llama/model.safetensors" <<'PYEOF'
import json, struct, sys
p = sys.argv[1]
data = bytearray(open(p, "rb").read())
n = struct.unpack("<Q", data[:8])[0]
hdr = json.loads(data[8:8 + n])
name = next(k for k, v in hdr.items() if k != "__metadata__" and len(v["shape"]) == 2)
a, b = hdr[name]["data_offsets"]
for i in range(8 + n + a, 8 + n + b, 97):
    data[i] ^= 0x01
open(p, "wb").write(data)
PYEOF
"$bin" train "${tiny[@]}" --output_dir "$T/fp" --stop_after 2 >/dev/null 2>&1
other=("${tiny[@]}")
other[1]="$T/w/tiny-llama"
check resume_other_weights_refused 1 "refusing to resume.*weights" "$bin" train "${other[@]}" --output_dir "$T/fp" --resume
# a bit flip inside train_state.h5
cp -r "$T/fp" "$T/flip"
"$py" - "$T/flip/train_state.h5" <<'PYEOF'
import sys, h5py
p = sys.argv[1]
with h5py.File(p, "r") as f:
    off = f["state/exp_avg"].id.get_offset()
with open(p, "r+b") as f:
    f.seek(off + 2)
    b = f.read(1)
    f.seek(off + 2)
    f.write(bytes([b[0] ^ 0x10]))
PYEOF
check state_bit_flip_refused 1 "damaged.*checksum" "$bin" train "${tiny[@]}" --output_dir "$T/flip" --resume
# export: NaN gates, a NUL byte in the TSV
mkdir -p "$T/pat"
cp "$T/disk/config.json" "$T/pat/"
printf '0.5\tnan\n0.25\t0.75\n' > "$T/pat/full_attention_heads.tsv"
check export_nan_refused 1 "not a finite number" "$bin" export --pattern "$T/pat" --sparsity 0.5 --output "$T/pat-out"
printf '0.5\t0.1\n\0000.25\t0.75\n' > "$T/pat/full_attention_heads.tsv"
check export_nul_refused 1 "line 2: a NUL byte" "$bin" export --pattern "$T/pat" --sparsity 0.5 --output "$T/pat-out"
# resuming a finished run reports the logged losses, not zeros
"$bin" train "${tiny[@]}" --output_dir "$T/done" >"$T/done.out" 2>/dev/null
"$bin" train "${tiny[@]}" --output_dir "$T/done" --resume >"$T/done2.out" 2>/dev/null
if grep -q "trained" "$T/done2.out" && ! grep -q "distill 0, reg 0" "$T/done2.out" &&
   [ "$(grep -o 'distill [^)]*' "$T/done.out")" = "$(grep -o 'distill [^)]*' "$T/done2.out")" ]; then
    pass finished_run_reports_logged_losses
else fail finished_run_reports_logged_losses "$(cat "$T/done2.out" | head -2)"; fi

# ---- 3. data loss -----------------------------------------------------------------------------
cp -r "$rmodel" "$T/model"
sum_before=$(cat "$T/model"/* | md5sum)
check output_dir_is_model_folder 1 "model folder" "$bin" train --model "$T/model" --dataset "$T/rm.h5" --num_steps 5 \
    --output_dir "$T/model"
check output_dir_holds_a_model 1 "looks like a model folder" "$bin" train "${tiny[@]}" --output_dir "$T/model" --overwrite
if [ "$(cat "$T/model"/* | md5sum)" = "$sum_before" ]; then pass model_folder_untouched; else fail model_folder_untouched "changed"; fi
cp "$corpus" "$T/corpus.jsonl.zst"
cp "$rmodel/tokenizer.json" "$T/tok.json"
check synth_out_is_dataset 1 "is the --dataset" "$bin" synth --model "$rmodel" --dataset "$T/corpus.jsonl.zst" \
    --out "$T/corpus.jsonl.zst" "${small[@]}"
check synth_out_is_tokenizer 1 "tokenizer file" "$bin" synth --tokenizer "$T/tok.json" --dataset "$corpus" --out "$T/tok.json" "${small[@]}"
check synth_out_not_a_synth_file 1 "not a duo-train synth file" "$bin" synth --model "$rmodel" --dataset "$corpus" \
    --out "$T/model/config.json" "${small[@]}"
if cmp -s "$T/corpus.jsonl.zst" "$corpus" && cmp -s "$T/tok.json" "$rmodel/tokenizer.json"; then pass synth_inputs_untouched
else fail synth_inputs_untouched "an input changed"; fi
cp "$T/done/full_attention_heads.tsv" "$T/gates-before.tsv"
check export_output_is_pattern 1 "is the --pattern folder" "$bin" export --pattern "$T/done" --sparsity 0.5 --output "$T/done"
check export_output_holds_gates 1 "real-valued gates" "$bin" export --pattern "$T/done" --sparsity 0.5 --output "$T/disk"
if cmp -s "$T/gates-before.tsv" "$T/done/full_attention_heads.tsv"; then pass trained_gates_untouched
else fail trained_gates_untouched "changed"; fi
# a second training into a folder another one holds (the lock held here by a stand-in process)
mkdir -p "$T/locked"
"$py" -c "
import fcntl, os, sys, time
fd = os.open('$T/locked/.duo-train.lock', os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, b'%d\n' % os.getpid()); open('$T/locked.ready', 'w').close(); time.sleep(30)" &
holder=$!
for _ in $(seq 1 100); do [ -f "$T/locked.ready" ] && break; sleep 0.1; done
check second_training_refused 1 "in use by another training \\(pid $holder\\)" "$bin" train "${tiny[@]}" --output_dir "$T/locked"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
# a new run over an old one is refused; --overwrite replaces it whole
check new_run_over_old_refused 1 "holds an earlier run.*--overwrite" "$bin" train "${tiny[@]}" --output_dir "$T/done" --lr 0.1
"$bin" train "${tiny[@]}" --output_dir "$T/done" --lr 0.1 --stop_after 3 --overwrite >/dev/null 2>&1
if [ ! -f "$T/done/full_attention_heads_step=10.tsv" ] && [ ! -f "$T/done/full_attention_heads.tsv" ] &&
   grep -q '"lr": 0.1' "$T/done/config.json" && "$py" -c "import h5py,sys; sys.exit(int(h5py.File('$T/done/train_state.h5','r').attrs['step'] != 3))"; then
    pass overwrite_leaves_one_run
else fail overwrite_leaves_one_run "$(ls "$T/done" | tr '\n' ' ')"; fi
# --stop_after between save steps saves the state; --resume without a state says it starts anew
"$bin" train "${tiny[@]}" --save_steps 50 --stop_after 3 --output_dir "$T/stop" >"$T/out" 2>&1
if grep -q "train_state.h5" "$T/out" && "$py" -c "import h5py,sys; sys.exit(int(h5py.File('$T/stop/train_state.h5','r').attrs['step'] != 3))"; then
    pass stop_after_saves_state
else fail stop_after_saves_state "$(head -c 300 "$T/out")"; fi
check resume_without_state_says_new_run 0 "no saved state; starting a new run" "$bin" train "${tiny[@]}" --output_dir "$T/fresh" --resume
# Ctrl-C during training: the state of the step boundary is saved, the message says how to resume
"$bin" train "${tiny[@]}" --num_steps 400 --save_steps 1000 --output_dir "$T/int" >/dev/null 2>"$T/err" &
pid=$!
# the handler is installed before config.json is written; a signal before it would be ignored (a
# background job of a non-interactive shell starts with SIGINT ignored)
for _ in $(seq 1 300); do [ -f "$T/int/config.json" ] && break; sleep 0.1; done
sleep 0.5
kill -INT "$pid"
wait "$pid"; rc=$?
if [ "$rc" -eq 130 ] && grep -q "interrupted after step" "$T/err" && grep -q -- "--resume" "$T/err" &&
   [ -f "$T/int/train_state.h5" ] && [ -z "$(ls "$T/int" | grep 'tmp\.')" ]; then pass ctrl_c_saves_state
else fail ctrl_c_saves_state "exit $rc: $(head -c 300 "$T/err")"; fi
# Ctrl-C during synth: no temporary file left, no output written
"$bin" synth --model "$rmodel" --dataset "$corpus" --out "$T/int.h5" --num_samples 100000000 "${small[@]}" >/dev/null 2>"$T/err" &
pid=$!
for _ in $(seq 1 300); do ls "$T" | grep -q 'int.h5.tmp' && break; sleep 0.1; done
kill -INT "$pid"
wait "$pid"; rc=$?
if [ "$rc" -eq 130 ] && [ ! -e "$T/int.h5" ] && [ -z "$(ls "$T" | grep 'int.h5.tmp')" ]; then pass ctrl_c_synth_no_temp
else fail ctrl_c_synth_no_temp "exit $rc: $(ls "$T" | grep int.h5) $(head -c 200 "$T/err")"; fi
# kill -9 leaves a temporary file; the next write of that file removes it
touch "$T/stop/train_state.h5.tmp.999999999"
"$bin" train "${tiny[@]}" --save_steps 50 --output_dir "$T/stop" --resume --stop_after 4 >/dev/null 2>&1
if [ ! -e "$T/stop/train_state.h5.tmp.999999999" ]; then pass stale_temp_removed; else fail stale_temp_removed "still there"; fi

# ---- 4. hangs ---------------------------------------------------------------------------------
mkdir -p "$T/fifo-model"
cp tests/fixtures/tiny-llama/config.json "$T/fifo-model/"
mkfifo "$T/fifo-model/model.safetensors"
check fifo_safetensors 1 "not a regular file" "$bin" train --model "$T/fifo-model" --dataset "$T/data.h5"
rm "$T/fifo-model/config.json"
mkfifo "$T/fifo-model/config.json"
check fifo_config 1 "not a regular file" "$bin" inspect --model "$T/fifo-model"
mkdir -p "$T/fifo-tokcfg"
cp "$rmodel"/config.json "$rmodel"/model.safetensors "$rmodel"/tokenizer.json "$T/fifo-tokcfg/"
mkfifo "$T/fifo-tokcfg/tokenizer_config.json"
check fifo_tokenizer_config 1 "tokenizer_config.json: not a regular file" "$bin" synth --model "$T/fifo-tokcfg" \
    --dataset "$corpus" --out "$T/ftc.h5" "${small[@]}" --num_samples 1
mkdir -p "$T/fifo-outdir"
mkfifo "$T/fifo-outdir/config.json"
check fifo_output_dir_config 1 "fifo-outdir.*(holds|refuse|run|config.json)" "$bin" train "${tiny[@]}" --output_dir "$T/fifo-outdir"
mkfifo "$T/fifo.jsonl"
check fifo_corpus 1 "not a regular file" "$bin" synth --model "$rmodel" --dataset "$T/fifo.jsonl" --out "$T/f.h5"

# A context length far beyond the model or the machine is refused before the builder grows to it
# (10^9 tokens used to take 15 GB and minutes): above --model's max_position_embeddings (status 2),
# above what the machine's memory holds at the builder's bytes per token (status 1).
check synth_context_beyond_model_positions 2 "context_length_max 5000 is more than the model's max_position_embeddings 4096" \
    "$bin" synth --model "$rmodel" --dataset "$corpus" --out "$T/pos.h5" --context_length_min 100 --context_length_max 5000
mkdir -p "$T/hay" && head -c 3000 "$rmodel/retrieval_record.json" > "$T/hay/a.txt"
check train_context_beyond_model_positions 2 "context_length_max 5000 is more than the model's max_position_embeddings 4096" \
    "$bin" train --model "$rmodel" --dataset "$corpus" --output_dir "$T/pos_train" --context_length_max 5000
check niah_context_beyond_model_positions 2 "context_length 1000000000 is more than the model's max_position_embeddings 4096" \
    "$bin" synth --niah --haystack_dir "$T/hay" --model "$rmodel" --context_length 1000000000 --depth_percent 50
mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
if [ "$mem_kb" -lt $(( (1 << 30) * 128 / 1024 )) ]; then
    check synth_context_beyond_memory 1 "context_length_max 1073741824 needs about 128.0 GiB.*more than this machine" \
        "$bin" synth --tokenizer "$rmodel" --dataset "$corpus" --out "$T/mem.h5" --context_length_max 1073741824
    check niah_context_beyond_memory 1 "context_length 1073741824 needs about 128.0 GiB" \
        "$bin" synth --niah --haystack_dir "$T/hay" --tokenizer "$rmodel" --context_length 1073741824 --depth_percent 50
else echo "SKIP: cli_hostile/synth_context_beyond_memory (this machine holds 2^30 tokens at 128 bytes each)"; fi

# ---- 5. messages and exit codes ---------------------------------------------------------------
# a pattern's config.json that is JSON but not an object: said so, without a "line -1"
mkdir -p "$T/arraycfg" && printf '1.0\t0.5\n0.2\t0.9\n' > "$T/arraycfg/full_attention_heads.tsv" && echo '[1, 2]' > "$T/arraycfg/config.json"
check export_config_not_object 1 "arraycfg/config.json: not a JSON object" "$bin" export --pattern "$T/arraycfg" --sparsity 0.5 \
    --output "$T/arraycfg-out"
if grep -q "line -1" "$T/err"; then fail export_config_no_line_minus_1 "$(cat "$T/err")"; else pass export_config_no_line_minus_1; fi
check train_bad_depth_ratio_exit_2 2 "min_needle_depth_ratio" "$bin" train --model "$rmodel" --dataset "$corpus" \
    --min_needle_depth_ratio 1.5
"$bin" train "${tiny[@]}" --lr 2>"$T/err" >/dev/null
if [ "$(grep -c 'duo-train train:' "$T/err")" -eq 1 ] && grep -q "'--lr' needs a value" "$T/err" && ! grep -q unknown "$T/err"; then
    pass missing_value_reported_once
else fail missing_value_reported_once "$(cat "$T/err")"; fi
check synth_missing_dataset_named 1 "dataset.*nope.jsonl" "$bin" synth --model "$rmodel" --dataset "$T/nope.jsonl" --out "$T/y.h5"
echo "not hdf5" > "$T/fake.h5"
check non_hdf5_h5_not_a_corpus 1 "not an HDF5 file" "$bin" train --model "$rmodel" --dataset "$T/fake.h5"
check threshold_out_of_range 2 "threshold must be between 0 and 1" "$bin" export --pattern "$T/done" --threshold 1.5
printf '\xef\xbb\xbf{"text": "a bom line. the road went on and on."}\n{"text": "second line of the story."}\n' > "$T/bom.jsonl"
check jsonl_bom_accepted 0 "" "$bin" synth --model "$rmodel" --dataset "$T/bom.jsonl" --out "$T/bom.h5" --num_samples 1 \
    --context_length_min 100 --context_length_max 200 --buffer_size 5 --num_passkeys 1 --passkey_length 1 \
    --depth_ratio_num_intervals 10 --allow_repeat
