#!/usr/bin/env python3
"""Trains the small retrieval fixture: a 4-layer GQA Llama that really retrieves passkeys.

Writes a Hugging Face checkpoint (bf16 safetensors, its own byte-level BPE tokenizer.json with BOS) to
tests/fixtures/retrieval-model/, a small generated corpus to tests/fixtures/retrieval-corpus/, and
retrieval_record.json next to the checkpoint: passkey accuracy with full attention, with every head
streaming, and the drop when only one (layer, KV head) streams. The training text is generated here
(retrieval_fixture/text.py); the task mix is language modelling plus DESIGN section 2 passkey samples
(optionally plain copy tasks), with a context-length curriculum up to 2K tokens. Reproducible from --seed.

By default (--init circuit) training starts from a planted induction circuit (retrieval_fixture/circuit.py)
in layer 0 (previous-token head) and layer 1 (induction head) of KV head 0, random weights elsewhere:
from random weights the induction phase change on two CPU cores comes only after ~700 steps at
100-token samples, too late for a 45-minute budget. Training then teaches the rest of the model
language modelling while the answer loss keeps retrieval; the record measures what the saved model
does. --init random trains from scratch (a GPU run: --device cuda --steps 4000 --stages ...).

    python3 scripts/make_retrieval_fixture.py                 # train + evaluate (CPU, 2 threads)
    python3 scripts/make_retrieval_fixture.py --device cuda   # the same on a GPU
    python3 scripts/make_retrieval_fixture.py --eval-only     # re-measure the committed checkpoint
"""
import argparse
import hashlib
import json
import os
import platform
import random
import subprocess
import sys
import time

import numpy as np
import tokenizers
import torch
import transformers
from tokenizers import Tokenizer
from transformers import LlamaConfig, LlamaForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from retrieval_fixture import attention, circuit, evaluate, passkey_format, text, tokenizer_build  # noqa: E402
from retrieval_fixture.training_data import BatchMaker, Mix  # noqa: E402
from retrieval_fixture.train_loop import train  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model-out", default=os.path.join(ROOT, "tests/fixtures/retrieval-model"))
    p.add_argument("--corpus-out", default=os.path.join(ROOT, "tests/fixtures/retrieval-corpus"))
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2,
                   help="torch threads (on a CPU shared with other jobs one thread was 3x faster than two: "
                        "OpenMP barriers stall when a thread is descheduled)")
    p.add_argument("--init", choices=("circuit", "random"), default="circuit",
                   help="circuit: start from a planted induction circuit (retrieval_fixture/circuit.py), "
                        "then train; random: HF's random initialisation (needs a GPU-sized budget)")
    p.add_argument("--steps", type=int, default=1200)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--tokens-per-step", type=int, default=2048)
    p.add_argument("--copy-fraction", type=float, default=0.0)
    p.add_argument("--lm-weight", type=float, default=1.0, help="weight of the next-token loss")
    p.add_argument("--task-weight", type=float, default=2.0, help="weight of the passkey-answer loss")
    p.add_argument("--vocab-size", type=int, default=2048)
    p.add_argument("--train-words", type=int, default=600_000, help="words of generated training text")
    p.add_argument("--corpus-books", type=int, default=16)
    p.add_argument("--corpus-book-words", type=int, default=2500)
    p.add_argument("--eval-samples", type=int, default=50)
    p.add_argument("--eval-num-passkeys", type=int, default=1)
    p.add_argument("--eval-passkey-length", type=int, default=2)
    p.add_argument("--eval-only", action="store_true", help="evaluate the checkpoint in --model-out")
    p.add_argument("--train-passkey-length", default="2:4", help="passkey words in training samples, 'lo:hi'")
    p.add_argument("--stages", default=None,
                   help="curriculum 'frac:lo:hi,...' (fraction of steps done, haystack token range)")
    p.add_argument("--init-from", default=None,
                   help="continue training the checkpoint in this folder (same seed, so the same tokenizer)")
    p.add_argument("--data-seed", type=int, default=None, help="seed of the training batches (default seed+3)")
    return p.parse_args()


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write_corpus(grammar, args):
    """The bundled haystack corpus: generated books as JSON lines with a "text" field, zstd-compressed."""
    rng = random.Random(args.seed + 2)
    books = [grammar.book(rng, args.corpus_book_words) + "\n" for _ in range(args.corpus_books)]
    os.makedirs(args.corpus_out, exist_ok=True)
    path = os.path.join(args.corpus_out, "corpus.jsonl.zst")
    data = "".join(json.dumps({"text": b}) + "\n" for b in books).encode()
    with open(path, "wb") as f:
        subprocess.run(["zstd", "-19", "-q", "-c"], input=data, stdout=f, check=True)
    return books, path


def read_corpus(path):
    out = subprocess.run(["zstd", "-d", "-q", "-c", path], capture_output=True, check=True).stdout
    return [json.loads(line)["text"] for line in out.decode().splitlines() if line.strip()]


def model_config(tok, vocab_size, rope_theta):
    cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=256, intermediate_size=512, num_hidden_layers=4,
                      num_attention_heads=8, num_key_value_heads=4, head_dim=32, max_position_embeddings=4096,
                      rope_theta=rope_theta, rms_norm_eps=1e-5, tie_word_embeddings=False,
                      bos_token_id=tok.token_to_id(tokenizer_build.BOS),
                      eos_token_id=tok.token_to_id(tokenizer_build.EOS), pad_token_id=None)
    if getattr(cfg, "rope_parameters", None):   # transformers 5 keeps rope_theta here
        cfg.rope_parameters["rope_theta"] = rope_theta
    return cfg


def save_checkpoint(model, tok, out):
    os.makedirs(out, exist_ok=True)
    model.to(torch.bfloat16).save_pretrained(out, safe_serialization=True)
    cfg_path = os.path.join(out, "config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    # Older readers (and the C loader) look for these top-level keys; transformers 5 nests rope_theta.
    cfg["rope_theta"] = cfg.get("rope_parameters", {}).get("rope_theta", model.config.rope_theta
                                                            if hasattr(model.config, "rope_theta") else None)
    cfg["torch_dtype"] = "bfloat16"
    cfg["architectures"] = ["LlamaForCausalLM"]
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
    tok.save(os.path.join(out, "tokenizer.json"))
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": tokenizer_build.BOS,
                   "eos_token": tokenizer_build.EOS, "add_bos_token": True, "add_eos_token": False,
                   "model_max_length": 4096, "clean_up_tokenization_spaces": False}, f, indent=2)


@torch.no_grad()
def check_samples(model, samples, every, device):
    """A few 1K-token samples with the greedy answer tokens under full and all-streaming attention, so a
    test without PyTorch can recompute them with its own forward pass."""
    out = []
    for s in samples:
        entry = {"input_ids": s.input_ids, "answer_positions": s.answer_positions, "passkeys": s.passkeys}
        for key, streaming in (("full", ()), ("all_streaming", every)):
            attention.PLAN.streaming = frozenset(streaming)
            try:
                hidden = model.model(input_ids=torch.tensor([s.input_ids], device=device)).last_hidden_state[0]
            finally:
                attention.PLAN.streaming = frozenset()
            pos = [p - 1 for span in s.answer_positions for p in span]
            logits = model.lm_head(hidden[pos]).float()
            top2 = logits.topk(2, dim=-1).values
            entry[f"predicted_{key}"] = logits.argmax(-1).tolist()
            entry[f"margin_{key}"] = [round(float(m), 4) for m in (top2[:, 0] - top2[:, 1])]
            entry[f"top_logit_{key}"] = [round(float(m), 5) for m in top2[:, 0]]
        out.append(entry)
    return out


def measure(args, tok, corpus_texts):
    """All accuracy figures of the record, measured on the checkpoint as saved (bf16 weights, fp32 compute)."""
    model = LlamaForCausalLM.from_pretrained(args.model_out, dtype=torch.float32,
                                             attn_implementation=attention.NAME).to(args.device).eval()
    builder = passkey_format.PasskeyBuilder(tok)
    n_pk, pk_len, count = args.eval_num_passkeys, args.eval_passkey_length, args.eval_samples
    ctx_max = 2048 + 300 + 16 + (2 * len(builder.sep) + len(builder.needles[0]) + len(builder.questions[0])
                                 + 2 * pk_len) * n_pk
    hay = evaluate.corpus_haystack(tok, corpus_texts, ctx_max)
    cfg = model.config
    every = [(layer, h) for layer in range(cfg.num_hidden_layers) for h in range(cfg.num_key_value_heads)]
    rec = {"full": {}, "all_streaming": {}}
    t0 = time.time()
    for c in (512, 1024, 2048):
        samples = evaluate.eval_samples(builder, hay, c, count, n_pk, pk_len, seed=args.seed + 1000 + c)
        for key, streaming in (("full", ()), ("all_streaming", every)):
            exact, first = evaluate.accuracy(model, samples, streaming, device=args.device)
            rec[key][str(c)] = {"exact": exact, "first_token": first}
            print("eval", key, c, exact, first, flush=True)
    samples = evaluate.eval_samples(builder, hay, 1024, count, n_pk, pk_len, seed=args.seed + 1000 + 1024)
    rec["check_samples"] = check_samples(model, samples[:3], every, args.device)
    base = rec["full"]["1024"]
    acc = [[None] * cfg.num_key_value_heads for _ in range(cfg.num_hidden_layers)]
    for layer, h in every:
        exact, first = evaluate.accuracy(model, samples, [(layer, h)], device=args.device)
        acc[layer][h] = {"exact": exact, "first_token": first}
        print("ablate", layer, h, exact, first, flush=True)
    ablation = {
        "context_length": 1024, "samples": count,
        "accuracy_exact": [[a["exact"] for a in row] for row in acc],
        "accuracy_first_token": [[a["first_token"] for a in row] for row in acc],
        "drop_exact": [[round(base["exact"] - a["exact"], 6) for a in row] for row in acc],
        "drop_first_token": [[round(base["first_token"] - a["first_token"], 6) for a in row] for row in acc],
    }
    return rec, ablation, time.time() - t0, ctx_max


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    grammar = text.Grammar(args.seed, passkey_format.NATO + passkey_format.ORDINALS)
    record_path = os.path.join(args.model_out, "retrieval_record.json")
    stages = Mix().stages if args.stages is None else tuple(
        (float(a), int(b), int(c)) for a, b, c in (x.split(":") for x in args.stages.split(",")))
    prior = {}
    if args.eval_only:
        tok = Tokenizer.from_file(os.path.join(args.model_out, "tokenizer.json"))
        corpus_path = os.path.join(args.corpus_out, "corpus.jsonl.zst")
        corpus_texts = read_corpus(corpus_path)
        with open(record_path) as f:
            prior = json.load(f)
        train_log, train_seconds = prior["training"]["log"], prior["training"]["seconds"]
    else:
        t_data = time.time()
        corpus_texts, corpus_path = write_corpus(grammar, args)
        rng = random.Random(args.seed + 1)
        train_text = [grammar.book(rng, 5000) for _ in range(args.train_words // 5000)]
        tok = tokenizer_build.train_tokenizer(train_text, args.vocab_size, args.seed)
        stream = np.array([t for ids in tok.encode_batch(train_text, add_special_tokens=False)
                           for t in ids.ids], dtype=np.int64)
        print(f"data: {len(stream)} training tokens, vocab {tok.get_vocab_size()}, "
              f"{time.time() - t_data:.1f}s", flush=True)
        torch.manual_seed(args.seed)
        if args.init_from:
            with open(os.path.join(args.init_from, "tokenizer.json")) as f:
                if json.load(f)["model"]["vocab"] != json.loads(tok.to_str())["model"]["vocab"]:
                    raise SystemExit(f"{args.init_from}: tokenizer differs from this seed's; use its --seed")
            with open(os.path.join(args.init_from, "retrieval_record.json")) as f:
                prior = {"init_from": json.load(f)}
            model = LlamaForCausalLM.from_pretrained(args.init_from, dtype=torch.float32)
        elif args.init == "circuit":
            model = LlamaForCausalLM(model_config(tok, tok.get_vocab_size(), circuit.ROPE_THETA))
            builder = passkey_format.PasskeyBuilder(tok)
            circuit.plant(model, builder.next_word + [tok.token_to_id(tokenizer_build.SPACE)], seed=args.seed)
        else:
            model = LlamaForCausalLM(model_config(tok, tok.get_vocab_size(), 100000.0))
        model.set_attn_implementation(attention.NAME)
        model.to(args.device)
        lo_len, hi_len = (int(x) for x in args.train_passkey_length.split(":"))
        mix = Mix(copy_fraction=args.copy_fraction, tokens_per_step=args.tokens_per_step, stages=stages,
                  min_passkey_length=lo_len, max_passkey_length=hi_len)
        data_seed = args.seed + 3 if args.data_seed is None else args.data_seed
        batches = BatchMaker(passkey_format.PasskeyBuilder(tok), stream, mix, data_seed)
        train_log, train_seconds = train(model, batches, args.steps, args.lr, args.warmup, args.device,
                                          task_weight=args.task_weight, lm_weight=args.lm_weight)
        save_checkpoint(model.cpu(), tok, args.model_out)
    results, ablation, eval_seconds, ctx_max = measure(args, tok, corpus_texts)
    with open(os.path.join(args.model_out, "config.json")) as f:
        cfg = json.load(f)
    full_1k, stream_max = results["full"]["1024"]["exact"], max(v["exact"] for v in results["all_streaming"].values())
    mix = Mix(stages=stages, **dict(zip(("min_passkey_length", "max_passkey_length"),
                                        (int(x) for x in args.train_passkey_length.split(":")))))
    record = {
        "seed": args.seed,
        "device": args.device if args.eval_only is False else prior.get("device", args.device),
        "threads": args.threads,
        "host": platform.processor() or platform.machine(),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__},
        "command": "python3 scripts/make_retrieval_fixture.py " + " ".join(sys.argv[1:]),
        "config": {k: cfg[k] for k in ("hidden_size", "intermediate_size", "num_hidden_layers",
                                       "num_attention_heads", "num_key_value_heads", "head_dim", "vocab_size",
                                       "rope_theta", "torch_dtype")},
        "training": {"init": prior["training"].get("init", args.init) if args.eval_only else args.init,
                     "seconds": round(train_seconds, 1), "steps": args.steps, "lr": args.lr,
                     "warmup": args.warmup, "tokens_per_step": args.tokens_per_step,
                     "copy_fraction": args.copy_fraction,
                     "lm_weight": args.lm_weight, "task_weight": args.task_weight,
                     "num_passkeys": [mix.min_passkeys, mix.max_passkeys],
                     "passkey_length": [mix.min_passkey_length, mix.max_passkey_length],
                     "curriculum": [list(s) for s in mix.stages], "log": train_log},
        "sample_format": {"num_passkeys": args.eval_num_passkeys, "passkey_length": args.eval_passkey_length,
                          **{k: v for k, v in vars(passkey_format.Templates()).items()},
                          "haystack": "tests/fixtures/retrieval-corpus/corpus.jsonl.zst, texts concatenated "
                                      "in order; a sample of context length c takes its first c tokens",
                          "context_length_max": ctx_max},
        "metric": ("exact: per passkey, every greedy answer token equals the passkey's (teacher-forced up to "
                   "its 'Passkey: ', earlier QA lines as in the sample); first_token: the first answer token"),
        "eval_samples": args.eval_samples,
        "init_from": prior.get("init_from", {}).get("training") if not args.eval_only else prior.get("init_from"),
        "eval_seconds": round(eval_seconds, 1),
        "streaming": {"sink": 16, "recent": 64, "form": "token-level: j <= i and (j < sink or i - j < recent)"},
        "accuracy": results,
        "head_ablation": ablation,
        "acceptance": {"full_1024_min": 0.9, "all_streaming_max": 0.2, "full_1024": full_1k,
                       "all_streaming_worst": stream_max, "passed": full_1k >= 0.9 and stream_max <= 0.2},
        "files": {name: sha256(os.path.join(args.model_out, name))
                  for name in ("config.json", "model.safetensors", "tokenizer.json")},
        "corpus_sha256": sha256(corpus_path),
    }
    with open(record_path, "w") as f:
        json.dump(record, f, indent=1)
    print(json.dumps(record["acceptance"]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
