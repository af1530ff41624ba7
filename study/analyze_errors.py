"""Which reviews custom_transform flips, and what each of its stages costs alone: the error analysis of a run.

    python study/analyze_errors.py                    # out/ and its out_original/out_transformed files
    python study/analyze_errors.py --model_dir out_augmented --ablation_samples 0

Reads the prediction files that ``main.py --eval --eval_transformed`` wrote (``<output_dir>/<model>_original.txt``
and ``_transformed.txt``, with their JSON records), checks that they belong to the model and the test set given, and
writes ``--results`` (default ``results/full_scale/errors_<model>.json``) with:

- **Length and truncation:** every test review's WordPiece length without truncation; how many exceed the run's
  ``max_length`` (their ends were never read); accuracy on the original and the transformed reviews for those that
  fit and those that were truncated.
- **Flips:** reviews the model got right and the transformation made wrong (``correct_to_wrong``), and the
  reverse, by length and by gold label, with their median lengths.
- **Stage attribution:** each ``correct_to_wrong`` review transformed by each stage of ``utils.CUSTOM_STAGES``
  *alone*, at its strength in the composition (``custom_transform(stages=[stage])``, the composition's own random
  stream), and predicted again: which stages flip it on their own, and how many flip only in combination.
- **Ablation:** on ``--ablation_samples`` seeded test reviews (``pipeline.data.subset``, the reviews
  ``--max_eval_samples`` would choose), each stage alone; correctness vectors for the original, the composition
  (from the prediction files) and each stage, as 0/1 strings, so that ``report/make_assets.py`` computes paired
  tests from them.

Predictions use the same code as ``main.py --eval`` (``main.tokenize``, ``pipeline.batching.eval_dataloader``,
``main.predict``) and its precision rule (``--mixed_precision auto``: bf16 autocast on CPUs with native bf16), with
the model's weights in bf16 where the analysed evaluation had them so (its record's ``bf16_full_eval``; records made
before that flag evaluated under autocast with fp32 weights), so that a stage alone and the composition are
predicted the same way.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

from transformers import AutoTokenizer  # noqa: E402

import main  # noqa: E402
import utils  # noqa: E402
from pipeline import runtime  # noqa: E402
from pipeline.batching import eval_dataloader  # noqa: E402
from pipeline.data import load_imdb, project_path, require_writable, subset  # noqa: E402
from pipeline.errors import UsageError, exit_code  # noqa: E402
from pipeline.precision import BF16_FULL_EVAL_CHOICES, resolve_bf16_full_eval  # noqa: E402
from pipeline.results import provenance, read_predictions, write_json  # noqa: E402


def parse_options(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_dir", default="out", help="the evaluated model (its name prefixes the files)")
    parser.add_argument("--output_dir", default="out", help="where main.py wrote the prediction files")
    parser.add_argument("--dataset", default="imdb", help="hub dataset or local folder, as given to main.py")
    parser.add_argument("--ablation_samples", type=int, default=5000,
                        help="seeded test reviews for the per-stage ablation (0: none)")
    parser.add_argument("--eval_batch_size", type=int, default=main.DEFAULT_EVAL_BATCH_SIZE,
                        help="reviews per evaluation batch")
    parser.add_argument("--mixed_precision", default="auto", choices=("auto", "no", "bf16", "fp16"),
                        help="as main.py's --mixed_precision")
    parser.add_argument("--bf16_full_eval", default=None, choices=BF16_FULL_EVAL_CHOICES,
                        help="auto: bf16 weights where main.py uses them, no: autocast (default: as the analysed "
                             "evaluation ran, by its "
                             "record: auto if it had bf16 weights, else no)")
    parser.add_argument("--results", default=None,
                        help="output JSON (default results/full_scale/errors_<model_dir name>.json)")
    options = parser.parse_args(argv)
    if options.ablation_samples < 0:
        parser.error(f"--ablation_samples must be >= 0 (got {options.ablation_samples})")
    return options


def bits(values) -> str:
    return "".join("1" if v else "0" for v in values)


def load_run(output_dir: Path, model_dir: Path, eval_set: str) -> tuple[dict, list[int], list[int]]:
    stem = output_dir / f"{model_dir.name}_{eval_set}"
    for suffix in (".json", ".txt"):
        if not stem.with_suffix(suffix).is_file():
            raise UsageError(f"{stem.with_suffix(suffix)} not found: run `python main.py --eval --eval_transformed "
                             f"--model_dir {model_dir}` first (or pass --output_dir)")
    record = json.loads(stem.with_suffix(".json").read_text())
    predictions, labels = read_predictions(stem.with_suffix(".txt"))
    return record, predictions, labels


def analyze(options) -> dict:
    model_dir, output_dir = project_path(options.model_dir), project_path(options.output_dir)
    results = project_path(options.results or f"results/full_scale/errors_{model_dir.name}.json")
    require_writable(results.parent, "--results")
    original, pred_o, labels = load_run(output_dir, model_dir, "original")
    transformed, pred_t, labels_t = load_run(output_dir, model_dir, "transformed")
    if transformed["transform"] != "custom_transform" or transformed["transform_strength"] is not None:
        raise UsageError(f"{output_dir} holds a --transform {transformed['transform']} evaluation; this analysis "
                         f"is of custom_transform at its own stages")
    for key in ("max_length", "data_seed", "max_eval_samples", "truncation"):
        if original.get(key) != transformed.get(key):
            raise UsageError(f"the original and transformed evaluations differ in {key} "
                             f"({original.get(key)} vs {transformed.get(key)}): evaluate both in one run")
    if original.get("max_eval_samples") is not None:
        raise UsageError("these predictions are for a test subset (--max_eval_samples): analyse a full evaluation")
    test = load_imdb(options.dataset, splits=("test",))["test"]
    if labels != list(test["label"]) or labels_t != labels:
        raise UsageError(f"the prediction files in {output_dir} do not follow {options.dataset}'s test labels: "
                         f"were they written for another dataset?")
    max_length, seed = original["max_length"], original["data_seed"]
    truncation = original.get("truncation") or "head"
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    lengths = [len(ids) for ids in tokenizer(list(test["text"]), verbose=False)["input_ids"]]
    right_o = [p == y for p, y in zip(pred_o, labels)]
    right_t = [p == y for p, y in zip(pred_t, labels)]
    accelerator = runtime.make_accelerator(options.mixed_precision)
    bf16_full_eval = options.bf16_full_eval or ("auto" if original.get("bf16_full_eval") else "no")

    def predict(split) -> list[int]:
        tokens = main.tokenize(split, tokenizer, max_length, with_idx=True, truncation=truncation)
        predictions, _, _ = main.predict(eval_dataloader(tokens, tokenizer, options.eval_batch_size), str(model_dir),
                                         accelerator, bf16_full_eval)
        return predictions

    def stage_alone(split, stage):
        return split.map(functools.partial(utils.custom_transform, seed=seed, stages=(stage,)),
                         load_from_cache_file=False, desc=f"transform {stage[0]}")

    def group(indices) -> dict:
        n = len(indices)
        return {"reviews": n,
                "accuracy_original": sum(right_o[i] for i in indices) / n if n else None,
                "accuracy_transformed": sum(right_t[i] for i in indices) / n if n else None,
                "median_tokens": statistics.median(lengths[i] for i in indices) if n else None}

    everything = range(len(test))
    fits = [i for i in everything if lengths[i] <= max_length]
    truncated = [i for i in everything if lengths[i] > max_length]
    to_wrong = [i for i in everything if right_o[i] and not right_t[i]]
    to_right = [i for i in everything if right_t[i] and not right_o[i]]

    start = time.perf_counter()
    flipped_by = {}
    for stage in utils.CUSTOM_STAGES:
        alone = predict(stage_alone(test.select(to_wrong), stage)) if to_wrong else []
        flipped_by[stage[0]] = [alone[k] != labels[i] for k, i in enumerate(to_wrong)]
    count_alone = [sum(flipped_by[name][k] for name in flipped_by) for k in range(len(to_wrong))]

    ablation = None
    if options.ablation_samples:
        sample = subset(test.add_column("index", list(everything)), options.ablation_samples, seed)
        indices = sample["index"]
        sample = sample.remove_columns("index")
        stages = {}
        for stage in utils.CUSTOM_STAGES:
            predictions = predict(stage_alone(sample, stage))
            stages[stage[0]] = {"strength": stage[1],
                                "correct": bits(p == labels[i] for p, i in zip(predictions, indices))}
        ablation = {"reviews": len(indices), "subset_seed": seed,
                    "subset": f"pipeline.data.subset(test, {options.ablation_samples}, {seed}): the reviews "
                              f"--max_eval_samples {options.ablation_samples} --data_seed {seed} evaluates",
                    "original_correct": bits(right_o[i] for i in indices),
                    "composition_correct": bits(right_t[i] for i in indices),
                    "stages": stages}

    record = {
        "model_dir": str(model_dir),
        "model_name": original.get("model_name"),
        "training": original.get("training"),
        "dataset": options.dataset,
        "test_reviews": len(test),
        "max_length": max_length,
        "truncation": truncation,
        "data_seed": seed,
        "stages": [list(stage) for stage in utils.CUSTOM_STAGES],
        "evaluations": {"original": original["predictions_file"], "transformed": transformed["predictions_file"],
                        "original_accuracy": original["accuracy"], "transformed_accuracy": transformed["accuracy"]},
        "tokens": {"mean": statistics.fmean(lengths), "median": statistics.median(lengths),
                   "over_max_length": len(truncated), "share_over_max_length": len(truncated) / len(test)},
        "by_length": {"fits": group(fits), "truncated": group(truncated)},
        "flips": {
            "correct_to_wrong": len(to_wrong),
            "wrong_to_correct": len(to_right),
            "correct_to_wrong_truncated": sum(lengths[i] > max_length for i in to_wrong),
            "wrong_to_correct_truncated": sum(lengths[i] > max_length for i in to_right),
            "correct_to_wrong_by_label": {str(y): sum(labels[i] == y for i in to_wrong) for y in (0, 1)},
            "wrong_to_correct_by_label": {str(y): sum(labels[i] == y for i in to_right) for y in (0, 1)},
            "median_tokens_correct_to_wrong": statistics.median(lengths[i] for i in to_wrong) if to_wrong else None,
        },
        "attribution": {
            "reviews": len(to_wrong),
            "flipped_by_stage_alone": {name: sum(v) for name, v in flipped_by.items()},
            "flipped_by_no_stage_alone": sum(c == 0 for c in count_alone),
            "flipped_by_exactly_one_stage": {name: sum(v[k] and count_alone[k] == 1 for k in range(len(to_wrong)))
                                             for name, v in flipped_by.items()},
            "flipped_by_several_stages_alone": sum(c > 1 for c in count_alone),
        },
        "ablation": ablation,
        "analysis_seconds": round(time.perf_counter() - start, 1),
        "mixed_precision": accelerator.mixed_precision,
        "bf16_full_eval": resolve_bf16_full_eval(bf16_full_eval, accelerator.device.type,
                                                      accelerator.mixed_precision),
        "provenance": provenance(accelerator.device),
    }
    write_json(results, record)
    print(f"{len(to_wrong)} reviews flipped to wrong, {len(to_right)} to right; "
          f"{len(truncated)} of {len(test)} longer than {max_length} tokens -> {results}")
    return record


def main_cli(argv=None) -> int:
    return exit_code(analyze, parse_options(argv))


if __name__ == "__main__":
    sys.exit(main_cli())
