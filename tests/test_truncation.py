"""Head+tail truncation (Sun et al. 2019; a flag until issue 30, now set in code): the encoding itself, and a model
that needs a review's last words."""

from __future__ import annotations

import json
import random

import pytest
from conftest import NEGATIVE, NEUTRAL, POSITIVE, run_main, run_main_with, write_parquet
from transformers import AutoTokenizer

import main
from pipeline.data import HEAD_FRACTION, head_tail_encode

TRAIN_ARGS = ["--num_epochs", "3", "--learning_rate", "2e-3", "--batch_size", "16", "--max_length", "32",
              "--seed", "3"]


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    return AutoTokenizer.from_pretrained(tiny_model)


def test_reviews_that_fit_are_encoded_as_with_head_truncation(tokenizer):
    texts = ["the movie was good .", "awful plot and dull cast <br /><br /> the end .", "brilliant"]
    head = tokenizer(texts, truncation=True, max_length=32, return_length=True)
    both = head_tail_encode(tokenizer, texts, 32)
    assert set(both) == set(tokenizer.model_input_names) | {"length"}
    for name in both:
        assert both[name] == head[name], name


@pytest.mark.parametrize("max_length", [32, 33, 64])
def test_a_long_review_keeps_its_first_and_last_tokens(tokenizer, max_length):
    words = [NEUTRAL[i % len(NEUTRAL)] for i in range(150)] + ["superb", "dreadful"]
    content = tokenizer(" ".join(words), add_special_tokens=False)["input_ids"]
    encoded = head_tail_encode(tokenizer, [" ".join(words)], max_length)
    ids = encoded["input_ids"][0]
    budget = max_length - 2
    head = round(budget * HEAD_FRACTION)
    assert len(ids) == encoded["length"][0] == max_length
    assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
    assert ids[1:1 + head] == content[:head]
    assert ids[1 + head:-1] == content[-(budget - head):]
    assert tokenizer.convert_ids_to_tokens(ids[-3:-1]) == ["superb", "dreadful"]
    assert encoded["attention_mask"][0] == [1] * max_length


def test_the_split_is_sun_et_al_s_128_plus_382_at_512_tokens():
    assert round((512 - 2) * HEAD_FRACTION) == 128


def verdict_at_the_end(n: int, seed: int) -> list[dict]:
    """Long reviews of neutral filler whose only sentiment words are their last two: head truncation cannot
    see them."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = i % 2
        words = [rng.choice(NEUTRAL) for _ in range(rng.randint(40, 60))]
        words += [rng.choice(POSITIVE if label else NEGATIVE) for _ in range(2)]
        rows.append({"text": " ".join(words) + " .", "label": label})
    rng.shuffle(rows)
    return rows


@pytest.fixture(scope="module")
def long_data(tmp_path_factory):
    return write_parquet(tmp_path_factory.mktemp("long") / "imdb",
                         {"train": verdict_at_the_end(320, seed=1), "test": verdict_at_the_end(100, seed=2)})


def train_and_eval(truncation: str, tiny_model, data, work) -> dict:
    argv = ["--train", "--eval", "--model_name", tiny_model, "--dataset", data, "--model_dir", work / "model",
            *TRAIN_ARGS]
    result = run_main_with({"truncation": truncation}, argv, cwd=work)  # as out/README.md trains out_head_tail
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((work / "out" / "model_original.json").read_text())


def test_head_tail_reads_the_verdict_that_head_truncation_cuts_off(tiny_model, long_data, tmp_path):
    (tmp_path / "head").mkdir()
    (tmp_path / "both").mkdir()
    head = train_and_eval("head", tiny_model, long_data, tmp_path / "head")
    both = train_and_eval("head_tail", tiny_model, long_data, tmp_path / "both")
    assert head["truncation"] == "head" and head["training"]["truncation"] == "head"  # the starter's default
    assert both["truncation"] == "head_tail" and both["training"]["truncation"] == "head_tail"
    assert head["accuracy"] <= 0.65, head["accuracy"]  # no sentiment word in the first 32 tokens: chance
    assert both["accuracy"] >= 0.95, both["accuracy"]

    # Evaluation alone follows the model's own truncation.
    (tmp_path / "both" / "out" / "model_original.json").unlink()
    result = run_main(["--eval", "--model_dir", tmp_path / "both" / "model", "--dataset", long_data,
                       "--max_length", "32"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((tmp_path / "both" / "out" / "model_original.json").read_text())
    assert record["truncation"] == "head_tail" and record["accuracy"] == both["accuracy"]


def test_an_unknown_truncation_is_rejected(capsys):
    with pytest.raises(SystemExit):
        main.parse_args(["--train", "--truncation", "head_tail"])  # no flag: set in code
    assert "unrecognized arguments: --truncation" in capsys.readouterr().err
    with pytest.raises(main.UsageError, match="--truncation"):
        main.TrainConfig(truncation="middle")
