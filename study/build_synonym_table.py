"""Build the reviewed synonym table ``resources/synonyms.json`` used by ``utils``' synonym stage.

    python study/build_synonym_table.py            # rebuild the table (deterministic)
    python study/build_synonym_table.py --review   # print the WordNet candidates before the reviewed rejections

Rules (applied in this order; every one is mechanical except the last):
1. Words: the ``--top`` most frequent lower-case alphabetic words of >= 4 letters in the IMDB *training* split that
   are not function words, negations or intensifiers (``utils.STOPWORDS``, ``NEGATIONS``, ``INTENSIFIERS``).
2. Lemma and part of speech: lemminflect's lemma for the word; the part of speech is the one WordNet's SemCor tag
   counts clearly prefer for that lemma (>= 2x the runner-up, as in the old stage); words with no clear part of
   speech ("plot", "act", "show") are left out.
3. Candidates: the single-word lemmas of that lemma's MOST FREQUENT WordNet synset for that part of speech, never
   an antonym, never a lemma SemCor never tagged with that sense, never a capitalised or hyphenated lemma.
4. Frequency: a candidate is kept only if it is not rarer than the word it replaces (wordfreq Zipf frequency of
   the lemma, English), so replacements never read as archaic or learned ("ineffable", "laggard").
5. Fixed phrases: every WordNet multi-word expression that contains a replaceable form, and the idioms in
   ``MORE_FIXED_PHRASES`` ("an awful lot", "not nearly"), are stored with the table;
   the stage leaves the word alone inside one ("film noir", "by and large", "role model").
6. Inflection: every inflected form of the lemma (lemminflect) gets the same inflection of the candidate; a form
   whose tag is ambiguous (e.g. "put" as VBD and VBN) is kept only if the candidate's forms agree.
7. Review: ``KEEP`` lists the (lemma, candidate) pairs a careful reader accepted after reading each candidate in
   the contexts reviews use the word in; every other candidate is recorded in the table as rejected, with the
   reason (``REJECT_REASONS``: wrong sense in film reviews, grammar, function word, polarity/intensity/register).
   These decisions are the human part of the table.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

TABLE_PATH = PROJECT_DIR / "resources" / "synonyms.json"
UPOS_WN = {"NOUN": "n", "VERB": "v", "ADJ": "a", "ADV": "r"}

# Reviewed (by reading each WordNet candidate in the contexts IMDB reviews use the word in): the candidates that
# keep meaning, polarity, intensity and grammar. Every other generated candidate is rejected; REJECT_REASONS
# says why, per lemma (the table records the rejected pairs with these reasons).
KEEP: dict[str, tuple[str, ...]] = {
    "adaptation": ("version",), "awesome": ("amazing",), "awful": ("terrible",), "begin": ("start",),
    "believable": ("credible",), "difficult": ("hard",), "dialog": ("dialogue",), "eventually": ("finally",),
    "final": ("last",), "flaw": ("fault",), "humour": ("humor",), "kid": ("child",), "large": ("big",),
    "laughable": ("absurd", "ridiculous"), "likable": ("appealing",), "movie": ("film",), "narrative": ("story",),
    "nearly": ("almost",), "normally": ("usually",), "opinion": ("view",), "opportunity": ("chance",),
    "particularly": ("especially",), "perhaps": ("maybe",), "poorly": ("badly",), "price": ("cost",),
    "role": ("part",), "seemingly": ("apparently",), "sort": ("kind",), "superb": ("brilliant",),
    "tale": ("story",), "teenage": ("teen",), "theater": ("theatre",), "writer": ("author",),
}
_REASONS = {
    "wrong sense in film reviews": """actor script shoot cinema drama direction viewer police violence reality
        cinematography country earth class animation theme element material average cheesy battle band flat
        tension spend choice amuse portrayal conclusion shooting grade garbage genius purpose silent draw boss ride
        central detail impression expectation track opus build fascinate lighting imagination stone ground impress
        affair turning fashion design pull creature castle area describe clothe cross treat commentary introduce
        apparent wed jump grow pacing accord blame explanation meet daughter view mind idea effect style drama
        comic talent involve redeem role""",
    "not substitutable in its usual constructions (grammar)": """well seem around done away later tell remember
        become suppose call guess lead person matter bring set appear near mention effort means particular
        hold consider cause trouble speak remain fully slowly finish manner bother intend put notice deliver allow
        continue somebody instance small entire okay possibly sort""",
    "function word or intensifier (the stage never changes degree words)": """actually however simply certainly
        exactly perfectly entirely surely merely therefore whatsoever ultimately immediately easily nearly""",
    "changes polarity, intensity or register": """crap annoy pathetic dumb badly unbelievable brutal disturb decent
        tragedy charm unlike""",
}
REJECT_REASONS: dict[str, str] = {w: why for why, words in _REASONS.items() for w in words.split()}


# Idioms WordNet does not list in which a table word must stay (found while reading the audit samples).
MORE_FIXED_PHRASES = (("an", "awful", "lot"), ("awful", "lot"), ("not", "nearly"), ("price", "tag"),
                      ("final", "straw"), ("sort", "of", "like"), ("large", "scale"), ("b", "movie"),
                      ("b", "movies"), ("z", "movie"), ("tv", "movie"), ("movie", "theater"))

_SS_TYPE_POS = {"1": "n", "2": "v", "3": "a", "4": "r", "5": "a"}


def wordnet():
    from pipeline.wordnet import ensure_wordnet

    ensure_wordnet()
    from nltk.corpus import wordnet as wn

    wn.ensure_loaded()
    return wn


def sense_counts(wn) -> tuple[dict, dict]:
    """SemCor tag counts from WordNet's ``index.sense``: sense key -> count, and (lemma, pos) -> summed count
    ("s" satellites folded into "a"); the same numbers as ``Lemma.count()``, read once."""
    with wn.open("index.sense") as fh:
        data = fh.read()
    by_key: dict[str, int] = {}
    by_lemma_pos: dict[tuple[str, str], int] = {}
    for line in data.splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        key, cnt = parts[0], int(parts[3])
        by_key[key] = cnt
        if cnt:
            lemma, _, rest = key.partition("%")
            lp = (lemma, _SS_TYPE_POS.get(rest[:1], "?"))
            by_lemma_pos[lp] = by_lemma_pos.get(lp, 0) + cnt
    return by_key, by_lemma_pos


def fixed_phrases(wn, surfaces: set) -> dict[str, list[list[str]]]:
    """surface word -> the WordNet multi-word expressions it is part of ("film noir", "by and large")."""
    out: dict[str, list[list[str]]] = collections.defaultdict(list)
    for name in wn._lemma_pos_offset_map:
        if "_" in name:
            words = name.split("_")
            if all(w.isalpha() for w in words):
                for w in set(words) & surfaces:
                    out[w].append(words)
    for words in MORE_FIXED_PHRASES:
        for w in set(words) & surfaces:
            out[w].append(list(words))
    return {w: sorted(p) for w, p in sorted(out.items())}


def imdb_word_counts(dataset: str) -> collections.Counter:
    from pipeline.data import load_imdb

    train = load_imdb(dataset, splits=("train",))["train"]
    counts: collections.Counter = collections.Counter()
    word = re.compile(r"[a-z]+")
    for text in train["text"]:
        counts.update(word.findall(text.lower().replace("<br />", " ")))
    return counts


def dominant_pos(lemma: str, wn, by_lemma_pos) -> str | None:
    scored = []
    for upos, pos in UPOS_WN.items():
        offsets = wn._lemma_pos_offset_map.get(lemma, {}).get(pos)
        if offsets:
            scored.append((by_lemma_pos.get((lemma, pos), 0) + 0.5 * len(offsets), upos))
    scored.sort(reverse=True)
    if not scored or (len(scored) > 1 and scored[1][0] * 2 > scored[0][0]):
        return None
    return scored[0][1]


def wordnet_candidates(lemma: str, upos: str, wn, by_key) -> list[str]:
    pos = UPOS_WN[upos]
    synset = wn.synset_from_pos_and_offset(pos, wn._lemma_pos_offset_map[lemma][pos][0])
    antonyms = {a.name().lower() for l in synset.lemmas() for a in l.antonyms()}
    out = []
    for l in synset.lemmas():
        name = l.name()
        if (name != lemma and re.fullmatch(r"[a-z]{3,}", name) and name not in antonyms
                and by_key.get(l.key(), 0) > 0 and name not in out):
            out.append(name)
    return out


def inflections(lemma: str, cand: str, upos: str, wn) -> dict[str, str]:
    """surface form of ``lemma`` -> the same form of ``cand``.

    Left out: forms whose ambiguous tags disagree for the candidate ("put" VBD/VBN), and verb forms that are also
    nouns or adjectives in WordNet ("beginning" -> "starting" would break "from the beginning").
    """
    from lemminflect import getAllInflections, getInflection

    forms: dict[str, set] = collections.defaultdict(set)
    forms[lemma].add(getInflection(cand, tag={"NOUN": "NN", "VERB": "VB", "ADJ": "JJ", "ADV": "RB"}[upos])[0]
                     if upos in ("NOUN", "VERB") else cand)
    for tag, surfaces in getAllInflections(lemma, upos=upos).items():
        if upos == "ADJ" or upos == "ADV":
            continue  # comparatives/superlatives of adjectives: skipped ("more dreadful" vs "awfuller")
        target = getInflection(cand, tag=tag)
        for s in surfaces[:1]:  # the regular form of each tag ("adaptations"; not mass-noun NNS "adaptation")
            forms[s].add(target[0] if target else None)
    nominal = {"n", "a", "s"} if upos == "VERB" else set()
    return {s: next(iter(t)) for s, t in forms.items()
            if len(t) == 1 and None not in t and not (s != lemma and nominal & set(wn._lemma_pos_offset_map.get(s, {})))}


def build(dataset: str, top: int, review: bool) -> dict:
    import utils
    from wordfreq import zipf_frequency
    from lemminflect import getAllLemmas

    wn = wordnet()
    by_key, by_lemma_pos = sense_counts(wn)
    counts = imdb_word_counts(dataset)
    excluded = utils.STOPWORDS | utils.NEGATIONS | utils.INTENSIFIERS
    words = [w for w, _ in counts.most_common() if len(w) >= 4 and w not in excluded][:top]
    entries: dict[tuple[str, str], dict] = {}
    rejected: dict[str, str] = {}
    for w in words:
        lemmas = getAllLemmas(w)
        for lemma in sorted({l for ls in lemmas.values() for l in ls}):
            upos = dominant_pos(lemma, wn, by_lemma_pos)
            if upos is None or upos not in lemmas or lemma not in lemmas[upos] or (lemma, upos) in entries:
                continue
            cands = [c for c in wordnet_candidates(lemma, upos, wn, by_key)
                     if zipf_frequency(c, "en") >= zipf_frequency(lemma, "en")]
            if review:
                print(f"{lemma}/{upos}: {' '.join(cands)}")
            for c in cands:
                if c not in KEEP.get(lemma, ()):
                    rejected[f"{lemma} -> {c}"] = REJECT_REASONS.get(lemma, "wrong sense in film reviews")
            cands = [c for c in cands if c in KEEP.get(lemma, ())]
            if cands:
                entries[(lemma, upos)] = {"lemma": lemma, "pos": upos, "imdb_count": counts[w],
                                          "candidates": {c: inflections(lemma, c, upos, wn) for c in cands}}
    surfaces = {s for e in entries.values() for forms in e["candidates"].values() for s in forms}
    return {
        "built_by": "python study/build_synonym_table.py",
        "rules": __doc__.split("Rules")[1].strip(),
        "top_words": top,
        "reviewed_rejections": dict(sorted(rejected.items())),
        "entries": sorted(entries.values(), key=lambda e: (e["lemma"], e["pos"])),
        "fixed_phrases": fixed_phrases(wn, surfaces),
    }


def main(argv=None) -> None:
    from pipeline.data import SHARED_DATA

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default=str(SHARED_DATA / "imdb"), help="IMDB folder (train.parquet)")
    ap.add_argument("--top", type=int, default=1500, help="most frequent IMDB content words considered")
    ap.add_argument("--review", action="store_true", help="print every WordNet candidate before the rejections")
    args = ap.parse_args(argv)
    table = build(args.dataset, args.top, args.review)
    TABLE_PATH.parent.mkdir(parents=True, exist_ok=True)
    TABLE_PATH.write_text(json.dumps(table, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"{len(table['entries'])} entries written to {TABLE_PATH}")


if __name__ == "__main__":
    main()
