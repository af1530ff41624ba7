"""Data-parallel training and evaluation, gradient accumulation, and checkpoint/resume, all on CPU.

Two processes on CPU: ``accelerate launch --multi_gpu`` starts them through torchrun, and ``ACCELERATE_USE_CPU=1``
makes Accelerate use the gloo backend instead of NCCL. (``accelerate launch --cpu --num_processes 2`` would start a
single process: Accelerate only runs several CPU processes through mpirun.) The code path is the one two GPUs take:
DistributedDataParallel, sharded batches, ``no_sync`` and ``gather_for_metrics``.
"""

from __future__ import annotations

import json
import math
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import torch

import main
from benchmarks.cpu_processes import free_port, launch_command
from conftest import PROJECT_DIR, offline_env, run_main
from pipeline import runtime
from pipeline.checkpoints import checkpoint_root, latest_checkpoint
from pipeline.results import read_predictions

TRAIN_ARGS = ["--num_epochs", "3", "--learning_rate", "3e-3", "--batch_size", "16", "--max_length", "48",
              "--seed", "5"]


def env() -> dict:
    """Offline, and one thread per process: the tiny model runs many times faster than with threads competing."""
    return offline_env(OMP_NUM_THREADS="1")


def launch(args: list, cwd: Path, processes: int = 2, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run main.py on ``processes`` CPU processes, as a user would run it."""
    return subprocess.run(launch_command(args, processes), cwd=cwd, env={**env(), "ACCELERATE_USE_CPU": "1"},
                          capture_output=True, text=True, timeout=timeout)


def weights(model_dir: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(model_dir / "model.safetensors")


# ---------------------------------------------------------------------------------------------------------------
# Two processes: training, and evaluation identical to one process
# ---------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory, tiny_model, tiny_data):
    work = tmp_path_factory.mktemp("ddp")
    model_dir = work / "out"
    result = launch(["--train", "--eval", "--model_name", tiny_model, "--dataset", tiny_data, "--model_dir", model_dir,
                     "--checkpoint_every", "10", *TRAIN_ARGS], cwd=work)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    # prediction files go to the out/ beside the model folder: here the model folder itself
    return {"work": work, "model_dir": model_dir, "out": model_dir, "result": result}


def model_copy(run, folder: Path) -> Path:
    """The trained model without its prediction files, in ``folder``/out (where its evaluations then write)."""
    shutil.copytree(run["model_dir"], folder / "out", ignore=shutil.ignore_patterns("*_original.*", "*_transformed.*"))
    return folder / "out"


def test_two_processes_train_data_parallel_and_write_once(two_process_run):
    model_dir, out, result = two_process_run["model_dir"], two_process_run["out"], two_process_run["result"]
    info = json.loads((model_dir / "training_info.json").read_text())
    # 400 reviews in batches of 16 per process: 25 batches, 13 per process (the last one padded) -> 13 steps/epoch
    assert info["processes"] == 2 and info["optimizer_steps"] == 3 * 13, info
    assert info["train_examples"] == 400
    record = json.loads((out / "out_original.json").read_text())
    assert record["examples"] == 120 and record["accuracy"] >= 0.8, record
    assert record["training"]["processes"] == 2

    # Only the main process prints and writes: one banner, one result line, exactly the expected files.
    assert result.stdout.count("***** Running training *****") == 1, result.stdout
    assert result.stdout.count("out_original: accuracy") == 1, result.stdout
    assert "devices = 2" in result.stdout
    assert result.stderr.count("Training:   0%") == 1 and result.stderr.count("Evaluating:   0%") == 1
    assert sorted(p.name for p in out.iterdir() if p.name.startswith("out_")) == ["out_original.json", "out_original.txt"]
    assert not any(model_dir.parent.glob(".*tmp-save*"))
    # Checkpoints hold both processes' RNG states (random_states_0/1) and are complete.
    checkpoints = sorted((model_dir.parent / "out_checkpoints").glob("step-*"))
    assert checkpoints and all((c / "position.json").is_file() for c in checkpoints)
    assert {p.name for p in checkpoints[-1].glob("random_states_*.pkl")} == {"random_states_0.pkl",
                                                                            "random_states_1.pkl"}


def test_two_process_eval_matches_one_process_eval(two_process_run, tiny_data, tmp_path):
    """The 2-process evaluation of a model equals the 1-process evaluation of the same model, file for file."""
    one = model_copy(two_process_run, tmp_path)
    single = run_main(["--eval", "--model_dir", one, "--dataset", tiny_data, "--max_length", "48"], cwd=tmp_path,
                      env=env())
    assert single.returncode == 0, single.stderr[-3000:]
    two = two_process_run["out"]
    assert (one / "out_original.txt").read_text() == (two / "out_original.txt").read_text()
    one_record = json.loads((one / "out_original.json").read_text())
    two_record = json.loads((two / "out_original.json").read_text())
    assert (one_record["accuracy"], one_record["correct"]) == (two_record["accuracy"], two_record["correct"])
    predictions, _ = read_predictions(two / "out_original.txt")
    assert set(predictions) == {0, 1}, "a constant classifier would make the comparison meaningless"


def test_uneven_evaluation_has_no_duplicates_or_missing_rows(two_process_run, tiny_data, tmp_path):
    """70 reviews in batches of 32 on 2 processes: 3 batches, so the last round is padded with repeated rows."""
    import pyarrow.parquet as pq

    from pipeline.data import subset

    common = ["--eval", "--eval_transformed", "--transform", "example_transform", "--dataset", tiny_data,
              "--max_length", "48", "--max_eval_samples", "70"]
    one, two = model_copy(two_process_run, tmp_path / "one"), model_copy(two_process_run, tmp_path / "two")
    single = run_main([*common, "--model_dir", one], cwd=tmp_path, env=env())
    assert single.returncode == 0, single.stderr[-3000:]
    double = launch([*common, "--model_dir", two], cwd=tmp_path)
    assert double.returncode == 0, double.stderr[-4000:]

    import datasets

    test = datasets.Dataset(pq.read_table(tiny_data / "test.parquet"))
    expected_labels = subset(test, 70, 42)["label"]
    for name in ("out_original", "out_transformed"):
        text = (two / f"{name}.txt").read_text()
        assert text == (one / f"{name}.txt").read_text(), name
        predictions, labels = read_predictions(two / f"{name}.txt")
        assert len(predictions) == 70 and labels == expected_labels, name
        record = json.loads((two / f"{name}.json").read_text())
        assert record["examples"] == 70
        assert record["correct"] == sum(p == y for p, y in zip(predictions, labels))
        assert record == {**record, **{k: json.loads((one / f"{name}.json").read_text())[k]
                                       for k in ("accuracy", "correct", "examples")}}


# ---------------------------------------------------------------------------------------------------------------
# Checkpoints: a run killed mid-way and resumed ends exactly where an uninterrupted run ends
# ---------------------------------------------------------------------------------------------------------------

RESUME_ARGS = ["--num_epochs", "3", "--learning_rate", "2e-3", "--batch_size", "8", "--max_length", "48",
               "--gradient_accumulation_steps", "2", "--seed", "7"]


@pytest.mark.parametrize("processes", [1, 2])
def test_killed_run_resumes_to_the_same_weights(processes, tiny_model, tiny_data, tmp_path):
    """SIGKILL after the first checkpoint, then --resume: the final weights equal an uninterrupted run's.

    The tiny model keeps DistilBERT's dropout (0.1), so this holds only if the checkpoint restores the RNG state
    *and* nothing draws from the global RNG between restoring it and the next batch (see pipeline/batching.py).
    """
    from transformers import AutoConfig

    assert AutoConfig.from_pretrained(tiny_model).dropout == 0.1
    common = ["--train", "--model_name", tiny_model, "--dataset", tiny_data, *RESUME_ARGS]
    steps = 3 * math.ceil(math.ceil(400 / (8 * processes)) / 2)  # 3 epochs of batch 8 per process, 2 per step
    reference = launch([*common, "--model_dir", tmp_path / "reference"], cwd=tmp_path, processes=processes)
    assert reference.returncode == 0, reference.stderr[-3000:]

    model_dir = tmp_path / "killed"
    checkpoints = tmp_path / "killed_checkpoints"
    command = launch_command([*common, "--model_dir", model_dir, "--checkpoint_every", "5"], processes)
    process = subprocess.Popen(command, cwd=tmp_path, env={**env(), "ACCELERATE_USE_CPU": "1"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not list(checkpoints.glob("step-*/position.json")):
        assert process.poll() is None, "training ended before its first checkpoint"
        assert time.monotonic() < deadline, "no checkpoint within 5 minutes"
        time.sleep(0.01)
    # The launcher and every worker at once, as when a node is lost (torchrun's workers have their own sessions).
    tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    for member in tree:
        member.send_signal(signal.SIGKILL)
    psutil.wait_procs(tree, timeout=60)
    process.wait(timeout=60)
    assert not (model_dir / "model.safetensors").exists(), "the run finished before it was killed"

    newest = latest_checkpoint(model_dir)
    position = json.loads((newest / "position.json").read_text())
    assert position["global_step"] < steps and position["batches_done"] > 0, position  # mid-epoch
    assert position["shape"]["processes"] == processes
    assert position["seconds"] > 0  # the training time so far travels with the checkpoint

    resumed = launch([*common, "--model_dir", model_dir, "--checkpoint_every", "5", "--resume"], cwd=tmp_path,
                     processes=processes)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"Resuming from {newest}" in resumed.stdout
    info = json.loads((model_dir / "training_info.json").read_text())
    assert info["resumed"] is True and info["optimizer_steps"] == steps and info["processes"] == processes
    # the whole run's training time: the killed run's part (from the checkpoint) plus the resumed part
    assert info["train_seconds_complete"] is True and info["train_seconds"] > position["seconds"]

    expected, actual = weights(tmp_path / "reference"), weights(model_dir)
    initial = weights(Path(tiny_model))
    assert expected.keys() == actual.keys()
    moved = [name for name in expected if name in initial and not torch.allclose(expected[name], initial[name])]
    assert len(moved) > len(expected) // 2, "training barely changed the weights; the comparison would be empty"
    different = [name for name in expected if not torch.allclose(expected[name], actual[name], atol=1e-5)]
    assert not different, different


def test_resume_without_a_checkpoint_is_a_clear_error(tiny_model, tiny_data, tmp_path):
    result = run_main(["--train", "--resume", "--model_name", tiny_model, "--dataset", tiny_data,
                       "--model_dir", tmp_path / "out"], cwd=tmp_path, env=env())
    assert result.returncode == 2, result.stderr[-2000:]
    assert "--resume: no checkpoint" in result.stderr and "without --resume" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_resume_with_another_number_of_processes_is_refused(two_process_run, tiny_model, tiny_data, tmp_path):
    """Batch positions count per-process batches: a 2-process checkpoint cannot continue on 1 process."""
    import shutil

    shutil.copytree(two_process_run["model_dir"].parent / "out_checkpoints", tmp_path / "out_checkpoints")
    result = run_main(["--train", "--resume", "--model_name", tiny_model, "--dataset", tiny_data,
                       "--model_dir", tmp_path / "out", *TRAIN_ARGS], cwd=tmp_path, env=env())
    assert result.returncode == 2, result.stderr[-2000:]
    assert "processes 2 (now 1)" in result.stderr and "--num_processes 2" in result.stderr, result.stderr[-2000:]
    assert "NUM_GPUS=2" in result.stderr and "FRESH=1" in result.stderr  # the batch file's user's advice
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_resume_from_incomplete_checkpoints_only_is_a_clear_error(tiny_model, tiny_data, tmp_path):
    """A checkpoint folder without position.json (a save cut off half-way) is never resumed from."""
    (tmp_path / "out_checkpoints" / "step-5").mkdir(parents=True)
    result = run_main(["--train", "--resume", "--model_name", tiny_model, "--dataset", tiny_data,
                       "--model_dir", tmp_path / "out", "--max_length", "48"], cwd=tmp_path, env=env())
    assert result.returncode == 2, result.stderr[-2000:]
    assert "--resume: no checkpoint" in result.stderr and "Traceback" not in result.stderr


# ---------------------------------------------------------------------------------------------------------------
# Gradient accumulation, in-process, on a deterministic model
# ---------------------------------------------------------------------------------------------------------------

class CountingSGD(torch.optim.SGD):
    """Plain SGD: unlike Adam, its update is proportional to the gradient, so a mis-scaled loss shows. It records
    the learning rate and the gradients' total norm of every step."""

    steps = 0
    seen: list[tuple[float, float]] = []

    def step(self, closure=None):
        CountingSGD.steps += 1
        grads = [p.grad for group in self.param_groups for p in group["params"] if p.grad is not None]
        CountingSGD.seen.append((self.param_groups[0]["lr"], float(torch.linalg.vector_norm(
            torch.stack([torch.linalg.vector_norm(g) for g in grads])))))
        return super().step(closure)


def deterministic_model(tiny_model):
    from transformers import AutoModelForSequenceClassification

    return AutoModelForSequenceClassification.from_pretrained(tiny_model, dropout=0.0, attention_dropout=0.0,
                                                              seq_classif_dropout=0.0)


def examples(n: int, vocab_size: int, seed: int = 0) -> list[dict]:
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, vocab_size, (n, 12), generator=generator)
    ids[:, 0] = 2  # [CLS]
    return [{"input_ids": ids[i], "attention_mask": torch.ones(12, dtype=torch.long), "labels": torch.tensor(i % 2)}
            for i in range(n)]


@pytest.fixture(autouse=True)
def one_thread():
    """In-process training of the tiny model: one thread is far faster than two competing ones."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def train_in_process(tiny_model, tmp_path, monkeypatch, data, batch_size, accumulation, learning_rate=0.5,
                     warmup_ratio=0.0, max_grad_norm=1e9):
    from accelerate import Accelerator
    from torch.utils.data import DataLoader
    from transformers import AutoTokenizer

    # SGD makes the accumulated update exactly comparable; the AdamW kernel choice (fused) does not apply to it
    monkeypatch.setattr(main, "AdamW", lambda groups, lr, fused=None: CountingSGD(groups, lr=lr))
    CountingSGD.steps, CountingSGD.seen = 0, []
    config = main.TrainConfig(num_epochs=1, learning_rate=learning_rate, batch_size=batch_size,
                              gradient_accumulation_steps=accumulation, warmup_ratio=warmup_ratio,
                              max_grad_norm=max_grad_norm,
                              max_length=48, model_name=str(tiny_model))
    model = deterministic_model(tiny_model)
    loader = DataLoader(data, batch_size=batch_size, shuffle=False)
    save_dir = tmp_path / f"b{batch_size}-n{accumulation}"
    stale = checkpoint_root(save_dir) / "step-99"  # an older run's: a fresh run must drop it
    stale.mkdir(parents=True)
    (stale / "position.json").write_text("{}")
    info = main.do_train(config, model, loader, {"train_examples": len(data)}, save_dir, Accelerator(cpu=True),
                         AutoTokenizer.from_pretrained(tiny_model))
    assert not stale.exists() and latest_checkpoint(save_dir) is None
    return weights(save_dir), info, CountingSGD.steps


def test_learning_rate_warms_up_then_decays_linearly(tiny_model, tmp_path, monkeypatch):
    """4 optimizer steps, warm-up ratio 0.5: 2 warm-up steps from 0, then a linear decay to 0 at the end."""
    data = examples(8, deterministic_model(tiny_model).config.vocab_size)
    train_in_process(tiny_model, tmp_path, monkeypatch, data, 2, 1, learning_rate=0.4, warmup_ratio=0.5)
    assert [round(lr, 6) for lr, _ in CountingSGD.seen] == [0.0, 0.2, 0.4, 0.2]


def test_gradients_are_clipped_to_max_grad_norm_before_each_step(tiny_model, tmp_path, monkeypatch):
    data = examples(8, deterministic_model(tiny_model).config.vocab_size)
    train_in_process(tiny_model, tmp_path, monkeypatch, data, 2, 1)
    unclipped = [norm for _, norm in CountingSGD.seen]
    assert min(unclipped) > 0.001  # so that the limit below does bind
    train_in_process(tiny_model, tmp_path, monkeypatch, data, 2, 1, max_grad_norm=0.001)
    assert [norm for _, norm in CountingSGD.seen] == pytest.approx([0.001] * 4, rel=1e-2)  # max/(norm + 1e-6)


def test_accumulating_four_batches_of_two_equals_one_batch_of_eight(tiny_model, tmp_path, monkeypatch):
    model = deterministic_model(tiny_model)
    data = examples(8, model.config.vocab_size)
    accumulated, info, steps = train_in_process(tiny_model, tmp_path, monkeypatch, data, 2, 4)
    assert steps == 1 and info["optimizer_steps"] == 1
    single, _, steps = train_in_process(tiny_model, tmp_path, monkeypatch, data, 8, 1)
    assert steps == 1
    initial = {n: p.detach() for n, p in model.state_dict().items()}
    assert any(not torch.allclose(initial[n], single[n]) for n in single), "the step changed nothing"
    different = [n for n in single if not torch.allclose(single[n], accumulated[n], atol=1e-6)]
    assert not different, different


def test_partial_last_group_is_averaged_over_its_own_batches(tiny_model, tmp_path, monkeypatch):
    """10 batches of 2 with n=4: steps after batches 4, 8 and 10; the last group of 2 is scaled by 1/2, not 1/4."""
    from transformers import get_linear_schedule_with_warmup

    model = deterministic_model(tiny_model)
    data = examples(20, model.config.vocab_size, seed=1)
    trained, info, steps = train_in_process(tiny_model, tmp_path, monkeypatch, data, 2, 4)
    assert steps == 3 and info["optimizer_steps"] == 3

    # Reference: one SGD step per group on the mean loss of the group's examples, same linear schedule.
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    optimizer = torch.optim.SGD([
        {"params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
         "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ], lr=0.5)
    scheduler = get_linear_schedule_with_warmup(optimizer, 0, 3)
    model.train()
    for group in (data[0:8], data[8:16], data[16:20]):
        batch = {k: torch.stack([e[k] for e in group]) for k in group[0]}
        model(**batch).loss.backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
    expected = model.state_dict()
    different = [n for n in trained if not torch.allclose(expected[n], trained[n], atol=1e-6)]
    assert not different, different


# ---------------------------------------------------------------------------------------------------------------
# Cluster path: the checkpoint deletion decided once for all processes; a checkpoint resumed only at its precision
# ---------------------------------------------------------------------------------------------------------------

DELETION_SCRIPT = """
import json, sys
from pathlib import Path
sys.path.insert(0, {project!r})
import torch
from accelerate import Accelerator
from pipeline.checkpoints import checkpoint_root, remove_checkpoints

accelerator = Accelerator()
barriers = 0
wait = accelerator.wait_for_everyone
def counted():
    global barriers
    barriers += 1
    wait()
accelerator.wait_for_everyone = counted
# The processes see different file systems: the main process sees the old checkpoints, the other sees none (as when
# the main process's rmtree finishes before the other looks).
save_dir = Path({work!r}) / f"rank{{accelerator.process_index}}" / "out"
remove_checkpoints(accelerator, save_dir)
counts = accelerator.gather(torch.tensor([barriers])).tolist()
# main.py's way out: the process group ends before the interpreter (gloo can abort at its teardown otherwise)
from pipeline.runtime import end_process_group
end_process_group()
if accelerator.is_main_process:
    print(json.dumps({{"barriers": counts, "left": checkpoint_root(save_dir).exists(),
                      "group_ended": not torch.distributed.is_initialized()}}))
"""


def test_checkpoint_deletion_is_decided_once_for_all_processes(tmp_path):
    """Every process passes the same barriers whatever it sees on disk, so none waits in a barrier alone (an NCCL
    hang on GPUs); only the main process deletes."""
    stale = tmp_path / "rank0" / "out_checkpoints" / "step-10"
    stale.mkdir(parents=True)
    (stale / "position.json").write_text("{}")
    script = tmp_path / "remove.py"
    script.write_text(DELETION_SCRIPT.format(project=str(PROJECT_DIR), work=str(tmp_path)))
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "--main_process_port", str(free_port()), str(script)]
    process = subprocess.Popen(command, cwd=tmp_path, env={**env(), "ACCELERATE_USE_CPU": "1"},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
        for member in tree:
            member.kill()
        psutil.wait_procs(tree, timeout=60)
        pytest.fail("the processes hung: one waits in a barrier that the other skipped")
    assert process.returncode == 0, stderr[-3000:]
    outcome = json.loads(stdout.strip().splitlines()[-1])
    assert outcome["barriers"][0] == outcome["barriers"][1] > 0, outcome
    assert outcome["left"] is False
    assert outcome["group_ended"] is True


def test_every_accelerator_ends_its_process_group_at_exit():
    """make_accelerator registers end_process_group with atexit, so that errors and normal ends alike destroy the
    group before the interpreter's teardown (each call unregisters the earlier registration first)."""
    code = ("import atexit\nfrom pipeline import runtime\n"
            "seen = []\n"
            "register = atexit.register\n"
            "atexit.register = lambda f, *a, **k: (seen.append(f), register(f, *a, **k))[1]\n"
            "runtime.make_accelerator('no'); runtime.make_accelerator('no')\n"
            "print(sum(f is runtime.end_process_group for f in seen))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, env={**env(), "ACCELERATE_USE_CPU": "1"},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "2"  # by each call
    runtime.end_process_group()  # no process group in this process: nothing to do, no error


def test_a_checkpoint_is_resumed_only_at_its_own_precision(two_process_run, tiny_model, tiny_data):
    """An fp16 run needs the loss scaler's state, which a bf16 or fp32 checkpoint lacks: refused before training,
    in one line that says what to do."""
    work = two_process_run["work"]
    newest = latest_checkpoint(two_process_run["model_dir"])
    # auto: fp32 on a CPU without native bf16, bf16 on one with it (pipeline/precision.py)
    stored = json.loads((newest / "position.json").read_text())["shape"]["mixed_precision"]
    assert stored in ("no", "bf16")
    other = "no" if stored == "bf16" else "bf16"
    result = run_main(["--train", "--resume", "--mixed_precision", other, "--model_name", tiny_model,
                       "--dataset", tiny_data, "--model_dir", two_process_run["model_dir"], "--checkpoint_every", "10",
                       *TRAIN_ARGS], cwd=work, env=env())
    assert result.returncode == 2, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and f"mixed_precision {stored} (now {other})" in errors[0], errors
    assert f"--mixed_precision {stored}" in errors[0] and "without --resume" in errors[0], errors
    assert "Running training" not in result.stdout
    assert latest_checkpoint(two_process_run["model_dir"]) == newest


# ---------------------------------------------------------------------------------------------------------------
# SIGTERM (preemption) and SIGUSR1 (the time limit near): a checkpoint at the next step, then the requeue exit code
# ---------------------------------------------------------------------------------------------------------------

def signalled_run(args: list, cwd: Path, processes: int, signum: int) -> tuple[int, str]:
    """Start a training run, send ``signum`` (to the launcher, which passes SIGTERM on) once training has begun."""
    process = subprocess.Popen(launch_command(args, processes), cwd=cwd, env={**env(), "ACCELERATE_USE_CPU": "1"},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:
        if "Running training" in line:
            break
    process.send_signal(signum)
    out, err = process.communicate(timeout=300)
    return process.returncode, err


@pytest.mark.parametrize("processes, signum", [(1, signal.SIGTERM), (1, signal.SIGUSR1), (2, signal.SIGTERM)])
def test_a_signal_saves_a_checkpoint_at_the_next_step_and_exits_to_be_requeued(processes, signum, tiny_model,
                                                                              tiny_data, tmp_path):
    """No --checkpoint_every at all: the signal's checkpoint is the one resumed from (SLURM's preemption sends
    SIGTERM; the batch file passes its USR1 on; torch's launcher passes SIGTERM on to every process)."""
    from pipeline.checkpoints import REQUEUE_EXIT_CODE

    epochs = 20  # long enough to be signalled inside the loop
    common = ["--train", "--model_name", tiny_model, "--dataset", tiny_data, "--model_dir", tmp_path / "out",
              *RESUME_ARGS, "--num_epochs", str(epochs)]
    code, err = signalled_run(common, tmp_path, processes, signum)
    newest = latest_checkpoint(tmp_path / "out")
    if processes == 1:
        assert code == REQUEUE_EXIT_CODE, err[-3000:]
        assert f"stopped by {signal.Signals(signum).name} at optimizer step" in err and "--resume" in err, err[-2000:]
        assert "Traceback" not in err
    assert newest is not None, err[-3000:]
    position = json.loads((newest / "position.json").read_text())
    assert 0 < position["global_step"] < epochs * math.ceil(math.ceil(400 / (8 * processes)) / 2), position
    assert not (tmp_path / "out").exists(), "the model folder is left as it was"
    resumed = launch([*common, "--resume"], cwd=tmp_path, processes=processes)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"Resuming from {newest}" in resumed.stdout


def test_an_error_of_the_main_process_alone_ends_the_launchers_output(tiny_model, tiny_data, tmp_path):
    """Only the main process checks the folders it writes: its one-line error was buried under the launcher's
    traceback. torch's launcher ends its failure report with the message of the process's error file."""
    model_dir = tmp_path / "models" / "model"
    shutil.copytree(tiny_model, model_dir)
    (tmp_path / "models" / "out").write_text("not a folder")  # where the model's prediction files would go
    result = launch(["--eval", "--model_dir", model_dir, "--dataset", tiny_data, "--max_length", "48"], cwd=tmp_path)
    assert result.returncode != 0
    tail = result.stderr.strip().splitlines()[-12:]
    assert any("error: the prediction folder" in line and "cannot be written" in line for line in tail), \
        "\n".join(tail)
