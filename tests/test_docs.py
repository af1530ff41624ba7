"""README.md's full-scale figures and both READMEs' benchmark figures are the committed results files' figures (the
READMEs are written by hand, so a rerun that changes a file must change them too)."""

import json
import re
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def cells_of(row: str) -> list[str]:
    """A Markdown table row's cells, stripped."""
    return [cell.strip() for cell in row.strip("|").split("|")]


def row_cells(text: str, first_cell: str) -> list[str]:
    """The cells of the first Markdown table row in ``text`` whose first cell is ``first_cell``."""
    row = next((line for line in text.splitlines() if line.startswith(f"| {first_cell} |")), None)
    assert row, f"benchmarks/README.md has no row for {first_cell}"
    return cells_of(row)


def listed(values) -> str:
    """Figures as the READMEs list them in one cell: '1.85, 1.91, 1.89'."""
    return ", ".join(f"{value:g}" for value in values)


def full_scale_paragraph() -> str:
    text = (PROJECT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"\*\*Full scale\.\*\*(.*?)\n\n", text, re.S)
    assert match, "README.md lost its **Full scale.** paragraph"
    return " ".join(match.group(1).split())


def test_readme_full_scale_accuracies_and_times_match_out():
    paragraph = full_scale_paragraph()
    named = sorted(set(re.findall(r"out/(out_[a-z_]+\.json)", paragraph)))
    assert len(named) == 5, named  # four assignment files and the head+tail model's original evaluation
    for name in named:
        record = json.loads((PROJECT / "out" / name).read_text())
        assert record["examples"] == 25000 and record["training"]["train_examples"] in (25000, 30000), name
        assert f"{record['accuracy']:g}" in paragraph, f"README.md: {name} says accuracy {record['accuracy']:g}"
    for model in ("out_augmented", "out_head_tail"):
        seconds = json.loads((PROJECT / "out" / f"{model}_original.json").read_text())["training"]["train_seconds"]
        assert f"{seconds:g} s" in paragraph or f"{seconds:g}," in paragraph, f"README.md: {model} {seconds:g} s"


def test_readme_committed_full_scale_run_times_match_out():
    text = paragraph(PROJECT / "README.md", "**The full assignment on a 2-core CPU.**")
    records = {name: json.loads((PROJECT / "out" / f"out_{name}.json").read_text())
               for name in ("original", "transformed", "augmented_original", "augmented_transformed")}
    train, augmented = records["original"]["training"], records["augmented_original"]["training"]
    assert f"training on 25,000 reviews {train['train_seconds'] / 60:.0f} minutes" in text
    assert f"`training.train_seconds` {train['train_seconds']:.1f}" in text
    assert f"{augmented['train_seconds']:.1f} s for" in text
    seconds = [train["train_seconds"], augmented["train_seconds"], *(r["eval_seconds"] for r in records.values())]
    for name, record in records.items():
        assert f"{record['eval_seconds'] / 60:.1f} minutes" in text or f"{record['eval_seconds']:.1f} s" in text, name
    assert f"{sum(seconds) / 3600:.1f} hours of recorded training and evaluation in all ({sum(seconds):,.0f} s" in text


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
    match = re.search(re.escape(title) + r"(.*?)(?:\n\n|\Z)", text, re.S)  # a blank line or the file's end
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


def test_readmes_full_assignment_figures_match_its_measured_run():
    summary = json.loads((PROJECT / "benchmarks" / "results" / "full_assignment" / "summary.json").read_text())
    steps, minutes = summary["steps"], summary["minutes"]
    estimate = summary["estimate_of_unfinished_steps_seconds"]
    measured = ("preflight", "train", "eval", "eval_transformed")
    assert summary["finished_steps"] == list(measured)  # what both READMEs say: stopped after three steps
    text = (PROJECT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    flowing = " ".join(text.split())  # the prose, its line breaks as spaces
    for name in measured:
        cells = row_cells(text, name)
        assert cells[2] == f"{steps[name]['wall_seconds'] / 60:.1f}", name
    for name, loop in (("train", "training"), ("eval", "out_original"), ("eval_transformed", "out_transformed")):
        cells = row_cells(text, name)
        figures = steps[name]["training"] if loop == "training" else steps[name]["evaluations"][loop]
        seconds = figures["train_seconds"] if loop == "training" else figures["eval_seconds"]
        assert cells[3] == f"{seconds / 60:.1f} ({figures['examples']:,} reviews)", name
        assert cells[4] == f"{figures['ms_per_example']:g}", name
        assert cells[5] == ("–" if loop == "training" else f"{figures['accuracy']:g}"), name
    for name in ("train_augmented", "eval_augmented"):
        assert row_cells(text, name)[2] == f"{estimate[name] / 60:.1f} (estimated)", name
    assert row_cells(text, "**the full assignment**")[2] == (
        f"**{minutes['estimated_total']:g}** ({minutes['measured_steps']:g} measured, {minutes['estimated_steps']:g} "
        f"estimated)")
    assert f"spent {minutes['outside_the_loops']:g} minutes in all" in flowing
    assert f"the assignment takes {minutes['estimated_total']:g} minutes" in flowing
    readme = paragraph(PROJECT / "README.md", "**The full assignment on a 2-core CPU.**")
    assert f"`--train` took **{steps['train']['wall_seconds'] / 60:.1f} minutes** " \
           f"({steps['train']['training']['ms_per_example']:g} ms/review in its loop)" in readme
    evaluations = [steps[n]["evaluations"][e] for n, e in (("eval", "out_original"),
                                                          ("eval_transformed", "out_transformed"))]
    assert (f"`--eval` {steps['eval']['wall_seconds'] / 60:.1f} and `--eval_transformed` "
            f"{steps['eval_transformed']['wall_seconds'] / 60:.1f} ({evaluations[0]['ms_per_example']:g} and "
            f"{evaluations[1]['ms_per_example']:g} ms/review; accuracy {evaluations[0]['accuracy']:g} and "
            f"{evaluations[1]['accuracy']:g})") in readme
    assert (f"**{minutes['estimated_total']:g} minutes** for the whole assignment ({minutes['measured_steps']:g} "
            f"measured, {minutes['estimated_steps']:g} estimated)") in readme
    hours, rest = divmod(round(minutes["estimated_total"]), 60)
    assert f"takes about {hours} hours {rest} minutes with the defaults" in flowing
    throughput = json.loads((PROJECT / "benchmarks" / "results" / "throughput.json").read_text())
    estimated = throughput["full_assignment_estimate"]["default"]["total_minutes"]
    assert (f"missed by about ×{minutes['estimated_total'] / 75:.1f} measured, as it is by ×{estimated / 75:.1f} "
            f"estimated") in flowing
    commit = summary["run_commit"][:7]
    assert f"commit {commit}" in readme and f"commit {commit}" in text


def test_benchmarks_readme_tables_match_their_results_files():
    text = (PROJECT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    throughput = json.loads((PROJECT / "benchmarks" / "results" / "throughput.json").read_text())
    for name, figures in throughput["paths"].items():
        cells = row_cells(text, f"`{name}`")
        assert f"{figures['train_ms_per_example']:g}" in cells and f"{figures['eval_ms_per_example']:g}" in cells, cells
        ratios = throughput["ratios"][name]
        assert f"{ratios['train_vs_starter']:g}" in cells and f"{ratios['eval_vs_starter']:g}" in cells, cells
    profile = json.loads((PROJECT / "benchmarks" / "results" / "profile_step.json").read_text())
    for name in profile["lengths"]["256"]["variants"]:
        cells = row_cells(text, name)
        assert cells[1:3] == [f"{profile['lengths'][n]['variants'][name]['ms_per_example']:g}" for n in ("256", "512")]
    for name, figures in profile["optimizer_step"]["variants"].items():
        assert f"| {name} | {figures['ms_per_step']:g} |" in text, name
    full_eval = json.loads((PROJECT / "benchmarks" / "results" / "bf16_full_eval.json").read_text())
    assert full_eval["reviews"] == 25000
    for setting in full_eval["settings"]:
        cells = row_cells(text, f"`{setting['bf16_full_eval']}`")
        assert cells[2:] == [f"{setting['median_ms_per_review']:.1f}", f"{setting['accuracy']:g}",
                             f"{setting['agreement_with_first']:g}"], cells
    parameters = profile["optimizer_step"]["parameters"]
    readme = " ".join((PROJECT / "README.md").read_text(encoding="utf-8").split())
    assert f"{parameters / 1e6:.1f} million parameters" in readme


def test_readme_bf16_eval_weights_line_matches_its_results_file():
    record = json.loads((PROJECT / "benchmarks" / "results" / "bf16_full_eval.json").read_text())
    autocast, full = record["settings"]
    assert (autocast["bf16_full_eval"], full["bf16_full_eval"]) == ("no", "auto")
    row = next(line for line in (PROJECT / "README.md").read_text(encoding="utf-8").splitlines()
               if line.startswith("- bf16 weights for evaluation"))
    speedup = autocast["median_ms_per_review"] / full["median_ms_per_review"]
    changed = round((1 - full["agreement_with_first"]) * record["reviews"])
    assert f"×{speedup:.2f} faster" in row and f"{changed} of {record['reviews']:,} predictions different" in row
    assert f"accuracy {100 * full['accuracy']:.2f}% against {100 * autocast['accuracy']:.2f}%" in row


def test_benchmarks_readme_alternatives_tables_match_their_results_file():
    text = (PROJECT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    record = json.loads((PROJECT / "benchmarks" / "results" / "cpu_alternatives.json").read_text())
    parts = [(f"{mode}: ", record["attention"][mode]) for mode in ("evaluation", "training")]
    parts += [("", record["torch_compile"]), ("", record["dropout"])]
    for prefix, part in parts:
        for name, figures in part["variants"].items():
            cells = row_cells(text, f"{prefix}{name}")
            by_round = figures["ratio_to_default_by_round"]
            assert cells[1:4] == [f"{figures['ms_per_example']:g}", f"{figures['ratio_to_default']:g}",
                                  f"{min(by_round):g}–{max(by_round):g}"], cells
            if "max_abs_difference_from_fused" in figures:
                assert cells[4] == f"{figures['max_abs_difference_from_fused']:.2g}", cells
            if "first_call_seconds_by_length" in figures:
                assert cells[4] == listed(figures["first_call_seconds_by_length"].values()), cells
    commit = record["provenance"]["git_commit"]
    assert not commit.endswith("-dirty") and f"at commit {commit[:7]}" in " ".join(text.split())
    compact = {mode: next(f for name, f in record["attention"][mode]["variants"].items() if name.startswith(
        f"{'bf16' if mode == 'evaluation' else 'fp32'}, fused, additive")) for mode in ("evaluation", "training")}
    readme = " ".join((PROJECT / "README.md").read_text(encoding="utf-8").split())
    assert (f"×{compact['training']['ratio_to_default']:g} training, "
            f"×{compact['evaluation']['ratio_to_default']:g} evaluation") in readme


def test_benchmarks_readme_remaining_targets_paragraph_matches_the_throughput_benchmark():
    record = json.loads((PROJECT / "benchmarks" / "results" / "throughput.json").read_text())
    text = paragraph(PROJECT / "benchmarks" / "README.md", "Issue 10's targets, measured by `throughput.py`")
    estimate = record["full_assignment_estimate"]["default"]
    minutes = estimate["minutes"]
    ratios = record["ratios"]["default"]
    assert f"training ×{ratios['train_vs_starter']:g}" in text and f"evaluation ×{ratios['eval_vs_starter']:g}" in text
    assert f"the full assignment {estimate['total_minutes']:g} minutes" in text
    left = 75 - minutes["tokenization"] - minutes["transformations"]
    spent = minutes["training"] + minutes["evaluation"]
    assert (f"75 − {minutes['tokenization']:g} − {minutes['transformations']:g} = {left:.0f} of today's "
            f"{minutes['training']:g} + {minutes['evaluation']:g} = {spent:g} minutes") in text
    assert f"×{spent / left:.1f} that 75 minutes would take" in text


def test_benchmarks_readme_processes_table_matches_its_results_file():
    text = (PROJECT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    record = json.loads((PROJECT / "benchmarks" / "results" / "cpu_processes.json").read_text())
    for name, figures in record["modes"].items():
        cells = row_cells(text, name)
        accuracies = {run["accuracy"] for run in figures["rounds"]}
        assert len(accuracies) == 1, "the README says each way's accuracy is the same in every round"
        assert cells[1:] == [f"{figures['processes']} × {figures['threads_per_process']}",
                             str(figures["batch_size_per_process"]), f"{figures['train_ms_per_example']:g}",
                             f"{figures['eval_ms_per_example']:g}", f"{accuracies.pop():g}"], cells
    section = " ".join(text.split("## One process per core")[1].split("\n## ")[0].split())
    for task, name in (("train", "training"), ("eval", "evaluation")):
        ratio = record["processes_vs_threads"][task]
        assert f"{name} ×{ratio['median']:g} (rounds {ratio['min']:g}–{ratio['max']:g})" in section, task
    commit = record["provenance"]["git_commit"]
    assert not commit.endswith("-dirty") and f"at commit {commit[:7]}" in section
    assert f"--rounds {record['rounds']}" in section and f"{record['rounds']} rounds" in section
    readme = " ".join((PROJECT / "README.md").read_text(encoding="utf-8").split())
    ratios = record["processes_vs_threads"]
    assert (f"(×{ratios['train']['median']:g} training, ×{ratios['eval']['median']:g} evaluation, medians of "
            f"{record['rounds']} rounds)") in readme


def test_page_faults_table_and_readme_match_their_results_file():
    text = (PROJECT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    record = json.loads((PROJECT / "benchmarks" / "results" / "page_faults.json").read_text())
    for task, figures in record["tasks"].items():
        for way, measured in figures["ways"].items():
            row = f"| {task} | {way} | {measured['ms_per_review']:.2f} | {measured['minor_page_faults_per_review']} |"
            assert row in text, row
    section = " ".join(text.split("## Page faults")[1].split("\n## ")[0].split())
    readme = " ".join((PROJECT / "README.md").read_text(encoding="utf-8").split())
    for task in ("evaluation", "training"):
        ratio = record["tasks"][task]["kept_vs_default"]
        assert f"{task} ×{ratio['median']:g} (rounds {ratio['min']:g}–{ratio['max']:g}" in section, task
    by_round = record["tasks"]["evaluation"]["kept_vs_default"]["by_round"]
    assert f"faster in {sum(r < 1 for r in by_round)} of the {len(by_round)} rounds" in section
    commit = record["provenance"]["git_commit"]
    assert not commit.endswith("-dirty") and f"at commit {commit[:7]}" in section
    assert f"--rounds {record['rounds']}" in section
    evaluation, training = (record["tasks"][t] for t in ("evaluation", "training"))
    faults = [f"{t['ways']['default']['minor_page_faults_per_review']:,}" for t in (evaluation, training)]
    assert (f"({faults[0]} page faults per evaluated review and {faults[1]} per trained one; none when kept, "
            f"evaluation ×{evaluation['kept_vs_default']['median']:g} and training "
            f"×{training['kept_vs_default']['median']:g} the time") in readme
    assert (f"{faults[0]} page faults per evaluated review, none when kept, evaluation "
            f"×{evaluation['kept_vs_default']['median']:g} the time") in readme
    assert all(t["ways"]["kept"]["minor_page_faults_per_review"] == 0 for t in (evaluation, training))


def attention_ways() -> list[dict]:
    """gpu_attention.py's committed log: one JSON line per way, the way's process time after it."""
    lines = (PROJECT / "benchmarks" / "results" / "gpu" / "attention_log.txt").read_text().splitlines()
    return [json.loads(line[:line.rindex("}") + 1]) for line in lines if line.startswith("{")]


def table_rows(text: str, header: str) -> dict[str, list[str]]:
    """The Markdown table that starts with ``header``: its rows' first cell -> the other cells."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = cells_of(line)
        rows[cells[0]] = cells[1:]
    return rows


def test_benchmarks_readme_gpu_tables_match_their_results_files():
    text = (PROJECT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    rows = table_rows(text, "| way (`gpu_attention.py`) |")
    ways = attention_ways()
    assert len(ways) == 8
    for way in ways:
        shape = way["config"]
        name = (shape["prec"] + (", pad 64" if shape.get("mult") else "")
                + (", cuDNN off" if shape.get("nocudnn") else ""))
        expected = [f"{way[key]:g}" if key in way else "–" for key in (
            "train_pass1_ms_per_step", "train_pass2_ms_per_step",
            "eval_pass1_ms_per_review", "eval_pass2_ms_per_review")]
        assert rows.get(name) == expected, name
    gpu = PROJECT / "benchmarks" / "results" / "gpu"
    before = json.loads((gpu / "throughput_before_no_cudnn_attention.json").read_text())
    after = json.loads((gpu / "throughput.json").read_text())
    for record in (before, after):
        assert record["provenance"]["device"] == "cuda: NVIDIA H200 x1"
        assert (record["train_samples"], record["eval_samples"], record["max_length"]) == (2000, 2000, 512)
    rows = table_rows(text, "| path | training ms/review, before |")
    for name in ("starter", "fp32", "default"):
        b, a, ratio = before["paths"][name], after["paths"][name], after["ratios"][name]
        assert rows[name] == [f"{b['train_ms_per_example']:g}", f"{b['eval_ms_per_example']:g}",
                              f"{a['train_ms_per_example']:g}", f"{a['eval_ms_per_example']:g}",
                              f"{ratio['train_vs_starter']:g}", f"{ratio['eval_vs_starter']:g}",
                              f"{100 * a['accuracy']:.2f}%"], name
    # what the README says of them: the default path half the fp32 path's speed before, at it after
    assert before["paths"]["default"]["train_ms_per_example"] >= 2 * before["paths"]["fp32"]["train_ms_per_example"]
    assert after["ratios"]["default"]["train_vs_starter"] >= 0.95 * after["ratios"]["fp32"]["train_vs_starter"]
    flat = " ".join(text.split())
    kit = json.loads((gpu / "throughput.kit.json").read_text())
    assert f"the code of {kit['commit'][:7]}" in flat
    assert f"bf16 matrix products at {after['limit']['gemm_tflops']['bf16']:.0f} TFLOP/s in this run, " \
           f"{before['limit']['gemm_tflops']['bf16']:.0f} in the first" in flat
    assert f"{after['limit']['train_limit_ms_per_example']['bf16']:g} ms per training review" in flat
    no_cudnn = {way["config"]["prec"]: way for way in ways
                if way["config"].get("nocudnn") and not way["config"].get("mult")}
    assert f"({no_cudnn['bf16full']['eval_pass1_ms_per_review']:g} against " \
           f"{no_cudnn['autocast']['eval_pass1_ms_per_review']:g} ms/review" in flat


def test_readme_gpu_full_assignment_matches_the_gpu_benchmark():
    record = json.loads((PROJECT / "benchmarks" / "results" / "gpu" / "throughput.json").read_text())
    text = paragraph(PROJECT / "README.md", "**The full assignment on one GPU.**")
    default, starter = record["full_assignment_estimate"]["default"], record["full_assignment_estimate"]["starter"]
    figures = record["paths"]["default"]
    assert f"**{default['total_minutes']:g} minutes** on the defaults " \
           f"({default['minutes']['training']:g} training at " \
           f"{figures['train_ms_per_example']:g} ms/review, {default['minutes']['evaluation']:g} evaluation at " \
           f"{figures['eval_ms_per_example']:g} ms/review, {default['minutes']['tokenization']:g} tokenization, " \
           f"{default['minutes']['transformations']:g} transformations), {starter['total_minutes']:g} on the " \
           f"starter's path" in text


def test_benchmarks_readme_gpu_regression_ratios_match_the_first_run():
    record = json.loads((PROJECT / "benchmarks" / "results" / "gpu" / "throughput_before_no_cudnn_attention.json")
                        .read_text())
    text = " ".join(paragraph(PROJECT / "benchmarks" / "README.md", "**The first run found a GPU regression**").split())
    paths = record["paths"]
    for task, key in (("training", "train_ms_per_example"), ("evaluation", "eval_ms_per_example")):
        median = paths["default"][key] / paths["fp32"][key]
        by_round = [d[key] / f[key] for d, f in zip(paths["default"]["rounds"], paths["fp32"]["rounds"])]
        assert f"{median:.1f} times" in text and f"({min(by_round):.2f} to {max(by_round):.2f}" in text, task


def test_benchmarks_readme_avx2_tables_match_their_results_files():
    """The section on a CPU without native bf16: its tables, limit and estimate are its files' (and the files say
    which CPU made them)."""
    avx2 = PROJECT / "benchmarks" / "results" / "avx2"
    throughput = json.loads((avx2 / "throughput.json").read_text())
    profile = json.loads((avx2 / "profile_step.json").read_text())
    for record in (throughput, profile):
        assert record["provenance"]["cpu"] == {"model": "AMD EPYC", "vector_isa": "AVX2", "native_bf16": False}
        assert record["provenance"]["git_commit"].startswith("3f76fe6")
    assert throughput["paths"]["default"]["mixed_precision"] == "no"  # auto's rule on this CPU
    text = (PROJECT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    rows = table_rows(text, "| path, AVX2 |")
    for name, figures in throughput["paths"].items():
        ratios = throughput["ratios"][name]
        assert rows[f"`{name}`"] == [f"{figures['train_ms_per_example']:g}", f"{figures['eval_ms_per_example']:g}",
                                     f"{ratios['train_vs_starter']:g}", f"{ratios['eval_vs_starter']:g}",
                                     listed(ratios["train_vs_starter_by_round"]),
                                     listed(ratios["eval_vs_starter_by_round"])], name
    rows = table_rows(text, "| recipe, AVX2 |")
    for name, figures in profile["lengths"]["256"]["variants"].items():
        assert rows[name][:2] == [f"{figures['ms_per_example']:g}", listed(figures["all_rounds"])]
    flat = " ".join(text.split())
    limit, default = throughput["limit"], throughput["paths"]["default"]
    assert (f"measured {limit['gemm_tflops']['fp32']:g} TFLOP/s in fp32 and {limit['gemm_tflops']['bf16']:g} in bf16, "
            f"which puts the limit at {limit['train_limit_ms_per_example']['fp32']:g} ms per training review and "
            f"{limit['eval_limit_ms_per_example']['fp32']:g} per test review in fp32; the default path is at "
            f"×{default['train_ms_per_example'] / limit['train_limit_ms_per_example']['fp32']:.2f} and "
            f"×{default['eval_ms_per_example'] / limit['eval_limit_ms_per_example']['fp32']:.2f} that") in flat
    estimate = throughput["full_assignment_estimate"]
    minutes = estimate["default"]["minutes"]
    assert (f"**{estimate['default']['total_minutes']:.0f} minutes** on the defaults ({minutes['training']:g} "
            f"training, {minutes['evaluation']:g} evaluation, {minutes['tokenization']:g} tokenization, "
            f"{minutes['transformations']:g} transformations") in flat
    assert f"{estimate['starter']['total_minutes']:g} on the starter's path" in flat
    assert f"the estimate is {estimate['default']['total_minutes']:.0f} minutes" in flat  # "What the remaining ..."
    torch_adamw, fused = (figures["ms_per_step"] for figures in profile["optimizer_step"]["variants"].values())
    assert f"({torch_adamw:g} against {fused:g} ms per optimizer step" in flat
    fp32, bf16 = (json.loads((avx2 / f"eval_{name}.json").read_text()) for name in ("fp32", "bf16"))
    assert (fp32["mixed_precision"], bf16["mixed_precision"]) == ("no", "bf16") and fp32["reviews"] == bf16["reviews"]
    reference, autocast, weights = fp32["settings"][0], *bf16["settings"]
    assert (autocast["bf16_weights"], weights["bf16_weights"]) == (False, True)
    assert (f"{reference['median_ms_per_review']:.1f} ms/review; in bf16 (`--mixed_precision bf16`, "
            f"`results/avx2/eval_bf16.json`) {autocast['median_ms_per_review']:.1f} under autocast (`--bf16_full_eval no`) and "
            f"{weights['median_ms_per_review']:.1f} with bf16 weights (`auto`), "
            f"×{autocast['median_ms_per_review'] / reference['median_ms_per_review']:.1f} and "
            f"×{weights['median_ms_per_review'] / reference['median_ms_per_review']:.1f} the fp32 time") in flat
    readme = paragraph(PROJECT / "README.md", "**The full assignment on a 2-core CPU.**")
    ratios = throughput["ratios"]["default"]
    assert (f"training ×{ratios['train_vs_starter']:g} and evaluation ×{ratios['eval_vs_starter']:g} the starter's "
            f"path") in readme
    assert (f"**{estimate['default']['total_minutes']:.0f} minutes** ({estimate['starter']['total_minutes']:g} on "
            f"the starter's path)") in readme


def test_readme_frontier_table_matches_the_calibration_and_the_readings():
    """The Transformations section's table: each strength's misspelt share and validation drop from
    results/calibration_transform.json, its whole-review reading from results/audit/frontier_reviews_*."""
    text = (PROJECT / "README.md").read_text(encoding="utf-8")
    calibration = json.loads((PROJECT / "results" / "calibration_transform.json").read_text())
    assert not calibration["target_met"] and calibration["chosen"] == calibration["candidates"][-1]
    for candidate in calibration["candidates"]:
        strength = candidate["stages"][0][1]
        summary = PROJECT / "results" / "audit" / f"frontier_reviews_{strength}_summary.json"
        read = "not read"
        if summary.exists():
            reading = json.loads(summary.read_text())
            read = f"{reading['reads_real']} of {reading['reviews']}"
        assert row_cells(text, f"{strength:g}") == [f"{strength:g}", f"{100 * candidate['misspelt_word_share']:.2f}%",
                                                    f"{candidate['drop_points']:g}", read]


def test_readme_reference_point_matches_its_results():
    paragraph = " ".join((PROJECT / "README.md").read_text(encoding="utf-8").split())
    record = json.loads((PROJECT / "results" / "frontier_reference.json").read_text())
    for point in record["points"]:
        summary = PROJECT / "results" / "audit" / f"frontier_reference_{point['strength']}_summary.json"
        reading = json.loads(summary.read_text())
        assert reading["all_keep_label"]
        assert f"({100 * point['misspelt_word_share']:.2f}%" in paragraph and f"{point['drop_points']:g}" in paragraph
        assert f"{reading['reads_real']} of {reading['reviews']}" in paragraph
