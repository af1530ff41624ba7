"""Validity audit of the transformations: sample edits from held-out *training* reviews, judge them, summarise.

    python study/audit_transform.py sample --per_stage 60 --out results/audit/edits.tsv
    # ... a person fills in the columns same_label, fluent, same_meaning (y/n) of each row, per RUBRIC.md ...
    python study/audit_transform.py summarize results/audit/judged.tsv --out results/audit/summary.json

``sample`` draws reviews from the IMDB training split outside the calibration model's training subset
(``pipeline.data.subset(train, --train_samples, --data_seed)``), applies each stage ALONE at its strength (default:
the strengths in ``utils.CUSTOM_STAGES``, else the registry default), and keeps at most one edit per review and
stage (so the sample spreads over many reviews).  Each row shows the edit in its context as ``[[old -> new]]``.
An edit is *invalid* when any of the three judgements is "n"; ``summarize`` computes the invalid rate per stage
from the judged file (and fails on rows left unjudged).

``--stages wordnet_any_sense`` samples the baseline the ``synonym`` stage was restricted against: EDA's synonym
replacement (Wei & Zou 2019; nlpaug's WordNet augmenter likewise), any lemma of any WordNet synset of the word,
on the same words the ``synonym`` stage may touch, at EDA's rate of 0.1 per word. It is audited, never used.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

import utils  # noqa: E402
from pipeline.data import SHARED_DATA, load_imdb, project_path, subset  # noqa: E402
from pipeline.errors import UsageError, exit_code  # noqa: E402

# stages that reorder a review instead of editing words in place: one row shows the whole move
REORDERING_STAGES = frozenset({"opening_last"})
MOVED_CHARS = 700
COLUMNS = ("id", "stage", "strength", "label", "edit", "same_label", "fluent", "same_meaning", "note")
JUDGEMENTS = ("same_label", "fluent", "same_meaning")
CONTEXT_CHARS = 90


def edits(tokens: list[str], changed: list[str]) -> list[tuple[int, int]]:
    """Token spans [start, end) where ``changed`` differs from ``tokens`` (same length: stages edit in place);
    neighbouring changes separated only by spaces form one edit (a contraction merges three tokens)."""
    spans: list[list[int]] = []
    for i, (a, b) in enumerate(zip(tokens, changed)):
        if a != b:
            if spans and all(t.isspace() for t in tokens[spans[-1][1]:i]):
                spans[-1][1] = i + 1
            else:
                spans.append([i, i + 1])
    return [tuple(s) for s in spans]


def render(tokens: list[str], changed: list[str], span: tuple[int, int]) -> str:
    start, end = span
    # the context as the stage left it (the rubric's): a word edited at every occurrence shows so
    before = "".join(changed[:start])[-CONTEXT_CHARS:]
    after = "".join(changed[end:])[:CONTEXT_CHARS]
    old, new = "".join(tokens[start:end]), "".join(changed[start:end])
    return f"...{before}[[{old} -> {new}]]{after}...".replace("\t", " ").replace("\n", " ")


def render_move(tokens: list[str]) -> str:
    """The ``opening_last`` move of a review (original ``tokens``): how the review now opens, how it now ends, and
    the moved opening paragraph in full (up to MOVED_CHARS) after ``¶``."""
    spans = utils._paragraph_spans(tokens)
    text = ["".join(tokens[a:b]) for a, b in spans]
    moved = text[0] if len(text[0]) <= MOVED_CHARS else text[0][:MOVED_CHARS] + "..."
    return (f"OPENS NOW: {text[1][:2 * CONTEXT_CHARS]}... || ENDS NOW: ...{text[-1][-2 * CONTEXT_CHARS:]} "
            f"¶ [[{moved}]]").replace("\t", " ").replace("\n", " ")


def wordnet_any_sense(tokens: list[str], rng: random.Random, strength: float) -> None:
    """EDA's synonym replacement on ``utils``' replaceable words: each, with probability ``strength``, becomes a
    random lemma of any of its WordNet synsets (``_`` as a space), other than itself, its case kept."""
    from nltk.corpus import wordnet

    from pipeline.wordnet import ensure_wordnet

    ensure_wordnet()
    for i, tok in enumerate(tokens):
        if not utils._plain_word_at(tokens, i) or rng.random() >= strength:
            continue
        lemmas = sorted(name for name in {lemma.name().replace("_", " ") for synset in wordnet.synsets(tok)
                                          for lemma in synset.lemmas()} if name.lower() != tok)
        if lemmas:
            tokens[i] = utils._match_case(tok, rng.choice(lemmas))


# audited for comparison, never used by a transformation: name -> (stage function, strength)
BASELINE_STAGES = {"wordnet_any_sense": (wordnet_any_sense, 0.1)}


def stage_and_strength(name: str) -> tuple:
    """A token-level stage's function and its audited strength (custom_transform's, else its default)."""
    if name in BASELINE_STAGES:
        return BASELINE_STAGES[name]
    token_level = [n for n, (_, default) in utils.TRANSFORMS.items() if default is not None]
    if name not in token_level:
        raise UsageError(f"--stages: {name!r} is not a token-level transformation "
                         f"(valid: {', '.join([*token_level, *BASELINE_STAGES])})")
    function, default = utils.TRANSFORMS[name]
    strength = dict(utils.CUSTOM_STAGES).get(name, default)
    return function.__wrapped__, utils.check_strength(strength)


def held_out_reviews(dataset: str, train_samples: int, data_seed: int, seed: int):
    train = load_imdb(dataset, splits=("train",))["train"]
    used = set(subset(train, train_samples, data_seed)["text"])
    order = list(range(len(train)))
    random.Random(seed).shuffle(order)
    for i in order:
        row = train[i]
        if row["text"] not in used:
            yield i, row


def sample(options) -> list[dict]:
    names = options.stages or [name for name, _ in utils.CUSTOM_STAGES]
    rows = []
    for name in names:
        stage, strength = stage_and_strength(name)
        found = 0
        for index, row in held_out_reviews(options.dataset, options.train_samples, options.data_seed, options.seed):
            tokens = utils.tokenize(row["text"])
            changed = list(tokens)
            stage(changed, random.Random(f"{options.seed}:{name}:{row['text']}"), strength)
            if changed == tokens:
                continue
            if name in REORDERING_STAGES:
                edit = render_move(tokens)
            else:
                span = random.Random(f"{options.seed}:audit:{name}:{index}").choice(edits(tokens, changed))
                edit = render(tokens, changed, span)
            found += 1
            rows.append({"id": f"{name}-{found:03d}", "stage": name, "strength": strength,
                         "label": "pos" if row["label"] == 1 else "neg", "edit": edit,
                         "same_label": "", "fluent": "", "same_meaning": "", "note": f"train[{index}]"})
            if found == options.per_stage:
                break
    return rows


REVIEW_COLUMNS = ("id", "label", "review", "same_label", "reads_real", "note")
REVIEW_JUDGEMENTS = ("same_label", "reads_real")


def sample_reviews(options) -> list[dict]:
    """Whole reviews transformed by custom_transform (``--strength``: every stage's), changes marked."""
    stages = tuple((n, s if options.strength is None else options.strength) for n, s in utils.CUSTOM_STAGES)
    rows = []
    for index, row in held_out_reviews(options.dataset, options.train_samples, options.data_seed, options.seed):
        changed = utils.custom_transform(row, seed=options.seed, stages=stages)["text"]
        if changed == row["text"]:
            continue
        rows.append({"id": f"review-{len(rows) + 1:03d}", "label": "pos" if row["label"] == 1 else "neg",
                     "review": utils.mark_changes(row["text"], changed).replace("\t", " ").replace("\n", " "),
                     "same_label": "", "reads_real": "",
                     "note": f"train[{index}] stages {' '.join(f'{n}={s}' for n, s in stages)}"})
        if len(rows) == options.reviews:
            break
    return rows


def write_tsv(rows: list[dict], path: Path, columns=COLUMNS) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, columns, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def read_tsv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def summarize(rows: list[dict], source: str = "") -> dict:
    """Invalid rate per stage: an edit is invalid when any judgement is "n". For a whole-review file (``reviews``):
    how many keep their label and how many read like a real post."""
    if rows and "reads_real" in rows[0]:
        for row in rows:
            if any(row[k].strip().lower() not in ("y", "n") for k in REVIEW_JUDGEMENTS):
                raise UsageError(f"{source}: row {row['id']} is not fully judged (same_label, reads_real must be y/n)")
        keep = sum(r["same_label"].strip().lower() == "y" for r in rows)
        real = sum(r["reads_real"].strip().lower() == "y" for r in rows)
        return {"reviews": len(rows), "same_label": keep, "reads_real": real,
                "reads_real_share": round(real / len(rows), 4), "all_keep_label": keep == len(rows)}
    per_stage: dict[str, dict] = {}
    for row in rows:
        marks = [row[k].strip().lower() for k in JUDGEMENTS]
        if any(m not in ("y", "n") for m in marks):
            raise UsageError(f"{source}: row {row['id']} is not fully judged ({', '.join(JUDGEMENTS)} must be y/n)")
        s = per_stage.setdefault(row["stage"], {"strength": float(row["strength"]), "judged": 0, "invalid": 0,
                                                **{f"not_{k}": 0 for k in JUDGEMENTS}})
        s["judged"] += 1
        s["invalid"] += "n" in marks
        for k, m in zip(JUDGEMENTS, marks):
            s[f"not_{k}"] += m == "n"
    for s in per_stage.values():
        s["invalid_rate"] = round(s["invalid"] / s["judged"], 4)
    return {"judged": len(rows), "per_stage": per_stage,
            "max_invalid_rate": max((s["invalid_rate"] for s in per_stage.values()), default=None)}


def parse_options(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    sp = sub.add_parser("sample", help="write sampled edits with context to a TSV to judge")
    sp.add_argument("--dataset", default=str(SHARED_DATA / "imdb"), help="IMDB folder (train.parquet) or hub name")
    sp.add_argument("--stages", nargs="*", default=None,
                    help="token-level transformations to audit (default: the stages of custom_transform)")
    sp.add_argument("--per_stage", type=int, default=60, help="edits per stage (one per review)")
    sp.add_argument("--train_samples", type=int, default=5000,
                    help="size of the calibration model's training subset, whose reviews are excluded")
    sp.add_argument("--data_seed", type=int, default=42, help="seed of that subset")
    sp.add_argument("--seed", type=int, default=7, help="seed of the review order and of the transformations")
    sp.add_argument("--out", default="results/audit/edits.tsv", help="TSV to write (relative: to the project)")
    sr = sub.add_parser("reviews", help="whole reviews transformed by custom_transform, to judge as a whole")
    sr.add_argument("--dataset", default=str(SHARED_DATA / "imdb"), help="IMDB folder (train.parquet) or hub name")
    sr.add_argument("--reviews", type=int, default=30, help="changed reviews to write")
    sr.add_argument("--strength", type=float, default=None,
                    help="every stage's strength (default: custom_transform's)")
    sr.add_argument("--train_samples", type=int, default=5000, help="as for sample")
    sr.add_argument("--data_seed", type=int, default=42, help="as for sample")
    sr.add_argument("--seed", type=int, default=7, help="seed of the review order and of the transformation")
    sr.add_argument("--out", default="results/audit/reviews.tsv", help="TSV to write (relative: to the project)")
    ss = sub.add_parser("summarize", help="invalid rate per stage of a judged TSV, as JSON")
    ss.add_argument("judged", help="the judged TSV")
    ss.add_argument("--out", default=None, help="also write the summary JSON here")
    return ap.parse_args(argv)


def run(options) -> dict | list:
    if options.command == "reviews":
        rows = sample_reviews(options)
        write_tsv(rows, project_path(options.out), REVIEW_COLUMNS)
        print(f"{len(rows)} reviews written to {project_path(options.out)}")
        return rows
    if options.command == "sample":
        if options.per_stage < 1:
            raise UsageError(f"--per_stage must be >= 1, got {options.per_stage}")
        rows = sample(options)
        write_tsv(rows, project_path(options.out))
        print(f"{len(rows)} edits written to {project_path(options.out)}")
        return rows
    path = project_path(options.judged)
    if not path.is_file():
        raise UsageError(f"judged file {path} not found")
    summary = summarize(read_tsv(path), str(path))
    summary["judged_file"] = options.judged
    summary["judged_file_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    text = json.dumps(summary, indent=1)
    print(text)
    if options.out:
        project_path(options.out).write_text(text + "\n", encoding="utf-8")
    return summary


if __name__ == "__main__":
    sys.exit(exit_code(run, parse_options()))
