"""Inputs of a two-input (fusion) network: ``(L, embedding)`` batches from ``(L, ab)`` ones.

Example:
    >>> from kcolor.training.fusion import WithEmbeddings
    >>> fit_train = WithEmbeddings(train, get_embedder("efficientnet_lite0"))  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from kcolor import losses

import keras  # noqa: E402  isort: skip  (after kcolor: the torch backend)


class WithEmbeddings(keras.utils.PyDataset):
    """``(L, ab)`` batches -> ``((L, embedding), ab)`` for a two-input (fusion) model.

    Args:
        dataset: a kcolor dataset of ``(L, ab)`` batches.
        embedder: turns a batch of encoded L into embeddings (:mod:`kcolor.models.embedders`).
        table: ``(photos, D)`` embeddings in ``dataset.paths`` order (one per un-augmented
            photo, see :func:`embedding_table`), or ``None`` to embed every batch.
        packed: targets carry L (for :class:`kcolor.losses.PerceptualLoss`).

    Example:
        >>> fit_train = WithEmbeddings(train, get_embedder("efficientnet_lite0"))  # doctest: +SKIP
    """

    def __init__(self, dataset, embedder=None, table=None, packed=False):
        parallel = table is not None  # a table lookup can run in worker processes
        super().__init__(
            workers=getattr(dataset, "workers", 1) if parallel else 1,
            use_multiprocessing=getattr(dataset, "use_multiprocessing", False)
            if parallel
            else False,
        )
        self.dataset, self.embedder, self.table, self.packed = dataset, embedder, table, packed

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        x, y = self.dataset[index]
        if self.table is not None:
            start = index * self.dataset.batch_size
            emb = self.table[self.dataset.order[start : start + len(x)]]
        else:
            emb = np.asarray(self.embedder(x), dtype="float32")
        return (x, emb), (losses.pack_l(x, y) if self.packed else y)

    def on_epoch_end(self):
        self.dataset.on_epoch_end()


def embedding_table(dataset, embedder) -> np.ndarray:
    """Embeddings ``(photos, D)`` of ``dataset``'s photos, un-augmented, in ``paths`` order."""
    from tqdm.auto import tqdm

    from kcolor.datasets import ImageFolderDataset

    plain = ImageFolderDataset(dataset.paths, size=dataset.size, batch_size=32)
    rows = [np.asarray(embedder(plain[i][0])) for i in tqdm(range(len(plain)), desc="embedding")]
    return np.concatenate(rows).astype(np.float32)
