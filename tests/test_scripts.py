"""scripts/train.sbatch: its step loop run by bash with stand-in ``python``, ``accelerate``, ``scontrol`` and ``conda``.

The stand-ins record every call (argv, tab-separated) and can simulate a failure, a checkpoint left behind, and
SLURM's USR1 warning before the time limit (then wait to be killed, as a requeued job's processes are).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
BATCH_FILE = PROJECT_DIR / "scripts" / "train.sbatch"
STEPS = ("--train", "--eval", "--eval_transformed", "--train_augmented", "--eval --eval_transformed")

# FAKE_CHECKPOINT_ON / FAKE_USR1_ON / FAKE_TERM_ON / FAKE_FAIL_ON: a word; a call whose first main.py flag is that
# word leaves a complete checkpoint for its model folder / sends USR1 (TERM) to the batch shell, as SLURM does before
# the time limit (on preemption), and exits 75 when the shell passes a signal on / exits 1.
# FAKE_PREFLIGHT_RC: the preflight's exit status.
FAKE_LAUNCHER = r"""#!/bin/bash
(IFS=$'\t'; printf '%s\t%s\n' "${0##*/}" "$*") >> "$FAKE_DIR/calls"
echo "${CUDA_VISIBLE_DEVICES-unset}" >> "$FAKE_DIR/visible_devices"   # which GPUs the call could see
args=("$@")
while [[ ${#args[@]} -gt 0 && ${args[0]} != main.py ]]; do args=("${args[@]:1}"); done   # accelerate's own flags
first=${args[1]:-}
if [[ $first == --preflight ]]; then exit "${FAKE_PREFLIGHT_RC:-0}"; fi
if [[ $first == "${FAKE_CHECKPOINT_ON:-}" ]]; then
    folder=out; [[ $first == --train_augmented ]] && folder=out_augmented
    mkdir -p "${folder}_checkpoints/step-500" && echo '{}' > "${folder}_checkpoints/step-500/position.json"
fi
if [[ $first == "${FAKE_USR1_ON:-}" || $first == "${FAKE_TERM_ON:-}" ]]; then
    echo $$ > "$FAKE_DIR/pid"
    # main.py's handling: a signal passed on by the batch shell stops the step (after its checkpoint), exit 75
    for signal in USR1 TERM; do trap "printf 'received\t%s\n' $signal >> \"\$FAKE_DIR/calls\"; exit 75" $signal; done
    [[ $first == "${FAKE_USR1_ON:-}" ]] && kill -USR1 "$PPID" || kill -TERM "$PPID"
    sleep 30 >/dev/null 2>&1 & wait   # not holding the output pipes, which the test reads to their end
    exit 1                 # not reached: the batch shell passed the signal on
fi
if [[ $first == "${FAKE_FAIL_ON:-}" ]]; then exit 1; fi
exit 0
"""
FAKE_SCONTROL = r"""#!/bin/bash
(IFS=$'\t'; printf '%s\t%s\n' scontrol "$*") >> "$FAKE_DIR/calls"
kill -TERM "$(cat "$FAKE_DIR/pid")" 2>/dev/null   # as SLURM kills a requeued job (the step has stopped already)
"""
# A conda whose activation reads an unset variable, as real activation scripts do.
FAKE_CONDA = r"""#!/bin/bash
(IFS=$'\t'; printf '%s\t%s\n' conda "$*") >> "$FAKE_DIR/calls"
echo "$FAKE_DIR/conda"
"""
FAKE_CONDA_SH = r"""conda() { echo "activating $2 ${SOME_UNSET_VARIABLE}" >> "$FAKE_DIR/calls"; }
"""


@pytest.fixture
def cluster(tmp_path):
    """A project folder (just a main.py) and a PATH whose python, accelerate and scontrol are the stand-ins."""
    project, fake = tmp_path / "project", tmp_path / "fake"
    (fake / "bin").mkdir(parents=True)
    project.mkdir()
    (project / "main.py").write_text("")
    for name, text in (("python", FAKE_LAUNCHER), ("accelerate", FAKE_LAUNCHER), ("scontrol", FAKE_SCONTROL),
                       ("conda", FAKE_CONDA)):
        (fake / "bin" / name).write_text(text)
        (fake / "bin" / name).chmod(0o755)
    (fake / "conda" / "etc" / "profile.d").mkdir(parents=True)
    (fake / "conda" / "etc" / "profile.d" / "conda.sh").write_text(FAKE_CONDA_SH)
    return project, fake


def submit(cluster, job_id="1001", restarts=0, **settings) -> tuple[subprocess.CompletedProcess, list[list[str]]]:
    """Run the batch file as SLURM would start it; returns the result and the stand-ins' calls of this run."""
    project, fake = cluster
    calls = fake / "calls"
    calls.unlink(missing_ok=True)
    env = {"PATH": f"{fake / 'bin'}:/usr/bin:/bin", "HOME": str(fake), "FAKE_DIR": str(fake),
           "SLURM_SUBMIT_DIR": str(project), "SLURM_JOB_ID": job_id, "SLURM_RESTART_COUNT": str(restarts),
           "NUM_GPUS": "1", **{k: str(v) for k, v in settings.items()}}
    env = {k: v for k, v in env.items() if v != "UNSET"}
    result = subprocess.run(["bash", str(BATCH_FILE)], cwd=fake, env=env, capture_output=True, text=True, timeout=60)
    lines = calls.read_text().splitlines() if calls.exists() else []
    return result, [line.split("\t") for line in lines]


def steps_run(calls) -> list[str]:
    """Which of STEPS ran, by their leading flags, preflight excluded."""
    names = []
    for call in calls:
        if call[0] in ("python", "accelerate") and "--preflight" not in call:
            flags = call[call.index("main.py") + 1:] if "main.py" in call else call[1:]
            names.append(next(s for s in reversed(STEPS) if flags[:len(s.split())] == s.split()))
    return names


def launcher_calls(calls, flag: str) -> list[list[str]]:
    """The steps' calls (not the preflight's) with ``flag``."""
    return [c for c in calls if c[0] in ("python", "accelerate") and flag in c and "--preflight" not in c]


def test_batch_file_is_valid_bash_with_a_one_hour_default_and_the_requeue_contract():
    subprocess.run(["bash", "-n", str(BATCH_FILE)], check=True)
    text = BATCH_FILE.read_text()
    for needed in ("#SBATCH --time=01:00:00", "#SBATCH --requeue", "#SBATCH --signal=B:USR1@", "trap time_up USR1",
                   "#SBATCH --gres=gpu:1"):
        assert needed in text, needed
    code = "\n".join(line.split("#")[0] for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert "--mixed_precision" not in code, "precision is main.py's own rule, never passed by the batch file"
    # bash <= 4.3 (set -u) calls an empty "${a[@]}" unbound: arrays that may be empty use the ${a[@]+...} form.
    for array in ("EXTRA", "resume"):
        bare = re.findall(r'(?<!\+)"\$\{%s\[@\]\}"' % array, text)
        assert not bare, f'bare "${{{array}[@]}}" in {BATCH_FILE.name}'
    assert not list((PROJECT_DIR / "scripts").glob("train_*gpu.sbatch")), "one batch file, the GPU count a variable"


def test_all_steps_run_in_order_after_the_preflight(cluster):
    result, calls = submit(cluster)
    assert result.returncode == 0, result.stderr
    assert calls[0][:2] == ["python", "main.py"] and "--preflight" in calls[0]
    assert steps_run(calls) == list(STEPS)
    preflight = calls[0]
    for flag in ("--train", "--train_augmented", "--eval", "--eval_transformed"):
        assert flag in preflight
    assert not launcher_calls(calls, "--resume")


@pytest.mark.parametrize("settings", [{"MAIN_ARGS": "UNSET"}, {"MAIN_ARGS": ""}, {"MAIN_ARGS": "  "}])
def test_empty_main_args_pass_no_empty_argument_under_set_u(cluster, settings):
    result, calls = submit(cluster, **settings)
    assert result.returncode == 0, result.stderr
    assert len(steps_run(calls)) == len(STEPS)
    assert all("" not in call for call in calls), calls


def test_main_args_reach_every_step_and_the_preflight(cluster):
    result, calls = submit(cluster, MAIN_ARGS="--model_name /models/m --dataset ../data/imdb")
    assert result.returncode == 0, result.stderr
    launches = [c for c in calls if c[0] == "python"]
    assert len(launches) == 1 + len(STEPS)
    for call in launches:
        assert call[-4:] == ["--model_name", "/models/m", "--dataset", "../data/imdb"], call


def test_one_gpu_runs_python_two_gpus_run_accelerate_launch_without_a_precision(cluster):
    _, one = submit(cluster, NUM_GPUS=1)
    train = launcher_calls(one, "--train")[0]
    assert train[:3] == ["python", "main.py", "--train"]

    for settings in ({"NUM_GPUS": 2}, {"NUM_GPUS": "UNSET", "SLURM_GPUS_ON_NODE": 2}):
        _, two = submit(cluster, FRESH=1, **settings)
        train = launcher_calls(two, "--train")[0]
        assert train[0] == "accelerate" and train[1:4] == ["launch", "--multi_gpu", "--num_processes"]
        assert train[4] == "2"
        assert train[train.index("main.py") + 1] == "--train"
        assert not any(word.startswith("--mixed_precision") for word in train[:train.index("main.py")])
        preflight = two[0]
        assert preflight[:2] == ["python", "main.py"], "the preflight is one process (it checks SLURM's GPUs itself)"


def test_no_gpus_runs_every_step_on_the_cpu_even_where_gpus_are_visible(cluster):
    _, fake = cluster
    for settings in ({"NUM_GPUS": 0, "CUDA_VISIBLE_DEVICES": "0,1"}, {"NUM_GPUS": 0, "SLURM_GPUS_ON_NODE": 2}):
        (fake / "visible_devices").unlink(missing_ok=True)
        result, calls = submit(cluster, FRESH=1, **settings)
        assert result.returncode == 0, result.stderr
        assert [c[:2] for c in calls] == [["python", "main.py"]] * (1 + len(STEPS))
        assert (fake / "visible_devices").read_text().splitlines() == [""] * (1 + len(STEPS))
    (fake / "visible_devices").unlink()
    submit(cluster, FRESH=1, NUM_GPUS=1, CUDA_VISIBLE_DEVICES="3")
    assert set((fake / "visible_devices").read_text().splitlines()) == {"3"}, "GPUs stay as they were"


def test_bad_gpu_count_is_refused(cluster):
    result, calls = submit(cluster, NUM_GPUS="two")
    assert result.returncode == 2 and "NUM_GPUS" in result.stderr
    assert not calls


def test_a_failed_preflight_stops_before_any_step(cluster):
    result, calls = submit(cluster, FAKE_PREFLIGHT_RC=2)
    assert result.returncode == 2
    assert len(calls) == 1 and "--preflight" in calls[0]


def test_usr1_requeues_and_the_restarted_job_resumes_from_the_checkpoint(cluster):
    project, _ = cluster
    result, calls = submit(cluster, FAKE_CHECKPOINT_ON="--train", FAKE_USR1_ON="--train")
    names = [[c[0], " ".join(c[1:])] for c in calls]
    # USR1 is passed on to the step (python: USR1), which stops; only then is the job requeued
    assert names.index(["received", "USR1"]) < names.index(["scontrol", "requeue 1001"]), names
    assert result.returncode == 75 and steps_run(calls) == ["--train"], "the step's own status: stopped"
    assert "requeueing job 1001" in result.stdout, result.stdout
    assert (project / "out_checkpoints" / "step-500" / "position.json").is_file()

    # SLURM restarts the requeued job: same id, restart count 1.
    result, calls = submit(cluster, restarts=1)
    assert result.returncode == 0, result.stderr
    assert steps_run(calls) == list(STEPS)
    train = launcher_calls(calls, "--train")[0]
    assert train[-1] == "--resume"
    assert not [c for c in launcher_calls(calls, "--resume") if c is not train]


def test_a_new_sbatch_skips_finished_steps_and_resumes_the_unfinished_one(cluster):
    project, _ = cluster
    result, calls = submit(cluster, job_id="2001", FAKE_CHECKPOINT_ON="--train_augmented",
                           FAKE_FAIL_ON="--train_augmented")
    assert result.returncode == 1 and steps_run(calls) == ["--train", "--eval", "--eval_transformed",
                                                           "--train_augmented"]

    result, calls = submit(cluster, job_id="2002")     # a new job: another id, no restart count
    assert result.returncode == 0, result.stderr
    assert steps_run(calls) == ["--train_augmented", "--eval --eval_transformed"]
    assert launcher_calls(calls, "--train_augmented")[0][-1] == "--resume"
    assert (project / "out_augmented_checkpoints").is_dir(), "a new sbatch never deletes an unfinished step's checkpoints"
    assert result.stdout.count("skipped") == 3

    result, calls = submit(cluster, job_id="2003")     # everything finished: only the preflight runs
    assert result.returncode == 0 and steps_run(calls) == []


def test_changed_flags_rerun_a_finished_step_and_the_evaluations_of_its_model(cluster):
    project, _ = cluster
    submit(cluster, FAKE_CHECKPOINT_ON="--train")        # finished, leaving its final checkpoints
    result, calls = submit(cluster, job_id="1002", MAIN_ARGS="--num_epochs 1")
    assert result.returncode == 0, result.stderr
    assert steps_run(calls) == list(STEPS)
    assert not launcher_calls(calls, "--resume"), "a finished run's checkpoints are not resumed by other flags"
    assert not (project / "out_checkpoints").exists()

    # Retraining out/ alone re-evaluates out/ but leaves out_augmented/ and its evaluation alone.
    (project / "out" / ".slurm_state" / "train.done").unlink()
    result, calls = submit(cluster, job_id="1003", MAIN_ARGS="--num_epochs 1")
    assert steps_run(calls) == ["--train", "--eval", "--eval_transformed"]
    result, calls = submit(cluster, job_id="1004", MAIN_ARGS="--num_epochs 1")
    assert steps_run(calls) == []


def test_an_unfinished_run_with_other_flags_is_refused_and_its_checkpoints_kept(cluster):
    project, _ = cluster
    submit(cluster, FAKE_CHECKPOINT_ON="--train", FAKE_FAIL_ON="--train")
    result, calls = submit(cluster, job_id="1002", MAIN_ARGS="--learning_rate 1e-4")
    assert result.returncode == 2
    assert "unfinished 'train' run started with other flags" in result.stderr and "FRESH=1" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert steps_run(calls) == []
    assert (project / "out_checkpoints" / "step-500").is_dir()


def test_fresh_starts_over_but_a_requeued_fresh_job_keeps_its_progress(cluster):
    project, _ = cluster
    submit(cluster, FAKE_CHECKPOINT_ON="--train", FAKE_FAIL_ON="--eval")
    result, calls = submit(cluster, job_id="1002", FRESH=1, FAKE_CHECKPOINT_ON="--train", FAKE_USR1_ON="--eval")
    assert steps_run(calls) == ["--train", "--eval"]
    assert not launcher_calls(calls, "--resume")
    # The requeued FRESH=1 job (restart count 1) must not start over again.
    result, calls = submit(cluster, job_id="1002", restarts=1, FRESH=1)
    assert result.returncode == 0, result.stderr
    assert steps_run(calls) == ["--eval", "--eval_transformed", "--train_augmented", "--eval --eval_transformed"]


def test_checkpoints_without_step_state_are_resumed(cluster):
    """Checkpoints from a run started by hand (or by the old batch files) are continued, never deleted."""
    project, _ = cluster
    (project / "out_checkpoints" / "step-1000").mkdir(parents=True)
    (project / "out_checkpoints" / "step-1000" / "position.json").write_text("{}")
    result, calls = submit(cluster)
    assert result.returncode == 0, result.stderr
    assert launcher_calls(calls, "--train")[0][-1] == "--resume"


def test_conda_activation_runs_outside_set_u(cluster):
    result, calls = submit(cluster, CONDA_ENV="nlp")
    assert result.returncode == 0, result.stderr
    assert ["activating nlp "] in calls
    assert len(steps_run(calls)) == len(STEPS)


def test_compute_nodes_default_to_the_offline_hub_cache(cluster):
    project, fake = cluster
    (fake / "bin" / "python").write_text(FAKE_LAUNCHER.replace("exit 0\n", 'echo "HF_HUB_OFFLINE=$HF_HUB_OFFLINE" >> "$FAKE_DIR/calls"\nexit 0\n'))
    _, calls = submit(cluster)
    assert ["HF_HUB_OFFLINE=1"] in calls
    _, calls = submit(cluster, FRESH=1, HF_HUB_OFFLINE=0)
    assert ["HF_HUB_OFFLINE=0"] in calls and ["HF_HUB_OFFLINE=1"] not in calls


def test_every_command_line_of_the_batch_file_is_one_main_py_accepts(cluster):
    """The batch file and main.py's flags cannot drift apart: each recorded call parses (exit 2 would stop a job)."""
    import main

    _, calls = submit(cluster, NUM_GPUS=2, MAIN_ARGS="--model_name models/m --dataset data/imdb --max_length 256")
    launches = [c for c in calls if c[0] in ("python", "accelerate")]
    assert len(launches) == 1 + len(STEPS)
    for call in launches:
        args = main.parse_args(call[call.index("main.py") + 1:])
        assert args.model_name == "models/m" and args.max_length == 256


def test_two_gpus_get_term_passed_on_which_torchs_launcher_passes_to_its_processes(cluster):
    result, calls = submit(cluster, NUM_GPUS=2, FAKE_USR1_ON="--train")
    assert ["received", "TERM"] in calls and ["received", "USR1"] not in calls, calls
    assert result.returncode == 75 and ["scontrol", "requeue", "1001"] in calls


def test_preemption_term_is_passed_on_and_the_job_is_not_requeued_by_the_batch_file(cluster):
    """SLURM requeues a preempted job itself (or cancels it, as scancel does): the batch file only lets the step
    save its checkpoint, instead of dying first and taking the step with it."""
    result, calls = submit(cluster, FAKE_CHECKPOINT_ON="--train", FAKE_TERM_ON="--train")
    assert ["received", "TERM"] in calls and not [c for c in calls if c[0] == "scontrol"], calls
    assert result.returncode == 75 and "continues from its checkpoint" in result.stdout


def test_an_evaluation_cut_by_the_time_limit_twice_is_stopped_not_requeued_forever(cluster):
    result, calls = submit(cluster, FAKE_USR1_ON="--eval")
    assert result.returncode == 75 and ["scontrol", "requeue", "1001"] in calls
    result, calls = submit(cluster, restarts=1, FAKE_USR1_ON="--eval")  # the requeued job: eval first, cut again
    assert steps_run(calls) == ["--eval"]
    assert result.returncode == 2 and not [c for c in calls if c[0] == "scontrol"], calls
    assert "stopped by the time limit in two jobs" in result.stderr and "--time" in result.stderr
    result, calls = submit(cluster, restarts=2)  # resubmitted with more time: it finishes
    assert result.returncode == 0 and steps_run(calls)[0] == "--eval"


def test_usr1_between_two_steps_requeues_before_starting_the_next(cluster):
    """The USR1 arrives while the preflight runs: no step is started in the last two minutes."""
    project, fake = cluster
    (fake / "bin" / "python").write_text(FAKE_LAUNCHER.replace(
        'if [[ $first == --preflight ]]; then exit', 'if [[ $first == --preflight ]]; then kill -USR1 "$PPID"; exit'))
    result, calls = submit(cluster)
    assert steps_run(calls) == [] and ["scontrol", "requeue", "1001"] in calls and result.returncode == 0


def test_an_unfinished_run_resubmitted_with_another_gpu_count_is_refused_naming_num_gpus(cluster):
    """main.py's advice (accelerate launch --num_processes) does not help a batch file user: NUM_GPUS does."""
    project, _ = cluster
    submit(cluster, NUM_GPUS=1, FAKE_CHECKPOINT_ON="--train", FAKE_FAIL_ON="--train")
    result, calls = submit(cluster, job_id="1002", NUM_GPUS=2)
    assert result.returncode == 2 and steps_run(calls) == [], result.stderr
    assert "unfinished 'train' run on 1 GPU(s), this job has 2: resubmit with NUM_GPUS=1" in result.stderr
    assert "FRESH=1" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert (project / "out_checkpoints" / "step-500").is_dir()
    result, calls = submit(cluster, job_id="1003", NUM_GPUS=1)
    assert result.returncode == 0 and launcher_calls(calls, "--train")[0][-1] == "--resume"
