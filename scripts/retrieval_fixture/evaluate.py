"""Passkey accuracy of a checkpoint with full attention, all heads streaming, or one head streaming.

A passkey counts as retrieved when the greedy answer equals it exactly: given the sample up to its
"Passkey: " (earlier QA lines included, as the sample has them), the argmax of every answer token is the
passkey's token. One forward pass gives this for every passkey of a sample (teacher forcing equals
greedy decoding as long as every earlier answer token was right). First-token accuracy is also kept.
Samples are built from the bundled corpus the way the C tool builds them: the texts are concatenated
until the haystack has ctx_max tokens, a sample of context length c takes its first c tokens, and
the padding comes from the haystack's last tokens.
"""
import numpy as np
import torch

from . import attention


def corpus_haystack(tokenizer, texts, ctx_max):
    hay = ""
    for t in texts:
        if len(tokenizer.encode(hay, add_special_tokens=False).ids) >= ctx_max:
            break
        hay += t
    ids = tokenizer.encode(hay, add_special_tokens=False).ids
    if len(ids) < ctx_max:
        raise ValueError(f"corpus has {len(ids)} tokens, need {ctx_max}")
    return ids[:ctx_max]


def eval_samples(builder, haystack, c, count, num_passkeys, passkey_length, seed):
    rng = np.random.default_rng(seed)
    return [builder.build(haystack[:c], haystack, builder.random_depths(rng, num_passkeys),
                          builder.random_passkeys(rng, num_passkeys, passkey_length)) for _ in range(count)]


@torch.no_grad()
def accuracy(model, samples, streaming=(), sink=16, recent=64, batch=10, device="cpu"):
    attention.PLAN.streaming = frozenset(streaming)
    attention.PLAN.sink, attention.PLAN.recent = sink, recent
    exact = first = total = 0
    try:
        for k in range(0, len(samples), batch):
            chunk = samples[k:k + batch]
            n = max(len(s.input_ids) for s in chunk)
            ids = torch.zeros(len(chunk), n, dtype=torch.long)
            for i, s in enumerate(chunk):
                ids[i, :len(s.input_ids)] = torch.tensor(s.input_ids)
            hidden = model.model(input_ids=ids.to(device)).last_hidden_state
            for i, s in enumerate(chunk):
                for span, pk in zip(s.answer_positions, s.passkeys):
                    pred = model.lm_head(hidden[i, [p - 1 for p in span]]).argmax(-1).tolist()
                    exact += pred == list(pk)
                    first += pred[0] == pk[0]
                    total += 1
    finally:
        attention.PLAN.streaming = frozenset()
    return exact / total, first / total
