"""Label-preserving text transformations for IMDB sentiment (out-of-distribution tests + augmentation).

Design
------
* ``TRANSFORMS`` is the one registry: ``name -> (function, default strength)``. Each transformation is a public
  function ``fn(text, rng, strength) -> str`` (as NL-Augmenter's), written on tokens (``_text_level``).  ``rng`` is a
  ``random.Random`` owned by the caller; the global ``random`` module is never used or reseeded.  ``strength`` is a
  probability or fraction in [0, 1] documented per function; 0 is the identity.
* Text is split by ``tokenize`` into atomic tokens that keep every separator:
  HTML tags such as IMDB's ``<br />`` are one token and are never modified by any
  transformation, and ``"".join(tokenize(t)) == t`` for every string.
* Negations ("not", "n't", "never", ...) are never removed or altered: a sentiment
  label can flip on them, so no transformation touches them (``contraction`` may
  rewrite "do not" <-> "don't", which keeps the negation).  Typos and synonyms touch lower-case content words
  only: never function or degree words, names (capitalised words), contractions or parts of hyphenated words.
* ``custom_transform`` composes registered transformations (``CUSTOM_STAGES``) on one token list; ``get_transform``
  builds a picklable example-level function with per-example RNG ``random.Random(f"{seed}:{name}:{text}")``, so
  results are the same in every process and run; ``transform_dataset`` maps it over a ``datasets.Dataset``.
* Data: the reviewed tables ``resources/synonyms.json`` (``study/build_synonym_table.py``) and
  ``resources/opinion_words.json`` (``study/build_opinion_table.py``: custom_transform's opinion words, their
  misspellings and synonyms), wordfreq's English word list (typos never make a real word) and lemminflect's tables;
  all ship offline.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from datasets.fingerprint import Hasher

__all__ = [
    "example_transform", "custom_transform", "CUSTOM_STAGES", "TRANSFORMS", "TRANSFORM_NAMES",
    "check_strength", "prepare_word_lists",
    "get_transform", "transform_dataset", "mark_changes", "tokenize",
    "opinion_synonym", "opinion_typo", "synonym_replace", "keyboard_typos", "char_noise", "contraction_swap",
    "social_noise", "insert_distractor", "verdict_aside", "move_opening_last", "count_negations",
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


def _text_level(stage: Callable[[list[str], random.Random, float], None]) -> Callable[[str, random.Random, float], str]:
    """Make a token stage, which edits a token list in place, a transformation ``fn(text, rng, strength) -> str``.

    Each transformation is written once, on tokens, so that ``custom_transform`` can run its stages on one token list
    (``fn.__wrapped__`` is the stage). Strength 0 and empty text are the identity.
    """
    @functools.wraps(stage)
    def transform(text: str, rng: random.Random, strength: float) -> str:
        if strength <= 0 or not text:
            return text
        tokens = tokenize(text)
        stage(tokens, rng, strength)
        return "".join(tokens)

    return transform


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

# Function words NLTK's list lacks (modals, quantifiers, connectives, prepositions): typos and synonyms are made on
# content words only.
MORE_FUNCTION_WORDS = frozenset("""
could would might must shall also upon onto unto within though although unless whether since every many another
others yet thus hence whose across along among around behind beside besides beyond toward towards via anyway
anything everything something someone anyone everyone somebody anybody everybody either neither maybe perhaps
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


# --------------------------------------------------------------------------- word lists (loaded once)

SYNONYM_TABLE_PATH = Path(__file__).resolve().parent / "resources" / "synonyms.json"


@functools.lru_cache(maxsize=None)
def _synonym_table() -> tuple[dict, dict]:
    """(surface form -> (part of speech, candidate forms), surface form -> fixed phrases) from the reviewed table."""
    table = json.loads(SYNONYM_TABLE_PATH.read_text(encoding="utf-8"))
    forms: dict[str, tuple[str, tuple[str, ...]]] = {}
    for entry in table["entries"]:
        for cand, inflected in entry["candidates"].items():
            for surface, target in inflected.items():
                pos, targets = forms.get(surface, (entry["pos"], ()))
                forms[surface] = (pos, targets + (target,))
    phrases = {w: tuple(tuple(p) for p in ps) for w, ps in table["fixed_phrases"].items()}
    return forms, phrases


@functools.lru_cache(maxsize=None)
def _known_words() -> frozenset:
    """Every English word form wordfreq knows (about 320k, with inflections): typo results must not be one."""
    from wordfreq import get_frequency_dict

    return frozenset(get_frequency_dict("en"))


def prepare_word_lists() -> None:
    """Load the synonym table, the word list and the inflection tables now: before forking workers, so they share
    them, and in the preflight, so that a missing package shows before any training."""
    _synonym_table()
    _opinion_table()
    _known_words()
    _past_participle("seen")


# --------------------------------------------------------------------------- shared word checks

_JOINERS = frozenset("-'/_&@#+*=~`’")


MIN_LETTERS = 4  # typos and synonyms touch words of at least this many letters


@functools.lru_cache(maxsize=1 << 18)
def _content_word(tok: str) -> bool:
    """A lower-case ASCII word of >= MIN_LETTERS letters that is no function, negation or degree word."""
    return (len(tok) >= MIN_LETTERS and tok.isascii() and tok.isalpha() and tok.islower()
            and tok not in STOPWORDS and tok not in MORE_FUNCTION_WORDS and tok not in INTENSIFIERS
            and tok not in NEGATIONS)


def _plain_word_at(tokens: list[str], i: int) -> bool:
    """Token i is a content word (``_content_word``) not glued to a neighbour by a hyphen, apostrophe or slash
    ("middle-class", "o'clock", "and/or").

    Lower-case only: capitalised words are names ("Will Smith", "Grace") or sentence starts, and the
    transformations leave both alone.
    """
    return _content_word(tokens[i]) and not ((i > 0 and tokens[i - 1] in _JOINERS)
                                             or (i + 1 < len(tokens) and tokens[i + 1] in _JOINERS))


def _neighbour_words(tokens: list[str], i: int, step: int, count: int) -> list[str]:
    """Up to ``count`` words before (step -1) or after (step 1) token i, lower-cased, across single spaces only."""
    out, j = [], i + step
    while 0 <= j < len(tokens) and len(out) < count:
        if tokens[j] != " ":
            if not tokens[j].isalpha():
                break
            out.append(tokens[j].lower())
        j += step
    return out


def _in_fixed_phrase(tokens: list[str], i: int, phrases: tuple) -> bool:
    """Token i is part of one of ``phrases`` (word tuples containing it) in this text."""
    word = tokens[i].lower()
    before, after = _neighbour_words(tokens, i, -1, 3)[::-1], _neighbour_words(tokens, i, 1, 3)
    window = before + [word] + after
    for phrase in phrases:
        for k, w in enumerate(phrase):
            start = len(before) - k  # where the phrase would begin in the window
            if w == word and start >= 0 and window[start:start + len(phrase)] == list(phrase):
                return True
    return False


_AN_EXCEPTIONS = ("uni", "use", "usu", "ute", "eu", "one", "once")
_AN_SILENT_H = ("hour", "honest", "honor", "honour", "heir")


def _article_for(word: str) -> str:
    low = word.lower()
    if low.startswith(_AN_SILENT_H):
        return "an"
    return "an" if low[:1] in "aeiou" and not low.startswith(_AN_EXCEPTIONS) else "a"


def _fix_article(tokens: list[str], i: int) -> None:
    """Make an "a"/"an" right before token i agree with its new first sound ("a existence" -> "an existence").
    Tokens an edit emptied (a word dropped before it: "an extremely" -> "a") are looked past."""
    def previous(j: int) -> int:
        while j >= 0 and tokens[j] == "":
            j -= 1
        return j

    j = previous(i - 1)
    if j >= 1 and tokens[j] == " ":
        j = previous(j - 1)
        if j >= 0 and tokens[j].lower() in ("a", "an"):
            tokens[j] = _match_case(tokens[j], _article_for(tokens[i]))


# --------------------------------------------------------------------------- synonym

_COMPARATIVE_WORDS = frozenset({"more", "most", "less", "least"})


def _synonym_candidates(word: str) -> tuple[str, ...]:
    """Replacements for the lower-case surface form ``word`` from the reviewed table, inflected alike, or ()."""
    entry = _synonym_table()[0].get(word)
    return entry[1] if entry else ()


@_text_level
def synonym_replace(tokens: list[str], rng: random.Random, strength: float) -> None:
    """Synonym replacement from a reviewed table (CheckList INV "replace with synonyms"; EDA's idea, restricted).

    ``strength`` = probability that each replaceable word is replaced.  Replaceable: a lower-case content word
    listed in ``resources/synonyms.json`` (``study/build_synonym_table.py``: the most frequent IMDB content
    words, their most frequent WordNet synset, no replacement rarer than the original by wordfreq, inflected
    alike with lemminflect, every pair read and accepted by hand), not inside a hyphenated word or a fixed phrase
    ("film noir", "by and large"), not an adjective after "more"/"most" ("more hard").  An "a"/"an" in front is
    made to agree.  Unrestricted WordNet synonyms (EDA's: any lemma of any sense) made 91% of audited edits invalid
    (wrong sense, grammar, idiom: ``results/audit/wordnet_any_sense_summary.json``); the table trades coverage for
    validity.
    """
    forms, phrases = _synonym_table()
    for i, tok in enumerate(tokens):
        entry = forms.get(tok)
        if entry is None or not _plain_word_at(tokens, i):
            continue
        pos, cands = entry
        if pos == "ADJ" and _COMPARATIVE_WORDS.intersection(_neighbour_words(tokens, i, -1, 1)):
            continue
        if tok in phrases and _in_fixed_phrase(tokens, i, phrases[tok]):
            continue
        if rng.random() < strength:
            tokens[i] = rng.choice(cands)
            _fix_article(tokens, i)


# --------------------------------------------------------------------------- opinion words

OPINION_TABLE_PATH = Path(__file__).resolve().parent / "resources" / "opinion_words.json"
MISSPELT_SHARE = 1 / 15  # at most one word in fifteen misspelt: more reads as a bot's text, not a hurried post


@dataclass(frozen=True)
class OpinionWord:
    evidence: float                 # |z| of its log-odds between positive and negative training reviews
    misspellings: tuple[str, ...]   # attested or generated, most human first
    synonyms: tuple[str, ...]       # reviewed, same polarity
    evaluative_only: bool           # an adjective: replaced only where it judges the film (_evaluative_use)
    phrases: tuple                  # fixed phrases the synonyms never enter


@functools.lru_cache(maxsize=None)
def _opinion_table() -> dict[str, OpinionWord]:
    """The opinion words of ``resources/opinion_words.json`` (``study/build_opinion_table.py``)."""
    table = json.loads(OPINION_TABLE_PATH.read_text(encoding="utf-8"))
    phrases = table["synonym_fixed_phrases"]
    return {w: OpinionWord(abs(e["z"]), tuple(m[0] for m in e.get("misspellings", ())), tuple(e.get("synonyms", ())),
                           e.get("evaluative_only", False), tuple(tuple(p) for p in phrases.get(w, ())))
            for w, e in table["words"].items()}


def _opinion_occurrences(tokens: list[str]) -> dict[str, list[int] | None]:
    """Where each opinion word occurs, strongest evidence first; None for a word with an occurrence no stage may
    touch (capitalised mid-sentence, i.e. a name or a title; or inside "must-see"), which is then left whole: an
    intact twin beside an edited one gives the edit away."""
    table = _opinion_table()
    found: dict[str, list[int] | None] = {}
    starts = True  # a sentence starts here ("Mr." ends none)
    for i, tok in enumerate(tokens):
        low = tok.lower()
        if low in table:
            glued = (i > 0 and tokens[i - 1] in _JOINERS) or (i + 1 < len(tokens) and tokens[i + 1] in _JOINERS)
            ok = not glued and (tok == low or (tok == low.capitalize() and starts))
            if found.get(low, []) is not None:
                found[low] = found.get(low, []) + [i] if ok else None
        if not tok.isspace():
            starts = _is_tag(tok) or _mark_closes_sentence(tokens, i)
    return dict(sorted(found.items(), key=lambda kv: -table[kv[0]].evidence))


FILM_NOUNS = frozenset("""film films movie movies flick flicks picture show shows series episode episodes
    performance performances acting actor actors actress actresses cast job work story stories script screenplay plot
    scene scenes moment moments music score soundtrack direction director cinematography photography ending effects
    dialogue dialog writing production documentary comedy drama thriller horror character characters role roles
    experience entertainment fun sequel remake adaptation animation visuals""".split())
COPULAS = frozenset("is was are were be been being seems seemed looks looked feels felt remains 's".split())
_DEGREE_BEFORE = frozenset("very really truly so quite pretty absolutely just simply totally extremely incredibly "
                           "utterly genuinely".split())


def _evaluative_use(tokens: list[str], i: int) -> bool:
    """Adjective i judges the film: before a film noun ("a great movie"), or after "is"/"was" (a degree word between)
    at a clause's end ("it was really great."). Not "too great", "most dumb", "a great fan", "sound great while"."""
    before, after = _neighbour_words(tokens, i, -1, 3), _neighbour_words(tokens, i, 1, 1)
    if before and before[0] in ("too", "more", "most", "less", "least", "so-called"):
        return False
    if after:
        return after[0] in FILM_NOUNS
    while before and before[0] in _DEGREE_BEFORE:
        before = before[1:]
    j = i + 1
    while j < len(tokens) and tokens[j] == " ":
        j += 1
    clause_end = j == len(tokens) or tokens[j] in ".,;:!?)" or _is_tag(tokens[j])
    return clause_end and bool(before) and before[0] in COPULAS


@_text_level
def opinion_synonym(tokens: list[str], rng: random.Random, strength: float) -> None:
    """Opinion words replaced by a reviewed synonym of the same polarity and strength ("boring" -> "tedious").

    ``strength`` = probability that each opinion word with a synonym in ``resources/opinion_words.json`` is
    replaced at every occurrence, or at none: never inside a fixed phrase ("a great deal", "loved ones"), an
    adjective only where it judges the film (``_evaluative_use``: "a great movie", "it was great.", not "a great
    fan"). An "a"/"an" in front is made to agree. CheckList INV (Ribeiro et al. 2020).
    """
    table = _opinion_table()
    for word, positions in _opinion_occurrences(tokens).items():
        entry = table[word]
        if not entry.synonyms or positions is None or rng.random() >= strength:
            continue
        if any(_in_fixed_phrase(tokens, i, entry.phrases) or (entry.evaluative_only and not _evaluative_use(tokens, i))
               for i in positions):
            continue
        synonym = rng.choice(entry.synonyms)
        for i in positions:
            tokens[i] = _match_case(tokens[i], synonym)
            _fix_article(tokens, i)


@_text_level
def opinion_typo(tokens: list[str], rng: random.Random, strength: float) -> None:
    """Opinion words misspelt as people misspell them ("definately", "dissapointing", "excelent").

    ``strength`` = probability that each opinion word with a misspelling in ``resources/opinion_words.json``
    (attested in IMDB training reviews or on the web, or a human edit; never one edit from another common word) is
    misspelt, strongest evidence first: one misspelling at every occurrence (people misspell consistently) or at
    none, never on two neighbouring words, at most one word in fifteen. The words a reader takes the verdict from
    are where a classifier's evidence sits; readers read through such errors, WordPiece splits them into unrelated
    pieces (Pruthi et al. 2019).
    """
    words = [i for i, tok in enumerate(tokens) if tok[:1].isalnum()]
    order = {i: k for k, i in enumerate(words)}
    budget = int(len(words) * MISSPELT_SHARE)
    edited: set[int] = set()  # word numbers
    table = _opinion_table()
    for word, positions in _opinion_occurrences(tokens).items():
        entry = table[word]
        if not entry.misspellings or positions is None or rng.random() >= strength:
            continue
        form = rng.choice(entry.misspellings)
        numbers = [order[i] for i in positions]
        near = {n + d for n in numbers for d in (-1, 1)}
        if near & (edited | set(numbers)) or len(edited) + len(numbers) > budget:
            continue
        for i in positions:
            tokens[i] = _match_case(tokens[i], form)
        edited.update(numbers)


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

# The four single-keystroke error types of typing studies (Damerau 1964: ~80% of misspellings are one such error;
# Kukich 1992), weighted roughly as observed in transcription typing: a neighbouring key hit instead, a letter
# dropped, a letter doubled (key pressed twice), two adjacent letters swapped.
TYPO_KINDS = (("neighbour", 0.4), ("drop", 0.25), ("double", 0.2), ("swap", 0.15))
_TYPO_TRIES = 4


def _typo_edit(word: str, kind: str, rng: random.Random) -> str:
    k = rng.randrange(1, len(word))  # never the first letter: readers (and typists) anchor on it
    if kind == "neighbour":
        return word[:k] + rng.choice(QWERTY_NEIGHBOURS[word[k]]) + word[k + 1:]
    if kind == "drop":
        return word[:k] + word[k + 1:]
    if kind == "double":
        return word[:k] + word[k] + word[k:]
    k = min(k, len(word) - 2)
    return word[:k] + word[k + 1] + word[k] + word[k + 2:]


def _typo_word(word: str, rng: random.Random) -> str:
    """One human-like typo in a lower-case ``word`` whose result is no English word, or ``word`` if none found."""
    known = _known_words()
    kinds, weights = zip(*TYPO_KINDS)
    for _ in range(_TYPO_TRIES):
        out = _typo_edit(word, rng.choices(kinds, weights)[0], rng)
        if out != word and out not in known:
            return out
    return word


@_text_level
def keyboard_typos(tokens: list[str], rng: random.Random, strength: float) -> None:
    """Human typing errors (Belinkov & Bisk 2018 "natural noise"; nlpaug KeyboardAug; Damerau 1964).

    ``strength`` = probability that each eligible word gets one typo: a neighbouring QWERTY key, a dropped,
    doubled or swapped letter (never the first letter).  Eligible: lower-case content words of >= 4 letters;
    never function words, negations, degree words, capitalised words (names), contractions or parts of hyphenated
    words.  The result is never a real word (wordfreq's English list): "good" -> "gold" would change the meaning,
    not the spelling.  People read through such errors (Rawlinson 1976); WordPiece splits the misspelt word into
    unrelated sub-words.
    """
    for i, tok in enumerate(tokens):
        if _plain_word_at(tokens, i) and rng.random() < strength:
            tokens[i] = _typo_word(tok, rng)


_HAS_DIGIT = re.compile(r"\d")


def _word_ok_for_noise(tok: str, min_len: int) -> bool:
    if len(tok) < min_len or not tok[0].isalpha() or not tok.isascii():
        return False
    if not tok.isalpha() and _HAS_DIGIT.search(tok):
        return False  # "80s", "b4": digits are never modified
    return not _is_negation(tok.lower())


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


@_text_level
def char_noise(tokens: list[str], rng: random.Random, strength: float) -> None:
    """Natural character noise: swap two inner letters, drop or double one (Belinkov & Bisk 2018;
    Pruthi et al. 2019 "Combating adversarial misspellings").

    ``strength`` = probability that a word (>= 4 letters, not a negation) gets one
    edit; its first and last letters are kept, which keeps it readable for humans
    (the "Cmabrigde" effect that Belinkov & Bisk build on).
    """
    for i, tok in enumerate(tokens):
        if _word_ok_for_noise(tok, 4) and tok.isalpha() and rng.random() < strength:
            tokens[i] = _char_noise_word(tok, rng)




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
    # "'s" is ambiguous (is / has / possessive): only these pronoun forms, and never before a past participle
    # ("it's been", "he's done": has); "'d" (had / would) is never expanded.
    "it's": "it is", "that's": "that is", "there's": "there is", "what's": "what is",
    "he's": "he is", "she's": "she is", "here's": "here is", "who's": "who is",
}
_CONTRACT = {tuple(v.split()): k for k, v in _EXPAND.items() if " " in v}
_CONTRACT[("would", "not")] = "wouldn't"
_CONTRACT_SINGLE = {"cannot": "can't"}
_AUXILIARY_HAVE = frozenset({"have", "has", "had"})


@functools.lru_cache(maxsize=50_000)
def _past_participle(word: str) -> bool:
    """``word`` is a verb's past participle ("been", "seen", "watched") by lemminflect's tables."""
    from lemminflect import getInflection, getLemma

    if not word.isalpha():
        return False
    return any(word in getInflection(lemma, tag="VBN") for lemma in getLemma(word, upos="VERB"))


def _next_word(tokens: list[str], i: int) -> str:
    """The word right after token i across one space, lower-cased, or "" (punctuation, tag or end: clause end)."""
    following = _neighbour_words(tokens, i, 1, 1)
    return following[0] if following else ""


@_text_level
def contraction_swap(tokens: list[str], rng: random.Random, strength: float) -> None:
    """Expand or contract contractions ("don't" <-> "do not", "I am" <-> "I'm").

    CheckList's INV "add/remove contractions" test (Ribeiro et al. 2020) and NL-Augmenter's
    contraction_expansions: a register change that means exactly the same; negations survive both directions.
    ``strength`` = probability per contractible/expandable site.  Only where English allows both: "'d" never;
    "'s" only for pronouns and not before a past participle ("it's been" = it has); "have/has/had" is contracted
    only as an auxiliary before a past participle ("I have seen" -> "I've seen", but never "I've to admit");
    nothing is contracted at the end of a clause ("I know what it is." never becomes "... what it's.").
    """
    n = len(tokens)
    i = 0
    while i < n:
        tok = tokens[i]
        low = tok.lower()
        if low in _EXPAND:
            if not (low.endswith("'s") and _past_participle(_next_word(tokens, i))) and rng.random() < strength:
                tokens[i] = _match_case_phrase(tok, _EXPAND[low])
        elif low in _CONTRACT_SINGLE:
            if rng.random() < strength:
                tokens[i] = _match_case_phrase(tok, _CONTRACT_SINGLE[low])
        elif i + 2 < n and tokens[i + 1] == " " and (low, tokens[i + 2].lower()) in _CONTRACT:
            second = tokens[i + 2].lower()
            after = _next_word(tokens, i + 2)
            allowed = after != "" and (second not in _AUXILIARY_HAVE or _past_participle(after))
            if allowed and rng.random() < strength:
                src = tok + " " + tokens[i + 2]
                tokens[i] = _match_case_phrase(src, _CONTRACT[(low, second)])
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


# --------------------------------------------------------------------------- sentences and paragraphs

_ABBREVIATIONS = frozenset("mr mrs ms dr st jr sr vs etc prof gen col lt sgt mt no vol ft".split())


def _mark_closes_sentence(tokens: list[str], i: int) -> bool:
    """Token i is a . ! ? followed by a space, a tag or the end, and no abbreviation/initial/decimal point."""
    if tokens[i] not in (".", "!", "?"):
        return False
    if i + 1 < len(tokens) and not (tokens[i + 1].isspace() or _is_tag(tokens[i + 1])):
        return False  # "7.75", "e.g.", "...", "?!"
    return not (tokens[i] == "." and i > 0 and (tokens[i - 1].lower() in _ABBREVIATIONS
                                                 or (len(tokens[i - 1]) == 1 and tokens[i - 1].isalpha())))


def _paragraph_spans(tokens: list[str]) -> list[tuple[int, int]]:
    """[start, end) token spans of the paragraphs: the runs between separators (runs of tags and whitespace that
    hold at least one tag, such as ``<br /><br />``), without their leading or trailing whitespace."""
    spans, start, last_text = [], None, None
    for i, tok in enumerate(tokens):
        if tok and _is_tag(tok):
            if start is not None:
                spans.append((start, last_text + 1))
            start = None
        elif tok and not tok.isspace():
            if start is None:
                start = i
            last_text = i
    if start is not None:
        spans.append((start, last_text + 1))
    return spans


# --------------------------------------------------------------------------- social-media noise


@_text_level
def social_noise(tokens: list[str], rng: random.Random, strength: float) -> None:
    """Casing/punctuation habits of social-media text (Eisenstein 2013 "What to do about bad language on the
    internet"; Han & Baldwin 2011 lexical normalisation).

    Each site changes with probability ``strength``: a capitalised word is lower-cased (not an all-capitals one:
    shouting is emphasis, and "YOU want TO KNOW" reads wrong), a sentence-final mark is
    repeated ("!!!", "...": never a decimal point or an abbreviation's dot, "7.75" stays), an apostrophe is
    dropped ("don't" -> "dont", which stays in the negation list so no other transform touches it).  No word is
    replaced, so the opinion is unchanged.
    """
    for i, tok in enumerate(tokens):
        if not tok:
            continue  # emptied by an earlier stage (a contraction merges three tokens into one)
        c = tok[0]
        if c in ".!?":
            if _mark_closes_sentence(tokens, i) and rng.random() < strength:
                tokens[i] = tok * rng.randint(2, 4)  # "!" -> "!!!", "." -> "..."
        elif c.isalpha():
            if "'" in tok:
                if rng.random() < strength:
                    tokens[i] = tok.replace("'", "")  # "don't" -> "dont" (still a negation)
            elif (tok[0].isupper() and not (len(tok) > 1 and tok.isupper())
                  and not (len(tok) == 1 and i + 1 < len(tokens) and tokens[i + 1] == ".")  # "T.V.", "J. Edgar"
                  and rng.random() < strength):
                tokens[i] = tok.lower()  # skipped capitals: "I" -> "i", "Spielberg" -> "spielberg"; "NEVER" stays


# --------------------------------------------------------------------------- distractor

# Asides that carry no opinion and no claim about the film or how it was watched. Audited as misplaced in about half of
# their uses (results/audit/RUBRIC.md, round 3); kept as they are because committed results use them.
DISTRACTOR_SENTENCES = (
    "Make of that what you will.",
    "Take that as you will.",
    "Your mileage may vary.",
    "That's my take, for what it's worth.",
    "Read into that what you will.",
)


def _paragraph_ends(tokens: list[str]) -> list[int]:
    """Index of the sentence mark closing each paragraph (``_paragraph_spans``); paragraphs that do not end with
    . ! ? (or end on a quote or bracket after the mark) are left out."""
    return [end - 1 for _, end in _paragraph_spans(tokens) if _mark_closes_sentence(tokens, end - 1)]


@_text_level
def insert_distractor(tokens: list[str], rng: random.Random, strength: float) -> None:
    """Irrelevant, sentiment-neutral asides at paragraph ends (CheckList INV "add irrelevant sentence", Ribeiro
    et al. 2020; Jia & Liang 2017 distractors).

    ``strength`` = fraction of paragraphs that get one (at least one when > 0 and a paragraph ends with a
    sentence mark); at most one per paragraph, never the same sentence twice in a review.  The sentences
    ("Make of that what you will.", "Your mileage may vary.") say nothing about the film or how it was watched,
    so the label and every claim of the review stay true.
    """
    _add_asides(tokens, _paragraph_ends(tokens), DISTRACTOR_SENTENCES, rng, strength)


def _add_asides(tokens: list[str], ends: list[int], asides: tuple[str, ...], rng: random.Random,
                strength: float) -> None:
    """After ``strength`` of the sentence marks at ``ends`` (at least one when there is one), one of ``asides``
    each, never the same twice."""
    if not ends:
        return
    k = min(len(ends), len(asides), max(1, round(strength * len(ends))))
    for i, sentence in zip(sorted(rng.sample(ends, k)), rng.sample(asides, k)):
        tokens[i] = tokens[i] + " " + sentence


# Only the two asides that hedge an opinion, and only after a sentence that gives a verdict, where reviewers write them
# ("8/10. Your mileage may vary."); a candidate to replace the asides above (results/audit/verdict_aside_summary.json).
VERDICT_ASIDES = ("Your mileage may vary.", "That's my take, for what it's worth.")
_VERDICT_RE = re.compile(
    r"(?:\b\d+(?:\.\d+)?\s*(?:/|out of)\s*\d+\b|\b(?:\d|one|two|three|four|five)(?:\.5)?\s+stars?\b|"
    r"\b(?:all in all|overall|bottom line|in short|to sum up|in conclusion|to conclude|my verdict|my rating|"
    r"i rate|i give (?:it|this)|i(?:'d| would)? (?:highly |strongly )?recommend|(?:highly|strongly) recommended|"
    r"must[- ]see|worth (?:watching|seeing|a look|a watch|your time)|waste of (?:time|money)|"
    r"avoid (?:it|this)|stay away|skip (?:it|this))\b)", re.IGNORECASE)


def _last_sentence(tokens: list[str], start: int, end: int) -> str:
    """The text of the last sentence of the paragraph tokens[start:end] (which ends with its mark)."""
    first = start
    for j in range(end - 2, start - 1, -1):
        if _mark_closes_sentence(tokens, j):
            first = j + 1
            break
    return "".join(tokens[first:end])


@_text_level
def verdict_aside(tokens: list[str], rng: random.Random, strength: float) -> None:
    """A hedge after a verdict: "Your mileage may vary." or "That's my take, for what it's worth." after a
    paragraph whose last sentence rates or sums up the film ("8/10.", "All in all, a fine film.", "Avoid it.",
    ``_VERDICT_RE``).

    ``strength`` = fraction of such paragraphs that get one (at least one when > 0 and there is one); at most one
    per paragraph, never the same aside twice in a review.  Like the asides above it adds no claim about the film
    or about how it was watched; unlike them it is never placed after plain praise, a plot summary or a cast list.
    """
    ends = [end - 1 for start, end in _paragraph_spans(tokens)
            if _mark_closes_sentence(tokens, end - 1) and _VERDICT_RE.search(_last_sentence(tokens, start, end))]
    _add_asides(tokens, ends, VERDICT_ASIDES, rng, strength)


# --------------------------------------------------------------------------- opinion position

# A second paragraph that opens with one of these leans on the paragraph before it ("But the acting...", "This is
# why...", "He plays..."), so it cannot open the review once the opening paragraph has moved.
_DEPENDENT_OPENERS = frozenset("""
and but or so also however then yet still plus besides anyway anyhow furthermore moreover otherwise meanwhile
this that these those it its it's he she they him her his hers their them there here which who as because
such both either neither another other others again too instead thus hence therefore though although
""".split())
_MIN_CLOSING_WORDS = 10
# A last paragraph that sums up or rates ("All in all...", "8/10", "Grade: B") must stay last.
_CONCLUSION_RE = re.compile(r"\b(?:\d+(?:\.\d+)?\s*(?:/|out of)\s*\d+|stars?|rating|rated|grade|verdict|conclusion|"
                            r"conclude|summary|sum up|summing up|all in all|overall|bottom line|in short|final|"
                            r"finally|to summari[sz]e|in the end)\b", re.IGNORECASE)


def _first_word(tokens: list[str], span: tuple[int, int]) -> str:
    return next((t.lower() for t in tokens[span[0]:span[1]] if t and t[0].isalnum()), "")


def _ends_sentence(tokens: list[str], span: tuple[int, int]) -> bool:
    return tokens[span[1] - 1] in (".", "!", "?")  # a span ends on its last text token


@_text_level
def move_opening_last(tokens: list[str], rng: random.Random, strength: float) -> None:
    """Where the opinion sits: the opening paragraph moved to the end of the review.

    Reviewers either open with their verdict and then discuss the film, or discuss first and close with it; the
    same paragraphs in the other order carry the same opinion.  A model that reads only the first 512 tokens
    loses an opening verdict of a long review this way (head+tail truncation keeps it).

    ``strength`` = probability that an eligible review is reordered.  Eligible: at least three paragraphs; the
    opening ends with . ! or ? (not "consider this:"); the second paragraph can open a review (its first word is
    no connective or pronoun leaning on the paragraph before, ``_DEPENDENT_OPENERS``); the last paragraph is a
    full paragraph (>= 10 words, ending with a sentence mark) and no conclusion ("All in all", "Overall", "8/10",
    "Grade", ``_CONCLUSION_RE``), which must stay last.  The separators stay where they are, so the text keeps
    its layout; every token is kept (the token list is only reordered).
    """
    spans = _paragraph_spans(tokens)
    if len(spans) < 3 or rng.random() >= strength:
        return
    first, second, last = spans[0], spans[1], spans[-1]
    closing_words = sum(1 for t in tokens[last[0]:last[1]] if t and t[0].isalnum())
    if (not _ends_sentence(tokens, first) or _first_word(tokens, second) in _DEPENDENT_OPENERS
            or not _first_word(tokens, second) or closing_words < _MIN_CLOSING_WORDS
            or not _ends_sentence(tokens, last) or _CONCLUSION_RE.search("".join(tokens[last[0]:last[1]]))):
        return
    pieces = [tokens[a:b] for a, b in spans]
    gaps = [tokens[spans[k][1]:spans[k + 1][0]] for k in range(len(spans) - 1)]
    body: list[str] = []
    for k, paragraph in enumerate(pieces[1:] + pieces[:1]):
        body += paragraph
        if k < len(gaps):
            body += gaps[k]
    tokens[first[0]:last[1]] = body


# --------------------------------------------------------------------------- registry


def example_transform(example: dict, seed: int = 0) -> dict:
    """The starter's toy transformation: lower-case the text (``seed`` is accepted and unused)."""
    out = dict(example)
    out["text"] = (example["text"] or "").lower()
    return out


# custom_transform's stages and strengths, chosen by the audit and the calibration (results/audit/opinion_summary.json,
# results/calibration_transform.json).
CUSTOM_STAGES = (
    ("opinion_synonym", 1.0),
    ("opinion_typo", 1.0),
)


def custom_transform(example: dict, seed: int = 0, stages=None) -> dict:
    """The assignment's main transformation: the opinion words a reader takes the verdict from, reworded or misspelt.

    The composition of its stages (``stages``, default ``CUSTOM_STAGES``), applied in order to one token list with
    one ``random.Random`` seeded from ``(seed, text)``: each opinion word with a reviewed same-polarity synonym gets
    it where it judges the film ("boring" -> "tedious"), then each opinion word with a misspelling people make gets
    it ("excelent", "dissapointing"), the same at every occurrence, never two neighbouring words, at most one word in
    fifteen. Tags, negations, names and function words are never touched; the label never.
    """
    text = example["text"] or ""
    rng = random.Random(f"{seed}:custom_transform:{text}")
    tokens = tokenize(text)
    for name, strength in stages or CUSTOM_STAGES:
        TRANSFORMS[name][0].__wrapped__(tokens, rng, strength)
    out = dict(example)
    out["text"] = "".join(tokens)
    return out


# name -> (function, default strength): ``function(text, rng, strength) -> str``, or, with no strength (None), a
# whole-example transformation ``function(example, seed=...) -> dict``
TRANSFORMS: dict[str, tuple[Callable, float | None]] = {
    "opinion_synonym": (opinion_synonym, 0.5),
    "opinion_typo": (opinion_typo, 0.5),
    "synonym": (synonym_replace, 0.5),
    "typo": (keyboard_typos, 0.1),
    "char_noise": (char_noise, 0.1),
    "contraction": (contraction_swap, 0.5),
    "social": (social_noise, 0.2),
    "distractor": (insert_distractor, 0.1),
    "verdict_aside": (verdict_aside, 0.5),
    "opening_last": (move_opening_last, 1.0),
    "custom_transform": (custom_transform, None),
    "example_transform": (example_transform, None),
}
TRANSFORM_NAMES: list[str] = list(TRANSFORMS)


def transform_stages(name: str) -> list | None:
    """custom_transform's stages and strengths, for results records (what "custom_transform" meant then), else None."""
    return [list(stage) for stage in CUSTOM_STAGES] if name == "custom_transform" else None


def check_strength(strength: float, what: str = "strength") -> float:
    """``strength`` as a float in [0, 1] (a probability or fraction), or ValueError naming the valid range."""
    value = float(strength)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{what} must be in [0, 1] (a probability), got {strength}")
    return value


def _apply(example: dict, *, name: str, strength: float | None, seed: int) -> dict:
    function, _ = TRANSFORMS[name]
    if strength is None:
        return function(example, seed=seed)
    text = example["text"] or ""
    out = dict(example)
    out["text"] = function(text, random.Random(f"{seed}:{name}:{text}"), strength)
    return out


def get_transform(name: str, strength: float | None = None, seed: int = 0) -> Callable[[dict], dict]:
    """Example-level function ``dict -> dict`` for ``name`` (picklable; deterministic per text+seed).

    Only ``text`` changes; every other key (``label``!) is copied untouched.
    ``strength=None`` uses the registered default; otherwise it must lie in [0, 1] (ValueError).
    Whole-example transforms (``custom_transform``, ``example_transform``) accept no strength.
    """
    if name not in TRANSFORMS:
        raise ValueError(f"unknown transformation {name!r}; valid names: {', '.join(TRANSFORM_NAMES)}")
    default = TRANSFORMS[name][1]
    if default is None:
        if strength is not None:
            raise ValueError(f"{name!r} is a whole-example transformation and takes no strength")
    else:
        strength = check_strength(default if strength is None else strength)
    return functools.partial(_apply, name=name, strength=strength, seed=seed)


SMALL_DATASET_ROWS = 1000
_SOURCE_HASH = hashlib.sha256(Path(__file__).read_bytes() + SYNONYM_TABLE_PATH.read_bytes()
                              + OPINION_TABLE_PATH.read_bytes()).hexdigest()


def transform_dataset(dataset, name: str = "custom_transform", strength: float | None = None,
                      seed: int = 0, num_proc: int | None = None, reuse_cache: bool = False):
    """Return ``dataset`` with ``text`` transformed by ``name`` (labels and row count kept).

    The result is computed afresh, unless ``reuse_cache``: then the datasets cache file written by an identical call
    is loaded (the other processes of a distributed run, after the main process has transformed the data).

    ``num_proc`` defaults to min(2, cpu count) for >= 1000 rows, else 1.  The synonym table and the word list
    are loaded in this process BEFORE the workers fork, so they share them (copy-on-write).
    """
    fn = get_transform(name, strength, seed)
    # The transformed rows get a fingerprint that names everything they depend on, including this module's code
    # and CUSTOM_STAGES: later cached datasets.map calls (tokenization) are keyed on it, and a fingerprint derived
    # from the function's identity alone would let them reuse tokens of an older version of the transformation.
    fingerprint = Hasher.hash([dataset._fingerprint, name, strength, seed, CUSTOM_STAGES, _SOURCE_HASH])
    if num_proc is None:
        num_proc = min(2, os.cpu_count() or 1) if len(dataset) >= SMALL_DATASET_ROWS else 1
    prepare_word_lists()
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
