"""The far end of the frontier, and its ceiling: what a larger drop costs when realism is not asked for, and what
edits confined to the opinion words can cost at most. Never transformations.

    python study/frontier_reference.py --checkpoint out_checkpoints/step-1800 --model_name <base model folder>
    python study/frontier_reference.py --family deleted ...   # results/frontier_deleted.json
    python study/frontier_reference.py --family negated ...   # results/frontier_negated.json
    python study/frontier_reference.py --family deleted --checkpoint out_checkpoints/step-3000 ... \
        --results results/frontier_deleted_step3000.json        # near the epoch's end: its 1,000 unseen reviews

``reference``: every lower-case word of the VADER lexicon with |valence| >= 1 (negations and degree words aside:
some 8% of a review's words, "like" and "well" included) gets one typing slip, the same at each occurrence in a
review: two adjacent letters swapped in the word's second half ("good" -> "godo", "like" -> "liek"). No table, no
realism rule, no cap: the kind of edit the project's own transformation was restricted against. Measured at
strengths 0.5 and 1.0, and written with 10 transformed reviews per strength to read
(``results/audit/frontier_reference_<s>.tsv``).

``deleted``: every occurrence of every word of custom_transform's opinion table removed, the ceiling of any edit
confined to those words. ``negated``: the idea left to try for a larger natural drop, an evaluative adjective
replaced by its negated opposite ("was boring" -> "was not interesting at all", "is good" -> "is anything but bad"),
reviewed pairs of close strength, only after "is"/"was" at a clause's end; measured alone and with custom_transform
after it; and, for the idea's ceiling, at every use (strong words and before film nouns too: "a far from bad film").
All on the same validation reviews as ``study/calibrate_transform.py`` (training reviews the checkpoint had not
seen).
"""

from __future__ import annotations

import argparse
import difflib
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

READ = 10  # reference reviews written to read per strength


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


def opinion_words_deleted(tokens: list[str], rng: random.Random, strength: float) -> None:
    table = utils._opinion_table()
    for i, tok in enumerate(tokens):
        if tok.lower() in table and rng.random() < strength:
            tokens[i] = ""


# negative adjective -> the positive one it is "not ... at all", and the reverse: pairs of close strength, reviewed
NEGATED_OPPOSITES = {
    "bad": "good", "mediocre": "good", "boring": "interesting", "dull": "interesting", "bland": "interesting",
    "tedious": "interesting", "predictable": "surprising", "disappointing": "satisfying", "unfunny": "funny",
    "forgettable": "memorable", "unconvincing": "convincing",
    "good": "bad", "decent": "bad", "watchable": "bad", "entertaining": "boring", "interesting": "boring",
    "engaging": "boring", "fun": "boring", "surprising": "predictable", "unpredictable": "predictable",
    "satisfying": "disappointing", "memorable": "forgettable",
}
# and, for the idea's ceiling, strong words too, whose negated opposite is weaker ("great" -> "far from bad")
NEGATED_OPPOSITES_WIDE = {
    **NEGATED_OPPOSITES,
    **dict.fromkeys("terrible awful horrible poor lousy dreadful atrocious crappy pathetic".split(), "good"),
    **dict.fromkeys("great excellent wonderful amazing brilliant fantastic superb terrific outstanding".split(), "bad"),
    **dict.fromkeys("enjoyable fascinating gripping exciting funny hilarious".split(), "boring"),
    "stupid": "clever", "dumb": "clever", "idiotic": "clever", "lame": "funny", "weak": "convincing",
    "pointless": "worthwhile", "ridiculous": "believable", "silly": "believable", "annoying": "likable",
    "pretentious": "deep", "impressive": "disappointing", "beautiful": "ugly", "charming": "dull", "delightful": "dull",
    "stunning": "dull", "powerful": "weak", "perfect": "flawed", "clever": "stupid", "smart": "stupid",
    "believable": "silly",
}
PREDICATIVE_FORMS = ("not {} at all", "anything but {}")  # "was boring." -> "was not interesting at all."
ATTRIBUTIVE_FORMS = ("far from {}", "not very {}")        # "a boring film" -> "a far from interesting film"


def negated_opposites(tokens: list[str], rng: random.Random, strength: float, wide: bool = False) -> None:
    """Reviewed pairs only after "is"/"was" at a clause's end; ``wide``: every pair, before film nouns too."""
    table = NEGATED_OPPOSITES_WIDE if wide else NEGATED_OPPOSITES
    for i, tok in enumerate(tokens):
        if tok not in table or rng.random() >= strength:
            continue
        before = utils._neighbour_words(tokens, i, -1, 2)
        attributive = bool(utils._neighbour_words(tokens, i, 1, 1))  # by _evaluative_use: before a film noun
        negated = utils.count_negations(" ".join(before))
        if (attributive and not wide) or negated or not utils._evaluative_use(tokens, i):
            continue  # "wasn't boring", "a great fan"
        tokens[i] = rng.choice(ATTRIBUTIVE_FORMS if attributive else PREDICATIVE_FORMS).format(table[tok])
        j = i - 1
        while tokens[j] == " ":
            j -= 1
        if tokens[j].lower() in utils._DEGREE_BEFORE:  # "was really boring" -> "was not interesting at all"
            tokens[j] = tokens[j + 1] = ""
        utils._fix_article(tokens, i)  # "an excellent film" -> "a far from bad film"


# family -> [(what a point measures, token stage, strength, custom_transform after it, reviews written to read)]
FAMILIES = {
    "reference": [("reference", every_opinion_word, 0.5, False, READ),
                  ("reference", every_opinion_word, 1.0, False, READ)],
    "deleted": [("opinion words deleted", opinion_words_deleted, 1.0, False, 0)],
    "negated": [("custom_transform", lambda tokens, rng, strength: None, 1.0, True, 0),  # = the calibration's figure
                ("negated opposites", negated_opposites, 1.0, False, 0),
                ("negated opposites, then custom_transform", negated_opposites, 1.0, True, 0),
                ("negated opposites at every use", functools.partial(negated_opposites, wide=True), 1.0, False, 0),
                ("negated opposites at every use, then custom_transform",
                 functools.partial(negated_opposites, wide=True), 1.0, True, READ)],
}


def changed_words(original: str, changed: str) -> int:
    """Words of ``original`` deleted or replaced in ``changed`` (a word-level diff: edits may change the count)."""
    a, b = ([t for t in utils.tokenize(x) if t[:1].isalnum()] for x in (original, changed))
    return len(a) - sum(block.size for block in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_matching_blocks())


def run(options) -> dict:
    checkpoint = project_path(options.checkpoint)
    train = load_imdb(options.dataset, splits=("train",))["train"]
    tokenizer = AutoTokenizer.from_pretrained(options.model_name)
    unseen = calibration.unseen_reviews(train, tokenizer, checkpoint, options)
    rows = sorted(random.Random(options.seed).sample(unseen, options.validation_samples))
    validation = train.select(rows)
    accelerator = Accelerator(mixed_precision=resolve_mixed_precision("auto", "cpu"), cpu=True)
    folder = Path(tempfile.mkdtemp(prefix="reference-model-"))

    def transform(example, stage, strength, on_custom):
        rng = random.Random(f"{options.seed}:reference:{example['text']}")
        tokens = utils.tokenize(example["text"])
        stage(tokens, rng, strength)
        text = "".join(tokens)
        if on_custom:
            text = utils.custom_transform({"text": text}, seed=options.seed)["text"]
        return {**example, "text": text}

    def accuracy(split) -> float:
        tokens = main.tokenize(split, tokenizer, options.max_length, with_idx=True)
        return main.do_eval(eval_dataloader(tokens, tokenizer, 32), str(folder), folder / "predictions.txt",
                            accelerator, "auto")["accuracy"]

    points = FAMILIES[options.family]
    words = sum(t[:1].isalnum() for x in validation["text"] for t in utils.tokenize(x))
    try:
        calibration.model_folder(checkpoint, options.model_name, folder)
        what = " ".join(__doc__.split("\n\n")[{"reference": 2}.get(options.family, 3)].split())
        record = {"what": what, "checkpoint": checkpoint.name,
                  "validation_rows": rows, "validation_accuracy_original": accuracy(validation), "points": []}
        for name, stage, strength, on_custom, read in points:
            changed = validation.map(functools.partial(transform, stage=stage, strength=strength, on_custom=on_custom),
                                     load_from_cache_file=False)
            edited = sum(changed_words(x, y) for x, y in zip(validation["text"], changed["text"]))
            score = accuracy(changed)
            point = {"strength": strength, "accuracy": score,
                     "drop_points": round(100 * (record["validation_accuracy_original"] - score), 2),
                     # the reference's edits are all misspellings; the other families' count words changed
                     ("misspelt_word_share" if options.family == "reference" else "edited_word_share"):
                         round(edited / words, 4)}
            if options.family != "reference":
                point = {"edits": name, **point}
            record["points"].append(point)
            print(point, flush=True)
            # reviews the edits changed (the reference, sampled over all, changed nearly every one)
            readable = (range(len(rows)) if options.family == "reference" else
                        [i for i in range(len(rows)) if changed[i]["text"] != validation[i]["text"]])
            to_read = [{"id": f"{options.family}-{k + 1:03d}", "label": "pos" if changed[i]["label"] else "neg",
                        "review": utils.mark_changes(validation[i]["text"], changed[i]["text"]).replace("\t", " "),
                        "same_label": "", "reads_real": "", "note": f"train[{rows[i]}] {name}={strength}"}
                       for k, i in enumerate(random.Random(strength).sample(readable, read))]
            if to_read:
                path = project_path(f"results/audit/frontier_{options.family}_{strength}.tsv")
                audit_transform.write_tsv(to_read, path, audit_transform.REVIEW_COLUMNS)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    record["provenance"] = provenance(accelerator.device)
    write_json(project_path(options.results), record)
    return record


def parse_options(argv: list[str]):
    """The calibration's options (the same checkpoint, reviews and seed), plus ``--family``."""
    family = argparse.ArgumentParser(add_help=False)
    family.add_argument("--family", choices=sorted(FAMILIES), default="reference")
    known, rest = family.parse_known_args(argv)
    if "--results" not in rest:
        rest += ["--results", f"results/frontier_{known.family}.json"]
    options = calibration.parse_options(rest)
    options.family = known.family
    return options


if __name__ == "__main__":
    sys.exit(exit_code(run, parse_options(sys.argv[1:])))
