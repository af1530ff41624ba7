"""Tests of Part 1 (hand-written backprop): numpy math vs torch autograd and finite
differences, the CLI and its error messages, the notebook, and the PDF build."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import need_tools

REPO = Path(__file__).resolve().parents[1]
PART1 = REPO / "part1"
SCRIPT = PART1 / "backprop.py"
sys.path.insert(0, str(PART1))

import backprop  # noqa: E402

# (t, f, d, m): several shapes, including a single item and a single hidden unit
SHAPES = [(1, 1, 1, 2), (2, 3, 2, 2), (4, 3, 5, 3), (7, 2, 4, 5)]


# ---------------------------------------------------------------- helpers

def random_raw(t, f, d, m, seed=0, lr=1.0):
    """A random, valid values dict as it would appear in JSON (nested lists)."""
    rng = np.random.default_rng(seed)
    Y = np.eye(m)[rng.integers(0, m, size=t)]
    return {
        "X": rng.normal(size=(t, f)).tolist(),
        "Y": Y.astype(int).tolist(),
        "H": rng.normal(size=(f, d)).tolist(),
        "b_h": rng.normal(size=d).tolist(),
        "U": rng.normal(size=(d, m)).tolist(),
        "b_u": rng.normal(size=m).tolist(),
        "lr": lr,
    }


def torch_reference(values, reduction):
    """Per-item losses and gradients of the reduced loss, by torch autograd (float64)."""
    X = torch.tensor(values["X"], dtype=torch.float64)
    y = torch.tensor(np.argmax(values["Y"], axis=1))
    p = {k: torch.tensor(values[k], dtype=torch.float64, requires_grad=True)
         for k in backprop.PARAM_KEYS}
    Z = torch.relu(X @ p["H"] + p["b_h"]) @ p["U"] + p["b_u"]
    items = torch.nn.functional.cross_entropy(Z, y, reduction="none")
    torch.nn.functional.cross_entropy(Z, y, reduction=reduction).backward()
    return items.detach().numpy(), {k: v.grad.numpy() for k, v in p.items()}


def run_cli(*args, cwd):
    """Run the script as a subprocess; return the CompletedProcess."""
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def write_json(path, obj):
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


# ---------------------------------------------------------------- the math

@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("shape", SHAPES)
def test_gradients_match_torch_autograd(shape, reduction):
    for seed in range(3):
        values = backprop.validate_values(random_raw(*shape, seed=seed))
        result = backprop.compute(values, reduction)
        items, tgrads = torch_reference(values, reduction)
        np.testing.assert_allclose(result["loss_before"], items, rtol=1e-12, atol=1e-12)
        for k in backprop.PARAM_KEYS:
            assert result["grads"][k].shape == values[k].shape
            np.testing.assert_allclose(result["grads"][k], tgrads[k], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("shape", SHAPES)
def test_gradients_match_finite_differences(shape, reduction):
    values = backprop.validate_values(random_raw(*shape, seed=42))
    params = backprop.params_of(values)
    grads = backprop.compute(values, reduction)["grads"]

    def J(p):
        Z = backprop.forward(values["X"], p)["Z"]
        return backprop.objective(backprop.item_losses(Z, values["Y"]), reduction)

    eps = 1e-6
    for k in backprop.PARAM_KEYS:
        num = np.zeros_like(params[k])
        for idx in np.ndindex(num.shape):
            plus, minus = copy.deepcopy(params), copy.deepcopy(params)
            plus[k][idx] += eps
            minus[k][idx] -= eps
            num[idx] = (J(plus) - J(minus)) / (2 * eps)
        np.testing.assert_allclose(grads[k], num, rtol=1e-5, atol=1e-7, err_msg=k)


def test_sum_is_t_times_mean():
    values = backprop.validate_values(random_raw(5, 3, 4, 3, seed=7))
    g_mean = backprop.compute(values, "mean")["grads"]
    g_sum = backprop.compute(values, "sum")["grads"]
    for k in backprop.PARAM_KEYS:
        np.testing.assert_allclose(g_sum[k], 5 * g_mean[k], rtol=1e-12)


def test_relu_gate_blocks_gradient_of_inactive_units():
    """The shipped example has inactive units, and no gradient flows through them."""
    values = backprop.load_values(backprop.DEFAULT_VALUES)
    result = backprop.compute(values)
    K = result["forward_before"]["K"]
    assert (K < 0).any() and (K > 0).any()
    dK = result["grads"]["K"]
    assert np.all(dK[K < 0] == 0)
    assert np.any(dK[K > 0] != 0)
    # and the example is not degenerate: every parameter gets some gradient
    for k in backprop.PARAM_KEYS:
        assert np.abs(result["grads"][k]).max() > 1e-3, k


def test_softmax_and_loss_are_stable_for_large_logits():
    Z = np.array([[1000.0, 0.0], [-1000.0, 1000.0]])
    Y = np.array([[1.0, 0.0], [1.0, 0.0]])
    O = backprop.softmax(Z)
    assert np.all(np.isfinite(O)) and np.allclose(O.sum(axis=1), 1)
    np.testing.assert_allclose(backprop.item_losses(Z, Y), [0.0, 2000.0])


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_small_step_decreases_loss_and_update_is_exact(tmp_path, reduction):
    raw = random_raw(6, 4, 5, 3, seed=3, lr=1e-3)
    proc = run_cli("--values", write_json(tmp_path / "v.json", raw),
                   "--reduction", reduction, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    reduce = np.mean if reduction == "mean" else np.sum
    assert reduce(out["loss_after"]) < reduce(out["loss_before"])
    for k in backprop.PARAM_KEYS:
        expected = np.asarray(raw[k]) - raw["lr"] * np.asarray(out["grads"][k])
        assert np.array_equal(np.asarray(out["params_after"][k]), expected), k
    # and the JSON gradients are autograd's
    _, tgrads = torch_reference(backprop.validate_values(raw), reduction)
    for k in backprop.PARAM_KEYS:
        np.testing.assert_allclose(out["grads"][k], tgrads[k], rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- the CLI

def test_cli_defaults_from_another_cwd(tmp_path):
    proc = run_cli(cwd=tmp_path)  # values.json must be found next to the script
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert {"loss_before", "grads", "params_after", "loss_after"} <= out.keys()
    assert set(out["grads"]) == set(out["params_after"]) == {"H", "b_h", "U", "b_u"}
    assert out["reduction"] == "mean"
    values = backprop.load_values(PART1 / "values.json")
    expected = backprop.to_json_dict(backprop.compute(values, "mean"))
    assert out == expected
    t = len(values["X"])
    assert len(out["loss_before"]) == len(out["loss_after"]) == t
    assert np.shape(out["params_after"]["b_h"]) == (values["H"].shape[1],)


def test_cli_accepts_row_vector_biases(tmp_path):
    raw = random_raw(3, 2, 4, 3, seed=1)
    flat = run_cli("--values", write_json(tmp_path / "a.json", raw), cwd=tmp_path)
    raw["b_h"], raw["b_u"] = [raw["b_h"]], [raw["b_u"]]
    rows = run_cli("--values", write_json(tmp_path / "b.json", raw), cwd=tmp_path)
    assert flat.returncode == rows.returncode == 0, rows.stderr
    assert json.loads(flat.stdout) == json.loads(rows.stdout)
    assert np.shape(json.loads(rows.stdout)["grads"]["b_u"]) == (3,)


def test_cli_help_documents_every_flag(tmp_path):
    proc = run_cli("--help", cwd=tmp_path)
    assert proc.returncode == 0
    for flag in ("--values", "--reduction", "--indent"):
        assert flag in proc.stdout
    assert "mean" in proc.stdout and "sum" in proc.stdout


def _example():
    return json.loads((PART1 / "values.json").read_text())


def _set(key, value):
    def mutate(raw):
        raw[key] = value
        return raw
    return mutate


def _del(key):
    def mutate(raw):
        del raw[key]
        return raw
    return mutate


# The example has t=2, f=3, d=2, m=2.
BAD = {
    "H_cols": (_set("H", [[1, 2, 3, 4]] * 3),
               ["H has shape (3, 4)", "X has 3 columns", "U has 2 rows",
                "H must be (f, d) = (3, 2)"]),
    "H_rows": (_set("H", [[1, 2]] * 4), ["H has shape (4, 2)", "H must be (f, d) = (3, 2)"]),
    "b_h_len": (_set("b_h", [1, 2, 3]), ["b_h has shape (3,)", "b_h must be (d,) = (2,)"]),
    "b_h_matrix": (_set("b_h", [[1, 2], [3, 4]]), ["b_h has shape (2, 2)", "(1, d)"]),
    "U_rows": (_set("U", [[1, 2]] * 3), ["U has shape (3, 2)", "U must be (d, m) = (2, 2)"]),
    "U_cols": (_set("U", [[1, 2, 3]] * 2), ["U has shape (2, 3)", "U must be (d, m) = (2, 2)"]),
    "U_1d": (_set("U", [1, 2]), ["U has shape (2,)", "2-D"]),
    "b_u_len": (_set("b_u", [1]), ["b_u has shape (1,)", "b_u must be (m,) = (2,)"]),
    "Y_rows": (_set("Y", [[1, 0]] * 3), ["Y has shape (3, 2)", "Y must be (t, m) = (2, 2)"]),
    "Y_cols": (_set("Y", [[1, 0, 0]] * 2), ["Y has shape (2, 3)", "Y must be (t, m) = (2, 2)"]),
    "Y_half": (_set("Y", [[0.5, 0.5], [1, 0]]), ["Y row 0", "[0.5, 0.5]", "one-hot"]),
    "Y_two_ones": (_set("Y", [[0, 1], [1, 1]]), ["Y row 1", "one-hot"]),
    "Y_zeros": (_set("Y", [[0, 0], [1, 0]]), ["Y row 0", "one-hot"]),
    "all_d_differ": (lambda r: {**r, "H": [[1, 2, 3]] * 3, "b_h": [1]},
                     ["cannot determine d", "H has 3 columns", "b_h has 1 entries"]),
    "missing_U": (_del("U"), ["missing key(s) U"]),
    "missing_lr": (_del("lr"), ["missing key(s) lr"]),
    "unknown_key": (_set("bh", [1, 2]), ["unknown key(s) bh"]),
    "string_entry": (_set("H", [[1, 2], ["a", 2], [3, 4]]), ["H[1][0]", "'a'"]),
    "null_entry": (_set("b_u", [None, 1]), ["b_u[0]", "None"]),
    "bool_entry": (_set("X", [[True, 0, 1], [0, 1, 0]]), ["X[0][0]", "True"]),
    "ragged": (_set("X", [[1, 0, 2], [1, 1]]), ["X is ragged"]),
    "nan": (_set("U", [[1, float("nan")], [0, 1]]), ["U[0][1]", "finite"]),
    "lr_string": (_set("lr", "1"), ["lr is '1'", "positive number"]),
    "lr_negative": (_set("lr", -1), ["lr is -1", "positive number"]),
    "not_object": (lambda r: [r], ["JSON object"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_values_fail_clearly(tmp_path, case):
    mutate, expected = BAD[case]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(mutate(_example())), encoding="utf-8")
    proc = run_cli("--values", path, cwd=tmp_path)
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert "error" in proc.stderr and str(path) in proc.stderr
    for text in expected:
        assert text in proc.stderr, (text, proc.stderr)
    # the importable API raises the same, as an exception rather than a print
    with pytest.raises(backprop.ValuesError):
        backprop.load_values(path)


def test_unreadable_json_and_missing_file(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"X": [[1, 2]],\n "Y": [[1, 0]', encoding="utf-8")
    proc = run_cli("--values", broken, cwd=tmp_path)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "not valid JSON" in proc.stderr and "line 2" in proc.stderr
    proc = run_cli("--values", tmp_path / "nope.json", cwd=tmp_path)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "cannot read values file" in proc.stderr and "nope.json" in proc.stderr


def test_bad_reduction_is_rejected(tmp_path):
    proc = run_cli("--reduction", "max", cwd=tmp_path)
    assert proc.returncode != 0 and "invalid choice" in proc.stderr


# ---------------------------------------------------------------- the notebook

def _summary_of(nb):
    """The JSON printed by the notebook's cell tagged 'summary'."""
    cells = [c for c in nb.cells if "summary" in c.metadata.get("tags", [])]
    assert len(cells) == 1
    text = "".join(o.get("text", "") for o in cells[0].outputs if o.output_type == "stream")
    return json.loads(text.strip().splitlines()[-1])


def test_committed_notebook_has_current_outputs():
    import nbformat  # requirements.txt: a missing one is a failure, not a skip

    nb = nbformat.read(PART1 / "part1.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs for c in code), "notebook must be saved executed"
    assert not any(o.output_type == "error" for c in code for o in c.outputs)
    assert any("image/png" in o.get("data", {}) for c in code for o in c.outputs)
    expected = backprop.to_json_dict(backprop.compute(backprop.load_values(), "mean"))
    assert _summary_of(nb) == expected


@pytest.mark.parametrize("where", ["part1_dir", "repo_root"])
def test_notebook_executes_and_matches_script(tmp_path, monkeypatch, where):
    import nbclient
    import nbformat
    if where == "part1_dir":  # the committed values, default reduction
        cwd, args, reduction = PART1, [], "mean"
        monkeypatch.delenv("PART1_VALUES", raising=False)
        monkeypatch.delenv("PART1_REDUCTION", raising=False)
    else:  # from the repo root, on other values and the other reduction
        vals = write_json(tmp_path / "v.json", random_raw(3, 4, 3, 3, seed=11))
        cwd, args, reduction = REPO, ["--values", vals], "sum"
        monkeypatch.setenv("PART1_VALUES", str(vals))
        monkeypatch.setenv("PART1_REDUCTION", reduction)
    monkeypatch.delenv("PART1_DIR", raising=False)
    src = PART1 / "part1.ipynb"
    before = src.read_bytes()
    nb = nbformat.read(src, as_version=4)  # in-memory copy; never written back
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}}).execute()
    assert src.read_bytes() == before
    proc = run_cli(*args, "--reduction", reduction, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    script = json.loads(proc.stdout)
    nb_out = _summary_of(nb)
    assert nb_out["reduction"] == reduction
    assert nb_out.keys() == script.keys()
    np.testing.assert_allclose(nb_out["loss_before"], script["loss_before"], rtol=1e-12)
    np.testing.assert_allclose(nb_out["loss_after"], script["loss_after"], rtol=1e-12)
    for group in ("grads", "params_after"):
        for k in backprop.PARAM_KEYS:
            np.testing.assert_allclose(nb_out[group][k], script[group][k], rtol=1e-12,
                                       atol=1e-15, err_msg=f"{group}.{k}")


# ---------------------------------------------------------------- the PDF



def _pdf_text(pdf):
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout


def _words(pdf):
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout.split()


def test_pdf_rebuilds_within_two_pages(tmp_path):
    need_tools("pdflatex", "pdfinfo", "pdffonts", "pdftotext")
    out = tmp_path / "part1.pdf"
    proc = subprocess.run([sys.executable, str(PART1 / "build_pdf.py"),
                           "--outdir", str(tmp_path / "build"), "--output", str(out)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True,
                          check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    assert 1 <= pages <= 2
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True,
                           check=True).stdout.splitlines()[2:]
    assert fonts and all(" yes " in f for f in fonts), "all fonts must be embedded"
    assert not any("Type 3" in f for f in fonts)
    # the numbers come from the script (rounded to 4 decimals), not typed by hand
    result = backprop.compute(backprop.load_values(), "mean")
    text = _pdf_text(out)
    for v in list(result["loss_before"]) + list(result["loss_after"]):
        assert f"{v:.4f}" in text
    numbers = (tmp_path / "build" / "numbers.tex").read_text()
    assert f"{result['grads']['H'][0, 0]:.4f}" in numbers
    # the committed PDF is the one these sources build (same words, whatever the line breaks)
    assert _words(PART1 / "part1.pdf") == _words(out), "part1.pdf is stale: rebuild it"
