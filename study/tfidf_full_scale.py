"""The TF-IDF + logistic-regression baseline at full scale, beside main.py's full-scale runs in out/.

    python study/tfidf_full_scale.py            # all 25,000 training reviews; all 25,000 test reviews, original and
                                                # after custom_transform (the texts main.py --eval_transformed reads)

The baseline is the study's (``run_study.fit_tfidf``, ``run_study.score_tfidf``); the transformed test set is built exactly as
``main.py --eval_transformed`` builds it (``utils.transform_dataset`` with the default transformation and
``--data_seed``), so the predictions pair up review by review with out/out_original.txt and out_transformed.txt.
Writes ``--results`` ``tfidf_original.txt``/``.json`` and ``tfidf_transformed.txt``/``.json`` in main.py's formats
(one prediction line and one label line per review; accuracy, sizes, timings, provenance), which
report/make_assets.py reads as the full-scale table's TF-IDF row.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))
sys.path.insert(0, str(PROJECT_DIR / "study"))

import torch  # noqa: E402

import utils  # noqa: E402
from pipeline.data import SHARED_DATA, load_imdb, project_path, require_writable, subset  # noqa: E402
from pipeline.errors import exit_code  # noqa: E402
from pipeline.results import provenance, write_json, write_predictions  # noqa: E402
from run_study import fit_tfidf, score_tfidf  # noqa: E402


def parse_options(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=str(SHARED_DATA / "imdb"),
                        help="IMDB: hub name or folder with train/test parquet files")
    parser.add_argument("--results", default="results/full_scale",
                        help="output folder (relative: to the project folder)")
    parser.add_argument("--transform", default="custom_transform", choices=sorted(utils.TRANSFORMS),
                        help="transformation of the test reviews (main.py's default)")
    parser.add_argument("--data_seed", type=int, default=42, help="seed of the transformation (main.py's default)")
    parser.add_argument("--max_samples", type=int, default=None,
                        help="seeded subsets of N training and N test reviews (pipeline.data.subset, --data_seed; "
                             "smoke runs: the report ignores such files)")
    return parser.parse_args(argv)


def run(options) -> None:
    folder = project_path(options.results)
    require_writable(folder, "--results")
    data = load_imdb(options.dataset)
    train, test = data["train"], data["test"]
    if options.max_samples is not None:
        train = subset(train, options.max_samples, options.data_seed)
        test = subset(test, options.max_samples, options.data_seed)
    classifier, training = fit_tfidf(train)
    print(f"TF-IDF fitted on {len(train)} reviews in {training['train_seconds']} s", flush=True)
    transformed = utils.transform_dataset(test, options.transform, None, seed=options.data_seed)
    for eval_set, texts, transform in (("original", test, None), ("transformed", transformed, options.transform)):
        predictions, labels, score = score_tfidf(classifier, texts)
        name = f"tfidf_{eval_set}.txt"
        write_predictions(folder / name, predictions, labels)
        write_json(folder / f"tfidf_{eval_set}.json", {
            **score, "eval_set": eval_set, "transform": transform,
            "transform_stages": utils.transform_stages(transform) if transform else None,
            "data_seed": options.data_seed, "dataset": options.dataset,
            "max_eval_samples": options.max_samples, "model_name": training["model_name"],
            "predictions_file": name, "training": {**training, "dataset": options.dataset, "seed": 0},
            "provenance": provenance(torch.device("cpu")),
        })
        print(f"tfidf / {eval_set}: accuracy {score['accuracy']:.4f} ({score['examples']} examples) -> "
              f"{folder / name}", flush=True)


def main(argv=None) -> int:
    return exit_code(run, parse_options(argv))


if __name__ == "__main__":
    sys.exit(main())
