"""What the opinion-word transformation does to the stand-in's input: WordPiece pieces per edited word.

    python study/mechanism.py                         # all 25,000 test reviews -> results/mechanism.json
    python study/mechanism.py --max_reviews 5000      # a seeded subset (--data_seed), for a quick look

For every review of the IMDB test split, custom_transform is replayed stage by stage exactly as the full-scale
evaluation applied it (``utils.transform_dataset(test, "custom_transform", seed=--data_seed)``; the replay is checked
against ``utils.custom_transform`` review by review), so that each edited word is known with the stage that made it:

* a *synonym* (the synonym stage replaced it and the misspelling stage left it) or a *misspelling* (the misspelling
  stage changed it; the word it misspelt may itself be a synonym); an "a"/"an" made to agree is counted apart;
* its WordPiece pieces before and after (the stand-in's tokenizer: all-MiniLM-L6-v2, the uncased BERT vocabulary
  DistilBERT also uses), whether the original word was a single vocabulary token, and whether the original word's
  own token is still among the pieces of the edited form;
* whether the model reads it: it starts within the first ``max_length - 2`` pieces of the transformed review (the
  full-scale runs keep the head of a long review).

With the full-scale evaluations' prediction files (``out/out_original.txt``, ``out/out_transformed.txt``: one run,
seed 42) the reviews the model got right on the original text are split by what their edits were, and the share that
turned wrong is given per group: the link between the measured mechanism and the drop. Nothing is trained; the CPU
does tokenization only (about a minute for 25,000 reviews).

With ``--attribution_model`` (a model of the study over seeds, e.g. ``results/study/models/minilm-original-seed0``)
and ``--attribution_runs`` (its evaluations, ``results/study/runs/minilm-original-seed0``), the study's test reviews
(the seeded subset its ``original.json`` holds, the same transformation seed) are also read by that model: each word's
attribution is the absolute gradient x input of the predicted class's logit, summed over the word's pieces within the
model's ``--attribution_max_length`` tokens; an edit *hits* when an edited word is among the review's
``--top_k`` words of largest attribution. Among the reviews the model got right on the original text, the share that
turned wrong on the transformed text (its recorded predictions) is given for reviews whose edits hit and for those
whose read edits all missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from collections import Counter
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

import utils  # noqa: E402
from pipeline.data import SHARED_DATA, load_imdb, stand_in_model, subset  # noqa: E402
from pipeline.results import cpu_description, git_commit, read_predictions  # noqa: E402

ARTICLES = ("a", "an")
BREAK_TAG = "<br />"


def stage_function(name: str):
    """The token-level function of a stage, ``f(tokens, rng, strength)`` editing the list in place, as
    utils.custom_transform calls it."""
    function = utils.TRANSFORMS[name][0]
    return getattr(function, "__wrapped__", function)


def replay(text: str, seed: int, stages=None) -> tuple[list[str], list[str], dict[int, str]]:
    """custom_transform's token edits on ``text``, stage by stage: (tokens before, tokens after, {position: kind}),
    kind "synonym", "misspelling" or "article" (an "a"/"an" made to agree). Positions never shift: every stage replaces
    tokens in place."""
    rng = random.Random(f"{seed}:custom_transform:{text}")  # as utils.custom_transform seeds it
    before = utils.tokenize(text)
    tokens = list(before)
    kinds: dict[int, str] = {}
    for name, strength in stages or utils.CUSTOM_STAGES:
        previous = list(tokens)
        stage_function(name)(tokens, rng, strength)
        for i, (old, new) in enumerate(zip(previous, tokens)):
            if old == new:
                continue
            if old.lower() in ARTICLES and new.lower() in ARTICLES:
                kinds[i] = "article"
            else:
                kinds[i] = "misspelling" if name == "opinion_typo" else "synonym"
    return before, tokens, kinds


class Pieces:
    """WordPiece pieces of single words, cached."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.cache: dict[str, list[str]] = {}

    def __call__(self, word: str) -> list[str]:
        if word not in self.cache:
            self.cache[word] = self.tokenizer.tokenize(word)
        return self.cache[word]


def read_positions(tokenizer, text: str, char_starts: list[int], readable: int) -> list[bool]:
    """For each character offset, whether the word starting there lies within the first ``readable`` pieces."""
    offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    if len(offsets) <= readable:
        return [True] * len(char_starts)
    limit = offsets[readable][0]  # the first character the model does not read
    return [start < limit for start in char_starts]


def analyse(reviews, tokenizer, seed: int, max_length: int, stages=None) -> tuple[list[dict], list[dict]]:
    """(one record per edited word occurrence, one record per review)."""
    pieces = Pieces(tokenizer)
    words, per_review = [], []
    for index, example in enumerate(reviews):
        text = example["text"] or ""
        before, after, kinds = replay(text, seed, stages)
        transformed = "".join(after)
        expected = utils.custom_transform({"text": text}, seed=seed, stages=stages)["text"]
        if transformed != expected:
            raise AssertionError(f"review {index}: the replay differs from custom_transform")
        edited = sorted(i for i, kind in kinds.items() if kind != "article")
        starts, position = [], 0
        start_of = {}
        for i, tok in enumerate(after):
            start_of[i] = position
            position += len(tok)
        starts = [start_of[i] for i in edited]
        read = read_positions(tokenizer, transformed, starts, max_length - 2) if edited else []
        review = {"index": index, "label": int(example["label"]), "edited": len(edited),
                  "articles": sum(kind == "article" for kind in kinds.values()),
                  "misspellings": 0, "synonyms": 0, "read": 0, "read_misspellings": 0,
                  "pieces_added": 0}
        for i, is_read in zip(edited, read):
            old, new = before[i], after[i]
            p_old, p_new = pieces(old), pieces(new)
            kind = kinds[i]
            words.append({"kind": kind, "old": old.lower(), "new": new.lower(), "pieces_before": len(p_old),
                          "pieces_after": len(p_new), "single_before": len(p_old) == 1 and p_old != ["[UNK]"],
                          "keeps_token": old.lower() in p_new, "read": is_read})
            review["misspellings" if kind == "misspelling" else "synonyms"] += 1
            review["read"] += is_read
            review["read_misspellings"] += is_read and kind == "misspelling"
            review["pieces_added"] += len(p_new) - len(p_old)
        per_review.append(review)
    return words, per_review


def word_summary(words: list[dict]) -> dict:
    """Per kind of edit: occurrences, distinct words, mean pieces before and after, the share of single-token
    originals, the share of those split into two or more pieces, the share that keep the original's token."""
    out = {}
    for kind in ("synonym", "misspelling", "all"):
        rows = [w for w in words if kind == "all" or w["kind"] == kind]
        if not rows:
            out[kind] = {"occurrences": 0}
            continue
        single = [w for w in rows if w["single_before"]]
        out[kind] = {
            "occurrences": len(rows),
            "distinct_words": len({(w["old"], w["new"]) for w in rows}),
            "mean_pieces_before": sum(w["pieces_before"] for w in rows) / len(rows),
            "mean_pieces_after": sum(w["pieces_after"] for w in rows) / len(rows),
            "single_token_before_share": len(single) / len(rows),
            "single_token_after_share": sum(w["pieces_after"] == 1 for w in rows) / len(rows),
            "single_token_split_share": (sum(w["pieces_after"] >= 2 for w in single) / len(single)) if single else None,
            "keeps_original_token_share": sum(w["keeps_token"] for w in rows) / len(rows),
            "read_share": sum(w["read"] for w in rows) / len(rows),
            "pieces_after_histogram": dict(sorted(Counter(str(min(w["pieces_after"], 5)) for w in rows).items())),
        }
    return out


def flip_summary(per_review: list[dict], original: list[int] | None, transformed: list[int] | None) -> dict | None:
    """Among the reviews the model got right on the original text: how many turned wrong after the transformation,
    by what the model read of their edits."""
    if original is None or transformed is None:
        return None
    groups = {
        "no_edit_read": lambda r: r["read"] == 0,
        "synonyms_only_read": lambda r: r["read"] > 0 and r["read_misspellings"] == 0,
        "misspelling_read": lambda r: r["read_misspellings"] > 0,
    }
    out = {}
    for name, member in groups.items():
        rows = [r for r in per_review if member(r) and original[r["index"]] == r["label"]]
        flipped = sum(transformed[r["index"]] != r["label"] for r in rows)
        out[name] = {"right_on_original": len(rows), "turned_wrong": flipped,
                     "turned_wrong_share": flipped / len(rows) if rows else None}
    return out


def word_spans(tokens: list[str]) -> list[tuple[int, int]]:
    """Character span of every token of ``utils.tokenize``."""
    spans, position = [], 0
    for tok in tokens:
        spans.append((position, position + len(tok)))
        position += len(tok)
    return spans


def attribution_hits(reviews, model_dir: Path, seed: int, max_length: int, top_k: int, stages=None) -> list[dict]:
    """Per review: whether an edit the model reads hits one of the ``top_k`` words with the largest gradient x input
    attribution (absolute, summed over the word's pieces) of the model's predicted class on the original text."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.set_num_threads(1)  # one review at a time: more threads only contend with other jobs on a small CPU
    tokenizer = AutoTokenizer.from_pretrained(stand_in_model())
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    embeddings = model.get_input_embeddings()
    out = []
    for index, example in enumerate(reviews):
        text = example["text"] or ""
        before, _, kinds = replay(text, seed, stages)
        spans = word_spans(before)
        edited = {i for i, kind in kinds.items() if kind != "article"}
        enc = tokenizer(text, truncation=True, max_length=max_length, return_offsets_mapping=True,
                        return_tensors="pt")
        offsets = enc.pop("offset_mapping")[0].tolist()
        inputs = embeddings(enc["input_ids"]).detach().requires_grad_(True)
        logits = model(inputs_embeds=inputs, attention_mask=enc["attention_mask"]).logits[0]
        logits[int(logits.argmax())].backward()
        scores = (inputs.grad[0] * inputs[0]).sum(-1).abs().tolist()
        read_until = max(end for _, end in offsets)  # the last character the model reads
        word_score: dict[int, float] = {}
        k = 0
        for (start, end), score in zip(offsets, scores):
            if start == end:  # [CLS], [SEP]
                continue
            while k < len(spans) and spans[k][1] <= start:
                k += 1
            if k < len(spans):
                word_score[k] = word_score.get(k, 0.0) + score
        words = [i for i in word_score if before[i][:1].isalnum()]
        top = set(sorted(words, key=lambda i: -word_score[i])[:top_k])
        read = {i for i in edited if spans[i][0] < read_until}
        out.append({"index": index, "label": int(example["label"]), "read_edits": len(read),
                    "hit": bool(read & top)})
    return out


def attribution_summary(hits: list[dict], original: list[int], transformed: list[int]) -> dict:
    """Right on the original text: the share that turned wrong, for reviews whose read edits hit a top word and for
    those whose read edits all missed (with Fisher's exact test of the two shares: different reviews, so not
    McNemar's); and accuracy on the transformed text of each group."""
    from scipy.stats import fisher_exact

    out = {}
    for name, member in (("edit_hits_top_words", lambda r: r["read_edits"] > 0 and r["hit"]),
                         ("edits_miss_top_words", lambda r: r["read_edits"] > 0 and not r["hit"])):
        rows = [r for r in hits if member(r)]
        right = [r for r in rows if original[r["index"]] == r["label"]]
        flipped = sum(transformed[r["index"]] != r["label"] for r in right)
        out[name] = {"reviews": len(rows), "right_on_original": len(right), "turned_wrong": flipped,
                     "turned_wrong_share": flipped / len(right) if right else None,
                     "accuracy_original": (sum(original[r["index"]] == r["label"] for r in rows) / len(rows)
                                           if rows else None),
                     "accuracy_transformed": (sum(transformed[r["index"]] == r["label"] for r in rows) / len(rows)
                                              if rows else None)}
    hit, miss = out["edit_hits_top_words"], out["edits_miss_top_words"]
    table = [[hit["turned_wrong"], hit["right_on_original"] - hit["turned_wrong"]],
             [miss["turned_wrong"], miss["right_on_original"] - miss["turned_wrong"]]]
    out["fisher_exact_p"] = float(fisher_exact(table)[1]) if hit["right_on_original"] and miss["right_on_original"] else None
    return out


def run_record(path: Path) -> dict:
    record = json.loads(path.read_text())
    return record


def predictions(folder: Path, name: str, labels: list[int]) -> list[int] | None:
    path = folder / f"{name}.txt"
    if not path.is_file():
        return None
    preds, file_labels = read_predictions(path)
    if file_labels != labels:
        raise SystemExit(f"mechanism: {path} is not in the order of the test split (labels differ)")
    return preds


def attribution(args, test) -> dict:
    """The attribution half: the study's test reviews, its model, its recorded predictions."""
    runs = args.attribution_runs
    original_run, transformed_run = (run_record(runs / f"{name}.json") for name in ("original", "custom_transform"))
    size = original_run["examples"]
    reviews = subset(test, size, args.data_seed)  # the study's test subset (run_study.py: the same seed)
    labels = [int(x) for x in reviews["label"]]
    if labels != original_run["labels"] or labels != transformed_run["labels"]:
        raise SystemExit(f"mechanism: {runs} holds other reviews than the seeded subset of {size}")
    training = original_run.get("training") or {}
    max_length = args.attribution_max_length or training.get("max_length")
    hits = attribution_hits(reviews, args.attribution_model, args.data_seed, max_length, args.top_k)
    return {"model": str(args.attribution_model.relative_to(PROJECT_DIR)) if args.attribution_model.is_absolute()
            and PROJECT_DIR in args.attribution_model.parents else str(args.attribution_model),
            "runs": str(runs), "seed": original_run.get("seed"), "train_examples": training.get("train_examples"),
            "reviews": size, "max_length": max_length, "top_k": args.top_k,
            "method": "absolute gradient x input of the predicted class's logit, summed over a word's pieces",
            "groups": attribution_summary(hits, original_run["predictions"], transformed_run["predictions"])}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default=str(SHARED_DATA / "imdb"))
    ap.add_argument("--data_seed", type=int, default=42, help="the transformation's seed (the full-scale runs': 42)")
    ap.add_argument("--max_reviews", type=int, default=None,
                    help="a seeded subset of the test split (default: all of it)")
    ap.add_argument("--max_length", type=int, default=512, help="the pieces the full-scale model reads, [CLS] and "
                                                                  "[SEP] included")
    ap.add_argument("--predictions", type=Path, default=PROJECT_DIR / "out",
                    help="folder of the full-scale out_original.txt / out_transformed.txt (used when whole split)")
    ap.add_argument("--output", type=Path, default=PROJECT_DIR / "results" / "mechanism.json")
    ap.add_argument("--attribution_model", type=Path, default=None,
                    help="a trained model of the study over seeds whose attributions to read (optional)")
    ap.add_argument("--attribution_runs", type=Path, default=None,
                    help="that model's evaluations: original.json and custom_transform.json of the study")
    ap.add_argument("--attribution_max_length", type=int, default=None,
                    help="the tokens the model reads (default: its training record's max_length)")
    ap.add_argument("--top_k", type=int, default=3, help="words of largest attribution an edit may hit")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoTokenizer

    start = time.time()
    test = load_imdb(args.dataset, splits=("test",))["test"]
    reviews = subset(test, args.max_reviews, args.data_seed)
    model_path = stand_in_model()
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    utils.prepare_word_lists()
    words, per_review = analyse(reviews, tokenizer, args.data_seed, args.max_length)
    whole = len(reviews) == len(test)
    labels = [int(x) for x in reviews["label"]]
    original = predictions(args.predictions, "out_original", labels) if whole else None
    transformed = predictions(args.predictions, "out_transformed", labels) if whole else None
    record = {
        "what": "WordPiece pieces per word edited by custom_transform (the opinion-word transformation), before and "
                "after, on the IMDB test reviews; and, with the full-scale model's predictions, the share of reviews "
                "it got right that turned wrong, by what it read of their edits",
        "tokenizer": {"path": model_path, "name": "all-MiniLM-L6-v2", "vocab_size": tokenizer.vocab_size,
                      "lowercase": bool(getattr(tokenizer, "do_lower_case", True)),
                      "break_tag_pieces": tokenizer.tokenize(BREAK_TAG)},
        "data": {"dataset": args.dataset, "split": "test", "reviews": len(reviews), "of": len(test),
                 "subset": None if whole else f"seeded shuffle (seed {args.data_seed}), first {len(reviews)}",
                 "transformation_seed": args.data_seed, "stages": [list(s) for s in utils.CUSTOM_STAGES],
                 "max_length": args.max_length},
        "reviews": {"total": len(per_review), "with_edit": sum(r["edited"] > 0 for r in per_review),
                    "with_misspelling": sum(r["misspellings"] > 0 for r in per_review),
                    "with_edit_read": sum(r["read"] > 0 for r in per_review),
                    "edited_words": sum(r["edited"] for r in per_review),
                    "articles_made_to_agree": sum(r["articles"] for r in per_review),
                    "mean_pieces_added_per_review": sum(r["pieces_added"] for r in per_review) / len(per_review)},
        "words": word_summary(words),
        "flips": flip_summary(per_review, original, transformed),
        "flips_source": ({"original": str((args.predictions / "out_original.txt").relative_to(PROJECT_DIR)),
                          "transformed": str((args.predictions / "out_transformed.txt").relative_to(PROJECT_DIR)),
                          "model": "the full-scale original model (seed 42)"} if original and transformed else None),
        "most_frequent_misspellings": [
            {"old": old, "new": new, "occurrences": n}
            for (old, new), n in Counter((w["old"], w["new"]) for w in words
                                         if w["kind"] == "misspelling").most_common(10)],
        "provenance": {"script": "study/mechanism.py", "git_commit": git_commit(), "seconds": round(time.time() - start, 1),
                       "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                       "hardware": f"{platform.machine()}, {os.cpu_count()} cores, cpu", "cpu": cpu_description(),
                       "python": platform.python_version()},
    }
    if args.attribution_model is not None:
        record["attribution"] = attribution(args, test)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(record, indent=1) + "\n")
    w = record["words"]
    print(f"mechanism: {len(per_review)} reviews, {record['reviews']['edited_words']} edited words; misspellings "
          f"{w['misspelling'].get('mean_pieces_before', 0):.2f} -> {w['misspelling'].get('mean_pieces_after', 0):.2f} "
          f"pieces; synonyms {w['synonym'].get('mean_pieces_before', 0):.2f} -> "
          f"{w['synonym'].get('mean_pieces_after', 0):.2f} -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
