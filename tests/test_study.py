"""The study's runner, as the tests use it: --quick on a tiny model, tiny IMDB and a tiny CAD folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import PROJECT_DIR, offline_env, synthetic_reviews

SIDES = {"orig": 0, "new": 1}


def write_cad(folder: Path) -> Path:
    """CAD's layout: orig/ and new/ with train.tsv and test.tsv, 'Sentiment<TAB>Text', revisions flip the label."""
    for side in SIDES:
        (folder / side).mkdir(parents=True)
        for split, n in (("train", 12), ("test", 10)):
            rows = synthetic_reviews(n, seed=7 if split == "train" else 8)
            lines = ["Sentiment\tText"]
            for row in rows:
                label = row["label"] if side == "orig" else 1 - row["label"]
                text = row["text"] if side == "orig" else row["text"].replace("good", "bad")
                lines.append(f"{'Positive' if label else 'Negative'}\t{text}")
            (folder / side / f"{split}.tsv").write_text("\n".join(lines) + "\n")
    return folder


def run_study(args, cwd):
    return subprocess.run([sys.executable, str(PROJECT_DIR / "study" / "run_study.py"), *map(str, args)],
                          cwd=cwd, env=offline_env(), capture_output=True, text=True, timeout=900)


def test_quick_study_writes_every_result_with_provenance_and_resumes(tiny_model, tiny_data, tmp_path):
    cad = write_cad(tmp_path / "cad")
    results = tmp_path / "results"
    args = ["--quick", "--model_name", tiny_model, "--dataset", tiny_data, "--cad", cad, "--results", results]
    first = run_study(args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]

    config = json.loads((results / "config.json").read_text())
    assert config["quick"] and config["seeds"] == [0] and config["custom_transform_stages"]
    runs = {p.parent.name: [] for p in (results / "runs").glob("*/*.json")}
    for path in (results / "runs").glob("*/*.json"):
        runs[path.parent.name].append(path.stem)
    assert set(runs) == {"minilm-original-seed0", "minilm-augmented-seed0", "minilm-duplicated-seed0",
                         "minilm-cad-seed0", "tfidf-original-seed0", "tfidf-augmented-seed0", "tfidf-cad-seed0"}
    assert set(runs["minilm-duplicated-seed0"]) == {"original", "custom_transform"}
    assert set(runs["minilm-original-seed0"]) == set(config["eval_sets"])  # seed 0: every evaluation set
    assert {"original", "custom_transform", "cad-orig", "cad-new"} <= set(runs["minilm-cad-seed0"])

    for path in (results / "runs").glob("*/*.json"):
        record = json.loads(path.read_text())
        assert record["eval_id"] == path.stem and record["model_id"] == path.parent.name
        assert len(record["predictions"]) == len(record["labels"]) == record["examples"]
        assert record["correct"] == sum(p == y for p, y in zip(record["predictions"], record["labels"]))
        expected = 10 if record["eval_id"].startswith("cad") else 32
        assert record["examples"] == expected and record["provenance"]["git_commit"]
    original = json.loads((results / "runs/minilm-original-seed0/original.json").read_text())
    typo = json.loads((results / "runs/minilm-original-seed0/typo.json").read_text())
    assert original["labels"] == typo["labels"]  # transformed sets pair up example by example
    assert typo["eval_set"] == {"source": "imdb-test", "transform": "typo", "strength": 0.1, "examples": 32}
    # Each model's training record says what it was trained on (from the data it received, not from flags).
    trained_on = {model_id: json.loads((results / "runs" / model_id / "original.json").read_text())["training"]
                  for model_id in ("minilm-original-seed0", "minilm-augmented-seed0", "minilm-cad-seed0")}
    assert trained_on["minilm-original-seed0"]["train_examples"] == 64
    assert not trained_on["minilm-original-seed0"]["augmented"] and not trained_on["minilm-original-seed0"]["cad_pairs"]
    assert trained_on["minilm-augmented-seed0"]["augmented"] and trained_on["minilm-augmented-seed0"]["augment_size"]
    assert trained_on["minilm-augmented-seed0"]["transform"] == "custom_transform"
    control = json.loads((results / "runs/minilm-duplicated-seed0/original.json").read_text())["training"]
    # the control: the same number of added reviews, untransformed, so the same step count as the augmented model
    augmented = trained_on["minilm-augmented-seed0"]
    assert control["transform"] is None and control["augment_size"] == augmented["augment_size"]
    assert control["optimizer_steps"] == augmented["optimizer_steps"]
    cad_record = trained_on["minilm-cad-seed0"]
    assert cad_record["cad_pairs"] == 8 and cad_record["train_examples"] == 64 + 16 and not cad_record["augmented"]

    stamps = {p: p.stat().st_mtime_ns for p in (results / "runs").glob("*/*.json")}
    again = run_study(args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # nothing recomputed
    assert "Running training" not in again.stdout


def test_missing_cad_folder_is_a_clear_error(tiny_model, tiny_data, tmp_path):
    result = run_study(["--quick", "--model_name", tiny_model, "--dataset", tiny_data, "--cad", tmp_path / "nope",
                        "--results", tmp_path / "results"], cwd=tmp_path)
    assert result.returncode == 2
    assert "orig/ and new/" in result.stderr and "Traceback" not in result.stderr


def test_tfidf_full_scale_writes_main_py_formats_that_the_report_reads_only_at_full_scale(tiny_data, tmp_path):
    sys.path.insert(0, str(PROJECT_DIR / "report"))
    import make_assets
    from pipeline.results import read_predictions

    results = tmp_path / "full_scale"
    done = subprocess.run([sys.executable, str(PROJECT_DIR / "study" / "tfidf_full_scale.py"), "--dataset",
                           str(tiny_data), "--results", str(results)],
                          cwd=tmp_path, env=offline_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    for eval_set in ("original", "transformed"):
        record = json.loads((results / f"tfidf_{eval_set}.json").read_text())
        predictions, labels = read_predictions(results / f"tfidf_{eval_set}.txt")
        assert len(labels) == record["examples"] == 120 and record["training"]["train_examples"] == 400
        assert record["correct"] == sum(p == y for p, y in zip(predictions, labels))
        assert record["accuracy"] == record["correct"] / 120 > 0.8  # the synthetic reviews' words decide the label
        assert record["transform"] == (None if eval_set == "original" else "custom_transform")
        assert record["data_seed"] == 42 and record["provenance"]["git_commit"]
    # 400 training reviews are no full-scale run: the report's table leaves them out
    assert make_assets.load_full_scale(results, models=("tfidf",)) == {}
    # an unwritable results folder is a clear error
    blocked = tmp_path / "file"
    blocked.write_text("")
    done = subprocess.run([sys.executable, str(PROJECT_DIR / "study" / "tfidf_full_scale.py"), "--dataset",
                           str(tiny_data), "--results", str(blocked / "x")],
                          cwd=tmp_path, env=offline_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 2 and "--results" in done.stderr
