#!/usr/bin/env bash
# Hostile inputs, second wall (issue 20): sweep's outputs (crash-safe, exclusive, resumable), models
# whose forward pass is not finite, option values that must stay distinct, messages.  Every bad input is
# built here; each check asserts the exit status, the message and what is left on disk.
bin=${DUO_BIN:-build/duo-train}
py=${PYTHON:-python3}
T=$(mktemp -d "${TMPDIR:-/tmp}/hostile-sweep.XXXXXX")
holder=
trap '[ -n "$holder" ] && kill "$holder" 2>/dev/null; rm -rf "$T"' EXIT
export DUO_PROGRESS=0
name=cli_hostile_sweep
pass() { echo "PASS: $name/$1"; }
fail() { echo "FAIL: $name/$1 ($2)"; }
clean_err() { ! grep -qE "runtime error|AddressSanitizer|LeakSanitizer" "$T/err"; }
# check NAME WANT_STATUS GREP_PATTERN CMD...: exit status and a message matching the pattern on stderr
check() {
    local n=$1 want=$2 pat=$3; shift 3
    [ "$1" = sweep ] && set -- "$T/sweep" "${@:2}"
    timeout -k 10 300 "$@" >"$T/out" 2>"$T/err"; local rc=$?
    if [ "$rc" -eq "$want" ] && grep -qE -- "$pat" "$T/err" && clean_err; then pass "$n"
    else fail "$n" "exit $rc, expected $want /$pat/: $(head -c 400 "$T/err")"; fi
}
model=tests/fixtures/retrieval-model
corpus=tests/fixtures/retrieval-corpus/corpus.jsonl.zst
pat="$T/pattern"
mkdir -p "$pat"
printf '1.0e-01\t1.0e-01\t1.0e-01\t1.0e-01\n8.0e-01\t1.0e-01\t1.0e-01\t1.0e-01\n1.0e-01\t1.0e-01\t1.0e-01\t1.0e-01\n1.0e-01\t1.0e-01\t1.0e-01\t1.0e-01\n' \
    >"$pat/full_attention_heads.tsv"
echo '{"sink_size": 16, "recent_size": 64}' >"$pat/config.json"
# sweep OUT_DIR ARGS...: a small passkey sweep (2 sparsities x 2 patterns x --samples), a script so that
# timeout and kill reach duo-train itself
cat > "$T/sweep" <<SH
#!/usr/bin/env bash
out=\$1; shift
exec "$bin" sweep --model "$model" --pattern "$pat" --dataset "$corpus" --num_passkeys 1 --passkey_length 2 \\
    --sparsities 0,0.9375 --context_lengths 600 --baselines pattern,inverted --output_dir "\$out" "\$@"
SH
chmod +x "$T/sweep"
sweep() { "$T/sweep" "$@"; }
# the columns of sweep.csv that do not depend on timing, and responses.jsonl without its timings (and
# without which line computed the prompt's shared first forward: a resumed run computes it again)
same_results() {
    "$py" - "$1" "$2" <<'PY'
import csv, json, os, sys
a, b = sys.argv[1:3]
timing = ("prefill_s", "decode_ms_per_token", "shared_prefill_s", "shared_prefill")
def rows(d):
    return [{k: v for k, v in r.items() if k not in timing}
            for r in csv.DictReader(open(os.path.join(d, "sweep.csv")))]
def lines(d):
    return [{k: v for k, v in json.loads(l).items() if k not in timing}
            for l in open(os.path.join(d, "responses.jsonl"))]
sys.exit(0 if rows(a) == rows(b) and lines(a) == lines(b) and len(lines(a)) > 0 else 1)
PY
}
no_temps() { [ -z "$(ls -a "$1" | grep -E '\.tmp\.')" ]; }

# ---- 1. sweep outputs are crash-safe and exclusive ---------------------------------------------
sweep "$T/ref" --samples 4 >/dev/null 2>"$T/err" || fail reference_sweep "$(head -c 300 "$T/err")"
cp -r "$T/ref" "$T/earlier"
# a later run into a folder holding a sweep is refused before any work, the earlier files intact
check earlier_sweep_refused 1 "holds an earlier sweep.*--resume.*--overwrite" sweep "$T/earlier" --samples 2
if cmp -s "$T/ref/responses.jsonl" "$T/earlier/responses.jsonl" && cmp -s "$T/ref/sweep.csv" "$T/earlier/sweep.csv"; then
    pass earlier_sweep_intact; else fail earlier_sweep_intact "files changed"; fi
check overwrite_and_resume_exclusive 2 "exclude each other" sweep "$T/earlier" --resume --overwrite
# --overwrite replaces the earlier sweep whole (a stale NIAH plot of the earlier sweep goes too)
cp "$T/ref/accuracy_vs_sparsity.png" "$T/earlier/niah_sparsity=0.5.png"
sweep "$T/earlier" --samples 4 --overwrite >/dev/null 2>"$T/err"; rc=$?
if [ $rc -eq 0 ] && [ ! -e "$T/earlier/niah_sparsity=0.5.png" ] && same_results "$T/ref" "$T/earlier"; then pass overwrite_replaces
else fail overwrite_replaces "exit $rc: $(head -c 300 "$T/err")"; fi
# Ctrl-C: the current prompt finishes, what is done stays (sweep.partial.csv marks it), exit 130, no
# temporary file; --resume then finishes it and the final files equal an uninterrupted run's.
"$T/sweep" "$T/big" --samples 12 >/dev/null 2>"$T/int.err" &
pid=$!
for _ in $(seq 2000); do [ -s "$T/big/responses.jsonl" ] && break; sleep 0.01; done
kill -INT $pid; wait $pid; rc=$?
n_done=$(wc -l < "$T/big/responses.jsonl" 2>/dev/null || echo 0)
if [ $rc -eq 130 ] && [ -s "$T/big/sweep.partial.csv" ] && [ ! -e "$T/big/sweep.csv" ] && no_temps "$T/big" &&
   [ "$n_done" -ge 1 ] && [ "$n_done" -lt 48 ] && grep -q "interrupted after .*--resume" "$T/int.err"; then
    pass ctrl_c_writes_partial
else fail ctrl_c_writes_partial "exit $rc, $n_done lines: $(tail -c 300 "$T/int.err"); $(ls "$T/big" | tr '\n' ' ')"; fi
sweep "$T/whole" --samples 12 >/dev/null 2>&1
sweep "$T/big" --samples 12 --resume >/dev/null 2>"$T/err"; rc=$?
if [ $rc -eq 0 ] && [ ! -e "$T/big/sweep.partial.csv" ] && same_results "$T/whole" "$T/big"; then pass resume_equals_uninterrupted
else fail resume_equals_uninterrupted "exit $rc: $(head -c 300 "$T/err")"; fi
# a kill -9 mid-line: the torn last line is dropped and its prompt rerun
mkdir -p "$T/torn"
head -n 5 "$T/whole/responses.jsonl" > "$T/torn/responses.jsonl"
sed -n 6p "$T/whole/responses.jsonl" | head -c 40 >> "$T/torn/responses.jsonl"
sweep "$T/torn" --samples 12 --resume >/dev/null 2>"$T/err"; rc=$?
if [ $rc -eq 0 ] && same_results "$T/whole" "$T/torn"; then pass resume_drops_torn_line
else fail resume_drops_torn_line "exit $rc: $(head -c 300 "$T/err")"; fi
# resuming with other options (another seed: other passkeys) is refused, naming the file
check resume_other_options_refused 1 "responses.jsonl.*other options" sweep "$T/torn" --samples 12 --resume --seed 7
check resume_other_sweep_refused 1 "responses.jsonl holds [0-9]+ responses this sweep would not run" \
    sweep "$T/torn" --samples 2 --resume
printf '{"sparsity": 0}\n{"x": 1}\n' > "$T/torn/responses.jsonl"
check resume_foreign_lines_refused 1 "responses.jsonl:1: not a sweep response line" sweep "$T/torn" --samples 2 --resume
# two sweeps into one folder at once: the second is refused naming the first's pid (the lock train takes)
mkdir -p "$T/locked"
"$py" -c "
import fcntl, os, sys, time
fd = os.open(sys.argv[1] + '/.duo-train.lock', os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.ftruncate(fd, 0); os.write(fd, f'{os.getpid()} sweep\n'.encode())
open(sys.argv[1] + '/ready', 'w').close()
time.sleep(60)" "$T/locked" &
holder=$!
for _ in $(seq 100); do [ -e "$T/locked/ready" ] && break; sleep 0.05; done
check second_sweep_refused 1 "in use by another sweep \\(pid $holder\\)" sweep "$T/locked" --samples 1
kill $holder; wait $holder 2>/dev/null; holder=
# a file-size limit (ulimit -f): "File too large" naming the file, no SIGXFSZ death, no torn line
mkdir -p "$T/fsize"
(ulimit -f 2; exec "$T/sweep" "$T/fsize" --samples 12) >/dev/null 2>"$T/err"; rc=$?
torn=$("$py" -c "
import json, sys
bad = 0
for l in open(sys.argv[1]):
    try: json.loads(l)
    except Exception: bad += 1
print(bad)" "$T/fsize/responses.jsonl" 2>/dev/null || echo missing)
if [ $rc -eq 1 ] && grep -q "responses.jsonl: write failed: File too large" "$T/err" && [ "$torn" = 0 ] && no_temps "$T/fsize" &&
   [ "$(tail -c 1 "$T/fsize/responses.jsonl" | od -An -c | tr -d ' ')" = '\n' ]; then pass file_size_limit
else fail file_size_limit "exit $rc, torn $torn: $(head -c 300 "$T/err")"; fi
# outputs are checked as inputs are: a file where the folder goes, a symlink loop, a folder or a FIFO
# where a file goes -- refused at once with the OS's reason
touch "$T/plainfile"
check output_dir_is_a_file 1 "plainfile: cannot use as a directory: Not a directory" sweep "$T/plainfile" --samples 1
check output_dir_under_a_file 1 "plainfile: cannot use as a directory: Not a directory" sweep "$T/plainfile/sub" --samples 1
ln -s "$T/loop_b" "$T/loop_a"; ln -s "$T/loop_a" "$T/loop_b"
check output_dir_symlink_loop 1 "loop_a: cannot use as a directory: Too many levels of symbolic links" sweep "$T/loop_a" --samples 1
mkdir -p "$T/dirfile/sweep.csv"
check csv_is_a_directory 1 "sweep.csv: cannot write: Is a directory" sweep "$T/dirfile" --samples 1
mkdir -p "$T/fifo"; mkfifo "$T/fifo/responses.jsonl"
check responses_is_a_fifo 1 "responses.jsonl: cannot write: not a regular file \\(a FIFO\\)" sweep "$T/fifo" --samples 1
mkdir -p "$T/loopfile"; ln -s "$T/loopfile/sweep.csv" "$T/loopfile/sweep.csv"
check csv_symlink_loop 1 "sweep.csv: cannot write: Too many levels of symbolic links" sweep "$T/loopfile" --samples 1

# ---- 2. silent wrong results: a model whose forward pass is not finite -------------------------
# copies of the retrieval model with one NaN in layer 2's v_proj, an Inf in the final norm, and layer 1's
# down_proj raised to ~2^127 each to overflow float32 (finite weights, infinite activations)
nanify() {  # dir tensor mode: mode nan (one element), inf (one element), big (every element near the largest finite value)
    mkdir -p "$1"; cp "$model"/*.json "$1/"; cp "$model/model.safetensors" "$1/"
    "$py" - "$1/model.safetensors" "$2" "$3" <<'PY'
import json, struct, sys
p, name, mode = sys.argv[1:4]
data = bytearray(open(p, "rb").read())
n = struct.unpack("<Q", data[:8])[0]
hdr = json.loads(data[8:8 + n])
t = hdr[name]
assert t["dtype"] == "BF16", t["dtype"]
a, b = t["data_offsets"]
base = 8 + n + a
if mode == "nan":
    data[base + 10:base + 12] = struct.pack("<H", 0x7fc0)
elif mode == "inf":
    data[base + 6:base + 8] = struct.pack("<H", 0x7f80)
else:
    for i in range(base, 8 + n + b, 2):
        h = struct.unpack("<H", data[i:i + 2])[0]
        if h & 0x7fff:  # the largest finite exponent: each value finite, their sums beyond float32
            h = (h & 0x807f) | (0xfe << 7)
        data[i:i + 2] = struct.pack("<H", h)
open(p, "wb").write(data)
PY
}
nanify "$T/nan-model" model.layers.2.self_attn.v_proj.weight nan
nanify "$T/inf-norm" model.norm.weight inf
nanify "$T/big-mlp" model.layers.1.mlp.down_proj.weight big
nsweep=("$bin" sweep --pattern "$pat" --dataset "$corpus" --num_passkeys 1 --passkey_length 2 --sparsities 0
        --context_lengths 600 --baselines pattern --samples 1)
check nan_weight_sweep_refused 1 "not finite from layer 2's attention.*model.layers.2.self_attn.v_proj.weight holds NaN at element 5" \
    "${nsweep[@]}" --model "$T/nan-model" --output_dir "$T/nan-out-1"
check inf_final_norm_named 1 "logits are not finite.*model.norm.weight holds \\+Inf at element 3" \
    "${nsweep[@]}" --model "$T/inf-norm" --output_dir "$T/nan-out-2"
check overflow_names_layer 1 "not finite from layer 1's MLP.*weights are finite, so the activations overflowed" \
    "${nsweep[@]}" --model "$T/big-mlp" --output_dir "$T/nan-out-3"
check nan_weight_bench_infer_refused 1 "not finite from layer 2's attention.*v_proj.weight holds NaN" \
    "$bin" bench infer --backend cpu --model "$T/nan-model" --ctx 64 --sparsities 0 --new-tokens 2

# ---- 2. distinct option values stay distinct; no value silently cut ------------------------------
# 0.9999999 and 1 (alike under %g), given in descending order: two rows, two labels, ascending
sweep "$T/alike" --samples 1 --sparsities 1,0.9999999 --baselines pattern >/dev/null 2>"$T/err"; rc=$?
labels=$(cut -d, -f1 "$T/alike/sweep.csv" 2>/dev/null | tail -n +2 | tr '\n' ' ')
if [ $rc -eq 0 ] && [ "$labels" = "0.9999999 1 " ]; then pass sparsities_alike_stay_distinct
else fail sparsities_alike_stay_distinct "exit $rc, labels '$labels': $(head -c 300 "$T/err")"; fi
check duplicate_sparsity_refused 2 "--sparsities: 0.5 is given twice" sweep "$T/dup" --sparsities 0.5,0.25,0.5
check duplicate_context_refused 2 "--context_lengths: 600 is given twice" sweep "$T/dup" --context_lengths 600,600
long=$(printf 'pattern,%.0s' $(seq 40))inverted,bogus
check long_baselines_read_whole 2 "--baselines: 'bogus' is not pattern" sweep "$T/dup" --baselines "$long"

# ---- 3. resource bounds -------------------------------------------------------------------------
check context_beyond_positions 1 "context length 5000 is outside what .* can read \\(1 \\.\\. 4095 positions\\)" \
    sweep "$T/pos" --context_lengths 5000

# ---- 4. messages --------------------------------------------------------------------------------
check sparsity_digits_shown 2 "--sparsities: 1.0000001 is outside \\[0, 1\\]" sweep "$T/m" --sparsities 0,1.0000001
check sparsity_bom_named 2 "<U\\+FEFF BOM>0.5" sweep "$T/m" --sparsities $'\xEF\xBB\xBF0.5'
check sparsity_non_finite_named 2 "--sparsities: inf is non-finite" sweep "$T/m" --sparsities 0,inf
check lr_non_finite_named 2 "--lr must be a finite number, got nan \\(non-finite\\)" "$bin" train --model "$model" \
    --dataset "$corpus" --lr nan
# the sample builder speaks sweep's flags to sweep users: no --context_length_max, no --allow_repeat
check builder_names_sweep_flags 1 "--context_lengths 300 leaves no room for a haystack: --buffer_size 300 .*give at least" \
    sweep "$T/m" --context_lengths 300
printf '{"text": "one two three four five six seven eight nine ten."}\n' > "$T/short.jsonl"
"$T/sweep" "$T/m2" --dataset "$T/short.jsonl" --samples 1 >/dev/null 2>"$T/err"
if grep -q "fewer than --context_lengths 600 (give a longer corpus" "$T/err" && ! grep -q "allow_repeat\|context_length_max" "$T/err"; then
    pass short_corpus_names_sweep_flags; else fail short_corpus_names_sweep_flags "$(head -c 300 "$T/err")"; fi
check short_corpus_names_synth_flags 1 "fewer than --context_length_max 600 \\(pass --allow_repeat" "$bin" synth \
    --model "$model" --dataset "$T/short.jsonl" --out "$T/short.h5" --context_length_min 500 --context_length_max 600
# a long path: the reason survives at the end of the message
deep="$T/deep"; while [ ${#deep} -lt 3000 ]; do deep="$deep/a-rather-long-folder-name"; done
mkdir -p "$deep"; touch "$deep/file"
"$T/sweep" "$deep/file/out" --samples 1 >/dev/null 2>"$T/err"; rc=$?
if [ $rc -eq 1 ] && grep -q "cannot use as a directory: Not a directory$" "$T/err" && [ "$(wc -c < "$T/err")" -gt 1100 ]; then
    pass long_path_keeps_reason; else fail long_path_keeps_reason "exit $rc: $(tail -c 200 "$T/err")"; fi
# Qwen3 without head_dim: the default that explains the shape error is stated
mkdir -p "$T/qwen3"; cp tests/fixtures/models/tiny-qwen3-headdim/* "$T/qwen3/"
"$py" - "$T/qwen3/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); del c["head_dim"]; json.dump(c, open(sys.argv[1], "w"))
PY
check qwen3_head_dim_default_stated 1 "expected .*config.json has no head_dim: it defaults to 128 for qwen3" \
    "$bin" inspect --model "$T/qwen3"

# ---- 6. one set of sample flags: train from a corpus and sweep take synth's templates -------------
tpl=(--needle "Hold on to the {ordinal_number} key: " --retrieval_question "Which is the {ordinal_number} key? Key: "
     --prompt1 "A story: " --prompt2 " (end)" --separator " | ")
ttrain=("$bin" train --model "$model" --dataset "$corpus" --context_length_min 300 --context_length_max 600
        --context_lengths_num_intervals 2 --num_passkeys 2 --passkey_length 2 --buffer_size 50
        --depth_ratio_num_intervals 10 --num_steps 6 --sink_size 16 --recent_size 64 --reg_weight 1.0
        --output_dir "$T/tpl-train")
"${ttrain[@]}" "${tpl[@]}" --stop_after 2 >/dev/null 2>"$T/err"; rc=$?
if [ $rc -eq 0 ] && clean_err && [ -s "$T/tpl-train/train_state.h5" ]; then pass train_takes_templates
else fail train_takes_templates "exit $rc: $(head -c 300 "$T/err")"; fi
# the templates are part of the run: resuming with another needle is refused, naming both
check train_resume_other_template_refused 1 "different settings \(needle: saved \"Hold on to the" \
    "${ttrain[@]}" "${tpl[@]:2}" --needle "Other {ordinal_number}: " --resume
"$T/sweep" "$T/tpl-sweep" --samples 1 "${tpl[@]}" >/dev/null 2>"$T/err" && clean_err && pass sweep_takes_templates ||
    fail sweep_takes_templates "$(head -c 300 "$T/err")"
"$bin" synth --model "$model" --dataset "$corpus" --out "$T/tpl.h5" --num_samples 1 --context_length_min 600 \
    --context_length_max 600 --context_lengths_num_intervals 1 --num_passkeys 1 --passkey_length 2 --buffer_size 50 \
    --depth_ratio_num_intervals 10 "${tpl[@]}" >/dev/null 2>&1
if "$bin" synth --show "$T/tpl.h5" --index 0 --no_color 2>/dev/null | grep -q "Hold on to the first key: "; then
    pass synth_takes_templates; else fail synth_takes_templates "needle not in the sample"; fi
check templates_with_built_samples_refused 2 "--needle.*build samples from a corpus; .*tpl.h5 holds samples built already" \
    "$bin" train --model "$model" --dataset "$T/tpl.h5" --needle "x {ordinal_number}"
