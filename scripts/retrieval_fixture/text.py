"""Haystack text the fixture may contain: sentences from a small generated grammar.

Nothing here is copied from a corpus: a fixed list of common English words plus a few thousand
pseudo-words built from syllables (names of people and places), combined by sentence templates.
The NATO passkey words and the ordinals are kept out of the grammar so a passkey is never
predictable from the haystack.
"""
import random

NOUNS = """house river garden window letter table horse forest mountain village city road bridge door
candle lamp book story song friend brother sister mother father child king queen soldier farmer
teacher doctor sailor merchant baker painter singer hunter shepherd miller weaver smith stranger
ship boat wagon carriage cart wheel stone tree flower field meadow hill valley lake sea shore island
castle tower church school market shop inn kitchen cellar attic room hall stair wall roof garden
cloud storm wind rain snow sun moon star morning evening night winter summer spring autumn
bread cheese apple pear plum cake soup wine milk honey salt sugar coat hat boot glove ring coin
key box basket bag rope chain sword shield map clock bell mirror picture chair bed blanket
dog cat bird fox wolf bear deer mouse owl crow goose duck sheep cow goat pig rabbit fish
paper pen ink word name voice face hand heart eye head arm foot path gate fence well fire smoke
""".split()
VERBS = """saw found took left opened closed carried followed watched heard called found kept sold bought
painted wrote read built broke mended cleaned visited crossed climbed reached passed entered
remembered forgot loved hated admired feared noticed ignored praised blamed greeted thanked
asked answered helped pushed pulled lifted dropped hid showed lost won borrowed returned
""".split()
INTRANSITIVE = """slept laughed waited smiled wandered listened worked rested sang danced cried shouted
arrived departed returned stayed walked ran hurried paused trembled whispered
""".split()
ADJECTIVES = """old young small large quiet loud bright dark warm cold green red blue white black golden
silver tall short heavy light soft hard rich poor happy sad brave proud gentle kind cruel wise
foolish strange famous hidden empty full broken narrow wide deep shallow distant near wooden
ancient careful clever curious eager gray pale quick slow lonely busy calm wild sweet bitter
""".split()
ADVERBS = """slowly quickly quietly gladly sadly softly suddenly carefully often never always again
later early together alone gently loudly bravely
""".split()
PREPOSITIONS = "near behind beside under above across through into toward beyond around".split()
TIMES = """that morning, | in the evening, | after the storm, | before dawn, | at noon, | one winter, |
later that day, | the next week, | long ago, | on the third day, | in the spring,""".replace("\n", " ").split("|")

_ONSETS = ["b", "br", "c", "ch", "d", "dr", "f", "g", "gr", "h", "j", "k", "l", "m", "n", "p", "pr",
           "r", "s", "sh", "st", "t", "th", "tr", "v", "w", "z"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ou", "ie"]
_CODAS = ["", "", "n", "r", "l", "s", "th", "m", "nd", "rk", "st"]


def _pseudo_words(rng, count, forbidden):
    words, seen = [], set(forbidden)
    while len(words) < count:
        w = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
                    for _ in range(rng.randint(1, 3)))
        if 3 <= len(w) <= 11 and w not in seen:
            seen.add(w)
            words.append(w)
    return words


class Grammar:
    """Sentence generator over a fixed lexicon; the lexicon depends on lexicon_seed only.

    Sentences take a random.Random (fast and reproducible from its seed)."""

    def __init__(self, lexicon_seed, forbidden_words, num_names=1800, num_places=700):
        rng = random.Random(lexicon_seed)
        forbidden = set(forbidden_words) | set(NOUNS) | set(VERBS) | set(ADJECTIVES)
        pseudo = _pseudo_words(rng, num_names + num_places, forbidden)
        self.names = [w.capitalize() for w in pseudo[:num_names]]
        self.places = [w.capitalize() for w in pseudo[num_names:]]

    def _np(self, rng):
        if rng.random() < 0.5:
            return f"the {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
        return f"the {rng.choice(NOUNS)}"

    def sentence(self, rng):
        name, place = rng.choice(self.names), rng.choice(self.places)
        k = rng.randrange(8)
        if k == 0:
            s = f"{name} {rng.choice(VERBS)} {self._np(rng)} {rng.choice(PREPOSITIONS)} {self._np(rng)}."
        elif k == 1:
            s = f"{rng.choice(TIMES).strip()} {name} {rng.choice(INTRANSITIVE)} {rng.choice(ADVERBS)}."
        elif k == 2:
            s = f"{name} said that {self._np(rng)} was {rng.choice(ADJECTIVES)}."
        elif k == 3:
            s = f"The road to {place} went {rng.choice(PREPOSITIONS)} {self._np(rng)}."
        elif k == 4:
            s = f"{name} and {rng.choice(self.names)} {rng.choice(INTRANSITIVE)} in {place}."
        elif k == 5:
            s = f"In {place} there was {self._np(rng).replace('the ', 'a ', 1)} that nobody {rng.choice(VERBS)}."
        elif k == 6:
            s = f"\"{rng.choice(ADJECTIVES).capitalize()} {rng.choice(NOUNS)}!\" {name} {rng.choice(INTRANSITIVE)}."
        else:
            s = f"{name} {rng.choice(VERBS)} {self._np(rng)}, and {self._np(rng)} {rng.choice(INTRANSITIVE)}."
        return s[0].upper() + s[1:]

    def paragraph(self, rng):
        return " ".join(self.sentence(rng) for _ in range(rng.randint(3, 8)))

    def book(self, rng, num_words):
        paras, n = [], 0
        while n < num_words:
            p = self.paragraph(rng)
            paras.append(p)
            n += len(p.split())
        return "\n".join(paras)
