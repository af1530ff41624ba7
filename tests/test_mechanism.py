"""study/mechanism.py: the replay of the opinion-word transformation, the WordPiece counts and the flip groups."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "study"))

import mechanism  # noqa: E402
import utils  # noqa: E402

REVIEWS = [
    "This movie was great, the acting was wonderful and the ending was perfect. A great film!<br /><br />Great.",
    "A terrible, boring film. The plot was awful and the dialogue was stupid; a waste of time. Boring.",
    "I went in with low hopes. Realism is boring. If I want to see daily life, I will live it.",
    "The cast is fine.",
]


class FakeTokenizer:
    """Splits a word into pieces of at most four letters: 'great' -> ['grea', '##t']; offsets for read_positions."""

    def tokenize(self, word):
        word = word.lower()
        return [word[:4]] + [f"##{word[i:i + 4]}" for i in range(4, len(word), 4)]

    def __call__(self, text, add_special_tokens=False, return_offsets_mapping=True):
        import re
        return {"offset_mapping": [(m.start(), m.end()) for m in re.finditer(r"\w+|[^\w\s]", text)]}


def test_replay_matches_the_transformation_and_marks_each_edit_with_its_stage():
    utils.prepare_word_lists()
    edited_any = False
    for text in REVIEWS:
        before, after, kinds = mechanism.replay(text, 42)
        assert "".join(before) == text
        assert "".join(after) == utils.custom_transform({"text": text}, seed=42)["text"]
        assert len(before) == len(after)
        for i, kind in kinds.items():
            assert before[i] != after[i] and kind in ("synonym", "misspelling", "article")
        assert all(before[i] == after[i] for i in range(len(before)) if i not in kinds)
        edited_any |= bool(kinds)
    assert edited_any


def test_analyse_counts_pieces_and_what_the_model_reads():
    utils.prepare_word_lists()
    reviews = [{"text": t, "label": 1 if k == 0 else 0} for k, t in enumerate(REVIEWS)]
    words, per_review = mechanism.analyse(reviews, FakeTokenizer(), 42, max_length=512)
    assert len(per_review) == len(REVIEWS) and sum(r["edited"] for r in per_review) == len(words)
    tok = FakeTokenizer()
    for w in words:
        assert w["pieces_before"] == len(tok.tokenize(w["old"])) and w["pieces_after"] == len(tok.tokenize(w["new"]))
        assert w["read"]  # every review is short
    # a model that reads two pieces reads no edit past them
    _, short = mechanism.analyse(reviews, FakeTokenizer(), 42, max_length=4)
    assert sum(r["read"] for r in short) < sum(r["read"] for r in per_review)
    summary = mechanism.word_summary(words)
    assert summary["all"]["occurrences"] == len(words)
    assert summary["all"]["occurrences"] == sum(summary[k].get("occurrences", 0) for k in ("synonym", "misspelling"))


def test_flips_are_grouped_by_what_the_model_read():
    per_review = [{"index": 0, "label": 1, "read": 0, "read_misspellings": 0},   # right, no edit read, stays right
                  {"index": 1, "label": 1, "read": 2, "read_misspellings": 0},   # right, synonyms only, stays right
                  {"index": 2, "label": 0, "read": 1, "read_misspellings": 1},   # right, misspelling read, turns wrong
                  {"index": 3, "label": 0, "read": 3, "read_misspellings": 2}]   # wrong on the original: not counted
    original, transformed = [1, 1, 0, 1], [1, 1, 1, 0]
    flips = mechanism.flip_summary(per_review, original, transformed)
    assert flips["no_edit_read"] == {"right_on_original": 1, "turned_wrong": 0, "turned_wrong_share": 0.0}
    assert flips["synonyms_only_read"]["turned_wrong"] == 0
    assert flips["misspelling_read"] == {"right_on_original": 1, "turned_wrong": 1, "turned_wrong_share": 1.0}
    assert mechanism.flip_summary(per_review, None, transformed) is None


def test_prediction_files_in_another_order_are_refused(tmp_path):
    (tmp_path / "out_original.txt").write_text("1\n1\n0\n0\n")
    assert mechanism.predictions(tmp_path, "out_original", [1, 0]) == [1, 0]
    assert mechanism.predictions(tmp_path, "out_missing", [1, 0]) is None
    with pytest.raises(SystemExit, match="order"):
        mechanism.predictions(tmp_path, "out_original", [0, 1])


def test_attribution_summary_splits_by_whether_an_edit_hits_a_top_word():
    hits = [{"index": 0, "label": 1, "read_edits": 1, "hit": True},    # right, turns wrong
            {"index": 1, "label": 1, "read_edits": 2, "hit": True},    # right, stays right
            {"index": 2, "label": 0, "read_edits": 1, "hit": False},   # right, stays right
            {"index": 3, "label": 0, "read_edits": 0, "hit": False},   # no edit read: in neither group
            {"index": 4, "label": 0, "read_edits": 1, "hit": False}]   # wrong on the original
    original, transformed = [1, 1, 0, 0, 1], [0, 1, 0, 1, 1]
    out = mechanism.attribution_summary(hits, original, transformed)
    assert out["edit_hits_top_words"] == {"reviews": 2, "right_on_original": 2, "turned_wrong": 1,
                                          "turned_wrong_share": 0.5, "accuracy_original": 1.0,
                                          "accuracy_transformed": 0.5}
    miss = out["edits_miss_top_words"]
    assert (miss["reviews"], miss["right_on_original"], miss["turned_wrong"]) == (2, 1, 0)
    assert 0 < out["fisher_exact_p"] <= 1
    assert mechanism.word_spans(["ab", " ", "c"]) == [(0, 2), (2, 3), (3, 4)]
