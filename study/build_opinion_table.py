"""Build ``resources/opinion_words.json``: the opinion words of IMDB reviews, how people misspell them, and their
reviewed same-polarity synonyms. ``utils``' ``opinion_typo`` and ``opinion_synonym`` stages read it.

    pip install vaderSentiment; apt-get install hunspell hunspell-en-us      # only to rebuild the table
    python study/build_opinion_table.py            # rebuild (deterministic)
    python study/build_opinion_table.py --review   # also print every mined misspelling, kept or not

Rules, in order; all mechanical except the reviewed lists at the top of this file:
1. Opinion words: words of the VADER lexicon (Hutto & Gilbert 2014; human valence ratings, in the vaderSentiment
   wheel) with |valence| >= 1, in >= 20 IMDB *training* reviews, whose log-odds between positive and negative
   training reviews (Monroe et al. 2008, informative Dirichlet prior = the pooled counts) has VADER's sign and
   |z| >= 1.96 (or the other sign, for the verdict words of ``AGAINST_SIGN``: "I expected better"): words a reader
   takes a verdict from AND that carry evidence for a label in these reviews. Minus ``EXCLUDED``:
   topic and plot words ("horror", "killer", "friendship"), and words with a common non-evaluative use ("like",
   "well", "love" the noun), each with its reason. Each word's |z| is kept: the stages edit the strongest first.
2. Attested misspellings (words of >= 5 letters): strings one edit from the word (a letter dropped, doubled,
   changed or two swapped) that hunspell's en_US dictionary rejects and that are no common word (wordfreq Zipf < 3),
   written in >= 2 IMDB training reviews ("imdb") or else in wordfreq's web list ("web", Zipf >= 1).
3. Generated misspellings (words without an attested one): the edits people make, most human first (see
   ``generated``): a doubled letter written once ("stuning"), "-ful" as "-full", "ie"/"ei" confused, a final "al"
   or "le" swapped at the end of a long word ("originla", "terribel"); the result no word wordfreq knows.
4. Realism rules for 2 and 3 (from reading such edits in whole reviews): never the first letter, no tripled letter,
   no new doubled vowel but ee/oo, no changed letter in words under 7 letters or as the last letter, and the result
   never one edit from another common English word (wordfreq Zipf >= 3, hunspell-known; the word's own inflections
   aside) unless that word is at least 10 times rarer than the intended one (a reader takes the likelier word:
   "graet" reads as "great", not "grant"; "gret" could be "get"). Then ``REJECTED_MISSPELLINGS``, read and
   rejected, each with its reason.
   Words of <= 4 letters are not misspelt, nor stretched ("baaad": the first audit round rejected stretches in
   neutral uses, "bad guy", "too bad").
5. Synonyms: ``ADJECTIVE_SYNONYMS`` (only where the adjective judges the film) and ``OTHER_SYNONYMS``, same
   polarity, strength and register, read in review contexts; never in ``SYNONYM_FIXED_PHRASES`` ("a great deal").
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

import utils  # noqa: E402
from pipeline.data import load_imdb  # noqa: E402

TABLE_PATH = PROJECT_DIR / "resources" / "opinion_words.json"
MIN_VALENCE, MIN_REVIEWS, MIN_Z = 1.0, 20, 1.96
MIN_MISSPELT_REVIEWS, COMMON_ZIPF, MIN_WEB_ZIPF = 2, 3.0, 1.0
MIN_MISSPELL_LETTERS = 5
END_SWAPS = ("le", "al")  # the ending swaps people make ("terribel", "originla"; not "stinkre")
NEIGHBOUR_MARGIN = 1.0  # Zipf: 10 times
MAX_FORMS = 2

_TOPIC = "a topic or plot word in film reviews, not a verdict"
_USE = "a common non-evaluative use"
EXCLUDED: dict[str, str] = {
    **{w: _TOPIC for w in """heart plays played play friendship friend friends supporting killer killing killed kill
        kills freedom hell screaming scream scare scary adventure adventures dead die shoot innocence innocent
        dreams dream award awards courage romance romantic lovers grave victims severed stop share championship
        gun rape raped justice attack festival wells terrorists created creates restored superiors vision
        importance benefits peace support anti nerd slut ass win winning winner success successful horror happy
        happiness joy affection devotion determination determined loyalty integrity compassion tenderness desire
        passion passionate sweetheart smile smiling torture stabbed propaganda racist freak hacked lying evil sick
        warmth comfortable relaxed relax brave noble wise keen daring gentle gently humor humour comedies comedic
        comedy corpse bloody sunshine celebrates faithful robust destroy loser jerk contempt popular prominent
        greater gag cut mature""".split()},
    **{w: _USE for w in """like well love loving true easy natural strong strength strengths low lower lowest
        certain certainly definite definitely effective effectively thanks helps chance treat strongly severely
        sweet grand fresh friendly handsome""".split()},
}

# Verdict words whose training-split sign is the other label's ("I expected better", "supposed to be funny", "it was
# ok", "save your money"), or none ("good": "not good"): evidence all the same, in context. Read and kept; the other
# such words are topics ("war", "murder").
AGAINST_SIGN = frozenset("""good better funny original ok alright joke jokes laugh laughably promising wow positive
    value interesting talent merit disappoint downside faults complaint criticism haunting heartbreaking terrifying eerie
    brutal devastating save favor care""".split())

# Read in review contexts; kept: same polarity, strength, register and grammar. Adjectives are replaced only where
# they judge the film (``evaluative_only``: before a film noun, or after "is"/"was"; utils._evaluative_use): "a great
# fan", "too great" and "the perfect Saturday night" are other senses. Rejected after the first audit round
# (results/audit/RUBRIC.md): lame -> feeble (slang), perfect -> flawless ("perfect for" = ideal), favorite ->
# favourite (a spelling), hilarious -> uproarious, beautifully -> gorgeously, enjoyed -> liked ("enjoyed it
# thoroughly"), disappointing -> underwhelming, wasted -> squandered, painful -> excruciating (stronger); after the
# second: horribly, terribly -> dreadfully (manner: "screaming horribly"), "loved to" -> "adored to".
ADJECTIVE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "great": ("terrific",), "excellent": ("outstanding",), "wonderful": ("marvelous",), "awful": ("dreadful",),
    "terrible": ("atrocious",), "horrible": ("awful",), "boring": ("tedious",), "stupid": ("idiotic",),
    "amazing": ("incredible",), "brilliant": ("superb",), "fantastic": ("fabulous",), "ridiculous": ("absurd",),
    "annoying": ("irritating",), "beautiful": ("lovely",), "dull": ("bland",), "pathetic": ("pitiful",),
    "superb": ("excellent",), "enjoyable": ("entertaining",), "dreadful": ("awful",), "lousy": ("awful",),
    "terrific": ("fantastic",), "delightful": ("charming",), "stunning": ("breathtaking",), "awesome": ("amazing",),
    "fascinating": ("captivating",), "idiotic": ("moronic",), "irritating": ("annoying",),
    "marvelous": ("wonderful",), "gorgeous": ("stunning",), "lovely": ("delightful",), "magnificent": ("splendid",),
    "outstanding": ("excellent",), "incompetent": ("inept",), "crappy": ("lousy",), "horrid": ("horrible",),
    "tedious": ("boring",), "dumb": ("stupid",),
}
OTHER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "loved": ("adored",), "wonderfully": ("marvelously",), "superbly": ("brilliantly",), "brilliantly": ("superbly",),
}
SYNONYM_FIXED_PHRASES: dict[str, list[list[str]]] = {
    "great": [["a", "great", "deal"], ["great", "deal"], ["great", "grandfather"], ["great", "grandmother"],
              ["great", "britain"], ["great", "depression"], ["great", "war"], ["great", "white"],
              ["great", "lakes"], ["the", "great", "gatsby"]],
    "stupid": [["stupid", "is", "as", "stupid", "does"]],
    "loved": [["loved", "ones"], ["loved", "one"], ["loved", "to"]],
    "dumb": [["deaf", "and", "dumb"], ["dumb", "luck"], ["struck", "dumb"]],
    "beautiful": [["beautiful", "mind"], ["beautiful", "people"]],
    "pathetic": [["pathetic", "fallacy"]],
}

# Mined or generated, then read (rule 4 passed) and rejected: reads as another word, or as nobody types it.
_LONG = "a consonant doubled after a long vowel: nobody writes it so"
REJECTED_MISSPELLINGS: dict[str, str] = {
    **{f: _LONG for f in """stuppid stuppidity stuppidly stuppidest stupiddity stupiddest remmarkable sterreotyped
        raddiant shammeless superrior glorrious adorrable hoppelessly borredom luddicrous fabbulous
        inspirring""".split()},
    "funneist": "reads as a typing slip in the middle of the word, not a spelling",
    "grat": "reads as a word cut short, or slang",
    "doonside": "reads as another word", "donside": "reads as another word", "balme": "reads as balm",
    "eerei": "reads as a typing slip in the middle of the word, not a spelling",
    **{f: "another language's word, a name or a brand" for f in """perfekt fantasmic favosites favoritos stenning
        elefant cheverly vikrant desaster dizaster greatist roten embarras""".split()},
    **{f: "a joke or pun spelling, not a misspelling" for f in "turrible funtastic".split()},
    **{f: "an unusual doubling nobody writes" for f in """moronnic rettarded surprissing surprissingly fascinnating
        awessome beautiffully magnifficent magnifficently sympathettic""".split()},
}


def vader_lexicon() -> dict[str, float]:
    try:
        from importlib.resources import files
        path = files("vaderSentiment") / "vader_lexicon.txt"
        text = path.read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as err:
        raise SystemExit(f"error: the VADER lexicon is missing ({err}): pip install vaderSentiment") from None
    out = {}
    for line in text.splitlines():
        word, valence = line.split("\t")[:2]
        if word.isascii() and word.isalpha() and word.islower():
            out[word] = float(valence)
    return out


def hunspell_unknown(words: list[str]) -> set[str]:
    """The words hunspell's en_US dictionary rejects."""
    if not shutil.which("hunspell"):
        raise SystemExit("error: hunspell is missing: apt-get install hunspell hunspell-en-us")
    out = subprocess.run(["hunspell", "-d", "en_US", "-l"], input="\n".join(words), capture_output=True,
                         text=True, check=True).stdout
    return set(out.split())


def corpus_counts(dataset: str) -> tuple[collections.Counter, list[collections.Counter]]:
    """Per lower-case word: the number of training reviews it occurs in, and its count in negative/positive ones."""
    train = load_imdb(dataset)["train"]
    word = re.compile(r"[a-z]+")
    reviews, by_label = collections.Counter(), [collections.Counter(), collections.Counter()]
    for text, label in zip(train["text"], train["label"]):
        words = word.findall(text.lower().replace("<br />", " "))
        by_label[label].update(words)
        reviews.update(set(words))
    return reviews, by_label


def log_odds_z(by_label: list[collections.Counter]) -> dict[str, float]:
    """Monroe, Colaresi & Quinn (2008), eq. 16-22: z-score of the positive-vs-negative log-odds ratio with an
    informative Dirichlet prior, here the pooled counts (alpha_0 = their total)."""
    neg, pos = by_label
    pooled = neg + pos
    n_neg, n_pos, a0 = sum(neg.values()), sum(pos.values()), sum(pooled.values())
    out = {}
    for w, a in pooled.items():
        y1, y0 = pos[w], neg[w]
        delta = math.log((y1 + a) / (n_pos + a0 - y1 - a)) - math.log((y0 + a) / (n_neg + a0 - y0 - a))
        out[w] = delta / math.sqrt(1 / (y1 + a) + 1 / (y0 + a))
    return out


LETTERS = "abcdefghijklmnopqrstuvwxyz"


def one_edit(word: str):
    """(kind, position, result) for every string one edit from ``word``."""
    for k in range(len(word)):
        yield "drop", k, word[:k] + word[k + 1:]
        for c in LETTERS:
            if c != word[k]:
                yield "change", k, word[:k] + c + word[k + 1:]
    for k in range(len(word) - 1):
        if word[k] != word[k + 1]:
            yield "swap", k, word[:k] + word[k + 1] + word[k] + word[k + 2:]
    for k in range(len(word) + 1):
        for c in LETTERS:
            yield "add", k, word[:k] + c + word[k:]


def realistic(word: str, kind: str, k: int, out: str) -> bool:
    """Rule 4 without the neighbour check: where and how people misspell."""
    if k == 0 or re.search(r"(.)\1\1", out):
        return False
    if kind == "change" and (len(word) < 7 or k == len(word) - 1):
        return False
    if kind == "drop" and k == len(word) - 1:  # "awfu", "perfec": a word cut short
        return False
    if kind == "add" and out[k] != out[k - 1] and (k + 1 == len(out) or out[k] != out[k + 1]):
        return False  # only a doubled letter is added ("awfull"), never a new one ("stupido", "terribles")
    doubled = {m.group() for m in re.finditer(r"([aiu])\1", out)} - {m.group() for m in re.finditer(r"([aiu])\1", word)}
    return not doubled


def build(dataset: str, review: bool) -> dict:
    from wordfreq import get_frequency_dict, zipf_frequency

    reviews, by_label = corpus_counts(dataset)
    z = log_odds_z(by_label)
    vader = vader_lexicon()
    function_words = utils.STOPWORDS | utils.NEGATIONS | utils.INTENSIFIERS | utils.MORE_FUNCTION_WORDS
    opinion = {}
    for w, valence in sorted(vader.items()):
        if (abs(valence) >= MIN_VALENCE and reviews[w] >= MIN_REVIEWS and w not in function_words
                and w not in EXCLUDED and (w in AGAINST_SIGN or ((valence > 0) == (z[w] > 0) and abs(z[w]) >= MIN_Z))):
            opinion[w] = {"valence": valence, "z": round(z[w], 2), "reviews": reviews[w]}

    common = {w for w, f in get_frequency_dict("en").items() if w.isalpha() and w.isascii() and f >= 1e-6}  # Zipf 3
    common -= hunspell_unknown(sorted(common))
    known = set(get_frequency_dict("en"))

    # candidates per word: attested (rule 2) or generated (rule 3), then the realism rules (rule 4)
    candidates: dict[str, list[tuple[str, str, float]]] = {}
    for w in opinion:
        if len(w) < MIN_MISSPELL_LETTERS:
            continue
        found: dict[str, tuple[str, float]] = {}
        for kind, k, out in one_edit(w):
            zipf = zipf_frequency(out, "en")
            if realistic(w, kind, k, out) and zipf < COMMON_ZIPF:
                if reviews[out] >= MIN_MISSPELT_REVIEWS:
                    found[out] = ("imdb", reviews[out])
                elif zipf >= MIN_WEB_ZIPF:
                    found[out] = ("web", zipf)
        for out in generated(w):
            found.setdefault(out, ("generated", 0) if out not in known else ("known", 0))
        candidates[w] = [(out, how, n) for out, (how, n) in found.items() if how != "known"]
    unknown = hunspell_unknown(sorted({c for cs in candidates.values() for c, _, _ in cs}))
    rank = {"imdb": 0, "web": 1, "generated": 2}
    for w, cs in candidates.items():
        cs[:] = sorted((c for c in cs if c[0] in unknown), key=lambda c: (rank[c[1]], -c[2]))
    neighbours_ok = {}
    for w, cs in candidates.items():
        kept = []
        for form, how, n in cs:
            # a reader takes the likelier word (noisy channel): another common word one edit away must be at least
            # 10 times rarer than the intended one; the word's own family ("wonderfull" -> "wonderfully") aside
            others = {o for _, _, o in one_edit(form) if o in common and not o.startswith(w)
                      and zipf_frequency(o, "en") > zipf_frequency(w, "en") - NEIGHBOUR_MARGIN}
            if others:
                neighbours_ok[(w, form)] = f"one edit from {', '.join(sorted(others)[:3])}"
            elif form in REJECTED_MISSPELLINGS:
                neighbours_ok[(w, form)] = REJECTED_MISSPELLINGS[form]
            else:
                kept.append([form, how, n])
        if review:
            print(w, "|", " ".join(f"{f}({n})" for f, _, n in kept), "| rejected:",
                  " ".join(f"{f}" for (ww, f) in neighbours_ok if ww == w))
        if kept:
            opinion[w]["misspellings"] = kept[:MAX_FORMS]

    for table, evaluative_only in ((ADJECTIVE_SYNONYMS, True), (OTHER_SYNONYMS, False)):
        for w, syns in table.items():
            if w in opinion:
                opinion[w]["synonyms"] = list(syns)
                opinion[w]["evaluative_only"] = evaluative_only

    return {
        "built_by": "python study/build_opinion_table.py",
        "rules": __doc__.split("Rules, in order;")[1].strip(),
        "sources": {"lexicon": "VADER (vaderSentiment 3.3.2, vader_lexicon.txt; Hutto & Gilbert 2014)",
                    "corpus": "IMDB training split (aclImdb v1.0), 25,000 reviews",
                    "dictionary": "hunspell en_US (Debian hunspell-en-us)", "word frequencies": "wordfreq"},
        "excluded": EXCLUDED,
        "rejected_misspellings": {f"{w} -> {f}": why for (w, f), why in sorted(neighbours_ok.items())},
        "synonym_fixed_phrases": SYNONYM_FIXED_PHRASES,
        "words": dict(sorted(opinion.items(), key=lambda kv: -abs(kv[1]["z"]))),
    }


def generated(w: str) -> list[str]:
    """Rule 3's edits, most human first: one of a doubled letter dropped ("stuning"), "-ful" written "-full", "ie"
    and "ei" confused ("freind"), in words of >= 7 letters a final "le" or "al" swapped ("terribel",
    "originla"). A doubled consonant is taken only where people write it (rule 2: "reccommend"); made up
    ("favorrite") it reads wrongly, as do swaps elsewhere ("entertainign", "excellentyl")."""
    out = [w[:k] + w[k + 1:] for k in range(1, len(w) - 1) if w[k] == w[k + 1]]
    if w.endswith("ful"):
        out.append(w + "l")
    out += [w[:k] + w[k + 1] + w[k] + w[k + 2:] for k in range(1, len(w) - 1) if w[k:k + 2] in ("ie", "ei")]
    if len(w) >= 7 and w[-2:] in END_SWAPS:  # "terribel", "originla"
        out.append(w[:-2] + w[-1] + w[-2])
    return list(dict.fromkeys(o for o in out if not re.search(r"(.)\1\1", o)))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default=str(PROJECT_DIR.parent / "shared" / "data" / "imdb"),
                    help="IMDB folder with train.parquet (default: ../shared/data/imdb beside the project)")
    ap.add_argument("--review", action="store_true", help="print every opinion word's misspellings, kept or not")
    ap.add_argument("--out", default=str(TABLE_PATH), help="where to write the table")
    args = ap.parse_args(argv)
    table = build(args.dataset, args.review)
    Path(args.out).write_text(json.dumps(table, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    words = table["words"]
    print(f"{len(words)} opinion words, {sum('misspellings' in e for e in words.values())} with misspellings, "
          f"{sum('synonyms' in e for e in words.values())} with synonyms -> {args.out}")


if __name__ == "__main__":
    main()
