"""The core pipeline through the real CLI: training, evaluation, outputs, and every bad input's error."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import main
import utils
from conftest import PROJECT_DIR, offline_env, run_main, synthetic_reviews, write_parquet
from pipeline import augmentation, preflight
from pipeline.checkpoints import save_model
from pipeline.data import project_path
from pipeline.errors import UsageError
from pipeline.results import read_predictions

TRAIN_ARGS = ["--num_epochs", "3", "--learning_rate", "2e-3", "--batch_size", "16", "--max_length", "48",
              "--seed", "3"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model, tiny_data):
    """One real training run through the CLI, started from an unrelated working directory."""
    work = tmp_path_factory.mktemp("elsewhere")
    model_dir = work / "models" / "out"
    result = run_main(["--train", "--eval", "--model_name", tiny_model, "--dataset", tiny_data,
                       "--model_dir", model_dir, *TRAIN_ARGS], cwd=work)
    assert result.returncode == 0, result.stderr[-3000:]
    # prediction files go to the out/ beside the model folder: here, as in this project, the model folder itself
    return {"work": work, "model_dir": model_dir, "out": model_dir, "result": result}


def model_copy(trained, folder: Path) -> Path:
    """The trained model without its prediction files, in ``folder``/out (where its evaluations then write)."""
    shutil.copytree(trained["model_dir"], folder / "out", ignore=shutil.ignore_patterns("*_original.*", "*_transformed.*"))
    return folder / "out"


def test_training_learns_and_writes_starter_outputs(trained, tiny_data):
    record = json.loads((trained["out"] / "out_original.json").read_text())
    assert record["accuracy"] >= 0.9, record
    assert record["examples"] == 120 and record["eval_set"] == "original"
    for key in ("model_name", "dataset", "max_length", "seed", "train_seconds", "eval_seconds",
                "eval_examples_per_second", "train_examples_per_second", "provenance"):
        assert record[key] is not None, key
    assert record["provenance"]["git_commit"] and record["provenance"]["device"].startswith("cpu")

    # Starter format: a prediction line then a label line per example, in test-set order.
    lines = (trained["out"] / "out_original.txt").read_text().splitlines()
    assert len(lines) == 2 * 120 and set(lines) <= {"0", "1"}
    gold = pq.read_table(tiny_data / "test.parquet").column("label").to_pylist()
    assert lines[1::2] == [str(y) for y in gold], "every second line is the gold label, in test-set order"
    assert sum(p == str(y) for p, y in zip(lines[0::2], gold)) == record["correct"]
    predictions, labels = read_predictions(trained["out"] / "out_original.txt")  # the reader agrees
    assert labels == gold and predictions == [int(p) for p in lines[0::2]]

    info = json.loads((trained["model_dir"] / "training_info.json").read_text())
    assert info["train_examples"] == 400 and info["optimizer_steps"] == 3 * 25 and info["seed"] == 3
    assert "***** Running training *****" in trained["result"].stdout
    assert not any(trained["model_dir"].parent.glob(".*tmp-save*")), "temporary save folder left behind"


def test_outputs_get_the_permissions_a_plain_write_gives(trained):
    """Prediction files, records and the model are written through private temporary files (0o600): they end with
    the umask's mode, so that a grader or a course group can read them."""
    import stat

    from pipeline.results import default_file_mode

    files = [*trained["out"].iterdir(), *trained["model_dir"].iterdir()]
    assert {"out_original.txt", "out_original.json", "model.safetensors", "training_info.json"} <= {f.name for f in files}
    assert {f.name: oct(stat.S_IMODE(f.stat().st_mode)) for f in files} == {f.name: oct(default_file_mode()) for f in files}


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_atomic_writes_follow_the_umask(tmp_path, umask, mode):
    import os
    import stat

    from pipeline.results import atomic_write_text

    before = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "new.txt", "new\n")
        (tmp_path / "old.txt").write_text("old\n")
        os.chmod(tmp_path / "old.txt", 0o600)
        atomic_write_text(tmp_path / "old.txt", "replaced\n")  # a replaced file gets the umask's mode too
    finally:
        os.umask(before)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "old.txt").stat().st_mode) == mode
    assert (tmp_path / "old.txt").read_text() == "replaced\n"


def test_eval_only_reproduces_predictions(trained, tiny_data, tmp_path):
    model_dir = model_copy(trained, tmp_path)
    result = run_main(["--eval", "--model_dir", model_dir, "--dataset", tiny_data, "--max_length", "48"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (model_dir / "out_original.txt").read_text() == (trained["out"] / "out_original.txt").read_text()
    assert "note: this replaced" not in result.stdout  # no record before it
    # a smaller evaluation over the same files says what it replaced and how to get it back
    again = run_main(["--eval", "--model_dir", model_dir, "--dataset", tiny_data, "--max_length", "48",
                      "--max_eval_samples", "20"], cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"note: this replaced {model_dir / 'out_original'}.txt/.json, an evaluation of 120 reviews, with one of 20" \
        in " ".join(again.stdout.split()) and "git checkout --" in again.stdout


def test_eval_transformed_writes_its_own_files(trained, tiny_data, tmp_path):
    model_dir = model_copy(trained, tmp_path)
    result = run_main(["--eval_transformed", "--transform", "example_transform", "--model_dir", model_dir,
                       "--dataset", tiny_data, "--max_length", "48"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((model_dir / "out_transformed.json").read_text())
    assert record["eval_set"] == "transformed" and record["transform"] == "example_transform"
    assert record["examples"] == 120 and record["accuracy"] >= 0.9  # lower-casing changes nothing for this vocab
    assert not (model_dir / "out_original.txt").exists()


def test_commit_is_dirty_for_changed_code_not_for_rewritten_results(tmp_path):
    """A run rewrites the committed out/ records before writing its own: that must not mark its commit dirty."""
    import subprocess

    from pipeline.results import RESULT_FOLDERS, git_commit

    def git(*args):
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path,
                              capture_output=True, text=True, check=True).stdout.strip()

    assert git_commit(tmp_path) == "unknown"
    git("init", "-q")
    files = ["main.py", "README.md", *(f"{folder}/record.json" for folder in RESULT_FOLDERS)]
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("before\n")
    git("add", "-A")
    git("commit", "-q", "-m", "start")
    head = git("rev-parse", "HEAD")
    assert git_commit(tmp_path) == head
    for folder in RESULT_FOLDERS:
        (tmp_path / folder / "record.json").write_text("a run's new result\n")
    (tmp_path / "out" / "model.safetensors").write_text("untracked\n")
    assert git_commit(tmp_path) == head
    for name in ("main.py", "README.md"):
        (tmp_path / name).write_text("changed\n")
        assert git_commit(tmp_path) == f"{head}-dirty"
        git("checkout", "--", name)
    assert git_commit(tmp_path) == head


def test_relative_outputs_resolve_against_the_project(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert project_path("out") == PROJECT_DIR / "out"
    assert project_path(tmp_path / "x") == tmp_path / "x"


def test_interrupted_save_keeps_the_previous_model(trained, tmp_path, monkeypatch):
    """A save that fails half-way (here: the tokenizer write) leaves the existing model exactly as it was."""
    import shutil

    from accelerate import Accelerator
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model_dir = tmp_path / "out"
    shutil.copytree(trained["model_dir"], model_dir)
    before = {p.name: p.read_bytes() for p in model_dir.iterdir()}
    model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    for parameter in model.parameters():
        parameter.data.zero_()  # a different model, so a partial overwrite would show

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tokenizer, "save_pretrained", broken)
    with pytest.raises(OSError, match="disk full"):
        save_model(Accelerator(cpu=True), model, tokenizer, model_dir, {"note": "new"})
    assert {p.name: p.read_bytes() for p in model_dir.iterdir()} == before
    assert not any(tmp_path.glob(".out.tmp-save-*")), "the unfinished new model is deleted"


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def save_case(tiny_model, tmp_path):
    """An old model folder that also holds prediction files and the batch file's state, a different new model to
    save over it, and what the folder holds after an uninterrupted save (saved into a copy)."""
    import shutil

    from accelerate import Accelerator
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model_dir = tmp_path / "out"
    shutil.copytree(tiny_model, model_dir)
    (model_dir / "training_info.json").write_text('{"augmented": true}')
    (model_dir / "out_original.txt").write_text("1\n1\n")
    (model_dir / ".slurm_state").mkdir()
    (model_dir / ".slurm_state" / "train.started").write_text("--train\n")
    model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    for parameter in model.parameters():
        parameter.data.fill_(0.5)  # a different model, so a mixed folder would show
    old = folder_bytes(model_dir)
    shutil.copytree(model_dir, tmp_path / "reference" / "out")
    save_model(Accelerator(cpu=True), model, tokenizer, tmp_path / "reference" / "out", {"augmented": False})
    return {"model_dir": model_dir, "model": model, "tokenizer": tokenizer, "old": old,
            "new": folder_bytes(tmp_path / "reference" / "out")}


FILE_STEPS = ("rename", "replace", "link", "unlink", "rmdir", "mkdir")  # every file-system step of a save


def killed_save(case, kill_at: int | None) -> int:
    """Run save_model in a forked child that dies (os._exit, no clean-up) at its ``kill_at``-th file-system step;
    returns how many steps it made (None: never killed, the whole save)."""
    import os

    from accelerate import Accelerator

    from pipeline import checkpoints

    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: never returns into pytest
        try:
            os.close(read)
            count = 0
            for owner, name in [(os, name) for name in FILE_STEPS] + [(checkpoints, "exchange")]:
                def step(*args, _real=getattr(owner, name), **kwargs):
                    nonlocal count
                    count += 1
                    if count == kill_at:
                        os._exit(9)
                    return _real(*args, **kwargs)
                setattr(owner, name, step)
            save_model(Accelerator(cpu=True), case["model"], case["tokenizer"], case["model_dir"],
                       {"augmented": False})
            os.write(write, str(count).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        made = pipe.read()
    os.waitpid(child, 0)
    return int(made) if made else kill_at


@pytest.mark.parametrize("swap", ["atomic exchange", "two renames"])
def test_a_save_killed_at_any_step_leaves_the_old_or_the_new_model(save_case, swap, monkeypatch):
    """The issue's mixed folder (new weights, the old training_info.json saying augmented): a save killed inside
    any of its steps leaves the old model or the new one, whole and loadable once the next start has finished or
    undone the swap (and said so), with the folder's other files kept and nothing left beside it. With the atomic
    exchange (Linux) the folder is there at every instant; without it (macOS, some network file systems), two
    renames leave a moment with neither, which the next start repairs."""
    import shutil

    from pipeline import checkpoints

    if swap == "two renames":
        monkeypatch.setattr(checkpoints, "exchange", lambda a, b: False)
    else:
        probe = save_case["model_dir"].parent / "probe"
        probe.mkdir()
        for _ in range(2):  # the call works on this file system (and the second swaps back)
            assert checkpoints.exchange(probe, save_case["model_dir"])
        probe.rmdir()

    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from pipeline.checkpoints import finish_interrupted_save

    model_dir = save_case["model_dir"]
    pristine = model_dir.with_name("pristine")
    shutil.copytree(model_dir, pristine)
    steps = killed_save(save_case, None)
    assert folder_bytes(model_dir) == save_case["new"] and steps > 5
    outcomes = []
    for kill_at in range(1, steps + 1):
        shutil.rmtree(model_dir)
        shutil.copytree(pristine, model_dir)
        killed_save(save_case, kill_at)
        assert model_dir.exists() or swap == "two renames", f"killed at step {kill_at}: no model folder"
        if model_dir.exists():  # at every instant: the old model, the new one, or (between two renames) neither
            assert folder_bytes(model_dir) in (save_case["old"], save_case["new"]), kill_at
        leftovers = any(model_dir.parent.glob(".out.*")) or not model_dir.exists()
        note = finish_interrupted_save(model_dir)
        assert (note is not None) == leftovers, (kill_at, note)
        after = folder_bytes(model_dir)
        assert after in (save_case["old"], save_case["new"]), f"killed at step {kill_at}: a mixed folder"
        outcomes.append("new" if after == save_case["new"] else "old")
        assert not any(model_dir.parent.glob(".out.*")), f"killed at step {kill_at}: leftovers beside the model"
        AutoModelForSequenceClassification.from_pretrained(model_dir)
        AutoTokenizer.from_pretrained(model_dir)
        assert (model_dir / "out_original.txt").read_text() == "1\n1\n"
        assert (model_dir / ".slurm_state" / "train.started").is_file()
    assert "old" in outcomes and "new" in outcomes, outcomes
    assert outcomes == sorted(outcomes, reverse=True), "once the new model is complete, it is the one kept"


def test_the_start_of_a_run_finishes_an_interrupted_save_and_says_so(save_case, capsys):
    """Killed between the swap's two renames: no model folder, the old model and the complete new one beside it.
    A plain --train (no checkpoints, nothing to resume) puts the new one in place before anything else, and says so."""
    import shutil
    from types import SimpleNamespace

    from pipeline.checkpoints import swap_folders

    model_dir = save_case["model_dir"]
    new, old = swap_folders(model_dir)
    shutil.copytree(model_dir, new)
    (new / "training_info.json").write_text('{"augmented": false}')
    model_dir.rename(old)
    accelerator = SimpleNamespace(is_main_process=True, wait_for_everyone=lambda: None, num_processes=1,
                                  mixed_precision="no")
    preflight.check_outputs(main.parse_args(["--train", "--model_dir", str(model_dir)]), accelerator)
    note = capsys.readouterr().err
    assert note.startswith(f"note: a save into {model_dir} was interrupted") and "finished its swap" in note, note
    assert json.loads((model_dir / "training_info.json").read_text()) == {"augmented": False}
    assert not old.exists() and not new.exists()
    preflight.check_outputs(main.parse_args(["--train", "--model_dir", str(model_dir)]), accelerator)
    assert capsys.readouterr().err == "", "nothing to say without leftovers"


def no_space(*args, **kwargs):
    import errno

    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_while_saving_is_one_line_and_leaves_nothing_behind(save_case, monkeypatch):
    """A full disk ended in a traceback and left the temporary folder behind (issue 28, item 4)."""
    model_dir = save_case["model_dir"]
    monkeypatch.setattr(save_case["tokenizer"], "save_pretrained", no_space)
    with pytest.raises(UsageError, match="no space left to save the model beside .*keeps what it had; free space"):
        save_model(__import__("accelerate").Accelerator(cpu=True), save_case["model"], save_case["tokenizer"],
                   model_dir, {})
    assert folder_bytes(model_dir) == save_case["old"]
    assert not any(model_dir.parent.glob(".out.*"))


def test_a_full_disk_while_checkpointing_deletes_the_unfinished_checkpoint(tmp_path, monkeypatch):
    from accelerate import Accelerator

    from pipeline import checkpoints as ckpt

    accelerator = Accelerator(cpu=True)

    def half_written(folder):
        Path(folder).mkdir(parents=True)
        (Path(folder) / "model.safetensors").write_bytes(b"\0" * 100)
        no_space()

    monkeypatch.setattr(accelerator, "save_state", half_written)
    position = ckpt.TrainingPosition({"processes": 1})
    position.global_step = 10
    with pytest.raises(UsageError, match="no space left on the disk of .*step-10: the checkpoint was deleted"):
        ckpt.save_checkpoint(accelerator, tmp_path / "out", position)
    assert not (tmp_path / "out_checkpoints" / "step-10").exists()


def test_a_full_disk_leaves_no_empty_temporary_file(tmp_path, monkeypatch):
    import tempfile

    from pipeline import results

    real = tempfile.NamedTemporaryFile

    class FullDisk:  # the temporary file is created, then its write fails
        def __init__(self, *args, **kwargs):
            self.file = real(*args, **kwargs)
            self.name = self.file.name

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

        write = no_space

    (tmp_path / "out_original.txt").write_text("old\n")
    monkeypatch.setattr(results.tempfile, "NamedTemporaryFile", FullDisk)
    with pytest.raises(OSError, match="No space left"):
        results.atomic_write_text(tmp_path / "out_original.txt", "new\n")
    assert [p.name for p in tmp_path.iterdir()] == ["out_original.txt"]
    assert (tmp_path / "out_original.txt").read_text() == "old\n"


@pytest.fixture
def small_disk(tmp_path):
    """A real 256 KiB file system (tmpfs), where this machine lets the tests mount one (root)."""
    import subprocess

    mount = tmp_path / "small_disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_a_really_full_disk_keeps_the_old_model_and_leaves_no_temporary_files(save_case, small_disk):
    import shutil

    from accelerate import Accelerator

    model_dir = small_disk / "out"
    shutil.copytree(save_case["model_dir"], model_dir)
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * (shutil.disk_usage(small_disk).free - 8192))
    with pytest.raises(UsageError, match="no space left to save the model"):
        save_model(Accelerator(cpu=True), save_case["model"], save_case["tokenizer"], model_dir, {})
    assert folder_bytes(model_dir) == save_case["old"]
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "out"]


def test_evaluating_damaged_weights_is_one_line_before_any_work(tiny_model, tiny_data, tmp_path):
    import shutil

    folder = tmp_path / "out"
    shutil.copytree(tiny_model, folder)
    (folder / "model.safetensors").write_bytes((folder / "model.safetensors").read_bytes()[:1000])
    result = run_main(["--eval", "--model_dir", folder, "--dataset", tiny_data, "--max_length", "48"], cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"--model_dir {folder}: model.safetensors is damaged" in result.stderr
    assert "Traceback" not in result.stderr and not list(folder.glob("out_original.*"))  # no prediction file


# ---------------------------------------------------------------------------------------------------------------
# Bad input: a clear message, a non-zero exit, and nothing slow first
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    ([], "nothing to do"),
    (["--eval_transformed", "--debug_transformation", "--train"], "without --train"),
    (["--debug_transformation"], "use it with --eval_transformed"),
    (["--train", "--train_augmented"], "run one at a time"),
    (["--eval", "--resume"], "--resume continues a training run"),
    (["--eval", "--transform", "nope"], "unknown --transform 'nope'"),
    (["--train", "--batch_size", "0"], "--batch_size must be positive"),
    (["--eval", "--max_length", "1"], "--max_length 1 keeps 0 token(s) of each review: pass at least 16"),
    (["--eval_transformed", "--transform_strength", "0.5"], "takes no --transform_strength"),
    (["--eval_transformed", "--transform", "typo", "--transform_strength", "-1"], "must be >= 0"),
    (["--train", "--learning_rate", "inf"], "--learning_rate must be a finite number (got inf)"),
    (["--train", "--learning_rate", "nan"], "--learning_rate must be a finite number"),
    (["--train", "--weight_decay", "nan"], "--weight_decay must be a finite number"),
    (["--train", "--warmup_ratio=-inf"], "--warmup_ratio must be a finite number"),
    (["--train", "--seed", "-1"], "--seed must be in [0, 2**32) (got -1)"),
    (["--eval", "--output_dir", "elsewhere"], "unrecognized arguments: --output_dir"),  # a flag no more
    (["--train_augmented", "--model_dir", "out"], "would replace the model that --train saves in out/"),
    (["--train_augmented", "--model_dir", str(PROJECT_DIR / "out") + "/"], "would replace the model that --train"),
    (["--train", "--model_dir", "./out_augmented"], "would replace the model that --train_augmented saves"),
])
def test_invalid_flag_combinations_are_rejected(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main.parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_debug_train_uses_the_starter_subset_sizes():
    args = main.parse_args(["--train", "--debug_train"])
    assert (args.max_train_samples, args.max_eval_samples, args.model_dir) == (4000, 1000, "out")
    assert main.parse_args(["--train_augmented"]).model_dir == "out_augmented"


def test_unreachable_hub_fails_fast_naming_the_local_alternatives(tmp_path):
    env = offline_env(HF_ENDPOINT="http://127.0.0.1:9", HF_HOME=str(tmp_path / "hf"))
    del env["HF_HUB_OFFLINE"]
    start = time.monotonic()
    result = run_main(["--train"], cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "--dataset 'imdb'" in result.stderr and "local folder" in result.stderr
    assert time.monotonic() - start < 60  # seconds of imports, not the hub client's retry loop


def test_offline_mode_with_empty_cache_names_model_name(tmp_path, tiny_data):
    env = offline_env(HF_HOME=str(tmp_path / "hf"))
    result = run_main(["--train", "--dataset", tiny_data], cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "--model_name 'distilbert-base-uncased'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("flag", ["--dataset", "--model_name"])
def test_a_missing_folder_written_as_a_path_is_named_not_looked_up_on_the_hub(flag, tmp_path, tiny_data, tiny_model):
    """'../data/imdb' from the wrong directory: the error names both places looked in, not a hub look-up's."""
    given = {"--dataset": tiny_data, "--model_name": tiny_model}
    args = ["--train", "--model_dir", tmp_path / "out", *(x for f, v in given.items() if f != flag for x in (f, v))]
    result = run_main([*args, flag, "../nowhere/imdb"], cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{flag} ../nowhere/imdb: no such folder (looked for {tmp_path.parent / 'nowhere' / 'imdb'} and " \
           f"{PROJECT_DIR.parent / 'nowhere' / 'imdb'})" in result.stderr


def test_eval_of_a_pretrained_model_without_a_trained_head_is_refused(tiny_model, tiny_data, tmp_path):
    """The pretrained folder itself (--model_dir <the hub model>) has no classification head: evaluating it would
    write chance-level results as if they were the fine-tuned model's."""
    import shutil

    from safetensors.torch import load_file, save_file

    encoder = tmp_path / "encoder"
    shutil.copytree(tiny_model, encoder)
    weights = load_file(encoder / "model.safetensors")
    save_file({k: v for k, v in weights.items() if not k.startswith(("classifier", "pre_classifier"))},
              encoder / "model.safetensors", metadata={"format": "pt"})
    result = run_main(["--eval", "--model_dir", encoder, "--dataset", tiny_data, "--max_length", "48"], cwd=tmp_path)
    assert result.returncode == 2 and "is no fine-tuned classifier" in result.stderr and "classifier" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out" / "encoder_original.txt").exists()


def test_eval_without_a_trained_model(tmp_path, tiny_data):
    result = run_main(["--eval", "--dataset", tiny_data, "--model_dir", tmp_path / "empty"], cwd=tmp_path)
    assert result.returncode == 2
    assert "holds no trained model" in result.stderr and "--train" in result.stderr


@pytest.mark.parametrize("case", ["missing_split", "missing_column", "bad_labels", "null_text", "numeric_text",
                                  "float_labels", "bool_labels", "string_labels", "empty_split"])
def test_bad_dataset_folders(case, tmp_path, tiny_model):
    rows = synthetic_reviews(10, seed=0)
    if case == "empty_split":  # a valid parquet file without rows: it is empty, not unreadable
        import pyarrow as pa

        folder = write_parquet(tmp_path / "data", {"train": rows})
        pq.write_table(pa.table({"text": pa.array([], pa.string()), "label": pa.array([], pa.int64())}),
                       folder / "test.parquet")
        splits, message = {}, f"the test split of {folder} is empty: {folder / 'test.parquet'} has no rows"
    elif case == "missing_split":
        splits, message = {"train": rows}, "test.parquet"
    elif case == "missing_column":
        splits, message = {"train": [{"review": r["text"], "label": r["label"]} for r in rows],
                           "test": rows}, "no 'text' column"
    elif case == "null_text":
        splits, message = {"train": rows, "test": [{**r, "text": None if i % 3 else r["text"]}
                                                   for i, r in enumerate(rows)]}, "6 rows without a text (null)"
    elif case == "numeric_text":
        splits, message = {"train": [{**r, "text": i} for i, r in enumerate(rows)], "test": rows}, "text column of type int64"
    elif case.endswith("_labels") and case != "bad_labels":  # {0.0, 1.0} <= {0, 1}: they passed, then crashed
        kind = {"float_labels": (float, "type double"), "bool_labels": (bool, "type bool"),
                "string_labels": (str, "type string (written as text")}[case]
        splits, message = {"train": [{**r, "label": kind[0](r["label"])} for r in rows], "test": rows}, kind[1]
    else:
        splits, message = {"train": rows, "test": [{**r, "label": 2} for r in rows]}, "outside {0, 1}"
    folder = write_parquet(tmp_path / "data", splits) if splits else tmp_path / "data"
    result = run_main(["--train", "--dataset", folder, "--model_name", tiny_model,
                       "--model_dir", tmp_path / "out"], cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_empty_review_texts_are_counted_in_a_warning(tmp_path, capsys):
    from pipeline.data import load_imdb

    rows = synthetic_reviews(10, seed=0)
    folder = write_parquet(tmp_path / "data", {"train": [{**r, "text": "  " if i < 3 else r["text"]}
                                                         for i, r in enumerate(rows)], "test": rows})
    load_imdb(str(folder))
    err = capsys.readouterr().err
    assert f"warning: the train split of {folder} has 3 review(s) with an empty text" in err, err
    assert "test split" not in err


def test_the_offline_data_hint_is_a_path_valid_from_any_directory(monkeypatch, tmp_path):
    """The README's --dataset ../shared/data/imdb holds only from the project's folder: the suggestion in an error
    is the copy's absolute path wherever it exists."""
    from pipeline.data import SHARED_DATA, load_imdb

    if not (SHARED_DATA / "imdb").is_dir():
        pytest.skip(f"no offline copy in {SHARED_DATA}")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match=f"e.g. --dataset {SHARED_DATA / 'imdb'}"):
        load_imdb("no-such-user/no-such-dataset")


def test_a_batch_size_leaving_one_step_at_learning_rate_0_trains_and_saves_nothing(tiny_model, tiny_data, tmp_path):
    """--batch_size 100000: one optimizer step, at the warm-up's learning rate 0, saved an untrained model over the
    old one."""
    import shutil

    model_dir = tmp_path / "out"
    shutil.copytree(tiny_model, model_dir)
    before = folder_bytes(model_dir)
    result = run_main(["--train", "--model_name", tiny_model, "--dataset", tiny_data, "--model_dir", model_dir,
                       "--batch_size", "100000", "--num_epochs", "1", "--max_length", "48"], cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "make 1 optimizer step(s), all at learning rate 0" in result.stderr and "--batch_size" in result.stderr
    assert "Traceback" not in result.stderr and folder_bytes(model_dir) == before


def test_augment_size_larger_than_training_set_is_an_error():
    with pytest.raises(UsageError, match="at most 40"):
        augmentation.augment_size(50, 40)
    assert augmentation.augment_size(None, 25_000) == 5000
    assert augmentation.augment_size(None, 4000) == 800
    assert augmentation.augment_size(None, 3) == 1
    with pytest.raises(UsageError, match="that is none; pass --augment_size N"):
        augmentation.augment_size(None, 2)  # 1/5 of 2 rounds to 0: the model would be recorded as augmented with none
    assert augmentation.augment_size(1, 2) == 1


def test_augmented_set_is_train_plus_transformed_sample_with_the_same_labels(tiny_data):
    from pipeline.data import load_imdb

    train = load_imdb(str(tiny_data))["train"]
    data_seed = 42
    training_set = augmentation.augmented_training_set(train, "typo", 0.5, 50, data_seed)
    augmented = training_set.data
    assert len(augmented) == len(train) + 50
    assert augmented.select(range(len(train)))["text"] == train["text"]  # the originals, untouched
    added = augmented.select(range(len(train), len(augmented)))
    sample = train.shuffle(seed=data_seed).select(range(50))
    assert added["label"] == sample["label"]  # each transformed review keeps its source's label
    assert sum(a != b for a, b in zip(added["text"], sample["text"])) >= 45  # and really is transformed
    again = augmentation.augmented_training_set(train, "typo", 0.5, 50, data_seed)
    assert again.data["text"] == augmented["text"]  # seeded: same set every run
    assert training_set.record() == {"train_examples": len(train) + 50, "augmented": True, "augment_size": 50,
                                     "transform": "typo", "transform_strength": 0.5, "transform_stages": None,
                                     "cad_pairs": None}
    # custom_transform's records say which stages it was, so results of an earlier composition are told apart
    stages = augmentation.augmented_training_set(train, "custom_transform", None, 5, data_seed).record()
    stages = stages["transform_stages"]
    assert stages == [list(stage) for stage in utils.CUSTOM_STAGES]


def test_untransformed_control_adds_the_same_sample_unchanged(tiny_data):
    from pipeline.data import load_imdb

    train = load_imdb(str(tiny_data))["train"]
    control = augmentation.augmented_training_set(train, None, None, 50, 42)
    transformed = augmentation.augmented_training_set(train, "typo", 0.5, 50, 42)
    sample = train.shuffle(seed=42).select(range(50))
    added = control.data.select(range(len(train), len(control.data)))
    assert added["text"] == sample["text"] and added["label"] == sample["label"]  # the same reviews, as they were
    assert len(control.data) == len(transformed.data)  # so the same number of optimizer steps
    assert control.record()["transform"] is None and control.record()["augment_size"] == 50
    args = main.parse_args(["--train_augmented", "--transform", "none", "--eval"])
    assert args.model_dir == "out_duplicated" and not preflight.transforms_data(args)  # never over out_augmented/
    for argv in (["--eval_transformed", "--transform", "none"], ["--train", "--transform", "none"],
                 ["--train_augmented", "--transform", "none", "--transform_strength", "0.5"]):
        with pytest.raises(SystemExit) as exit_info:
            main.parse_args(argv)
        assert exit_info.value.code == 2, argv


def test_train_augmented_writes_out_augmented_and_leaves_out_alone(trained, tiny_data, tmp_path):
    import shutil

    models = tmp_path / "models"
    shutil.copytree(trained["model_dir"], models / "out")
    before = {p.name: p.read_bytes() for p in (models / "out").iterdir()}
    result = run_main(["--train_augmented", "--eval_transformed", "--transform", "typo", "--model_name",
                       trained["model_dir"], "--dataset", tiny_data, "--model_dir", models / "out_augmented",
                       "--augment_size", "80", *TRAIN_ARGS], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    info = json.loads((models / "out_augmented" / "training_info.json").read_text())
    assert info["augmented"] and info["augment_size"] == 80 and info["train_examples"] == 480
    record = json.loads((models / "out" / "out_augmented_transformed.json").read_text())  # out/ beside it
    assert record["eval_set"] == "transformed" and record["transform"] == "typo" and record["examples"] == 120
    assert {p.name: p.read_bytes() for p in (models / "out").iterdir() if p.name in before} == before


def test_debug_transformation_prints_five_marked_examples_without_a_model(tiny_data, tmp_path):
    result = run_main(["--eval_transformed", "--debug_transformation", "--transform", "typo",
                       "--transform_strength", "0.5", "--dataset", tiny_data,
                       "--model_dir", tmp_path / "no-model-here"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("Original:") == 5 and result.stdout.count("Transformed:") == 5
    assert "[[" in result.stdout and " -> " in result.stdout
    assert not list(tmp_path.glob("**/*.json"))  # nothing evaluated or written


# ---------------------------------------------------------------------------------------------------------------
# Every path that trains checks its inputs before slow work (CLI, study, benchmarks): one line, exit 2
# ---------------------------------------------------------------------------------------------------------------

def test_diverged_training_saves_nothing_and_keeps_the_previous_model(trained, tiny_data, tmp_path):
    """A learning rate finite but far too high turns the weights to NaN: the run stops with a clear error instead of
    replacing a good model with it."""
    import shutil

    model_dir = tmp_path / "out"
    shutil.copytree(trained["model_dir"], model_dir)
    before = {p.name: p.read_bytes() for p in model_dir.iterdir()}
    result = run_main(["--train", "--model_name", trained["model_dir"], "--dataset", tiny_data, "--model_dir", model_dir,
                       "--num_epochs", "1", "--batch_size", "16", "--max_length", "48",
                       "--learning_rate", "1e38"], cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "training diverged: the weights are not finite" in result.stderr and "Traceback" not in result.stderr
    assert {p.name: p.read_bytes() for p in model_dir.iterdir()} == before


@pytest.mark.parametrize("argv, checkpoint, expected", [
    (["--eval"], False, "prediction files are written only when their evaluation finishes"),
    (["--train"], False, "no checkpoint was saved (--checkpoint_every N"),
    (["--train", "--checkpoint_every", "5"], True, "rerun the same command with --resume"),
])
def test_ctrl_c_says_what_was_kept_and_how_to_go_on(monkeypatch, tmp_path, capsys, argv, checkpoint, expected):
    model_dir = tmp_path / "out"
    if checkpoint:
        (tmp_path / "out_checkpoints" / "step-5").mkdir(parents=True)
        (tmp_path / "out_checkpoints" / "step-5" / "position.json").write_text("{}")

    def interrupted_run(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(main, "run", interrupted_run)
    assert main.main([*argv, "--model_dir", str(model_dir)]) == 130
    message = capsys.readouterr().err
    assert expected in message and "Traceback" not in message
    if checkpoint:
        assert str(tmp_path / "out_checkpoints" / "step-5") in message


def test_unwritable_prediction_folder_fails_before_evaluating(trained, tiny_data, tmp_path):
    model_dir = tmp_path / "model"
    shutil.copytree(trained["model_dir"], model_dir)
    (tmp_path / "out").write_text("not a folder")  # where the model's prediction files would go
    before = {p.name: p.read_bytes() for p in model_dir.iterdir()}
    result = run_main(["--eval", "--model_dir", model_dir, "--dataset", tiny_data, "--max_length", "48"], cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "prediction folder" in result.stderr and "cannot be written" in result.stderr
    assert "Traceback" not in result.stderr and "Evaluating" not in result.stderr
    assert {p.name: p.read_bytes() for p in model_dir.iterdir()} == before


def test_unwritable_model_dir_fails_before_training(tiny_model, tiny_data, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_main(["--train", "--model_name", tiny_model, "--dataset", tiny_data,
                       "--model_dir", blocker / "out", *TRAIN_ARGS], cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "--model_dir" in result.stderr and "cannot be written" in result.stderr
    assert "Running training" not in result.stdout and "Traceback" not in result.stderr


def test_writability_probe_leaves_nothing_behind(tmp_path):
    from pipeline.data import require_writable

    require_writable(tmp_path / "new" / "deeper", "--output_dir")
    assert list(tmp_path.iterdir()) == []


def test_max_length_beyond_the_models_positions_fails_before_tokenizing(tiny_model, tiny_data, tmp_path):
    result = run_main(["--train", "--model_name", tiny_model, "--dataset", tiny_data,
                       "--model_dir", tmp_path / "out", "--max_length", "100"], cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "--max_length 100 exceeds" in result.stderr and "64 positions" in result.stderr
    assert "Tokenizing" not in result.stderr and not (tmp_path / "out").exists()


def test_do_train_itself_refuses_a_max_length_beyond_the_models_positions(tiny_model, tmp_path):
    """The library path (the study, the benchmarks) gets the same check as the CLI, before any step."""
    from accelerate import Accelerator
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(tiny_model)
    config = main.TrainConfig(model_name=str(tiny_model), max_length=100)
    with pytest.raises(UsageError, match="--max_length 100 exceeds"):
        main.do_train(config, model, None, {"train_examples": 0}, tmp_path / "out", Accelerator(cpu=True), None)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("changes, message", [
    ({"batch_size": 0}, "--batch_size must be positive"),
    ({"learning_rate": -1e-5}, "--learning_rate must be positive"),
    ({"warmup_ratio": 1.0}, "--warmup_ratio must be in [0, 1)"),
    ({"checkpoint_every": -1}, "--checkpoint_every must be 0"),
])
def test_train_config_rejects_bad_values_on_every_path(changes, message):
    with pytest.raises(UsageError, match=message.replace("[", r"\[").replace(")", r"\)")):
        main.TrainConfig(**changes)


def test_transform_strength_is_a_probability(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main.parse_args(["--eval_transformed", "--transform", "typo", "--transform_strength", "2"])
    assert exit_info.value.code == 2
    assert "must be >= 0 and <= 1 (got 2.0)" in capsys.readouterr().err


def test_cli_config_and_defaults_are_written_once():
    """The CLI's training defaults are TrainConfig's, and from_args carries every flag into the config."""
    args = main.parse_args(["--train"])
    assert main.TrainConfig.from_args(args) == main.TrainConfig()
    args = main.parse_args(["--train", "--learning_rate", "1e-4", "--seed", "7", "--max_length", "128"])
    config = main.TrainConfig.from_args(args)
    assert (config.learning_rate, config.seed, config.max_length) == (1e-4, 7, 128)


def test_study_with_unwritable_results_fails_before_loading_anything(tiny_model, tiny_data, tmp_path):
    import subprocess
    import sys

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = subprocess.run([sys.executable, str(PROJECT_DIR / "study" / "run_study.py"), "--quick",
                             "--model_name", tiny_model, "--dataset", tiny_data, "--results", blocker / "r"],
                            cwd=tmp_path, env=offline_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "--results" in result.stderr and "cannot be written" in result.stderr
    assert "Traceback" not in result.stderr


def test_checkpoints_are_ordered_by_step_number_and_only_the_oldest_are_pruned(tmp_path, monkeypatch):
    """step-100 is newer than step-95 (not older, as a sort by name would have it)."""
    from accelerate import Accelerator

    from pipeline import checkpoints as ckpt

    save_dir = tmp_path / "out"
    for step in (5, 10, 95):
        (ckpt.checkpoint_root(save_dir) / f"step-{step}").mkdir(parents=True)
        (ckpt.checkpoint_root(save_dir) / f"step-{step}" / "position.json").write_text("{}")
    (ckpt.checkpoint_root(save_dir) / "step-100").mkdir()  # incomplete: no position.json yet
    assert [p.name for p in ckpt.checkpoints(save_dir)] == ["step-5", "step-10", "step-95", "step-100"]
    assert ckpt.latest_checkpoint(save_dir).name == "step-95"  # the newest complete one

    accelerator = Accelerator(cpu=True)
    monkeypatch.setattr(accelerator, "save_state", lambda folder: Path(folder).mkdir(parents=True, exist_ok=True))
    position = ckpt.TrainingPosition({"processes": 1})
    position.global_step = 100
    ckpt.save_checkpoint(accelerator, save_dir, position)
    assert [p.name for p in ckpt.checkpoints(save_dir)][-ckpt.KEEP:] == ["step-95", "step-100"]
    assert len(ckpt.checkpoints(save_dir)) == ckpt.KEEP and ckpt.latest_checkpoint(save_dir).name == "step-100"


def test_training_time_of_a_resumed_run_adds_the_time_before_when_the_checkpoint_has_it(monkeypatch):
    from pipeline.checkpoints import TrainingPosition

    position = TrainingPosition({"processes": 1})
    position.load_state_dict({"epoch": 0, "batches_done": 5, "global_step": 5, "seconds": 12.5, "shape": {}})
    assert position.seconds == 12.5 and position.state_dict()["seconds"] == 12.5
    clock = iter([100.0, 107.25])  # this process started its loop at 100.0 and asks at 107.25
    monkeypatch.setattr(main.time, "perf_counter", lambda: next(clock))
    assert main.run_seconds(position.seconds, main.time.perf_counter()) == 12.5 + 7.25
    monkeypatch.undo()
    # a checkpoint saved before the time was recorded: the time before the resume is unknown, not zero
    position.load_state_dict({"epoch": 0, "batches_done": 5, "global_step": 5, "shape": {}})
    assert position.seconds is None and main.run_seconds(None, time.perf_counter()) is None


def test_evaluation_with_a_max_length_beyond_the_trained_models_positions_stops_at_once(trained, tiny_data, tmp_path):
    model_dir = model_copy(trained, tmp_path)
    result = run_main(["--eval", "--model_dir", model_dir, "--dataset", tiny_data, "--max_length", "100000"],
                      cwd=tmp_path)
    assert result.returncode == 2 and "exceeds" in result.stderr and "--max_length" in result.stderr
    assert "Traceback" not in result.stderr and not (model_dir / "out_original.txt").exists()


def test_help_has_at_most_28_options_and_the_starters_flags():
    """Speed tricks and settings no one needs to choose are no flags (README: "No flag, because ...")."""
    text = run_main(["--help"], cwd=PROJECT_DIR).stdout
    options = set(re.findall(r"^\s{2}(-h|--\w+)", text, flags=re.M))
    assert len(options) <= 28, sorted(options)
    for flag in ("--train", "--eval", "--eval_transformed", "--train_augmented", "--debug_transformation",
                 "--debug_train", "--model_dir", "--learning_rate", "--num_epochs", "--batch_size"):
        assert flag in options
