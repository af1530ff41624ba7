"""Throughput of the text transformations on IMDB test reviews.

    python benchmarks/transforms.py                 # reviews/s per transformation on 2000 reviews
    python benchmarks/transforms.py --n 5000 --full # + full 25k test set with custom_transform

Per-transformation numbers are single-process (the synonym table and word list loaded once beforehand), over the
first ``--n`` test reviews.  ``--full`` times ``utils.transform_dataset(test,
"custom_transform")`` end to end (default num_proc: min(2, cpu count)),
which must stay <= 30 s on a 2-core machine; it also records the CPU time of all processes, which does not depend
on how busy a shared machine is (wall time <= CPU time / 2 on two otherwise idle cores).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.data import SHARED_DATA  # noqa: E402

DEFAULT_DATA = SHARED_DATA / "imdb"


def cpu_seconds() -> float:
    """User + system CPU time of this process and of its finished children (transform_dataset's workers)."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def load_test(data_dir: Path):
    import datasets

    path = data_dir / "test.parquet"
    if not path.is_file():
        sys.exit(f"error: IMDB test split not found at {path} (pass --data DIR containing test.parquet)")
    return datasets.load_dataset("parquet", data_files={"test": str(path)})["test"]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"IMDB parquet dir (default {DEFAULT_DATA})")
    ap.add_argument("--n", type=int, default=2000, help="reviews per transformation (default 2000)")
    ap.add_argument("--names", nargs="*", default=None, help="transformations to time (default: all)")
    ap.add_argument("--full", action="store_true", help="also time custom_transform on the full test set")
    ap.add_argument("--num_proc", type=int, default=None, help="workers for --full (default: utils' choice)")
    ap.add_argument("--results", default="benchmarks/results/transforms.json",
                    help="where the JSON figures go (relative: to the project folder)")
    args = ap.parse_args(argv)

    import torch

    import utils
    from pipeline.data import project_path
    from pipeline.results import provenance, write_json

    record = {"data": str(args.data), "reviews": None, "reviews_per_second": {}, "full_test_set": None}

    test = load_test(args.data.resolve())
    texts = test.select(range(min(args.n, len(test))))["text"]
    labels = test.select(range(len(texts)))["label"]

    t0 = time.perf_counter()
    utils.prepare_word_lists()
    print(f"synonym table + word list load: {time.perf_counter() - t0:.1f} s   (cpus: {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f})")
    print(f"{'transformation':<20}{'reviews/s':>12}{'seconds':>10}   ({len(texts)} reviews, 1 process)")
    for name in args.names or utils.TRANSFORM_NAMES:
        fn = utils.get_transform(name)
        t0 = time.perf_counter()
        for text, label in zip(texts, labels):
            fn({"text": text, "label": label})
        dt = time.perf_counter() - t0
        print(f"{name:<20}{len(texts) / dt:>12.0f}{dt:>10.2f}")
        record["reviews_per_second"][name] = round(len(texts) / dt, 1)
    record["reviews"] = len(texts)

    if args.full:
        cpu0 = cpu_seconds()
        t0 = time.perf_counter()
        out = utils.transform_dataset(test, "custom_transform", num_proc=args.num_proc)
        dt = time.perf_counter() - t0
        cpu = cpu_seconds() - cpu0
        assert out["label"] == test["label"] and len(out) == len(test)
        print(f"full test set ({len(test)} reviews) custom_transform via transform_dataset: "
              f"{dt:.1f} s ({len(test) / dt:.0f} reviews/s); CPU time {cpu:.1f} s over all processes "
              f"(load average {os.getloadavg()[0]:.1f}: on a busy machine the wall time is the CPU time shared out)")
        record["full_test_set"] = {"transform": "custom_transform", "stages": [list(s) for s in utils.CUSTOM_STAGES],
                                   "reviews": len(test), "seconds": round(dt, 2), "cpu_seconds": round(cpu, 2),
                                   "num_proc": args.num_proc or "default", "load_average_1min": os.getloadavg()[0]}
    record["provenance"] = provenance(torch.device("cpu"))
    write_json(project_path(args.results), record)
    print(f"figures written to {project_path(args.results)}")


if __name__ == "__main__":
    main()
