#!/usr/bin/env bash
# duo-train synth from the command line: building, --show (needles and supervised span marked), the
# needle-in-a-haystack listing/prompt, and bad input (exit 2 for usage, 1 for bad data, one clear message).
bin=${DUO_BIN:-build/duo-train}
tok=tests/fixtures/tokenizers/llama3_bpe.json
corpus=tests/fixtures/corpus/synth_small.jsonl
tmp=$(mktemp -d "${TMPDIR:-/tmp}/synth.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

pass() { echo "PASS: cli_synth/$1"; }
fail() { echo "FAIL: cli_synth/$1 ($2)"; }
skip() { echo "SKIP: cli_synth/$1 ($2)"; }

if ! "$bin" synth --help 2>/dev/null | grep -q -- --dataset; then
    skip all "$bin synth is not built"; exit 0
fi
small=(--context_length_min 400 --context_length_max 2000 --context_lengths_num_intervals 5
       --depth_ratio_num_intervals 100 --num_passkeys 3 --passkey_length 6 --buffer_size 100)

# expect NAME STATUS PATTERN cmd...: exit status and a stderr message matching PATTERN
expect() {
    local name=$1 want=$2 pat=$3; shift 3
    "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
    if [ "$rc" -ne "$want" ]; then fail "$name" "exit $rc, expected $want: $(head -c 300 "$tmp/err")"
    elif ! grep -qiE -- "$pat" "$tmp/err"; then fail "$name" "message '$(head -c 300 "$tmp/err")' lacks /$pat/"
    else pass "$name"; fi
}

if "$bin" synth --tokenizer "$tok" --dataset "$corpus" --out "$tmp/s.h5" --num_samples 4 "${small[@]}" \
        >"$tmp/out" 2>"$tmp/err" && [ -s "$tmp/s.h5" ] && ! ls "$tmp"/s.h5.tmp.* >/dev/null 2>&1; then
    pass build
else
    fail build "exit $?: $(head -c 300 "$tmp/err")"
fi

# --show: a header line, one [[...]] per needle holding its passkey, the QA part in {{...}}
if "$bin" synth --show "$tmp/s.h5" --index 1 >"$tmp/show" 2>"$tmp/err"; then
    n_needles=$(grep -o '\[\[Remeber this sequence of words' "$tmp/show" | wc -l)
    if ! head -1 "$tmp/show" | grep -qE '^sample 1 .*tokens, context_length [0-9]+ .*3 passkeys, supervised \[[0-9]+, [0-9]+\)'; then
        fail show "header: $(head -1 "$tmp/show")"
    elif [ "$n_needles" -ne 3 ]; then fail show "$n_needles needles marked, expected 3"
    elif ! grep -q '{{Based on the content of the book, what is the first passkey' "$tmp/show"; then
        fail show "supervised span not marked"
    else pass show; fi
else
    fail show "exit $?: $(head -c 300 "$tmp/err")"
fi

expect show_bad_index 1 'no sample 99' "$bin" synth --show "$tmp/s.h5" --index 99
expect show_not_synth 1 'cannot open|not a duo-train synth file' "$bin" synth --show "$corpus"
expect missing_dataset 2 'dataset' "$bin" synth --tokenizer "$tok" --out "$tmp/x.h5"
expect min_above_max 2 'context_length_min.*larger than.*context_length_max' \
    "$bin" synth --tokenizer "$tok" --dataset "$corpus" --out "$tmp/x.h5" --context_length_min 5000 --context_length_max 2000
expect zero_passkeys 2 'num_passkeys' \
    "$bin" synth --tokenizer "$tok" --dataset "$corpus" --out "$tmp/x.h5" "${small[@]}" --num_passkeys 0
expect passkeys_over_depths 2 'num_passkeys.*depth_ratio_num_intervals' \
    "$bin" synth --tokenizer "$tok" --dataset "$corpus" --out "$tmp/x.h5" "${small[@]}" --depth_ratio_num_intervals 2
expect bad_number 2 'expects an integer' \
    "$bin" synth --tokenizer "$tok" --dataset "$corpus" --out "$tmp/x.h5" --num_passkeys ten
expect short_corpus 1 'too short.*allow_repeat' \
    "$bin" synth --tokenizer "$tok" --dataset "$corpus" --out "$tmp/x.h5" "${small[@]}" --context_length_max 200000
[ -e "$tmp/x.h5" ] && fail short_corpus_no_file "a failed run left $tmp/x.h5"
expect allow_repeat 0 'repeated' \
    "$bin" synth --tokenizer "$tok" --dataset "$corpus" --out "$tmp/r.h5" "${small[@]}" --context_length_max 20000 \
    --num_samples 1 --allow_repeat
printf '{"text": "caf\xc3 au lait"}\n' >"$tmp/bad_utf8.jsonl"
expect non_utf8_line 1 'UTF-8' \
    "$bin" synth --tokenizer "$tok" --dataset "$tmp/bad_utf8.jsonl" --out "$tmp/x.h5" "${small[@]}"
printf '\n\n{"text": ""}\n' >"$tmp/empty.jsonl"
expect empty_corpus 1 'empty|no text' \
    "$bin" synth --tokenizer "$tok" --dataset "$tmp/empty.jsonl" --out "$tmp/x.h5" "${small[@]}"
expect missing_corpus 1 'no_such.jsonl' \
    "$bin" synth --tokenizer "$tok" --dataset "$tmp/no_such.jsonl" --out "$tmp/x.h5" "${small[@]}"

# needle in a haystack on a small .txt directory
mkdir -p "$tmp/essays"
for i in 1 2 3; do
    printf 'Essay %s. The quick brown fox jumps over the lazy dog near the quiet river bank.\n' "$i" >"$tmp/essays/e$i.txt"
done
if "$bin" synth --niah --haystack_dir "$tmp/essays" --tokenizer "$tok" --list --context_lengths_min 300 \
        --context_lengths_max 600 --context_lengths_num_intervals 2 --document_depth_percent_intervals 3 \
        --final_context_length_buffer 50 \
        >"$tmp/grid" 2>"$tmp/err" && [ "$(tail -n +2 "$tmp/grid" | wc -l)" -eq 6 ] \
        && [ "$(cut -f1,2 "$tmp/grid" | tail -n +2 | tr '\n\t' ' ,')" = "300,0 300,50 300,100 600,0 600,50 600,100 " ]; then
    pass niah_list
else
    fail niah_list "$(head -c 300 "$tmp/err") $(head -c 300 "$tmp/grid")"
fi
if "$bin" synth --niah --haystack_dir "$tmp/essays" --tokenizer "$tok" --context_length 500 --depth_percent 50 \
        >"$tmp/prompt" 2>"$tmp/err" && grep -q 'Dolores Park' "$tmp/prompt" \
        && grep -q 'expected answer: eat a sandwich' "$tmp/prompt" \
        && grep -q 'Question: Based on the content of the book, what is the best thing to do in San Francisco' "$tmp/prompt"; then
    pass niah_prompt
else
    fail niah_prompt "$(head -c 300 "$tmp/err")"
fi
expect niah_no_room 1 'no room' \
    "$bin" synth --niah --haystack_dir "$tmp/essays" --tokenizer "$tok" --context_length 100 --depth_percent 50
expect niah_needs_dir 2 'haystack_dir' "$bin" synth --niah --tokenizer "$tok" --list

pg=${DUO_SHARED:-../shared}/corpus/paul_graham_essays
if [ -d "$pg" ]; then
    if "$bin" synth --niah --haystack_dir "$pg" --tokenizer "$tok" --context_length 4000 --depth_percent 25 \
            >"$tmp/pg" 2>"$tmp/err" && grep -q 'Dolores Park' "$tmp/pg"; then
        pass niah_paul_graham
    else
        fail niah_paul_graham "$(head -c 300 "$tmp/err")"
    fi
else
    skip niah_paul_graham "$pg is absent"
fi
