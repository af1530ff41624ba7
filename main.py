"""Fine-tune a pretrained encoder (DistilBERT by default) for IMDB sentiment, and measure its robustness.

    python main.py --train --eval                       # fine-tune, then evaluate on the test set
    python main.py --eval_transformed --debug_transformation   # print 5 transformed test reviews
    python main.py --eval_transformed                   # evaluate out/ on the transformed test set
    python main.py --train_augmented --eval_transformed # fine-tune on train + 5,000 transformed reviews
    python main.py --eval --model_dir out_augmented

Multi-GPU: ``accelerate launch --multi_gpu --num_processes 2 main.py --train --eval`` runs the same loop data-parallel.
See README.md for every flag, the outputs, and how paths are resolved (outputs against this folder, never the
working directory; --dataset and --model_name in the working directory first, then in this folder).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from datasets import Dataset
from torch.optim import AdamW
from tqdm.auto import tqdm
from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

import utils
from pipeline import augmentation, batching, checkpoints, data, dropout, errors, memory, precision, preflight, results
from pipeline import optimizer as adamw_choice  # do_train's own `optimizer` is the AdamW it builds
from pipeline import runtime
from pipeline.errors import UsageError

DEBUG_TRAIN_SAMPLES, DEBUG_EVAL_SAMPLES = 4000, 1000  # the starter's --debug_train subset sizes
DEFAULT_EVAL_BATCH_SIZE = 32  # reviews per evaluation batch and device
LOSS_LOG_EVERY = 50  # optimizer steps between loss readings (each one waits for the GPU to catch up)
MIN_MAX_LENGTH = 16  # tokens: below this a review is classified from a few words ([CLS] and [SEP] take two)


@dataclass(frozen=True)
class TrainConfig:
    """The settings of one training run. The CLI builds it from its flags (``TrainConfig.from_args``); the study
    and the benchmarks build it directly. Its defaults are the CLI's defaults; bad values raise ``UsageError``."""

    model_name: str = "distilbert-base-uncased"
    dataset: str = "imdb"
    learning_rate: float = 5e-5
    num_epochs: int = 3
    batch_size: int = 8
    gradient_accumulation_steps: int = 1
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    attention_dropout: str = "auto"  # see pipeline/dropout.py
    fused_adamw: str = "auto"  # see pipeline/optimizer.py
    max_length: int = 512
    truncation: str = "head"  # see data.TRUNCATIONS
    seed: int = 42
    data_seed: int = 42
    checkpoint_every: int = 0
    resume: bool = False

    def __post_init__(self):
        for name in ("learning_rate", "warmup_ratio", "weight_decay", "max_grad_norm"):
            if not math.isfinite(getattr(self, name)):  # nan and inf pass every comparison below and train NaNs
                raise UsageError(f"--{name} must be a finite number (got {getattr(self, name)})")
        for name in ("seed", "data_seed"):
            if not 0 <= getattr(self, name) < 2**32:  # numpy's and datasets' range
                raise UsageError(f"--{name} must be in [0, 2**32) (got {getattr(self, name)})")
        for name in ("learning_rate", "num_epochs", "batch_size", "gradient_accumulation_steps", "max_length",
                     "max_grad_norm"):
            if getattr(self, name) <= 0:
                raise UsageError(f"--{name} must be positive (got {getattr(self, name)})")
        if self.max_length < MIN_MAX_LENGTH:
            raise UsageError(f"--max_length {self.max_length} keeps {max(self.max_length - 2, 0)} token(s) of each "
                             f"review: pass at least {MIN_MAX_LENGTH} (the assignment's is {TrainConfig.max_length})")
        if not 0 <= self.warmup_ratio < 1:
            raise UsageError(f"--warmup_ratio must be in [0, 1) (got {self.warmup_ratio})")
        if self.weight_decay < 0:
            raise UsageError(f"--weight_decay must be >= 0 (got {self.weight_decay})")
        dropout.check_attention_dropout(self.attention_dropout)
        adamw_choice.check_fused_adamw(self.fused_adamw)
        errors.check_choice("--truncation", self.truncation, data.TRUNCATIONS)
        if self.checkpoint_every < 0:
            raise UsageError(f"--checkpoint_every must be 0 (off) or positive (got {self.checkpoint_every})")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "TrainConfig":
        values = {f.name: getattr(args, f.name) for f in fields(cls)}
        if values["truncation"] is None:  # the flag's default: head for training (evaluation: see eval_truncation)
            values["truncation"] = cls.truncation
        return cls(**values)


DEFAULTS = TrainConfig()


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="main.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_argument_group("what to do (at least one)")
    actions.add_argument("--train", action="store_true", help="fine-tune on the training split; saves to out/")
    actions.add_argument("--train_augmented", action="store_true",
                         help="fine-tune on the training split plus --augment_size transformed reviews; "
                              "saves to out_augmented/ and never touches the model in out/")
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
                            "load (default: out, or out_augmented with --train_augmented); prediction files go to "
                            "the out/ folder beside it; relative paths resolve against this project's folder, not "
                            "the working directory")
    paths.add_argument("--model_name", default=DEFAULTS.model_name,
                       help="pretrained model to fine-tune: a hub name or a local model folder")
    paths.add_argument("--dataset", default=DEFAULTS.dataset,
                       help="hub dataset name, or a local folder with train.parquet and test.parquet in the hub's "
                            "imdb schema (text, label 0/1), e.g. ../shared/data/imdb")

    training = parser.add_argument_group("training")
    training.add_argument("--learning_rate", type=float, default=DEFAULTS.learning_rate,
                          help="peak AdamW learning rate")
    training.add_argument("--num_epochs", type=int, default=DEFAULTS.num_epochs, help="training epochs")
    training.add_argument("--batch_size", type=int, default=DEFAULTS.batch_size, help="training batch size per device")
    training.add_argument("--gradient_accumulation_steps", type=int,
                          default=DEFAULTS.gradient_accumulation_steps,
                          help="micro-batches per optimizer step (effective batch = batch_size x this x GPUs)")
    training.add_argument("--warmup_ratio", type=float, default=DEFAULTS.warmup_ratio,
                          help="fraction of optimizer steps with linearly rising learning rate")
    training.add_argument("--weight_decay", type=float, default=DEFAULTS.weight_decay,
                          help="AdamW weight decay (not applied to biases and LayerNorm weights)")
    training.add_argument("--attention_dropout", default=DEFAULTS.attention_dropout,
                          help=f"dropout on the attention probabilities: {dropout.ATTENTION_DROPOUT_CHOICES}")
    training.add_argument("--mixed_precision", choices=["auto", "no", "fp16", "bf16"], default="auto",
                          help="auto: bf16 on GPUs that support it, else fp16 with a loss scaler; on CPU bf16 where "
                               "it is faster than fp32 (AMX, or measured in a second), else fp32")
    training.add_argument("--seed", type=int, default=DEFAULTS.seed,
                          help="seed for initialisation, dropout and batch order")
    training.add_argument("--checkpoint_every", type=int, default=DEFAULTS.checkpoint_every,
                          help="save a resumable checkpoint every N optimizer steps and at each epoch end (0: never)")
    training.add_argument("--resume", action="store_true",
                          help="continue training from the newest checkpoint in <model_dir>_checkpoints/")

    sizes = parser.add_argument_group("data sizes")
    sizes.add_argument("--max_length", type=int, default=DEFAULTS.max_length,
                       help="truncate reviews to this many tokens")
    sizes.add_argument("--max_train_samples", type=int, default=None,
                       help="train on a seeded random subset of this many reviews (for CPU runs)")
    sizes.add_argument("--max_eval_samples", type=int, default=None,
                       help="evaluate on a seeded random subset of this many test reviews (for CPU runs)")

    transforms = parser.add_argument_group("transformations and augmentation")
    transforms.add_argument("--transform", default="custom_transform",
                            help=f"transformation for --eval_transformed, --debug_transformation and "
                                 f"--train_augmented; one of: {', '.join(utils.TRANSFORM_NAMES)}; or none with "
                                 f"--train_augmented: the same reviews added untransformed, the control for more "
                                 f"examples (saves to out_duplicated/)")
    transforms.add_argument("--transform_strength", type=float, default=None,
                            help="strength of --transform (its probability per word or character; default: its own)")
    transforms.add_argument("--augment_size", type=int, default=None,
                            help=f"transformed training reviews added by --train_augmented (default "
                                 f"{augmentation.DEFAULT_AUGMENT_SIZE}; with a training subset, the same 1/5 "
                                 f"proportion)")

    checks = parser.add_argument_group("checks")
    checks.add_argument("--preflight", action="store_true",
                        help="check in seconds, without training, what this command will need (model, dataset, "
                             "transformations, writable folders, GPUs, flags), print a summary and exit; exit code 2 and one "
                             "line per problem otherwise. Takes --train and --train_augmented together, to check "
                             "the runs of a whole job at once")

    # Settings no user needs to choose: not options, recorded in training_info.json and the results records (the
    # study and the benchmarks set them through TrainConfig and this module's functions). Evaluation truncates as the
    # model was trained (None); the speed settings' automatic rules are pipeline/optimizer.py, precision.py, memory.py.
    parser.set_defaults(data_seed=DEFAULTS.data_seed, max_grad_norm=DEFAULTS.max_grad_norm, truncation=None,
                        eval_batch_size=DEFAULT_EVAL_BATCH_SIZE, fused_adamw=DEFAULTS.fused_adamw,
                        bf16_full_eval="auto", keep_freed_memory="auto")
    args = parser.parse_args(argv)
    check_args(parser, args)
    return args


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Reject invalid combinations and values right after parsing, before anything slow happens."""
    if args.debug_transformation and not args.eval_transformed:
        parser.error("--debug_transformation prints transformed test examples: use it with --eval_transformed")
    if not (args.train or args.train_augmented or args.eval or args.eval_transformed):
        parser.error("nothing to do: pass --train, --train_augmented, --eval and/or --eval_transformed")
    if args.train and args.train_augmented and not args.preflight:
        parser.error("--train and --train_augmented train different models (out/ and out_augmented/): run one at a time")
    if args.debug_transformation and (args.train or args.train_augmented or args.eval):
        parser.error("--debug_transformation only prints examples and exits: run it without --train/--eval")
    if args.resume and not (args.train or args.train_augmented):
        parser.error("--resume continues a training run: use it with --train or --train_augmented")
    if args.transform == augmentation.UNTRANSFORMED:
        if args.eval_transformed or args.transform_strength is not None or not args.train_augmented:
            parser.error("--transform none adds the augmentation's reviews untransformed (the control for more "
                         "examples): use it with --train_augmented (and --eval); evaluate that model with --eval_transformed in its own command")
    elif args.transform not in utils.TRANSFORM_NAMES:
        parser.error(f"unknown --transform {args.transform!r}; choose one of: {', '.join(utils.TRANSFORM_NAMES)}")
    if args.transform_strength is not None and utils.TRANSFORMS[args.transform][1] is None:
        parser.error(f"--transform {args.transform} is a whole-example transformation and takes no "
                     f"--transform_strength; strengths apply to: "
                     f"{', '.join(n for n, (_, s) in utils.TRANSFORMS.items() if s is not None)}")
    if args.transform_strength is not None and not 0 <= args.transform_strength <= 1:
        parser.error(f"--transform_strength is a probability: it must be >= 0 and <= 1 "
                     f"(got {args.transform_strength})")
    for name in ("max_train_samples", "max_eval_samples", "augment_size"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            parser.error(f"--{name} must be positive (got {value})")
    try:
        TrainConfig.from_args(args)
    except UsageError as error:
        parser.error(str(error))
    if args.debug_train:
        args.max_train_samples = args.max_train_samples or DEBUG_TRAIN_SAMPLES
        args.max_eval_samples = args.max_eval_samples or DEBUG_EVAL_SAMPLES
    if args.model_dir is not None and args.train != args.train_augmented:
        # training into the other run's default folder would replace the model that run saved there
        runs = {"--train": "out", "--train_augmented": "out_augmented"}
        flag = "--train_augmented" if args.train_augmented else "--train"
        other = next(name for name in runs if name != flag)
        if data.project_path(args.model_dir).resolve() == data.project_path(runs[other]).resolve():
            parser.error(f"{flag} --model_dir {args.model_dir} would replace the model that {other} saves in "
                         f"{runs[other]}/: leave out --model_dir (default {runs[flag]}/) or name another folder")
    if args.model_dir is None and not (args.train and args.train_augmented):  # both: --preflight checks out*/ each
        args.model_dir = ("out" if not args.train_augmented else
                          "out_duplicated" if args.transform == augmentation.UNTRANSFORMED else "out_augmented")
    # prediction files go to out/ beside the model folder: this project's out/ for its own models
    args.output_dir = str(data.project_path(args.model_dir or "out").parent / "out")


# ----------------------------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------------------------

def tokenize_function(examples, tokenizer, max_length: int, truncation: str = "head"):
    """Batched fast tokenization, truncated but not padded: each batch is padded to its own longest review.

    ``head`` keeps a long review's first tokens (the starter's way); ``head_tail`` its first and last ones.
    """
    if truncation == "head":
        return tokenizer(examples["text"], truncation=True, max_length=max_length, return_length=True)
    return data.head_tail_encode(tokenizer, examples["text"], max_length)


def tokenize(split: Dataset, tokenizer, max_length: int, with_idx: bool = False, truncation: str = "head") -> Dataset:
    """Tokenize a split once; ``labels`` for the model, ``length`` for batching, ``idx`` to restore order."""
    if with_idx:
        split = split.add_column("idx", list(range(len(split))))
    return split.map(
        tokenize_function,
        fn_kwargs={"tokenizer": tokenizer, "max_length": max_length, "truncation": truncation},
        batched=True,
        remove_columns=["text"],
        desc="Tokenizing",
    ).rename_column("label", "labels")


def eval_truncation(requested: str | None, model_dir: Path) -> str:
    """The --truncation to evaluate with: the one asked for, else the one the model was trained with."""
    if requested is not None:
        return requested
    return (checkpoints.read_training_info(model_dir) or {}).get("truncation", TrainConfig.truncation)


def training_dataloader(training_set: augmentation.TrainingSet, tokenizer, config: TrainConfig, on_cuda: bool = False):
    """Length-grouped, shuffled batches of a training set (the one data path of every training run)."""
    tokenized = tokenize(training_set.data, tokenizer, config.max_length, truncation=config.truncation)
    return batching.train_dataloader(tokenized, tokenizer, config.batch_size, config.seed, on_cuda)


def create_augmented_dataloader(args, dataset, tokenizer, on_cuda: bool = False, reuse_cache: bool = False):
    """The augmented training set in length-grouped batches, through the same data path as --train.

    Returns the DataLoader and the record of the data (for ``do_train``).
    """
    train = dataset["train"]
    transform = None if args.transform == augmentation.UNTRANSFORMED else args.transform
    size = augmentation.augment_size(args.augment_size, len(train))
    training_set = augmentation.augmented_training_set(train, transform, args.transform_strength, size,
                                                       args.data_seed, reuse_cache)
    return training_dataloader(training_set, tokenizer, TrainConfig.from_args(args), on_cuda), training_set.record()


def show_transformed_examples(args, test_split, count: int = 5) -> None:
    """Print ``count`` seeded test reviews before and after the transformation, changed words marked."""
    small = test_split.shuffle(seed=args.data_seed).select(range(min(count, len(test_split))))
    transformed = utils.transform_dataset(small, args.transform, args.transform_strength, seed=args.data_seed)
    for k, (before, after) in enumerate(zip(small, transformed)):
        print(f"Example {k} (label {before['label']}), transformation {args.transform}")
        print("Original:   ", before["text"])
        print("Transformed:", utils.mark_changes(before["text"], after["text"]))
        print("=" * 30)


def create_transformed_dataloader(args, dataset, tokenizer, debug_transformation: bool, on_cuda: bool = False,
                                  reuse_cache: bool = False):
    """The transformed test split in length-sorted batches; with ``debug_transformation``, print samples instead."""
    if debug_transformation:
        show_transformed_examples(args, dataset["test"])
        return None
    transformed = utils.transform_dataset(dataset["test"], args.transform, args.transform_strength,
                                          seed=args.data_seed, reuse_cache=reuse_cache)
    return batching.eval_dataloader(tokenize(transformed, tokenizer, args.max_length, with_idx=True,
                                             truncation=args.truncation), tokenizer, args.eval_batch_size, on_cuda)


# ----------------------------------------------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------------------------------------------

def load_model(config: TrainConfig, accelerator: Accelerator):
    """Tokenizer and the pretrained model to fine-tune, with the attention dropout ``config`` resolves to here."""
    attention_dropout = dropout.resolve_attention_dropout(config.attention_dropout, accelerator.device.type)
    return data.load_pretrained(config.model_name, max_length=config.max_length, attention_dropout=attention_dropout)


def run_seconds(before: float | None, start: float) -> float | None:
    """Training seconds of the whole run so far: those before a resume plus this process's since ``start``."""
    return None if before is None else before + time.perf_counter() - start


def do_train(config: TrainConfig, model, train_dataloader, data_record: dict, save_dir, accelerator: Accelerator,
             tokenizer) -> dict:
    """Hand-written loop: AdamW, linear warm-up/decay, clipping, accumulation, mixed precision via Accelerate.

    ``data_record`` describes what ``train_dataloader`` holds (``augmentation.TrainingSet.record()``); with the
    settings and the measured speed it becomes the model's ``training_info.json``, which is returned.
    """
    save_dir = Path(save_dir)
    data.check_max_length(model.config, config.max_length, config.model_name)
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
         "weight_decay": config.weight_decay},
        {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    fused = adamw_choice.resolve_fused_adamw(config.fused_adamw, accelerator.device.type, accelerator.mixed_precision)
    optimizer = AdamW(groups, lr=config.learning_rate, fused=fused)
    fp32_attention = precision.fp32_attention_if_cpu_bf16(model, accelerator.mixed_precision, accelerator.device.type)
    model, optimizer, train_dataloader = accelerator.prepare(model, optimizer, train_dataloader)

    accumulation = config.gradient_accumulation_steps
    batches_per_epoch = len(train_dataloader)
    total_steps = math.ceil(batches_per_epoch / accumulation) * config.num_epochs
    warmup_steps = math.ceil(config.warmup_ratio * total_steps)
    if total_steps == 1 and warmup_steps:  # the warm-up's first step has learning rate 0: nothing would be learnt
        raise UsageError(f"{data_record['train_examples']} reviews in batches of {config.batch_size} x "
                         f"{accumulation} x {accelerator.num_processes} process(es) make {total_steps} optimizer "
                         f"step(s), all at learning rate 0 (warm-up): nothing would be learnt, so nothing was trained "
                         f"or saved; pass a smaller --batch_size or --gradient_accumulation_steps, or more "
                         f"--num_epochs")
    # Not passed to accelerator.prepare: it would step the schedule once per process.
    scheduler = get_linear_schedule_with_warmup(optimizer, warmup_steps, total_steps)
    position = checkpoints.TrainingPosition(checkpoints.run_shape(accelerator.num_processes, config.batch_size,
                                                                  accumulation, accelerator.mixed_precision))
    accelerator.register_for_checkpointing(scheduler, position)
    checkpoints.restore_or_reset(accelerator, save_dir, position, config.resume)

    accelerator.print("***** Running training *****")
    accelerator.print(f"  Examples = {data_record['train_examples']}, epochs = {config.num_epochs}, batch size per "
                      f"device = {config.batch_size}, devices = {accelerator.num_processes}, accumulation = "
                      f"{accumulation}")
    accelerator.print(f"  Effective batch = {config.batch_size * accelerator.num_processes * accumulation}, "
                      f"optimizer steps = {total_steps}, precision = {accelerator.mixed_precision}, "
                      f"device = {accelerator.device}")

    progress = tqdm(total=total_steps, initial=position.global_step, desc="Training",
                    disable=not accelerator.is_local_main_process)
    model.train()
    start = time.perf_counter()
    seconds_before = position.seconds  # training time of the run before a resume (None: not recorded)
    seen = 0
    # The loss stays on the device and is read every LOSS_LOG_EVERY steps: reading it each step would make the CPU
    # wait for the GPU to finish the step, instead of queueing the next one.
    logged_loss, logged_steps = torch.zeros((), device=accelerator.device), 0
    for epoch in range(position.epoch, config.num_epochs):
        train_dataloader.set_epoch(epoch)
        skip = position.batches_done if epoch == position.epoch else 0
        batches = accelerator.skip_first_batches(train_dataloader, skip) if skip else train_dataloader
        for batch_index, batch in enumerate(batches, start=skip):
            group_start = batch_index - batch_index % accumulation
            group_size = min(accumulation, batches_per_epoch - group_start)
            sync = (batch_index + 1) % accumulation == 0 or batch_index + 1 == batches_per_epoch
            with contextlib.nullcontext() if sync else accelerator.no_sync(model):
                loss = model(**batch).loss / group_size
                accelerator.backward(loss)
            logged_loss += loss.detach()
            seen += batch["labels"].shape[0]
            if not sync:
                continue
            accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            position.epoch, position.batches_done = epoch, batch_index + 1
            position.global_step += 1
            progress.update(1)
            logged_steps += 1
            if logged_steps == LOSS_LOG_EVERY or position.global_step == total_steps:
                progress.set_postfix(loss=f"{logged_loss.item() / logged_steps:.4f}",  # mean over the steps
                                     lr=f"{scheduler.get_last_lr()[0]:.2e}")
                logged_loss.zero_()
                logged_steps = 0
            stop = checkpoints.STOP.agreed(accelerator)  # SIGTERM or SIGUSR1: checkpoint now, then stop
            if stop or (config.checkpoint_every and position.global_step % config.checkpoint_every == 0):
                position.seconds = run_seconds(seconds_before, start)
                checkpoints.save_checkpoint(accelerator, save_dir, position)
            if stop:
                raise checkpoints.Stopped(f"{stop} at optimizer step {position.global_step} of {total_steps}: saved "
                                          f"the checkpoint {checkpoints.latest_checkpoint(save_dir)} and left "
                                          f"{save_dir} as it was; rerun the same command with --resume to continue")
        position.epoch, position.batches_done = epoch + 1, 0
        if config.checkpoint_every:
            position.seconds = run_seconds(seconds_before, start)
            checkpoints.save_checkpoint(accelerator, save_dir, position)
    progress.close()
    seconds = time.perf_counter() - start

    seen_all = int(accelerator.reduce(torch.tensor(seen, device=accelerator.device), reduction="sum").item())
    info = {
        **asdict(config),
        **data_record,
        "processes": accelerator.num_processes,
        "optimizer_steps": total_steps,
        "mixed_precision": accelerator.mixed_precision,
        "attention_dropout_value": dropout.attention_dropout_of(accelerator.unwrap_model(model).config),
        "fp32_attention": fp32_attention,
        # what the optimizer ran with: a resumed run keeps its checkpoint's setting
        "fused_adamw_used": bool(optimizer.param_groups[0].get("fused")),
        # the whole run's training time, resumes included; a run resumed from a checkpoint that did not record the
        # time before reports only its own time, and says so (train_seconds_complete false)
        "train_seconds": round((seconds_before or 0.0) + seconds, 2),
        "train_seconds_complete": seconds_before is not None,
        "train_examples_per_second": round(seen_all / seconds, 3) if seconds > 0 else None,
        "resumed": config.resume,
        "provenance": results.provenance(accelerator.device),
    }
    if not all(torch.isfinite(p).all() for p in accelerator.unwrap_model(model).parameters()):
        raise UsageError(f"training diverged: the weights are not finite (NaN or inf) after {position.global_step} "
                         f"optimizer steps at --learning_rate {config.learning_rate:g}, so nothing was saved and "
                         f"{save_dir} keeps what it had; lower --learning_rate and train again (without --resume)")
    checkpoints.save_model(accelerator, model, tokenizer, save_dir, info)
    checkpoints.release_training(accelerator, scheduler, position)
    return info


# ----------------------------------------------------------------------------------------------------------------
# Evaluation
# ----------------------------------------------------------------------------------------------------------------

def load_eval_model(model_dir, accelerator: Accelerator, bf16_full_eval: str = "no"):
    """The trained model in ``model_dir`` for evaluation: with bf16 weights where ``--bf16_full_eval`` resolves to it,
    else with attention kept in fp32 where ``accelerator`` runs bf16 on a CPU (as in training)."""
    model, loading = AutoModelForSequenceClassification.from_pretrained(model_dir, output_loading_info=True)
    if loading["missing_keys"]:  # e.g. a pretrained encoder whose classification head was never trained
        raise UsageError(f"{model_dir} is no fine-tuned classifier: its weights lack "
                         f"{', '.join(sorted(loading['missing_keys'])[:4])}, which would start random and predict at "
                         f"chance; point --model_dir at a model that --train or --train_augmented saved")
    if precision.resolve_bf16_full_eval(bf16_full_eval, accelerator.device.type, accelerator.mixed_precision):
        return model.to(torch.bfloat16)
    precision.fp32_attention_if_cpu_bf16(model, accelerator.mixed_precision, accelerator.device.type)
    return model


def predict(eval_dataloader, model_dir, accelerator: Accelerator,
            bf16_full_eval: str = "no") -> tuple[list[int], list[int], float]:
    """Predictions and gold labels of the model in ``model_dir``, in dataset order and on every process; and the
    seconds it took. ``bf16_full_eval`` as main.py's flag (``no``, the default here: evaluate as training ran)."""
    model = load_eval_model(model_dir, accelerator, bf16_full_eval)
    model, eval_dataloader = accelerator.prepare(model, eval_dataloader)
    model.eval()
    gathered = []
    start = time.perf_counter()
    batches = tqdm(eval_dataloader, desc="Evaluating", disable=not accelerator.is_local_main_process)
    for done, batch in enumerate(batches):
        received = checkpoints.STOP.received  # an evaluation cannot be checkpointed: stop, not be killed at the limit
        if received:
            raise checkpoints.Stopped(f"{received} during the evaluation of {model_dir}, after {done} of "
                                      f"{len(eval_dataloader)} batches in {time.perf_counter() - start:.0f} s: "
                                      f"prediction files are written only when an evaluation finishes; rerun it with "
                                      f"the time it needs")
        idx = batch.pop("idx")
        with torch.no_grad():
            logits = model(**batch).logits
        # gather_for_metrics drops the samples repeated to even out the last batch across processes. The results
        # stay on the device until the end: reading them batch by batch would wait for each batch to finish.
        gathered.append(accelerator.gather_for_metrics((idx, logits.argmax(dim=-1), batch["labels"])))
    idx, predicted, gold = (torch.cat(parts).tolist() for parts in zip(*gathered))
    seconds = time.perf_counter() - start
    accelerator.free_memory()
    predictions, labels = dict(zip(idx, predicted)), dict(zip(idx, gold))
    order = sorted(predictions)
    if order != list(range(len(eval_dataloader.dataset))):
        raise RuntimeError(f"evaluation returned {len(order)} predictions for {len(eval_dataloader.dataset)} examples")
    return [predictions[i] for i in order], [labels[i] for i in order], seconds


def eval_score(predictions: list[int], labels: list[int], seconds: float) -> dict:
    correct = sum(p == y for p, y in zip(predictions, labels))
    return {
        "accuracy": correct / len(labels),
        "correct": correct,
        "examples": len(labels),
        "eval_seconds": round(seconds, 2),
        "eval_examples_per_second": round(len(labels) / seconds, 3) if seconds > 0 else None,
    }


def do_eval(eval_dataloader, model_dir, out_file, accelerator: Accelerator, bf16_full_eval: str = "no") -> dict:
    """Accuracy of the model in ``model_dir``; the main process writes the prediction file in dataset order."""
    predictions, labels, seconds = predict(eval_dataloader, model_dir, accelerator, bf16_full_eval)
    if accelerator.is_main_process:
        results.write_predictions(Path(out_file), predictions, labels)
    return {**eval_score(predictions, labels, seconds),
            "bf16_full_eval": precision.resolve_bf16_full_eval(bf16_full_eval, accelerator.device.type,
                                                     accelerator.mixed_precision)}


def evaluate_and_record(args, dataloader, model_dir: Path, eval_set: str, accelerator: Accelerator) -> dict:
    """Run do_eval and write ``<output_dir>/<model>_<eval_set>.txt`` and its ``.json`` record."""
    stem = f"{model_dir.name}_{eval_set}"
    output_dir = data.project_path(args.output_dir)
    # a larger evaluation replaced by a smaller one is said
    before = results.recorded_examples(output_dir / f"{stem}.json")
    score = do_eval(dataloader, str(model_dir), output_dir / f"{stem}.txt", accelerator, args.bf16_full_eval)
    training = checkpoints.read_training_info(model_dir)
    record = {
        **score,
        "eval_set": eval_set,
        "transform": args.transform if eval_set == "transformed" else None,
        "transform_strength": args.transform_strength if eval_set == "transformed" else None,
        "transform_stages": utils.transform_stages(args.transform) if eval_set == "transformed" else None,
        "model_dir": str(model_dir),
        "model_name": training["model_name"] if training else None,
        "dataset": args.dataset,
        "max_eval_samples": args.max_eval_samples,
        "max_length": args.max_length,
        "truncation": args.truncation,
        "seed": args.seed,
        "data_seed": args.data_seed,
        "train_seconds": training["train_seconds"] if training else None,
        "train_examples_per_second": training["train_examples_per_second"] if training else None,
        "training": training,
        "predictions_file": f"{stem}.txt",
        "provenance": results.provenance(accelerator.device),
    }
    if accelerator.is_main_process:
        results.write_json(output_dir / f"{stem}.json", record)
    accelerator.print(f"{stem}: accuracy {score['accuracy']:.4f} on {score['examples']} examples "
                      f"-> {output_dir / stem}.txt/.json")
    if before is not None and before > score["examples"]:
        accelerator.print(f"note: this replaced {output_dir / stem}.txt/.json, an evaluation of {before:,} reviews, "
                          f"with one of {score['examples']:,} (a --model_dir in another folder writes to the out/ "
                          f"beside it; a committed copy comes back with git checkout -- {output_dir / stem}.txt {output_dir / stem}.json)")
    return record


# ----------------------------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------------------------

def run(args) -> None:
    model_dir = data.project_path(args.model_dir)
    training = args.train or args.train_augmented
    if preflight.transforms_data(args):
        preflight.check_transformation(args.transform, args.transform_strength)  # before any training, not after it
    accelerator = None if args.debug_transformation else runtime.make_accelerator(args.mixed_precision)
    if accelerator is not None:
        runtime.warn_launcher_precision(accelerator, args.mixed_precision)
        runtime.warn_emulated_bf16(accelerator)
        preflight.check_outputs(args, accelerator)
        memory.keep_freed_memory_if(args.keep_freed_memory, accelerator.device.type)  # provenance records the outcome

    dataset = data.load_imdb(args.dataset)
    dataset["train"] = data.subset(dataset["train"], args.max_train_samples, args.data_seed)
    dataset["test"] = data.subset(dataset["test"], args.max_eval_samples, args.data_seed)
    if args.debug_transformation:
        create_transformed_dataloader(args, dataset, None, debug_transformation=True)
        return

    set_seed(args.seed)
    on_cuda = accelerator.device.type == "cuda"
    reuse_cache = not accelerator.is_main_process

    if training:
        config = TrainConfig.from_args(args)
        tokenizer, model = load_model(config, accelerator)
        with accelerator.main_process_first():  # the main process transforms and tokenizes, the others load that
            if args.train_augmented:
                loader, record = create_augmented_dataloader(args, dataset, tokenizer, on_cuda, reuse_cache)
            else:
                training_set = augmentation.TrainingSet(dataset["train"])
                loader, record = training_dataloader(training_set, tokenizer, config, on_cuda), training_set.record()
        do_train(config, model, loader, record, model_dir, accelerator, tokenizer)
        del model, loader
        accelerator.free_memory()  # the trained weights, before evaluation loads them again

    tokenizer = AutoTokenizer.from_pretrained(model_dir) if (args.eval or args.eval_transformed) else None
    args.truncation = eval_truncation(args.truncation, model_dir)
    if args.eval:
        with accelerator.main_process_first():
            loader = batching.eval_dataloader(tokenize(dataset["test"], tokenizer, args.max_length, with_idx=True,
                                                       truncation=args.truncation),
                                              tokenizer, args.eval_batch_size, on_cuda)
        evaluate_and_record(args, loader, model_dir, "original", accelerator)
    if args.eval_transformed:
        with accelerator.main_process_first():
            loader = create_transformed_dataloader(args, dataset, tokenizer, False, on_cuda, reuse_cache)
        evaluate_and_record(args, loader, model_dir, "transformed", accelerator)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.preflight:
        return preflight.report(args)
    try:
        with checkpoints.STOP.installed():
            return errors.exit_code(run, args)
    except KeyboardInterrupt:
        training = args.train or args.train_augmented
        print(f"\n{checkpoints.interrupted(data.project_path(args.model_dir), training)}", file=sys.stderr)
        return 130
    except checkpoints.Stopped as stopped:
        if os.environ.get("RANK", "0") == "0":  # one message from a multi-process run
            print(f"stopped by {stopped}", file=sys.stderr)
        return checkpoints.REQUEUE_EXIT_CODE


if __name__ == "__main__":
    sys.exit(main())
