"""``ColorModel``: the functional Keras model every kcolor colouriser is, with a working ``jit_compile``.

Keras' ``model.compile(..., jit_compile=True)`` on the torch backend wraps the whole train
step in ``torch.compile``; dynamo cannot trace Keras' ``Layer.__call__`` and the run fails
or falls back to eager layer by layer (see the comment in :mod:`kcolor.backend`).
:class:`ColorModel` keeps everything else of a functional model and gives
``jit_compile=True`` the meaning a user expects: the network (forward and backward) runs
through ``torch.compile`` as one graph, via :func:`kcolor.backend.compile_model`, while
Keras' loop, loss, optimizer and callbacks stay eager.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="kcolor")
class ColorModel(keras.Model):
    """A functional Keras model whose ``jit_compile=True`` compiles the network with torch.

    Built like any functional model, ``ColorModel(inputs, outputs, name=...)``; it saves,
    loads (``.keras``, ``.weights.h5``), clones and trains exactly as ``keras.Model``. The
    one difference is ``compile(..., jit_compile=True)`` on the torch backend: instead of
    Keras wrapping its whole train step in ``torch.compile`` (which dynamo cannot trace for
    these models), the model's own forward pass, and in ``fit`` its backward pass, run
    through ``torch.compile`` (:func:`kcolor.backend.compile_model`); ``fit``, ``evaluate``
    and ``predict`` keep Keras' eager loop around them. The first step at each new batch
    shape compiles; ``model.compile_stats`` counts the compiles and their seconds.
    Compiling again with ``jit_compile=False`` (or ``"auto"``) makes the model eager again
    (unless it was compiled by an explicit ``compile_model`` call, which stays).
    Only float32 models compile: ``jit_compile=True`` under a mixed-precision policy raises
    ``ValueError`` at ``compile()``.

    Args:
        inputs, outputs, name: as for a functional ``keras.Model``.

    Example:
        >>> import keras
        >>> from kcolor.models import ColorModel
        >>> x = keras.Input((16, 16, 1))
        >>> model = ColorModel(x, keras.layers.Conv2D(2, 3, padding="same")(x))
        >>> model.compile("rmsprop", "mse", jit_compile=True)
        >>> model.compile_stats
        CompileStats(compiles=0, seconds=0.0, calls=0)
    """

    def compile(self, *args, **kwargs):
        super().compile(*args, **kwargs)
        self._sync_torch_compile()

    def compile_from_config(self, config):
        # What keras.Model does, minus its refusal of an overridden compile(): loading or
        # cloning a compiled ColorModel compiles it again (optimizer, loss, metrics).
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if getattr(self, "optimizer", None) is not None and self.built:
            self.optimizer.build(self.trainable_variables)

    def _sync_torch_compile(self):
        from kcolor import backend

        if keras.config.backend() != "torch":
            return
        if self.jit_compile:
            if getattr(self, "compile_stats", None) is None:
                backend.compile_model(self)
                self._compiled_by_jit = True
        elif getattr(self, "_compiled_by_jit", False):
            backend.uncompile_model(self)
            self._compiled_by_jit = False

    def _should_torch_compile(self):
        # Keras' torch trainer asks this before wrapping a train/test/predict step in
        # torch.compile. The network is compiled instead (above); the step stays eager.
        self._sync_torch_compile()
        return False
