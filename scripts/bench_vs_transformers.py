#!/usr/bin/env python3
"""duo-train's dense inference speed against Hugging Face transformers on the same checkpoint.

For each prompt length, alternately R times: `duo-train bench infer --backend cpu --model DIR --ctx L
--sparsities 0 --new-tokens N` (sparsity 0: every head full, the work transformers does) and
transformers (float32, attn_implementation="sdpa", torch.inference_mode, the same thread count; OMP_WAIT_POLICY
passive for transformers, unset for duo-train, unless the user set one for both): one
prefill forward over L token ids (logits of the last position only, as generate() asks for), then N
greedy one-token forwards on the KV cache, each timed.  Prints per length the medians of prefill seconds
and decode ms/token of both, and their ratios (transformers / duo-train: duo-train's speed-up, the
median of the pairwise ratios), then which >= 1.5x targets are met.

And the roofline of the prefill: the FLOPs of each side's forward (linear layers, causal attention over
the lower triangle, lm_head on the last row; duo-train's last layer computes only its last row's output
and every row's K/V), the GFLOP/s each reached, and the bound: the speed-up duo-train would show if all
its FLOPs ran at this machine's float32 sgemm rate (`duo-train bench gemm`, 2048^3, the same threads)
against transformers' measured time.  A target above the bound is beyond float32 arithmetic here.

The model: --model DIR (config.json + safetensors that transformers loads), or --random-shape NAME: a
random Llama of one of duo-train's named shapes (cli/bench_shapes.c, same config numbers) written with
save_pretrained (bf16, as duo-train's random shapes) into a temporary folder, so both read the same
weights.  No network, no tokenizer: ids are random.  torch and transformers are needed only to run the
comparison; --print-config works without them.
"""
import argparse
import inspect
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

# duo-train's named random shapes (cli/bench_shapes.c bench_random_shape): the same numbers.
COMMON = {"rms_norm_eps": 1e-5, "rope_theta": 500000.0, "max_position_embeddings": 131072}
SHAPES = {
    "small": dict(hidden_size=256, intermediate_size=768, num_hidden_layers=4, num_attention_heads=8,
                  num_key_value_heads=4, head_dim=32, vocab_size=1000),
    "medium": dict(hidden_size=1024, intermediate_size=2816, num_hidden_layers=8, num_attention_heads=16,
                   num_key_value_heads=8, head_dim=64, vocab_size=32000),
    "1b": dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
               num_key_value_heads=8, head_dim=64, vocab_size=32000),
    "8b": dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
               num_key_value_heads=8, head_dim=128, vocab_size=128256),
    "70b": dict(hidden_size=8192, intermediate_size=28672, num_hidden_layers=80, num_attention_heads=64,
                num_key_value_heads=8, head_dim=128, vocab_size=128256),
}
TARGET = 1.5
DUO_WAIT_POLICY = None  # the user's OMP_WAIT_POLICY for duo-train (None: duo-train's default, unset)


def shape_config(name):
    """The LlamaConfig keyword arguments of a named shape (KeyError for an unknown one)."""
    cfg = dict(SHAPES[name])
    cfg.update(COMMON)
    cfg.update(model_type="llama", tie_word_embeddings=False, attention_bias=False, mlp_bias=False,
               hidden_act="silu", bos_token_id=0, eos_token_id=1)
    return cfg


def model_dims(cfg):
    """The numbers the FLOP count needs from a config.json dict (head_dim defaults to hidden / heads)."""
    d, H = cfg["hidden_size"], cfg["num_attention_heads"]
    hd = cfg.get("head_dim") or d // H
    return dict(d=d, inter=cfg["intermediate_size"], layers=cfg["num_hidden_layers"], H=H,
                KVH=cfg.get("num_key_value_heads") or H, hd=hd, vocab=cfg["vocab_size"])


def prefill_flops(dims, L, last_row_only):
    """FLOPs of one prefill forward over L tokens: per row and layer the q/k/v/o and MLP products (2 per
    multiply-add), causal attention's two products over the lower triangle (query i against keys 0..i),
    lm_head on the last row.  last_row_only: duo-train's last layer, which projects every row's K/V but
    computes queries, attention, o_proj and the MLP for the last row alone."""
    d, inter, H, hd = dims["d"], dims["inter"], dims["H"], dims["hd"]
    q, kv = H * hd, dims["KVH"] * hd
    row_kv = 2 * 2 * d * kv
    row_rest = 2 * (d * q + q * d + 3 * d * inter)
    attn = 2 * 2 * H * hd * L * (L + 1) // 2  # QK^T and PV, sum over i of (i + 1) keys
    layer = L * (row_kv + row_rest) + attn
    full_layers = dims["layers"] - 1 if last_row_only else dims["layers"]
    last = L * row_kv + row_rest + 2 * 2 * H * hd * L if last_row_only else 0
    return full_layers * layer + last + 2 * d * dims["vocab"]


def parse_gemm_peak(text, threads):
    """GFLOP/s (best sample) of `duo-train bench gemm`'s square row at the given thread count."""
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 7 and f[0] == "square" and f[4] == str(threads):
            return float(f[6])
    raise ValueError(f"no square row at {threads} threads in duo-train's bench gemm output:\n" + text)


def parse_duo_table(text):
    """{ctx: (prefill_s, decode_ms_per_token)} from `duo-train bench infer` output (sparsity 0 rows)."""
    rows, in_table = {}, False
    for line in text.splitlines():
        f = line.split()
        if f[:3] == ["ctx", "sparsity", "prefill"]:
            in_table = True
            continue
        if in_table and len(f) >= 5 and f[0].isdigit():
            if float(f[1]) == 0.0:
                rows[int(f[0])] = (float(f[2]), float(f[4]))
    if not rows:
        raise ValueError("no sparsity-0 rows in duo-train's bench infer output:\n" + text)
    return rows


def plan_lengths(ctxs, new_tokens, max_pos):
    """The lengths to run and a message per changed one: a length past max_pos is dropped; one that
    fits but leaves no room for the new tokens is cut to max_pos - new_tokens (duo-train refuses a
    prompt plus its new tokens beyond the positions)."""
    out, notes = [], []
    for L in ctxs:
        if L > max_pos:
            notes.append(f"ctx {L}: beyond the model's {max_pos} positions, dropped")
        elif L + new_tokens > max_pos:
            cut = max_pos - new_tokens
            if cut < 1:
                notes.append(f"ctx {L}: no room for {new_tokens} new tokens in {max_pos} positions, dropped")
            else:
                notes.append(f"ctx {L}: {L} + {new_tokens} new tokens exceed {max_pos} positions, measured at {cut}")
                out.append(cut)
        else:
            out.append(L)
    return sorted(set(out)), notes


def summarize(duo, hf):
    """Medians and speed-ups of one length: duo, hf are lists of (prefill_s, decode_ms) pairs, run
    alternately.  The speed-up is the median of the pairwise ratios hf / duo."""
    med = lambda xs: statistics.median(xs)
    return {
        "duo_prefill": med([d[0] for d in duo]), "hf_prefill": med([h[0] for h in hf]),
        "duo_decode": med([d[1] for d in duo]), "hf_decode": med([h[1] for h in hf]),
        "prefill_x": med([h[0] / d[0] for d, h in zip(duo, hf)]),
        "decode_x": med([h[1] / d[1] for d, h in zip(duo, hf)]),
    }


def add_roofline(row, duo_flops, hf_flops, peak):
    """row (summarize(...)) with each side's prefill GFLOP/s and the bound: transformers' median prefill
    time over duo-train's FLOPs at the sgemm peak (GFLOP/s)."""
    return dict(row, duo_gflops=duo_flops / row["duo_prefill"] / 1e9, hf_gflops=hf_flops / row["hf_prefill"] / 1e9,
                bound_x=row["hf_prefill"] * peak * 1e9 / duo_flops, peak=peak)


def verdict(rows):
    """The closing line: which >= TARGET targets are met ({length: summarize(...)}, with add_roofline's
    bound where known: a missed prefill length whose bound is under the target is named as such)."""
    parts = []
    for what, key in (("prefill", "prefill_x"), ("decode", "decode_x")):
        met = [L for L, r in rows.items() if r[key] >= TARGET]
        missed = [L for L, r in rows.items() if r[key] < TARGET]
        state = "met at every length" if not missed else \
            f"missed at {', '.join(map(str, missed))}" + (f" (met at {', '.join(map(str, met))})" if met else "")
        if what == "prefill" and all("bound_x" in rows[L] for L in missed):
            beyond = [f"{L} ({rows[L]['bound_x']:.2f}x)" for L in missed if rows[L]["bound_x"] < TARGET]
            reach = [f"{L} needs {100 * TARGET / rows[L]['bound_x']:.0f}% of it, runs at "
                     f"{100 * rows[L]['duo_gflops'] / rows[L]['peak']:.0f}%" for L in missed
                     if rows[L]["bound_x"] >= TARGET]
            if beyond:
                state += f"; beyond float32 at the sgemm rate at {', '.join(beyond)}"
            if reach:
                state += f"; of the sgemm rate over the whole forward, {'; '.join(reach)}"
        parts.append(f"{what} >= {TARGET}x: {state}")
    return "targets: " + "; ".join(parts)


def format_table(rows):
    roof = all("bound_x" in r for r in rows.values())
    head = f"{'ctx':>7} {'duo prefill s':>14} {'HF prefill s':>13} {'speed-up':>9} {'duo decode ms/t':>16} " \
           f"{'HF decode ms/t':>15} {'speed-up':>9}"
    if roof:
        head += f" {'duo GFLOP/s':>12} {'HF GFLOP/s':>11} {'bound':>7}"
    lines = [head]
    for L, r in sorted(rows.items()):
        line = f"{L:>7} {r['duo_prefill']:>14.3f} {r['hf_prefill']:>13.3f} {r['prefill_x']:>8.2f}x " \
               f"{r['duo_decode']:>16.2f} {r['hf_decode']:>15.2f} {r['decode_x']:>8.2f}x"
        if roof:
            line += f" {r['duo_gflops']:>12.1f} {r['hf_gflops']:>11.1f} {r['bound_x']:>6.2f}x"
        lines.append(line)
    return "\n".join(lines)


def run_gemm_peak(duo_bin, threads):
    """This machine's float32 sgemm rate on `threads` threads (GFLOP/s, duo-train bench gemm, 2048^3)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    cmd = [duo_bin, "bench", "gemm", "--backend", "cpu", "--dtype", "fp32", "--size", "2048", "--threads",
           str(threads), "--repeats", "5"]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stderr}")
    return parse_gemm_peak(p.stdout, threads)


def run_duo(duo_bin, model_dir, L, new_tokens, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    env.pop("OMP_WAIT_POLICY", None)
    if DUO_WAIT_POLICY:
        env["OMP_WAIT_POLICY"] = DUO_WAIT_POLICY
    cmd = [duo_bin, "bench", "infer", "--backend", "cpu", "--model", model_dir, "--ctx", str(L),
           "--sparsities", "0", "--new-tokens", str(new_tokens)]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stderr}")
    return parse_duo_table(p.stdout)[L]


class HFRunner:
    """transformers in this process: float32, SDPA, inference mode, the given thread count."""

    def __init__(self, model_dir, threads):
        import torch
        from transformers import AutoModelForCausalLM
        self.torch = torch
        torch.set_num_threads(threads)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32,
                                                          attn_implementation="sdpa").eval()
        self.vocab = self.model.config.vocab_size
        # the KV cache argument: `cache` in recent transformers, `past_key_values` before
        params = inspect.signature(self.model.forward).parameters
        self.cache_kw = "cache" if "cache" in params else "past_key_values"
        self.gen = torch.Generator().manual_seed(0)

    def run(self, L, new_tokens):
        """(prefill seconds, mean ms per one-token forward)."""
        torch = self.torch
        from transformers import DynamicCache
        ids = torch.randint(0, self.vocab, (1, L), generator=self.gen)
        with torch.inference_mode():
            cache = {self.cache_kw: DynamicCache(config=self.model.config)}
            t0 = time.perf_counter()
            out = self.model(input_ids=ids, use_cache=True, logits_to_keep=1, **cache)
            prefill = time.perf_counter() - t0
            nxt = out.logits[:, -1].argmax(-1, keepdim=True)
            steps = []
            for _ in range(new_tokens):
                t0 = time.perf_counter()
                out = self.model(input_ids=nxt, use_cache=True, **cache)
                nxt = out.logits[:, -1].argmax(-1, keepdim=True)
                steps.append(time.perf_counter() - t0)
        return prefill, 1000 * sum(steps) / len(steps)


def write_random_checkpoint(name, folder):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(42)
    model = LlamaForCausalLM(LlamaConfig(**shape_config(name)))
    model.to(torch.bfloat16).save_pretrained(folder, safe_serialization=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="a checkpoint folder transformers can load (config.json + safetensors)")
    src.add_argument("--random-shape", choices=sorted(SHAPES), help="a random Llama of duo-train's named shape")
    ap.add_argument("--ctx", default="1024,4096,8192", help="prompt lengths (default 1024,4096,8192)")
    ap.add_argument("--threads", type=int, default=2, help="threads of both (default 2)")
    ap.add_argument("--new-tokens", type=int, default=32, help="tokens decoded per prompt (default 32)")
    ap.add_argument("--repeats", type=int, default=3, help="alternating runs of each per length (default 3)")
    ap.add_argument("--duo-bin", default="build/duo-train", help="the duo-train binary (default build/duo-train)")
    ap.add_argument("--keep", help="with --random-shape: write the checkpoint here (and reuse it if present)")
    ap.add_argument("--print-config", action="store_true", help="print the shape's config as JSON and stop")
    a = ap.parse_args(argv)
    if a.print_config:
        if not a.random_shape:
            ap.error("--print-config needs --random-shape")
        print(json.dumps(shape_config(a.random_shape), sort_keys=True))
        return 0
    try:
        ctxs = [int(x) for x in a.ctx.split(",")]
    except ValueError:
        ap.error(f"--ctx: '{a.ctx}' is not a comma-separated list of lengths")
    if a.threads < 1 or a.new_tokens < 1 or a.repeats < 1 or min(ctxs) < 1:
        ap.error("--threads, --new-tokens, --repeats and every --ctx must be >= 1")

    tmp = None
    model_dir = a.model
    if a.random_shape:
        model_dir = a.keep
        if not model_dir:
            tmp = tempfile.TemporaryDirectory(prefix=f"duo-hf-{a.random_shape}-")
            model_dir = tmp.name
        if not os.path.exists(os.path.join(model_dir, "config.json")):
            print(f"writing a random {a.random_shape} checkpoint (bf16) to {model_dir}", file=sys.stderr)
            write_random_checkpoint(a.random_shape, model_dir)
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    max_pos = config.get("max_position_embeddings", math.inf)
    lengths, notes = plan_lengths(ctxs, a.new_tokens, max_pos)
    for n in notes:
        print(n, file=sys.stderr)
    if not lengths:
        print("no length to run", file=sys.stderr)
        return 1

    # Each at its best OpenMP wait policy unless the user set one for both: torch passive, set before it
    # loads (its spinning threads cost 10x in decode on a busy machine); duo-train unset, libgomp's
    # spin-then-sleep (it runs every product on OpenMP's team, cli/runtime_env.h).
    global DUO_WAIT_POLICY
    DUO_WAIT_POLICY = os.environ.get("OMP_WAIT_POLICY")
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    import torch
    import transformers
    hf = HFRunner(model_dir, a.threads)
    print(f"model {a.model or a.random_shape}: float32 compute, {a.threads} threads, {a.new_tokens} new tokens, "
          f"{a.repeats} alternating runs per length; torch {torch.__version__}, transformers "
          f"{transformers.__version__} (sdpa), duo-train {a.duo_bin} (cpu, sparsity 0); "
          f"OMP_WAIT_POLICY: transformers {os.environ['OMP_WAIT_POLICY']}, duo-train {DUO_WAIT_POLICY or 'unset'}")
    run_duo(a.duo_bin, model_dir, min(lengths), 2, a.threads)  # the checkpoint into the page cache
    peak = run_gemm_peak(a.duo_bin, a.threads)
    dims = model_dims(config)
    print(f"float32 sgemm rate (duo-train bench gemm, 2048^3, {a.threads} threads): {peak:.1f} GFLOP/s",
          file=sys.stderr)
    rows = {}
    for L in lengths:
        hf.run(min(L, 1024), 2)  # warm-up: thread pool, allocator, the model's first forward
        duo_runs, hf_runs = [], []
        for r in range(a.repeats):
            duo_runs.append(run_duo(a.duo_bin, model_dir, L, a.new_tokens, a.threads))
            hf_runs.append(hf.run(L, a.new_tokens))
            print(f"ctx {L} run {r + 1}: duo prefill {duo_runs[-1][0]:.3f} s decode {duo_runs[-1][1]:.2f} ms/t; "
                  f"HF prefill {hf_runs[-1][0]:.3f} s decode {hf_runs[-1][1]:.2f} ms/t", file=sys.stderr)
        rows[L] = add_roofline(summarize(duo_runs, hf_runs), prefill_flops(dims, L, True),
                               prefill_flops(dims, L, False), peak)
    print(format_table(rows))
    print(f"GFLOP/s: each side's prefill FLOPs (duo-train's last layer on its last row) over its median time; "
          f"bound: transformers' time over duo-train's FLOPs at the {peak:.1f} GFLOP/s sgemm rate")
    print(verdict(rows))
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
