"""The preflight: check in seconds, before any training, what a run will need (``python main.py --preflight ...``).

On a login node before ``sbatch``, or at the start of a job, it finds what would otherwise stop a run late: a model or
dataset that is neither local nor in the Hugging Face cache on an offline node, WordNet missing for a transformation
that needs it, an output folder that cannot be written, GPUs that are not visible. Each check returns a short
summary or raises a UsageError whose message says what to do; ``run_checks`` runs them all and collects both.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable

from pipeline.data import UsageError, WEIGHT_FILES, find_local, hub_offline, load_imdb, resolve_model


def one_line(text: str) -> str:
    """A message on one line (the libraries' errors often span several)."""
    return " ".join(str(text).split())


def cached_weights(model_name: str) -> str | None:
    """The path of ``model_name``'s weights in the Hugging Face cache, or None when they are not there."""
    from huggingface_hub import try_to_load_from_cache

    for filename in WEIGHT_FILES:
        path = try_to_load_from_cache(model_name, filename)
        if isinstance(path, str):
            return path
    return None


def check_model(model_name: str, max_length: int | None = None) -> str:
    """Config, tokenizer and weights of ``--model_name`` reachable (local, cached, or hub), without loading weights."""
    from transformers import AutoConfig, AutoTokenizer

    source = resolve_model(model_name)  # a local folder with config.json, or a hub name that can be reached now
    folder = find_local(model_name)
    if folder is not None:
        if not any((folder / name).is_file() for name in WEIGHT_FILES):
            raise UsageError(f"--model_name {model_name}: {folder} has no weights ({' or '.join(WEIGHT_FILES)}); "
                             f"save the model there with save_pretrained() or download it again")
        where = f"local folder {folder}"
    elif hub_offline():
        if cached_weights(model_name) is None:
            raise UsageError(f"--model_name {model_name}: its weights are not in the Hugging Face cache and "
                             f"HF_HUB_OFFLINE=1; download it where there is internet (see scripts/README.md) "
                             f"or pass a local model folder")
        where = "Hugging Face cache"
    else:
        where = "the hub (weights downloaded by the run)"
    try:
        config = AutoConfig.from_pretrained(source)
        AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as error:
        raise UsageError(f"--model_name {model_name!r} could not be loaded ({one_line(error)}); pass a local model "
                         f"folder (see README, 'Running offline')") from error
    limit = getattr(config, "max_position_embeddings", None)
    if max_length is not None and limit is not None and max_length > limit:
        raise UsageError(f"--max_length {max_length} exceeds {model_name}'s {limit} positions; pass at most {limit}")
    return f"model {model_name}: {config.model_type}, {limit} positions, from {where}"


def check_dataset(dataset: str) -> tuple[str, dict[str, int]]:
    """The dataset loaded and validated as the run will load it; returns a summary and the split sizes."""
    data = load_imdb(dataset)
    sizes = {name: len(split) for name, split in data.items()}
    return f"dataset {dataset}: " + ", ".join(f"{n} {name}" for name, n in sizes.items()), sizes


def wordnet_installed() -> str | None:
    """Where NLTK finds its WordNet data (a folder or zip), without loading it; None when it does not."""
    import nltk

    for resource in ("corpora/wordnet", "corpora/wordnet.zip"):
        try:
            return str(nltk.data.find(resource))
        except LookupError:
            continue
    return None


def check_wordnet() -> str:
    """WordNet installed, or made usable now (downloaded, or built from Debian's files; see pipeline/wordnet.py)."""
    from pipeline.wordnet import ensure_wordnet

    found = wordnet_installed()
    if found is None:
        try:
            ensure_wordnet()
        except RuntimeError as error:
            raise UsageError(f"the transformation needs WordNet: {one_line(error)}") from error
        found = wordnet_installed() or "NLTK's data path"
    return f"WordNet: {found}"


def check_writable(folder: Path, flag: str) -> str:
    """``folder`` can be created or written: its nearest existing ancestor is a writable folder."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{flag} {folder}: {existing} is a file, not a folder; choose another {flag}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {folder}: {existing} is not writable; choose another {flag}")
    return f"{flag} {folder}: writable"


def check_gpus(expected: int) -> str:
    """At least ``expected`` CUDA GPUs visible to this process (0: no check)."""
    import torch

    if expected == 0:
        return "GPUs: none asked for"
    if torch.version.cuda is None and torch.version.hip is None:
        raise UsageError(f"--expect_gpus {expected}: torch {torch.__version__} is a CPU-only build; install its "
                         f"CUDA build (https://pytorch.org/get-started/locally/)")
    count = torch.cuda.device_count()
    if count < expected:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        raise UsageError(f"--expect_gpus {expected}: {count} GPU(s) visible (CUDA_VISIBLE_DEVICES={visible}); run "
                         f"on a node with {expected} GPUs (sbatch --gres=gpu:{expected}) or ask for fewer")
    names = sorted({torch.cuda.get_device_name(i) for i in range(count)})
    return f"GPUs: {count} visible ({', '.join(names)})"


def run_checks(checks: Iterable[Callable[[], str]]) -> tuple[list[str], list[str]]:
    """Run every check; returns the summaries of those that passed and the one-line problems of the others."""
    passed, problems = [], []
    for check in checks:
        try:
            passed.append(check())
        except UsageError as error:
            problems.append(one_line(error))
    return passed, problems
