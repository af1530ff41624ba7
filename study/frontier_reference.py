"""The far end of the frontier: what a large drop costs when realism is not asked for. Never a transformation.

    python study/frontier_reference.py --checkpoint out_checkpoints/step-1800 --model_name <base model folder>

Every lower-case word of the VADER lexicon with |valence| >= 1 (negations and degree words aside: some 8% of a
review's words, "like" and "well" included) gets one typing slip, the same at each occurrence in a review: two
adjacent letters swapped in the word's second half ("good" -> "godo", "like" -> "liek"). No table, no realism rule,
no cap: the kind of edit the project's own transformation was restricted against. Measured on the same validation
reviews as ``study/calibrate_transform.py`` (training reviews the checkpoint had not seen) at strengths 0.5 and 1.0,
and written with 10 transformed reviews per strength to read (``results/audit/frontier_reference_<s>.tsv``).
"""

from __future__ import annotations

import functools
import random
import shutil
import sys
import tempfile
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))
sys.path.insert(0, str(PROJECT_DIR / "study"))

from accelerate import Accelerator  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

import audit_transform  # noqa: E402
import calibrate_transform as calibration  # noqa: E402
import main  # noqa: E402
import utils  # noqa: E402
from pipeline.batching import eval_dataloader  # noqa: E402
from pipeline.data import load_imdb, project_path  # noqa: E402
from pipeline.errors import exit_code  # noqa: E402
from pipeline.precision import resolve_mixed_precision  # noqa: E402
from pipeline.results import provenance, write_json  # noqa: E402

STRENGTHS = (0.5, 1.0)
READ = 10


@functools.lru_cache(maxsize=None)
def vader_words() -> frozenset:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    skip = utils.NEGATIONS | utils.INTENSIFIERS
    return frozenset(w for w, v in SentimentIntensityAnalyzer().lexicon.items()
                     if w.isascii() and w.isalpha() and w.islower() and abs(v) >= 1 and w not in skip)


def slip(word: str) -> str:
    k = max(1, len(word) // 2)
    while k + 1 < len(word) and word[k] == word[k + 1]:
        k += 1
    return word if k + 1 >= len(word) else word[:k] + word[k + 1] + word[k] + word[k + 2:]


def every_opinion_word(tokens: list[str], rng: random.Random, strength: float) -> None:
    chosen: dict[str, bool] = {}
    for i, tok in enumerate(tokens):
        low = tok.lower()
        if low in vader_words() and (tok == low or tok == low.capitalize()):
            if chosen.setdefault(low, rng.random() < strength):
                tokens[i] = utils._match_case(tok, slip(low))


def run(options) -> dict:
    checkpoint = project_path(options.checkpoint)
    train = load_imdb(options.dataset, splits=("train",))["train"]
    tokenizer = AutoTokenizer.from_pretrained(options.model_name)
    unseen = calibration.unseen_reviews(train, tokenizer, checkpoint, options)
    rows = sorted(random.Random(options.seed).sample(unseen, options.validation_samples))
    validation = train.select(rows)
    accelerator = Accelerator(mixed_precision=resolve_mixed_precision("auto", "cpu"), cpu=True)
    folder = Path(tempfile.mkdtemp(prefix="reference-model-"))

    def transform(example, strength):
        rng = random.Random(f"{options.seed}:reference:{example['text']}")
        tokens = utils.tokenize(example["text"])
        every_opinion_word(tokens, rng, strength)
        return {**example, "text": "".join(tokens)}

    def accuracy(split) -> float:
        tokens = main.tokenize(split, tokenizer, options.max_length, with_idx=True)
        return main.do_eval(eval_dataloader(tokens, tokenizer, 32), str(folder), folder / "predictions.txt",
                            accelerator, "auto")["accuracy"]

    try:
        calibration.model_folder(checkpoint, options.model_name, folder)
        record = {"what": " ".join(__doc__.split("\n\n")[2].split()), "checkpoint": checkpoint.name,
                  "validation_rows": rows, "validation_accuracy_original": accuracy(validation), "points": []}
        for strength in STRENGTHS:
            changed = validation.map(functools.partial(transform, strength=strength), load_from_cache_file=False)
            words = sum(t[:1].isalnum() for x in validation["text"] for t in utils.tokenize(x))
            edited = sum(a != b for x, y in zip(validation["text"], changed["text"])
                         for a, b in zip(utils.tokenize(x), utils.tokenize(y)))
            score = accuracy(changed)
            point = {"strength": strength, "accuracy": score,
                     "drop_points": round(100 * (record["validation_accuracy_original"] - score), 2),
                     "misspelt_word_share": round(edited / words, 4)}
            record["points"].append(point)
            print(point, flush=True)
            to_read = [{"id": f"reference-{k + 1:03d}", "label": "pos" if changed[i]["label"] else "neg",
                        "review": utils.mark_changes(validation[i]["text"], changed[i]["text"]).replace("\t", " "),
                        "same_label": "", "reads_real": "", "note": f"train[{rows[i]}] reference={strength}"}
                       for k, i in enumerate(random.Random(strength).sample(range(len(rows)), READ))]
            audit_transform.write_tsv(to_read, project_path(f"results/audit/frontier_reference_{strength}.tsv"),
                                      audit_transform.REVIEW_COLUMNS)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    record["provenance"] = provenance(accelerator.device)
    write_json(project_path(options.results), record)
    return record


if __name__ == "__main__":
    argv = sys.argv[1:] + ([] if "--results" in sys.argv else ["--results", "results/frontier_reference.json"])
    sys.exit(exit_code(run, calibration.parse_options(argv)))  # the calibration's options: the same reviews
