"""Shared fixtures: a tiny DistilBERT and a small learnable IMDB-shaped dataset, made offline in the test."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))
# One thread per test process (and the main.py runs it starts): `pytest -n auto` runs a worker per core, and
# multi-threaded tiny models only spin against each other there.
os.environ.setdefault("OMP_NUM_THREADS", "1")

POSITIVE = ["good", "great", "excellent", "wonderful", "superb", "brilliant", "enjoyable", "moving"]
NEGATIVE = ["bad", "awful", "terrible", "boring", "dreadful", "poor", "dull", "horrible"]
NEUTRAL = ["the", "movie", "film", "plot", "actor", "scene", "story", "was", "and", "it", "a", "director",
           "ending", "music", "cast", "this", "of", "is"]
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def synthetic_reviews(n: int, seed: int) -> list[dict]:
    """Reviews of neutral filler with 2-3 sentiment words of one polarity: learnable, balanced, IMDB-shaped."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = i % 2
        words = [rng.choice(NEUTRAL) for _ in range(rng.randint(6, 14))]
        for _ in range(rng.randint(2, 3)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(POSITIVE if label else NEGATIVE))
        if rng.random() < 0.3:
            words.insert(rng.randrange(len(words) + 1), "<br /><br />")
        rows.append({"text": " ".join(words).capitalize() + ".", "label": label})
    rng.shuffle(rows)
    return rows


def write_parquet(folder: Path, splits: dict[str, list[dict]]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in splits.items():
        pq.write_table(pa.Table.from_pylist(rows), folder / f"{name}.parquet")
    return folder


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    return write_parquet(tmp_path_factory.mktemp("data") / "imdb",
                         {"train": synthetic_reviews(400, seed=1), "test": synthetic_reviews(120, seed=2)})


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide DistilBERT with a word-level vocabulary, saved like a hub model folder."""
    import torch
    from transformers import DistilBertConfig, DistilBertForSequenceClassification, DistilBertTokenizer

    folder = tmp_path_factory.mktemp("models") / "tiny-distilbert"
    vocab = SPECIAL + sorted(set(POSITIVE + NEGATIVE + NEUTRAL + ["<", ">", "/", "br", "."]))
    tokenizer = DistilBertTokenizer(vocab={w: i for i, w in enumerate(vocab)}, model_max_length=64)
    torch.manual_seed(0)
    config = DistilBertConfig(vocab_size=len(vocab), dim=32, hidden_dim=64, n_layers=2, n_heads=2,
                              max_position_embeddings=64, num_labels=2)
    DistilBertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def offline_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "ACCELERATE_"))}
    # One thread per process: on a busy 2-core machine torch's thread pool makes the tiny models ~20x slower.
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    env.update(extra)
    return env


def run_main(args: list[str], cwd: Path, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run main.py as a user would, as a subprocess started from ``cwd``."""
    return subprocess.run([sys.executable, str(PROJECT_DIR / "main.py"), *map(str, args)], cwd=cwd,
                          env=env or offline_env(), capture_output=True, text=True, timeout=timeout)


# main.py run with settings that are no flags (fused_adamw, truncation, ...) set in code, as the study and the
# benchmarks set them
WITH_SETTINGS = ("import json, sys, main; from pipeline import errors; args = main.parse_args(sys.argv[2:]); vars(args).update(json.loads(sys.argv[1])); "
                 "sys.exit(errors.exit_code(main.run, args))")


def run_main_with(settings: dict, args: list, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    """``run_main`` with ``settings`` (attribute -> value) set on main.py's parsed arguments."""
    return subprocess.run([sys.executable, "-c", WITH_SETTINGS, json.dumps(settings), *map(str, args)], cwd=cwd,
                          env=offline_env(PYTHONPATH=str(PROJECT_DIR)), capture_output=True, text=True,
                          timeout=timeout)


def need_tools(*tools: str) -> None:
    """Skip when a command-line tool (TeX, poppler) is missing locally; in CI (``CI`` set) that is a failure."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        message = f"{', '.join(missing)} not on PATH (apt-get install texlive-latex-base texlive-latex-recommended " \
                  f"texlive-fonts-recommended latexmk poppler-utils)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
