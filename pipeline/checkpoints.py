"""Resumable checkpoints (``--checkpoint_every``, ``--resume``) and the atomic replacement of a model folder.

A run saving to ``out/`` keeps its checkpoints in ``out_checkpoints/step-N/``: model, optimizer, scheduler, RNG
states (``accelerator.save_state``) and ``position.json``, written last, so a folder without it is incomplete and
never resumed from. A checkpoint records the run's *shape* (processes, per-device batch size, accumulation): a batch
index means something only for that shape, so a run of another shape refuses to resume it.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fnmatch
import json
import os
import shutil
import signal
from pathlib import Path

from accelerate import Accelerator

from pipeline.errors import UsageError
from pipeline.precision import restore_attention
from pipeline.results import default_file_mode, write_json

TRAINING_INFO = "training_info.json"  # the training record saved beside the model
KEEP = 2  # newest complete checkpoints kept


def disk_full(error: BaseException, where: Path) -> bool:
    """Whether a failed write into ``where`` ran out of space: torch's and safetensors' errors do not always carry
    the OSError's errno (torch.save: 'unexpected pos'), so the disk is asked too (before the clean-up frees it)."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if not isinstance(error, Exception) or "No space left" in str(error):
        return "No space left" in str(error)
    existing = next((p for p in (where, *where.parents) if p.exists()), None)
    return existing is not None and shutil.disk_usage(existing).free < 1 << 20


def run_shape(processes: int, batch_size: int, gradient_accumulation_steps: int,
              mixed_precision: str | None = None) -> dict:
    """What a batch index means: the same index is the same batch only for runs of the same shape. And the
    precision: an fp16 run needs the loss scaler's state, which a bf16 or fp32 checkpoint does not have.
    (``None``: not compared.)"""
    shape = {"processes": processes, "batch_size": batch_size,
             "gradient_accumulation_steps": gradient_accumulation_steps}
    if mixed_precision is not None:
        shape["mixed_precision"] = mixed_precision
    return shape


class TrainingPosition:
    """Where training stands (epoch, batches done in it, optimizer steps) and the training seconds spent to get
    there, saved in every checkpoint, so that a resumed run reports the time of the whole run.

    ``seconds`` is None after resuming from a checkpoint saved before it was recorded: the time before is unknown.
    """

    def __init__(self, shape: dict):
        self.epoch, self.batches_done, self.global_step = 0, 0, 0
        self.seconds: float | None = 0.0
        self.shape = shape

    def state_dict(self):
        return {"epoch": self.epoch, "batches_done": self.batches_done, "global_step": self.global_step,
                "seconds": self.seconds, "shape": self.shape}

    def load_state_dict(self, state):
        self.epoch, self.batches_done, self.global_step = state["epoch"], state["batches_done"], state["global_step"]
        self.seconds = state.get("seconds")


REQUEUE_EXIT_CODE = 75  # EX_TEMPFAIL: stopped by a signal, to be continued (scripts/train.sbatch requeues on it)


class Stopped(Exception):
    """A run stopped on SIGTERM or SIGUSR1 (after saving a checkpoint, when training); main.py exits with
    REQUEUE_EXIT_CODE and this message."""


class StopSignals:
    """SIGTERM (preemption, scancel, a launcher passing it on) and SIGUSR1 (SLURM's warning before the time limit)
    ask the run to stop at the next step boundary, with a checkpoint, instead of dying with up to
    --checkpoint_every steps lost. ``installed()`` catches them for a run; outside it (a study, the benchmarks)
    they act as usual."""

    SIGNALS = (signal.SIGTERM, signal.SIGUSR1)

    def __init__(self):
        self.received: str | None = None  # the name of the first signal caught
        self.group = None  # the processes' CPU (gloo) group that agrees on stopping, made at first use

    @contextlib.contextmanager
    def installed(self):
        def catch(number, frame):
            self.received = self.received or signal.Signals(number).name

        previous = {number: signal.signal(number, catch) for number in self.SIGNALS}
        try:
            yield self
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    def agreed(self, accelerator: Accelerator) -> str | None:
        """The signal any process caught, on every process: all of them stop after the same step (a CPU all-reduce
        over gloo, so the GPU is not waited for)."""
        if accelerator.num_processes == 1:
            return self.received
        import torch
        import torch.distributed as dist

        if self.group is None:
            self.group = dist.new_group(backend="gloo")
        caught = torch.tensor([signal.Signals[self.received].value if self.received else 0])
        dist.all_reduce(caught, op=dist.ReduceOp.MAX, group=self.group)
        return signal.Signals(int(caught)).name if caught.item() else None


STOP = StopSignals()


def checkpoint_root(save_dir: Path) -> Path:
    return save_dir.with_name(save_dir.name + "_checkpoints")


def checkpoints(save_dir: Path) -> list[Path]:
    """The checkpoint folders of ``save_dir``'s run, oldest first (complete or not)."""
    return sorted(checkpoint_root(save_dir).glob("step-*"), key=lambda p: int(p.name.split("-")[1]))


def latest_checkpoint(save_dir: Path) -> Path | None:
    complete = [p for p in checkpoints(save_dir) if (p / "position.json").is_file()]
    return complete[-1] if complete else None


def interrupted(save_dir: Path, training: bool) -> str:
    """What a Ctrl-C (or a scheduler's SIGINT) leaves behind, and how to go on."""
    if not training:
        return "interrupted: prediction files are written only when their evaluation finishes"
    message = (f"interrupted: {save_dir} is written only when training finishes (until then it keeps what it had), "
               f"prediction files only when their evaluation does")
    checkpoint = latest_checkpoint(save_dir)
    if checkpoint is None:
        return f"{message}; no checkpoint was saved (--checkpoint_every N saves one every N optimizer steps)"
    return (f"{message}; to continue training from {checkpoint}, rerun the same command with --resume (without it "
            f"the run starts over and removes its checkpoints)")


def resume_checkpoint(save_dir: Path, shape: dict) -> Path:
    """The checkpoint ``--resume`` continues from: the newest complete one, saved by a run of the same shape."""
    checkpoint = latest_checkpoint(save_dir)
    if checkpoint is None:
        raise UsageError(f"--resume: no checkpoint in {checkpoint_root(save_dir)}; start without --resume")
    saved = json.loads((checkpoint / "position.json").read_text()).get("shape") or {}
    differences = [f"{key} {saved[key]} (now {shape[key]})"
                   for key in shape if key in saved and saved[key] != shape[key]]
    if differences:
        processes = saved.get("processes", 1)
        raise UsageError(f"--resume: {checkpoint} was saved with {', '.join(differences)}; resume with the same "
                         f"--batch_size, --gradient_accumulation_steps, number of processes "
                         f"(accelerate launch --num_processes {processes}; scripts/train.sbatch: NUM_GPUS={processes} "
                         f"with --gres=gpu:{processes}) and precision (--mixed_precision "
                         f"{saved.get('mixed_precision', 'auto')}), or start over without --resume (scripts/train.sbatch: "
                         f"FRESH=1)")
    return checkpoint


def remove_checkpoints(accelerator: Accelerator, save_dir: Path) -> None:
    """Delete an earlier run's checkpoints (a fresh run must never be resumed into from them).

    Every process takes the same path through the barriers whatever the file system shows it: only the main
    process looks and deletes, so no process can skip a barrier that another waits in.
    """
    accelerator.wait_for_everyone()
    root = checkpoint_root(save_dir)
    if accelerator.is_main_process and root.is_dir():
        print(f"Starting over: removing the previous run's checkpoints in {root}")
        shutil.rmtree(root)
    accelerator.wait_for_everyone()


def restore_or_reset(accelerator: Accelerator, save_dir: Path, position: TrainingPosition, resume: bool) -> None:
    """With ``resume``, load the newest checkpoint into everything registered for checkpointing; else start over."""
    if not resume:
        remove_checkpoints(accelerator, save_dir)
        return
    checkpoint = resume_checkpoint(save_dir, position.shape)
    accelerator.load_state(str(checkpoint))
    accelerator.print(f"Resuming from {checkpoint} (epoch {position.epoch}, step {position.global_step})")


def save_checkpoint(accelerator: Accelerator, save_dir: Path, position: TrainingPosition) -> None:
    """Model, optimizer, scheduler, RNG states and position; ``position.json`` is written last, marking it complete."""
    folder = checkpoint_root(save_dir) / f"step-{position.global_step}"
    try:
        accelerator.save_state(str(folder))
        if accelerator.is_main_process:
            write_json(folder / "position.json", position.state_dict())
    except BaseException as error:
        full = disk_full(error, folder)
        shutil.rmtree(folder, ignore_errors=True)  # incomplete, never resumed from: it would only take space
        if not full:
            raise
        earlier = latest_checkpoint(save_dir)
        raise UsageError(f"no space left on the disk of {folder}: the checkpoint was deleted, unfinished; free space "
                         f"there and rerun" + (f" with --resume (from {earlier})" if earlier else "")) from error
    if accelerator.is_main_process:
        for stale in checkpoints(save_dir)[:-KEEP]:
            shutil.rmtree(stale, ignore_errors=True)
    accelerator.wait_for_everyone()


def release_training(accelerator: Accelerator, *registered) -> None:
    """Let go of a finished training run: the objects it registered for checkpointing (the scheduler holds the
    optimizer, and through it the Adam states and the weights) and those it prepared. ``free_memory()`` alone keeps
    the registered ones, so evaluation, and each further run of a study, would find that memory still taken."""
    accelerator._custom_objects = [obj for obj in accelerator._custom_objects
                                   if not any(obj is gone for gone in registered)]
    accelerator.free_memory()


def read_training_info(model_dir: Path) -> dict | None:
    """The training record saved beside a model (``save_model``), or None for a model trained elsewhere."""
    info_file = Path(model_dir) / TRAINING_INFO
    return json.loads(info_file.read_text()) if info_file.is_file() else None


# What a model folder holds that a save replaces: the files of save_pretrained, of a tokenizer and the training
# record. Anything else in the folder (out/'s prediction files, README.md, the batch file's .slurm_state) is carried
# over into the new folder.
MODEL_FILES = ("config.json", "generation_config.json", "*.safetensors", "model.safetensors.index.json",
               "pytorch_model*.bin", "pytorch_model.bin.index.json", "tokenizer.json", "tokenizer_config.json",
               "special_tokens_map.json", "added_tokens.json", "vocab.txt", "vocab.json", "merges.txt", "*.model",
               TRAINING_INFO)


def swap_folders(save_dir: Path) -> tuple[Path, Path]:
    """Where a save puts the complete new model, and the old one, during the renames that swap them."""
    return (save_dir.with_name(f".{save_dir.name}.tmp-save-new"), save_dir.with_name(f".{save_dir.name}.tmp-save-old"))


def unfinished_builds(save_dir: Path) -> list[Path]:
    """Folders a killed save left under its own name (``.out.tmp-save-<pid>``): a new model it was still writing,
    or, killed right after an atomic exchange, the old model it replaced."""
    return [p for p in save_dir.parent.glob(f".{save_dir.name}.tmp-save-*") if p.name.rpartition("-")[2].isdigit()]


_AT_FDCWD, _RENAME_EXCHANGE = -100, 2  # from <fcntl.h> and <linux/fs.h>


def exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one atomic step (Linux renameat2 with RENAME_EXCHANGE), so that no instant sees
    either name missing. False where the system or the file system has no such call (macOS, some network file
    systems): the caller falls back to two renames."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def finish_interrupted_save(save_dir: Path) -> str | None:
    """Bring the leftovers of a save killed part-way back to one whole model in ``save_dir``, and say what was done.

    The complete new model (``swap_folders``' first) is put in place, as the save would have; the old one is put back
    only where no complete new one exists; unfinished builds are deleted. None when nothing was left over.
    """
    save_dir = model_folder(save_dir)
    new, old = swap_folders(save_dir)
    done = []
    for build in unfinished_builds(save_dir):
        shutil.rmtree(build)
        done.append(f"deleted {build.name}, an unfinished new model or the one a finished save replaced")
    if new.is_dir():
        if save_dir.exists() and not old.exists():
            os.rename(save_dir, old)
        os.rename(new, save_dir)
        done.append(f"finished its swap: {save_dir} holds the model that run trained")
    elif old.exists() and not save_dir.exists():
        os.rename(old, save_dir)
        done.append(f"undid its swap: {save_dir} holds the model it had before")
    if old.exists():
        shutil.rmtree(old)
        done.append(f"deleted {old.name}, the model it replaced")
    return f"a save into {save_dir} was interrupted: {'; '.join(done)}" if done else None


def model_folder(save_dir: Path) -> Path:
    """The real folder behind ``save_dir``: a symlinked model folder (say, to scratch space) is replaced where it
    points, not turned into a folder beside the link."""
    save_dir = Path(save_dir)
    return save_dir.resolve() if save_dir.is_symlink() else save_dir


def link_or_copy(source: str, destination: str) -> None:
    """A hard link (instant, no space) where the file system allows it, else a copy."""
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def carry_over(old: Path, new: Path) -> None:
    """Bring into the new model folder what the old one held besides its model (see MODEL_FILES)."""
    if not old.is_dir():
        return
    for entry in old.iterdir():
        if (new / entry.name).exists() or any(fnmatch.fnmatch(entry.name, p) for p in MODEL_FILES):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, new / entry.name, symlinks=True, copy_function=link_or_copy)
        elif entry.is_symlink():
            os.symlink(os.readlink(entry), new / entry.name)
        else:
            link_or_copy(entry, new / entry.name)
    shutil.copymode(old, new)  # a course group's shared folder stays shared


def save_model(accelerator: Accelerator, model, tokenizer, save_dir: Path, info: dict) -> None:
    """Replace the model folder as a whole: build the new one beside it, then swap the two in one atomic exchange
    (``exchange``), so that ``save_dir`` is the old model or the new one at every instant, whenever the run is killed.
    Without that call, two renames; a next start (``finish_interrupted_save``) completes a swap cut off between them.
    A failed build (a full disk) deletes itself."""
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        save_dir = model_folder(save_dir)
        finish_interrupted_save(save_dir)  # a leftover beside it would block the renames
        build = save_dir.with_name(f".{save_dir.name}.tmp-save-{os.getpid()}")
        try:
            unwrapped = accelerator.unwrap_model(model)
            restore_attention(unwrapped)  # saved for plain SDPA, loadable anywhere
            unwrapped.save_pretrained(build)
            tokenizer.save_pretrained(build)
            write_json(build / TRAINING_INFO, info)
            mode = default_file_mode()  # safetensors writes its file private (0o600): a course group reads it too
            for file in build.iterdir():
                os.chmod(file, mode)
            carry_over(save_dir, build)
        except BaseException as error:
            full = disk_full(error, build)
            shutil.rmtree(build, ignore_errors=True)
            if full:
                raise UsageError(f"no space left to save the model beside {save_dir}: nothing was saved and "
                                 f"{save_dir} keeps what it had; free space there (or pass a --model_dir on another "
                                 f"disk) and rerun" + (" with --resume" if latest_checkpoint(save_dir) else "")
                                 ) from error
            raise
        if save_dir.exists() and exchange(build, save_dir):
            shutil.rmtree(build, ignore_errors=True)  # now the old model (a next start deletes what is left of it)
        else:  # no atomic exchange here: two renames, a next start finishing a swap cut off between them
            new, old = swap_folders(save_dir)
            os.rename(build, new)  # complete: from here a next start finishes the swap rather than undoing it
            if save_dir.exists():
                os.rename(save_dir, old)
            os.rename(new, save_dir)
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
