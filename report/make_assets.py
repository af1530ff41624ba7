#!/usr/bin/env python3
"""Turn the study's results files into everything the report prints.

    python report/make_assets.py                       # results/study -> report/generated
    python report/make_assets.py --results DIR --out DIR --summary FILE

Reads ``<results>/runs/<model_id>/<eval_id>.json`` (one file per trained model and
evaluation set, written by ``study/run_study.py``) and ``<results>/config.json``, and
writes

* ``<out>/macros.tex``      one ``\\newcommand`` per number the text uses (no number in
                            report.tex is typed by hand),
* ``<out>/tables/*.tex``    booktabs tabulars (captions live in report.tex),
* ``<out>/figures/*.pdf``   vector figures sized for a 7.7 cm ACL column (TrueType fonts),
* ``<summary>``             (default ``<results>/summary.json``) every aggregate computed here.

Statistics (numpy only):

* accuracy: mean and sample standard deviation (ddof=1) over training seeds;
* 95% confidence intervals: percentile bootstrap over test examples (2000 resamples,
  fixed seed) of the seed-averaged per-example correctness, paired when two
  accuracies are compared on the same examples;
* McNemar's test on the discordant pairs of two prediction vectors on the same
  examples (same model on original vs transformed reviews, or two models on the same
  set): exact two-sided binomial test when there are at most 25 discordant pairs,
  otherwise the chi-squared statistic with continuity correction (1 d.o.f.).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RESULTS = ROOT / "results" / "study"
DEFAULT_OUT = ROOT / "report" / "generated"

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20240601
CI_LEVEL = 0.95
EXACT_MAX_DISCORDANT = 25
ALPHA = 0.05

ORIGINAL = "original"
CUSTOM = "custom_transform"
CAD_EVALS = ("cad-orig", "cad-new")
BASELINE_PREFIX = "tfidf"
NA = "\\textendash{}"  # what a table cell / macro shows when the result does not exist

# Macros report.tex uses.  Any that the results cannot provide are still defined (as
# NA) so that the paper compiles, and make_assets prints a warning naming them.
REQUIRED_MACROS = """
ModelName BaselineName NumSeeds SeedList FirstSeed EvalExamples CustomExamples TrainExamples
AugmentSize AugTrainExamples AugRatio NumEpochs LearningRate BatchSize MaxLength TrainMinutes TrainMinutesAug
TotalTrainMinutes Hardware GitCommit Alpha NumTransforms BootstrapResamples CILevel ExactMaxDiscordant
AccOrigMean AccOrigStd AccOrigCILow AccOrigCIHigh AccOrigCustomMean AccOrigCustomStd
AccOrigCustomCILow AccOrigCustomCIHigh AccAugMean AccAugStd AccAugCILow AccAugCIHigh
AccAugCustomMean AccAugCustomStd AccAugCustomCILow AccAugCustomCIHigh
DropCustom DropCustomStd DropCustomCILow DropCustomCIHigh DropCustomAug DropCustomAugStd
DropCustomAugCILow DropCustomAugCIHigh
McNemarP McNemarPText McNemarB McNemarC McNemarTest McNemarSigSeeds
McNemarPAug McNemarPAugText McNemarSigSeedsAug
GainCustom GainCustomCILow GainCustomCIHigh McNemarPModelsCustomText
GainOrig GainOrigCILow GainOrigCIHigh McNemarPModelsOrigText
AccTfidfMean AccTfidfCustomMean DropCustomTfidf
WorstTransform WorstTransformDrop MildestTransform MildestTransformDrop
CustomSynonym CustomTypo CustomDistractor CalibScale CalibDrop CalibTarget CalibExamples
CadPairs CadTrainExamples CadOrigExamples CadNewExamples AccOrigCadOrigMean AccOrigCadNewMean AccCadTrainedCadNewMean
AccAugCadNewMean SweepSynonymMaxDrop SweepSynonymMaxStrength SweepTypoMaxAcc SweepTypoMaxAccAug
SweepTypoMaxDrop SweepTypoMaxStrength
AugTransform StrengthSynonym StrengthTypo StrengthCharNoise StrengthContraction StrengthSocial StrengthDistractor
""".split()


# --------------------------------------------------------------------------- statistics

def mcnemar(correct_a, correct_b, exact_max: int = EXACT_MAX_DISCORDANT) -> dict:
    """McNemar's test for paired correctness vectors (same examples, same order).

    b = examples A gets right and B gets wrong, c = the reverse.  With n = b + c <=
    ``exact_max`` the two-sided exact binomial p = min(1, 2 P[X <= min(b, c)]),
    X ~ Bin(n, 1/2); otherwise chi2 = (|b - c| - 1)^2 / n with 1 d.o.f.
    """
    a = np.asarray(correct_a, dtype=bool)
    bb = np.asarray(correct_b, dtype=bool)
    if a.shape != bb.shape:
        raise ValueError(f"McNemar needs paired vectors, got {a.shape} and {bb.shape}")
    b = int(np.sum(a & ~bb))
    c = int(np.sum(~a & bb))
    n = b + c
    if n == 0:
        return {"b": 0, "c": 0, "discordant": 0, "test": "none", "statistic": None, "p": 1.0}
    if n <= exact_max:
        tail = sum(math.comb(n, i) for i in range(min(b, c) + 1))
        p = min(1.0, 2 * tail / 2 ** n)
        return {"b": b, "c": c, "discordant": n, "test": "exact-binomial", "statistic": None, "p": p}
    chi2 = (abs(b - c) - 1) ** 2 / n
    p = math.erfc(math.sqrt(chi2 / 2))  # survival function of chi-squared with 1 d.o.f.
    return {"b": b, "c": c, "discordant": n, "test": "chi2-cc", "statistic": chi2, "p": p}


def bootstrap_ci(values, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                 level: float = CI_LEVEL) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of ``values`` (one number per test example)."""
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or v.size == 0:
        raise ValueError("bootstrap_ci needs a non-empty 1-D array")
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    chunk = max(1, 2_000_000 // v.size)
    for start in range(0, resamples, chunk):
        k = min(chunk, resamples - start)
        idx = rng.integers(0, v.size, size=(k, v.size))
        means[start:start + k] = v[idx].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def mean_std(xs) -> tuple[float, float | None]:
    xs = np.asarray(list(xs), dtype=float)
    return float(xs.mean()), (float(xs.std(ddof=1)) if xs.size > 1 else None)


# --------------------------------------------------------------------------- loading

@dataclass
class Run:
    model_id: str
    family: str
    prefix: str
    architecture: str
    train_data: str
    seed: int
    eval_id: str
    eval_set: dict
    predictions: np.ndarray
    labels: np.ndarray
    training: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)

    @property
    def correct(self) -> np.ndarray:
        return self.predictions == self.labels

    @property
    def accuracy(self) -> float:
        return float(self.correct.mean())


def load_runs(results: Path) -> list[Run]:
    files = sorted((results / "runs").glob("*/*.json"))
    if not files:
        raise SystemExit(f"make_assets: no results in {results / 'runs'} (run study/run_study.py first)")
    runs = []
    for path in files:
        rec = json.loads(path.read_text())
        preds = np.asarray(rec["predictions"], dtype=int)
        labels = np.asarray(rec["labels"], dtype=int)
        if preds.shape != labels.shape or preds.ndim != 1:
            raise SystemExit(f"make_assets: {path}: predictions and labels differ in length")
        n = int(rec.get("examples", preds.size))
        if n != preds.size:
            raise SystemExit(f"make_assets: {path}: examples={n} but {preds.size} predictions")
        acc = float((preds == labels).mean())
        if "accuracy" in rec and abs(acc - float(rec["accuracy"])) > 1e-9:
            raise SystemExit(f"make_assets: {path}: accuracy {rec['accuracy']} != {acc} recomputed from predictions")
        model_id = rec["model_id"]
        family = re.sub(r"-seed\d+$", "", model_id)
        runs.append(Run(model_id=model_id, family=family, prefix=family.split("-")[0],
                        architecture=rec.get("architecture", family.split("-")[0]),
                        train_data=rec.get("train_data", family.split("-", 1)[-1]),
                        seed=int(rec.get("seed", 0)), eval_id=rec["eval_id"],
                        eval_set=rec.get("eval_set") or {}, predictions=preds, labels=labels,
                        training=rec.get("training") or {}, provenance=rec.get("provenance") or {}))
    return runs


# --------------------------------------------------------------------------- aggregation

class Study:
    def __init__(self, runs: list[Run], config: dict):
        self.config = config
        self.runs = runs
        self.cells: dict[tuple[str, str], dict[int, Run]] = {}
        for r in runs:
            self.cells.setdefault((r.family, r.eval_id), {})[r.seed] = r
        prefixes = {}
        for r in runs:
            if r.prefix != BASELINE_PREFIX:
                prefixes[r.prefix] = prefixes.get(r.prefix, 0) + 1
        self.main = max(sorted(prefixes), key=prefixes.get) if prefixes else BASELINE_PREFIX
        self.families = sorted({r.family for r in runs}, key=self.family_order)
        self.evals = sorted({r.eval_id for r in runs})

    def family_order(self, fam: str):
        prefix, _, data = fam.partition("-")
        order = {"original": 0, "augmented": 1, "cad": 2}
        return (prefix != self.main, prefix, order.get(data, 9), data)

    def fam(self, train_data: str, prefix: str | None = None) -> str:
        return f"{prefix or self.main}-{train_data}"

    def seeds(self, family: str, eval_id: str) -> list[int]:
        return sorted(self.cells.get((family, eval_id), {}))

    def get(self, family: str, eval_id: str) -> dict[int, Run]:
        return self.cells.get((family, eval_id), {})

    # ----- one accuracy cell
    def cell(self, family: str, eval_id: str) -> dict | None:
        runs = self.get(family, eval_id)
        if not runs:
            return None
        seeds = sorted(runs)
        accs = [runs[s].accuracy for s in seeds]
        mean, std = mean_std(accs)
        labels0 = runs[seeds[0]].labels
        same = all(np.array_equal(runs[s].labels, labels0) for s in seeds)
        use = seeds if same else seeds[:1]
        per_example = np.mean([runs[s].correct for s in use], axis=0)
        lo, hi = bootstrap_ci(per_example)
        return {"family": family, "eval_id": eval_id, "seeds": seeds, "n_seeds": len(seeds),
                "accuracy_per_seed": {str(s): a for s, a in zip(seeds, accs)},
                "mean": mean, "std": std, "examples": int(labels0.size),
                "ci95": [lo, hi], "ci_seeds": use}

    # ----- paired difference of two cells on the same examples (first minus second)
    def paired(self, fam_a: str, eval_a: str, fam_b: str, eval_b: str) -> dict | None:
        ra, rb = self.get(fam_a, eval_a), self.get(fam_b, eval_b)
        common = sorted(set(ra) & set(rb))
        if not common:
            return None
        diffs = [ra[s].accuracy - rb[s].accuracy for s in common]
        mean, std = mean_std(diffs)
        out = {"a": [fam_a, eval_a], "b": [fam_b, eval_b], "seeds": common,
               "diff_per_seed": {str(s): d for s, d in zip(common, diffs)}, "mean": mean, "std": std,
               "paired": False, "ci95": None, "mcnemar": {}}
        if all(ra[s].labels.size == rb[s].labels.size and np.array_equal(ra[s].labels, rb[s].labels)
               for s in common):
            out["paired"] = True
            d = np.mean([ra[s].correct.astype(float) - rb[s].correct.astype(float) for s in common], axis=0)
            out["ci95"] = list(bootstrap_ci(d))
            out["mcnemar"] = {str(s): mcnemar(ra[s].correct, rb[s].correct) for s in common}
            out["mcnemar_first_seed"] = out["mcnemar"][str(common[0])]
            out["significant_seeds"] = sum(m["p"] < ALPHA for m in out["mcnemar"].values())
        return out

    def transform_evals(self) -> list[str]:
        """Transformations at their default strength, in the order config.json lists them."""
        names = set()
        for r in self.runs:
            src = r.eval_set.get("source", "imdb-test")
            if r.eval_id not in (ORIGINAL,) and "@" not in r.eval_id and src == "imdb-test":
                names.add(r.eval_id)
        listed = [n for n in config_transform_names(self.config) if n in names]
        rest = sorted(names - set(listed) - {CUSTOM})
        ordered = [n for n in listed if n != CUSTOM] + rest
        return ([CUSTOM] if CUSTOM in names else []) + ordered

    def sweeps(self) -> dict[str, list[tuple[float, str]]]:
        """{transform: [(strength, eval_id), ...]} for every 'name@strength' evaluation."""
        out: dict[str, dict[float, str]] = {}
        for r in self.runs:
            if "@" in r.eval_id:
                name, _, s = r.eval_id.partition("@")
                strength = r.eval_set.get("strength")
                out.setdefault(name, {})[float(strength if strength is not None else s)] = r.eval_id
        return {k: sorted(v.items()) for k, v in sorted(out.items())}


def config_transform_names(config: dict) -> list[str]:
    for key in ("transformations", "transforms", "transform_names"):
        v = config.get(key)
        if isinstance(v, dict):
            return list(v)
        if isinstance(v, list):
            return [x if isinstance(x, str) else x.get("name", "") for x in v]
    return []


# --------------------------------------------------------------------------- formatting

_TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                "<": r"\textless{}", ">": r"\textgreater{}"}


def tex_escape(s) -> str:
    return "".join(_TEX_ESCAPES.get(ch, ch) for ch in str(s))


def signed(x: float) -> str:
    s = f"{x:.1f}"
    if s in ("-0.0", "0.0"):
        return "0.0"
    return "$-$" + s[1:] if s.startswith("-") else s


def pct(x: float | None) -> str:
    return NA if x is None else signed(100 * x)


def fmt_p(p: float | None) -> str:
    if p is None:
        return NA
    if p < 0.001:
        return "$<$0.001"
    if p < 0.01:
        return f"{p:.3f}"
    return f"{p:.2f}"


def fmt_p_text(p: float | None) -> str:
    if p is None:
        return NA
    return "$p<0.001$" if p < 0.001 else f"$p={fmt_p(p)}$"


def fmt_lr(lr) -> str:
    if lr is None:
        return NA
    lr = float(lr)
    mant, exp = f"{lr:.1e}".split("e")
    mant = mant.rstrip("0").rstrip(".")
    return f"${mant}\\times10^{{{int(exp)}}}$"


def fmt_int(n) -> str:
    if n is None:
        return NA
    n = int(n)
    return f"{n:,}".replace(",", "{,}") if n >= 10_000 else str(n)


def fmt_strength(s) -> str:
    return NA if s is None else f"{float(s):g}"


def camel(name: str) -> str:
    """'char_noise' -> 'CharNoise', 'cad-orig' -> 'CadOrig'; digits are spelt out (macro names are letters)."""
    digits = "Zero One Two Three Four Five Six Seven Eight Nine".split()
    name = re.sub(r"\d", lambda m: "_" + digits[int(m.group())] + "_", name)
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z]+", name) if p)


def fam_key(study: Study, family: str) -> str:
    prefix, _, data = family.partition("-")
    data_key = {"original": "", "augmented": "Aug", "cad": "CadTrained"}.get(data, camel(data))
    if prefix == study.main:
        return data_key or "Orig"  # AccOrig..., AccAug..., AccCadTrained...
    return camel(prefix) + data_key  # AccTfidf..., AccTfidfAug...


def eval_key(eval_id: str) -> str:
    return "" if eval_id == ORIGINAL else ("Custom" if eval_id == CUSTOM else camel(eval_id))


def family_label(study: Study, family: str) -> str:
    prefix, _, data = family.partition("-")
    arch = "TF-IDF+LR" if prefix == BASELINE_PREFIX else short_arch(architecture_of(study, family))
    data_label = {"original": "orig.", "augmented": "aug.", "cad": "CAD"}.get(data, tex_escape(data))
    return f"{arch} {data_label}"


def short_arch(architecture: str) -> str:
    low = architecture.lower()
    for key, short in (("minilm", "MiniLM"), ("distilbert", "DistilBERT"), ("roberta", "RoBERTa"), ("bert", "BERT")):
        if key in low:
            return short
    return tex_escape(architecture)


def architecture_of(study: Study, family: str) -> str:
    for r in study.runs:
        if r.family == family:
            return r.architecture
    return family


def pm(cell: dict | None) -> str:
    if cell is None:
        return NA
    if cell["std"] is None:
        return pct(cell["mean"])
    return f"{pct(cell['mean'])}\\,$\\pm$\\,{100 * cell['std']:.1f}"


def pm_diff(d: dict | None) -> str:
    if d is None:
        return NA
    if d["std"] is None:
        return pct(d["mean"])
    return f"{pct(d['mean'])}\\,$\\pm$\\,{100 * d['std']:.1f}"


# --------------------------------------------------------------------------- building

def build(results: Path, out: Path, summary_path: Path | None = None, figures: bool = True) -> dict:
    config_path = results / "config.json"
    config = json.loads(config_path.read_text()) if config_path.exists() else {}
    study = Study(load_runs(results), config)
    macros: dict[str, str] = {}
    try:
        shown = str(results.resolve().relative_to(ROOT))
    except ValueError:
        shown = results.name
    summary: dict = {"results": shown, "main_prefix": study.main,
                     "statistics": {"bootstrap_resamples": BOOTSTRAP_RESAMPLES, "bootstrap_seed": BOOTSTRAP_SEED,
                                    "ci_level": CI_LEVEL, "std": "sample standard deviation (ddof=1) over seeds",
                                    "mcnemar": f"exact two-sided binomial when discordant <= {EXACT_MAX_DISCORDANT}, "
                                               "else chi-squared with continuity correction (1 d.o.f.)",
                                    "alpha": ALPHA},
                     "cells": {}, "differences": {}, "training": {}, "sweeps": {}}

    orig, aug, cadm = study.fam("original"), study.fam("augmented"), study.fam("cad")

    # ---- every accuracy cell (sweep cells too, in the summary only)
    cells = {}
    for (family, eval_id) in sorted(study.cells):
        c = study.cell(family, eval_id)
        cells[(family, eval_id)] = c
        summary["cells"][f"{family}/{eval_id}"] = c
        if "@" in eval_id:
            continue
        key = f"Acc{fam_key(study, family)}{eval_key(eval_id)}"
        macros[key + "Mean"] = pct(c["mean"])
        macros[key + "Std"] = NA if c["std"] is None else f"{100 * c['std']:.1f}"
        macros[key + "CILow"] = pct(c["ci95"][0])
        macros[key + "CIHigh"] = pct(c["ci95"][1])
        macros[key + "Seeds"] = str(c["n_seeds"])

    # ---- drops: original test minus each transformed test, same family, same seeds
    drops = {}
    for family in study.families:
        for eval_id in study.transform_evals() + [e for _, sw in study.sweeps().items() for _, e in sw]:
            d = study.paired(family, ORIGINAL, family, eval_id)
            if d is None:
                continue
            drops[(family, eval_id)] = d
            summary["differences"][f"drop:{family}/{eval_id}"] = d
            if "@" in eval_id:
                continue
            key = f"Drop{fam_key(study, family)}{eval_key(eval_id)}"
            macros[key] = pct(d["mean"])
            macros[key + "Std"] = NA if d["std"] is None else f"{100 * d['std']:.1f}"
            if d["paired"]:
                m = d["mcnemar_first_seed"]
                macros[key + "CILow"], macros[key + "CIHigh"] = pct(d["ci95"][0]), pct(d["ci95"][1])
                pk = f"P{fam_key(study, family)}{eval_key(eval_id)}"
                macros[pk] = fmt_p(m["p"])
                macros[pk + "Text"] = fmt_p_text(m["p"])
                macros[pk + "SigSeeds"] = str(d["significant_seeds"])

    # ---- model comparisons on the same evaluation set (augmented/CAD minus original)
    comps = {}
    for other in (aug, cadm, study.fam("augmented", BASELINE_PREFIX)):
        base = orig if other.startswith(study.main) else study.fam("original", BASELINE_PREFIX)
        for eval_id in study.evals:
            d = study.paired(other, eval_id, base, eval_id)
            if d is None:
                continue
            comps[(other, eval_id)] = d
            summary["differences"][f"gain:{other}-vs-{base}/{eval_id}"] = d

    # ---- headline aliases
    def alias(new: str, old: str):
        if old in macros:
            macros[new] = macros[old]

    alias("DropCustom", "DropOrigCustom")
    for suffix in ("Std", "CILow", "CIHigh"):
        alias("DropCustom" + suffix, "DropOrigCustom" + suffix)
        alias("DropCustomAug" + suffix, "DropAugCustom" + suffix)
    alias("DropCustomAug", "DropAugCustom")
    alias("DropCustomTfidf", "DropTfidfCustom")
    alias("McNemarP", "POrigCustom")
    alias("McNemarPText", "POrigCustomText")
    alias("McNemarSigSeeds", "POrigCustomSigSeeds")
    alias("McNemarPAug", "PAugCustom")
    alias("McNemarPAugText", "PAugCustomText")
    alias("McNemarSigSeedsAug", "PAugCustomSigSeeds")
    head = drops.get((orig, CUSTOM))
    if head and head["paired"]:
        m = head["mcnemar_first_seed"]
        macros["McNemarB"], macros["McNemarC"] = str(m["b"]), str(m["c"])
        macros["McNemarTest"] = ("an exact two-sided binomial test" if m["test"] == "exact-binomial"
                                 else "the $\\chi^2$ statistic with continuity correction")
    for name, eval_id in (("Custom", CUSTOM), ("Orig", ORIGINAL)):
        g = comps.get((aug, eval_id))
        if g is None:
            continue
        macros[f"Gain{name}"] = pct(g["mean"])
        if g["paired"]:
            macros[f"Gain{name}CILow"], macros[f"Gain{name}CIHigh"] = pct(g["ci95"][0]), pct(g["ci95"][1])
            m = g["mcnemar_first_seed"]
            macros[f"McNemarPModels{name}"] = fmt_p(m["p"])
            macros[f"McNemarPModels{name}Text"] = fmt_p_text(m["p"])
            macros[f"McNemarModels{name}SigSeeds"] = str(g["significant_seeds"])
    for eval_id in CAD_EVALS:
        g = comps.get((cadm, eval_id))
        if g is not None:
            macros[f"GainCadTrained{eval_key(eval_id)}"] = pct(g["mean"])
    for eval_id in CAD_EVALS:
        c = cells.get((orig, eval_id))
        if c:
            macros[f"{camel(eval_id)}Examples"] = fmt_int(c["examples"])
    if (orig, "cad-orig") in cells and (orig, "cad-new") in cells:
        macros["CadGapOrig"] = pct(cells[(orig, "cad-orig")]["mean"] - cells[(orig, "cad-new")]["mean"])

    # ---- per-transformation extremes (original model, default strengths, custom excluded)
    singles = [(e, drops[(orig, e)]) for e in study.transform_evals() if e != CUSTOM and (orig, e) in drops]
    macros["NumTransforms"] = str(len([e for e in study.transform_evals() if e != CUSTOM]))
    if singles:
        worst = max(singles, key=lambda t: t[1]["mean"])
        mild = min(singles, key=lambda t: t[1]["mean"])
        macros["WorstTransform"] = f"\\texttt{{{tex_escape(worst[0])}}}"
        macros["WorstTransformDrop"] = pct(worst[1]["mean"])
        macros["MildestTransform"] = f"\\texttt{{{tex_escape(mild[0])}}}"
        macros["MildestTransformDrop"] = pct(mild[1]["mean"])
    for e in study.transform_evals():
        runs = study.get(orig, e) or next((study.get(f, e) for f in study.families if study.get(f, e)), {})
        if runs:
            strength = next(iter(runs.values())).eval_set.get("strength")
            macros[f"Strength{eval_key(e)}"] = fmt_strength(strength)

    # ---- strength sweeps
    for name, points in study.sweeps().items():
        rows = []
        for strength, eval_id in points:
            row = {"strength": strength, "eval_id": eval_id}
            for family in study.families:
                c = cells.get((family, eval_id))
                if c:
                    row[family] = {"mean": c["mean"], "std": c["std"], "n_seeds": c["n_seeds"]}
            rows.append(row)
        summary["sweeps"][name] = rows
        k = camel(name)
        macros[f"Sweep{k}Strengths"] = ", ".join(fmt_strength(s) for s, _ in points)
        top_s, top_e = points[-1]
        macros[f"Sweep{k}MaxStrength"] = fmt_strength(top_s)
        if (orig, top_e) in cells:
            macros[f"Sweep{k}MaxAcc"] = pct(cells[(orig, top_e)]["mean"])
        if (orig, top_e) in drops:
            macros[f"Sweep{k}MaxDrop"] = pct(drops[(orig, top_e)]["mean"])
        if (aug, top_e) in cells:
            macros[f"Sweep{k}MaxAccAug"] = pct(cells[(aug, top_e)]["mean"])

    # ---- set-up: sizes, hyper-parameters, compute
    o_runs = study.get(orig, ORIGINAL)
    first = o_runs[min(o_runs)] if o_runs else (study.runs[0] if study.runs else None)
    seeds = sorted(o_runs)
    # breakable after hyphens (the report sets it in \texttt)
    macros["ModelName"] = tex_escape(first.architecture).replace("-", "-\\allowbreak{}") if first else NA
    base_runs = [r for r in study.runs if r.prefix == BASELINE_PREFIX]
    macros["BaselineName"] = tex_escape(base_runs[0].architecture) if base_runs else NA
    macros["NumSeeds"] = str(len(seeds)) if seeds else NA
    macros["SeedList"] = ", ".join(map(str, seeds)) if seeds else NA
    macros["FirstSeed"] = str(seeds[0]) if seeds else NA
    if (orig, ORIGINAL) in cells:
        macros["EvalExamples"] = fmt_int(cells[(orig, ORIGINAL)]["examples"])
    if (orig, CUSTOM) in cells:
        macros["CustomExamples"] = fmt_int(cells[(orig, CUSTOM)]["examples"])
    tr = first.training if first else {}
    aug_runs = study.get(aug, ORIGINAL)
    aug_tr = aug_runs[min(aug_runs)].training if aug_runs else {}
    macros["TrainExamples"] = fmt_int(tr.get("train_examples"))
    macros["AugmentSize"] = fmt_int(aug_tr.get("augment_size") or config.get("augment_size"))
    macros["CadPairs"] = fmt_int(config.get("cad_pairs"))
    stages = dict((name, strength) for name, strength in config.get("custom_transform_stages", []))
    for name in ("synonym", "typo", "distractor"):
        if name in stages:
            macros[f"Custom{camel(name)}"] = f"{stages[name]:g}"
    # custom_transform's calibration on held-out training reviews (study/calibrate_custom.py), beside results/
    calibration_path = results.parent / "calibration_custom_transform.json"
    if calibration_path.is_file():
        calibration = json.loads(calibration_path.read_text())
        chosen = calibration.get("chosen") or {}
        macros["CalibScale"] = f"{chosen['scale']:g}" if chosen else NA
        macros["CalibDrop"] = f"{chosen['drop_points']:.1f}" if chosen else NA
        target = re.search(r">= ([\d.]+)", calibration.get("rule", ""))
        macros["CalibTarget"] = target.group(1) if target else NA
        macros["CalibExamples"] = fmt_int(int(calibration["validation"].split()[0]))
        summary["calibration"] = calibration
    cad_runs = study.get(study.fam("cad"), ORIGINAL)
    cad_tr = cad_runs[min(cad_runs)].training if cad_runs else {}
    macros["CadTrainExamples"] = fmt_int(cad_tr.get("train_examples"))
    macros["AugTrainExamples"] = fmt_int(aug_tr.get("train_examples"))
    augment = aug_tr.get("augment_size") or config.get("augment_size")
    if tr.get("train_examples") and augment:
        macros["AugRatio"] = f"{round(tr['train_examples'] / augment, 1):g}"
    macros["NumEpochs"] = str(tr["num_epochs"]) if "num_epochs" in tr else NA
    macros["LearningRate"] = fmt_lr(tr.get("learning_rate"))
    macros["BatchSize"] = str(tr["batch_size"]) if "batch_size" in tr else NA
    macros["MaxLength"] = str(tr["max_length"]) if "max_length" in tr else NA
    if aug_tr.get("transform"):
        macros["AugTransform"] = f"\\texttt{{{tex_escape(aug_tr['transform'])}}}"
    for key, value in sorted(tr.items()):  # everything else scalar, for the lead's prose
        if isinstance(value, (int, float)) and not isinstance(value, bool) and key != "train_seconds":
            macros[f"Train{camel(key)}"] = fmt_lr(value) if "rate" in key else (
                fmt_int(value) if isinstance(value, int) else f"{value:g}")
        elif isinstance(value, str):
            macros[f"Train{camel(key)}"] = tex_escape(value)

    def minutes(runs):
        secs = [r.training.get("train_seconds") for r in runs.values()]
        secs = [s for s in secs if isinstance(s, (int, float))]
        return (sum(secs) / len(secs) / 60) if secs else None

    tm, tma = minutes(o_runs), minutes(aug_runs)
    macros["TrainMinutes"] = NA if tm is None else f"{tm:.1f}"
    macros["TrainMinutesAug"] = NA if tma is None else f"{tma:.1f}"
    per_model = {}
    for r in study.runs:
        s = r.training.get("train_seconds")
        if isinstance(s, (int, float)):
            per_model[r.model_id] = float(s)
    total = sum(per_model.values())
    macros["TotalTrainMinutes"] = f"{total / 60:.0f}" if per_model else NA
    device = (first.provenance.get("device") if first else None) or config.get("hardware") or config.get("device")
    macros["Hardware"] = tex_escape(device) if isinstance(device, str) else NA
    commit = first.provenance.get("git_commit") if first else None
    macros["GitCommit"] = f"\\texttt{{{tex_escape(commit[:7])}}}" if commit else NA
    macros["BootstrapResamples"] = fmt_int(BOOTSTRAP_RESAMPLES)
    macros["CILevel"] = f"{100 * CI_LEVEL:.0f}"
    macros["ExactMaxDiscordant"] = str(EXACT_MAX_DISCORDANT)
    macros["Alpha"] = f"{ALPHA:g}"
    summary["training"] = {"main": tr, "augmented": aug_tr, "train_seconds_per_model": per_model,
                           "train_minutes_original_mean": tm, "train_minutes_augmented_mean": tma,
                           "hardware": device, "seeds": seeds}

    # ---- required macros that the results could not provide
    missing = [m for m in REQUIRED_MACROS if m not in macros]
    for m in missing:
        macros[m] = NA
    summary["missing_macros"] = missing
    summary["macros"] = dict(sorted(macros.items()))

    # ---- write
    (out / "tables").mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    lines = ["% Generated by report/make_assets.py from the results files; do not edit.",
             f"% results: {results.name}/  ({len(study.runs)} run files)"]
    for name, value in sorted(macros.items()):
        if not re.fullmatch(r"[A-Za-z]+", name):
            raise AssertionError(f"bad macro name {name}")
        lines.append(f"\\newcommand{{\\{name}}}{{{value}}}")
    (out / "macros.tex").write_text("\n".join(lines) + "\n")
    tables = {
        "headline": table_headline(study, cells, drops),
        "transforms": table_transforms(study, cells, drops),
        "cad": table_cad(study, cells),
    }
    for name, text in tables.items():
        (out / "tables" / f"{name}.tex").write_text(text)
    if figures:
        figure_sweeps(study, cells, out / "figures" / "strength_sweep.pdf")
    if summary_path is None:
        summary_path = results / "summary.json"
    summary_path.parent.mkdir(parents=True, exist_ok=True)
    summary_path.write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    if missing:
        print(f"make_assets: warning: no results for {', '.join(missing)} (shown as a dash)", file=sys.stderr)
    return summary


# --------------------------------------------------------------------------- tables

HEADER = "% Generated by report/make_assets.py; do not edit.\n"


def table_headline(study: Study, cells, drops) -> str:
    rows = []
    fams = [f for f in study.families if f.partition("-")[2] in ("original", "augmented")]
    prev_prefix = None
    for fam in fams:
        prefix = fam.partition("-")[0]
        if prev_prefix is not None and prefix != prev_prefix:
            rows.append("\\midrule")
        prev_prefix = prefix
        rows.append(f"{family_label(study, fam)} & {pm(cells.get((fam, ORIGINAL)))} & "
                    f"{pm(cells.get((fam, CUSTOM)))} & {drop_mean(drops.get((fam, CUSTOM)))} \\\\")
    return (HEADER + "\\setlength{\\tabcolsep}{3pt}\n\\begin{tabular}{@{}lccr@{}}\n\\toprule\n"
            "Model (training data) & Original & Transformed & Drop \\\\\n\\midrule\n"
            + "\n".join(rows) + "\n\\bottomrule\n\\end{tabular}\n")


def drop_mean(d: dict | None) -> str:
    return NA if d is None else pct(d["mean"])


def table_transforms(study: Study, cells, drops) -> str:
    orig, aug = study.fam("original"), study.fam("augmented")
    rows = []
    for e in study.transform_evals():
        name = "\\texttt{custom}" if e == CUSTOM else f"\\texttt{{{tex_escape(e)}}}"
        runs = next((study.get(f, e) for f in (orig, aug) if study.get(f, e)), {})
        strength = next(iter(runs.values())).eval_set.get("strength") if runs else None
        if strength is not None:
            name += f" ({fmt_strength(strength)})"
        cols = [name]
        for fam in (orig, aug):
            c, d = cells.get((fam, e)), drops.get((fam, e))
            p = d["mcnemar_first_seed"]["p"] if d and d["paired"] else None
            cols += [NA if c is None else pct(c["mean"]), NA if d is None else pct(d["mean"]), fmt_p(p)]
        rows.append(" & ".join(cols) + " \\\\")
        if e == CUSTOM:
            rows.append("\\midrule")
    if rows and rows[-1] == "\\midrule":
        rows.pop()
    return (HEADER + "\\begin{tabular}{@{}lrrrrrr@{}}\n\\toprule\n"
            " & \\multicolumn{3}{c}{Original model} & \\multicolumn{3}{c}{Augmented model} \\\\\n"
            "\\cmidrule(lr){2-4}\\cmidrule(l){5-7}\n"
            "Transformation & Acc & $\\Delta$ & $p$ & Acc & $\\Delta$ & $p$ \\\\\n\\midrule\n"
            + "\n".join(rows) + "\n\\bottomrule\n\\end{tabular}\n")


def table_cad(study: Study, cells) -> str:
    rows = []
    prev_prefix = None
    for fam in study.families:
        if not any((fam, e) in cells for e in CAD_EVALS):
            continue
        prefix = fam.partition("-")[0]
        if prev_prefix is not None and prefix != prev_prefix:
            rows.append("\\midrule")
        prev_prefix = prefix
        a, b = cells.get((fam, "cad-orig")), cells.get((fam, "cad-new"))
        gap = pct(a["mean"] - b["mean"]) if a and b else NA
        rows.append(f"{family_label(study, fam)} & {pm(a)} & {pm(b)} & {gap} \\\\")
    if not rows:
        rows = [f"\\multicolumn{{4}}{{c}}{{no CAD results}} \\\\"]
    return (HEADER + "\\setlength{\\tabcolsep}{4pt}\n\\begin{tabular}{@{}lccr@{}}\n\\toprule\n"
            "Model (training data) & CAD orig. & CAD new & Gap \\\\\n\\midrule\n"
            + "\n".join(rows) + "\n\\bottomrule\n\\end{tabular}\n")


# --------------------------------------------------------------------------- figures

def figure_sweeps(study: Study, cells, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams.update({
        "pdf.fonttype": 42, "ps.fonttype": 42,  # TrueType, embedded: no Type 3 fonts
        "font.family": "serif", "font.serif": ["STIXGeneral", "DejaVu Serif"], "mathtext.fontset": "stix",
        "font.size": 7, "axes.labelsize": 7, "axes.titlesize": 7, "legend.fontsize": 6,
        "xtick.labelsize": 6, "ytick.labelsize": 6, "axes.linewidth": 0.5, "lines.linewidth": 1.0,
        "lines.markersize": 3, "xtick.major.width": 0.5, "ytick.major.width": 0.5,
        "pdf.compression": 9,
    })
    sweeps = study.sweeps()
    names = list(sweeps) or ["(no sweeps)"]
    width_in = 7.7 / 2.54
    fig, axes = plt.subplots(1, len(names), figsize=(width_in, 1.65), sharey=True, squeeze=False)
    styles = {"original": ("-", "o"), "augmented": ("--", "s"), "cad": (":", "^")}
    handles = {}
    for ax, name in zip(axes[0], names):
        for fam in study.families:
            prefix, _, data = fam.partition("-")
            pts = []
            c0 = cells.get((fam, ORIGINAL))
            if c0 and sweeps.get(name):
                pts.append((0.0, c0["mean"], c0["std"] or 0.0))
            for strength, eval_id in sweeps.get(name, []):
                c = cells.get((fam, eval_id))
                if c:
                    pts.append((strength, c["mean"], c["std"] or 0.0))
            if len(pts) < 2:
                continue
            xs, ys, es = (np.array(v) for v in zip(*pts))
            ls, marker = styles.get(data, ("-.", "x"))
            color = "0.55" if prefix == BASELINE_PREFIX else None
            label = family_label(study, fam).replace("\\", "")
            h = ax.errorbar(xs, 100 * ys, yerr=100 * es if es.any() else None, ls=ls, marker=marker,
                            color=color, capsize=1.5, elinewidth=0.5, label=label)
            handles.setdefault(label, h)
        ax.set_title(name.replace("_", " "), pad=2)
        ax.set_xlabel("strength", labelpad=1)
        ax.grid(True, lw=0.3, alpha=0.5)
        ax.tick_params(pad=1.5, length=2)
    axes[0][0].set_ylabel("accuracy (%)", labelpad=1)
    if handles:
        fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=2, frameon=False,
                   bbox_to_anchor=(0.5, -0.01), handlelength=2.2, columnspacing=1.0)
    rows = math.ceil(len(handles) / 2)
    fig.subplots_adjust(left=0.13, right=0.99, top=0.91, bottom=0.25 + 0.075 * rows, wspace=0.08)
    fig.savefig(path, metadata={"CreationDate": None, "Creator": None, "Producer": None})
    plt.close(fig)


# --------------------------------------------------------------------------- main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="the study's results folder")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where macros.tex, tables/, figures/ go")
    ap.add_argument("--summary", type=Path, default=None, help="summary JSON (default: RESULTS/summary.json)")
    ap.add_argument("--no-figures", action="store_true", help="skip the matplotlib figures (faster)")
    args = ap.parse_args(argv)
    if not args.results.is_dir():
        print(f"make_assets: {args.results} does not exist (run study/run_study.py first)", file=sys.stderr)
        return 2
    summary = build(args.results, args.out, args.summary, figures=not args.no_figures)
    print(f"make_assets: {len(summary['macros'])} macros, {len(summary['cells'])} cells -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
