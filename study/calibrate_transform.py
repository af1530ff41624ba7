"""Choose custom_transform's strength on held-out *training* reviews, with a checkpoint of the full-scale run.

    python study/calibrate_transform.py --checkpoint out_checkpoints/step-1800 --model_name <base model folder>

The rule, fixed before any number was seen (it is also written into the results file):

1. The model is the full-scale recipe itself (``main.py --train``: all 25,000 training reviews, 512 tokens, one
   epoch, seed 42), taken at its first checkpoint past 55% of the epoch (step 1,800 of 3,125), never a weak early
   one. Validation reviews are ``--validation_samples`` training reviews that checkpoint has not yet seen (the rest
   of its epoch, drawn with ``--seed``): held out from the model, and no test review.
2. One strength for both stages (``opinion_synonym`` then ``opinion_typo``): the share of opinion words edited.
3. The smallest strength in ``--strengths`` (ascending) whose accuracy drop on the validation reviews is
   >= ``--target`` points (4 points plus a margin for the validation-to-test difference).
   Every strength is measured (the frontier, with the share of misspelt words), so the report can show what a drop
   costs; the realism caps are in the stage itself (at most one word in fifteen, never two neighbouring words).
4. If no strength reaches the target, the largest is chosen and the record says the target was not met.
5. The test set plays no part: it is used once, afterwards, by ``python main.py --eval_transformed``.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

from accelerate import Accelerator  # noqa: E402
from safetensors.torch import load_file  # noqa: E402
from transformers import AutoModelForSequenceClassification, AutoTokenizer  # noqa: E402

import main  # noqa: E402
import utils  # noqa: E402
from pipeline.batching import LengthGroupedSampler, eval_dataloader  # noqa: E402
from pipeline.data import SHARED_DATA, load_imdb, project_path  # noqa: E402
from pipeline.errors import UsageError, exit_code  # noqa: E402
from pipeline.precision import resolve_mixed_precision  # noqa: E402
from pipeline.results import provenance, write_json  # noqa: E402

def parse_options(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True, help="a step-N folder of the full-scale run's checkpoints")
    ap.add_argument("--model_name", required=True, help="the pretrained model the run started from (config, tokenizer)")
    ap.add_argument("--dataset", default=str(SHARED_DATA / "imdb"), help="IMDB folder or hub name")
    ap.add_argument("--seed", type=int, default=42, help="the run's --seed (its batch order), also the sample's seed")
    ap.add_argument("--batch_size", type=int, default=8, help="the run's --batch_size (its batch order)")
    ap.add_argument("--max_length", type=int, default=512, help="tokens per review (as the run)")
    ap.add_argument("--validation_samples", type=int, default=1000, help="unseen training reviews to calibrate on")
    ap.add_argument("--strengths", type=float, nargs="+", default=[0.25, 0.5, 0.75, 1.0])
    ap.add_argument("--target", type=float, default=5.0, help="validation drop to reach, in points")
    ap.add_argument("--results", default="results/calibration_transform.json", help="where the figures go")
    return ap.parse_args(argv)


def unseen_reviews(train, tokenizer, checkpoint: Path, options) -> list[int]:
    """Training rows the checkpoint has not seen: its epoch's batch order past the batches it has done."""
    position = json.loads((checkpoint / "position.json").read_text())
    if position["epoch"] != 0 or position["shape"]["batch_size"] != options.batch_size:
        raise UsageError(f"{checkpoint}: expected a first-epoch checkpoint of batch size {options.batch_size}")
    lengths = main.tokenize(train, tokenizer, options.max_length)["length"]
    order = list(LengthGroupedSampler(lengths, options.batch_size, seed=options.seed))
    return order[position["batches_done"] * options.batch_size:]


def model_folder(checkpoint: Path, model_name: str, folder: Path) -> None:
    """The checkpoint's weights as a model folder ``main.do_eval`` can load."""
    model = AutoModelForSequenceClassification.from_pretrained(model_name, num_labels=2)
    model.load_state_dict(load_file(str(checkpoint / "model.safetensors")))
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(model_name).save_pretrained(folder)


def misspelt_share(texts: list[str], stages, seed: int) -> float:
    """Fraction of all words that custom_transform with ``stages`` misspells (changes to a non-synonym)."""
    words = changed = 0
    synonyms = {s for e in utils._opinion_table().values() for s in e.synonyms}
    for text in texts:
        tokens = utils.tokenize(text)
        edited = utils.tokenize(utils.custom_transform({"text": text}, seed=seed, stages=stages)["text"])
        words += sum(t[:1].isalnum() for t in tokens)
        # a synonym is a real word, and an "a" made "an" before it is no misspelling
        changed += sum(a != b and b.lower() not in synonyms and b.lower() not in ("a", "an")
                       for a, b in zip(tokens, edited))
    return round(changed / max(words, 1), 4)


def calibrate(options) -> dict:
    checkpoint = project_path(options.checkpoint)
    if not (checkpoint / "position.json").is_file():
        raise UsageError(f"--checkpoint {checkpoint} is no complete checkpoint (position.json missing)")
    train = load_imdb(options.dataset, splits=("train",))["train"]
    tokenizer = AutoTokenizer.from_pretrained(options.model_name)
    unseen = unseen_reviews(train, tokenizer, checkpoint, options)
    chosen_rows = sorted(random.Random(options.seed).sample(unseen, options.validation_samples))
    validation = train.select(chosen_rows)
    # evaluated as main.py --eval evaluates on this CPU (its --mixed_precision auto and bf16 evaluation weights)
    accelerator = Accelerator(mixed_precision=resolve_mixed_precision("auto", "cpu"), cpu=True)
    folder = Path(tempfile.mkdtemp(prefix="calibration-model-"))
    started = time.time()
    try:
        model_folder(checkpoint, options.model_name, folder)

        def accuracy(stages=None) -> float:
            split = validation
            if stages is not None:
                split = split.map(functools.partial(utils.custom_transform, seed=options.seed, stages=stages),
                                  load_from_cache_file=False, desc="transform")
            tokens = main.tokenize(split, tokenizer, options.max_length, with_idx=True)
            return main.do_eval(eval_dataloader(tokens, tokenizer, 32), str(folder), folder / "predictions.txt",
                                accelerator, "auto")["accuracy"]

        position = json.loads((checkpoint / "position.json").read_text())
        record = {
            "rule": __doc__.split("(it is also written into the results file):")[1].strip(),
            "checkpoint": f"{checkpoint.name} of the full-scale --train run (batches done: {position['batches_done']})",
            "validation": f"{len(validation)} IMDB training reviews the checkpoint had not seen "
                          f"({len(unseen)} unseen, drawn with seed {options.seed})",
            "validation_rows": chosen_rows,
            "max_length": options.max_length,
            "mixed_precision": accelerator.mixed_precision,
            "candidates": [],
        }
        base = accuracy()
        record["validation_accuracy_original"] = base
        print(f"original: {base:.4f}", flush=True)
        for strength in sorted(options.strengths):
            strength = utils.check_strength(strength, "--strengths")
            stages = (("opinion_synonym", strength), ("opinion_typo", strength))
            score = accuracy(stages)
            row = {"stages": [list(s) for s in stages], "accuracy": score,
                   "drop_points": round(100 * (base - score), 2),
                   "misspelt_word_share": misspelt_share(validation["text"], stages, options.seed)}
            record["candidates"].append(row)
            print(f"{stages}: accuracy {score:.4f}, drop {row['drop_points']:.1f} points, "
                  f"{100 * row['misspelt_word_share']:.2f}% of words misspelt", flush=True)
            write_json(project_path(options.results), record)
        reached = [r for r in record["candidates"] if r["drop_points"] >= options.target]
        record["chosen"] = reached[0] if reached else record["candidates"][-1]
        record["target_met"] = bool(reached)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    record["wall_seconds"] = round(time.time() - started, 1)
    record["provenance"] = provenance(accelerator.device)
    write_json(project_path(options.results), record)
    return record


if __name__ == "__main__":
    sys.exit(exit_code(calibrate, parse_options()))
