#!/usr/bin/env python3
"""Reference scores for tests/test_scores.c, computed by the packages the DuoAttention reference uses.

Writes tests/fixtures/score_refs/score_refs.json:
  needle:  the reference's needle, the target of every rouge case without a "target" of its own
  rouge:   (target, prediction) pairs scored by rouge_score's RougeScorer(["rouge1"], use_stemmer=True),
           as eval/needle/needle_in_haystack.py scores a response (target = the needle), with the
           prediction's stemmed tokens; precision, recall and fmeasure as Python floats (repr, so
           they parse back to the same doubles)
  stems:   [word, NLTK PorterStemmer().stem(word)] for words built to reach every rule
  overlap: (response, answer, score) with the plot score of eval/needle/visualize.py
Needs: pip install rouge_score nltk.  Run from the repository root:
  python3 scripts/gen_score_refs.py
"""
import json
import os
import random
import sys

import nltk
import rouge_score
from nltk.stem import porter
from rouge_score import rouge_scorer, tokenize

OUT = "tests/fixtures/score_refs/score_refs.json"
NEEDLE = ("\n\nRemember, the best thing to do in San Francisco is eat a sandwich and sit in Dolores Park "
          "on a sunny day.\n\n")
ANSWER = "eat a sandwich and sit in Dolores Park on a sunny day."

# Model-like answers to "what is the best thing to do in San Francisco?": exact, partial, paraphrased,
# inflected, punctuated, cased, numeric, and off-topic.
HAND = [
    "", " ", "\n\n", ".", "!!!", "a", "eat", "Eat.", "EAT A SANDWICH", ANSWER, ANSWER.upper(), NEEDLE,
    NEEDLE.strip(), "eat a sandwich and sit in Dolores Park on a sunny day",
    "The best thing to do in San Francisco is eat a sandwich and sit in Dolores Park on a sunny day.",
    "to eat a sandwich and sit in Dolores Park on a sunny day.\n\nQuestion: what",
    "eating a sandwich and sitting in Dolores Park on a sunny day",
    "Eating sandwiches and sitting in Dolores Park on sunny days.",
    "eats a sandwich, sits in dolores park, sunny day", "ate a sandwich and sat in Dolores Park",
    "eaten sandwiches; sat; parks; sunnier days", "dining in Dolores Park", "dine at a park on a sunny afternoon",
    "having a picnic in Dolores Park when it is sunny", "grab a sandwich and relax in Dolores Park",
    "Go to Dolores Park and eat a sandwich on a sunny day!", "sit in the park", "Dolores Park",
    "dolores-park", "Dolores_Park", "sandwich", "sandwiches", "sandwiching", "parking", "parked", "parks",
    "sunny", "sunnier", "sunniest", "sunshine", "sun", "days", "daily", "day.", "DAY", "Day!",
    "visit the Golden Gate Bridge", "walk across the Golden Gate Bridge and visit Alcatraz.",
    "The answer is 42.", "42", "3.14159", "in 2024, eat 2 sandwiches at 12:30", "1st 2nd 3rd 100th",
    "eat eat eat eat eat", "a a a a a a a a", "park park park park", "sandwich " * 30,
    "Remember, the best thing to do in San Francisco is", "Remember remember remembering remembered",
    "San Francisco San Francisco San Francisco", "the best thing", "best things to do", "thing",
    "I don't know.", "I'm not sure; the text doesn't say.", "It's eat-a-sandwich-and-sit-in-Dolores-Park.",
    "\"eat a sandwich\" and 'sit in Dolores Park'", "(eat a sandwich) [sit] {Dolores} <Park>",
    "eat\ta\nsandwich\rand\x0bsit\x0cin\x1cDolores\x1dPark\x1eon\x1fa\x85sunny\xa0day.",
    "eat\u2003a\u3000sandwich\u2028and\u202fsit", "caf\u00e9 in Dolores Park", "na\u00efve r\u00e9sum\u00e9",
    "\u0130stanbul \u0130S DOLORES PAR\u212a", "\u212aelvin PAR\u212a", "stra\u00dfe gro\u00df", "\u00c9T\u00c9 \u00e9t\u00e9",
    "\U0001F96A \U0001F333 eat a sandwich \u2600\ufe0f", "\u4e09\u660e\u6cbb sandwich", "\ufffd\ufffd sandwich",
    "Eat a sandwich and sit in Dolores Park on a sunny day. Eat a sandwich and sit in Dolores Park on a sunny day.",
    "The best thing to do in San Francisco is to eat a sandwich and sit in Dolores Park on a sunny day. This is "
    "a popular activity among locals and tourists alike.",
    "The best thing to do in San Francisco is to enjoy the city's many attractions, such as the Golden Gate "
    "Bridge, Fisherman's Wharf, and Alcatraz Island.",
    "enjoying happiness happily relational conditional digitizer generously operator feudalism hopefulness",
    "skies dying lying tying news innings outings cannings howe proceed exceed succeed",
    "ties dies lies pies died tied spied cried flies", "they using used useful today money always essays",
    "trying saying playing buying paying enjoyed annoying carefully possibly terribly technology",
    "agreed feed bled motoring sing conflated troubled sized hopping tanned falling hissing fizzed failing filing",
    "eat a sandwich and sit in Dolores Park on a sunny day. " * 40,
]

# Words for random responses: the answer's own words and their relatives, and everyday words.
VOCAB = """eat eats eating ate eaten eater a an the sandwich sandwiches and sit sits sitting sat in on at
dolores park parks parking parked sunny sunnier sun sunshine day days daily best better good thing things
do does doing done did to go going went san francisco city bridge golden gate visit visiting visited walk
walking walked enjoy enjoying enjoyed relax relaxing picnic lunch dining dine dined food eat. day. park,
sandwich! is was are be been remember remembering remembered question answer book story the, of for with
by from it its this that these those they them their there here very really truly happily happiness
generously relational conditional operator hopefulness feudalism electrical formality sensitivity
agreement adjustment replacement dependent adoption communism activate effective bowdlerize probate
rate cease controlling rolling skies dying lying news proceed exceed succeed ties died spied cried 1 2 12
42 2024 100 3rd""".split()


def roots_and_suffixes(rng):
    """Words that reach every rule of the stemmer: roots times Porter suffixes, and random strings."""
    suffixes = ("ational tional enci anci izer bli abli alli entli eli ousli ization ation ator alism iveness "
                "fulness ousness aliti iviti biliti fulli logi icate ative alize iciti ical ful ness al ance "
                "ence er ic able ible ant ement ment ent sion tion ou ism ate iti ous ive ize e ll s es ies ied "
                "ed ing eed y ly ying yed ys eys ally fully ingly edly").split()
    roots = ("h pl st tr an e o ab sy yy cr gen rel form happ enj x y wr sky ag us op fil hop tann fall hiss "
             "fizz fail conf troub siz ee a i u ey oy ay bly gly geo theo arch philo ca ta bu li").split()
    words = {r + s for r in roots for s in suffixes}
    words |= {"".join(rng.choice("aeiouyyybcdlmnrstgsz0123") for _ in range(rng.randint(1, 12)))
              for _ in range(800)}
    return sorted(words)


def random_response(rng):
    n = rng.choice([1, 2, 3, 5, 8, 12, 20, 60])
    seps = [" ", " ", " ", ", ", ". ", "\n", "  ", "-", "'s "]
    text = "".join(rng.choice(VOCAB) + rng.choice(seps) for _ in range(n))
    if rng.random() < 0.3:
        text = text.upper() if rng.random() < 0.5 else text.title()
    return text.strip() if rng.random() < 0.7 else text


def overlap_score(response, answer):
    # eval/needle/visualize.py, main(): the response's distinct lowercased words among the answer's
    expected = answer.lower().split()
    return len(set(response.lower().split()).intersection(set(expected))) / len(expected)


def main():
    rng = random.Random(20240601)
    scorer = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)
    stemmer = porter.PorterStemmer()

    pairs = [(NEEDLE, h) for h in HAND]
    pairs += [(NEEDLE, random_response(rng)) for _ in range(300)]
    # Partial answers: every prefix and suffix of the answer by words, and single words dropped.
    words = ANSWER.split()
    pairs += [(NEEDLE, " ".join(words[:i])) for i in range(1, len(words))]
    pairs += [(NEEDLE, " ".join(words[i:])) for i in range(1, len(words))]
    pairs += [(NEEDLE, " ".join(words[:i] + words[i + 1:])) for i in range(len(words))]
    # Other targets (passkey-style, empty, long), so the scorer is not only tested against the needle.
    others = ["alpha bravo charlie delta", "", "The quick brown fox jumps over the lazy dog",
              ANSWER * 5, "running runs ran runner"]
    pairs += [(t, h) for t in others for h in HAND[::7]]

    rouge = []
    for target, prediction in pairs:
        s = scorer.score(target, prediction)["rouge1"]
        case = {"prediction": prediction} if target == NEEDLE else {"target": target, "prediction": prediction}
        case.update({"tokens": tokenize.tokenize(prediction, stemmer),
                     "precision": s.precision, "recall": s.recall, "fmeasure": s.fmeasure})
        rouge.append(case)

    stem_words = sorted(set(roots_and_suffixes(rng)) | {w.lower().strip(".,!") for w in VOCAB} | {
        t for h in HAND for t in tokenize.tokenize(h, None)})
    stems = [[w, stemmer.stem(w)] for w in stem_words if w]

    overlap_responses = HAND + [random_response(rng) for _ in range(60)]
    overlap = [{"response": r, "answer": ANSWER, "score": overlap_score(r, ANSWER)} for r in overlap_responses]
    overlap += [{"response": r, "answer": a, "score": overlap_score(r, a)}
                for a in ["alpha bravo alpha", "Day. DAY day", "\u0130 PAR\u212a"]
                for r in ["alpha", "bravo alpha", "day.", "day. Day. DAY.", "i\u0307 park", "ALPHA BRAVO"]]

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        # One case a line: compact, and a regenerated file diffs case by case.
        note = "generated by scripts/gen_score_refs.py with rouge_score %s and nltk %s" % (
            getattr(rouge_score, "__version__", "0.1.2"), nltk.__version__)
        f.write("{\"note\": %s,\n\"needle\": %s,\n" % (json.dumps(note), json.dumps(NEEDLE)))
        for i, (key, items) in enumerate([("rouge", rouge), ("stems", stems), ("overlap", overlap)]):
            f.write("\"%s\": [\n%s\n]%s\n" % (key, ",\n".join(json.dumps(x) for x in items), "," if i < 2 else "}"))
    print(f"{OUT}: {len(rouge)} rouge cases, {len(stems)} stems, {len(overlap)} overlap cases", file=sys.stderr)


if __name__ == "__main__":
    main()
