"""The GPU path's parts that a CPU can check: the precision follows the device a process will use, CUDA batches are
pinned and copied without blocking, a finished training lets go of its optimizer, and the transformed data is
computed once per run (the other processes of a distributed run load it)."""

from __future__ import annotations

import gc
from types import SimpleNamespace

import pytest
import torch
from datasets import Dataset

import main
import utils
from conftest import synthetic_reviews
from pipeline import augmentation, batching, runtime
from pipeline.data import load_imdb, load_pretrained
from pipeline.results import cpu_model_name


@pytest.fixture
def fresh_accelerate_state():
    """Accelerate keeps one process state per interpreter: start and leave each test with none."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(True)
    yield
    AcceleratorState._reset_state(True)


def test_auto_precision_follows_the_device_this_process_uses(fresh_accelerate_state, monkeypatch):
    """A GPU machine told to run on its CPU (ACCELERATE_USE_CPU=1) gets a CPU precision, not the GPU rule's (which
    would also ask CUDA about bf16 on a process that does not use it)."""
    monkeypatch.setenv("ACCELERATE_USE_CPU", "1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    accelerator = runtime.make_accelerator("auto")
    assert accelerator.device.type == "cpu"
    assert accelerator.mixed_precision in ("no", "bf16")  # fp32, or bf16 where the CPU has it natively
    assert accelerator.non_blocking, "batches are copied to the device without blocking"


def test_a_launcher_precision_that_is_not_used_is_named(fresh_accelerate_state, monkeypatch, capsys):
    """``accelerate launch --mixed_precision bf16 main.py`` leaves the choice to main.py's flag: said, not silent."""
    accelerator = runtime.make_accelerator("no")
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "bf16")
    runtime.warn_launcher_precision(accelerator, "no")
    note = capsys.readouterr().err
    assert "mixed precision bf16 is not used" in note and "pass --mixed_precision bf16 to main.py" in note
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "no")  # what accelerate launch sets when not asked
    runtime.warn_launcher_precision(accelerator, "no")
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("native", [False, True])
def test_bf16_on_a_cpu_without_native_bf16_is_named(fresh_accelerate_state, monkeypatch, capsys, native):
    """Asked for explicitly on an AVX2-only CPU, bf16 runs emulated, several times slower than fp32: said, with the
    flag to use; a CPU with AMX or AVX512_BF16, or fp32, gets no note."""
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx2": True, "avx512_bf16": native})
    runtime.warn_emulated_bf16(runtime.make_accelerator("bf16"))
    note = capsys.readouterr().err
    assert ("has no native bf16" in note and "--mixed_precision auto (the default) or no" in note) is not native
    assert native or cpu_model_name() in note
    # Accelerate keeps one state per process: the fp32 accelerator is a stand-in with the attributes read
    fp32 = SimpleNamespace(is_main_process=True, device=torch.device("cpu"), mixed_precision="no")
    runtime.warn_emulated_bf16(fp32)
    assert capsys.readouterr().err == ""


def test_cuda_batches_are_collated_into_pinned_memory(tiny_model):
    tokenizer, _ = load_pretrained(str(tiny_model))
    data = main.tokenize(Dataset.from_list(synthetic_reviews(16, seed=3)), tokenizer, 32, with_idx=True)
    for on_cuda in (True, False):
        assert batching.train_dataloader(data, tokenizer, 4, 0, on_cuda).pin_memory is on_cuda
        assert batching.eval_dataloader(data, tokenizer, 4, on_cuda).pin_memory is on_cuda


def test_training_lets_go_of_its_optimizer(tiny_model, tmp_path, fresh_accelerate_state):
    """The scheduler registered for checkpointing holds the optimizer (Adam states, weights): after training
    nothing of it may stay alive in the accelerator, which evaluation and a study's next run reuse."""
    accelerator = runtime.make_accelerator("no")
    tokenizer, model = load_pretrained(str(tiny_model))
    config = main.TrainConfig(model_name=str(tiny_model), num_epochs=1, batch_size=8, max_length=32,
                              checkpoint_every=2)
    training_set = augmentation.TrainingSet(Dataset.from_list(synthetic_reviews(32, seed=3)))
    loader = main.training_dataloader(training_set, tokenizer, config)
    gc.collect()
    before = {id(o) for o in gc.get_objects() if issubclass(type(o), torch.optim.Optimizer)}
    main.do_train(config, model, loader, training_set.record(), tmp_path / "out", accelerator, tokenizer)
    gc.collect()
    alive = [o for o in gc.get_objects() if issubclass(type(o), torch.optim.Optimizer) and id(o) not in before]
    assert not alive, "the optimizer outlived training"
    assert not accelerator._custom_objects


def test_other_processes_load_the_transformed_set_the_main_process_computed(tiny_data, monkeypatch):
    split = load_imdb(str(tiny_data))["test"]  # file-backed, as in a run: datasets can cache what map computes
    computed = utils.transform_dataset(split, "typo", seed=1)

    def transform_again(example):
        raise AssertionError("transformed again")

    monkeypatch.setattr(utils, "get_transform", lambda *args, **kwargs: transform_again)
    loaded = utils.transform_dataset(split, "typo", seed=1, reuse_cache=True)
    assert loaded["text"] == computed["text"] and loaded["label"] == computed["label"]
    with pytest.raises(AssertionError, match="transformed again"):  # without reuse_cache: always computed afresh
        utils.transform_dataset(split, "typo", seed=1)
