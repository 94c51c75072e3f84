"""Datasets: ``(L, ab)`` batches from image folders, in-memory arrays and colour MNIST.

* :class:`ImageFolderDataset` - a ``keras.utils.PyDataset`` over a folder of photos.
* :class:`ArrayDataset` - the same over an in-memory uint8 RGB array.
* :class:`MixedSizes` - training batches at several crop sizes (one size per batch).
* :func:`colored_mnist` - the iso-luminant colour-MNIST task of the course.
"""

from kcolor._lazy import lazy_getattr

_LAZY = {
    "ImageFolderDataset": "kcolor.datasets.folder",
    "ArrayDataset": "kcolor.datasets.arrays",
    "Augmenter": "kcolor.datasets.augment",
    "MixedSizes": "kcolor.datasets.mixed",
    "colored_mnist": "kcolor.datasets.mnist",
    "MNIST_PALETTE_AB": "kcolor.datasets.mnist",
}


__getattr__ = lazy_getattr(__name__, _LAZY)


__all__ = sorted(_LAZY)
