"""The validity audit tool (study/audit_transform.py) on a small sample, and the committed audit against its summary."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PROJECT_DIR, offline_env, write_parquet

sys.path.insert(0, str(PROJECT_DIR / "study"))
import audit_transform  # noqa: E402

AUDIT_DIR = PROJECT_DIR / "results" / "audit"
REVIEWS = [
    "This movie was awful and the writer should be ashamed. Nothing worked at all.<br /><br />The acting "
    "was wooden, the dialogue was dreadful and the soundtrack was forgettable. Avoid it.",
    "A superb movie about kids growing up. Eventually everything falls into place.<br /><br />"
    "Wonderful performances throughout, and the photography is beautiful. Recommended.",
]


@pytest.fixture(scope="module")
def small_imdb(tmp_path_factory) -> Path:
    rows = [{"text": f"{REVIEWS[i % 2]} Review number {i}.", "label": i % 2} for i in range(40)]
    return write_parquet(tmp_path_factory.mktemp("audit") / "imdb", {"train": rows, "test": rows[:4]})


def run_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(PROJECT_DIR / "study" / "audit_transform.py"), *args],
                          cwd=PROJECT_DIR, env=offline_env(), capture_output=True, text=True, timeout=300)


def test_sample_writes_edits_with_context_from_held_out_reviews(small_imdb, tmp_path):
    out = tmp_path / "edits.tsv"
    done = run_tool("sample", "--dataset", str(small_imdb), "--stages", "synonym", "typo", "distractor",
                    "--per_stage", "5", "--train_samples", "10", "--out", str(out))
    assert done.returncode == 0, done.stderr
    rows = audit_transform.read_tsv(out)
    assert [r["stage"] for r in rows] == ["synonym"] * 5 + ["typo"] * 5 + ["distractor"] * 5
    from pipeline.data import load_imdb, subset

    train = load_imdb(str(small_imdb), splits=("train",))["train"]
    used = {train[i]["text"] for i in range(len(train))} & set(subset(train, 10, 42)["text"])
    for row in rows:
        assert row["edit"].count("[[") == 1 and " -> " in row["edit"] and row["label"] in ("pos", "neg")
        assert all(row[k] == "" for k in audit_transform.JUDGEMENTS)
        index = int(row["note"].removeprefix("train[").removesuffix("]"))
        assert train[index]["text"] not in used  # never a review the calibration model trained on
    # unjudged rows are refused by summarize, with exit 2 and a one-line message
    done = run_tool("summarize", str(out))
    assert done.returncode == 2 and "not fully judged" in done.stderr


def test_sample_shows_a_reordering_stage_as_one_move_per_review(tmp_path):
    three = ("One of the warmest comedies I have seen in years.<br /><br />Mary Jones plays a baker in a small "
             "town.<br /><br />The supporting cast is lovely, especially the postman, and the jokes land well.")
    rows = [{"text": f"{three} Review {i}.", "label": i % 2} for i in range(12)]
    imdb = write_parquet(tmp_path / "imdb", {"train": rows, "test": rows[:2]})
    out = tmp_path / "moves.tsv"
    done = run_tool("sample", "--dataset", str(imdb), "--stages", "opening_last", "--per_stage", "3",
                    "--train_samples", "4", "--out", str(out))
    assert done.returncode == 0, done.stderr
    moves = audit_transform.read_tsv(out)
    assert len(moves) == 3
    for row in moves:
        assert row["edit"].startswith("OPENS NOW: Mary Jones plays a baker")
        assert "ENDS NOW: ...The supporting cast" in row["edit"]
        assert row["edit"].endswith("¶ [[One of the warmest comedies I have seen in years.]]")


def test_summary_rates_follow_the_judgements(tmp_path):
    rows = [{"id": f"s-{k}", "stage": "s", "strength": "0.5", "label": "pos", "edit": "x", "note": "",
             "same_label": "y", "fluent": "n" if k < 2 else "y", "same_meaning": "n" if k == 0 else "y"}
            for k in range(10)]
    summary = audit_transform.summarize(rows)
    s = summary["per_stage"]["s"]
    assert (s["judged"], s["invalid"], s["not_fluent"], s["not_same_meaning"]) == (10, 2, 2, 1)
    assert s["invalid_rate"] == 0.2 == summary["max_invalid_rate"]


def committed_audit(judged_name: str, summary_name: str) -> tuple[list[dict], dict]:
    """A committed judged file and its summary, after checking that the summary is the one computed from it."""
    judged = AUDIT_DIR / judged_name
    claimed = json.loads((AUDIT_DIR / summary_name).read_text())
    rows = audit_transform.read_tsv(judged)
    assert claimed["judged_file_sha256"] == hashlib.sha256(judged.read_bytes()).hexdigest()
    assert audit_transform.summarize(rows)["per_stage"] == claimed["per_stage"]
    return rows, claimed


def readme_text() -> str:
    return " ".join((PROJECT_DIR / "README.md").read_text(encoding="utf-8").split())


def committed_reviews(judged_name: str, summary_name: str) -> tuple[list[dict], dict]:
    """A committed whole-review reading and its summary, after checking that the summary is computed from it."""
    judged = AUDIT_DIR / judged_name
    claimed = json.loads((AUDIT_DIR / summary_name).read_text())
    rows = audit_transform.read_tsv(judged)
    assert claimed["judged_file_sha256"] == hashlib.sha256(judged.read_bytes()).hexdigest()
    assert {k: v for k, v in audit_transform.summarize(rows).items()} == \
        {k: v for k, v in claimed.items() if k not in ("judged_file", "judged_file_sha256")}
    return rows, claimed


def test_committed_opinion_audit_passes_for_every_stage_of_custom_transform_and_the_readme_says_so():
    """Round 3 of the opinion-word stages (RUBRIC.md): >= 100 edits per stage, each <= 10% invalid."""
    import utils

    rows, claimed = committed_audit("opinion_judged.tsv", "opinion_summary.json")
    assert all(r["note"].startswith("train[") for r in rows)
    readme = readme_text()
    for name, _ in utils.CUSTOM_STAGES:
        stage = claimed["per_stage"][name]
        assert stage["judged"] >= 100 and stage["invalid_rate"] <= 0.10 and stage["not_same_label"] == 0, name
        assert f"`{name}`: {stage['invalid']} of {stage['judged']} invalid" in readme, name
    # the first round failed and was changed, not re-judged: its file says so
    _, first = committed_audit("opinion_round1_judged.tsv", "opinion_round1_summary.json")
    assert first["max_invalid_rate"] > 0.10


def test_committed_whole_review_reading_keeps_every_label_and_half_read_real():
    rows, claimed = committed_reviews("opinion_reviews_judged.tsv", "opinion_reviews_summary.json")
    import utils

    strengths = {f"{n}={s}" for n, s in utils.CUSTOM_STAGES}
    assert claimed["reviews"] == len(rows) == 30 and claimed["all_keep_label"]
    assert claimed["reads_real"] * 2 >= claimed["reviews"]
    assert all(strengths <= set(r["note"].split(" | ")[0].split()[2:]) for r in rows)  # read at the shipped strengths
    assert f"{claimed['same_label']} of 30 keep their label, {claimed['reads_real']} of 30 read like a real post" \
        in readme_text()
    for strength in ("0.25", "0.5", "1.0"):
        rows, frontier = committed_reviews(f"frontier_reviews_{strength}_judged.tsv",
                                           f"frontier_reviews_{strength}_summary.json")
        assert frontier["reviews"] == 10 and frontier["all_keep_label"]
        assert all(f"opinion_typo={strength}" in r["note"] for r in rows)


def test_committed_first_audit_of_the_earlier_stages_matches_its_summary():
    """The earlier custom_transform's audit (synonym, typo, asides): kept as history; the asides failed it."""
    rows, claimed = committed_audit("judged.tsv", "summary.json")
    assert len(rows) >= 200 and claimed["per_stage"]["distractor"]["invalid_rate"] > 0.10
    import utils

    assert "distractor" not in dict(utils.CUSTOM_STAGES)


def test_committed_opening_last_audit_matches_its_summary():
    """The opinion-position stage tried for issue #11: judged, and failing the bar, so not in custom_transform."""
    rows, claimed = committed_audit("opening_last_judged.tsv", "opening_last_summary.json")
    stage = claimed["per_stage"]["opening_last"]
    assert stage["judged"] == len(rows) >= 50 and all(r["note"].startswith("train[") for r in rows)
    import utils

    assert stage["invalid_rate"] > 0.10 and "opening_last" not in dict(utils.CUSTOM_STAGES)


def test_committed_wordnet_baseline_audit_matches_its_summary_and_the_readme():
    """The unrestricted WordNet baseline (never used): its judged file, its summary and the README's figure agree."""
    rows, claimed = committed_audit("wordnet_any_sense_judged.tsv", "wordnet_any_sense_summary.json")
    stage = claimed["per_stage"]["wordnet_any_sense"]
    assert stage["judged"] == len(rows) >= 50 and stage["strength"] == audit_transform.BASELINE_STAGES[
        "wordnet_any_sense"][1]
    readme = " ".join((PROJECT_DIR / "README.md").read_text(encoding="utf-8").split())
    assert (f"made {stage['invalid']} of {stage['judged']} audited edits invalid ({stage['invalid_rate']:.0%}, "
            f"`results/audit/wordnet_any_sense_summary.json`)") in readme


def test_wordnet_any_sense_replaces_a_content_word_with_another_lemma_of_one_of_its_senses():
    import random

    from nltk.corpus import wordnet

    import utils

    tokens = utils.tokenize("The movie was great. Not a single Movie scene bored me.")
    before = list(tokens)
    audit_transform.wordnet_any_sense(tokens, random.Random(0), 1.0)
    changed = [(old, new) for old, new in zip(before, tokens) if old != new]
    # the content words of >= 4 letters, lower-case ones only: "movie", "great", "single", "scene", "bored"
    assert [old for old, _ in changed] == ["movie", "great", "single", "scene", "bored"]
    for old, new in changed:
        senses = {lemma.name().replace("_", " ") for synset in wordnet.synsets(old) for lemma in synset.lemmas()}
        assert new in senses and new.lower() != old
    unchanged = list(before)
    audit_transform.wordnet_any_sense(unchanged, random.Random(0), 0.0)
    assert unchanged == before


def test_committed_verdict_aside_audit_passes_and_the_readme_says_so():
    """The candidate to replace the asides: judged on a fresh sample by the round-3 rule, under the 10% bar."""
    rows, claimed = committed_audit("verdict_aside_judged.tsv", "verdict_aside_summary.json")
    stage = claimed["per_stage"]["verdict_aside"]
    assert stage["judged"] == len(rows) >= 50 and stage["invalid_rate"] <= 0.10
    import utils

    assert stage["strength"] == utils.TRANSFORMS["verdict_aside"][1]
    assert "verdict_aside" not in dict(utils.CUSTOM_STAGES)  # a candidate until the results are made again
    readme = " ".join((PROJECT_DIR / "README.md").read_text(encoding="utf-8").split())
    assert f"passes: {stage['invalid']} of {stage['judged']} invalid on a fresh sample " \
           f"(`results/audit/verdict_aside_summary.json`)" in readme


def test_readme_examples_are_judged_valid_edits():
    """The three before/after examples in README.md's Transformations section are rows of the audit, judged valid."""
    import re

    rows = {r["id"]: r for r in audit_transform.read_tsv(AUDIT_DIR / "opinion_judged.tsv")}
    readme = readme_text()
    for row_id in ("opinion_synonym-001", "opinion_typo-004", "opinion_typo-006"):
        row = rows[row_id]
        assert all(row[k] == "y" for k in audit_transform.JUDGEMENTS), row_id
        old, new = re.search(r"\[\[(.+?) -> (.+?)\]\]", row["edit"]).groups()
        assert f"**{old}** → **{new}**" in readme, row_id
