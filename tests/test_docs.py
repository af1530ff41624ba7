"""README.md and benchmarks/README.md against the project: every results table's figures are its results file's (one
test per table; the READMEs are written by hand, so a rerun that changes a file must change them too), every path
they name exists, every main.py command they show parses, and the README's test command is the one .ci/run runs."""

import json
import re
import shlex
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
README = PROJECT / "README.md"
BENCHMARKS = PROJECT / "benchmarks"
OUT = PROJECT / "out"
AUDIT = PROJECT / "results" / "audit"


def text_of(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def flat(text: str) -> str:
    """The prose with its line breaks as spaces."""
    return " ".join(text.split())


def record(path: Path) -> dict:
    return json.loads(path.read_text())


def cells_of(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def table(text: str, header: str) -> list[list[str]]:
    """The rows (as cells) of the Markdown table whose header row starts with ``header``."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(header)), None)
    assert start is not None, f"no table starting {header!r}"
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(cells_of(line))
    return rows


def rows_by_first_cell(text: str, header: str) -> dict[str, list[str]]:
    return {cells[0]: cells[1:] for cells in table(text, header)}


def linked(cell: str) -> tuple[str, str]:
    """A cell holding one Markdown link: (its text, its target)."""
    match = re.fullmatch(r"\[(.+?)\]\((.+?)\)", cell)
    assert match, cell
    return match.group(1), match.group(2)


def section(text: str, title: str) -> str:
    """The text of the section whose heading starts with ``## title``, up to the next ``## ``."""
    match = re.search(rf"^## {re.escape(title)}.*?$(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, f"no section {title!r}"
    return match.group(1)


def percent(accuracy: float) -> str:
    return f"{100 * accuracy:.2f}"


def points(difference: float, sign: bool = False) -> str:
    return f"{100 * difference:+.2f}" if sign else f"{100 * difference:.2f}"


# ----------------------------------------------------------------------------------------------------------------
# README.md: its tables
# ----------------------------------------------------------------------------------------------------------------

def test_readme_results_table_is_the_full_scale_records():
    text = text_of(README)
    rows = rows_by_first_cell(text, "| model | original test set (%) |")
    accuracy = {}
    control = "control: the same 5,000 added untransformed (`--transform none`)"
    for label, (original, transformed) in (("fine-tuned (`--train`)", ("out_original", "out_transformed")),
                                           ("augmented (`--train_augmented`)",
                                            ("out_augmented_original", "out_augmented_transformed")),
                                           (control, ("out_duplicated_original", "out_duplicated_transformed"))):
        cells = rows[label]
        for cell, name, eval_set in ((cells[0], original, "original"), (cells[1], transformed, "transformed")):
            figure, target = linked(cell)
            assert target == f"out/{name}.json", (label, target)
            rec = record(PROJECT / target)
            # full scale: every test review, a model trained on every training review, the stated recipe
            assert rec["examples"] == 25000 and rec["max_eval_samples"] is None, name
            added = name.startswith(("out_augmented", "out_duplicated"))
            assert rec["training"]["train_examples"] == (30000 if added else 25000), name
            assert rec["training"]["transform"] == ("custom_transform" if "augmented" in name else None), name
            assert (rec["max_length"], rec["seed"], rec["training"]["num_epochs"]) == (512, 42, 1), name
            assert "minilm" in rec["model_name"].lower() and "Xeon" in rec["provenance"]["cpu"]["model"], name
            assert rec["training"]["mixed_precision"] == "bf16", name
            assert rec["transform"] == (None if eval_set == "original" else "custom_transform"), name
            assert figure == percent(rec["accuracy"]), (name, figure)
            accuracy[label, eval_set] = rec["accuracy"]
        assert cells[2] == points(accuracy[label, "original"] - accuracy[label, "transformed"]), label
    effect = rows["augmentation effect (points)"]
    gains = [accuracy["augmented (`--train_augmented`)", s] - accuracy["fine-tuned (`--train`)", s]
             for s in ("original", "transformed")]
    assert effect[:2] == [points(gain, sign=True) for gain in gains]
    # the control: the same added reviews untransformed, the same step count
    steps = {label: record(OUT / f"{name}_original.json")["training"]["optimizer_steps"]
             for label, name in (("augmented", "out_augmented"), ("control", "out_duplicated"))}
    assert steps["augmented"] == steps["control"]
    versus = [accuracy["augmented (`--train_augmented`)", s] - accuracy[control, s] for s in ("original", "transformed")]
    assert rows["augmented − control (points)"][:2] == [points(gain, sign=True) for gain in versus]
    tfidf = rows["TF-IDF + logistic regression"]
    figures = []
    for cell, eval_set in ((tfidf[0], "original"), (tfidf[1], "transformed")):
        figure, target = linked(cell)
        assert target == f"results/full_scale/tfidf_{eval_set}.json"
        rec = record(PROJECT / target)
        assert rec["examples"] == 25000 and rec["training"]["train_examples"] == 25000
        assert figure == percent(rec["accuracy"])
        figures.append(rec["accuracy"])
    assert tfidf[2] == points(figures[0] - figures[1])
    # the prose beside the table says the same
    prose = flat(section(text, "Results"))
    drop = points(accuracy["fine-tuned (`--train`)", "original"] - accuracy["fine-tuned (`--train`)", "transformed"])
    assert f"its drop, {drop} points, is **below the assignment's 4-point bar**" in prose and float(drop) < 4
    assert f"wins back {points(gains[1])} points on transformed reviews" in prose
    augment = record(OUT / "out_augmented_original.json")["training"]["augment_size"]
    assert f"{augment:,} more reviews" in prose


def test_readme_transformations_table_is_utils_and_the_audits():
    import utils

    text = text_of(README)
    rows = rows_by_first_cell(text, "| `--transform` | default strength |")
    assert list(rows) == [f"`{name}`" for name in ["custom_transform", *[n for n in utils.TRANSFORM_NAMES
                                                                          if n != "custom_transform"]]]
    for name, (strength, what, audit) in ((n.strip("`"), cells) for n, cells in rows.items()):
        _, default = utils.TRANSFORMS[name]
        assert strength == "—" if default is None else float(strength) == default, name
        audits = re.findall(r"(\d+) of (\d+) (?:audited edits )?invalid[^(]*\((?:\d+%, )?`(results/audit/[\w.]+)`", audit)
        assert audits or name in ("custom_transform", "char_noise", "example_transform"), name
        for invalid, judged, file in audits:
            stages = record(PROJECT / file)["per_stage"]
            own = name in stages
            stage = stages[name] if own else stages["wordnet_any_sense"]  # the baseline the synonym table replaced
            assert (int(invalid), int(judged)) == (stage["invalid"], stage["judged"]), (name, file)
            if own:
                assert ("fails" in audit) == (stage["invalid_rate"] > 0.10), name
            else:
                assert f"({stage['invalid_rate']:.0%}, `{file}`)" in audit
        if "not used" in audit or "fails" in audit:
            assert name not in dict(utils.CUSTOM_STAGES), name
    custom = rows["`custom_transform`"]
    assert custom[1] == " → ".join(f"`{stage}` {strength}" for stage, strength in utils.CUSTOM_STAGES)
    reviews = record(AUDIT / "opinion_reviews_summary.json")
    assert (f"{reviews['same_label']} of {reviews['reviews']} keep their label, {reviews['reads_real']} of "
            f"{reviews['reviews']} read like a real post") in custom[2]
    # the prose above the table: the calibration that chose the strength and the reference point
    prose = flat(section(text, "Transformations"))
    calibration = record(PROJECT / "results" / "calibration_transform.json")
    strengths = [candidate["stages"][0][1] for candidate in calibration["candidates"]]
    assert not calibration["target_met"] and calibration["chosen"]["stages"][0][1] == max(strengths)
    assert f"no strength from {min(strengths):g} to {max(strengths):g} reached it, so the largest was kept" in prose
    assert calibration["validation"].startswith("1000 IMDB training reviews the checkpoint had not seen")
    assert "on 1,000 training reviews a checkpoint of the full-scale run had not seen" in prose
    reference = max(record(PROJECT / "results" / "frontier_reference.json")["points"], key=lambda p: p["strength"])
    reading = record(AUDIT / f"frontier_reference_{reference['strength']}_summary.json")
    assert reading["all_keep_label"]
    assert (f"drops {reference['drop_points']:g} points on the same reviews, but {reading['reads_real']} of "
            f"{reading['reviews']} such reviews read like a real post") in prose
    # the bounds: deleting every opinion word, and negated opposites
    bounds = {p["edits"]: p["drop_points"] for name in ("deleted", "negated")
              for p in record(PROJECT / "results" / f"frontier_{name}.json")["points"]}
    wide = record(AUDIT / "frontier_negated_1.0_summary.json")
    late = record(PROJECT / "results" / "frontier_deleted_step3000.json")["points"][0]["drop_points"]
    assert f"Deleting every opinion word drops {bounds['opinion words deleted']:g} ({late:g} at step 3,000;" in prose
    assert (f"{bounds['negated opposites, then custom_transform']:g} points to ours, "
            f"{bounds['negated opposites at every use, then custom_transform']:g} at every use") in prose
    assert wide["all_keep_label"] and f"({wide['reads_real']} of {wide['reviews']} read real," in prose


def test_readme_flags_table_defaults_are_main_py_defaults():
    import main
    from pipeline import augmentation

    resolved = vars(main.parse_args(["--train"]))
    rows = table(text_of(README), "| flag | default | meaning |")
    for cells in rows:
        flags = [flag.strip("`") for flag in cells[0].split(", ")]
        defaults = [value.strip("`") for value in cells[1].split(", ")] if cells[1] else []
        if len(defaults) != len(flags):
            continue  # one default for a row of several flags: checked below
        for flag, default in zip(flags, defaults):
            value = resolved[flag.lstrip("-")]
            if default in ("all", "its own"):
                assert value is None, flag
            else:
                assert default == str(value) or float(default) == value, (flag, default, value)
    augment = next(cells for cells in rows if "`--augment_size`" in cells[0])
    assert augment[1] == f"`{augmentation.DEFAULT_AUGMENT_SIZE}`" and resolved["augment_size"] is None  # None: the rule
    checkpoint = next(cells for cells in rows if cells[0].startswith("`--checkpoint_every`"))
    assert checkpoint[1] == "`0` (off)" and resolved["checkpoint_every"] == 0


# ----------------------------------------------------------------------------------------------------------------
# README.md: paths, commands, flags, the test command
# ----------------------------------------------------------------------------------------------------------------

def named_paths(text: str) -> set[str]:
    """Paths the text names: Markdown link targets and code spans that look like a project path."""
    paths = set(re.findall(r"\]\(([^)\s]+)\)", text))
    for span in re.findall(r"`([^`\s]+)`", text):
        if any(c in span for c in "<>*$") or span.startswith("-") or "=" in span:
            continue
        if "/" in span or re.fullmatch(r"\w[\w.-]*\.(py|json|md|tsv|txt|sbatch|pdf|ipynb|tex)", span):
            paths.add(span)
    return paths


# benchmark scripts removed after commit af94205: benchmarks/README.md names them as such
REMOVED_SCRIPTS = {"cpu_alternatives.py", "eval_settings.py", "full_assignment.py", "gpu_attention.py",
                   "page_faults.py"}


def test_readmes_name_only_paths_that_exist():
    missing = []
    for doc, base in ((README, PROJECT), (BENCHMARKS / "README.md", BENCHMARKS)):
        for path in named_paths(text_of(doc)):
            if path.startswith(("out_", ".device/", "results/study/runs")) or path.endswith("_checkpoints/"):
                continue  # folders a run creates
            if path in REMOVED_SCRIPTS and doc != README:
                continue  # checked below
            candidates = [base / path, PROJECT / path, PROJECT / "part1" / path, AUDIT / path, OUT / path]
            if not any(c.exists() for c in candidates):
                missing.append(f"{doc.relative_to(PROJECT)}: {path}")
    assert not missing, missing
    assert not any((BENCHMARKS / name).exists() for name in REMOVED_SCRIPTS)
    removed = flat(benchmarks_text()).split(" were removed after commit ")[0]
    assert all(f"`{name}`" in removed for name in REMOVED_SCRIPTS)


def commands(text: str) -> list[list[str]]:
    """The arguments after main.py of every command in the text's code blocks (continuation lines joined)."""
    found = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if "main.py" in words:
                found.append(words[words.index("main.py") + 1:])
    return found


def test_readme_main_py_commands_parse():
    import main

    shown = commands(text_of(README))
    assert len(shown) >= 9
    for argv in shown:
        main.parse_args(argv)  # an unknown flag or a refused combination exits (SystemExit fails the test)
    assert main.parse_args(["--train_augmented", "--transform", "none"]).model_dir == "out_duplicated"


def test_readme_names_only_main_py_flags(monkeypatch):
    """Every flag the README names is one of main.py's (or of the other commands it shows)."""
    import argparse

    import main

    parsers = []
    parse = argparse.ArgumentParser.parse_args
    monkeypatch.setattr(argparse.ArgumentParser, "parse_args",
                        lambda self, *args, **kwargs: parsers.append(self) or parse(self, *args, **kwargs))
    main.parse_args(["--train"])
    options = {option for action in parsers[0]._actions for option in action.option_strings}
    others = {"--multi_gpu", "--num_processes", "--quick", "--values"}  # accelerate's, the study's, Part 1's
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9_]*", text_of(README)))
    unknown = named - options - others
    assert not unknown, sorted(unknown)


def test_readme_test_command_is_what_ci_runs():
    readme = section(text_of(README), "Tests")
    shown = re.search(r"```bash\n(.+?)\n```", readme, re.S).group(1).strip()
    ci = [line.strip() for line in text_of(PROJECT / ".ci" / "run").splitlines()
          if line.strip() and not line.strip().startswith("#")]
    assert ci[-1].replace("python3 ", "python ", 1) == shown


def test_readme_is_short_and_leads_with_the_results():
    lines = text_of(README).splitlines()
    assert len(lines) <= 150
    header = next(i for i, line in enumerate(lines) if line.startswith("| model | original test set"))
    assert header < 60


# ----------------------------------------------------------------------------------------------------------------
# benchmarks/README.md: its tables
# ----------------------------------------------------------------------------------------------------------------

def benchmarks_text() -> str:
    return text_of(BENCHMARKS / "README.md")


def listed(values) -> str:
    return ", ".join(f"{value:g}" for value in values)


def test_benchmarks_readme_lists_every_script():
    rows = rows_by_first_cell(benchmarks_text(), "| script | what | figures |")
    assert sorted(name.strip("`") for name in rows) == sorted(p.name for p in BENCHMARKS.glob("*.py"))
    shown = {argv[0] for argv in (shlex.split(line, comments=True)[1:] for block in re.findall(
        r"```bash\n(.*?)```", benchmarks_text(), re.S) for line in block.splitlines() if line.strip())}
    assert shown == {f"benchmarks/{name.strip('`')}" for name in rows}


def test_benchmarks_readme_throughput_table_is_its_results_file():
    rec = record(BENCHMARKS / "results" / "throughput.json")
    text = benchmarks_text()
    rows = rows_by_first_cell(text, "| path | training ms/review |")
    assert list(rows) == [f"`{name}`" for name in rec["paths"]]
    for name, figures in rec["paths"].items():
        ratios = rec["ratios"][name]
        assert rows[f"`{name}`"] == [f"{figures['train_ms_per_example']:g}", f"{figures['eval_ms_per_example']:g}",
                                     f"{ratios['train_vs_starter']:g}", f"{ratios['eval_vs_starter']:g}",
                                     listed(ratios["train_vs_starter_by_round"]),
                                     listed(ratios["eval_vs_starter_by_round"])], name
    prose = flat(section(text, "Training and evaluation speed"))
    assert f"at commit {rec['provenance']['git_commit'][:7]}" in prose
    assert f"{rec['train_samples']} training and {rec['eval_samples']} test reviews (mean " \
           f"{rec['mean_train_tokens']:g} and {rec['mean_test_tokens']:.1f} tokens)" in prose
    assert f"medians of {len(rec['paths']['default']['rounds'])} rounds" in prose
    default, starter = (rec["full_assignment_estimate"][p] for p in ("default", "starter"))
    minutes = default["minutes"]
    assert (f"**{default['total_minutes']:g} minutes** on the defaults ({minutes['training']:g} training, "
            f"{minutes['evaluation']:g} evaluation, {minutes['tokenization']:g} tokenization, "
            f"{minutes['transformations']:g} transformations) against {starter['total_minutes']:g}") in prose
    assert default["total_minutes"] > 75  # "the 75-minute target is missed"


def test_benchmarks_readme_full_assignment_table_is_the_out_records():
    text = benchmarks_text()
    rows = table(text, "| step | record | reviews | seconds | ms/review |")
    total = 0.0
    for step, name, reviews, seconds, ms in rows:
        rec = record(OUT / name.strip("`"))
        if "--train" in step:
            assert ("augmented" in name) == ("augmented" in step)
            figures = rec["training"]
            measured, count = figures["train_seconds"], figures["train_examples"]
        else:
            assert ("out_augmented" in step) == ("augmented" in name)
            assert ("transformed" in step) == ("transformed" in name)
            measured, count = rec["eval_seconds"], rec["examples"]
        assert (reviews, seconds, ms) == (f"{count:,}", f"{measured:g}", f"{round(1000 * measured / count, 2):g}")
        total += measured
    assert len(rows) == 6
    assert f"In all {total:,.0f} s ({total / 3600:.1f} hours)" in flat(text)


def test_benchmarks_readme_profile_table_is_its_results_file():
    rec = record(BENCHMARKS / "results" / "profile_step.json")
    rows = rows_by_first_cell(benchmarks_text(), "| recipe | 256 tokens | 512 tokens |")
    assert list(rows) == list(rec["lengths"]["256"]["variants"])
    for name, cells in rows.items():
        variants = [rec["lengths"][n]["variants"][name] for n in ("256", "512")]
        assert cells[:2] == [f"{v['ms_per_example']:g}" for v in variants], name
        fused = all("flash" in kernel for kernel in " ".join(variants[1]["sdpa_kernels"]).split())
        assert cells[2] == ("fused" if fused else "math"), name
    prose = flat(section(benchmarks_text(), "Where a CPU training step"))
    assert f"at commit {rec['provenance']['git_commit'][:7]}" in prose
    shares = [op["share"] for n in ("256", "512") for name, v in rec["lengths"][n]["variants"].items()
              if "model dropout" in name for op in v["top_ops"] if op["op"] == "aten::bernoulli_"]
    assert f"`bernoulli_`: {100 * min(shares):.0f}% to {100 * max(shares):.0f}%" in prose


def test_benchmarks_readme_optimizer_table_is_its_results_file():
    rec = record(BENCHMARKS / "results" / "profile_step.json")["optimizer_step"]
    rows = rows_by_first_cell(benchmarks_text(), "| AdamW | ms per step |")
    assert rows == {name: [f"{figures['ms_per_step']:g}"] for name, figures in rec["variants"].items()}
    assert f"{rec['parameters'] / 1e6:.1f} million parameters" in flat(benchmarks_text())


def test_benchmarks_readme_parity_table_is_its_results_file():
    rec = record(PROJECT / "results" / "cpu_recipe_parity" / "summary.json")
    rows = rows_by_first_cell(benchmarks_text(), "| recipe | seed 0 | seed 1 | seed 2 | mean |")
    for name in ("old", "new"):
        figures = rec["per_recipe"][name]
        assert figures["seeds"] == [0, 1, 2]
        assert rows[name] == [*(f"{100 * a:.2f}" for a in figures["accuracy"]), f"{100 * figures['mean']:.2f}",
                              f"{100 * figures['standard_error']:.2f}"], name
    assert all(difference >= 0 for difference in rec["paired_differences"].values())  # "not worse on any seed"
    assert rec["new_minus_old_mean"] > rec["per_recipe"]["old"]["standard_error"]  # "by more than one standard error"


def test_benchmarks_readme_measured_changes_table_is_its_results_files():
    results = BENCHMARKS / "results"
    full_eval = record(results / "bf16_full_eval.json")
    autocast, weights = full_eval["settings"]
    assert (autocast["bf16_full_eval"], weights["bf16_full_eval"], full_eval["reviews"]) == ("no", "auto", 25000)
    faults = record(results / "page_faults.json")["tasks"]
    alternatives = record(results / "cpu_alternatives.json")
    compiled = record(results / "torch_compile.json")["torch_compile"]
    processes = record(results / "cpu_processes.json")["processes_vs_threads"]

    def variant(part: dict, start: str) -> float:
        return next(f for name, f in part["variants"].items() if name.startswith(start))["ratio_to_default"]

    expected = {
        "evaluation with bf16 weights": round(weights["median_ms_per_review"] / autocast["median_ms_per_review"], 3),
        "glibc keeps freed memory (no page faults per batch), evaluation": faults["evaluation"]["kept_vs_default"][
            "median"],
        "glibc keeps freed memory, training": faults["training"]["kept_vs_default"]["median"],
        "compact (batch, 1, 1, L) padding mask, evaluation": variant(alternatives["attention"]["evaluation"],
                                                                     "bf16, fused, additive"),
        "compact (batch, 1, 1, L) padding mask, training": variant(alternatives["attention"]["training"],
                                                                   "fp32, fused, additive"),
        "`torch.compile` of the training step": variant(alternatives["torch_compile"], "torch.compile"),
        "`torch.compile` of the evaluation forward pass": round(
            compiled["compiled"]["median_ms_per_review"] / compiled["eager"]["median_ms_per_review"], 3),
        "a 16-bit threshold dropout mask": variant(alternatives["dropout"], "16-bit"),
        "two processes of one thread instead of one of two threads, training": processes["train"]["median"],
        "two processes of one thread instead of one of two threads, evaluation": processes["eval"]["median"],
    }
    rows = table(benchmarks_text(), "| change | ratio to before | adopted | file |")
    assert len(rows) == len(expected)
    for change, ratio, adopted, file in rows:
        key = next(k for k in expected if change.startswith(k))
        assert ratio == f"{expected[key]:g}", change
        assert (PROJECT / "benchmarks" / file.strip("`")).exists(), file
        if adopted == "no":
            # not adopted: slower, or a gain within what the rounds vary (a fifth) and not worth the change
            assert expected[key] > 0.85, change
    assert f"{round(compiled['compile_seconds_with_first_pass'])} s of compiling" in benchmarks_text()
    prose = flat(section(benchmarks_text(), "What else was measured"))
    changed = round((1 - weights["agreement_with_first"]) * full_eval["reviews"])
    assert (f"{changed} of the {full_eval['reviews']:,} test predictions changed (accuracy {autocast['accuracy']:g} → "
            f"{weights['accuracy']:g})") in prose
    evaluation = faults["evaluation"]["ways"]
    assert evaluation["kept"]["minor_page_faults_per_review"] == 0
    assert f"from {evaluation['default']['minor_page_faults_per_review']:,} per evaluated review to none" in prose


def assert_path_table(rec: dict, header: str) -> None:
    """The benchmarks README's table under ``header``: each path's ms per review and ratios to the starter's path."""
    rows = rows_by_first_cell(benchmarks_text(), header)
    for name, figures in rec["paths"].items():
        ratios = rec["ratios"][name]
        assert rows[f"`{name}`"] == [f"{figures['train_ms_per_example']:g}", f"{figures['eval_ms_per_example']:g}",
                                     f"{ratios['train_vs_starter']:g}", f"{ratios['eval_vs_starter']:g}"], name


def test_benchmarks_readme_avx2_table_is_its_results_files():
    avx2 = BENCHMARKS / "results" / "avx2"
    rec, profile = record(avx2 / "throughput.json"), record(avx2 / "profile_step.json")
    for each in (rec, profile):
        assert each["provenance"]["cpu"] == {"model": "AMD EPYC", "vector_isa": "AVX2", "native_bf16": False}
    assert rec["paths"]["default"]["mixed_precision"] == "no"  # auto's rule on this CPU: "gives fp32"
    assert_path_table(rec, "| path, AVX2 |")
    prose = flat(section(benchmarks_text(), "On a CPU without native bf16"))
    assert f"at commit {rec['provenance']['git_commit'][:7]}" in prose
    estimate = rec["full_assignment_estimate"]
    assert (f"**{estimate['default']['total_minutes']:g} minutes** on the defaults, "
            f"{estimate['starter']['total_minutes']:g} on the starter's path") in prose
    variants = profile["lengths"]["256"]["variants"]
    fp32 = {"model dropout": variants["fp32, model dropout (before: --mixed_precision no)"],
            "attention dropout 0": variants["fp32, attention dropout 0"]}
    ratios = [figures["ms_per_example"] / fp32["model dropout" if "model dropout" in name else "attention dropout 0"][
        "ms_per_example"] for name, figures in variants.items() if name.startswith("bf16")]
    assert f"×{min(ratios):.1f} to ×{max(ratios):.1f} the fp32 step" in prose


def test_benchmarks_readme_gpu_table_is_its_results_files():
    gpu = BENCHMARKS / "results" / "gpu"
    rec, before = record(gpu / "throughput.json"), record(gpu / "throughput_before_no_cudnn_attention.json")
    assert rec["provenance"]["device"] == "cuda: NVIDIA H200 x1"
    assert_path_table(rec, "| path, H200 |")
    prose = flat(section(benchmarks_text(), "On a GPU"))
    assert (rec["train_samples"], rec["eval_samples"], rec["max_length"]) == (2000, 2000, 512)
    assert f"the code of {record(gpu / 'throughput.kit.json')['commit'][:7]}" in prose
    estimate = rec["full_assignment_estimate"]
    assert (f"**{estimate['default']['total_minutes']:g} minutes** on the defaults, "
            f"{estimate['starter']['total_minutes']:g} on the starter's path") in prose
    paths = before["paths"]
    slower = paths["default"]["train_ms_per_example"] / paths["fp32"]["train_ms_per_example"]
    assert f"the default path {slower:.1f} times the fp32 path's training time" in prose


def test_benchmarks_readme_transforms_table_is_its_results_file():
    import utils

    rec = record(BENCHMARKS / "results" / "transforms.json")
    rows = rows_by_first_cell(benchmarks_text(), "| transformation | reviews/s |")
    assert rows == {f"`{name}`": [f"{rate:g}"] for name, rate in rec["reviews_per_second"].items()}
    assert list(rec["reviews_per_second"]) == utils.TRANSFORM_NAMES
    full = rec["full_test_set"]
    assert full["stages"] == [list(stage) for stage in utils.CUSTOM_STAGES] and full["reviews"] == 25000
    prose = flat(section(benchmarks_text(), "Transformations"))
    assert f"at commit {rec['provenance']['git_commit'][:7]}" in prose
    assert f"(load average {full['load_average_1min']:.1f} on 2 cores)" in prose
    assert f"over the first {rec['reviews']} test reviews" in prose
    assert f"took {full['seconds']:g} s, {full['cpu_seconds']:g} s of CPU time" in prose
