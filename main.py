"""Fine-tune a pretrained encoder (DistilBERT by default) for IMDB sentiment, and measure its robustness.

    python main.py --train --eval                       # fine-tune, then evaluate on the test set
    python main.py --eval_transformed --debug_transformation   # print 5 transformed test reviews
    python main.py --eval_transformed                   # evaluate out/ on the transformed test set
    python main.py --train_augmented --eval_transformed # fine-tune on train + 5,000 transformed reviews
    python main.py --eval --model_dir out_augmented

Multi-GPU: ``accelerate launch --num_processes 2 main.py --train --eval`` runs the same loop data-parallel.
See README.md for every flag, the outputs, and how paths are resolved (always against this folder).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import sys
import time
from functools import partial
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from datasets import concatenate_datasets
from torch.optim import AdamW
from tqdm.auto import tqdm
from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

import utils
from pipeline.batching import eval_dataloader, train_dataloader
from pipeline.data import (
    UsageError,
    exit_code,
    load_imdb,
    load_pretrained,
    project_path,
    require_trained_model,
    subset,
)
from pipeline.precision import (
    attention_dropout_of,
    fp32_attention_if_cpu_bf16,
    resolve_attention_dropout,
    resolve_mixed_precision,
    restore_attention,
)
from pipeline.results import provenance, write_json, write_predictions

DEBUG_TRAIN_SAMPLES, DEBUG_EVAL_SAMPLES = 4000, 1000  # the starter's --debug_train subset sizes
FULL_TRAIN_SIZE, DEFAULT_AUGMENT_SIZE = 25_000, 5000  # the assignment's recipe: 25k reviews + 5k transformed
TRAINING_INFO = "training_info.json"


def attention_dropout_choice(value: str) -> str:
    if value in ("auto", "model"):
        return value
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 <= number < 1:
        raise argparse.ArgumentTypeError(f"expected auto, model or a number in [0, 1), got {value!r}")
    return value


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="main.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_argument_group("what to do (at least one)")
    actions.add_argument("--train", action="store_true", help="fine-tune on the training split; saves to out/")
    actions.add_argument("--train_augmented", action="store_true",
                         help="fine-tune on the training split plus --augment_size transformed reviews; "
                              "saves to out_augmented/ and never touches out/")
    actions.add_argument("--eval", action="store_true",
                         help="evaluate the model in --model_dir on the test split (out/<model>_original.txt)")
    actions.add_argument("--eval_transformed", action="store_true",
                         help="evaluate on the transformed test split (out/<model>_transformed.txt)")
    actions.add_argument("--debug_transformation", action="store_true",
                         help="with --eval_transformed: print 5 seeded transformed test reviews, changes marked, "
                              "and exit (no model needed)")
    actions.add_argument("--debug_train", action="store_true",
                         help=f"use seeded subsets ({DEBUG_TRAIN_SAMPLES} train, {DEBUG_EVAL_SAMPLES} test reviews) "
                              "to debug the loop quickly")

    paths = parser.add_argument_group("models, data and outputs")
    paths.add_argument("--model_dir", default=None,
                       help="trained model folder: where --train/--train_augmented save and --eval/--eval_transformed "
                            "load (default: out, or out_augmented with --train_augmented); relative paths resolve "
                            "against this project's folder, not the working directory")
    paths.add_argument("--model_name", default="distilbert-base-uncased",
                       help="pretrained model to fine-tune: a hub name or a local model folder")
    paths.add_argument("--dataset", default="imdb",
                       help="hub dataset name, or a local folder with train.parquet and test.parquet in the hub's "
                            "imdb schema (text, label 0/1), e.g. ../shared/data/imdb")
    paths.add_argument("--output_dir", default="out",
                       help="where prediction files and their JSON records go (relative: to this project's folder)")

    training = parser.add_argument_group("training")
    training.add_argument("--learning_rate", type=float, default=5e-5, help="peak AdamW learning rate")
    training.add_argument("--num_epochs", type=int, default=3, help="training epochs")
    training.add_argument("--batch_size", type=int, default=8, help="training batch size per device")
    training.add_argument("--eval_batch_size", type=int, default=32, help="evaluation batch size per device")
    training.add_argument("--gradient_accumulation_steps", type=int, default=1,
                          help="micro-batches per optimizer step (effective batch = batch_size x this x GPUs)")
    training.add_argument("--warmup_ratio", type=float, default=0.1,
                          help="fraction of optimizer steps with linearly rising learning rate")
    training.add_argument("--weight_decay", type=float, default=0.01,
                          help="AdamW weight decay (not applied to biases and LayerNorm weights)")
    training.add_argument("--max_grad_norm", type=float, default=1.0, help="gradient clipping norm")
    training.add_argument("--mixed_precision", choices=["auto", "no", "fp16", "bf16"], default="auto",
                          help="auto: bf16 on GPUs that support it, else fp16 with a loss scaler; on CPU bf16 "
                               "where the CPU has native bf16 (AMX or AVX512_BF16), else fp32")
    training.add_argument("--attention_dropout", type=attention_dropout_choice, default="auto",
                          help="dropout on the attention probabilities: auto (0 on CPU, where it would cost half "
                               "the step; the model's own on GPU), model (the model's own), or a number in [0, 1)")
    training.add_argument("--seed", type=int, default=42,
                          help="seed for initialisation, dropout and batch order")
    training.add_argument("--checkpoint_every", type=int, default=0,
                          help="save a resumable checkpoint every N optimizer steps and at each epoch end (0: never)")
    training.add_argument("--resume", action="store_true",
                          help="continue training from the newest checkpoint in <model_dir>_checkpoints/")

    sizes = parser.add_argument_group("data sizes")
    sizes.add_argument("--max_length", type=int, default=512, help="truncate reviews to this many tokens")
    sizes.add_argument("--max_train_samples", type=int, default=None,
                       help="train on a seeded random subset of this many reviews (for CPU runs)")
    sizes.add_argument("--max_eval_samples", type=int, default=None,
                       help="evaluate on a seeded random subset of this many test reviews (for CPU runs)")
    sizes.add_argument("--data_seed", type=int, default=42,
                       help="seed of the subsets, the augmentation sample and the transformations; kept apart from "
                            "--seed so that runs with different seeds see the same (transformed) reviews")

    transforms = parser.add_argument_group("transformations and augmentation")
    transforms.add_argument("--transform", default="custom_transform",
                            help=f"transformation for --eval_transformed, --debug_transformation and "
                                 f"--train_augmented; one of: {', '.join(utils.TRANSFORM_NAMES)}")
    transforms.add_argument("--transform_strength", type=float, default=None,
                            help="strength of --transform (its probability per word or character; default: its own)")
    transforms.add_argument("--augment_size", type=int, default=None,
                            help=f"transformed training reviews added by --train_augmented (default "
                                 f"{DEFAULT_AUGMENT_SIZE}; with a training subset, the same 1/5 proportion)")

    args = parser.parse_args(argv)
    check_args(parser, args)
    return args


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Reject invalid combinations right after parsing, before anything slow happens."""
    if args.debug_transformation and not args.eval_transformed:
        parser.error("--debug_transformation prints transformed test examples: use it with --eval_transformed")
    if not (args.train or args.train_augmented or args.eval or args.eval_transformed):
        parser.error("nothing to do: pass --train, --train_augmented, --eval and/or --eval_transformed")
    if args.train and args.train_augmented:
        parser.error("--train and --train_augmented train different models (out/ and out_augmented/): run one at a time")
    if args.debug_transformation and (args.train or args.train_augmented or args.eval):
        parser.error("--debug_transformation only prints examples and exits: run it without --train/--eval")
    if args.resume and not (args.train or args.train_augmented):
        parser.error("--resume continues a training run: use it with --train or --train_augmented")
    if args.transform not in utils.TRANSFORM_NAMES:
        parser.error(f"unknown --transform {args.transform!r}; choose one of: {', '.join(utils.TRANSFORM_NAMES)}")
    if args.transform_strength is not None and utils.TRANSFORMS[args.transform].default_strength is None:
        parser.error(f"--transform {args.transform} is a whole-example transformation and takes no "
                     f"--transform_strength; strengths apply to: "
                     f"{', '.join(n for n, s in utils.TRANSFORMS.items() if s.default_strength is not None)}")
    if args.transform_strength is not None and args.transform_strength < 0:
        parser.error(f"--transform_strength must be >= 0 (got {args.transform_strength})")
    positive = ["learning_rate", "num_epochs", "batch_size", "eval_batch_size", "gradient_accumulation_steps",
                "max_length", "max_train_samples", "max_eval_samples", "augment_size"]
    for name in positive:
        value = getattr(args, name)
        if value is not None and value <= 0:
            parser.error(f"--{name} must be positive (got {value})")
    if not 0 <= args.warmup_ratio < 1:
        parser.error(f"--warmup_ratio must be in [0, 1) (got {args.warmup_ratio})")
    if args.checkpoint_every < 0:
        parser.error(f"--checkpoint_every must be 0 (off) or positive (got {args.checkpoint_every})")
    if args.debug_train:
        args.max_train_samples = args.max_train_samples or DEBUG_TRAIN_SAMPLES
        args.max_eval_samples = args.max_eval_samples or DEBUG_EVAL_SAMPLES
    if args.model_dir is None:
        args.model_dir = "out_augmented" if args.train_augmented else "out"


# ----------------------------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------------------------

def tokenize_function(examples, tokenizer, max_length: int):
    """Batched fast tokenization, truncated but not padded: each batch is padded to its own longest review."""
    return tokenizer(examples["text"], truncation=True, max_length=max_length, return_length=True)


def tokenize(split, tokenizer, args, with_idx: bool = False):
    """Tokenize a split once; ``labels`` for the model, ``length`` for batching, ``idx`` to restore order."""
    if with_idx:
        split = split.add_column("idx", list(range(len(split))))
    return split.map(
        partial(tokenize_function, tokenizer=tokenizer, max_length=args.max_length),
        batched=True,
        remove_columns=["text"],
        desc="Tokenizing",
    ).rename_column("label", "labels")


def augment_size(args, train_size: int) -> int:
    if args.augment_size is not None:
        if args.augment_size > train_size:
            raise UsageError(f"--augment_size {args.augment_size} is more than the {train_size} training reviews; "
                             f"pass at most {train_size}")
        return args.augment_size
    return min(DEFAULT_AUGMENT_SIZE, round(train_size * DEFAULT_AUGMENT_SIZE / FULL_TRAIN_SIZE))


def augmented_training_set(args, train):
    """The training split plus a seeded random sample of its reviews, transformed (labels unchanged)."""
    sample = train.shuffle(seed=args.data_seed).select(range(augment_size(args, len(train))))
    transformed = utils.transform_dataset(sample, args.transform, args.transform_strength, seed=args.data_seed)
    return concatenate_datasets([train, transformed])


def create_augmented_dataloader(args, dataset, tokenizer, on_cuda: bool = False):
    """The augmented training set in length-grouped batches, through the same data path as --train."""
    args.augment_size = augment_size(args, len(dataset["train"]))  # resolved, for training_info.json
    augmented = augmented_training_set(args, dataset["train"])
    return train_dataloader(tokenize(augmented, tokenizer, args), tokenizer, args.batch_size, args.seed, on_cuda)


def show_transformed_examples(args, test_split, count: int = 5) -> None:
    """Print ``count`` seeded test reviews before and after the transformation, changed words marked."""
    small = test_split.shuffle(seed=args.data_seed).select(range(min(count, len(test_split))))
    transformed = utils.transform_dataset(small, args.transform, args.transform_strength, seed=args.data_seed)
    for k, (before, after) in enumerate(zip(small, transformed)):
        print(f"Example {k} (label {before['label']}), transformation {args.transform}")
        print("Original:   ", before["text"])
        print("Transformed:", utils.mark_changes(before["text"], after["text"]))
        print("=" * 30)


def create_transformed_dataloader(args, dataset, tokenizer, debug_transformation: bool, on_cuda: bool = False):
    """The transformed test split in length-sorted batches; with ``debug_transformation``, print samples instead."""
    if debug_transformation:
        show_transformed_examples(args, dataset["test"])
        return None
    transformed = utils.transform_dataset(dataset["test"], args.transform, args.transform_strength,
                                          seed=args.data_seed)
    return eval_dataloader(tokenize(transformed, tokenizer, args, with_idx=True), tokenizer,
                           args.eval_batch_size, on_cuda)


# ----------------------------------------------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------------------------------------------

class TrainingPosition:
    """Where training stands, saved in checkpoints so that --resume continues at the same batch.

    ``shape`` (processes, per-device batch size, accumulation) fixes what a batch index means: a checkpoint can only
    be resumed by a run of the same shape.
    """

    def __init__(self, shape: dict | None = None):
        self.epoch, self.batches_done, self.global_step = 0, 0, 0
        self.shape = shape or {}

    def state_dict(self):
        return {"epoch": self.epoch, "batches_done": self.batches_done, "global_step": self.global_step,
                "shape": self.shape}

    def load_state_dict(self, state):
        self.epoch, self.batches_done, self.global_step = state["epoch"], state["batches_done"], state["global_step"]


def check_resumable(checkpoint: Path, position: TrainingPosition) -> None:
    """Refuse a checkpoint saved by a run of another shape: its batch positions would point at other batches."""
    saved = json.loads((checkpoint / "position.json").read_text()).get("shape") or {}
    differences = [f"{key} {saved[key]} (now {position.shape[key]})" for key in position.shape
                   if key in saved and saved[key] != position.shape[key]]
    if differences:
        raise UsageError(f"--resume: {checkpoint} was saved with {', '.join(differences)}; resume with the same "
                         f"--batch_size, --gradient_accumulation_steps and number of processes "
                         f"(accelerate launch --num_processes {saved.get('processes', 1)})")


def checkpoint_root(save_dir: Path) -> Path:
    return save_dir.with_name(save_dir.name + "_checkpoints")


def checkpoints(save_dir: Path) -> list[Path]:
    """The checkpoint folders of ``save_dir``'s run, oldest first."""
    return sorted(checkpoint_root(save_dir).glob("step-*"), key=lambda p: int(p.name.split("-")[1]))


def latest_checkpoint(save_dir: Path) -> Path | None:
    complete = [p for p in checkpoints(save_dir) if (p / "position.json").is_file()]
    return complete[-1] if complete else None


def save_checkpoint(accelerator: Accelerator, save_dir: Path, position: TrainingPosition, keep: int = 2) -> None:
    """Model, optimizer, scheduler, RNG states and position; ``position.json`` is written last, marking it complete."""
    folder = checkpoint_root(save_dir) / f"step-{position.global_step}"
    accelerator.save_state(str(folder))
    if accelerator.is_main_process:
        write_json(folder / "position.json", position.state_dict())
        for stale in checkpoints(save_dir)[:-keep]:
            shutil.rmtree(stale, ignore_errors=True)
    accelerator.wait_for_everyone()


def save_model(accelerator: Accelerator, model, tokenizer, save_dir: Path, info: dict) -> None:
    """Save to a temporary folder, then move the files in: an interrupted save never damages the previous model."""
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        temporary = save_dir.with_name(f".{save_dir.name}.tmp-save-{os.getpid()}")
        shutil.rmtree(temporary, ignore_errors=True)
        unwrapped = accelerator.unwrap_model(model)
        restore_attention(unwrapped)  # saved for plain SDPA, loadable anywhere
        unwrapped.save_pretrained(temporary)
        tokenizer.save_pretrained(temporary)
        write_json(temporary / TRAINING_INFO, info)
        save_dir.mkdir(parents=True, exist_ok=True)
        for file in sorted(temporary.iterdir()):  # every file complete on disk before the first one moves
            os.replace(file, save_dir / file.name)
        temporary.rmdir()
    accelerator.wait_for_everyone()


def do_train(args, model, train_dataloader, save_dir, accelerator: Accelerator, tokenizer) -> dict:
    """Hand-written loop: AdamW, linear warm-up/decay, clipping, accumulation, mixed precision via Accelerate."""
    save_dir = Path(save_dir)
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
         "weight_decay": args.weight_decay},
        {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    optimizer = AdamW(groups, lr=args.learning_rate)
    fp32_attention = fp32_attention_if_cpu_bf16(model, accelerator.mixed_precision, accelerator.device.type)
    model, optimizer, train_dataloader = accelerator.prepare(model, optimizer, train_dataloader)

    accumulation = args.gradient_accumulation_steps
    batches_per_epoch = len(train_dataloader)
    steps_per_epoch = math.ceil(batches_per_epoch / accumulation)
    total_steps = steps_per_epoch * args.num_epochs
    # Not passed to accelerator.prepare: it would step the schedule once per process.
    scheduler = get_linear_schedule_with_warmup(optimizer, math.ceil(args.warmup_ratio * total_steps), total_steps)
    position = TrainingPosition({"processes": accelerator.num_processes, "batch_size": args.batch_size,
                                 "gradient_accumulation_steps": accumulation})
    accelerator.register_for_checkpointing(scheduler, position)

    if args.resume:
        checkpoint = latest_checkpoint(save_dir)
        if checkpoint is None:
            raise UsageError(f"--resume: no checkpoint in {checkpoint_root(save_dir)}; start without --resume")
        check_resumable(checkpoint, position)
        accelerator.load_state(str(checkpoint))
        accelerator.print(f"Resuming from {checkpoint} (epoch {position.epoch}, step {position.global_step})")
    elif checkpoint_root(save_dir).is_dir():
        # A fresh run replaces the model in save_dir: an older run's checkpoints must never be resumed into it.
        accelerator.print(f"Starting over: removing the previous run's checkpoints in {checkpoint_root(save_dir)}")
        if accelerator.is_main_process:
            shutil.rmtree(checkpoint_root(save_dir))
        accelerator.wait_for_everyone()

    examples = len(train_dataloader.dataset)
    accelerator.print("***** Running training *****")
    accelerator.print(f"  Examples = {examples}, epochs = {args.num_epochs}, batch size per device = "
                      f"{args.batch_size}, devices = {accelerator.num_processes}, accumulation = {accumulation}")
    accelerator.print(f"  Effective batch = {args.batch_size * accelerator.num_processes * accumulation}, "
                      f"optimizer steps = {total_steps}, precision = {accelerator.mixed_precision}, "
                      f"device = {accelerator.device}")

    progress = tqdm(total=total_steps, initial=position.global_step, desc="Training",
                    disable=not accelerator.is_local_main_process)
    model.train()
    start = time.perf_counter()
    seen = 0
    for epoch in range(position.epoch, args.num_epochs):
        train_dataloader.set_epoch(epoch)
        skip = position.batches_done if epoch == position.epoch else 0
        batches = accelerator.skip_first_batches(train_dataloader, skip) if skip else train_dataloader
        group_loss = 0.0
        for batch_index, batch in enumerate(batches, start=skip):
            group_start = batch_index - batch_index % accumulation
            group_size = min(accumulation, batches_per_epoch - group_start)
            sync = (batch_index + 1) % accumulation == 0 or batch_index + 1 == batches_per_epoch
            with contextlib.nullcontext() if sync else accelerator.no_sync(model):
                loss = model(**batch).loss / group_size
                accelerator.backward(loss)
            group_loss += loss.detach()
            seen += batch["labels"].shape[0]
            if not sync:
                continue
            accelerator.clip_grad_norm_(model.parameters(), args.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            position.epoch, position.batches_done = epoch, batch_index + 1
            position.global_step += 1
            progress.update(1)
            progress.set_postfix(loss=f"{group_loss.item():.4f}", lr=f"{scheduler.get_last_lr()[0]:.2e}")
            group_loss = 0.0
            if args.checkpoint_every and position.global_step % args.checkpoint_every == 0:
                save_checkpoint(accelerator, save_dir, position)
        position.epoch, position.batches_done = epoch + 1, 0
        if args.checkpoint_every:
            save_checkpoint(accelerator, save_dir, position)
    progress.close()
    seconds = time.perf_counter() - start

    seen_all = int(accelerator.reduce(torch.tensor(seen, device=accelerator.device), reduction="sum").item())
    info = {
        "model_name": args.model_name,
        "dataset": args.dataset,
        "train_examples": examples,
        "augmented": bool(args.train_augmented),
        "transform": args.transform if args.train_augmented else None,
        "transform_strength": args.transform_strength if args.train_augmented else None,
        "augment_size": args.augment_size if args.train_augmented else None,
        "num_epochs": args.num_epochs,
        "learning_rate": args.learning_rate,
        "batch_size": args.batch_size,
        "gradient_accumulation_steps": accumulation,
        "processes": accelerator.num_processes,
        "optimizer_steps": total_steps,
        "warmup_ratio": args.warmup_ratio,
        "max_length": args.max_length,
        "seed": args.seed,
        "data_seed": args.data_seed,
        "mixed_precision": accelerator.mixed_precision,
        "attention_dropout": attention_dropout_of(accelerator.unwrap_model(model).config),
        "fp32_attention": fp32_attention,
        "train_seconds": round(seconds, 2),
        "train_examples_per_second": round(seen_all / seconds, 3) if seconds > 0 else None,
        "resumed": bool(args.resume),
        "provenance": provenance(accelerator.device),
    }
    save_model(accelerator, model, tokenizer, save_dir, info)
    accelerator.free_memory()
    return info


# ----------------------------------------------------------------------------------------------------------------
# Evaluation
# ----------------------------------------------------------------------------------------------------------------

def do_eval(eval_dataloader, model_dir, out_file, accelerator: Accelerator) -> dict:
    """Accuracy of the model in ``model_dir``; writes the prediction file in dataset order."""
    model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    fp32_attention_if_cpu_bf16(model, accelerator.mixed_precision, accelerator.device.type)
    model, eval_dataloader = accelerator.prepare(model, eval_dataloader)
    model.eval()
    predictions, labels = {}, {}
    start = time.perf_counter()
    for batch in tqdm(eval_dataloader, desc="Evaluating", disable=not accelerator.is_local_main_process):
        idx = batch.pop("idx")
        with torch.no_grad():
            logits = model(**batch).logits
        # gather_for_metrics drops the samples repeated to even out the last batch across processes
        idx, batch_predictions, batch_labels = accelerator.gather_for_metrics(
            (idx, logits.argmax(dim=-1), batch["labels"]))
        for i, p, y in zip(idx.tolist(), batch_predictions.tolist(), batch_labels.tolist()):
            predictions[i], labels[i] = p, y
    seconds = time.perf_counter() - start
    order = sorted(predictions)
    if order != list(range(len(eval_dataloader.dataset))):
        raise RuntimeError(f"evaluation returned {len(order)} predictions for {len(eval_dataloader.dataset)} examples")
    ordered_predictions = [predictions[i] for i in order]
    ordered_labels = [labels[i] for i in order]
    if accelerator.is_main_process:
        write_predictions(Path(out_file), ordered_predictions, ordered_labels)
    accelerator.free_memory()
    correct = sum(p == y for p, y in zip(ordered_predictions, ordered_labels))
    return {
        "accuracy": correct / len(order),
        "correct": correct,
        "examples": len(order),
        "eval_seconds": round(seconds, 2),
        "eval_examples_per_second": round(len(order) / seconds, 3) if seconds > 0 else None,
    }


def evaluate_and_record(args, dataloader, model_dir: Path, eval_set: str, accelerator: Accelerator) -> dict:
    """Run do_eval and write ``<output_dir>/<model>_<eval_set>.txt`` and its ``.json`` record."""
    stem = f"{model_dir.name}_{eval_set}"
    output_dir = project_path(args.output_dir)
    score = do_eval(dataloader, str(model_dir), output_dir / f"{stem}.txt", accelerator)
    info_file = model_dir / TRAINING_INFO
    training = json.loads(info_file.read_text()) if info_file.is_file() else None
    record = {
        **score,
        "eval_set": eval_set,
        "transform": args.transform if eval_set == "transformed" else None,
        "transform_strength": args.transform_strength if eval_set == "transformed" else None,
        "model_dir": str(model_dir),
        "model_name": training["model_name"] if training else None,
        "dataset": args.dataset,
        "max_eval_samples": args.max_eval_samples,
        "max_length": args.max_length,
        "seed": args.seed,
        "data_seed": args.data_seed,
        "train_seconds": training["train_seconds"] if training else None,
        "train_examples_per_second": training["train_examples_per_second"] if training else None,
        "training": training,
        "predictions_file": f"{stem}.txt",
        "provenance": provenance(accelerator.device),
    }
    if accelerator.is_main_process:
        write_json(output_dir / f"{stem}.json", record)
    accelerator.print(f"{stem}: accuracy {score['accuracy']:.4f} on {score['examples']} examples "
                      f"-> {output_dir / stem}.txt/.json")
    return record


# ----------------------------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------------------------

def make_accelerator(args) -> Accelerator:
    """One process per device under ``accelerate launch``, a single process under plain ``python``."""
    device_type = "cuda" if torch.cuda.is_available() else "cpu"
    accelerator = Accelerator(mixed_precision=resolve_mixed_precision(args.mixed_precision, device_type))
    if not accelerator.is_local_main_process:  # one set of progress bars and warnings, from the main process
        import datasets
        import transformers

        datasets.disable_progress_bars()
        transformers.utils.logging.disable_progress_bar()
        transformers.utils.logging.set_verbosity_error()
    return accelerator


def run(args) -> None:
    model_dir = project_path(args.model_dir)
    training = args.train or args.train_augmented
    if training and args.resume and not (checkpoint_root(model_dir)).is_dir():
        raise UsageError(f"--resume: no checkpoints in {checkpoint_root(model_dir)}; start without --resume")
    if (args.eval or args.eval_transformed) and not training and not args.debug_transformation:
        require_trained_model(model_dir)

    dataset = load_imdb(args.dataset)
    dataset["train"] = subset(dataset["train"], args.max_train_samples, args.data_seed)
    dataset["test"] = subset(dataset["test"], args.max_eval_samples, args.data_seed)
    if args.debug_transformation:
        create_transformed_dataloader(args, dataset, None, debug_transformation=True)
        return

    accelerator = make_accelerator(args)
    set_seed(args.seed)
    on_cuda = accelerator.device.type == "cuda"

    if training:
        tokenizer, model = load_pretrained(
            args.model_name, attention_dropout=resolve_attention_dropout(args.attention_dropout, accelerator.device.type))
        limit = model.config.max_position_embeddings
        if args.max_length > limit:
            raise UsageError(f"--max_length {args.max_length} exceeds {args.model_name}'s {limit} positions")
        with accelerator.main_process_first():
            if args.train_augmented:
                loader = create_augmented_dataloader(args, dataset, tokenizer, on_cuda)
            else:
                loader = train_dataloader(tokenize(dataset["train"], tokenizer, args), tokenizer,
                                          args.batch_size, args.seed, on_cuda)
        do_train(args, model, loader, model_dir, accelerator, tokenizer)
        del model

    tokenizer = AutoTokenizer.from_pretrained(model_dir) if (args.eval or args.eval_transformed) else None
    if args.eval:
        with accelerator.main_process_first():
            loader = eval_dataloader(tokenize(dataset["test"], tokenizer, args, with_idx=True), tokenizer,
                                     args.eval_batch_size, on_cuda)
        evaluate_and_record(args, loader, model_dir, "original", accelerator)
    if args.eval_transformed:
        with accelerator.main_process_first():
            loader = create_transformed_dataloader(args, dataset, tokenizer, False, on_cuda)
        evaluate_and_record(args, loader, model_dir, "transformed", accelerator)


def main(argv=None) -> int:
    return exit_code(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
