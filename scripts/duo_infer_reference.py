#!/usr/bin/env python3
"""A short PyTorch restatement of DuoAttention's deployed inference path, for Hugging Face Llama/Mistral
checkpoints, in float32 on the CPU: the oracle of the C inference path (DESIGN section 4).

It restates mit-han-lab/duo-attention as its needle and LongBench evaluations run it:
  duo_attn/patch/llama.py  enable_llama_duo_attention_eval + llama_duo_attention_forward_one_way_reordered
  duo_attn/patch/utils.py  reorder_linear_weights (full KV heads first), reorder_full_attn_heads
  duo_attn/patch/tuple_kv_cache.py  positions = the full cache's length (absolute, no shift)
  eval/needle/needle_in_haystack.py  evaluate_and_log: chunked prefill, decoding simulation, greedy loop
Semantics:
  * pattern: per layer, per KV head 1 (full) or 0 (streaming); the KV heads are reordered full-first
    (q/k/v output rows, o_proj input columns, biases), which leaves the outputs unchanged.
  * RoPE at absolute positions, before caching.  Full heads keep every position.
  * Attention in a forward of q tokens: every head sees its cache plus the chunk causally (query i of
    the chunk sees chunk tokens 0..i; flash-attn's causal mask for q < k is aligned bottom-right).
    The sequence's first forward (no cache) is dense causal attention for every head in the reference
    (prefill="reference"); prefill="streaming" applies the token-level mask j <= i and (j < sink or
    i - j < recent) to the streaming heads inside that first forward.
  * After every forward (each chunk, each decoded token) a streaming head's cache longer than
    sink + recent keeps its first `sink` and last `recent` entries.
  * The prompt's last `decoding_simulation_length` tokens are fed one at a time (the reference's
    default is 50); the earlier part is prefilled in chunks of `prefilling_chunk_size` (None: one
    forward).  Greedy decoding through lm_head, stopping after an EOS token or max_new_tokens.
    (The reference's loop does not test its first generated token for EOS and makes at most 51;
    here every generated token is tested, as DESIGN section 4 and Hugging Face generate do.)

  python3 scripts/duo_infer_reference.py --self-check     (needs torch + transformers; about a minute)
The self-check compares it with plain transformers at sparsity 0 and with windows covering the whole
sequence, and with mask_oracle (the same cache semantics as one masked pass) where windows evict.
"""
import argparse
import sys

import torch
import torch.nn.functional as F
from transformers import AutoModelForCausalLM
from transformers.models.llama.modeling_llama import apply_rotary_pos_emb


def load_model(path):
    return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()


def _rows(heads, width):
    """Row indices of the given heads in a projection whose heads are `width` rows each."""
    return torch.cat([torch.arange(h * width, (h + 1) * width) for h in heads])


class DuoInference:
    """One model with one binary pattern, sink and recent (enable_llama_duo_attention_eval)."""

    def __init__(self, model, pattern, sink, recent):
        cfg = model.config
        self.model, self.sink, self.recent = model, sink, recent
        self.heads, self.kv_heads = cfg.num_attention_heads, cfg.num_key_value_heads
        self.groups = self.heads // self.kv_heads
        self.head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // self.heads
        assert len(pattern) == cfg.num_hidden_layers and all(len(p) == self.kv_heads for p in pattern)
        self.layers = []
        for layer, heads in zip(model.model.layers, pattern):
            a = layer.self_attn
            full = [h for h in range(self.kv_heads) if heads[h]]
            order = full + [h for h in range(self.kv_heads) if not heads[h]]  # stable, as the reference
            q_rows = _rows(order, self.groups * self.head_dim)
            kv_rows = _rows(order, self.head_dim)

            def pick(lin, rows, dim):
                w = lin.weight.detach().index_select(dim, rows)
                b = None if lin.bias is None else lin.bias.detach()[rows] if dim == 0 else lin.bias.detach()
                return w, b

            self.layers.append({
                "q": pick(a.q_proj, q_rows, 0), "k": pick(a.k_proj, kv_rows, 0), "v": pick(a.v_proj, kv_rows, 0),
                "o": pick(a.o_proj, q_rows, 1), "full": len(full), "scaling": a.scaling,
            })

    def new_cache(self):
        e = torch.zeros(1, 0, 0, self.head_dim)
        c = {"seen": 0, "layers": []}
        for L in self.layers:
            nf, ns = L["full"], self.kv_heads - L["full"]
            c["layers"].append({"fk": e.new_zeros(1, nf, 0, self.head_dim), "fv": e.new_zeros(1, nf, 0, self.head_dim),
                                "sk": e.new_zeros(1, ns, 0, self.head_dim), "sv": e.new_zeros(1, ns, 0, self.head_dim)})
        return c

    def _attend(self, q, k, v, mask, scaling):
        """q (1, kvh*g, n, d), k/v (1, kvh, m, d), mask (n, m) bool: True = may attend."""
        if q.shape[1] == 0:
            return q
        k = k.repeat_interleave(self.groups, dim=1)
        v = v.repeat_interleave(self.groups, dim=1)
        s = (q @ k.transpose(-1, -2)) * scaling
        s = s.masked_fill(~mask, float("-inf"))
        return torch.softmax(s.float(), dim=-1).to(q.dtype) @ v

    def _causal(self, n, m):
        """Query i of n new tokens sees keys 0 .. m - n + i of m (bottom-right aligned)."""
        i = torch.arange(n)[:, None]
        j = torch.arange(m)[None, :]
        return j <= i + (m - n)

    def _streaming_first(self, n):
        i = torch.arange(n)[:, None]
        j = torch.arange(n)[None, :]
        return (j <= i) & ((j < self.sink) | (i - j < self.recent))

    @torch.no_grad()
    def forward(self, ids, cache, prefill="reference"):
        """One forward of the tokens ids after the cache; returns the last position's logits (float32)."""
        n, t0 = len(ids), cache["seen"]
        first = t0 == 0
        m = self.model.model
        x = m.embed_tokens(torch.tensor([ids]))
        pos = torch.arange(t0, t0 + n)[None]
        cos, sin = m.rotary_emb(x, pos)
        for L, layer, c in zip(self.layers, m.layers, cache["layers"]):
            h = layer.input_layernorm(x)
            q = F.linear(h, *L["q"]).view(1, n, self.heads, self.head_dim).transpose(1, 2)
            k = F.linear(h, *L["k"]).view(1, n, self.kv_heads, self.head_dim).transpose(1, 2)
            v = F.linear(h, *L["v"]).view(1, n, self.kv_heads, self.head_dim).transpose(1, 2)
            q, k = apply_rotary_pos_emb(q, k, cos, sin)
            nf, nqf = L["full"], L["full"] * self.groups
            fk, fv = torch.cat([c["fk"], k[:, :nf]], 2), torch.cat([c["fv"], v[:, :nf]], 2)
            sk, sv = torch.cat([c["sk"], k[:, nf:]], 2), torch.cat([c["sv"], v[:, nf:]], 2)
            if first and prefill == "reference":
                # llama_duo_attention_forward_one_way_reordered: q_len == kv_seq_len -> dense, all heads
                out = self._attend(q, k, v, self._causal(n, n), L["scaling"])
            else:
                out_f = self._attend(q[:, :nqf], fk, fv, self._causal(n, fk.shape[2]), L["scaling"])
                smask = self._streaming_first(n) if first else self._causal(n, sk.shape[2])
                out_s = self._attend(q[:, nqf:], sk, sv, smask, L["scaling"])
                out = torch.cat([out_f, out_s], 1)
            out = out.transpose(1, 2).reshape(1, n, self.heads * self.head_dim)
            x = x + F.linear(out, *L["o"])
            x = x + layer.mlp(layer.post_attention_layernorm(x))
            # Eviction after the forward: the first `sink` and the last `recent` entries stay.
            if sk.shape[2] > self.sink + self.recent:
                sk = torch.cat([sk[:, :, :self.sink], sk[:, :, -self.recent:]], 2)
                sv = torch.cat([sv[:, :, :self.sink], sv[:, :, -self.recent:]], 2)
            c.update(fk=fk, fv=fv, sk=sk, sv=sv)
        cache["seen"] = t0 + n
        return self.model.lm_head(m.norm(x))[0, -1].float()

    @torch.no_grad()
    def generate(self, prompt, prefilling_chunk_size=None, decoding_simulation_length=50, prefill="reference",
                 max_new_tokens=50, eos_token_ids=()):
        """evaluate_and_log's path.  Returns (generated ids, [logits that chose each of them])."""
        split = len(prompt) - decoding_simulation_length
        assert 0 < split <= len(prompt), "the prefilled part must not be empty"
        cache = self.new_cache()
        chunk = prefilling_chunk_size or split
        for i in range(0, split, chunk):
            logits = self.forward(prompt[i:min(i + chunk, split)], cache, prefill)
        for tok in prompt[split:]:
            logits = self.forward([tok], cache, prefill)
        ids, rows = [], []
        while True:
            rows.append(logits)
            ids.append(int(torch.argmax(logits)))
            if ids[-1] in eos_token_ids or len(ids) == max_new_tokens:
                return ids, rows
            logits = self.forward([ids[-1]], cache, prefill)


def forward_starts(prompt_len, chunk, sim, total):
    """Where each forward of generate() starts: prefill chunks, then one token at a time."""
    split = prompt_len - sim
    return list(range(0, split, chunk or split)) + list(range(split, total))


@torch.no_grad()
def mask_oracle(model, pattern, sink, recent, ids, starts, prefill="reference"):
    """The same semantics stated as one masked pass over the whole sequence, in the checkpoint's own
    head order: the query at t, in the forward that starts at s, sees every key j <= t in a full head;
    in a streaming head j <= t with j >= s (its own forward), j < sink or j >= s - recent (what the
    evictions after the earlier forwards left), and in the first forward with prefill="streaming" the
    token-level mask.  Returns the logits of every position."""
    n, m = len(ids), model.model
    start = torch.zeros(n, dtype=torch.long)
    for s in starts:
        start[s:] = s
    i, j = torch.arange(n)[:, None], torch.arange(n)[None, :]
    causal = j <= i
    s = start[:, None]
    stream = causal & ((j >= s) | (j < sink) | (j >= s - recent))
    first = (start == 0)[:, None]
    if prefill == "streaming":
        stream = torch.where(first, causal & ((j < sink) | (i - j < recent)), stream)
    x = m.embed_tokens(torch.tensor([ids]))
    cos, sin = m.rotary_emb(x, torch.arange(n)[None])
    for layer, heads in zip(m.layers, pattern):
        a = layer.self_attn
        h = layer.input_layernorm(x)
        kvh = len(heads)
        g = model.config.num_attention_heads // kvh
        q = a.q_proj(h).view(1, n, kvh * g, -1).transpose(1, 2)
        k = a.k_proj(h).view(1, n, kvh, -1).transpose(1, 2)
        v = a.v_proj(h).view(1, n, kvh, -1).transpose(1, 2)
        q, k = apply_rotary_pos_emb(q, k, cos, sin)
        k, v = k.repeat_interleave(g, 1), v.repeat_interleave(g, 1)
        mask = torch.stack([causal if heads[hq // g] else stream for hq in range(kvh * g)])[None]
        w = torch.softmax(((q @ k.transpose(-1, -2)) * a.scaling).masked_fill(~mask, float("-inf")), -1)
        x = x + a.o_proj((w @ v).transpose(1, 2).reshape(1, n, -1))
        x = x + layer.mlp(layer.post_attention_layernorm(x))
    return model.lm_head(m.norm(x))[0].float()


def hf_logits(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids]), use_cache=False).logits[0].float()


def self_check(model_dir, prompt, max_new=8, tol=1e-4):
    """Sparsity 0 equals plain transformers; a window covering everything makes streaming heads full."""
    model = load_model(model_dir)
    L, H = model.config.num_hidden_layers, model.config.num_key_value_heads
    total = len(prompt) + max_new
    worst = 0.0
    mixed = [[(l + h) % 2 for h in range(H)] for l in range(L)]
    runs = [([[1] * H for _ in range(L)], 4, 8), (mixed, total, total), ([[0] * H for _ in range(L)], 3, total)]
    for pattern, sink, recent in runs:
        duo = DuoInference(model, pattern, sink, recent)
        for chunk, sim, mode in [(None, 0, "reference"), (37, 11, "reference"), (29, 5, "streaming")]:
            ids, rows = duo.generate(prompt, chunk, sim, mode, max_new)
            ref = hf_logits(model, prompt + ids[:-1])[len(prompt) - 1:]
            err = max(float((r - ref[i]).abs().max()) / float(ref[i].abs().max()) for i, r in enumerate(rows))
            worst = max(worst, err)
            assert err < tol, f"{model_dir}: pattern {pattern} sink {sink} recent {recent} chunk {chunk}: {err}"
            assert ids == [int(torch.argmax(r)) for r in ref], "greedy ids differ from transformers"
    # The cache semantics against their restatement as one masked pass (evicting windows, mixed heads).
    for sink, recent, chunk, sim, mode in [(4, 8, 16, 7, "reference"), (2, 5, 40, 0, "streaming"),
                                           (3, 20, 13, 30, "streaming"), (8, 3, None, 9, "reference")]:
        duo = DuoInference(model, mixed, sink, recent)
        ids, rows = duo.generate(prompt, chunk, sim, mode, max_new)
        seq = prompt + ids[:-1]
        ref = mask_oracle(model, mixed, sink, recent, seq, forward_starts(len(prompt), chunk, sim, len(seq)),
                          mode)[len(prompt) - 1:]
        err = max(float((r - ref[i]).abs().max()) / float(ref[i].abs().max()) for i, r in enumerate(rows))
        worst = max(worst, err)
        assert err < tol, f"{model_dir}: mask oracle, sink {sink} recent {recent} chunk {chunk} sim {sim}: {err}"
        full = hf_logits(model, seq)[len(prompt) - 1:]
        assert float((full - ref).abs().max()) > 1e-3, "the streaming heads made no difference"
    return worst


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--self-check", action="store_true", help="compare against transformers on the tiny models")
    args = ap.parse_args()
    if args.self_check:
        g = torch.Generator().manual_seed(0)
        for name in ["tiny-llama-gqa", "tiny-mistral-gqa-f16", "tiny-llama-mha-bf16-tied"]:
            prompt = torch.randint(3, 250, (90,), generator=g).tolist()
            err = self_check("tests/fixtures/models/" + name, prompt)
            print(f"{name}: max relative logit difference to transformers {err:.2e}", file=sys.stderr)


if __name__ == "__main__":
    main()
