"""Resumable checkpoints (``--checkpoint_every``, ``--resume``) and the atomic save of a trained model.

A run saving to ``out/`` keeps its checkpoints in ``out_checkpoints/step-N/``: model, optimizer, scheduler, RNG
states (``accelerator.save_state``) and ``position.json``, written last, so a folder without it is incomplete and
never resumed from. A checkpoint records the run's *shape* (processes, per-device batch size, accumulation): a batch
index means something only for that shape, so a run of another shape refuses to resume it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from accelerate import Accelerator

from pipeline.errors import UsageError
from pipeline.precision import restore_attention
from pipeline.results import default_file_mode, write_json

TRAINING_INFO = "training_info.json"  # the training record saved beside the model
KEEP = 2  # newest complete checkpoints kept


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


def checkpoint_root(save_dir: Path) -> Path:
    return save_dir.with_name(save_dir.name + "_checkpoints")


def checkpoints(save_dir: Path) -> list[Path]:
    """The checkpoint folders of ``save_dir``'s run, oldest first (complete or not)."""
    return sorted(checkpoint_root(save_dir).glob("step-*"), key=lambda p: int(p.name.split("-")[1]))


def latest_checkpoint(save_dir: Path) -> Path | None:
    complete = [p for p in checkpoints(save_dir) if (p / "position.json").is_file()]
    return complete[-1] if complete else None


def resume_checkpoint(save_dir: Path, shape: dict) -> Path:
    """The checkpoint ``--resume`` continues from: the newest complete one, saved by a run of the same shape."""
    checkpoint = latest_checkpoint(save_dir)
    if checkpoint is None:
        raise UsageError(f"--resume: no checkpoint in {checkpoint_root(save_dir)}; start without --resume")
    saved = json.loads((checkpoint / "position.json").read_text()).get("shape") or {}
    differences = [f"{key} {saved[key]} (now {shape[key]})"
                   for key in shape if key in saved and saved[key] != shape[key]]
    if differences:
        raise UsageError(f"--resume: {checkpoint} was saved with {', '.join(differences)}; resume with the same "
                         f"--batch_size, --gradient_accumulation_steps, number of processes "
                         f"(accelerate launch --num_processes {saved.get('processes', 1)}) and precision "
                         f"(--mixed_precision {saved.get('mixed_precision', 'auto')}), or start over without --resume")
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
    accelerator.save_state(str(folder))
    if accelerator.is_main_process:
        write_json(folder / "position.json", position.state_dict())
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


def save_model(accelerator: Accelerator, model, tokenizer, save_dir: Path, info: dict) -> None:
    """Save to a temporary folder, then move the files in: an interrupted save never damages the previous model."""
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        temporary = save_dir.with_name(f".{save_dir.name}.tmp-save-{os.getpid()}")
        shutil.rmtree(temporary, ignore_errors=True)
        unwrapped = accelerator.unwrap_model(model)
        restore_attention(unwrapped)  # saved for plain SDPA, loadable anywhere
        unwrapped.save_pretrained(temporary)
        tokenizer.save_pretrained(temporary)
        write_json(temporary / TRAINING_INFO, info)
        save_dir.mkdir(parents=True, exist_ok=True)
        mode = default_file_mode()  # safetensors writes its file private (0o600): others in a course group read it too
        for file in sorted(temporary.iterdir()):  # every file complete on disk before the first one moves
            os.chmod(file, mode)
            os.replace(file, save_dir / file.name)
        temporary.rmdir()
    accelerator.wait_for_everyone()
