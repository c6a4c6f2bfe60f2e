#!/usr/bin/env python3
"""Reference prompt ids for `sweep --task longbench` (eval/longbench_data.c, longbench_prompts): the steps
of duo-attention's eval/LongBench/pred.py run with Hugging Face transformers on the LongBench-format folder
tests/fixtures/longbench/prompts/ (its records, config/dataset2prompt.json):

    prompt = prompt_format.format(**record)
    ids = tokenizer(prompt).input_ids
    if len(ids) > max_length: prompt = decode(ids[:half], skip_special_tokens=True)
                                      + decode(ids[-half:], skip_special_tokens=True), half = int(max_length/2)
    if dataset not in (trec, triviaqa, samsum, lsht, lcc, repobench-p) and "llama-2" in model_name:
        prompt = f"[INST]{prompt}[/INST]"
    ids = tokenizer(prompt).input_ids

for the bundled retrieval model's tokenizer and the Mistral (Llama-style SentencePiece BPE) fixture, at
several max_length values and two model names.  pred.py loads the tokenizer with use_fast=False; the
fixtures have no sentencepiece model, so the fast tokenizer is the reference here (duo-train's tokenizer
follows the fast one).  Writes tests/fixtures/longbench/prompts/prompt_refs.json.

Needs a Python with transformers (5.x was used) and the zstd command; run from the repository root:
    python scripts/gen_longbench_prompt_refs.py
"""
import json
import os
import shutil
import subprocess
import tempfile

from transformers import AutoTokenizer

HERE = "tests/fixtures/longbench/prompts"
MISTRAL_CONFIG = {"add_bos_token": True, "add_eos_token": False, "bos_token": "<s>", "eos_token": "</s>",
                  "unk_token": "<unk>", "tokenizer_class": "LlamaTokenizer"}
NO_CHAT = ["trec", "triviaqa", "samsum", "lsht", "lcc", "repobench-p"]


def pred_py_ids(tok, fmt, record, dataset, max_length, model_name):
    prompt = fmt.format(**record)
    ids = tok(prompt, truncation=False).input_ids
    if len(ids) > max_length:
        half = int(max_length / 2)
        prompt = tok.decode(ids[:half], skip_special_tokens=True) + tok.decode(ids[-half:], skip_special_tokens=True)
    if dataset not in NO_CHAT and "llama-2" in model_name:
        prompt = f"[INST]{prompt}[/INST]"
    return tok(prompt, truncation=False).input_ids


tmp = tempfile.mkdtemp()
mistral = os.path.join(tmp, "mistral")
os.makedirs(mistral)
subprocess.run(["zstd", "-dq", "tests/fixtures/tokenizers/mistral/tokenizer.json.zst", "-o",
                os.path.join(mistral, "tokenizer.json")], check=True)
# the fixture's config asks for an EOS after every encoding, which transformers 4.x (pred.py's era) and 5.x
# treat differently; the test folder (tests/test_longbench_data.c builds the same one) asks for BOS only
json.dump(MISTRAL_CONFIG, open(os.path.join(mistral, "tokenizer_config.json"), "w"))
tokenizers = {"tests/fixtures/retrieval-model": "tests/fixtures/retrieval-model", "mistral": mistral}
formats = json.load(open(os.path.join(HERE, "config", "dataset2prompt.json"), encoding="utf-8"))
cases = []
for name, path in tokenizers.items():
    tok = AutoTokenizer.from_pretrained(path)
    for dataset in ("hotpotqa", "trec"):
        records = [json.loads(l) for l in open(os.path.join(HERE, f"{dataset}.jsonl"), encoding="utf-8")]
        for r, rec in enumerate(records):
            for max_length in (9, 16, 33, 100000):
                for model_name in ("my-llama-2-chat", "mistral"):
                    cases.append({"tokenizer": name, "dataset": dataset, "record": r, "max_length": max_length,
                                  "model_name": model_name,
                                  "ids": pred_py_ids(tok, formats[dataset], rec, dataset, max_length, model_name)})
shutil.rmtree(tmp)
with open(os.path.join(HERE, "prompt_refs.json"), "w") as f:
    json.dump({"cases": cases}, f)
print(f"{HERE}/prompt_refs.json: {len(cases)} prompts")
