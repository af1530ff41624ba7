"""The CPU recipe: --mixed_precision auto is bf16 where the CPU runs it faster, --attention_dropout, fused AdamW, bf16
training saves fp32, bf16 weights for evaluation."""

from __future__ import annotations

import json
import platform

import pytest
import torch

import main
from conftest import run_main, run_main_with
from pipeline import dropout, optimizer, precision, results, runtime
from pipeline.data import load_pretrained
from pipeline.errors import UsageError
from pipeline.results import read_predictions


def no_probe():
    raise AssertionError("the CPU's capabilities decide: no probe")


@pytest.mark.parametrize("capabilities, probe, expected", [
    ({"amx_bf16": True, "avx512_bf16": True}, no_probe, "bf16"),                 # Sapphire Rapids and newer
    ({"amx_bf16": False, "avx512_bf16": True}, lambda: (0.12, 0.19), "no"),      # a Xeon where bf16 is slower
    ({"amx_bf16": False, "avx512_bf16": True}, lambda: (0.40, 0.19), "bf16"),    # one where it is faster
    ({"avx512_f": True, "avx2": True}, no_probe, "no"),  # AVX-512 without bf16: bf16 would be emulated, slower
    ({"avx2": True}, no_probe, "no"),
])
def test_auto_precision_on_cpu_is_bf16_where_it_is_faster(monkeypatch, capabilities, probe, expected):
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: capabilities)
    monkeypatch.setattr(precision, "bf16_probe", probe)
    assert precision.resolve_mixed_precision("auto", "cpu") == expected
    decision = precision.cpu_bf16_autocast()
    assert decision["faster"] is (expected == "bf16") and decision["why"]
    if probe is not no_probe:
        assert "measured" in decision["why"] and f"{probe()[0]:.3f}" in decision["why"]
    assert precision.resolve_mixed_precision("no", "cpu") == "no"
    assert precision.resolve_mixed_precision("bf16", "cpu") == "bf16"


@pytest.mark.parametrize("native, expected", [(True, "bf16"), (False, "no")])
def test_the_cli_accelerator_takes_the_cpu_rule(monkeypatch, native, expected):
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx512_bf16": native, "amx_bf16": native})

    class CpuState:  # the device this process would use: a CPU, even on a GPU machine
        def __init__(self, cpu=False):
            self.device = torch.device("cpu")

    class FakeAccelerator:  # Accelerate's state is per process: one real Accelerator per precision is not possible
        is_local_main_process = True
        device = torch.device("cpu")

        def __init__(self, mixed_precision, **_):
            self.mixed_precision = mixed_precision

    monkeypatch.setattr(runtime, "PartialState", CpuState)
    monkeypatch.setattr(runtime, "Accelerator", FakeAccelerator)
    assert runtime.make_accelerator("auto").mixed_precision == expected
    assert runtime.make_accelerator("no").mixed_precision == "no"


def test_attention_dropout_choices():
    assert dropout.resolve_attention_dropout("auto", "cpu") == 0.0
    assert dropout.resolve_attention_dropout("auto", "cuda") is None
    assert dropout.resolve_attention_dropout("model", "cpu") is None
    assert dropout.resolve_attention_dropout("0.05", "cpu") == 0.05
    for bad in ("1", "-0.1", "none"):
        with pytest.raises(UsageError, match="--attention_dropout must be"):
            main.TrainConfig(attention_dropout=bad)


def test_attention_dropout_reaches_the_model_and_keeps_hidden_dropout(tiny_model):
    _, model = load_pretrained(str(tiny_model), attention_dropout=0.0)
    own = load_pretrained(str(tiny_model))[1].config
    assert model.config.attention_dropout == 0.0 and own.attention_dropout > 0  # DistilBERT's key
    assert model.config.dropout == own.dropout > 0  # hidden dropout untouched
    assert dropout.attention_dropout_of(model.config) == 0.0


def test_fp32_attention_matches_sdpa_and_is_undone(tiny_model):
    _, model = load_pretrained(str(tiny_model))
    model.eval()
    ids = torch.tensor([[2, 10, 11, 12, 3, 0], [2, 13, 14, 15, 16, 3]])
    mask = (ids != 0).long()
    with torch.no_grad():
        reference = model(input_ids=ids, attention_mask=mask).logits
        assert precision.use_fp32_attention(model)
        assert model.config._attn_implementation == precision.FP32_ATTENTION
        torch.testing.assert_close(model(input_ids=ids, attention_mask=mask).logits, reference)
    precision.restore_attention(model)
    assert model.config._attn_implementation == "sdpa"


def test_bf16_cpu_training_saves_fp32_that_evaluates_the_same_on_reload(tiny_model, tiny_data, tmp_path):
    model_dir, out = tmp_path / "bf16", tmp_path / "out"  # prediction files: the out/ beside the model
    common = ["--dataset", tiny_data, "--max_length", "48"]
    trained = run_main(["--train", "--eval", "--model_name", tiny_model, "--model_dir", model_dir, *common,
                        "--mixed_precision", "bf16", "--num_epochs", "2", "--learning_rate", "2e-3",
                        "--batch_size", "16", "--seed", "3"], cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    info = json.loads((model_dir / "training_info.json").read_text())
    assert info["mixed_precision"] == "bf16" and info["fp32_attention"] is True
    assert info["attention_dropout"] == "auto" and info["attention_dropout_value"] == 0.0
    assert info["fused_adamw"] == "auto" and info["fused_adamw_used"] is True
    first = json.loads((out / "bf16_original.json").read_text())
    assert first["accuracy"] >= 0.9, first
    assert first["bf16_full_eval"] is True  # bf16 weights for evaluation under --mixed_precision bf16 on CPU

    from safetensors.torch import load_file

    weights = load_file(model_dir / "model.safetensors")
    assert {t.dtype for t in weights.values()} == {torch.float32}
    saved = json.loads((model_dir / "config.json").read_text())
    assert saved.get("attn_implementation") in (None, "sdpa") and saved["attention_dropout"] == 0.0

    predictions = read_predictions(out / "bf16_original.txt")
    again = run_main(["--eval", "--model_dir", model_dir, *common, "--mixed_precision", "bf16"], cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert read_predictions(out / "bf16_original.txt") == predictions
    fp32 = run_main(["--eval", "--model_dir", model_dir, *common, "--mixed_precision", "no"], cwd=tmp_path)
    assert fp32.returncode == 0, fp32.stderr[-3000:]
    record = json.loads((out / "bf16_original.json").read_text())
    assert record["accuracy"] == first["accuracy"] and record["bf16_full_eval"] is False  # fp32 evaluation: fp32


def test_fused_adamw_rule():
    assert optimizer.resolve_fused_adamw("auto", "cpu", "bf16") is True
    assert optimizer.resolve_fused_adamw("auto", "cuda", "no") is True
    assert optimizer.resolve_fused_adamw("auto", "cuda", "fp16") is None  # the loss scaler's skipped steps
    assert optimizer.resolve_fused_adamw("auto", "mps", "no") is None
    assert optimizer.resolve_fused_adamw("no", "cpu", "bf16") is None
    with pytest.raises(UsageError, match="--fused_adamw must be one of auto, no"):
        main.TrainConfig(fused_adamw="yes")
    with pytest.raises(UsageError, match="--fused_adamw must be one of auto, no"):
        optimizer.resolve_fused_adamw("yes", "cpu", "bf16")


def test_cudnn_attention_is_turned_off_on_cuda_only():
    """cuDNN's SDPA kernel plans per input shape (a tenth of a second or more per new length on an H200): off on
    CUDA, where batches padded per batch bring new lengths all the time; the flag is process-wide, so the test
    restores it."""
    from pipeline.results import provenance

    enabled = torch.backends.cuda.cudnn_sdp_enabled()
    try:
        torch.backends.cuda.enable_cudnn_sdp(True)
        assert precision.no_cudnn_attention("cpu") is False and torch.backends.cuda.cudnn_sdp_enabled()
        assert precision.no_cudnn_attention("cuda") is True and not torch.backends.cuda.cudnn_sdp_enabled()
        assert provenance(torch.device("cpu"))["cudnn_attention"] is None  # recorded on CUDA only
    finally:
        torch.backends.cuda.enable_cudnn_sdp(enabled)


def test_fused_adamw_trains_the_same_model_as_the_default(tiny_model, tiny_data, tmp_path):
    """The fused kernel is a faster implementation of the same update: same run, same weights and predictions."""
    from safetensors.torch import load_file

    weights, predictions = {}, {}
    for choice in ("auto", "no"):
        model_dir, out = tmp_path / choice / f"adamw-{choice}", tmp_path / choice / "out"
        done = run_main_with({"fused_adamw": choice},  # torch's default AdamW is no flag
                             ["--train", "--eval", "--model_name", tiny_model, "--model_dir", model_dir,
                              "--dataset", tiny_data, "--max_length", "48", "--mixed_precision", "no",
                              "--num_epochs", "2", "--learning_rate", "2e-3", "--batch_size", "16", "--seed", "3"],
                             cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
        info = json.loads((model_dir / "training_info.json").read_text())
        assert info["fused_adamw"] == choice and info["fused_adamw_used"] is (choice == "auto")
        weights[choice] = load_file(model_dir / "model.safetensors")
        predictions[choice] = read_predictions(out / f"adamw-{choice}_original.txt")
    initial = load_pretrained(str(tiny_model))[1].state_dict()
    moved = max((weights["no"][k] - initial[k]).abs().max().item() for k in weights["no"] if k in initial)
    assert moved > 1e-2  # the runs trained: the comparison below is not between two untouched models
    for name, tensor in weights["no"].items():
        torch.testing.assert_close(weights["auto"][name], tensor, rtol=1e-4, atol=1e-5, msg=name)
    assert predictions["auto"] == predictions["no"]


def test_bf16_full_eval_choices():
    assert precision.resolve_bf16_full_eval("auto", "cpu", "bf16") is True
    assert precision.resolve_bf16_full_eval("auto", "cuda", "bf16") is False  # measured on CPU only: autocast there
    assert precision.resolve_bf16_full_eval("auto", "cpu", "no") is False  # fp32 evaluation stays fp32
    assert precision.resolve_bf16_full_eval("no", "cpu", "bf16") is False
    with pytest.raises(UsageError, match="--bf16_full_eval must be one of auto, no"):
        precision.resolve_bf16_full_eval("yes", "cpu", "bf16")
    assert main.parse_args(["--eval"]).bf16_full_eval == "auto"  # main.py evaluates by the rule, no flag


@pytest.mark.parametrize("choice, dtype, attention", [("auto", torch.bfloat16, "sdpa"),
                                                      ("no", torch.float32, precision.FP32_ATTENTION)])
def test_bf16_full_eval_loads_the_weights_in_bf16(tiny_model, choice, dtype, attention):
    """auto: the whole model in bf16 with plain SDPA; no: fp32 weights and attention, as training runs under bf16."""
    from types import SimpleNamespace

    accelerator = SimpleNamespace(mixed_precision="bf16", device=torch.device("cpu"))
    model = main.load_eval_model(str(tiny_model), accelerator, choice)
    assert {p.dtype for p in model.parameters()} == {dtype}
    assert model.config._attn_implementation == attention
    fp32 = main.load_eval_model(str(tiny_model), SimpleNamespace(mixed_precision="no", device=torch.device("cpu")),
                                choice)
    assert {p.dtype for p in fp32.parameters()} == {torch.float32}  # without bf16 autocast, nothing changes


def test_provenance_names_the_cpu_and_whether_it_has_native_bf16(monkeypatch, tmp_path):
    # Two CPUs of one device string ('cpu: x86_64, 2 cores') can differ severalfold in speed, and main.py's CPU
    # defaults depend on native bf16: every results file says which CPU made it.
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nflags\t\t: fma avx2\n\n"
                       "processor\t: 1\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\n")
    assert results.cpu_model_name(cpuinfo) == "AMD EPYC"
    assert results.cpu_model_name(tmp_path / "none") == (platform.processor() or platform.machine())  # not Linux
    monkeypatch.setattr(precision, "bf16_probe", lambda: (0.12, 0.19))
    for native in (True, False):
        monkeypatch.setattr(torch.cpu, "get_capabilities", lambda native=native: {"avx512_bf16": native})
        cpu = results.provenance(torch.device("cpu"))["cpu"]
        assert cpu == {"model": results.cpu_model_name(), "vector_isa": torch.backends.cpu.get_cpu_capability(),
                       "native_bf16": native, "bf16_autocast": precision.cpu_bf16_autocast()}
        assert cpu["vector_isa"] in ("DEFAULT", "VSX", "Z VECTOR", "NO AVX", "AVX2", "AVX512", "SVE256")
