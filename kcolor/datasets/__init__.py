"""Datasets: ``(L, ab)`` batches from image folders, in-memory arrays and colour MNIST.

* :class:`ImageFolderDataset` - a ``keras.utils.PyDataset`` over a folder of photos.
* :class:`ArrayDataset` - the same over an in-memory uint8 RGB array.
* :class:`MixedSizes` - training batches at several crop sizes (one size per batch).
* :func:`colored_mnist` - the iso-luminant colour-MNIST task of the course.
"""

_LAZY = {
    "ImageFolderDataset": "kcolor.datasets.folder",
    "ArrayDataset": "kcolor.datasets.arrays",
    "Augmenter": "kcolor.datasets.augment",
    "MixedSizes": "kcolor.datasets.mixed",
    "colored_mnist": "kcolor.datasets.mnist",
    "MNIST_PALETTE_AB": "kcolor.datasets.mnist",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kcolor.datasets' has no attribute {name!r}")


__all__ = sorted(_LAZY)
