"""The study behind the report: every model, every evaluation set, one JSON result per pair.

    python study/run_study.py            # the full CPU study (background it: ~25 min on 2 cores)
    python study/run_study.py --quick    # a small smoke version (the tests run it on a tiny model)

Models (``results/study/runs/<model_id>/``): the stand-in encoder fine-tuned on the training subset
(``minilm-original-seed{0,1,2}``), on the subset plus transformed reviews (``minilm-augmented-seed*``), on the
subset plus counterfactually revised pairs (``minilm-cad-seed0``), on the subset plus the augmentation's reviews
untransformed (``minilm-duplicated-seed*``: the control for "more examples"), and a TF-IDF + logistic-regression
baseline on the same data (``tfidf-*``). Evaluation sets (``<eval_id>.json``): the test subset (``original``), the same
reviews after ``custom_transform`` and after each transformation at its default strength, strength sweeps
(``synonym@0.1`` ...), and the CAD test pairs (``cad-orig``, ``cad-new``).

Everything about the data is fixed by --data_seed (subsets, augmentation sample, transformations), so the same
reviews are seen by every model and seed and results pair up example by example. The runner resumes: a result
file that exists is not recomputed, a trained model that exists is not retrained (delete to redo).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

import datasets  # noqa: E402
from accelerate.utils import set_seed  # noqa: E402

import main  # noqa: E402
import utils  # noqa: E402
from pipeline import augmentation, runtime  # noqa: E402
from pipeline.batching import eval_dataloader  # noqa: E402
from pipeline.checkpoints import TRAINING_INFO, read_training_info  # noqa: E402
from pipeline.data import (  # noqa: E402
    SHARED_DATA, load_imdb, load_pretrained, project_path, require_writable, stand_in_model, subset)
from pipeline.errors import UsageError, exit_code  # noqa: E402
from pipeline.results import provenance, write_json  # noqa: E402

CAD_LABELS = {"Negative": 0, "Positive": 1}
FULL = dict(train_samples=2000, eval_samples=1000, max_length=128, num_epochs=1, learning_rate=1e-4,
            batch_size=16, seeds=[0, 1, 2], cad_pairs=500,
            sweeps={"synonym": [0.1, 0.3, 0.5, 0.8], "typo": [0.05, 0.1, 0.2, 0.4]})
QUICK = dict(train_samples=64, eval_samples=32, max_length=48, num_epochs=2, learning_rate=2e-3,
             batch_size=16, seeds=[0], cad_pairs=8, sweeps={"synonym": [0.3, 0.8], "typo": [0.1, 0.4]})


def parse_options(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small smoke version (sizes in QUICK)")
    parser.add_argument("--model_name", default=stand_in_model(),
                        help="encoder to fine-tune (default: the all-MiniLM-L6-v2 stand-in when installed)")
    parser.add_argument("--model_label", default="minilm", help="prefix of the model ids in the result files")
    parser.add_argument("--dataset", default=str(SHARED_DATA / "imdb"),
                        help="IMDB: hub name or folder with train/test parquet files")
    parser.add_argument("--cad", default=str(SHARED_DATA / "cad"),
                        help="folder with the CAD orig/ and new/ {train,test}.tsv files (Kaushik et al. 2020)")
    parser.add_argument("--results", default="results/study",
                        help="results folder (relative: to the project folder); models go to its models/")
    parser.add_argument("--data_seed", type=int, default=42, help="seed of subsets, samples and transformations")
    parser.add_argument("--skip_tfidf", action="store_true", help="do not run the TF-IDF baseline")
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------------------

def load_cad(folder: Path, split: str, side: str) -> datasets.Dataset:
    path = folder / side / f"{split}.tsv"
    if not path.is_file():
        raise UsageError(f"--cad {folder}: missing {path} (expected orig/ and new/ with train.tsv and test.tsv)")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()[1:], start=2):
        sentiment, _, text = line.partition("\t")
        if sentiment not in CAD_LABELS:
            raise UsageError(f"{path}:{number}: sentiment {sentiment!r} is not Positive or Negative")
        rows.append({"text": text, "label": CAD_LABELS[sentiment]})
    return datasets.Dataset.from_list(rows)


def cad_pairs(folder: Path, count: int, seed: int) -> datasets.Dataset:
    """``count`` seeded CAD training pairs: each original review and its revision to the opposite label."""
    orig, new = load_cad(folder, "train", "orig"), load_cad(folder, "train", "new")
    if len(orig) != len(new):
        raise UsageError(f"CAD train: {len(orig)} originals but {len(new)} revisions")
    chosen = subset(datasets.Dataset.from_dict({"i": list(range(len(orig)))}), count, seed)["i"]
    return datasets.concatenate_datasets([orig.select(chosen), new.select(chosen)])


def eval_sets(sizes: dict) -> list[tuple[str, str | None, float | None]]:
    """(eval_id, transform, strength) for every evaluation of a fully evaluated model."""
    specs = [("original", None, None), ("custom_transform", "custom_transform", None)]
    for name, (_, default) in utils.TRANSFORMS.items():
        if default is not None:
            specs.append((name, name, None))
    for name, strengths in sizes["sweeps"].items():
        specs += [(f"{name}@{s:g}", name, s) for s in strengths]
    return specs + [("cad-orig", None, None), ("cad-new", None, None)]


HEADLINE = {"original", "custom_transform", "cad-orig", "cad-new"}
EVAL_BATCH_SIZE = 32
TFIDF_NAME = "tfidf-logreg (1-2 grams, min_df 2, sublinear tf; C=1)"


def fit_tfidf(train: datasets.Dataset):
    """The non-neural baseline fitted on ``train``: TF-IDF over word 1-2 grams + logistic regression, and its
    training record (shared by the study and study/tfidf_full_scale.py)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    start = time.perf_counter()
    classifier = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                               LogisticRegression(max_iter=1000, C=1.0))
    classifier.fit(train["text"], train["label"])
    return classifier, {"model_name": TFIDF_NAME, "train_examples": len(train),
                        "train_seconds": round(time.perf_counter() - start, 2)}


def score_tfidf(classifier, texts: datasets.Dataset) -> tuple[list[int], list[int], dict]:
    """The fitted baseline's predictions on ``texts``, their gold labels, and the accuracy record."""
    start = time.perf_counter()
    predictions = [int(p) for p in classifier.predict(texts["text"])]
    seconds = time.perf_counter() - start
    labels = list(texts["label"])
    correct = sum(p == y for p, y in zip(predictions, labels))
    return predictions, labels, {"accuracy": correct / len(labels), "correct": correct, "examples": len(labels),
                                 "eval_seconds": round(seconds, 3)}


# ---------------------------------------------------------------------------------------------------------------
# The runner
# ---------------------------------------------------------------------------------------------------------------

class Study:
    def __init__(self, options):
        self.options = options
        self.sizes = QUICK if options.quick else FULL
        self.root = project_path(options.results)
        self.models = self.root / "models"
        self.cad_folder = Path(options.cad).resolve()
        require_writable(self.root, "--results")
        self.accelerator = runtime.make_accelerator("auto")  # main.py's precision rule
        self.on_cuda = self.accelerator.device.type == "cuda"
        data = load_imdb(options.dataset)
        self.train = subset(data["train"], self.sizes["train_samples"], options.data_seed)
        self.test = subset(data["test"], self.sizes["eval_samples"], options.data_seed)
        self.cad_test = {"cad-orig": load_cad(self.cad_folder, "test", "orig"),
                         "cad-new": load_cad(self.cad_folder, "test", "new")}
        self.tokenizer, _ = load_pretrained(options.model_name, max_length=self.sizes["max_length"])
        self._texts: dict[str, datasets.Dataset] = {}

    def train_config(self, seed: int) -> main.TrainConfig:
        """main.py's training settings for one run of the study."""
        s = self.sizes
        return main.TrainConfig(model_name=self.options.model_name, dataset=self.options.dataset,
                                learning_rate=s["learning_rate"], num_epochs=s["num_epochs"],
                                batch_size=s["batch_size"], max_length=s["max_length"], seed=seed,
                                data_seed=self.options.data_seed)

    def augment_size(self) -> int:
        return augmentation.augment_size(None, len(self.train))

    def eval_texts(self, eval_id: str, transform: str | None, strength: float | None) -> datasets.Dataset:
        """The untokenized evaluation set, transformed once and shared by every model."""
        if eval_id not in self._texts:
            if eval_id in self.cad_test:
                self._texts[eval_id] = self.cad_test[eval_id]
            elif transform is None:
                self._texts[eval_id] = self.test
            else:
                with self.accelerator.main_process_first():  # computed by the main process, loaded by the others
                    self._texts[eval_id] = utils.transform_dataset(
                        self.test, transform, strength, seed=self.options.data_seed,
                        reuse_cache=not self.accelerator.is_main_process)
        return self._texts[eval_id]

    def config(self) -> dict:
        overlap = len(set(self.train["text"]) & set(self.cad_test["cad-orig"]["text"]))
        return {
            "model_name": self.options.model_name,
            "model_label": self.options.model_label,
            "dataset": self.options.dataset,
            "cad": str(self.cad_folder),
            "quick": self.options.quick,
            **{k: v for k, v in self.sizes.items()},
            "data_seed": self.options.data_seed,
            "augment_size": self.augment_size(),
            "transforms": {name: default for name, (_, default) in utils.TRANSFORMS.items()
                           if name != "example_transform"},
            "custom_transform_stages": [list(stage) for stage in utils.CUSTOM_STAGES],
            "cad_test_originals_in_train_subset": overlap,
            "hardware": f"{platform.machine()}, {__import__('os').cpu_count()} cores, "
                        f"{self.accelerator.device.type}",
            "eval_sets": [eval_id for eval_id, _, _ in eval_sets(self.sizes)],
        }

    def training_set(self, train_data: str) -> augmentation.TrainingSet:
        """The training data of a model: the subset (``original``), plus transformed reviews (``augmented``), or
        plus the seeded CAD training pairs (``cad``); the same for both architectures."""
        if train_data in ("augmented", "duplicated"):  # duplicated: the same added reviews, untransformed
            transform = "custom_transform" if train_data == "augmented" else None
            with self.accelerator.main_process_first():  # computed by the main process, loaded by the others
                return augmentation.augmented_training_set(self.train, transform, None, self.augment_size(),
                                                           self.options.data_seed,
                                                           reuse_cache=not self.accelerator.is_main_process)
        if train_data == "cad":
            pairs = cad_pairs(self.cad_folder, self.sizes["cad_pairs"], self.options.data_seed)
            data = datasets.concatenate_datasets([self.train, pairs.cast(self.train.features)])
            return augmentation.TrainingSet(data, cad_pairs=len(pairs) // 2)
        return augmentation.TrainingSet(self.train)

    # -- the transformer ------------------------------------------------------------------------------------------
    def train_model(self, model_id: str, train_data: str, seed: int) -> Path:
        model_dir = self.models / model_id
        if (model_dir / TRAINING_INFO).is_file():  # a finished model
            return model_dir
        config = self.train_config(seed)
        set_seed(seed)
        tokenizer, model = main.load_model(config, self.accelerator)
        training_set = self.training_set(train_data)
        loader = main.training_dataloader(training_set, tokenizer, config, self.on_cuda)
        main.do_train(config, model, loader, training_set.record(), model_dir, self.accelerator, tokenizer)
        return model_dir

    def evaluate_model(self, model_id: str, train_data: str, seed: int, model_dir: Path, which: set | None):
        training = read_training_info(model_dir)
        for eval_id, transform, strength in eval_sets(self.sizes):
            target = self.root / "runs" / model_id / f"{eval_id}.json"
            if (which is not None and eval_id not in which) or target.is_file():
                continue
            texts = self.eval_texts(eval_id, transform, strength)
            loader = eval_dataloader(main.tokenize(texts, self.tokenizer, self.sizes["max_length"], with_idx=True),
                                     self.tokenizer, EVAL_BATCH_SIZE, self.on_cuda)
            # Every process gets all predictions back (no prediction file to share); the main process records them.
            predictions, labels, seconds = main.predict(loader, str(model_dir), self.accelerator)
            score = main.eval_score(predictions, labels, seconds)
            self.record(target, model_id, self.options.model_label, train_data, seed, eval_id, transform, strength,
                        score, predictions, labels, training)

    # -- the baseline -----------------------------------------------------------------------------------------------
    def run_tfidf(self, train_data: str):
        model_id = f"tfidf-{train_data}-seed0"
        classifier, training = fit_tfidf(self.training_set(train_data).data)
        for eval_id, transform, strength in eval_sets(self.sizes):
            target = self.root / "runs" / model_id / f"{eval_id}.json"
            if target.is_file():
                continue
            predictions, labels, score = score_tfidf(classifier, self.eval_texts(eval_id, transform, strength))
            self.record(target, model_id, "tfidf-logreg", train_data, 0, eval_id, transform, strength, score,
                        predictions, labels, training)

    def record(self, target, model_id, architecture, train_data, seed, eval_id, transform, strength, score,
               predictions, labels, training):
        source = {"cad-orig": "cad-test-orig", "cad-new": "cad-test-new"}.get(eval_id, "imdb-test")
        if transform is not None and strength is None and transform in utils.TRANSFORMS:
            strength = utils.TRANSFORMS[transform][1]
        if not self.accelerator.is_main_process:  # in a multi-process run every process has the same record
            return
        write_json(target, {
            "model_id": model_id,
            "architecture": architecture,
            "train_data": train_data,
            "seed": seed,
            "eval_id": eval_id,
            "eval_set": {"source": source, "transform": transform, "strength": strength,
                         "examples": len(labels)},
            **score,
            "predictions": predictions,
            "labels": labels,
            "training": training,
            "provenance": provenance(self.accelerator.device),
        })
        print(f"{model_id} / {eval_id}: accuracy {score['accuracy']:.4f} ({score['examples']} examples)", flush=True)

    def run(self):
        self.root.mkdir(parents=True, exist_ok=True)
        if self.accelerator.is_main_process:
            write_json(self.root / "config.json", self.config())
        if not self.options.skip_tfidf:
            for train_data in ("original", "augmented", "cad"):
                self.run_tfidf(train_data)
        label = self.options.model_label
        plan = []
        for seed in self.sizes["seeds"]:
            for train_data in ("original", "augmented"):
                plan.append((f"{label}-{train_data}-seed{seed}", train_data, seed, None if seed == 0 else HEADLINE))
            plan.append((f"{label}-duplicated-seed{seed}", "duplicated", seed, {"original", "custom_transform"}))
        plan.append((f"{label}-cad-seed0", "cad", 0, HEADLINE | {"synonym", "typo"}))
        for model_id, train_data, seed, which in plan:
            model_dir = self.train_model(model_id, train_data, seed)
            self.evaluate_model(model_id, train_data, seed, model_dir, which)


def run_study(argv=None) -> int:
    return exit_code(lambda options: Study(options).run(), parse_options(argv))


if __name__ == "__main__":
    sys.exit(run_study())
