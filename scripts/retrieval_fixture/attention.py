"""Causal GQA attention for the fixture's Llama, with optional streaming heads.

Registered with transformers' AttentionInterface as "duo_fixture". Which (layer, KV head) pairs are
streaming is module state set by the evaluation; a streaming head sees key j from query i iff
j <= i and (j < sink or i - j < recent), the token-level `sdpa` form of DESIGN section 1.
Training uses plain causal attention (is_causal, no mask tensor). The HF attention mask is ignored:
batches are right-padded and causal, so padding never reaches a real token.
"""
import torch
import torch.nn.functional as F
from transformers import AttentionInterface
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface

NAME = "duo_fixture"


class StreamingPlan:
    streaming = frozenset()   # set of (layer, kv_head)
    sink = 16
    recent = 64


PLAN = StreamingPlan()


def streaming_mask(n, sink, recent, device):
    i = torch.arange(n, device=device)[:, None]
    j = torch.arange(n, device=device)[None, :]
    return (j <= i) & ((j < sink) | (i - j < recent))


def _attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    layer = module.layer_idx
    hq, hkv, n = query.shape[1], key.shape[1], query.shape[2]
    groups = hq // hkv
    heads = [h for (l, h) in PLAN.streaming if l == layer]
    if not heads:
        out = F.scaled_dot_product_attention(query, key, value, is_causal=True, scale=scaling, enable_gqa=True)
    else:
        causal = torch.ones(n, n, dtype=torch.bool, device=query.device).tril()
        stream = streaming_mask(n, PLAN.sink, PLAN.recent, query.device)
        per_head = causal[None].repeat(hq, 1, 1)
        for h in heads:
            per_head[h * groups:(h + 1) * groups] = stream
        out = F.scaled_dot_product_attention(query, key, value, attn_mask=per_head[None], scale=scaling,
                                             enable_gqa=True)
    return out.transpose(1, 2).contiguous(), None


AttentionInterface.register(NAME, _attention)
AttentionMaskInterface.register(NAME, ALL_MASK_ATTENTION_FUNCTIONS["sdpa"])
