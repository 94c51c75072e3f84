"""kcolor's building-block layers.

The article's networks are built from these, so that speed work lives in one
place. Each is a registered subclass of the Keras layer of the same name and
takes exactly its arguments: a model saved with them loads anywhere kcolor is
installed, and behaves as the plain Keras layer would.

On the torch backend both layers take a fast path for the common case
(``channels_last`` data, no dilation or groups). Keras' own torch convolution
copies every activation twice per layer (NHWC -> NCHW ``contiguous()``, then
back into ``channels_last`` memory), adds the bias as a separate op and pads
stride-2 ``"same"`` convolutions with an explicit ``pad``. A contiguous NHWC
tensor *is* an NCHW tensor in ``channels_last`` memory, so the fast path hands
``x.permute(0, 3, 1, 2)`` (a view) straight to ``torch.nn.functional.conv2d``
with the bias fused, applies the activation in place and permutes back (a view
again). The arithmetic is that of the plain Keras layer, "same" padding
follows the TensorFlow rule exactly (asymmetric padding is padded explicitly,
symmetric padding is passed to the convolution), and gradients flow to the
Keras variables as usual. Any other case falls back to the Keras layer.

Use :func:`set_fast_path` to switch the fast paths off (e.g. to benchmark
plain Keras) and :func:`fast_path_calls` to see how often they ran.
"""

from __future__ import annotations

import os

import keras
from keras import ops

_ENABLED = os.environ.get("KCOLOR_FAST_LAYERS", "1") != "0"
_CALLS = {"Conv2D": 0, "UpSampling2D": 0}

# Keras activations that act elementwise, so they may run on the NCHW view.
_INPLACE_ACTIVATIONS = {
    "relu": "relu_",
    "tanh": "tanh_",
    "sigmoid": "sigmoid_",
}


def set_fast_path(enabled: bool) -> bool:
    """Switch the torch fast paths of :class:`Conv2D` and :class:`UpSampling2D` on or off.

    The environment variable ``KCOLOR_FAST_LAYERS=0`` switches them off at import.

    Args:
        enabled: whether the layers may take their fast path.

    Returns:
        The previous setting.

    Example:
        >>> previous = set_fast_path(False)   # plain Keras arithmetic from now on
        >>> _ = set_fast_path(previous)
    """
    global _ENABLED
    previous = _ENABLED
    _ENABLED = bool(enabled)
    return previous


def fast_path_enabled() -> bool:
    """Whether the layers may take their torch fast path."""
    return _ENABLED


def fast_path_calls(reset: bool = False) -> dict:
    """How many eager calls took the fast path, per layer class (``{"Conv2D": n, ...}``).

    Args:
        reset: set the counters back to zero after reading them.
    """
    counts = dict(_CALLS)
    if reset:
        for key in _CALLS:
            _CALLS[key] = 0
    return counts


def _torch_ready(x) -> bool:
    if not _ENABLED or keras.config.backend() != "torch":
        return False
    import torch

    return isinstance(x, torch.Tensor) and x.ndim == 4 and x.is_floating_point()


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) padding of TensorFlow / Keras "same" along one axis."""
    if stride == 1:
        total = kernel - 1
    else:
        out = -(-size // stride)
        total = max(0, (out - 1) * stride + kernel - size)
    return total // 2, total - total // 2


def torch_same_padding(x, kh: int, kw: int, sh: int, sw: int):
    """``(x, padding)`` for ``F.conv2d`` on NCHW ``x`` reproducing Keras "same": symmetric
    padding goes to the convolution, an uneven one is applied to ``x`` first."""
    top, bottom = _same_padding(x.shape[2], kh, sh)
    left, right = _same_padding(x.shape[3], kw, sw)
    if top == bottom and left == right:
        return x, (top, left)
    import torch.nn.functional as F

    return F.pad(x, (left, right, top, bottom)), (0, 0)


def _count(name: str, y) -> None:
    """Count an eager fast-path call (not meta tensors, not while torch.compile traces:
    a Python counter in a traced ``call`` would be a guard, i.e. a recompile every step)."""
    if y.is_meta:
        return
    import torch

    if not torch.compiler.is_compiling():
        _CALLS[name] += 1


def _power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _activation_name(activation) -> str | None:
    if activation is None:
        return "linear"
    name = getattr(activation, "__name__", None)
    if activation is getattr(keras.activations, name or "", None):
        return name
    return None


@keras.saving.register_keras_serializable(package="kcolor")
class Conv2D(keras.layers.Conv2D):
    """``keras.layers.Conv2D``, as used by every kcolor model, with a torch fast path.

    Takes exactly the arguments and config of ``keras.layers.Conv2D`` and
    computes the same function; on the torch backend, with ``channels_last``
    data, ``groups=1`` and ``dilation_rate=1``, it runs one fused
    ``torch.nn.functional.conv2d`` on the channels-last memory directly
    (see the module docstring).

    Args:
        Same as ``keras.layers.Conv2D``.

    Example:
        >>> layer = Conv2D(8, 3, padding="same", activation="relu")
        >>> layer(keras.ops.ones((1, 6, 6, 1))).shape
        torch.Size([1, 6, 6, 8])
    """

    def _fast_ok(self, x) -> bool:
        return (
            _torch_ready(x)
            and self.data_format == "channels_last"
            and self.groups == 1
            and tuple(self.dilation_rate) == (1, 1)
            and self.padding in ("same", "valid")
            and getattr(self, "quantization_mode", None) is None
            and _activation_name(self.activation) is not None
        )

    def call(self, inputs):
        if not self._fast_ok(inputs):
            return super().call(inputs)
        import torch
        import torch.nn.functional as F

        x = inputs.permute(0, 3, 1, 2)  # NCHW view; channels_last memory if NHWC-contiguous
        if not x.is_contiguous(memory_format=torch.channels_last):
            x = x.contiguous(memory_format=torch.channels_last)
        # (kh, kw, cin, cout) -> (cout, cin, kh, kw); stays in the autograd graph.
        kernel = ops.convert_to_tensor(self.kernel).permute(3, 2, 0, 1)
        kernel = kernel.contiguous(memory_format=torch.channels_last)
        if kernel.dtype != x.dtype:
            kernel = kernel.to(x.dtype)
        bias = ops.convert_to_tensor(self.bias).to(x.dtype) if self.use_bias else None

        kh, kw = kernel.shape[2], kernel.shape[3]
        sh, sw = self.strides
        padding = (0, 0)
        if self.padding == "same":
            x, padding = torch_same_padding(x, kh, kw, sh, sw)
        y = F.conv2d(x, kernel, bias, stride=(sh, sw), padding=padding)
        if y.shape[1] > 1 and not y.is_contiguous(memory_format=torch.channels_last):
            y = y.contiguous(memory_format=torch.channels_last)

        name = _activation_name(self.activation)
        if name in _INPLACE_ACTIVATIONS:
            # The conv output is a fresh tensor that nothing else holds, and the
            # conv backward does not need it, so the activation may overwrite it.
            y = getattr(y, _INPLACE_ACTIVATIONS[name])()
        elif name != "linear":
            y = self.activation(y.permute(0, 2, 3, 1))
            _count("Conv2D", y)
            return y
        _count("Conv2D", y)
        return y.permute(0, 2, 3, 1)  # NHWC view of channels_last memory: no copy


@keras.saving.register_keras_serializable(package="kcolor")
class UpSampling2D(keras.layers.UpSampling2D):
    """``keras.layers.UpSampling2D``, as used by every kcolor model, with a torch fast path.

    Nearest-neighbour upsampling of ``channels_last`` data runs as one torch
    ``interpolate`` on the channels-last memory (power-of-two factors) or one
    broadcast copy (other factors) on the torch backend, where Keras repeats
    along each axis in turn.

    Args:
        Same as ``keras.layers.UpSampling2D``.

    Example:
        >>> UpSampling2D((2, 2))(keras.ops.ones((1, 3, 3, 4))).shape
        torch.Size([1, 6, 6, 4])
    """

    def call(self, inputs):
        if not (
            _torch_ready(inputs)
            and self.data_format == "channels_last"
            and self.interpolation == "nearest"
        ):
            return super().call(inputs)
        n, h, w, c = inputs.shape
        fh, fw = self.size
        if _power_of_two(fh) and _power_of_two(fw):
            # Torch's nearest kernel works on channels_last memory directly (about twice as
            # fast as a broadcast copy, backward included); power-of-two factors keep its
            # source-index arithmetic exact.
            import torch.nn.functional as F

            y = F.interpolate(inputs.permute(0, 3, 1, 2), size=(h * fh, w * fw), mode="nearest")
            y = y.permute(0, 2, 3, 1)
        else:
            y = (
                inputs[:, :, None, :, None, :]
                .expand(n, h, fh, w, fw, c)
                .reshape(n, h * fh, w * fw, c)
            )
        _count("UpSampling2D", y)
        return y
