"""Fast batches: length-grouped training batches and length-sorted evaluation, padded per batch.

Padding every review to ``max_length`` (the starter's way) spends most of the compute on pad tokens: IMDB reviews
are ~300 WordPiece tokens on average. Batching reviews of similar length and padding each batch only to its own
longest review (``DataCollatorWithPadding``) removes that waste; see ``benchmarks/throughput.py`` for the figures.

On CUDA (``on_cuda``) batches are padded to multiples of 8 and collated into pinned (page-locked) memory, so that
their copy to the GPU runs asynchronously (``runtime.make_accelerator`` asks for non-blocking copies).
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Sampler
from transformers import DataCollatorWithPadding
from transformers.trainer_pt_utils import get_length_grouped_indices

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "labels")


class LengthGroupedSampler(Sampler[int]):
    """Shuffled groups of similar length, as transformers' ``group_by_length`` does, reproducible per epoch.

    The order of epoch ``e`` depends only on ``seed + e`` (not on any global RNG), so every process of a
    distributed run, and a run resumed from a checkpoint, sees the same batches.
    """

    def __init__(self, lengths: list[int], batch_size: int, seed: int = 0):
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        return iter(get_length_grouped_indices(self.lengths, self.batch_size, generator=generator))


class Collator(DataCollatorWithPadding):
    """Dynamic padding that keeps only what the model takes, plus ``idx`` (the row number) for evaluation."""

    def __call__(self, features):
        keep = set(MODEL_INPUTS) | {"idx"}
        return super().__call__([{k: v for k, v in f.items() if k in keep} for f in features])


def make_collator(tokenizer, on_cuda: bool = False):
    # Multiples of 8 let fp16/bf16 tensor cores work on full tiles; on CPU they would only add padding.
    return Collator(tokenizer, pad_to_multiple_of=8 if on_cuda else None)


def train_dataloader(dataset, tokenizer, batch_size: int, seed: int, on_cuda: bool = False) -> DataLoader:
    """Length-grouped, shuffled training batches of a tokenized split with a ``length`` column."""
    sampler = LengthGroupedSampler(dataset["length"], batch_size, seed=seed)
    # Its own generator: otherwise every new iterator (each epoch, and the one --resume starts mid-epoch) draws a
    # base seed from the global torch RNG, shifting the dropout stream so that a resumed run diverges.
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, collate_fn=make_collator(tokenizer, on_cuda),
                      generator=torch.Generator().manual_seed(seed), pin_memory=on_cuda)


def eval_dataloader(dataset, tokenizer, batch_size: int, on_cuda: bool = False) -> DataLoader:
    """Evaluation batches in descending length order (least padding; the longest batch first, so OOM shows early).

    The dataset carries an ``idx`` column so predictions can be put back in dataset order afterwards.
    """
    lengths = dataset["length"]
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    return DataLoader(dataset, batch_size=batch_size, sampler=order, collate_fn=make_collator(tokenizer, on_cuda),
                      pin_memory=on_cuda)
