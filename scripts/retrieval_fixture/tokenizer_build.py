"""Trains the fixture's byte-level BPE tokenizer (GPT-2 style pre-tokeniser, BOS by TemplateProcessing).

add_prefix_space: every separately encoded piece starts with a space, as a SentencePiece (Llama-2)
tokenizer does, so a passkey's first word is the same token as its other words and as the word in the
needle (" alpha"), and one copying mechanism serves every word of the answer."""
import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

from .passkey_format import NATO, ORDINALS, Templates

BOS, EOS = "<s>", "</s>"
SPACE = "\u0120"   # the byte-level token of a lone space: it ends the needle and the question


def _template_lines(rng, repeats):
    """Texts that make every passkey word (with and without a leading space) and the prompts frequent."""
    t = Templates()
    lines = []
    for _ in range(repeats):
        words = [NATO[i] for i in rng.permutation(len(NATO))]
        lines.append(" ".join(words))
        lines.append("\n".join(words))
        lines.append(t.prompt1 + t.prompt2 + t.separator.join(
            t.needle.format(ordinal_number=o) + t.question.format(ordinal_number=o) for o in ORDINALS))
    return lines


def train_tokenizer(texts, vocab_size, seed):
    rng = np.random.default_rng(seed)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=[BOS, EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(list(texts) + _template_lines(rng, 400), trainer)
    bos = tok.token_to_id(BOS)
    tok.post_processor = processors.TemplateProcessing(single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B",
                                                       special_tokens=[(BOS, bos)])
    if tok.token_to_id(SPACE) is None:
        raise RuntimeError("tokenizer: no token for a lone space")
    for w in NATO:
        for s in (w, " " + w):
            n = len(tok.encode(s, add_special_tokens=False).ids)
            if n != 1:
                raise RuntimeError(f"tokenizer: {s!r} is {n} tokens; raise its frequency or the vocab size")
    return tok
