"""Length-grouped training batches and length-sorted evaluation."""

from __future__ import annotations

import random

from pipeline.batching import LengthGroupedSampler


def lengths(n=1000, seed=0):
    rng = random.Random(seed)
    return [rng.randint(5, 512) for _ in range(n)]


def test_sampler_covers_every_index_once_per_epoch():
    sampler = LengthGroupedSampler(lengths(), batch_size=8, seed=1)
    assert sorted(sampler) == list(range(1000))


def test_sampler_is_reproducible_per_epoch_and_changes_between_epochs():
    a, b = LengthGroupedSampler(lengths(), 8, seed=1), LengthGroupedSampler(lengths(), 8, seed=1)
    assert list(a) == list(b)
    a.set_epoch(1)
    assert list(a) != list(b)
    b.set_epoch(1)
    assert list(a) == list(b)


def test_batches_group_similar_lengths_and_longest_comes_first():
    values = lengths()
    order = list(LengthGroupedSampler(values, 8, seed=1))
    batches = [order[i:i + 8] for i in range(0, len(order), 8)]
    padded = sum(8 * max(values[i] for i in batch) for batch in batches)
    random_order = random.Random(0).sample(range(1000), 1000)
    random_padded = sum(8 * max(values[i] for i in random_order[j:j + 8]) for j in range(0, 1000, 8))
    assert padded < 0.75 * random_padded  # far less padding than random batches
    assert max(values[i] for i in batches[0]) == max(values)
