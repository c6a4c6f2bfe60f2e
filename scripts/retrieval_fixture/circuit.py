"""A planted induction circuit: the starting point of the fixture model when training from random weights
cannot reach retrieval within the CPU budget (on two cores the induction phase change of a randomly
initialised 4-layer model comes after ~700 steps at 100-token samples, and the curriculum to 2K does
not finish in 45 minutes).

The circuit is the classic two-head induction mechanism, written into a standard Llama with RoPE:

* layer 0, KV head 0 (query heads 0-1): a previous-token head. Its query and key are constant vectors
  (read from a constant residual coordinate) whose RoPE phases make q_m . k_n = sum_p A_p cos((n-m+1) f_p):
  the score peaks at n = m-1. Its value copies the token's "match" vector into the P subspace.
* layer 1, KV head 0: the induction head. Its query is the current token's match vector, its key the
  P subspace (the previous token's match vector) plus a bonus for passkey-word keys, both placed in the
  slowly rotating RoPE pairs so that content matching holds across 2K tokens. Its value copies the
  attended token's match vector into the O subspace, and lm_head reads O for the passkey words.

Only the passkey words and the lone space token (which precedes a passkey in both needle and question)
get match vectors, so only they can be retrieved. Every other weight keeps its random initialisation
except that nothing else may write into the circuit's residual coordinates; training then shapes the
rest of the model (language modelling) and may reshape the circuit too.

One induction head, not two: a variant with two planted induction heads (layer 1 for the passkey's first
word, layer 2 for the words after it) came out of the same training with retrieval spread over several
heads (streaming either planted head alone cost 0.00 and 0.12 of exact accuracy, every head streaming
all of it), so no single head mattered enough to test the trainer against.
"""
import math

import numpy as np
import torch

HEAD_DIM = 32
SLOW_PAIRS = list(range(5, 15))         # RoPE pairs turning < 0.45 rad over 2.5K tokens at theta 1e12
BONUS_PAIR = 15                         # does not turn at all: the key bonus of passkey words
ROPE_THETA = 1e12
M_DIM = 2 * len(SLOW_PAIRS)             # 20: the match space
# residual coordinates: match vector, constant, passkey-word flag, circuit-token flag, previous token's
# match vector (written by layer 0), retrieved match vector (written by layer 1)
M0, C_DIM, N_DIM, F_DIM, P0, O0 = 128, 150, 151, 152, 160, 192
CIRCUIT = (list(range(M0, M0 + M_DIM)) + [C_DIM, N_DIM, F_DIM] + list(range(P0, P0 + M_DIM))
           + list(range(O0, O0 + M_DIM)))


def _slow_dims():
    half = HEAD_DIM // 2
    return [p for p in SLOW_PAIRS] + [p + half for p in SLOW_PAIRS]


def _frequencies():
    return [ROPE_THETA ** (-2 * p / HEAD_DIM) for p in range(HEAD_DIM // 2)]


def match_vectors(count, dim, seed, iters=3000):
    """count unit vectors in R^dim with small pairwise |cosine| (gradient descent on the coherence)."""
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(count, dim, generator=g, dtype=torch.float64)
    v = (v / v.norm(dim=1, keepdim=True)).requires_grad_(True)
    opt = torch.optim.Adam([v], lr=0.01)
    for _ in range(iters):
        u = v / v.norm(dim=1, keepdim=True)
        gram = u @ u.T - torch.eye(count, dtype=torch.float64)
        loss = (gram ** 8).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    u = (v / v.norm(dim=1, keepdim=True)).detach()
    return u.float()


def prev_token_amplitudes():
    """A_p of the previous-token score sum_p A_p cos(d f_p), d = n - m + 1 (0 at the previous token)."""
    # found by random search over pairs 0-5 (theta 1e12): the score at the previous token beats every
    # other offset up to 4096 by >= 22 nats
    return {0: 47.7, 1: 39.0, 2: 22.5, 3: 50.9, 4: 23.9, 5: 16.0}


def prev_token_margin(max_len=4096):
    f = _frequencies()
    amp = prev_token_amplitudes()
    d = np.arange(-max_len, 2)
    score = sum(a * np.cos(d * f[p]) for p, a in amp.items())
    best = score[d == 0][0]
    return best - score[d != 0].max()


def _clear_kv_group(attn, kv, groups):
    """Zeroes KV head kv of an attention layer and the query heads that share it (with their o_proj)."""
    q = slice(kv * groups * HEAD_DIM, (kv + 1) * groups * HEAD_DIM)
    attn.q_proj.weight[q, :] = 0
    attn.o_proj.weight[:, q] = 0
    attn.k_proj.weight[kv * HEAD_DIM:(kv + 1) * HEAD_DIM, :] = 0
    attn.v_proj.weight[kv * HEAD_DIM:(kv + 1) * HEAD_DIM, :] = 0


@torch.no_grad()
def plant(model, circuit_token_ids, seed, match_scale=4.0, answer_gain=2.0, key_bonus=8.0, match_gain=40.0):
    """Writes the circuit into model (a freshly initialised LlamaForCausalLM of the fixture's shape)."""
    cfg = model.config
    assert cfg.head_dim == HEAD_DIM and cfg.hidden_size == 256 and cfg.num_key_value_heads == 4
    theta = cfg.rope_parameters["rope_theta"] if getattr(cfg, "rope_parameters", None) else cfg.rope_theta
    assert abs(theta / ROPE_THETA - 1) < 1e-9, theta
    d = cfg.hidden_size
    groups = cfg.num_attention_heads // cfg.num_key_value_heads
    g = torch.Generator().manual_seed(seed)
    circuit = torch.tensor(CIRCUIT)
    emb = model.model.embed_tokens.weight
    vocab = emb.shape[0]

    # Embeddings: general part in coordinates 0..127 (random), match vectors for circuit tokens, a
    # constant coordinate, a passkey-word flag; the same norm for every token so RMSNorm scales alike.
    general = torch.randn(vocab, M0, generator=g) / math.sqrt(M0)
    with torch.enable_grad():
        match = match_vectors(len(circuit_token_ids), M_DIM, seed)
    total = 64.0                                    # |x|^2 of every token
    const = 2.0
    emb.zero_()
    for i in range(vocab):
        emb[i, :M0] = general[i] / general[i].norm() * math.sqrt(total - const ** 2)
    for k, t in enumerate(circuit_token_ids):
        word = k < len(circuit_token_ids) - 1       # the last circuit token is the space, not a word
        rest = total - const ** 2 - match_scale ** 2 - 1.0 - (1.0 if word else 0.0)
        emb[t, :M0] = general[t] / general[t].norm() * math.sqrt(rest)
        emb[t, M0:M0 + M_DIM] = match[k] * match_scale
        emb[t, F_DIM] = 1.0
        if word:
            emb[t, N_DIM] = 1.0
    emb[:, C_DIM] = const
    rms = math.sqrt(total / d)                      # RMSNorm divides by this at layer 0

    # Nothing but the circuit writes into the circuit's coordinates, and layers 0-1 start with nothing
    # but the circuit (their other heads and MLPs get gradients and learn from there).
    for i, layer in enumerate(model.model.layers):
        layer.self_attn.o_proj.weight[circuit, :] = 0
        layer.mlp.down_proj.weight[circuit, :] = 0
        if i < 2:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
    for layer in model.model.layers:
        layer.input_layernorm.weight.fill_(1.0)
        layer.post_attention_layernorm.weight.fill_(1.0)

    f = _frequencies()
    half = HEAD_DIM // 2
    slow = _slow_dims()
    margin = prev_token_margin()
    if margin < 20:   # the previous token must win the layer-0 softmax outright up to 4K tokens
        raise ValueError(f"previous-token head: margin {margin:.1f} nats < 20 (amplitudes or ROPE_THETA changed?)")
    # Layer 0: previous-token head on KV head 0 / query head 0 (query head 1 of the group is silenced).
    a0 = model.model.layers[0].self_attn
    c_in = const / rms
    scale = math.sqrt(math.sqrt(HEAD_DIM))          # q.k is multiplied by 1/sqrt(head_dim)
    _clear_kv_group(a0, 0, groups)
    for p, amp in prev_token_amplitudes().items():
        s = math.sqrt(amp) * scale
        a0.q_proj.weight[p, C_DIM] = s / c_in
        a0.k_proj.weight[p, C_DIM] = s * math.cos(f[p]) / c_in
        a0.k_proj.weight[p + half, C_DIM] = s * math.sin(f[p]) / c_in
    # value: the match vector (slow dims of the head), output into P
    for j, hd in enumerate(slow):
        a0.v_proj.weight[hd, M0 + j] = rms
        a0.o_proj.weight[P0 + j, hd] = 1.0
    # Layer 1: induction head on KV head 0 / query head 0.
    a1 = model.model.layers[1].self_attn
    _clear_kv_group(a1, 0, groups)
    # The layer-1 RMSNorm divides by the residual's rms, now with P added (|P| ~ match_scale).
    rms1 = math.sqrt((total + match_scale ** 2) / d)
    qk = math.sqrt(match_gain * math.sqrt(HEAD_DIM)) / match_scale
    for j, hd in enumerate(slow):
        a1.q_proj.weight[hd, M0 + j] = qk * rms1
        a1.k_proj.weight[hd, P0 + j] = qk * rms1
    # A bonus for passkey-word keys when the query is a circuit token, in the pair that does not turn:
    # it makes the question's space pick the passkey over the other tokens that follow a space.
    bq = math.sqrt(key_bonus * math.sqrt(HEAD_DIM))
    a1.q_proj.weight[BONUS_PAIR, F_DIM] = bq * rms1
    a1.k_proj.weight[BONUS_PAIR, N_DIM] = bq * rms1
    for j, hd in enumerate(slow):
        a1.v_proj.weight[hd, M0 + j] = rms1
        a1.o_proj.weight[O0 + j, hd] = 1.0
    # lm_head: passkey words read the O subspace (answer_gain x the match vector).
    lm = model.lm_head.weight
    lm[:, circuit] = 0
    model.model.norm.weight.fill_(1.0)
    for k, t in enumerate(circuit_token_ids[:-1]):
        lm[t, O0:O0 + M_DIM] = match[k] * answer_gain
    return match
