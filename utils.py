"""Label-preserving text transformations for IMDB sentiment (out-of-distribution tests + augmentation).

Design
------
* Every transformation is a small pure function ``fn(text, rng, strength) -> str``.
  ``rng`` is a ``random.Random`` owned by the caller; the global ``random`` module is
  never used or reseeded.  ``strength`` is documented per function (usually a
  per-word probability); strength 0 is the identity.
* Text is split by ``tokenize`` into atomic tokens that keep every separator:
  HTML tags such as IMDB's ``<br />`` are one token and are never modified by any
  transformation, and ``"".join(tokenize(t)) == t`` for every string.
* Negations ("not", "n't", "never", ...) are never removed or altered: a sentiment
  label can flip on them, so no transformation touches them (``contraction`` may
  rewrite "do not" <-> "don't", which keeps the negation).
* ``TRANSFORMS`` is the ordered registry; ``get_transform`` builds a picklable
  example-level function (``functools.partial`` over module-level functions) with
  per-example RNG ``random.Random(f"{seed}:{name}:{text}")`` so results are the same
  in every process and run; ``transform_dataset`` maps it over a ``datasets.Dataset``.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from datasets.fingerprint import Hasher

from pipeline.wordnet import ensure_wordnet, release_file_handles

__all__ = [
    "example_transform", "custom_transform", "TRANSFORMS", "TRANSFORM_NAMES", "TransformSpec",
    "get_transform", "transform_dataset", "mark_changes", "ensure_wordnet", "tokenize",
    "synonym_replace", "keyboard_typos", "contraction_swap", "char_noise", "social_noise",
    "insert_distractor", "count_negations",
]

# --------------------------------------------------------------------------- tokens

# Tags first (atomic), then words with inner apostrophes ("don't", "it's"), single
# non-space symbols (punctuation, emoji), and whitespace runs (kept verbatim).
_TOKEN_RE = re.compile(r"<[^<>]{0,200}>|\w+(?:'\w+)*|[^\w\s]|\s+")


def tokenize(text: str) -> list[str]:
    """Lossless tokenisation: ``"".join(tokenize(text)) == text``."""
    return _TOKEN_RE.findall(text)


def _is_tag(tok: str) -> bool:
    return tok[0] == "<" and len(tok) > 1 and tok[-1] == ">"


# NLTK's English stopword list (nltk_data/corpora/stopwords/english), shipped in code
# because the corpus cannot be downloaded offline.
STOPWORDS = frozenset("""
i me my myself we our ours ourselves you you're you've you'll you'd your yours yourself
yourselves he him his himself she she's her hers herself it it's its itself they them their
theirs themselves what which who whom this that that'll these those am is are was were be
been being have has had having do does did doing a an the and but if or because as until
while of at by for with about against between into through during before after above below
to from up down in out on off over under again further then once here there when where why
how all any both each few more most other some such no nor not only own same so than too very
s t can will just don don't should should've now d ll m o re ve y ain aren aren't couldn
couldn't didn didn't doesn doesn't hadn hadn't hasn hasn't haven haven't isn isn't ma mightn
mightn't mustn mustn't needn needn't shan shan't shouldn shouldn't wasn wasn't weren weren't
won won't wouldn wouldn't
""".split())

# Negations (also the apostrophe-less spellings common in user text).  Never modified.
NEGATIONS = frozenset("""
not no never nor none nothing neither nobody nowhere without cannot nope nah noone
dont doesnt didnt isnt arent wasnt werent havent hasnt hadnt wont wouldnt cant couldnt
shouldnt mustnt aint neednt
""".split())

# Intensity / degree words: replacing them changes how strong the opinion is.
INTENSIFIERS = frozenset("""
very really extremely so too quite most least barely hardly scarcely absolutely totally
utterly completely highly incredibly truly pretty fairly rather somewhat slightly super
much more less little enough almost just only even still ever
""".split())

# Words skipped by ``synonym`` because their most frequent WordNet synset drifts in
# polarity or in sense in movie reviews (e.g. funny -> "laughable", cheap -> "inexpensive",
# plot -> "secret plan", fine -> "all right"), or because they are too generic to swap well.
SYNONYM_SKIP = frozenset("""
funny cheap simple plain fine pretty sick cool hot dark light heavy easy hard kind mean
well right like sweet rich fun wicked killer bomb plot star stars lead cast part role
thing things stuff good bad great best worst better worse love hate like likes liked
watch watched watching show shows time times year years people young old director directors
minute minutes might must would could should shall may problem simply actually real
one two three four five six seven eight nine ten hundred thousand million first second third
""".split())


def count_negations(text: str) -> int:
    """Number of negation tokens ("not", "never", "n't"-words, "dont", ...) in ``text``."""
    n = 0
    for tok in tokenize(text):
        low = tok.lower()
        if low in NEGATIONS or low.endswith("n't"):
            n += 1
    return n


def _is_negation(low: str) -> bool:
    return low in NEGATIONS or low.endswith("n't")


def _match_case(src: str, repl: str) -> str:
    """Give ``repl`` the capitalisation pattern of ``src`` (UPPER, Title or as-is)."""
    if len(src) > 1 and src.isupper():
        return repl.upper()
    if src[:1].isupper():
        return repl[:1].upper() + repl[1:]
    return repl


def _sentence_initial(tokens: list[str], i: int) -> bool:
    """True if token i starts a sentence (nothing but spaces/tags/quotes before it since . ! ?)."""
    j = i - 1
    while j >= 0:
        t = tokens[j]
        if t.isspace() or _is_tag(t) or t in "\"'(":
            j -= 1
            continue
        return t in ".!?:;"
    return True


# --------------------------------------------------------------------------- synonym


@functools.lru_cache(maxsize=None)
def _wn():
    ensure_wordnet()
    from nltk.corpus import wordnet as wn

    wn.ensure_loaded()
    return wn


def _pluralize(phrase: str) -> str:
    head, _, last = phrase.rpartition(" ")
    if re.search(r"(ss|x|z|ch|sh)$", last):
        last += "es"
    elif last.endswith("s"):
        pass  # already plural in form ("athletics", "news"): "athleticses" would be no word
    elif re.search(r"[^aeiou]y$", last):
        last = last[:-1] + "ies"
    else:
        last += "s"
    return f"{head} {last}" if head else last


_SS_TYPE_POS = {"1": "n", "2": "v", "3": "a", "4": "r", "5": "a"}


@functools.lru_cache(maxsize=None)
def _sense_counts() -> tuple[dict, dict]:
    """SemCor tag counts from WordNet's ``index.sense``, read once into memory.

    Returns ``(by_key, by_lemma_pos, tagged_members)``: sense key -> count,
    (lemma, pos) -> summed count ("s" satellites folded into "a"), and
    (pos, synset offset) -> lemmas tagged (count > 0) in that synset.
    ``Lemma.count()`` would binary-search ``cntlist.rev`` on disk for every call,
    and building a Synset costs a data-file read; both dominated the run time.
    """
    wn = _wn()
    with wn.open("index.sense") as fh:
        data = fh.read()
    by_key: dict[str, int] = {}
    by_lemma_pos: dict[tuple[str, str], int] = {}
    tagged_members: dict[tuple[str, int], set] = {}
    for line in data.splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        key, cnt = parts[0], int(parts[3])
        by_key[key] = cnt
        if cnt:
            lemma, _, rest = key.partition("%")
            pos = _SS_TYPE_POS.get(rest[:1], "?")
            lp = (lemma, pos)
            by_lemma_pos[lp] = by_lemma_pos.get(lp, 0) + cnt
            tagged_members.setdefault((pos, int(parts[1])), set()).add(lemma)
    return by_key, by_lemma_pos, tagged_members


def _prepare_wordnet() -> None:
    """Load everything ``synonym`` needs (call before forking workers)."""
    _wn()
    _sense_counts()


@functools.lru_cache(maxsize=200_000)
def _synonym_candidates(word: str) -> tuple[str, ...]:
    """Synonyms for a lower-case ``word``, or () when replacing it is not safe.

    Part of speech without a tagger: NLTK's perceptron tagger data cannot be
    downloaded offline, so the POS comes from WordNet itself.  For each POS
    (n, v, a, r) the word is lemmatised with ``morphy`` and scored by the
    SemCor tag counts of its senses (``tag_cnt`` in ``index.sense``, the same
    numbers as ``Lemma.count()``),
    i.e. by how often the word was actually used with that POS.  The word is
    replaced only when one POS clearly dominates (score >= 2x the runner-up,
    or the only POS): words like "plot"/"ending"/"acting" whose POS is
    ambiguous are left alone rather than mis-replaced.

    Meaning and polarity: candidates are the other lemmas of the word's MOST
    FREQUENT synset of that POS only (WordNet lists senses by frequency), not the
    union over all senses as nlpaug's SynonymAug does.  Lemmas of one synset
    share a meaning and hence a polarity ("awful" -> "dreadful", "movie" ->
    "picture"), while other senses drift ("terrible" -> "severe",
    "great" -> "large").  Antonyms of any lemma are excluded explicitly, as
    are hyphenated/apostrophised/capitalised (proper-name) lemmas, lemmas never
    tagged with this sense in SemCor (count 0: archaic or odd paraphrases such as
    "cognize" for "know", "begetter" for "father"), and words in ``SYNONYM_SKIP``
    whose first sense drifts in polarity or meaning in reviews.

    Inflection: a word equal to its lemma is replaced as is; a plural/3rd-person
    "-s"/"-es" form gets the candidate pluralised; other inflections (-ed, -ing,
    -er, -est) are skipped because we cannot re-inflect multi-word lemmas reliably.
    """
    if word in SYNONYM_SKIP:
        return ()
    wn = _wn()
    by_key, by_lemma_pos, tagged_members = _sense_counts()
    offset_map = wn._lemma_pos_offset_map  # lemma -> pos -> offsets, most frequent sense first
    scored = []
    for pos in ("n", "v", "a", "r"):
        # all lemma forms morphy accepts ("effects" -> effects, effect): take the most used one
        bases = [b for b in wn._morphy(word, pos) if offset_map.get(b, {}).get(pos)]
        if not bases:
            continue
        base = max(bases, key=lambda b: (by_lemma_pos.get((b, pos), 0), b == word))
        offsets = offset_map[base][pos]
        # +0.5 per sense so that untagged (count 0) words still rank by polysemy
        scored.append((by_lemma_pos.get((base, pos), 0) + 0.5 * len(offsets), pos, base, offsets[0]))
    if not scored:
        return ()
    scored.sort(key=lambda t: -t[0])
    if len(scored) > 1 and scored[1][0] * 2 > scored[0][0]:
        return ()  # ambiguous part of speech
    _, pos, base, offset = scored[0]
    if word == base:
        plural = False
    elif pos in ("n", "v") and word in (base + "s", base + "es"):
        plural = True
    else:
        return ()
    if not any(len(m) >= 3 and m != base and m != word for m in tagged_members.get((pos, offset), ())):
        return ()  # no other tagged lemma in the synset: skip building the Synset (speed)
    synset = wn.synset_from_pos_and_offset(pos, offset)
    lemmas = synset.lemmas()
    antonyms = {a.name().lower() for l in lemmas for a in l.antonyms()}
    out = []
    for lemma in lemmas:
        name = lemma.name()
        low = name.lower()
        if (low == base or low == word or low in antonyms or not name.islower()
                or not re.fullmatch(r"[a-z]+(?:_[a-z]+)*", low)):
            continue
        cand = low.replace("_", " ")
        if len(cand) < 3 or not by_key.get(lemma.key(), 0):
            continue  # "hr"; lemmas never tagged in this sense: "cognize", "begetter", "adult female"
        if base in cand.split():
            continue  # "picture" -> "moving picture" is not a real replacement
        cand = _pluralize(cand) if plural else cand
        if cand != word and cand not in out:
            out.append(cand)
    return tuple(out)


def _synonym_tokens(tokens: list[str], rng: random.Random, strength: float) -> None:
    for i, tok in enumerate(tokens):
        if len(tok) < 4 or not tok.isalpha() or not tok.isascii():
            continue
        low = tok.lower()
        if low in STOPWORDS or low in INTENSIFIERS or low in NEGATIONS:
            continue
        if tok[0].isupper() and not tok.isupper() and not _sentence_initial(tokens, i):
            continue  # capitalised mid-sentence: probably a name ("Will Smith", "Grace")
        cands = _synonym_candidates(low)
        if cands and rng.random() < strength:
            tokens[i] = _match_case(tok, rng.choice(cands))


def synonym_replace(text: str, rng: random.Random, strength: float = 0.3) -> str:
    """WordNet synonym replacement (EDA, Wei & Zou 2019; nlpaug SynonymAug; CheckList INV).

    ``strength`` = probability that each replaceable word (content word, >= 4
    letters, not a stopword/negation/intensifier/name, with a safe synonym; see
    ``_synonym_candidates``) is replaced by a random synonym from its most
    frequent synset.  Capitalisation is kept.  Default 0.3 = nlpaug's default
    ``aug_p``: about one content word in ten ends up changed, which reads naturally.
    """
    if strength <= 0 or not text:
        return text
    tokens = tokenize(text)
    _synonym_tokens(tokens, rng, strength)
    return "".join(tokens)


# --------------------------------------------------------------------------- typos

_QWERTY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _qwerty_neighbours() -> dict[str, str]:
    pos = {c: (r, k) for r, row in enumerate(_QWERTY_ROWS) for k, c in enumerate(row)}
    out = {}
    for c, (r, k) in pos.items():
        near = []
        for d, (r2, k2) in pos.items():
            # same row +-1; adjacent row: staggered keyboard -> offsets k and k+-1
            if d != c and ((r2 == r and abs(k2 - k) == 1)
                           or (r2 == r - 1 and k2 in (k, k + 1))
                           or (r2 == r + 1 and k2 in (k - 1, k))):
                near.append(d)
        out[c] = "".join(sorted(near))
    return out


QWERTY_NEIGHBOURS = _qwerty_neighbours()


def _typo_word(tok: str, rng: random.Random) -> str:
    # never the first letter (readers anchor on it); ASCII letters only
    positions = [k for k in range(1, len(tok)) if tok[k].lower() in QWERTY_NEIGHBOURS]
    if not positions:
        return tok
    k = rng.choice(positions)
    c = tok[k]
    new = rng.choice(QWERTY_NEIGHBOURS[c.lower()])
    return tok[:k] + (new.upper() if c.isupper() else new) + tok[k + 1:]


_HAS_DIGIT = re.compile(r"\d")


def _word_ok_for_noise(tok: str, min_len: int) -> bool:
    if len(tok) < min_len or not tok[0].isalpha() or not tok.isascii():
        return False
    if not tok.isalpha() and _HAS_DIGIT.search(tok):
        return False  # "80s", "b4": digits are never modified
    return not _is_negation(tok.lower())


def _typo_tokens(tokens: list[str], rng: random.Random, strength: float) -> None:
    for i, tok in enumerate(tokens):
        if _word_ok_for_noise(tok, 3) and rng.random() < strength:
            tokens[i] = _typo_word(tok, rng)


def keyboard_typos(text: str, rng: random.Random, strength: float = 0.1) -> str:
    """QWERTY keyboard-neighbour typos (Belinkov & Bisk 2018 "Key" noise; nlpaug KeyboardAug).

    ``strength`` = probability that a word (>= 3 chars, ASCII, no digits, not a
    negation, not a tag) gets one letter (never the first) replaced by an adjacent
    key, case kept.  Default 0.1: one typo per ~10 words, heavy but still easily
    readable (people read through such errors, Rawlinson 1976); DistilBERT's
    WordPiece splits a misspelt word into unrelated sub-words.
    """
    if strength <= 0 or not text:
        return text
    tokens = tokenize(text)
    _typo_tokens(tokens, rng, strength)
    return "".join(tokens)


# --------------------------------------------------------------------------- char noise


def _char_noise_word(tok: str, rng: random.Random) -> str:
    inner = range(1, len(tok) - 1)  # first and last letters are kept
    op = rng.choice(("swap", "drop", "repeat"))
    if op == "swap":
        ks = [k for k in inner if k + 1 < len(tok) - 1 and tok[k] != tok[k + 1]]
        if ks:
            k = rng.choice(ks)
            return tok[:k] + tok[k + 1] + tok[k] + tok[k + 2:]
        op = "repeat"
    k = rng.choice(list(inner))
    if op == "drop":
        return tok[:k] + tok[k + 1:]
    return tok[:k] + tok[k] + tok[k:]


def _char_noise_tokens(tokens: list[str], rng: random.Random, strength: float) -> None:
    for i, tok in enumerate(tokens):
        if _word_ok_for_noise(tok, 4) and tok.isalpha() and rng.random() < strength:
            tokens[i] = _char_noise_word(tok, rng)


def char_noise(text: str, rng: random.Random, strength: float = 0.1) -> str:
    """Natural character noise: swap two inner letters, drop or double one (Belinkov & Bisk 2018;
    Pruthi et al. 2019 "Combating adversarial misspellings").

    ``strength`` = probability that a word (>= 4 letters, not a negation) gets one
    edit; its first and last letters are kept, which keeps it readable for humans
    (the "Cmabrigde" effect that Belinkov & Bisk build on).
    """
    if strength <= 0 or not text:
        return text
    tokens = tokenize(text)
    _char_noise_tokens(tokens, rng, strength)
    return "".join(tokens)


# --------------------------------------------------------------------------- contractions

_EXPAND = {
    "don't": "do not", "doesn't": "does not", "didn't": "did not", "isn't": "is not",
    "aren't": "are not", "wasn't": "was not", "weren't": "were not", "haven't": "have not",
    "hasn't": "has not", "hadn't": "had not", "won't": "will not", "wouldn't": "would not",
    "can't": "cannot", "couldn't": "could not", "shouldn't": "should not",
    "mustn't": "must not", "i'm": "i am", "you're": "you are", "we're": "we are",
    "they're": "they are", "i've": "i have", "you've": "you have", "we've": "we have",
    "they've": "they have", "i'll": "i will", "you'll": "you will", "he'll": "he will",
    "she'll": "she will", "we'll": "we will", "they'll": "they will", "it'll": "it will",
    "let's": "let us",
    # "'s" is ambiguous (is / has / possessive): only these pronoun forms, and not before
    # "been"/"got" (see _S_HAS_NEXT); "'d" (had / would) is never expanded.
    "it's": "it is", "that's": "that is", "there's": "there is", "what's": "what is",
    "he's": "he is", "she's": "she is", "here's": "here is", "who's": "who is",
}
_S_HAS_NEXT = frozenset({"been", "got", "gotten", "had"})
_CONTRACT = {tuple(v.split()): k for k, v in _EXPAND.items() if " " in v}
_CONTRACT[("would", "not")] = "wouldn't"
_CONTRACT_SINGLE = {"cannot": "can't"}


def _contraction_tokens(tokens: list[str], rng: random.Random, strength: float) -> None:
    n = len(tokens)
    i = 0
    while i < n:
        tok = tokens[i]
        low = tok.lower()
        if low in _EXPAND:
            if low.endswith("'s"):
                j = i + 2
                nxt = tokens[j].lower() if j < n and tokens[i + 1] == " " else ""
                if nxt in _S_HAS_NEXT:
                    i += 1
                    continue
            if rng.random() < strength:
                tokens[i] = _match_case_phrase(tok, _EXPAND[low])
        elif low in _CONTRACT_SINGLE:
            if rng.random() < strength:
                tokens[i] = _match_case_phrase(tok, _CONTRACT_SINGLE[low])
        elif i + 2 < n and tokens[i + 1] == " " and (low, tokens[i + 2].lower()) in _CONTRACT:
            pair = (low, tokens[i + 2].lower())
            if rng.random() < strength:
                src = tok + " " + tokens[i + 2]
                tokens[i] = _match_case_phrase(src, _CONTRACT[pair])
                tokens[i + 1] = tokens[i + 2] = ""
                i += 3
                continue
        i += 1


def _match_case_phrase(src: str, repl: str) -> str:
    if len(src) > 1 and src.replace(" ", "").replace("'", "").isupper():
        return repl.upper()
    out = _match_case(src, repl)
    # the pronoun "I" stays capitalised: "i am" -> "I am", "i'm" -> "I'm"
    return re.sub(r"^i\b", "I", out)


def contraction_swap(text: str, rng: random.Random, strength: float = 0.5) -> str:
    """Expand or contract contractions ("don't" <-> "do not", "I am" <-> "I'm").

    CheckList's INV "add/remove contractions" test (Ribeiro et al. 2020) and
    NL-Augmenter's contraction_expansions: a register change that means exactly
    the same; negations survive both directions.  ``strength`` = probability per
    contractible/expandable site; only unambiguous forms are touched ("'d" never,
    "'s" only for pronouns and not before "been"/"got").
    """
    if strength <= 0 or not text:
        return text
    tokens = tokenize(text)
    _contraction_tokens(tokens, rng, strength)
    return "".join(tokens)


# --------------------------------------------------------------------------- social-media noise


def _social_tokens(tokens: list[str], rng: random.Random, strength: float) -> None:
    for i, tok in enumerate(tokens):
        c = tok[0]
        if c in ".!?" and len(tok) == 1:
            if rng.random() < strength:
                tokens[i] = tok * rng.randint(2, 4)  # "!" -> "!!!", "." -> "..."
        elif c.isalpha():
            if "'" in tok:
                if rng.random() < strength:
                    tokens[i] = tok.replace("'", "")  # "don't" -> "dont" (still a negation)
            elif tok[0].isupper() and rng.random() < strength:
                tokens[i] = tok.lower()  # skipped capitals: "I" -> "i", "Spielberg" -> "spielberg"


def social_noise(text: str, rng: random.Random, strength: float = 0.2) -> str:
    """Casing/punctuation habits of social-media text (Eisenstein 2013 "What to do about bad
    language on the internet"; Han & Baldwin 2011 lexical normalisation).

    Each site changes with probability ``strength``: a capitalised word is
    lower-cased, a sentence mark is repeated ("!!!", "..."), an apostrophe is
    dropped ("don't" -> "dont", which stays in the negation list so no other
    transform touches it).  No word is replaced, so the opinion is unchanged.
    """
    if strength <= 0 or not text:
        return text
    tokens = tokenize(text)
    _social_tokens(tokens, rng, strength)
    return "".join(tokens)


# --------------------------------------------------------------------------- distractor

DISTRACTOR_SENTENCES = (
    "I watched this on a Sunday afternoon.",
    "My cousin mentioned it to me a while ago.",
    "I saw it on DVD with a couple of friends.",
    "It was released in several countries.",
    "I read about it in a magazine beforehand.",
    "It runs for about an hour and a half.",
    "I watched it with the subtitles turned on.",
    "We watched it after dinner.",
    "The DVD has a few extras on it.",
    "I rented it from the video store down the street.",
)


_ABBREVIATIONS = frozenset("mr mrs ms dr st jr sr vs etc prof gen col lt sgt mt no vol ft".split())


def _sentence_end(tokens: list[str], i: int) -> bool:
    """Token i is a . ! ? that ends a sentence: followed by space + a capital/quote/tag, or by the end."""
    if tokens[i] not in (".", "!", "?"):
        return False
    if tokens[i] == "." and i > 0 and (tokens[i - 1].lower() in _ABBREVIATIONS
                                        or (len(tokens[i - 1]) == 1 and tokens[i - 1].isalpha())):
        return False  # "Mr. Costner", "J. R. R. Tolkien"
    j = i + 1
    if j == len(tokens):
        return True
    if not (tokens[j].isspace() or _is_tag(tokens[j])):
        return False
    while j < len(tokens) and (tokens[j].isspace() or _is_tag(tokens[j])):
        j += 1
    return j == len(tokens) or tokens[j][0].isupper() or tokens[j][0] in "\"'("


def _distractor_tokens(tokens: list[str], rng: random.Random, strength: float) -> None:
    if not any(t[0].isalnum() for t in tokens):
        return  # empty / punctuation-only / tags-only text: nothing to pad
    n = len(tokens)
    bounds = [i for i in range(n) if _sentence_end(tokens, i)]
    if not bounds:
        bounds = [n - 1]
    k = min(len(bounds), max(1, round(strength * len(bounds))))
    for i in rng.sample(bounds, k):
        tokens[i] = tokens[i] + " " + rng.choice(DISTRACTOR_SENTENCES)


def insert_distractor(text: str, rng: random.Random, strength: float = 0.1) -> str:
    """Insert irrelevant, sentiment-neutral sentences at sentence boundaries.

    CheckList INV "add irrelevant sentence" (Ribeiro et al. 2020) and Jia & Liang
    (2017)-style distractors: viewing circumstances ("We watched it after dinner.")
    say nothing about quality, so the label stays.  ``strength`` = fraction of
    sentence boundaries that get one (at least one sentence when > 0).
    """
    if strength <= 0 or not text:
        return text
    tokens = tokenize(text)
    _distractor_tokens(tokens, rng, strength)
    return "".join(tokens)


# --------------------------------------------------------------------------- example-level


def example_transform(example: dict) -> dict:
    """The starter's toy transformation: lower-case the text."""
    out = dict(example)
    out["text"] = (example["text"] or "").lower()
    return out


# custom_transform = these token-level stages, in order, with these strengths: the strengths chosen by reasoning
# (synonym 0.3, typo 0.1, distractor 0.1) scaled by 2.5, the smallest factor that lowered the stand-in's accuracy
# by >= 5 points on held-out *training* reviews (study/calibrate_custom.py,
# results/calibration_custom_transform.json); the test set played no part in the choice.
CUSTOM_STAGES = (
    ("synonym", 0.75),
    ("typo", 0.25),
    ("distractor", 0.25),
)


def custom_transform(example: dict, seed: int = 0, stages=None) -> dict:
    """The assignment's main transformation: synonyms + keyboard typos + neutral distractors.

    Each stage is a realistic, label-preserving change on its own (see the stage
    functions); together they model a review paraphrased by someone else, typed in a
    hurry, with some chatter about when/how they watched it.  ``stages`` (default, when
    None: ``CUSTOM_STAGES``): synonym 0.75 (three in four replaceable content words, same-synset
    lemmas only, so the opinion is kept), typo 0.25 (one word in four: sloppy but
    readable), distractor 0.25 (one neutral sentence per ~4 sentences, at least one).
    The strengths were calibrated on held-out training reviews (see ``CUSTOM_STAGES``).

    Distractors are inserted last, so they are clean text.  The text is tokenised
    once for all stages (speed); tags and negations are never touched.
    """
    text = example["text"] or ""
    rng = random.Random(f"{seed}:custom_transform:{text}")
    tokens = tokenize(text)
    for name, strength in stages or CUSTOM_STAGES:
        _TOKEN_STAGES[name](tokens, rng, strength)
    out = dict(example)
    out["text"] = "".join(tokens)
    return out


_TOKEN_STAGES = {
    "synonym": _synonym_tokens,
    "typo": _typo_tokens,
    "distractor": _distractor_tokens,
    "char_noise": _char_noise_tokens,
    "contraction": _contraction_tokens,
    "social": _social_tokens,
}


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class TransformSpec:
    """A registered transformation.

    ``level == "text"``: ``fn(text, rng, strength) -> str`` with ``default_strength``.
    ``level == "example"``: ``fn(example, seed=...) -> dict`` (no strength).
    """

    fn: Callable
    default_strength: float | None
    level: str = "text"
    uses_wordnet: bool = False


TRANSFORMS: dict[str, TransformSpec] = {
    "synonym": TransformSpec(synonym_replace, 0.3, uses_wordnet=True),
    "typo": TransformSpec(keyboard_typos, 0.1),
    "char_noise": TransformSpec(char_noise, 0.1),
    "contraction": TransformSpec(contraction_swap, 0.5),
    "social": TransformSpec(social_noise, 0.2),
    "distractor": TransformSpec(insert_distractor, 0.1),
    "custom_transform": TransformSpec(custom_transform, None, level="example", uses_wordnet=True),
    "example_transform": TransformSpec(example_transform, None, level="example"),
}
TRANSFORM_NAMES: list[str] = list(TRANSFORMS)


def _apply_text_transform(example: dict, *, name: str, strength: float, seed: int) -> dict:
    text = example["text"] or ""
    rng = random.Random(f"{seed}:{name}:{text}")
    out = dict(example)
    out["text"] = TRANSFORMS[name].fn(text, rng, strength)
    return out


def _apply_custom(example: dict, *, seed: int) -> dict:
    return custom_transform(example, seed=seed)


def get_transform(name: str, strength: float | None = None, seed: int = 0) -> Callable[[dict], dict]:
    """Example-level function ``dict -> dict`` for ``name`` (picklable; deterministic per text+seed).

    Only ``text`` changes; every other key (``label``!) is copied untouched.
    ``strength=None`` uses the registered default; whole-example transforms
    (``custom_transform``, ``example_transform``) accept no strength.
    """
    if name not in TRANSFORMS:
        raise ValueError(f"unknown transformation {name!r}; valid names: {', '.join(TRANSFORM_NAMES)}")
    spec = TRANSFORMS[name]
    if spec.level == "example":
        if strength is not None:
            raise ValueError(f"{name!r} is a whole-example transformation and takes no strength")
        if name == "custom_transform":
            return functools.partial(_apply_custom, seed=seed)
        return example_transform
    if strength is None:
        strength = spec.default_strength
    strength = float(strength)
    if strength < 0:
        raise ValueError(f"strength must be >= 0, got {strength}")
    return functools.partial(_apply_text_transform, name=name, strength=strength, seed=seed)


SMALL_DATASET_ROWS = 1000
_SOURCE_HASH = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def transform_dataset(dataset, name: str = "custom_transform", strength: float | None = None,
                      seed: int = 0, num_proc: int | None = None, reuse_cache: bool = False):
    """Return ``dataset`` with ``text`` transformed by ``name`` (labels and row count kept).

    The result is computed afresh, unless ``reuse_cache``: then the datasets cache file written by an identical call
    is loaded (the other processes of a distributed run, after the main process has transformed the data).

    ``num_proc`` defaults to min(2, cpu count) for >= 1000 rows, else 1.  WordNet is
    loaded in this process BEFORE the workers fork, so they share its indices
    (copy-on-write) instead of each re-reading them; its open data files are closed
    first so that the workers do not share file offsets.
    """
    fn = get_transform(name, strength, seed)
    # The transformed rows get a fingerprint that names everything they depend on, including this module's code
    # and CUSTOM_STAGES: later cached datasets.map calls (tokenization) are keyed on it, and a fingerprint derived
    # from the function's identity alone would let them reuse tokens of an older version of the transformation.
    fingerprint = Hasher.hash([dataset._fingerprint, name, strength, seed, CUSTOM_STAGES, _SOURCE_HASH])
    if num_proc is None:
        num_proc = min(2, os.cpu_count() or 1) if len(dataset) >= SMALL_DATASET_ROWS else 1
    if TRANSFORMS[name].uses_wordnet:
        _prepare_wordnet()
        release_file_handles()
    return dataset.map(fn, num_proc=num_proc if num_proc > 1 else None, load_from_cache_file=reuse_cache,
                       new_fingerprint=fingerprint, desc=f"transform {name}")


# --------------------------------------------------------------------------- debugging


def mark_changes(original: str, transformed: str) -> str:
    """Word-level diff of two texts: unchanged words as they are, changes as ``[[old -> new]]``."""
    a, b = original.split(), transformed.split()
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.extend(a[i1:i2])
        else:
            out.append(f"[[{' '.join(a[i1:i2])} -> {' '.join(b[j1:j2])}]]")
    return " ".join(out)
