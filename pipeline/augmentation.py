"""What a training run trains on: the training split, or it plus added reviews (``--train_augmented``), transformed
or, the control, untransformed; and ``TrainingSet``, the record of it that goes into ``training_info.json``."""

from __future__ import annotations

from dataclasses import dataclass, fields

from datasets import Dataset, concatenate_datasets

import utils
from pipeline.errors import UsageError

FULL_TRAIN_SIZE, DEFAULT_AUGMENT_SIZE = 25_000, 5000  # the assignment's recipe: 25k reviews + 5k transformed
UNTRANSFORMED = "none"  # --train_augmented --transform none: the same added reviews, untransformed (a control)


@dataclass(frozen=True)
class TrainingSet:
    """The reviews a training run receives and what they are; ``record()`` goes into ``training_info.json``."""

    data: Dataset
    augment_size: int | None = None  # reviews added (None: not augmented)
    transform: str | None = None  # None with an augment_size: the added reviews are untransformed copies (a control)
    transform_strength: float | None = None  # the strength actually used (a transformation's default resolved)
    transform_stages: list | None = None  # custom_transform's stages and strengths, as they were
    cad_pairs: int | None = None  # counterfactually revised pairs added (the study's CAD-trained models)

    def record(self) -> dict:
        # not dataclasses.asdict: it would deep-copy the dataset
        return {"train_examples": len(self.data), "augmented": self.augment_size is not None,
                **{f.name: getattr(self, f.name) for f in fields(self) if f.name != "data"}}


def augment_size(requested: int | None, train_size: int) -> int:
    """Transformed reviews to add: ``requested``, or the full recipe's 5,000 per 25,000 (1/5 of a subset)."""
    if requested is not None:
        if requested > train_size:
            raise UsageError(f"--augment_size {requested} is more than the {train_size} training reviews; "
                             f"pass at most {train_size}")
        return requested
    size = min(DEFAULT_AUGMENT_SIZE, round(train_size * DEFAULT_AUGMENT_SIZE / FULL_TRAIN_SIZE))
    if size == 0:  # it would train on the originals alone and record the model as augmented
        raise UsageError(f"--train_augmented adds 1/5 of the {train_size} training reviews, that is none; pass "
                         f"--augment_size N or more training reviews (--max_train_samples)")
    return size


def augmented_training_set(train: Dataset, transform: str | None, strength: float | None, size: int,
                           seed: int, reuse_cache: bool = False) -> TrainingSet:
    """The training split plus ``size`` seeded random reviews of it, transformed (labels unchanged).

    ``transform=None`` adds the same reviews untransformed: the control that separates "more examples" from
    "transformed examples" (same sample, same step count). ``reuse_cache``: load the transformed sample that the
    main process has just computed (see main.run()).
    """
    sample = train.shuffle(seed=seed).select(range(size))
    if transform is None:
        return TrainingSet(concatenate_datasets([train, sample]), augment_size=size)
    transformed = utils.transform_dataset(sample, transform, strength, seed=seed, reuse_cache=reuse_cache)
    if strength is None:
        strength = utils.TRANSFORMS[transform][1]
    return TrainingSet(concatenate_datasets([train, transformed]), augment_size=size, transform=transform,
                       transform_strength=strength, transform_stages=utils.transform_stages(transform))
