"""``python main.py --preflight``: in seconds, before any training, everything a run will need; each problem is a
one-line error and exit code 2. Also: a run that will transform reviews checks the transformation can run (its
packages and data) before training, not after."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import main
from conftest import offline_env, run_main

PREFLIGHT = ["--preflight", "--train", "--train_augmented", "--eval", "--eval_transformed"]


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def flags(tiny_model, tiny_data, tmp_path) -> list[str]:
    """A preflight of the batch file's steps that passes: local model and data, folders in tmp_path."""
    return [*PREFLIGHT, "--model_name", str(tiny_model), "--dataset", str(tiny_data), "--max_length", "48",
            "--model_dir", str(tmp_path / "model")]


def preflight(argv, capsys) -> tuple[int, str, list[str]]:
    code = main.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err.strip().splitlines()


def without_lemminflect(tmp_path: Path) -> dict:
    """An environment where the transformations' inflection package cannot be imported (as if not installed)."""
    fake = tmp_path / "site" / "lemminflect"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('raise ImportError("No module named \'lemminflect\' (simulated)")\n')
    return offline_env(PYTHONPATH=str(tmp_path / "site"))


def test_preflight_passes_prints_a_summary_and_writes_nothing(flags, tmp_path, capsys):
    code, out, err = preflight([*flags, "--transform", "typo"], capsys)
    assert code == 0, err
    assert out.startswith("preflight: ok")
    assert "model " in out and "400 train, 120 test" in out and "writable" in out
    assert "Running training" not in out
    assert not list(tmp_path.iterdir()), "the preflight created or wrote something"


@pytest.mark.parametrize("change, expected", [
    (["--model_name", "no-such-org/no-such-model"], "not in the Hugging Face cache"),
    (["--model_name", "./no/such/folder"], "no such folder"),
    (["--max_length", "1000"], "--max_length 1000 exceeds"),
    (["--augment_size", "1000"], "--augment_size 1000 is more than the 400 training reviews"),
    (["--resume"], "--resume: no checkpoint"),
])
def test_each_problem_is_one_line_and_exit_2(flags, change, expected, capsys):
    code, out, err = preflight([*flags, *change], capsys)
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error: ") and expected in err[0], err
    assert "preflight: ok" not in out


def test_model_folder_without_weights(flags, tiny_model, tmp_path, capsys):
    folder = tmp_path / "weightless"
    shutil.copytree(tiny_model, folder, ignore=shutil.ignore_patterns("*.safetensors", "*.bin"))
    code, _, err = preflight([*flags, "--model_name", folder], capsys)
    assert code == 2 and len(err) == 1 and "has no weights" in err[0], err


def test_dataset_folder_missing_a_split(flags, tiny_data, tmp_path, capsys):
    folder = tmp_path / "half"
    folder.mkdir()
    shutil.copy(tiny_data / "train.parquet", folder)
    code, _, err = preflight([*flags, "--dataset", folder], capsys)
    assert code == 2 and len(err) == 1 and "test.parquet" in err[0], err


def test_unwritable_prediction_folder(flags, tmp_path, capsys):
    (tmp_path / "out").write_text("")  # where the model's prediction files go: the out/ beside it
    code, _, err = preflight(flags, capsys)
    assert code == 2 and len(err) == 1 and "prediction folder" in err[0], err


def test_the_gpus_slurm_allocated_must_be_visible(flags, monkeypatch, capsys):
    monkeypatch.setenv("SLURM_GPUS_ON_NODE", "1")
    monkeypatch.setattr("torch.cuda.device_count", lambda: 0)
    code, _, err = preflight(flags, capsys)
    assert code == 2 and len(err) == 1 and "SLURM allocated 1 GPU(s)" in err[0], err
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # the job chose the CPU (train.sbatch with NUM_GPUS=0)
    code, out, err = preflight(flags, capsys)
    assert code == 0 and "GPUs: none visible" in out, err


def test_evaluation_without_a_trained_model(flags, tiny_data, tmp_path, capsys):
    code, _, err = preflight(["--preflight", "--eval", "--dataset", tiny_data, "--model_dir", tmp_path / "empty"],
                             capsys)
    assert code == 2 and len(err) == 1 and "holds no trained model" in err[0], err


def test_several_problems_are_all_reported(flags, tmp_path, monkeypatch, capsys):
    (tmp_path / "out").write_text("")
    monkeypatch.setenv("SLURM_GPUS_ON_NODE", "1")
    monkeypatch.setattr("torch.cuda.device_count", lambda: 0)
    code, _, err = preflight([*flags, "--max_length", "1000"], capsys)
    assert code == 2 and len(err) == 3 and all(line.startswith("error: ") for line in err), err


def test_a_transformation_that_cannot_run_fails_the_preflight_only_when_the_run_transforms(flags, tmp_path):
    env = without_lemminflect(tmp_path)
    result = run_main([*flags, "--transform", "synonym"], cwd=tmp_path, env=env, timeout=300)
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "--transform synonym cannot run" in errors[0] and "lemminflect" in errors[0], errors
    not_transforming = [f for f in flags if f not in ("--train_augmented", "--eval_transformed")]
    result = run_main(not_transforming, cwd=tmp_path, env=env, timeout=300)
    assert result.returncode == 0, result.stderr


def test_a_run_transforming_later_stops_before_training(tiny_model, tiny_data, tmp_path):
    """--train --eval_transformed transforms only after training: if it cannot, the run must stop before training."""
    result = run_main(["--train", "--eval_transformed", "--transform", "synonym", "--model_name", tiny_model,
                       "--dataset", tiny_data, "--max_length", "48", "--model_dir", tmp_path / "model"],
                      cwd=tmp_path, env=without_lemminflect(tmp_path),
                      timeout=300)
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "cannot run" in errors[0], result.stderr
    assert "Running training" not in result.stdout
    assert not (tmp_path / "model").exists()


def test_a_read_only_parent_of_the_model_folder_fails_the_preflight(flags, tmp_path, capsys, monkeypatch):
    """The new model is built beside the old one, and the checkpoints go there too: a writable model folder in a
    read-only folder ran to the end of training, then failed (OSError: Read-only file system)."""
    import errno
    import tempfile

    from pipeline import data

    (tmp_path / "model").mkdir()
    real = tempfile.NamedTemporaryFile

    def read_only_parent(*args, dir=None, **kwargs):
        if Path(dir) != tmp_path / "model":  # only the model folder itself can be written
            raise OSError(errno.EROFS, "Read-only file system")
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(data.tempfile, "NamedTemporaryFile", read_only_parent)
    code, _, err = preflight([a for a in flags if a not in ("--eval", "--eval_transformed")], capsys)
    assert code == 2, err
    assert any(f"the folder of --model_dir model {tmp_path} cannot be written (Read-only file system)" in line
               and "built there beside the old one" in line for line in err), err


def test_a_disk_without_room_for_the_model_and_its_checkpoints_fails_the_preflight(flags, tmp_path, capsys,
                                                                                 monkeypatch):
    from collections import namedtuple

    from pipeline import preflight as checks

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(checks.shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 1000, 1000))
    code, _, err = preflight([*flags, "--checkpoint_every", "10"], capsys)
    assert code == 2 and len(err) == 1, err
    assert "0.0 MB free on its disk, and training writes up to" in err[0] and "3 checkpoint(s)" in err[0], err
    monkeypatch.setattr(checks.shutil, "disk_usage", lambda path: usage(10**12, 0, 10**12))
    code, out, err = preflight([*flags, "--checkpoint_every", "10"], capsys)
    assert code == 0 and "training writes up to" in out, err


@pytest.mark.parametrize("which", ["--model_dir", "--model_name"])
def test_damaged_weights_fail_the_preflight_in_one_line(flags, tiny_model, tmp_path, capsys, which):
    """A model.safetensors cut short (a full disk, a killed copy) passed the preflight and ended in a
    SafetensorError traceback."""
    folder = tmp_path / "damaged"
    shutil.copytree(tiny_model, folder)
    weights = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(weights[:len(weights) // 2])
    argv = ([*flags, "--model_name", folder] if which == "--model_name" else
            ["--preflight", "--eval", "--dataset", flags[flags.index("--dataset") + 1], "--model_dir", folder])
    code, _, err = preflight(argv, capsys)
    assert code == 2 and len(err) == 1, err
    assert f"{which} {folder}: model.safetensors is damaged" in err[0] and "again" in err[0], err
