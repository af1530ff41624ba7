"""README.md's full-scale figures are the committed results files' figures (the README is written by hand, so a
rerun that changes a file must change the README too)."""

import json
import re
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def full_scale_paragraph() -> str:
    text = (PROJECT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"\*\*Full scale\.\*\*(.*?)\n\n", text, re.S)
    assert match, "README.md lost its **Full scale.** paragraph"
    return " ".join(match.group(1).split())


def test_readme_full_scale_accuracies_and_times_match_out():
    paragraph = full_scale_paragraph()
    named = sorted(set(re.findall(r"out/(out_[a-z_]+\.json)", paragraph)))
    assert len(named) == 6, named  # four assignment files and the two head+tail ones
    for name in named:
        record = json.loads((PROJECT / "out" / name).read_text())
        assert record["examples"] == 25000 and record["training"]["train_examples"] in (25000, 30000), name
        assert f"{record['accuracy']:g}" in paragraph, f"README.md: {name} says accuracy {record['accuracy']:g}"
    for model in ("out_augmented", "out_head_tail"):
        seconds = json.loads((PROJECT / "out" / f"{model}_original.json").read_text())["training"]["train_seconds"]
        assert f"{seconds:g} s" in paragraph or f"{seconds:g}," in paragraph, f"README.md: {model} {seconds:g} s"


def test_readme_head_tail_truncated_accuracies_match_error_analyses():
    paragraph = full_scale_paragraph()
    folder = PROJECT / "results" / "full_scale"
    for name in ("errors_out_head_tail.json", "errors_out.json"):
        truncated = json.loads((folder / name).read_text())["by_length"]["truncated"]
        assert f"{truncated['reviews']:,} test reviews" in paragraph
        assert f"{truncated['accuracy_original']:.3f}" in paragraph, name


def test_readme_tfidf_full_scale_accuracies_match_its_records():
    paragraph = full_scale_paragraph()
    for eval_set in ("original", "transformed"):
        record = json.loads((PROJECT / "results" / "full_scale" / f"tfidf_{eval_set}.json").read_text())
        assert f"{record['accuracy']:g}" in paragraph, f"README.md: TF-IDF {eval_set} {record['accuracy']:g}"
