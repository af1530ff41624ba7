"""study/calibrate_transform.py: the reviews a checkpoint has not seen are exactly the rest of its training epoch."""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

from conftest import PROJECT_DIR

sys.path.insert(0, str(PROJECT_DIR / "study"))
import calibrate_transform  # noqa: E402


def test_unseen_reviews_are_the_batches_the_training_run_had_not_reached(tiny_data, tiny_model, tmp_path):
    from transformers import AutoTokenizer

    import main
    from pipeline.augmentation import TrainingSet
    from pipeline.data import load_imdb

    train = load_imdb(str(tiny_data))["train"]
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    checkpoint = tmp_path / "step-5"
    checkpoint.mkdir()
    (checkpoint / "position.json").write_text(json.dumps({"epoch": 0, "batches_done": 5, "global_step": 5,
                                                          "shape": {"batch_size": 8}}))
    options = SimpleNamespace(batch_size=8, seed=42, max_length=64)
    unseen = calibrate_transform.unseen_reviews(train, tokenizer, checkpoint, options)
    # the order main.py's training run takes: its own data loader over the same split
    config = main.TrainConfig(batch_size=8, seed=42, max_length=64)
    loader = main.training_dataloader(TrainingSet(train), tokenizer, config)
    order = list(loader.sampler)
    assert len(unseen) == len(train) - 40 and set(unseen) == set(order[40:])
    assert not set(unseen) & set(order[:40])


def test_misspelt_share_counts_misspellings_not_synonyms():
    stages = (("opinion_synonym", 1.0), ("opinion_typo", 1.0))
    plot = (" The plot follows a family that moves to a small town by the sea, where the father takes a job at the"
            " old lighthouse and the children explore the cliffs.")
    text = "It was an awful film with excellent music." + plot  # -> "a dreadfull film with oustanding music"
    words = sum(t[:1].isalnum() for t in calibrate_transform.utils.tokenize(text))
    assert calibrate_transform.misspelt_share([text], stages, seed=0) == round(2 / words, 4)
    # synonyms alone ("dreadful", "outstanding") are real words: none misspelt
    assert calibrate_transform.misspelt_share([text], stages[:1], seed=0) == 0
