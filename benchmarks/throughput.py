"""Training and evaluation throughput: the starter's data path against ours, same model, same reviews.

Starter's way: every review padded to --max_length, random batches, fp32.
Ours: truncation only, length-grouped training batches and length-sorted evaluation, each batch padded to its own
longest review (DataCollatorWithPadding); on a GPU also bf16/fp16 (on CPU both run fp32, so the CPU ratio measures
the data path alone).

Both ways run the same hand-written loop (main.do_train) and evaluation (main.do_eval) from the same initial
weights. Prints examples/s and the ratio, checks that one model evaluated both ways gives identical predictions,
and writes the figures to --results (JSON, with provenance).

    python benchmarks/throughput.py                        # MiniLM stand-in, 512 tokens, 256 train / 512 test
    python benchmarks/throughput.py --model_name distilbert-base-uncased --dataset imdb   # on a GPU node
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

import torch  # noqa: E402
from accelerate import Accelerator  # noqa: E402
from accelerate.utils import set_seed  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

import main  # noqa: E402
from pipeline.batching import Collator, eval_dataloader, train_dataloader  # noqa: E402
from pipeline.data import (  # noqa: E402
    SHARED_DATA, load_imdb, load_pretrained, project_path, require_writable, stand_in_model, subset)
from pipeline.results import provenance, read_predictions, write_json  # noqa: E402


def parse_options(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_name", default=stand_in_model(),
                        help="model to fine-tune (default: the all-MiniLM-L6-v2 stand-in if installed)")
    parser.add_argument("--dataset", default=str(SHARED_DATA / "imdb"),
                        help="hub name or local folder with train/test parquet files")
    parser.add_argument("--max_length", type=int, default=512, help="truncation length (the starter pads to it)")
    # Length grouping needs enough reviews to find similar lengths: transformers' rule makes mega-batches of
    # min(50, n / (4 x batch)) batches, so 64 reviews group in 16s, far coarser than the 400s of a 25k-review run.
    parser.add_argument("--train_samples", type=int, default=256, help="training reviews (one epoch)")
    parser.add_argument("--eval_samples", type=int, default=512, help="test reviews")
    parser.add_argument("--batch_size", type=int, default=8, help="training batch size (the starter's default)")
    parser.add_argument("--eval_batch_size", type=int, default=32, help="evaluation batch size")
    parser.add_argument("--seed", type=int, default=42, help="seed for subsets, initialisation and batch order")
    parser.add_argument("--results", default="benchmarks/results/throughput.json",
                        help="where the JSON figures go (relative: to the project folder)")
    return parser.parse_args(argv)


def starter_dataloaders(train, test, tokenizer, args):
    """Padding to max_length at tokenization, shuffled batches, no sorting (the starter's DataLoaders)."""
    collator = Collator(tokenizer, padding="max_length", max_length=args.max_length)
    generator = torch.Generator().manual_seed(args.seed)
    train_loader = DataLoader(train, batch_size=args.batch_size, shuffle=True, collate_fn=collator,
                              generator=generator)
    test_loader = DataLoader(test, batch_size=args.eval_batch_size, collate_fn=collator)
    return train_loader, test_loader


def run_way(name, train_loader, test_loader, config, tokenizer, work: Path, accelerator) -> dict:
    set_seed(config.seed)  # identical initial classifier head for both ways
    _, model = load_pretrained(config.model_name, max_length=config.max_length)
    data = main.TrainingSet(train_loader.dataset).record()
    info = main.do_train(config, model, train_loader, data, work / name, accelerator, tokenizer)
    score = main.do_eval(test_loader, str(work / name), work / f"{name}.txt", accelerator)
    print(f"{name}: train {info['train_examples_per_second']:.2f} ex/s, "
          f"eval {score['eval_examples_per_second']:.2f} ex/s, accuracy {score['accuracy']:.4f}")
    return {"train_examples_per_second": info["train_examples_per_second"], "train_seconds": info["train_seconds"],
            **score}


def main_benchmark(argv=None) -> dict:
    args = parse_options(argv)
    config = main.TrainConfig(model_name=args.model_name, dataset=args.dataset, max_length=args.max_length,
                              batch_size=args.batch_size, num_epochs=1, seed=args.seed)
    require_writable(project_path(args.results).parent, "--results")
    data = load_imdb(args.dataset)
    tokenizer, _ = load_pretrained(args.model_name, max_length=args.max_length)
    train = main.tokenize(subset(data["train"], args.train_samples, args.seed), tokenizer, args.max_length)
    test = main.tokenize(subset(data["test"], args.eval_samples, args.seed), tokenizer, args.max_length,
                         with_idx=True)
    accelerator = Accelerator(mixed_precision="no")
    ours_train = train_dataloader(train, tokenizer, args.batch_size, args.seed)
    ours_test = eval_dataloader(test, tokenizer, args.eval_batch_size)
    starter_train, starter_test = starter_dataloaders(train, test, tokenizer, args)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        starter = run_way("starter", starter_train, starter_test, config, tokenizer, work, accelerator)
        ours = run_way("ours", ours_train, ours_test, config, tokenizer, work, accelerator)
        # The same trained model evaluated our way must predict exactly what the starter's way predicts.
        cross = main.do_eval(ours_test, str(work / "starter"), work / "starter_ours.txt", accelerator)
        same = read_predictions(work / "starter.txt") == read_predictions(work / "starter_ours.txt")

    tokens = sum(test["length"]) / len(test)
    result = {
        "model_name": args.model_name,
        "dataset": args.dataset,
        "max_length": args.max_length,
        "train_samples": args.train_samples,
        "eval_samples": args.eval_samples,
        "batch_size": args.batch_size,
        "eval_batch_size": args.eval_batch_size,
        "mean_test_tokens": round(tokens, 1),
        "starter": starter,
        "ours": ours,
        "train_speedup": round(ours["train_examples_per_second"] / starter["train_examples_per_second"], 3),
        "eval_speedup": round(ours["eval_examples_per_second"] / starter["eval_examples_per_second"], 3),
        "same_model_identical_predictions_both_ways": same,
        "same_model_accuracy_both_ways": [starter["accuracy"], cross["accuracy"]],
        "provenance": provenance(accelerator.device),
    }
    write_json(project_path(args.results), result)
    print(f"train: starter {starter['train_examples_per_second']:.2f} ex/s, ours "
          f"{ours['train_examples_per_second']:.2f} ex/s, x{result['train_speedup']:.2f}")
    print(f"eval:  starter {starter['eval_examples_per_second']:.2f} ex/s, ours "
          f"{ours['eval_examples_per_second']:.2f} ex/s, x{result['eval_speedup']:.2f}")
    print(f"same model, both eval paths: identical predictions = {same}; accuracy starter-trained "
          f"{starter['accuracy']:.4f}, ours-trained {ours['accuracy']:.4f} (mean {tokens:.0f} tokens/review)")
    return result


if __name__ == "__main__":
    main_benchmark()
