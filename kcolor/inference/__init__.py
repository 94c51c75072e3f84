"""Inference: from a grey photo (or a folder of them) to a colour one.

Public names:
    Colorizer: a colouriser (network + decoding) that turns photos of any size into
        colour photos (``kcolor.inference.colorizer``).
    colorize_files: colour a list of files into a folder, going on past bad files
        (``kcolor.inference.batch``).
    vividness: the one vividness knob, mapped to decoding settings; light enough for
        the CLI's argument parser (``kcolor.inference.vividness``).
    export: write a model and its colour decoding as one ONNX graph, the preset's
        ``model.onnx`` that :mod:`kcolor.fast` runs (``kcolor.presets.export``).

The submodules load on first use, so ``import kcolor.inference`` imports neither numpy nor
Keras.
"""

from kcolor._lazy import lazy_getattr

_LAZY = {
    "Colorizer": ("kcolor.inference.colorizer", "Colorizer"),
    "colorize_files": ("kcolor.inference.batch", "colorize_files"),
}


__getattr__ = lazy_getattr(__name__, _LAZY)


__all__ = ["Colorizer", "colorize_files"]
