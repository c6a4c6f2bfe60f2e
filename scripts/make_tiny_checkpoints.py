#!/usr/bin/env python3
"""Writes the tiny random Llama/Mistral/Qwen2/Qwen3 checkpoints under tests/fixtures/models/ (and the
README's demo model tests/fixtures/tiny-llama/, a copy of tiny-llama-gqa).

Each is a real Hugging Face checkpoint: for Llama and Mistral, config.json written by hand the way
transformers 4.x writes it (rope_theta / rope_scaling keys); for Qwen2 and Qwen3, config.json written by
transformers itself (Qwen2Config / Qwen3Config.save_pretrained, so the installed version's form: 5.x
writes rope_parameters, dtype, layer_types); weights in safetensors (F32, F16 or BF16), one file or two
shards plus model.safetensors.index.json.  Seeded, so re-running gives identical weights.
The Qwen models carry what Llama lacks, with values far from the neutral ones so a forward pass that
forgets a term is visibly wrong: tiny-qwen2-gqa-bf16-tied has q/k/v biases of magnitude 0.3..1 (none on
o_proj or the MLP) and tied embeddings, as Qwen2.5's small models; tiny-qwen3-headdim has q_norm/k_norm
weights in 0.2..0.7 or 1.3..1.8 and head_dim 16 != hidden / heads = 8, untied.

Also writes tests/fixtures/models/reference.json: per model the parameter counts and, per tensor, its
dtype, shape and a few float32 values decoded by numpy (the C tests' oracle), and
tests/fixtures/models/dtype-cases.safetensors: F16/BF16 special values (subnormals, inf, nan, -0) with
their float32 values as numpy decodes them.

Needs numpy and safetensors, and transformers for the Qwen configs.  --verify additionally loads every checkpoint with transformers (and torch)
and checks that it loads with no missing weights, the same parameter count and the same values.

Usage: python3 scripts/make_tiny_checkpoints.py [--out tests/fixtures] [--verify]
"""
import argparse
import json
import os
import shutil

import numpy as np
from safetensors import TensorSpec, serialize_file

# Each model: (name, config overrides, storage dtype, options).
BASE = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, vocab_size=256, max_position_embeddings=2048, rms_norm_eps=1e-5,
            rope_theta=10000.0, rope_scaling=None, tie_word_embeddings=False, bos_token_id=1,
            eos_token_id=2)

MODELS = [
    # The plain case: GQA (2 query heads per KV head), float32, untied, no rope scaling.
    ("tiny-llama-gqa", dict(), "float32", {}),
    # MHA, bf16 storage, tied embeddings (no lm_head.weight in the file), Llama-3-like theta.
    ("tiny-llama-mha-bf16-tied",
     dict(num_key_value_heads=4, intermediate_size=80, vocab_size=288, rope_theta=500000.0,
          tie_word_embeddings=True, rms_norm_eps=1e-6), "bfloat16", {}),
    # Mistral, GQA with groups of 3, float16, sliding_window set (ignored for training).
    ("tiny-mistral-gqa-f16",
     dict(hidden_size=48, num_attention_heads=6, num_key_value_heads=2, intermediate_size=64,
          vocab_size=320, max_position_embeddings=32768, sliding_window=4096, rope_theta=1000000.0),
     "float16", {"model_type": "mistral"}),
    # Llama-3.1 style rope scaling, explicit head_dim (16 != hidden/heads = 8), eos as a list.
    ("tiny-llama3-rope-headdim",
     dict(head_dim=16, num_attention_heads=4, num_key_value_heads=2, rope_theta=500000.0,
          max_position_embeddings=2048, eos_token_id=[2, 3], bos_token_id=1,
          rope_scaling={"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                        "original_max_position_embeddings": 256, "rope_type": "llama3"}),
     "bfloat16", {}),
    # Linear rope scaling in the older {"type": ...} form; multi-query (1 KV head); an extra tensor
    # (rotary inv_freq, as old checkpoints carry) that loaders must ignore.
    ("tiny-llama-rope-linear",
     dict(num_key_value_heads=1, rope_scaling={"type": "linear", "factor": 4.0}),
     "float16", {"extra_tensor": True}),
    # Two shards plus model.safetensors.index.json.
    ("tiny-llama-sharded", dict(vocab_size=272), "bfloat16", {"shards": 2}),
    # Qwen2 (Qwen2.5-0.5B-like): q/k/v bias, GQA, tied embeddings, bf16, theta 1e6.
    ("tiny-qwen2-gqa-bf16-tied",
     dict(vocab_size=264, tie_word_embeddings=True, rope_theta=1000000.0, rms_norm_eps=1e-6,
          max_position_embeddings=32768), "bfloat16", {"model_type": "qwen2"}),
    # Qwen3 dense: q_norm/k_norm per head, explicit head_dim 16 (hidden / heads = 8), untied, f32.
    ("tiny-qwen3-headdim",
     dict(head_dim=16, vocab_size=248, rope_theta=1000000.0, rms_norm_eps=1e-6, max_position_embeddings=40960),
     "float32", {"model_type": "qwen3"}),
]


def make_qwen_config(cfg, dtype, model_type):
    """config.json as transformers writes it (Qwen2Config / Qwen3Config), as a dict."""
    import tempfile
    from transformers import Qwen2Config, Qwen3Config
    kw = dict(hidden_size=cfg["hidden_size"], intermediate_size=cfg["intermediate_size"],
              num_hidden_layers=cfg["num_hidden_layers"], num_attention_heads=cfg["num_attention_heads"],
              num_key_value_heads=cfg["num_key_value_heads"], vocab_size=cfg["vocab_size"],
              max_position_embeddings=cfg["max_position_embeddings"], rms_norm_eps=cfg["rms_norm_eps"],
              tie_word_embeddings=cfg["tie_word_embeddings"], bos_token_id=cfg["bos_token_id"],
              eos_token_id=cfg["eos_token_id"], use_sliding_window=False, max_window_layers=cfg["num_hidden_layers"],
              rope_parameters={"rope_type": "default", "rope_theta": cfg["rope_theta"]}, dtype=dtype,
              architectures=["Qwen2ForCausalLM" if model_type == "qwen2" else "Qwen3ForCausalLM"])
    if model_type == "qwen3":
        kw.update(head_dim=cfg["head_dim"], attention_bias=False)
    c = (Qwen2Config if model_type == "qwen2" else Qwen3Config)(**kw)
    with tempfile.TemporaryDirectory() as tmp:
        c.save_pretrained(tmp)
        with open(os.path.join(tmp, "config.json")) as f:
            return json.load(f)


def make_config(overrides, dtype, opts):
    cfg = dict(BASE)
    cfg.update(overrides)
    model_type = opts.get("model_type", "llama")
    if model_type in ("qwen2", "qwen3"):
        return make_qwen_config(cfg, dtype, model_type)
    arch = "MistralForCausalLM" if model_type == "mistral" else "LlamaForCausalLM"
    out = {"architectures": [arch], "attention_bias": False, "attention_dropout": 0.0,
           "bos_token_id": cfg["bos_token_id"], "eos_token_id": cfg["eos_token_id"]}
    if "head_dim" in cfg:
        out["head_dim"] = cfg["head_dim"]
    out.update({"hidden_act": "silu", "hidden_size": cfg["hidden_size"], "initializer_range": 0.02,
                "intermediate_size": cfg["intermediate_size"],
                "max_position_embeddings": cfg["max_position_embeddings"]})
    if model_type == "llama":
        out["mlp_bias"] = False
    out.update({"model_type": model_type, "num_attention_heads": cfg["num_attention_heads"],
                "num_hidden_layers": cfg["num_hidden_layers"],
                "num_key_value_heads": cfg["num_key_value_heads"]})
    if model_type == "llama":
        out["pretraining_tp"] = 1
    out.update({"rms_norm_eps": cfg["rms_norm_eps"], "rope_scaling": cfg["rope_scaling"],
                "rope_theta": cfg["rope_theta"]})
    if model_type == "mistral":
        out["sliding_window"] = cfg.get("sliding_window")
    out.update({"tie_word_embeddings": cfg["tie_word_embeddings"], "torch_dtype": dtype,
                "transformers_version": "4.45.2", "use_cache": True, "vocab_size": cfg["vocab_size"]})
    return out


def make_weights(cfg, rng, model_type="llama"):
    """Random weights in float32, in the order transformers saves them."""
    h, inter, vocab = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    heads, kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim", h // heads)

    def linear(out_f, in_f):  # scaled so activations stay O(1) through the layers
        return (rng.standard_normal((out_f, in_f)) / np.sqrt(in_f)).astype(np.float32)

    def norm(n):  # not all ones, so a forgotten norm weight shows up in forward-pass tests
        return (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32)

    def bias(n):  # magnitude 0.3..1, either sign: far from 0
        return (rng.choice([-1.0, 1.0], n) * rng.uniform(0.3, 1.0, n)).astype(np.float32)

    def far_norm(n):  # 0.2..0.7 or 1.3..1.8: far from 1
        return (1.0 + rng.choice([-1.0, 1.0], n) * rng.uniform(0.3, 0.8, n)).astype(np.float32)

    w = {"model.embed_tokens.weight": rng.standard_normal((vocab, h)).astype(np.float32)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = norm(h)
        w[p + "self_attn.q_proj.weight"] = linear(heads * hd, h)
        w[p + "self_attn.k_proj.weight"] = linear(kv * hd, h)
        w[p + "self_attn.v_proj.weight"] = linear(kv * hd, h)
        w[p + "self_attn.o_proj.weight"] = linear(h, heads * hd)
        if model_type == "qwen2":
            w[p + "self_attn.q_proj.bias"] = bias(heads * hd)
            w[p + "self_attn.k_proj.bias"] = bias(kv * hd)
            w[p + "self_attn.v_proj.bias"] = bias(kv * hd)
        if model_type == "qwen3":
            w[p + "self_attn.q_norm.weight"] = far_norm(hd)
            w[p + "self_attn.k_norm.weight"] = far_norm(hd)
        w[p + "post_attention_layernorm.weight"] = norm(h)
        w[p + "mlp.gate_proj.weight"] = linear(inter, h)
        w[p + "mlp.up_proj.weight"] = linear(inter, h)
        w[p + "mlp.down_proj.weight"] = linear(h, inter)
    w["model.norm.weight"] = norm(h)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = linear(vocab, h)
    return w


def f32_to_bf16_bits(a):
    """Round-to-nearest-even float32 -> bfloat16 bit patterns (uint16); what torch's .to(bfloat16) does."""
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def bf16_bits_to_f32(b):
    return (b.astype(np.uint32) << 16).view(np.float32)


def encode(a, dtype):
    """Returns (stored bytes as a numpy array, the float32 values the file really holds)."""
    if dtype == "float32":
        return a, a
    if dtype == "float16":
        h = a.astype(np.float16)
        return h, h.astype(np.float32)
    bits = f32_to_bf16_bits(a)
    return bits, bf16_bits_to_f32(bits)


ST_DTYPE = {"float32": "F32", "float16": "F16", "bfloat16": "BF16"}


def write_safetensors(path, tensors, dtype):
    """tensors: name -> stored numpy array (uint16 bit patterns for bf16)."""
    specs = {}
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        specs[name] = TensorSpec(dtype=dtype if dtype != "float32" else "float32", shape=list(arr.shape),
                                 data_ptr=arr.ctypes.data, data_len=arr.nbytes)
    serialize_file(specs, path, metadata={"format": "pt"})


def write_model(root, name, overrides, dtype, opts, rng, reference):
    cfg_json = make_config(overrides, dtype, opts)
    cfg = dict(BASE)
    cfg.update(overrides)
    d = os.path.join(root, "models", name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg_json, f, indent=2)
        f.write("\n")

    weights = make_weights(cfg, rng, opts.get("model_type", "llama"))
    stored, values = {}, {}
    for k, v in weights.items():
        stored[k], values[k] = encode(v, dtype)
    if opts.get("extra_tensor"):
        hd = cfg.get("head_dim", cfg["hidden_size"] // cfg["num_attention_heads"])
        inv = (1.0 / cfg["rope_theta"] ** (np.arange(0, hd, 2) / hd)).astype(np.float32)
        stored["model.layers.0.self_attn.rotary_emb.inv_freq"] = encode(inv, dtype)[0]

    nshards = opts.get("shards", 1)
    if nshards == 1:
        write_safetensors(os.path.join(d, "model.safetensors"), stored, dtype)
        shard_of = {k: "model.safetensors" for k in stored}
    else:
        names = list(stored)
        cut = len(names) // 2
        parts = [names[:cut], names[cut:]]
        shard_of = {}
        for i, part in enumerate(parts):
            fname = f"model-{i + 1:05d}-of-{nshards:05d}.safetensors"
            write_safetensors(os.path.join(d, fname), {k: stored[k] for k in part}, dtype)
            shard_of.update({k: fname for k in part})
        total = sum(int(stored[k].nbytes) for k in names)
        index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(shard_of.items()))}
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            json.dump(index, f, indent=2)
            f.write("\n")

    n_total = sum(int(v.size) for v in weights.values())
    n_embed = int(weights["model.embed_tokens.weight"].size)
    if "lm_head.weight" in weights:
        n_embed += int(weights["lm_head.weight"].size)
    tensors = {}
    for k, v in values.items():
        flat = v.reshape(-1).astype(np.float64)
        idx = [0, 1, flat.size // 2, flat.size - 1]
        tensors[k] = {"dtype": ST_DTYPE[dtype], "shape": list(v.shape), "file": shard_of[k],
                      "sum": float(flat.sum()), "sum_abs": float(np.abs(flat).sum()),
                      "samples": [[i, float(flat[i])] for i in idx]}
    reference[name] = {"num_params": n_total, "num_params_non_embedding": n_total - n_embed,
                       "dtype": ST_DTYPE[dtype], "bytes_of_weights": sum(int(v.nbytes) for v in stored.values()),
                       "tensors": tensors}
    return d


def write_dtype_cases(root):
    """Special values: F16 (every exponent class incl. subnormals, inf, nan, -0) and BF16."""
    f16_bits = np.array([0x0000, 0x8000, 0x0001, 0x8001, 0x0002, 0x03FF, 0x0200, 0x0400, 0x0401, 0x3C00,
                         0xBC00, 0x3555, 0x7BFF, 0xFBFF, 0x7C00, 0xFC00, 0x7E00, 0x7C01, 0xFE00, 0x4248,
                         0x1234, 0x8BCD, 0x5640, 0x0155], dtype=np.uint16)
    bf16_bits = np.array([0x0000, 0x8000, 0x0001, 0x807F, 0x0080, 0x3F80, 0xBF80, 0x4049, 0x7F7F, 0xFF7F,
                          0x7F80, 0xFF80, 0x7FC0, 0x7F81, 0x3E4D, 0xC2F7], dtype=np.uint16)
    f16_vals = f16_bits.view(np.float16).astype(np.float32)
    bf16_vals = bf16_bits_to_f32(bf16_bits)
    specs = {
        "f16": TensorSpec(dtype="float16", shape=[f16_bits.size], data_ptr=f16_bits.ctypes.data,
                          data_len=f16_bits.nbytes),
        "f16_as_f32": TensorSpec(dtype="float32", shape=[f16_vals.size], data_ptr=f16_vals.ctypes.data,
                                 data_len=f16_vals.nbytes),
        "bf16": TensorSpec(dtype="bfloat16", shape=[bf16_bits.size], data_ptr=bf16_bits.ctypes.data,
                           data_len=bf16_bits.nbytes),
        "bf16_as_f32": TensorSpec(dtype="float32", shape=[bf16_vals.size], data_ptr=bf16_vals.ctypes.data,
                                  data_len=bf16_vals.nbytes),
    }
    serialize_file(specs, os.path.join(root, "models", "dtype-cases.safetensors"), metadata=None)


def dump_reference(reference):
    """JSON with one line per tensor: small, and diffs stay readable."""
    out = []
    for m, (name, r) in enumerate(sorted(reference.items())):
        head = {k: v for k, v in r.items() if k != "tensors"}
        out.append(f'{json.dumps(name)}: {json.dumps(head, sort_keys=True)[:-1]}, "tensors": {{')
        items = sorted(r["tensors"].items())
        for i, (k, t) in enumerate(items):
            out.append(f"  {json.dumps(k)}: {json.dumps(t, sort_keys=True)}" + ("," if i + 1 < len(items) else ""))
        out.append("}}" + ("," if m + 1 < len(reference) else ""))
    return "{\n" + "\n".join(out) + "\n}\n"


def verify(d, ref):
    """Loads the checkpoint with transformers and compares it with what we meant to write."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    cfg = AutoConfig.from_pretrained(d)
    model, info = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, output_loading_info=True)
    assert not info["missing_keys"], (d, info["missing_keys"])
    assert not info["unexpected_keys"], (d, info["unexpected_keys"])
    assert not info["mismatched_keys"], (d, info["mismatched_keys"])
    n = sum(p.numel() for p in model.parameters())  # tied weights counted once, like ours
    assert n == ref["num_params"], (d, n, ref["num_params"])
    sd = model.state_dict()
    for k, t in ref["tensors"].items():
        flat = sd[k].double().reshape(-1)
        assert list(sd[k].shape) == t["shape"], (d, k)
        assert abs(float(flat.sum()) - t["sum"]) <= 1e-6 * max(1.0, t["sum_abs"]), (d, k)
        for i, v in t["samples"]:
            assert float(flat[i]) == v, (d, k, i)
    rope = getattr(cfg, "rope_parameters", None) or getattr(cfg, "rope_scaling", None)
    print(f"verified {d}: {n} parameters, rope {rope}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures"))
    ap.add_argument("--verify", action="store_true", help="load every checkpoint with transformers")
    args = ap.parse_args()
    root = os.path.normpath(args.out)
    rng = np.random.default_rng(20260514)
    reference = {}
    dirs = {}
    for name, overrides, dtype, opts in MODELS:
        dirs[name] = write_model(root, name, overrides, dtype, opts, rng, reference)
    write_dtype_cases(root)
    with open(os.path.join(root, "models", "reference.json"), "w") as f:
        f.write(dump_reference(reference))
    demo = os.path.join(root, "tiny-llama")
    shutil.rmtree(demo, ignore_errors=True)
    shutil.copytree(dirs["tiny-llama-gqa"], demo)
    if args.verify:
        for name, d in dirs.items():
            verify(d, reference[name])
        verify(demo, reference["tiny-llama-gqa"])


if __name__ == "__main__":
    main()
