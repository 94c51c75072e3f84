"""What the colour-MNIST examples (01, 02, 03) share.

The three steps of the course differ in their network and loss; the rest is the same and
lives here: the command line, the data split (the last 5,000 training digits validate, the
10,000 test digits are never trained on), one ``model.fit`` run with a
:class:`~kcolor.callbacks.PandasLogger`, the scores on the test digits and the sample grid.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from kcolor import color, metrics
from kcolor import report as reports
from kcolor.callbacks import PandasLogger
from kcolor.datasets import colored_mnist
from kcolor.formatting import plural
from kcolor.training import RunFolder

import keras  # noqa: E402  isort: skip  (after kcolor: the torch backend)

VALIDATION = 5000


def parser(doc: str, *, out: str, epochs: int, batch_size: int, lr: float | None = None):
    """The arguments every MNIST example takes (``--lr`` only when ``lr`` has a default)."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--data", default=None, help="mnist.npz path")
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--batch-size", type=int, default=batch_size)
    if lr is not None:
        p.add_argument("--lr", type=float, default=lr, help="peak learning rate (cosine decay)")
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        help="train on the first LIMIT training digits only (test: all 10,000)",
    )
    p.add_argument("--out", default=out, help="run folder")
    p.add_argument("--seed", type=int, default=0, help="seeds the initial weights and shuffling")
    p.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=None,
        metavar="SEED",
        help="train once per seed (run folders OUT/seed-N), then print mean ± spread",
    )
    p.add_argument("--smoke", action="store_true", help="a few batches only, for CI")
    return p


def apply_smoke(args):
    """``--smoke``: one epoch, batches of at most 32."""
    if args.smoke:
        args.epochs, args.batch_size = 1, min(args.batch_size, 32)
    return args


def load(args):
    """(x_train, y_train), (x_val, y_val), test: the last 5,000 training digits validate.

    ``args.limit`` (``--limit``) keeps only the first LIMIT training digits.
    """
    train, test = colored_mnist("both", path=args.data, limit=160 if args.smoke else None)
    n_val = 32 if args.smoke else VALIDATION
    if args.smoke:
        test = test._replace(**{k: v[:64] for k, v in test._asdict().items()})
    limit = getattr(args, "limit", None)
    n_fit = len(train.x) - n_val if limit is None else min(limit, len(train.x) - n_val)
    return (train.x[:n_fit], train.y[:n_fit]), (train.x[-n_val:], train.y[-n_val:]), test


def compile_cosine(model, args, n_train: int):
    """Adam with a cosine decay to zero over the run, MSE, the two colour accuracies."""
    steps = args.epochs * -(-n_train // args.batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(args.lr, decay_steps=steps)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="mse",
        metrics=[metrics.DigitColorAccuracy(), metrics.PixelColorAccuracy()],
    )
    return model


def sample_grid(test, preds: dict, n=10, title=None):
    """Test digits in columns; rows: grey input, one row per prediction, truth."""
    x, y = test.x[:n], test.y[:n]
    rows = [color.merge_lab(x, np.zeros_like(y))]
    rows += [color.merge_lab(x, p[:n]) for p in preds.values()]
    rows.append(color.merge_lab(x, y))
    return reports.compare_grid(
        rows,
        row_titles=["input (L)", *preds, "truth"],
        column_titles=[f"digit {d}" for d in test.labels[:n]],
        title=title,
        cell_size=1.0,
    )


def train_and_score(
    model, args, data, out: Path, *, config: dict, scores: dict, report: str, extra_scores=None
):
    """Fit ``model`` (compiled) on ``data``, score it on the test digits, write the run folder.

    Writes ``config.json`` (``args`` + ``config``), ``history.csv``, ``model.weights.h5``,
    ``metrics.json`` (``scores`` first, then the test scores, ``extra_scores(pred)``, epochs
    and seconds) and ``report.html`` titled ``report``. Returns ``(scores, test predictions)``.
    """
    (x, y), (xv, yv), test = data
    out.mkdir(parents=True, exist_ok=True)
    run = RunFolder(out)  # the run folder's file names, as build_report reads them
    config = {**vars(args), "model": model.name, "parameters": model.count_params(), **config}
    run.config.write_text(json.dumps(config, indent=2, default=str))
    start = time.perf_counter()
    model.fit(
        x,
        y,
        validation_data=(xv, yv),
        epochs=args.epochs,
        batch_size=args.batch_size,
        callbacks=[PandasLogger(run.history)],
        verbose=2,
    )
    seconds = time.perf_counter() - start
    model.save_weights(run.weights)
    pred = model.predict(test.x, batch_size=512, verbose=0)
    scores = {
        **scores,
        "digit_color_accuracy": metrics.digit_color_accuracy(test.y, pred),
        "pixel_color_accuracy": metrics.pixel_color_accuracy(test.y, pred),
        "test_digits": int(len(test.labels)),
        **(extra_scores(pred) if extra_scores else {}),
        "epochs": args.epochs,
        "train_seconds": round(seconds, 1),
    }
    run.metrics_json.write_text(json.dumps(scores, indent=2))
    scores["report"] = str(reports.build_report(out, title=report))
    return scores, pred


def seeds(args) -> list[int]:
    """The seeds to train with: ``--seeds`` if given, else ``[--seed]``."""
    return list(args.seeds) if args.seeds else [args.seed]


def seed_folder(args, seed: int) -> Path:
    """``--out`` for one seed; ``OUT/seed-N`` when ``--seeds`` trains several."""
    return Path(args.out) / f"seed-{seed}" if args.seeds else Path(args.out)


def mean_spread(values) -> str:
    """``"mean ± sd (min-max)"`` of accuracies in ``[0, 1]``, as percentages."""
    v = 100 * np.asarray(values, dtype=float)
    sd = v.std(ddof=1) if len(v) > 1 else 0.0
    return f"{v.mean():.2f} ± {sd:.2f} % ({v.min():.2f}-{v.max():.2f})"


def summarize(rows: list[dict], out: Path, label: str) -> None:
    """Write ``out/seeds.csv`` (one row per run) and print mean ± spread of the accuracies."""
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(rows)
    table.to_csv(out / "seeds.csv", index=False)
    groups = table.groupby(label, sort=False) if label in table else [(None, table)]
    for key, group in groups:
        head = f"{key}: " if key is not None else ""
        print(
            f"{head}{plural(len(group), 'seed')} {list(group['seed'])}: "
            f"digit colour accuracy {mean_spread(group['digit_color_accuracy'])}, "
            f"pixel colour accuracy {mean_spread(group['pixel_color_accuracy'])}, "
            f"training {group['train_seconds'].mean():.0f} s per run (mean)"
        )
    print(f"per-seed scores: {out / 'seeds.csv'}")


def run_single(build, args, *, name: str, report: str):
    """Examples 01 and 03: train ``build()`` with ``compile_cosine`` once per seed.

    The seed is set before ``build()`` runs, so it fixes the initial weights as well as
    the shuffling. Prints the scores; returns those of the last seed (with ``--seeds``,
    also writes ``OUT/seeds.csv`` and prints mean ± spread).
    """
    data = load(apply_smoke(args))
    (x, _), (xv, _), test = data
    print(f"colour MNIST: {len(x)} train, {len(xv)} validation, {len(test.x)} test digits")
    rows = []
    for seed in seeds(args):
        args.seed = seed
        keras.utils.set_random_seed(seed)
        model = build()
        scores = _fit_single(model, args, data, seed_folder(args, seed), name=name, report=report)
        rows.append({"seed": seed, **scores})
    if args.seeds:
        summarize(rows, Path(args.out), label="model")
    return scores


def _fit_single(model, args, data, out: Path, *, name: str, report: str):
    (x, _), _, test = data
    compile_cosine(model, args, len(x))
    config = {"loss": "mse", "schedule": "cosine"}
    scores, pred = train_and_score(
        model, args, data, out, config=config, scores={"model": model.name}, report=report
    )
    sample_grid(test, {"prediction": pred}, title=f"{name}, test digits").savefig(
        out / "samples.png", dpi=100
    )
    print(
        f"seed {args.seed}, test digits: digit colour accuracy "
        f"{scores['digit_color_accuracy']:.2%}, pixel colour accuracy "
        f"{scores['pixel_color_accuracy']:.2%} "
        f"({plural(args.epochs, 'epoch')}, {scores['train_seconds']:.0f} s training)"
    )
    print(f"report: {scores.pop('report')}")
    return scores
