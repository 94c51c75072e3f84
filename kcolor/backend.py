"""Backend set-up: kcolor runs Keras on PyTorch, on the GPU whenever torch sees one.

Importing :mod:`kcolor` calls :func:`ensure_torch_backend` before anything
imports Keras.

:func:`compile_model` and :class:`CompiledForward` run a kcolor model's forward pass
(and, in ``fit``, its backward pass) through ``torch.compile``, which Keras'
own ``jit_compile=True`` cannot do for these models on torch (see the comment above
:class:`CompileStats`); :class:`kcolor.models.ColorModel`, which every kcolor builder returns,
makes ``jit_compile=True`` call :func:`compile_model` instead.
"""

from __future__ import annotations

import os
import sys

from kcolor.errors import BackendError

_FIX = (
    "kcolor needs Keras on the torch backend. Either import kcolor before keras, "
    "or set the environment variable KERAS_BACKEND=torch before starting Python "
    '(e.g. `KERAS_BACKEND=torch python script.py`), or set "backend": "torch" in ~/.keras/keras.json.'
)


def ensure_torch_backend() -> None:
    """Make Keras use the torch backend, or explain why it cannot.

    If Keras is not imported yet, sets ``KERAS_BACKEND=torch``. If it was
    imported already with another backend, raises :class:`BackendError`.
    """
    if "keras" not in sys.modules:
        current = os.environ.get("KERAS_BACKEND")
        if current not in (None, "", "torch"):
            raise BackendError(f"KERAS_BACKEND is set to {current!r}. " + _FIX)
        os.environ["KERAS_BACKEND"] = "torch"
        return
    import keras

    backend = keras.config.backend()
    if backend != "torch":
        raise BackendError(f"Keras was already imported with the {backend!r} backend. " + _FIX)


def device():
    """The ``torch.device`` that kcolor trains and infers on: CUDA when torch sees a GPU, else CPU.

    Keras on the torch backend places new tensors and models on this device too.

    Example:
        >>> import kcolor
        >>> kcolor.device().type in ("cpu", "cuda")
        True
    """
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def to_torch(x, dtype=None):
    """A torch tensor on :func:`device` from a numpy array, a Keras tensor or a torch tensor."""
    import numpy as np
    import torch

    if isinstance(x, torch.Tensor):
        t = x.to(device())
    else:
        t = torch.as_tensor(np.asarray(x), device=device())
    if dtype is not None:
        t = t.to(dtype)
    return t


# ---------------------------------------------------------------- torch.compile
# Why not ``model.compile(..., jit_compile=True)``: on the torch backend Keras then wraps its
# whole train step in ``torch.compile``. Dynamo cannot trace Keras' ``Layer.__call__`` (its
# ``CallSpec`` reads ``inspect.signature(...).parameters``, a mappingproxy, and dynamo graph
# breaks on it: "mapping proxy affected by dictionary mutation"), so it falls back to
# compiling every layer's ``forward`` on its own. All layers share that one code object, so
# each new layer shape is a recompile, dynamo turns the sizes symbolic after the first, and
# inductor then fails on the channels_last convolutions ("cannot determine truth value of
# Relational"); past the recompile limit it would run eagerly anyway. ``compile_model``
# instead compiles one function that walks the functional graph and calls each layer's
# ``call`` directly, which dynamo traces into a single graph; Keras' eager ``fit`` (loss,
# ``backward``, optimizer, callbacks) stays as it is. ``kcolor.models.ColorModel`` routes
# ``model.compile(..., jit_compile=True)`` here and tells Keras' trainer not to wrap its step.


class CompileStats:
    """What :func:`compile_model` has compiled so far: calls that compiled, and their seconds.

    Attributes:
        compiles: forward calls during which torch compiled a new graph (a new input shape,
            ``training`` value or dtype).
        seconds: wall-clock seconds of those calls (compiling, plus one forward pass).
        calls: forward calls in all.
    """

    def __init__(self):
        self.compiles = 0
        self.seconds = 0.0
        self.calls = 0

    def __repr__(self):
        return (
            f"CompileStats(compiles={self.compiles}, seconds={self.seconds:.1f}, "
            f"calls={self.calls})"
        )


def _graph_runner(model):
    """``run(flat_inputs, training) -> outputs`` for a functional Keras ``model``.

    Walks the model's graph as ``Functional.call`` does, but calls each layer's ``call``
    (not ``__call__``) so that dynamo can trace the whole pass; nested functional models
    are walked too. Layers of other kinds are called through ``__call__``.
    """
    import keras
    from keras.src.models.functional import Functional
    from keras.src.models.sequential import Sequential

    if isinstance(model, Sequential):
        if model._functional is None:
            raise ValueError(
                f"compile_model: Sequential model {model.name!r} is not built; call it once first"
            )
        model = model._functional
    if not isinstance(model, Functional):
        return None

    depths = sorted(model._nodes_by_depth, reverse=True)
    nodes = [
        node
        for depth in depths
        for node in model._nodes_by_depth[depth]
        if node.operation is not None and not node.is_input
    ]
    steps = []
    for node in nodes:
        op = node.operation
        inner = _graph_runner(op) if isinstance(op, keras.Model) else None
        takes_training = "training" in getattr(op, "_call_context_args", ()) and (
            getattr(op, "_call_has_training_arg", False) or inner is not None
        )
        steps.append((node, op, inner, takes_training))
    inputs = list(model.inputs)
    outputs = list(model.outputs)
    struct = model._outputs_struct

    def run(flat_inputs, training):
        from keras import tree

        values = {id(x): y for x, y in zip(inputs, flat_inputs, strict=True)}
        for node, op, inner, takes_training in steps:
            args, kwargs = node.arguments.fill_in(values)
            if inner is not None:
                result = inner(tree.flatten(args[0] if len(args) == 1 else args), training)
            else:
                if takes_training:
                    kwargs["training"] = training
                result = op.call(*args, **kwargs)
            for x, y in zip(node.outputs, tree.flatten(result), strict=True):
                values[id(x)] = y
        flat = [values[id(x)] for x in outputs]
        return tree.pack_sequence_as(struct, flat)

    return run


def _fresh_function(fn, name: str):
    """A copy of ``fn`` with its own code object.

    Dynamo keeps its compiled graphs (and its recompile limit, 8) per code object, so every
    compiled model gets its own: two models compiled in one process do not share (and use
    up) one cache.
    """
    import types

    code = fn.__code__.replace(co_name=name)
    return types.FunctionType(code, fn.__globals__, name, fn.__defaults__, fn.__closure__)


class CompiledForward:
    """A functional Keras model's forward pass through ``torch.compile`` (see :func:`compile_model`).

    Calling it runs the model: ``forward(inputs, training=False)``, ``inputs`` as the model
    takes them (a tensor or array, or a list for several inputs). The first call at a new
    input shape, ``training`` value or grad mode compiles.

    Args:
        model: a built functional (or Sequential) Keras model, float32, on the torch backend.
        dynamic: passed to ``torch.compile``: ``False`` (default: one graph per input shape,
            the fastest code), ``True`` (symbolic sizes: one graph for many shapes) or
            ``None`` (torch's default: static first, symbolic sizes after a second shape).
        mode: ``torch.compile`` mode (``None``, ``"reduce-overhead"``, ``"max-autotune"``).
        fullgraph: make a graph break an error instead of a split graph.

    Attributes:
        stats: a :class:`CompileStats`.

    Raises:
        BackendError: Keras does not run on torch.
        ValueError: the model is not functional, or not float32.

    Example:
        >>> from kcolor.models import beta
        >>> forward = CompiledForward(beta((16, 16, 1)))
        >>> forward(np.zeros((1, 16, 16, 1), "float32")).shape   # compiles  # doctest: +SKIP
        torch.Size([1, 16, 16, 2])
    """

    def __init__(self, model, *, dynamic=False, mode=None, fullgraph=False):
        import keras
        import torch

        if keras.config.backend() != "torch":
            raise BackendError("torch.compile needs the torch backend. " + _FIX)
        run = _graph_runner(model)
        if run is None:
            raise ValueError(
                f"compile: {model.name!r} is a {type(model).__name__}, not a functional Keras "
                "model (keras.Model(inputs, outputs) or a built Sequential)"
            )
        mixed = [
            layer.name
            for layer in model._flatten_layers(include_self=True)
            if layer.dtype_policy.compute_dtype != layer.dtype_policy.variable_dtype
        ]
        if mixed:
            raise ValueError(
                f"compile: only float32 models are supported; layers {mixed[:3]} use mixed "
                "precision"
            )

        def forward(flat_inputs, training):
            return run(flat_inputs, training)

        name = "kcolor_forward_" + "".join(c if c.isalnum() else "_" for c in model.name)
        self.model = model
        self.stats = CompileStats()
        self._run = run
        self._compiled = torch.compile(
            _fresh_function(forward, name), dynamic=dynamic, mode=mode, fullgraph=fullgraph
        )

    def __call__(self, inputs, training=False):
        import time

        import keras
        import torch

        flat = [keras.ops.convert_to_tensor(x) for x in self.model._standardize_inputs(inputs)]
        training = bool(training)
        if any(x.is_meta for x in flat):
            # Keras' shape inference (meta tensors): nothing to compile or to run fast.
            return self._run(flat, training)
        graphs = torch._dynamo.utils.counters["stats"]
        before = graphs["unique_graphs"]
        start = time.perf_counter()
        out = self._compiled(flat, training)
        self.stats.calls += 1
        if graphs["unique_graphs"] != before:
            self.stats.compiles += 1
            self.stats.seconds += time.perf_counter() - start
        return out


def compile_model(model, *, dynamic=False, mode=None, fullgraph=False):
    """Run ``model``'s forward pass through ``torch.compile``, keeping Keras training.

    Keras' own ``model.compile(..., jit_compile=True)`` does not work for functional models on
    the torch backend (see the comment above :class:`CompileStats` in ``kcolor/backend.py``);
    on a :class:`kcolor.models.ColorModel` (what every kcolor builder returns) it calls this.
    This makes a :class:`CompiledForward` (one function that walks the functional graph and
    calls each layer's ``call`` directly, which dynamo traces whole) the model's ``call``:
    ``model(x)``, ``model.predict`` and ``model.fit`` (whose loss, ``backward``, optimizer
    step and callbacks stay eager Keras) all run the compiled forward pass and its compiled
    backward. The model's layers, weights and config, and how it saves, are unchanged; only
    float32 models are supported (no mixed precision).

    The first call at a new input shape (or ``training`` value, or grad mode) compiles: a
    few seconds for beta on a CPU, minutes for the U-Net; ``model.compile_stats`` (a
    :class:`CompileStats`) counts those calls and their seconds (the backward pass compiles
    at the first ``backward``, outside them).

    Args:
        model: a built functional (or Sequential) Keras model, on the torch backend.
        dynamic, mode, fullgraph: as for :class:`CompiledForward`.

    Returns:
        ``model`` itself, compiled in place; compiling it again is a no-op.

    Raises:
        BackendError: Keras does not run on torch.
        ValueError: the model is not functional, or not float32.

    Example:
        >>> import kcolor
        >>> from kcolor.models import beta
        >>> model = kcolor.backend.compile_model(beta((16, 16, 1)))
        >>> model.compile("rmsprop", "mse")
        >>> model.fit(x, y, batch_size=8)            # compiles at the first step  # doctest: +SKIP
    """
    if getattr(model, "compile_stats", None) is not None:
        return model
    forward = CompiledForward(model, dynamic=dynamic, mode=mode, fullgraph=fullgraph)

    def call(inputs, training=None, mask=None, **kwargs):
        return forward(inputs, training=training)

    model.call = call
    model.compile_stats = forward.stats
    return model


def uncompile_model(model):
    """Undo :func:`compile_model`: ``model`` runs eagerly again (a no-op if not compiled).

    Returns:
        ``model`` itself.
    """
    if getattr(model, "compile_stats", None) is not None:
        if "call" in vars(model):
            del model.call
        model.compile_stats = None
    return model
