"""The opinion-word stages (custom_transform's) and the table they read, resources/opinion_words.json."""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "study"))

import utils  # noqa: E402

TABLE = json.loads(utils.OPINION_TABLE_PATH.read_text(encoding="utf-8"))
WORDS = TABLE["words"]
SHARED_IMDB = ROOT.parent / "shared" / "data" / "imdb"

# A neutral sentence that pads each case to 40 words, so that the one-in-fifteen cap allows two misspellings.
PLOT = (" The plot follows a family that moves to a small town by the sea, where the father takes a job at the old "
        "lighthouse and the children explore the cliffs.")
# Inputs and their outputs, one stage alone at strength 1.0 (rng seed 0), read and accepted: the table in context.
GOLDEN = [
    ("opinion_typo", "The acting was excellent and the ending was horrible.",
     "The acting was exellent and the ending was horribel."),
    ("opinion_typo", "Excellent film.<br />Awesome cast. Ridiculous plot!",  # sentence starts, strongest first
     "Exellent film.<br />Awesome cast. Rediculous plot!"),
    ("opinion_typo", "Excellent film. The cast is excellent, the score excellent.",  # 3 would pass the cap: none
     "Excellent film. The cast is excellent, the score excellent."),
    ("opinion_typo", "It was horrible, horrible horrible. And terrible.",  # neighbours: "horrible" stays whole
     "It was horrible, horrible horrible. And terribel."),
    ("opinion_typo", "Mr. Excellent was not in it, nor was excellent Ridiculous Films. Ridiculous!",  # a name, a
     "Mr. Excellent was not in it, nor was excellent Ridiculous Films. Ridiculous!"),  # title: no twin left intact
    ("opinion_typo", "Not bad at all, a bad guy.", "Not bad at all, a bad guy."),  # short words never
    ("opinion_synonym", "A great deal of it is boring.", "A great deal of it is tedious."),  # fixed phrase kept
    ("opinion_synonym", "His loved ones loved it.", "His loved ones loved it."),  # every occurrence or none
    ("opinion_synonym", "It was an awful film, a great fan, a terrible film.",  # articles agree; "great fan" is
     "It was a dreadful film, a great fan, an atrocious film."),  # no verdict
    ("opinion_synonym", "It was great. I'm a great fan. The acting is really terrible, too stupid.",
     "It was great. I'm a great fan. The acting is really atrocious, too stupid."),
]


@pytest.mark.parametrize("stage,text,expected", GOLDEN)
def test_golden(stage, text, expected):
    assert utils.TRANSFORMS[stage][0](text + PLOT, random.Random(0), 1.0) == expected + PLOT


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def test_table_rules():
    import build_opinion_table

    """Every misspelling: one edit from its word of >= 5 letters, first letter kept, no tripled letter, no common
    English word; synonyms are opinion words of the same polarity."""
    from wordfreq import zipf_frequency

    assert len(WORDS) > 200 and sum("misspellings" in e for e in WORDS.values()) > 80
    for word, entry in WORDS.items():
        assert abs(entry["valence"]) >= 1 and word not in TABLE["excluded"]
        assert word in build_opinion_table.AGAINST_SIGN or (abs(entry["z"]) >= 1.96
                                                                         and (entry["z"] > 0) == (entry["valence"] > 0))
        for form, how, _ in entry.get("misspellings", []):
            assert form[0] == word[0] and form != word and zipf_frequency(form, "en") < 3, (word, form)
            assert len(word) >= 5 and how in ("imdb", "web", "generated") and _one_edit(word, form), (word, form)
            assert not re.search(r"(.)\1\1", form) and form not in TABLE["rejected_misspellings"]
        for synonym in entry.get("synonyms", []):
            if synonym in WORDS:
                assert (WORDS[synonym]["valence"] > 0) == (entry["valence"] > 0), (word, synonym)


def _one_edit(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
                                  and a[diff[1]] == b[diff[0]])
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def test_table_rebuilds_identically(tmp_path):
    """The committed table is what study/build_opinion_table.py makes from the training split (VADER, hunspell)."""
    import build_opinion_table

    out = tmp_path / "table.json"
    build_opinion_table.main(["--dataset", str(SHARED_IMDB), "--out", str(out)])
    assert json.loads(out.read_text()) == TABLE


REVIEW = ("I loved it. The acting is excellent, the music is beautiful and the ending is wonderful. "
          "A masterpiece, truly excellent.<br /><br />Some scenes are ridiculous and one is horrible, "
          "but I recommend it. Excellent!")


def test_typo_consistent_never_adjacent_and_capped():
    for seed in range(40):
        text = REVIEW + " " + " ".join(["excellent awesome brilliant wonderful"] * 3)
        out = utils.opinion_typo(text, random.Random(seed), 1.0)
        before, after = utils.tokenize(text), utils.tokenize(out)
        words = [i for i, t in enumerate(before) if t[:1].isalnum()]
        changed = [k for k, i in enumerate(words) if before[i] != after[i]]
        assert changed and all(b - a > 1 for a, b in zip(changed, changed[1:]))  # never two neighbours
        assert len(changed) <= len(words) / 15
        spelt: dict[str, set] = {}
        for i in words:
            if before[i] != after[i]:
                spelt.setdefault(before[i].lower(), set()).add(after[i].lower())
        assert all(len(forms) == 1 for forms in spelt.values())  # one misspelling per word and review


def test_stages_keep_label_tags_negations_and_are_deterministic():
    ex = {"text": REVIEW + " It wasn't boring.", "label": 1, "idx": 7}
    for name in ("opinion_synonym", "opinion_typo", "custom_transform"):
        fn = utils.get_transform(name, seed=3)
        out = fn(ex)
        assert out == fn(dict(ex)) and out["label"] == 1 and out["idx"] == 7 and out["text"] != ex["text"]
        assert out["text"].count("<br /><br />") == 1 and "wasn't" in out["text"] and "but I" in out["text"]
    assert utils.opinion_typo(REVIEW, random.Random(0), 0.0) == REVIEW


def test_custom_transform_is_the_opinion_stages():
    assert [name for name, _ in utils.CUSTOM_STAGES] == ["opinion_synonym", "opinion_typo"]
    out = utils.custom_transform({"text": REVIEW, "label": 1}, seed=0)["text"]
    # "excellent" stays: one occurrence ("truly excellent") is no verdict on the film, and three would pass the cap
    assert out == ("I adored it. The acting is excellent, the music is beatiful and the ending is marvelous. A "
                   "masterpiece, truly excellent.<br /><br />Some scenes are ridiculous and one is awfull, but I "
                   "recommend it. Excellent!")
