"""The preflight: check in seconds, before any training, what a run will need (``python main.py --preflight ...``).

On a login node before ``sbatch``, or at the start of a job, it finds what would otherwise stop a run late: a model or
dataset that is neither local nor in the Hugging Face cache on an offline node, damaged weights, WordNet missing for a
transformation that needs it, a folder the run writes that cannot be written, a disk without room for the model and
its checkpoints, GPUs that are not visible. Each check returns a short
summary or raises a UsageError whose message says what to do; ``run_checks`` runs them all and collects both.
``report`` is ``--preflight`` itself; ``check_outputs`` runs the output checks at the start of a real run.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Iterable

from pipeline.augmentation import UNTRANSFORMED, augment_size
from pipeline.data import (
    WEIGHT_FILES,
    check_max_length,
    find_local,
    hub_offline,
    load_imdb,
    project_path,
    require_trained_model,
    require_writable,
    resolve_model,
    weight_count,
)
from pipeline.checkpoints import KEEP, checkpoint_root, finish_interrupted_save, resume_checkpoint, run_shape
from pipeline.errors import UsageError


def one_line(text: str) -> str:
    """A message on one line (the libraries' errors often span several)."""
    return " ".join(str(text).split())


def cached_weights(model_name: str) -> str | None:
    """The path of ``model_name``'s weights in the Hugging Face cache, or None when they are not there."""
    from huggingface_hub import try_to_load_from_cache

    for filename in WEIGHT_FILES:
        try:
            path = try_to_load_from_cache(model_name, filename)
        except ValueError:  # not a valid hub name, so not in the cache either
            return None
        if isinstance(path, str):
            return path
    return None


def check_model(model_name: str, max_length: int | None = None) -> str:
    """Config, tokenizer and weights of ``--model_name`` reachable (local, cached, or hub), without loading weights."""
    from transformers import AutoConfig, AutoTokenizer

    folder = find_local(model_name)
    if folder is None and model_name.startswith((".", "/", "~")):
        raise UsageError(f"--model_name {model_name}: no such folder; pass a model folder or a hub name")
    source = resolve_model(model_name)  # a local folder with config.json, or a hub name that can be reached now
    if folder is not None:
        if not any((folder / name).is_file() for name in WEIGHT_FILES):
            raise UsageError(f"--model_name {model_name}: {folder} has no weights ({' or '.join(WEIGHT_FILES)}); "
                             f"save the model there with save_pretrained() or download it again")
        where = "a local folder"
    elif hub_offline():
        if cached_weights(model_name) is None:
            raise UsageError(f"--model_name {model_name}: its weights are not in the Hugging Face cache and "
                             f"HF_HUB_OFFLINE=1; download it where there is internet (see scripts/README.md) "
                             f"or pass a local model folder")
        where = "the Hugging Face cache"
    else:
        where = "the hub (weights downloaded by the run)"
    try:
        config = AutoConfig.from_pretrained(source)
        AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as error:
        raise UsageError(f"--model_name {model_name!r} could not be loaded ({one_line(error)}); pass a local model "
                         f"folder (see README, 'Running offline')") from error
    if max_length is not None:
        check_max_length(config, max_length, model_name)
    positions = getattr(config, "max_position_embeddings", "?")
    return f"model {model_name}: {config.model_type}, {positions} positions, from {where}"


def check_dataset(dataset: str) -> tuple[str, dict[str, int]]:
    """The dataset loaded and validated as the run will load it; returns a summary and the split sizes."""
    data = load_imdb(dataset)
    sizes = {name: len(split) for name, split in data.items()}
    return f"dataset {dataset}: " + ", ".join(f"{n} {name}" for name, n in sizes.items()), sizes


def check_transformation(name: str, strength: float | None) -> str:
    """The transformations can run: their word lists, synonym table and inflection tables load (all come with the
    requirements), and ``name`` transforms a sample review."""
    import utils

    sample = {"text": "The actors were wonderful and the story kept me watching until the very end.", "label": 1}
    try:
        utils.prepare_word_lists()
        utils.get_transform(name, strength, seed=0)(sample)
    except (ImportError, OSError, LookupError) as error:
        raise UsageError(f"--transform {name} cannot run: {one_line(error)}; install the requirements "
                         f"(pip install -r requirements.txt)") from error
    return f"transformation {name}: ready"


def check_writable(folder: Path, flag: str, advice: str = "pass a folder you can write to") -> str:
    require_writable(folder, flag, advice)
    return f"{flag} {folder}: writable"


BYTES_PER_WEIGHT = 4  # fp32: the saved model's weights, and in a checkpoint also each of Adam's two moments


def pretrained_weights(model_name: str) -> int | None:
    """The number of weights of ``--model_name`` (local or in the Hugging Face cache), or None where unknown."""
    folder = find_local(model_name)
    if folder is None:
        cached = cached_weights(model_name)
        folder = Path(cached).parent if cached else None
    try:
        return weight_count(folder, "--model_name") if folder is not None else None
    except UsageError:  # damaged: check_model (and the run's loading) says so
        return None


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


def gigabytes(size: float) -> str:
    return f"{size / 1e9:.1f} GB" if size >= 1e8 else f"{size / 1e6:.1f} MB"


def check_free_space(model_dir: Path, model_name: str, checkpoint_every: int) -> str:
    """Room beside ``model_dir`` for what training writes there at most at once: the new model, built beside the
    old one, and the checkpoints (weights and Adam's two moments each: those kept, the one being written; one
    without --checkpoint_every, written when a signal stops the run), less the checkpoints already there."""
    weights = pretrained_weights(model_name)
    if weights is None:
        return f"free space beside {model_dir}: not checked (the size of {model_name} is unknown)"
    model, checkpoint = weights * BYTES_PER_WEIGHT, 3 * weights * BYTES_PER_WEIGHT
    count = KEEP + 1 if checkpoint_every else 1
    need = model + max(0, count * checkpoint - folder_bytes(checkpoint_root(model_dir)))
    existing = next(p for p in (model_dir, *model_dir.parents) if p.exists())
    free = shutil.disk_usage(existing).free
    if free < need:
        raise UsageError(f"--model_dir {model_dir}: {gigabytes(free)} free on its disk, and training writes up to "
                         f"{gigabytes(need)} there (the new model, {gigabytes(model)}, built beside the old one, and "
                         f"{count} checkpoint(s) of {gigabytes(checkpoint)}); free space there or pass a --model_dir "
                         f"on a disk with room")
    return f"free space beside {model_dir}: {gigabytes(free)}, training writes up to {gigabytes(need)}"


def check_trained_model(model_dir: Path, max_length: int | None = None) -> str:
    """A trained model in ``model_dir``, with positions for ``max_length`` tokens (read from its config.json)."""
    require_trained_model(model_dir)
    if max_length is not None:
        try:
            config = json.loads((model_dir / "config.json").read_text())
        except (OSError, ValueError) as error:
            raise UsageError(f"--model_dir {model_dir}: config.json cannot be read ({one_line(error)}); "
                             f"train the model again or point --model_dir at another") from error
        check_max_length(SimpleNamespace(**config), max_length, str(model_dir))
    return f"--model_dir {model_dir}: a trained model"


def allocated_gpus() -> int:
    """The GPUs SLURM allocated to this job (``SLURM_GPUS_ON_NODE``), 0 outside SLURM or where the job hid them to run
    on the CPU (``CUDA_VISIBLE_DEVICES=""``, as scripts/train.sbatch does with NUM_GPUS=0)."""
    if os.environ.get("CUDA_VISIBLE_DEVICES") == "":
        return 0
    try:
        return max(0, int(os.environ.get("SLURM_GPUS_ON_NODE", "0")))
    except ValueError:
        return 0


def check_gpus() -> str:
    """The GPUs SLURM allocated (``allocated_gpus``) are visible to this process; elsewhere, say how many are."""
    import torch

    expected = allocated_gpus()
    cuda_build = torch.version.cuda is not None or torch.version.hip is not None
    if expected and not cuda_build:
        raise UsageError(f"SLURM allocated {expected} GPU(s), but torch {torch.__version__} is a CPU-only build; "
                         f"install its CUDA build (https://pytorch.org/get-started/locally/)")
    count = torch.cuda.device_count() if cuda_build else 0
    if count < expected:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        raise UsageError(f"SLURM allocated {expected} GPU(s) (SLURM_GPUS_ON_NODE) but {count} are visible "
                         f"(CUDA_VISIBLE_DEVICES={visible}); check the job's --gres and the node's drivers")
    if count == 0:
        return "GPUs: none visible (the run uses the CPU)"
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


# ----------------------------------------------------------------------------------------------------------------
# The checks of a main.py command (its parsed arguments)
# ----------------------------------------------------------------------------------------------------------------

def transforms_data(args) -> bool:
    """Whether this command will transform reviews (for augmentation or for the transformed test set)."""
    return (args.train_augmented and args.transform != UNTRANSFORMED) or args.eval_transformed


def check_data(args) -> str:
    """--preflight: the dataset loads, and the augmentation fits in the training subset."""
    summary, sizes = check_dataset(args.dataset)
    if args.train_augmented:
        train_size = sizes["train"] if args.max_train_samples is None else min(args.max_train_samples, sizes["train"])
        augment_size(args.augment_size, train_size)
    return summary


def output_checks(args, model_dirs: list[Path], processes: int, mixed_precision: str | None = None) -> list:
    """What the command writes must be writable, ``--resume`` must find a checkpoint saved by a run of this shape, and
    an evaluation without training needs a trained model: one list of checks (each returns a summary or raises
    UsageError) for ``--preflight``, which reports every problem, and for a real run, which stops at the first."""
    training = args.train or args.train_augmented
    evaluating = args.eval or args.eval_transformed
    checks = []
    for model_dir in model_dirs:
        if training:
            # the new model is built beside the old one, and the checkpoints go there too: the parent is written
            checks.append(partial(check_writable, model_dir, "--model_dir"))
            checks.append(partial(check_writable, model_dir.parent, f"the folder of --model_dir {model_dir.name}",
                                  "the new model is built there beside the old one (and its checkpoints go there): "
                                  "pass a --model_dir in a folder you can write to"))
            checks.append(partial(check_writable, checkpoint_root(model_dir), "the checkpoints of --model_dir"))
            checks.append(partial(check_free_space, model_dir, args.model_name, args.checkpoint_every))
        if args.resume:
            shape = run_shape(processes, args.batch_size, args.gradient_accumulation_steps, mixed_precision)
            checks.append(partial(resume_checkpoint, model_dir, shape))
        if evaluating and not training:
            checks.append(partial(check_trained_model, model_dir, args.max_length))
    if evaluating:
        checks.append(partial(check_writable, project_path(args.output_dir), "the prediction folder"))
    return checks


def check_outputs(args, accelerator) -> None:
    """Before any slow work: ``output_checks`` for this run, the first problem raised.

    Only the main process checks (it is the one that writes; concurrent write probes would race). If it fails, it
    exits, and the launcher stops the other processes. First it completes a model save that a killed run left half
    done, so that what follows finds one whole model.
    """
    if accelerator.is_main_process:
        note = finish_interrupted_save(project_path(args.model_dir))
        if note:
            print(f"note: {note}", file=sys.stderr)
        for check in output_checks(args, [project_path(args.model_dir)], accelerator.num_processes,
                                   accelerator.mixed_precision):
            check()
    accelerator.wait_for_everyone()  # the other processes read the model folder only once it is whole


def report(args) -> int:
    """--preflight: check what this command will need, in seconds and without training; 0, or 2 and one line per
    problem. With --train and --train_augmented together it checks both runs (out/ and out_augmented/)."""
    import datasets

    datasets.disable_progress_bars()  # a short report: the summary, or the problems
    training = args.train or args.train_augmented
    checks = [partial(check_data, args)]
    if training:
        checks.append(partial(check_model, args.model_name, args.max_length))
    if transforms_data(args):
        checks.append(partial(check_transformation, args.transform, args.transform_strength))
    model_dirs = [args.model_dir] if args.model_dir else ["out", "out_augmented"]
    checks += output_checks(args, [project_path(d) for d in model_dirs], max(1, allocated_gpus()))
    checks.append(check_gpus)
    passed, problems = run_checks(checks)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        return 2
    print("preflight: ok, everything this command needs is in place")
    for line in passed:
        print(f"  {line}")
    return 0
