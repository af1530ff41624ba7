"""The frontier's bounds (study/frontier_reference.py): the negated-opposite edits on golden cases, the deletion
ceiling, and the committed records they wrote (same reviews and checkpoint as the calibration)."""

from __future__ import annotations

import json
import random
import sys

import pytest

from conftest import PROJECT_DIR

sys.path.insert(0, str(PROJECT_DIR / "study"))
import frontier_reference as frontier  # noqa: E402
import utils  # noqa: E402

RESULTS = PROJECT_DIR / "results"

# text, wide, expected: a reviewed pair only after "is"/"was" at a clause's end; every use only with wide
NEGATED_GOLDENS = [
    ("The plot was boring.", False, {"The plot was not interesting at all.", "The plot was anything but interesting."}),
    ("The acting was really good!", False, {"The acting was not bad at all!", "The acting was anything but bad!"}),
    ("It was not boring.", False, {"It was not boring."}),          # already negated: left alone
    ("It wasn't boring, though.", True, {"It wasn't boring, though."}),
    ("A boring film.", False, {"A boring film."}),                  # before a noun: only at every use
    ("It was an excellent film.", True, {"It was a far from bad film.", "It was a not very bad film."}),
    ("It is a great fan favourite.", True, {"It is a great fan favourite."}),  # "great" not judging the film
    ("The story was great.", False, {"The story was great."}),      # a strong word: only at every use
]


@pytest.mark.parametrize("text, wide, expected", NEGATED_GOLDENS)
def test_negated_opposites_golden_cases(text, wide, expected):
    tokens = utils.tokenize(text)
    frontier.negated_opposites(tokens, random.Random(0), 1.0, wide=wide)
    assert "".join(tokens) in expected


def test_negated_opposites_at_strength_zero_and_deletion_touch_what_they_should():
    tokens = utils.tokenize("The plot was boring.")
    frontier.negated_opposites(tokens, random.Random(0), 0.0)
    assert "".join(tokens) == "The plot was boring."
    tokens = utils.tokenize("A great movie, truly awful ending. The cast was fine.")
    frontier.opinion_words_deleted(tokens, random.Random(0), 1.0)
    assert "".join(tokens) == "A  movie, truly  ending. The cast was fine."
    assert frontier.changed_words("It was boring.", "It was not interesting at all.") == 1
    assert frontier.changed_words("A great movie.", "A  movie.") == 1


def test_family_option_names_its_results_file_and_keeps_the_calibration_options():
    options = frontier.parse_options(["--family", "negated", "--checkpoint", "c", "--model_name", "m"])
    assert (options.family, options.results, options.validation_samples) == \
        ("negated", "results/frontier_negated.json", 1000)
    assert frontier.parse_options(["--checkpoint", "c", "--model_name", "m"]).results == \
        "results/frontier_reference.json"
    with pytest.raises(SystemExit):
        frontier.parse_options(["--family", "typos", "--checkpoint", "c", "--model_name", "m"])


def test_committed_bounds_use_the_calibration_reviews_and_reproduce_its_checkpoint():
    """At step 1,800 the records were measured on the calibration's held-out reviews with a checkpoint that gives the
    calibration's own figures again (custom_transform at the chosen strength, the same accuracy); at step 3,000 on
    all 1,000 reviews that checkpoint had not seen (125 batches of 8)."""
    calibration = json.loads((RESULTS / "calibration_transform.json").read_text())
    records = {name: json.loads((RESULTS / f"frontier_{name}.json").read_text())
               for name in ("deleted", "negated", "deleted_step3000", "negated_step3000")}
    for name, record in records.items():
        assert record["provenance"]["git_commit"]
        if name.endswith("step3000"):
            assert record["checkpoint"] == "step-3000" and len(record["validation_rows"]) == (3125 - 3000) * 8
        else:
            assert record["checkpoint"] == "step-1800"
            assert record["validation_rows"] == calibration["validation_rows"]
            assert record["validation_accuracy_original"] == calibration["validation_accuracy_original"]
    points = {p["edits"]: p for p in records["negated"]["points"]}
    assert points["custom_transform"]["accuracy"] == calibration["chosen"]["accuracy"]
    # what the README and the report say: every edit that keeps the opinion's strength stays far under the deletion
    for step in ("", "_step3000"):
        ceiling = records[f"deleted{step}"]["points"][0]["drop_points"]
        drops = {p["edits"]: p["drop_points"] for p in records[f"negated{step}"]["points"]}
        assert drops["negated opposites, then custom_transform"] < ceiling / 2
