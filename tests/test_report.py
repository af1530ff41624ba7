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
DEVICE = "cpu: x86_64, 2 cores, torch 2.13.0+cpu & 100% #1_fake ~ok"


# --------------------------------------------------------------------------- fake results

def write_fake_results(root: Path, n: int = 300, n_cad: int = 120, seed: int = 0) -> Path:
    """A results tree shaped like study/run_study.py's, with some cells deliberately missing.

    minilm-original / -augmented: 3 seeds on original + custom_transform; per-transform,
    sweep and CAD evals for seed 0 only.  minilm-cad: seed 0, original/custom/CAD.
    tfidf-original: original, custom, CAD; tfidf-augmented: original only (-> dashes).
    """
    rng = np.random.default_rng(seed)
    labels = {"imdb": rng.integers(0, 2, n), "cad-test-orig": rng.integers(0, 2, n_cad)}
    labels["cad-test-new"] = 1 - labels["cad-test-orig"]
    hardness = {"imdb": rng.random(n), "cad-test-orig": rng.random(n_cad), "cad-test-new": rng.random(n_cad)}
    base_acc = {"minilm-original": 0.88, "minilm-augmented": 0.87, "minilm-cad": 0.86,
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
        drop = eval_drop[eval_id] * (0.4 if train_data != "original" and eval_id != "original" else 1.0)
        acc = base_acc[family] - drop
        noise = np.random.default_rng(hash((family, s, eval_id)) % 2**32).random(y.size) * 0.15
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
            "training": {"train_examples": 2000 + (400 if train_data == "augmented" else 0), "num_epochs": 1,
                         "learning_rate": 1e-4, "batch_size": 16, "max_length": 256,
                         "train_seconds": 400.0 + 10 * s + (80 if train_data == "augmented" else 0),
                         "augment_size": 400 if train_data == "augmented" else 0,
                         "transform": "custom_transform" if train_data == "augmented" else None},
            "provenance": {"git_commit": "0123456789abcdef", "device": DEVICE, "finished_at": "2024-01-01T00:00:00"},
        }
        path = root / "runs" / rec["model_id"] / f"{eval_id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rec))

    per_transform = list(TRANSFORMS) + [f"{t}@{x}" for t, xs in SWEEPS.items() for x in xs]
    for family in ("minilm-original", "minilm-augmented"):
        for s in (0, 1, 2):
            for e in ("original", "custom_transform"):
                write(family, s, e)
        for e in per_transform + ["cad-orig", "cad-new"]:
            write(family, 0, e)
    for e in ("original", "custom_transform", "cad-orig", "cad-new"):
        write("minilm-cad", 0, e)
        write("tfidf-original", 0, e)
    write("tfidf-augmented", 0, "original")
    config = {"model": "all-MiniLM-L6-v2", "seeds": [0, 1, 2], "hardware": DEVICE,
              "transformations": {**{t: {"default_strength": v} for t, v in TRANSFORMS.items()},
                                  "custom_transform": {"default_strength": None}},
              "sweeps": SWEEPS, "cad_pairs": 500, "augment_size": 400,
              "custom_transform_stages": [["synonym", 0.75], ["typo", 0.25], ["distractor", 0.25]]}
    (root / "config.json").write_text(json.dumps(config))
    calibration = {"rule": "smallest scale whose validation drop is >= 5.0 points",
                   "validation": "1000 IMDB training reviews outside the 2000-review training subset (seed 43)",
                   "chosen": {"scale": 2.5, "drop_points": 6.8}}
    (root.parent / "calibration_custom_transform.json").write_text(json.dumps(calibration))
    return root


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


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    base = tmp_path_factory.mktemp("study")
    results = write_fake_results(base / "results")
    out = base / "generated"
    summary = make_assets.build(results, out, base / "summary.json", figures=True)
    return {"results": results, "out": out, "summary": summary, "macros": parse_macros(out / "macros.tex"),
            "runs": load(results), "summary_file": base / "summary.json"}


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
    assert (lo, hi) != make_assets.bootstrap_ci(v, seed=8)
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


def test_drop_gain_and_pvalue_macros_equal_values_computed_from_files(fake):
    runs, macros = fake["runs"], fake["macros"]

    def acc(f, e, s):
        return direct_acc(runs[(f, e, s)])

    o, a = "minilm-original", "minilm-augmented"
    drop = np.mean([acc(o, "original", s) - acc(o, "custom_transform", s) for s in (0, 1, 2)])
    assert num(macros["DropCustom"]) == pytest.approx(100 * drop, abs=0.05 + 1e-9)
    assert macros["DropCustom"] == macros["DropOrigCustom"]
    drop_aug = np.mean([acc(a, "original", s) - acc(a, "custom_transform", s) for s in (0, 1, 2)])
    assert num(macros["DropCustomAug"]) == pytest.approx(100 * drop_aug, abs=0.05 + 1e-9)
    gain = np.mean([acc(a, "custom_transform", s) - acc(o, "custom_transform", s) for s in (0, 1, 2)])
    assert num(macros["GainCustom"]) == pytest.approx(100 * gain, abs=0.05 + 1e-9)
    gain_orig = np.mean([acc(a, "original", s) - acc(o, "original", s) for s in (0, 1, 2)])
    assert num(macros["GainOrig"]) == pytest.approx(100 * gain_orig, abs=0.05 + 1e-9)
    # per-transform drop uses only the seeds both sets have (seed 0), not a 3-seed mean
    d = acc(o, "original", 0) - acc(o, "typo", 0)
    assert num(macros["DropOrigTypo"]) == pytest.approx(100 * d, abs=0.05 + 1e-9)

    def correct(f, e, s):
        r = runs[(f, e, s)]
        return np.asarray(r["predictions"]) == np.asarray(r["labels"])

    p = hand_mcnemar_p(correct(o, "original", 0), correct(o, "custom_transform", 0))
    assert macros["McNemarP"] == make_assets.fmt_p(p)
    assert macros["McNemarPText"] == make_assets.fmt_p_text(p)
    b = int((correct(o, "original", 0) & ~correct(o, "custom_transform", 0)).sum())
    assert macros["McNemarB"] == str(b)
    sig = sum(hand_mcnemar_p(correct(o, "original", s), correct(o, "custom_transform", s)) < 0.05 for s in (0, 1, 2))
    assert macros["McNemarSigSeeds"] == str(sig)
    p_models = hand_mcnemar_p(correct(a, "custom_transform", 0), correct(o, "custom_transform", 0))
    assert macros["McNemarPModelsCustom"] == make_assets.fmt_p(p_models)
    # the worst single transformation is the one with the largest seed-0 drop
    drops = {t: acc(o, "original", 0) - acc(o, t, 0) for t in TRANSFORMS}
    worst = max(drops, key=drops.get)
    assert macros["WorstTransform"] == f"\\texttt{{{make_assets.tex_escape(worst)}}}"
    assert num(macros["WorstTransformDrop"]) == pytest.approx(100 * drops[worst], abs=0.05 + 1e-9)


def test_setup_macros_and_escaping(fake):
    m = fake["macros"]
    assert m["TrainExamples"] == "2000" and m["AugmentSize"] == "400" and m["AugTrainExamples"] == "2400" and m["AugRatio"] == "5"
    assert m["NumEpochs"] == "1" and m["BatchSize"] == "16" and m["MaxLength"] == "256"
    assert m["LearningRate"] == "$1\\times10^{-4}$"
    assert m["TrainMinutes"] == f"{np.mean([400, 410, 420]) / 60:.1f}"
    assert m["EvalExamples"] == "300" and m["CadNewExamples"] == "120"
    assert m["Hardware"] == "cpu: x86\\_64, 2 cores, torch 2.13.0+cpu \\& 100\\% \\#1\\_fake \\textasciitilde{}ok"
    assert m["ModelName"] == "all-\\allowbreak{}MiniLM-\\allowbreak{}L6-\\allowbreak{}v2" and m["GitCommit"] == "\\texttt{0123456}"
    assert m["SweepTypoStrengths"] == "0.02, 0.05, 0.1, 0.2" and m["StrengthCharNoise"] == "0.1"
    assert make_assets.fmt_lr(2e-5) == "$2\\times10^{-5}$" and make_assets.fmt_lr(5e-5) == "$5\\times10^{-5}$"
    assert make_assets.signed(-0.0123 * 100) == "$-$1.2" and make_assets.pct(-0.0004) == "0.0"


def test_every_macro_the_report_uses_is_required_and_provided(fake):
    tex = (REPORT / "report.tex").read_text()
    tex = re.sub(r"(?<!\\)%.*", "", tex)
    defined = set(fake["macros"])
    used = set(re.findall(r"\\([A-Za-z]+)", tex))
    generated_style = {u for u in used if re.match(r"(Acc|Drop|Gain|McNemar|Sweep|Strength|Train|Num|Cad|P[A-Z])", u)
                       or u in make_assets.REQUIRED_MACROS}
    assert generated_style, "report.tex uses no generated macros?"
    assert generated_style <= set(make_assets.REQUIRED_MACROS) | {"TrainMinutes", "TrainMinutesAug"}, \
        sorted(generated_style - set(make_assets.REQUIRED_MACROS))
    assert generated_style <= defined
    # with complete results nothing the text uses falls back to a dash
    assert fake["summary"]["missing_macros"] == []
    assert [k for k in make_assets.REQUIRED_MACROS if fake["macros"][k] == NA] == []
    # no digit typed by hand in the prose outside comments, citations, labels and the preamble
    body = tex.split("\\begin{document}", 1)[1]
    body = re.sub(r"\\(cite\w*|label|ref|input|includegraphics|bibliography\w*|"
                  r"begin|end|cmidrule|setlength|hspace|vspace)\*?(\[[^\]]*\])*\{[^}]*\}", "", body)
    body = re.sub(r"\\url\{[^}]*\}|\\texttt\{[^}]*\}|\\chi\^2", "", body)
    assert re.findall(r"\d+(?:\.\d+)?", body) == [], "numbers typed by hand in report.tex"


def test_tables_contain_the_right_numbers(fake):
    out, runs, cells = fake["out"], fake["runs"], fake["summary"]["cells"]
    headline = (out / "tables" / "headline.tex").read_text()
    assert "\\toprule" in headline and "\\bottomrule" in headline
    for fam in ("minilm-original", "minilm-augmented"):
        accs = [direct_acc(runs[(fam, "custom_transform", s)]) for s in (0, 1, 2)]
        expect = f"{make_assets.pct(np.mean(accs))}\\,$\\pm$\\,{100 * np.std(accs, ddof=1):.1f}"
        line = next(l for l in headline.splitlines() if l.startswith(make_assets.family_label(
            make_assets.Study(make_assets.load_runs(fake["results"]), {}), fam)))
        assert expect in line
    tfidf_aug = next(l for l in headline.splitlines() if "TF-IDF+LR aug." in l)
    assert tfidf_aug.count(NA) == 2  # no transformed evaluation for it -> dashes
    transforms = (out / "tables" / "transforms.tex").read_text()
    for t in TRANSFORMS:
        line = next(l for l in transforms.splitlines() if l.startswith(f"\\texttt{{{make_assets.tex_escape(t)}}}"))
        acc = direct_acc(runs[("minilm-original", t, 0)])
        assert f" & {make_assets.pct(acc)} & " in line
        assert f"({TRANSFORMS[t]:g})" in line
    cad = (out / "tables" / "cad.tex").read_text()
    line = next(l for l in cad.splitlines() if l.startswith("TF-IDF+LR orig."))
    assert make_assets.pct(direct_acc(runs[("tfidf-original", "cad-new", 0)])) in line
    assert "TF-IDF+LR aug." not in cad  # no CAD evaluation for it
    assert cells["minilm-cad/cad-new"]["n_seeds"] == 1


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
    assert summary["sweeps"]["typo"][-1]["strength"] == 0.2
    d = summary["differences"]["drop:minilm-original/custom_transform"]
    assert d["paired"] and d["seeds"] == [0, 1, 2] and d["ci95"][0] <= d["mean"] <= d["ci95"][1]


def test_figure_is_vector_pdf_with_embedded_truetype_fonts(fake):
    pdf = fake["out"] / "figures" / "strength_sweep.pdf"
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and b"/FontFile2" in data and b"/Type3" not in data
    box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert box and float(box.group(1)) == pytest.approx(7.7 / 2.54 * 72, abs=1)


def test_assets_are_deterministic_and_cli_works(fake, tmp_path):
    proc = subprocess.run([sys.executable, str(REPORT / "make_assets.py"), "--results", str(fake["results"]),
                           "--out", str(tmp_path / "gen"), "--summary", str(tmp_path / "s.json"), "--no-figures"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for rel in ("macros.tex", "tables/headline.tex", "tables/transforms.tex", "tables/cad.tex"):
        assert (tmp_path / "gen" / rel).read_text() == (fake["out"] / rel).read_text(), rel
    missing = subprocess.run([sys.executable, str(REPORT / "make_assets.py"), "--results", str(tmp_path / "none")],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "run_study" in missing.stderr


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
    if not (results / "runs").is_dir():
        pytest.skip("no committed results/study/ yet")
    committed = REPORT / "generated" / "macros.tex"
    assert committed.exists(), "results/study/ is committed but report/generated/macros.tex is not: run make -C report"
    make_assets.build(results, tmp_path / "gen", tmp_path / "summary.json", figures=False)
    assert (tmp_path / "gen" / "macros.tex").read_text() == committed.read_text(), \
        "report/generated/ is stale: run `make -C report` and commit"
    for rel in ("tables/headline.tex", "tables/transforms.tex", "tables/cad.tex"):
        assert (tmp_path / "gen" / rel).read_text() == (REPORT / "generated" / rel).read_text(), rel


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
    assert limitations and references, "Limitations and References sections must both be present"
    assert limitations <= references
    assert 2 <= limitations <= 4, f"the paper body runs to page {limitations} (ACL short/long: 2-4 pages here)"
    assert "??" not in "".join(texts), "unresolved reference (??) in the PDF"
    assert "Maas" in "".join(texts[references - 1:]) and "Sanh" in "".join(texts[references - 1:])
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
    headline = (tmp_path / "gen" / "tables" / "headline.tex").read_text()
    assert "MiniLM orig." in headline and "aug." not in headline
    if all(shutil.which(t) for t in ("pdflatex", "bibtex", "pdfinfo", "pdffonts", "pdftotext")):
        build_pdf(tmp_path / "gen", tmp_path / "pdf")  # compiles with the dashes


def test_committed_generated_assets_build(tmp_path):
    if not (REPORT / "generated" / "macros.tex").exists():
        pytest.skip("report/generated/ not committed yet (waits for the real results)")
    need_tools("pdflatex", "bibtex", "pdfinfo", "pdffonts", "pdftotext")
    check_pdf(build_pdf(REPORT / "generated", tmp_path))


def test_calibration_and_custom_stages_come_from_the_files(fake):
    m = fake["macros"]
    assert (m["CustomSynonym"], m["CustomTypo"], m["CustomDistractor"]) == ("0.75", "0.25", "0.25")
    assert (m["CalibScale"], m["CalibDrop"], m["CalibTarget"], m["CalibExamples"]) == ("2.5", "6.8", "5.0", "1000")
