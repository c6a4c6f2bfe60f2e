"""The multi-passkey sample format of DESIGN section 2 (the reference's MultiplePasskeyRetrievalDataset).

Every piece is tokenised on its own and the token lists are concatenated, as the reference does: prompt1
with the tokenizer's special tokens (BOS), haystack, needles (sep, needle text, passkey, sep) at sorted
depth ratios, padding with the haystack's last tokens up to a multiple of 16 (the reference always pads,
1..16 tokens), prompt2, then per passkey the question, the passkey and sep. The passkey is encoded alone;
the fixture's tokenizer adds a prefix space to every piece (as Llama-2's SentencePiece does), so every
passkey word is the same single token (" alpha") wherever it stands.
"""
from dataclasses import dataclass, field

import numpy as np

NATO = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett",
        "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango",
        "uniform", "victor", "whiskey", "xray", "yankee", "zulu"]
ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
            "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
            "eighteenth", "nineteenth", "twentieth"]


@dataclass
class Templates:
    needle: str = "Remeber this sequence of words, it's the {ordinal_number} passkey to the vault: "
    question: str = ("Based on the content of the book, what is the {ordinal_number} passkey to the vault?"
                     "\nPasskey: ")
    prompt1: str = "<|im_start|> This is a very long story book: <book> "
    prompt2: str = " </book>.\n\n"
    separator: str = "\n\n"
    pad_to_multiple_of: int = 16
    min_depth_ratio: float = 0.05
    max_depth_ratio: float = 0.95
    depth_ratio_num_intervals: int = 1000


@dataclass
class Sample:
    input_ids: list
    labels: list                      # -100 outside the QA part, as the reference
    answer_positions: list = field(default_factory=list)   # per passkey: positions of its word tokens
    passkeys: list = field(default_factory=list)           # per passkey: its token ids


class PasskeyBuilder:
    def __init__(self, tokenizer, templates=None):
        self.t = templates or Templates()
        enc = lambda s: tokenizer.encode(s, add_special_tokens=False).ids
        self.needles = [enc(self.t.needle.format(ordinal_number=o)) for o in ORDINALS]
        self.questions = [enc(self.t.question.format(ordinal_number=o)) for o in ORDINALS]
        self.sep = enc(self.t.separator)
        self.prompt1 = tokenizer.encode(self.t.prompt1, add_special_tokens=True).ids
        self.prompt2 = enc(self.t.prompt2)
        # Each passkey word is one token; with a prefix-space tokenizer first_word == next_word.
        self.first_word = [self._single(enc(w), w) for w in NATO]
        self.next_word = [self._single(enc(" " + w), w) for w in NATO]
        self.enc = enc
        self.depths = np.linspace(self.t.min_depth_ratio, self.t.max_depth_ratio,
                                  self.t.depth_ratio_num_intervals)

    @staticmethod
    def _single(ids, word):
        if len(ids) != 1:
            raise ValueError(f"passkey word {word!r} is {len(ids)} tokens, expected one")
        return ids[0]

    def passkey_tokens(self, word_idx):
        return [self.first_word[word_idx[0]]] + [self.next_word[i] for i in word_idx[1:]]

    def random_passkeys(self, rng, num_passkeys, passkey_length):
        return [self.passkey_tokens(rng.integers(0, len(NATO), passkey_length)) for _ in range(num_passkeys)]

    def random_depths(self, rng, num_passkeys):
        return np.sort(self.depths[rng.permutation(len(self.depths))[:num_passkeys]])

    def build(self, haystack, pad_source, depth_ratios, passkeys):
        """haystack: the sample's haystack tokens (its first c tokens); pad_source: the whole haystack."""
        context, last = [], 0
        for i, (ratio, pk) in enumerate(zip(depth_ratios, passkeys)):
            point = int(len(haystack) * float(ratio))
            context += haystack[last:point] + self.sep + self.needles[i] + pk + self.sep
            last = point
        context += haystack[last:]
        qa, spans = [], []
        for i, pk in enumerate(passkeys):
            qa += self.questions[i]
            spans.append(list(range(len(qa), len(qa) + len(pk))))
            qa += pk + self.sep
        context = self.prompt1 + context
        pad_len = self.t.pad_to_multiple_of - (len(context) + len(qa) + len(self.prompt2)) % self.t.pad_to_multiple_of
        context += pad_source[len(pad_source) - pad_len:]
        context += self.prompt2
        off = len(context)
        return Sample(input_ids=context + qa, labels=[-100] * len(context) + qa,
                      answer_positions=[[off + p for p in s] for s in spans], passkeys=passkeys)
