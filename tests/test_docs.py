"""README.md's full-scale figures and both READMEs' benchmark figures are the committed results files' figures (the
READMEs are written by hand, so a rerun that changes a file must change them too)."""

import json
import re
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def full_scale_paragraph() -> str:
    text = (PROJECT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"\*\*Full scale\.\*\*(.*?)\n\n", text, re.S)
    assert match, "README.md lost its **Full scale.** paragraph"
    return " ".join(match.group(1).split())


def test_readme_full_scale_accuracies_and_times_match_out():
    paragraph = full_scale_paragraph()
    named = sorted(set(re.findall(r"out/(out_[a-z_]+\.json)", paragraph)))
    assert len(named) == 6, named  # four assignment files and the two head+tail ones
    for name in named:
        record = json.loads((PROJECT / "out" / name).read_text())
        assert record["examples"] == 25000 and record["training"]["train_examples"] in (25000, 30000), name
        assert f"{record['accuracy']:g}" in paragraph, f"README.md: {name} says accuracy {record['accuracy']:g}"
    for model in ("out_augmented", "out_head_tail"):
        seconds = json.loads((PROJECT / "out" / f"{model}_original.json").read_text())["training"]["train_seconds"]
        assert f"{seconds:g} s" in paragraph or f"{seconds:g}," in paragraph, f"README.md: {model} {seconds:g} s"


def test_readme_head_tail_truncated_accuracies_match_error_analyses():
    paragraph = full_scale_paragraph()
    folder = PROJECT / "results" / "full_scale"
    for name in ("errors_out_head_tail.json", "errors_out.json"):
        truncated = json.loads((folder / name).read_text())["by_length"]["truncated"]
        assert f"{truncated['reviews']:,} test reviews" in paragraph
        assert f"{truncated['accuracy_original']:.3f}" in paragraph, name


def test_readme_tfidf_full_scale_accuracies_match_its_records():
    paragraph = full_scale_paragraph()
    for eval_set in ("original", "transformed"):
        record = json.loads((PROJECT / "results" / "full_scale" / f"tfidf_{eval_set}.json").read_text())
        assert f"{record['accuracy']:g}" in paragraph, f"README.md: TF-IDF {eval_set} {record['accuracy']:g}"


def paragraph(path: Path, title: str) -> str:
    text = path.read_text(encoding="utf-8")
    match = re.search(re.escape(title) + r"(.*?)\n\n", text, re.S)
    assert match, f"{path.name} lost its {title} paragraph"
    return " ".join(match.group(1).split())


def test_readme_full_assignment_estimate_matches_the_throughput_benchmark():
    record = json.loads((PROJECT / "benchmarks" / "results" / "throughput.json").read_text())
    text = paragraph(PROJECT / "README.md", "**The full assignment on a 2-core CPU.**")
    default, starter = record["full_assignment_estimate"]["default"], record["full_assignment_estimate"]["starter"]
    assert f"**{default['total_minutes']:.0f} minutes**" in text
    assert f"{starter['total_minutes']:.0f} minutes on the starter's path" in text
    for part in ("training", "evaluation", "tokenization", "transformations"):
        assert f"{default['minutes'][part]:g} {part}" in text, part
    figures = record["paths"]["default"]
    assert f"{figures['train_ms_per_example']:g} ms/review" in text and f"{figures['eval_ms_per_example']:g} ms/review" in text
    ratios = record["ratios"]["default"]
    assert f"training ×{ratios['train_vs_starter']:g}" in text and f"evaluation ×{ratios['eval_vs_starter']:g}" in text


def test_benchmarks_readme_tables_match_their_results_files():
    text = (PROJECT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    throughput = json.loads((PROJECT / "benchmarks" / "results" / "throughput.json").read_text())
    for name, figures in throughput["paths"].items():
        row = next((line for line in text.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row, f"benchmarks/README.md has no row for the {name} path"
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert f"{figures['train_ms_per_example']:g}" in cells and f"{figures['eval_ms_per_example']:g}" in cells, row
        ratios = throughput["ratios"][name]
        assert f"{ratios['train_vs_starter']:g}" in cells and f"{ratios['eval_vs_starter']:g}" in cells, row
    profile = json.loads((PROJECT / "benchmarks" / "results" / "profile_step.json").read_text())
    for name in profile["lengths"]["256"]["variants"]:
        row = next((line for line in text.splitlines() if line.startswith(f"| {name} |")), None)
        assert row, f"benchmarks/README.md has no row for the recipe {name}"
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[1:3] == [f"{profile['lengths'][n]['variants'][name]['ms_per_example']:g}" for n in ("256", "512")]
    for name, figures in profile["optimizer_step"]["variants"].items():
        assert f"| {name} | {figures['ms_per_step']:g} |" in text, name
    full_eval = json.loads((PROJECT / "benchmarks" / "results" / "bf16_full_eval.json").read_text())
    assert full_eval["reviews"] == 25000
    for setting in full_eval["settings"]:
        row = next((line for line in text.splitlines() if line.startswith(f"| `{setting['bf16_full_eval']}` |")), None)
        assert row, f"benchmarks/README.md has no row for --bf16_full_eval {setting['bf16_full_eval']}"
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[2:] == [f"{setting['median_ms_per_review']:.1f}", f"{setting['accuracy']:g}",
                             f"{setting['agreement_with_first']:g}"], row
    parameters = profile["optimizer_step"]["parameters"]
    readme = " ".join((PROJECT / "README.md").read_text(encoding="utf-8").split())
    assert f"{parameters / 1e6:.1f} million parameters" in readme


def test_readme_bf16_full_eval_row_matches_its_results_file():
    record = json.loads((PROJECT / "benchmarks" / "results" / "bf16_full_eval.json").read_text())
    autocast, full = record["settings"]
    assert (autocast["bf16_full_eval"], full["bf16_full_eval"]) == ("no", "auto")
    row = next(line for line in (PROJECT / "README.md").read_text(encoding="utf-8").splitlines()
               if line.startswith("| `--bf16_full_eval` |"))
    speedup = autocast["median_ms_per_review"] / full["median_ms_per_review"]
    changed = round((1 - full["agreement_with_first"]) * record["reviews"])
    assert f"×{speedup:.2f} faster" in row and f"{changed} of {record['reviews']:,} predictions different" in row
    assert f"accuracy {100 * full['accuracy']:.2f}% against {100 * autocast['accuracy']:.2f}%" in row
