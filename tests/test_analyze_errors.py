"""study/analyze_errors.py on a tiny model: its counts agree with the prediction files it reads."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
from conftest import PROJECT_DIR, offline_env, run_main
from transformers import AutoTokenizer

import utils
from pipeline.data import subset
from pipeline.results import read_predictions

MAX_LENGTH = 16  # shorter than many tiny reviews, so that some are truncated


def analyze(args, cwd):
    return subprocess.run([sys.executable, str(PROJECT_DIR / "study" / "analyze_errors.py"), *map(str, args)],
                          cwd=cwd, env=offline_env(), capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, tiny_model, tiny_data):
    work = tmp_path_factory.mktemp("analysis")
    result = run_main(["--train", "--eval", "--eval_transformed", "--model_name", tiny_model, "--dataset", tiny_data,
                       "--model_dir", work / "out", "--num_epochs", "2",
                       "--learning_rate", "2e-3", "--batch_size", "16", "--max_length", MAX_LENGTH], cwd=work)
    assert result.returncode == 0, result.stderr[-3000:]
    return work


def test_counts_match_the_prediction_files(evaluated, tiny_data):
    results = evaluated / "errors.json"
    result = analyze(["--model_dir", evaluated / "out", "--output_dir", evaluated / "out", "--dataset", tiny_data,
                      "--ablation_samples", "50", "--results", results], cwd=evaluated)
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads(results.read_text())

    predicted_o, labels = read_predictions(evaluated / "out" / "out_original.txt")
    predicted_t, _ = read_predictions(evaluated / "out" / "out_transformed.txt")
    right_o = [p == y for p, y in zip(predicted_o, labels)]
    right_t = [p == y for p, y in zip(predicted_t, labels)]
    texts = pq.read_table(tiny_data / "test.parquet").column("text").to_pylist()
    lengths = [len(ids) for ids in AutoTokenizer.from_pretrained(evaluated / "out")(texts)["input_ids"]]

    assert record["test_reviews"] == len(labels) == 120 and record["max_length"] == MAX_LENGTH
    over = sum(n > MAX_LENGTH for n in lengths)
    assert 0 < over < 120 and record["tokens"]["over_max_length"] == over
    assert record["by_length"]["fits"]["reviews"] + record["by_length"]["truncated"]["reviews"] == 120
    flips = record["flips"]
    assert flips["correct_to_wrong"] == sum(a and not b for a, b in zip(right_o, right_t))
    assert flips["wrong_to_correct"] == sum(b and not a for a, b in zip(right_o, right_t))
    assert sum(flips["correct_to_wrong_by_label"].values()) == flips["correct_to_wrong"]

    attribution = record["attribution"]
    assert attribution["reviews"] == flips["correct_to_wrong"]
    assert set(attribution["flipped_by_stage_alone"]) == {name for name, _ in utils.CUSTOM_STAGES}
    assert attribution["flipped_by_no_stage_alone"] + sum(attribution["flipped_by_exactly_one_stage"].values()) \
        + attribution["flipped_by_several_stages_alone"] == attribution["reviews"]

    ablation = record["ablation"]
    import datasets

    test = datasets.Dataset.from_parquet(str(tiny_data / "test.parquet"))
    chosen = subset(test.add_column("index", list(range(120))), 50, record["data_seed"])["index"]
    assert ablation["reviews"] == 50
    assert ablation["original_correct"] == "".join("1" if right_o[i] else "0" for i in chosen)
    assert ablation["composition_correct"] == "".join("1" if right_t[i] else "0" for i in chosen)
    for name, strength in utils.CUSTOM_STAGES:
        assert ablation["stages"][name]["strength"] == strength
        assert len(ablation["stages"][name]["correct"]) == 50
    # one stage recomputed here: the chosen reviews transformed by the typo stage alone, predicted by the model
    import functools

    import main
    from pipeline import runtime
    from pipeline.batching import eval_dataloader

    typo = [stage for stage in utils.CUSTOM_STAGES if stage[0] == "opinion_typo"][0]
    alone = test.select(chosen).map(functools.partial(utils.custom_transform, seed=record["data_seed"],
                                                      stages=(typo,)))
    assert alone["text"] != test.select(chosen)["text"]  # the stage did edit these reviews
    tokenizer = AutoTokenizer.from_pretrained(evaluated / "out")
    loader = eval_dataloader(main.tokenize(alone, tokenizer, MAX_LENGTH, with_idx=True), tokenizer, 16)
    accelerator = runtime.make_accelerator(record["mixed_precision"])
    predicted, gold, _ = main.predict(loader, str(evaluated / "out"), accelerator)
    assert ablation["stages"]["opinion_typo"]["correct"] == "".join("1" if p == y else "0"
                                                                     for p, y in zip(predicted, gold))
    assert record["provenance"]["git_commit"] and record["truncation"] == "head"


def test_prediction_files_of_another_dataset_are_refused(evaluated, tiny_data, tmp_path):
    other = tmp_path / "imdb"
    shutil.copytree(tiny_data, other)
    table = pq.read_table(other / "test.parquet")
    flipped = table.set_column(table.schema.get_field_index("label"), "label",
                               [[1 - y for y in table.column("label").to_pylist()]])
    pq.write_table(flipped, other / "test.parquet")
    result = analyze(["--model_dir", evaluated / "out", "--output_dir", evaluated / "out", "--dataset", other,
                      "--ablation_samples", "0", "--results", tmp_path / "errors.json"], cwd=tmp_path)
    assert result.returncode == 2 and "do not follow" in result.stderr
    assert not (tmp_path / "errors.json").exists()


def test_missing_prediction_files_say_what_to_run(tiny_model, tiny_data, tmp_path):
    result = analyze(["--model_dir", tiny_model, "--output_dir", tmp_path, "--dataset", tiny_data,
                      "--results", tmp_path / "errors.json"], cwd=tmp_path)
    assert result.returncode == 2 and "--eval --eval_transformed" in result.stderr


@pytest.mark.parametrize("recorded", [True, False])
def test_stages_alone_are_predicted_with_the_weights_the_analysed_evaluation_had(evaluated, tiny_data, tmp_path,
                                                                                  recorded):
    """An evaluation made with bf16 weights (main.py's rule on a bf16 CPU) is analysed with bf16
    weights; one made under autocast with fp32 weights (or before the flag) with fp32 weights."""
    out = tmp_path / "out"
    shutil.copytree(evaluated / "out", out)
    for eval_set in ("original", "transformed"):
        record_file = out / f"out_{eval_set}.json"
        record = json.loads(record_file.read_text())
        record["bf16_full_eval"] = recorded
        record_file.write_text(json.dumps(record))
    results = tmp_path / "errors.json"
    result = analyze(["--model_dir", out, "--output_dir", out, "--dataset", tiny_data, "--ablation_samples", "0",
                      "--mixed_precision", "bf16", "--results", results], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    analysis = json.loads(results.read_text())
    assert analysis["mixed_precision"] == "bf16" and analysis["bf16_full_eval"] is recorded
