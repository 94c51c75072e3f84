"""Colorizer: any photo in, a colour photo of the same size out.

The network only ever sees a small grey image; the photo's own detail comes back
untouched:

1. the photo (any size, any mode) becomes grey (uint8; a colour photo keeps only its L);
2. it is resized (antialiased) to the model's size and its L encoded
   (:func:`kcolor.color.encode_l`);
3. the model predicts encoded ab at that size (a fusion model also gets the
   embedder's class probabilities of the same grey image; a colour-class model is
   decoded by its annealed mean);
4. ab is upsampled bilinearly to the photo's FULL resolution and joined to the
   ORIGINAL full-resolution L (:func:`kcolor.color.join_lightness`). Colours outside the
   sRGB gamut are desaturated rather than clipped, so the output's L equals the input's L
   to within uint8 rounding.

How colourful the result is follows one knob, ``vividness`` in [0, 1] (0 muted, 0.5 the
preset's balance, 1 vivid; :mod:`kcolor.inference.vividness`): for a colour-class model it picks the
decoding, for a regression model it scales ab.

The model runs on :func:`kcolor.device` (the GPU when there is one) under
``torch.inference_mode``; the full-resolution work is numpy on the CPU's cores. Colouring
files and folders (read-ahead, writing, reports) lives in :mod:`kcolor.inference.batch`.
"""

from __future__ import annotations

import math
import os
import threading

import numpy as np

from kcolor import color
from kcolor import io as kio
from kcolor.backend import device as _device
from kcolor.errors import WeightsError
from kcolor.inference import hints as _hints
from kcolor.inference import vividness as _vividness
from kcolor.inference.batch import ColorizeResult, colorize_files, plan_outputs

__all__ = ["ColorizeResult", "Colorizer", "plan_outputs"]

#: Default annealed-mean temperature for colour-class models.
DEFAULT_TEMPERATURE = 0.38


class Colorizer:
    """Colour black-and-white photos of any size with a kcolor model.

    Args:
        model: a Keras model taking encoded L ``(N, H, W, 1)`` (and, for fusion models, an
            embedding ``(N, D)`` as second input) and returning encoded ab ``(N, H, W, 2)``.
        embedder: for fusion models, the embedder (an object from
            :func:`kcolor.models.embedders.get_embedder`, or its name) that turns the grey
            image into the embedding. Must be ``None`` for single-input models.
        input_size: the side (``int``) or ``(height, width)`` the model runs at. Models with a
            fixed input shape always run at that shape. For fully-convolutional models
            (input ``(None, None, 1)``), ``None`` means each photo's own size, rounded to a
            multiple of ``multiple`` and shrunk to at most ``max_side`` on its longer side.
        keep_aspect: with ``input_size`` on a fully-convolutional model, run each photo at
            about ``input_size``'s area but with the photo's own aspect ratio (sides rounded
            to ``multiple``, the longer one at most ``max(max_side, input_size)``), so that
            nothing is squashed; ``False`` resizes every photo to exactly ``input_size``.
            On 100 BSDS500 test photos at 3:2 (``tools/studies/compare_aspect.py``), keeping the
            aspect raised the fusion preset's PSNR by 0.27 dB and AuC by 0.004 (beta:
            +0.07 dB, +0.001).
        batch_size: photos per model call.
        max_side: cap on the model-side resolution when ``input_size`` is ``None``.
        multiple: model-side height and width are rounded to a multiple of this
            (the model's total stride: 8 for the article's networks, 32 for the U-Net).
        temperature: for a colour-class model (more than 2 output channels), the
            annealed-mean temperature its classes are decoded with at ``vividness`` 0.5
            (:func:`kcolor.models.color_classes.to_ab_model`); ``None`` means
            :data:`DEFAULT_TEMPERATURE`. Regression models ignore it.
        prior_correction: for a colour-class model, how much of its class rebalancing
            the decoding undoes at ``vividness`` 0.5, in [-1, 1] (see
            :class:`kcolor.models.color_classes.AnnealedMeanDecode`); ``None`` means 0.
            Presets record the value chosen on validation photos.
        vividness: how colourful, in [0, 1]: 0 muted, 0.5 the balance ``temperature`` and
            ``prior_correction`` give, 1 vivid (:mod:`kcolor.inference.vividness`); ``None`` means 0.5
            (``from_preset``: the preset's recorded default, 0.5 unless it says otherwise).
            A colour-class model is decoded at the ``(T, alpha)`` the anchors give for it;
            a regression model's ab is scaled by :func:`kcolor.inference.vividness.regression_gain`.
            :meth:`colorize` can override it per call. Precedence: ``temperature`` and
            ``prior_correction`` never lose to it, they set its mid-point, so
            ``Colorizer(model, temperature=0.2)`` decodes at exactly T = 0.2 as before, and
            ``vividness=1`` then moves alpha from there.
        vividness_anchors: for a colour-class model, ``[[V, T, alpha], ...]`` (V from 0 to
            1) to interpolate the decoding between, e.g. a preset's recorded ones; ``None``
            derives them from ``temperature`` and ``prior_correction``
            (:func:`kcolor.inference.vividness.derived_anchors`). Given together with
            ``temperature`` or ``prior_correction``, these must equal the anchors' decoding
            at ``vividness``.
        compile: run the network through ``torch.compile``
            (:class:`kcolor.backend.CompiledForward`): the first batch at each model-side
            size compiles (seconds for beta on a CPU, minutes for the U-Net; at most 8
            sizes, then eager), later ones run the compiled code. Outputs equal the eager
            model's to within float rounding. ``compile_stats`` counts the compiles.

    Example:
        >>> import kcolor
        >>> colorizer = kcolor.Colorizer.from_preset("beta-photos")   # doctest: +SKIP
        >>> rgb = colorizer.colorize("grandma.jpg")                    # doctest: +SKIP
        >>> result = colorizer.colorize_files(["album/"], "coloured/")  # doctest: +SKIP
        >>> print(result.summary())                                     # doctest: +SKIP
    """

    def __init__(
        self,
        model,
        embedder=None,
        input_size: int | tuple[int, int] | None = None,
        batch_size: int = 8,
        *,
        keep_aspect: bool = True,
        max_side: int = 512,
        multiple: int = 8,
        temperature: float | None = None,
        prior_correction: float | None = None,
        vividness: float | None = None,
        vividness_anchors=None,
        compile: bool = False,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if int(multiple) < 1:
            raise ValueError(f"multiple must be >= 1, got {multiple}")
        self.batch_size = int(batch_size)
        self.max_side = int(max_side)
        self.multiple = int(multiple)
        self.keep_aspect = bool(keep_aspect)
        self.temperature = None if temperature is None else float(temperature)
        self.prior_correction = 0.0 if prior_correction is None else float(prior_correction)
        self.vividness = _vividness.DEFAULT if vividness is None else _vividness.check(vividness)
        n_inputs = len(model.inputs)
        if n_inputs not in (1, 2):
            raise ValueError(f"Colorizer expects a model with 1 or 2 inputs, got {n_inputs}")
        #: The colour-class model itself (logits out), or ``None`` for a regression model.
        self.class_model = None
        #: The ``[[V, T, alpha], ...]`` a colour-class model's vividness follows, else ``None``.
        self.vividness_anchors = None
        self._decoders: dict[tuple[float, float], object] = {}  # other vividness, by (T, alpha)
        self._decoders_lock = threading.Lock()
        from kcolor.models.color_classes import is_class_model

        if is_class_model(model):
            self.class_model = model
            self.vividness_anchors = self._anchors(temperature, prior_correction, vividness_anchors)
            d = self.decoding()
            model = _class_model_to_ab(model, d["temperature"], d["prior_correction"])
        elif vividness_anchors is not None:
            raise ValueError(
                f"Model {model.name!r} outputs ab directly: vividness_anchors are "
                "for colour-class models (vividness scales its ab instead)"
            )
        self.model = model
        self._forward = None
        if compile:
            from kcolor.backend import CompiledForward

            self._forward = CompiledForward(model)
        self.fusion = n_inputs == 2
        if self.fusion and embedder is None:
            raise ValueError(
                f"Model {model.name!r} takes an embedding as second input: pass `embedder=` "
                "(e.g. 'efficientnet_lite0')."
            )
        if not self.fusion and embedder is not None:
            raise ValueError(f"Model {model.name!r} has a single input; it takes no embedder.")
        if isinstance(embedder, str):
            from kcolor.models.embedders import get_embedder

            embedder = get_embedder(embedder)
        self.embedder = embedder
        shape = tuple(model.inputs[0].shape)
        if len(shape) != 4 or shape[-1] != 1:
            raise ValueError(
                f"Model {model.name!r} must take grey images (N, H, W, 1), got {shape}"
            )
        fixed = shape[1:3]
        if fixed[0] is not None and fixed[1] is not None:
            self.input_size = (int(fixed[0]), int(fixed[1]))
            self.fixed_size = True
        else:
            self.fixed_size = False
            if input_size is None:
                self.input_size = None
            elif isinstance(input_size, int):
                self.input_size = (input_size, input_size)
            else:
                self.input_size = (int(input_size[0]), int(input_size[1]))

    def _anchors(self, temperature, prior_correction, anchors):
        if anchors is None:
            return _vividness.derived_anchors(
                self.temperature or DEFAULT_TEMPERATURE, self.prior_correction
            )
        anchors = _vividness.check_anchors(anchors)
        if temperature is not None or prior_correction is not None:
            t, a = _vividness.class_decoding(self.vividness, anchors)
            if (temperature is not None and not math.isclose(t, self.temperature)) or not (
                math.isclose(a, self.prior_correction, abs_tol=1e-9)
            ):
                raise ValueError(
                    f"the vividness anchors decode vividness {self.vividness:g} at T={t:g}, "
                    f"alpha={a:g}, but temperature={temperature}, prior_correction="
                    f"{prior_correction} were given: pass the anchors or those, not both"
                )
        return anchors

    def decoding(self, vividness: float | None = None) -> dict:
        """What ``vividness`` (``None``: this colorizer's own) does to the colours:
        ``{"vividness", "temperature", "prior_correction"}`` for a colour-class model,
        ``{"vividness", "gain"}`` (the factor on ab) for a regression model."""
        v = self.vividness if vividness is None else _vividness.check(vividness)
        if self.class_model is None:
            return {"vividness": v, "gain": _vividness.regression_gain(v)}
        t, a = _vividness.class_decoding(v, self.vividness_anchors)
        return {"vividness": v, "temperature": t, "prior_correction": a}

    def _decoder(self, vividness):
        """``(model, compiled forward or None)`` that decodes a class model at ``vividness``."""
        if vividness is None or self.class_model is None:
            return self.model, self._forward
        d, own = self.decoding(vividness), self.decoding()
        key = (d["temperature"], d["prior_correction"])
        if key == (own["temperature"], own["prior_correction"]):
            return self.model, self._forward
        with self._decoders_lock:  # the same layers and weights, another decoding: eager
            model = self._decoders.pop(key, None)
            if model is None:
                model = _class_model_to_ab(self.class_model, *key)
            self._decoders[key] = model  # most recent last; keep 4
            while len(self._decoders) > 4:
                self._decoders.pop(next(iter(self._decoders)))
        return model, None

    @property
    def compile_stats(self):
        """The :class:`kcolor.backend.CompileStats` of a ``compile=True`` colorizer, else ``None``."""
        return None if self._forward is None else self._forward.stats

    # ------------------------------------------------------------ constructors
    @classmethod
    def from_preset(
        cls, name: str | os.PathLike | None = None, *, safe_mode: bool = True, **kwargs
    ) -> Colorizer:
        """A Colorizer for a preset name, a preset folder (what ``kcolor train`` writes) or a
        ``.keras`` file; ``None`` means :data:`kcolor.DEFAULT_PRESET`.

        Keyword arguments (``batch_size``, ``input_size``, ``vividness``, ...) override the
        preset's. A ``temperature`` or ``prior_correction`` given here replaces the preset's
        decoding and, with it, its recorded vividness default and anchors (derived anew from
        the values given). ``safe_mode=False`` lets a trusted ``.keras`` file with a
        ``Lambda`` load.

        Raises:
            kcolor.errors.WeightsError: naming the preset, folder or file and what is wrong.
            ValueError: a ``vividness`` outside [0, 1].
        """
        from kcolor import presets  # the one loader: kcolor.presets.loader.load

        if kwargs.get("vividness") is not None:  # a usage error, before anything loads
            kwargs["vividness"] = _vividness.check(kwargs["vividness"])
        loaded = presets.load(name, safe_mode=safe_mode)
        preset = loaded.colorizer_kwargs()
        if {"temperature", "prior_correction"} & kwargs.keys():
            preset.pop("vividness_anchors", None)  # centred on the preset's own decoding
            preset.pop("vividness", None)
        for key, value in preset.items():
            kwargs.setdefault(key, value)
        try:
            return cls(loaded.model, **kwargs)
        except (ValueError, TypeError, AttributeError) as err:
            raise WeightsError(loaded.name, f"not a kcolor colourisation model: {err}") from err

    #: Other names of :meth:`from_preset` (the canonical one), kept for old code: the same
    #: method, through the same loader (:func:`kcolor.presets.load`).
    load = from_preset
    from_run = from_preset

    # ------------------------------------------------------------ geometry
    def target_size(self, height: int, width: int) -> tuple[int, int]:
        """The ``(height, width)`` the model runs at for a ``height x width`` photo."""
        m = self.multiple
        if self.input_size is not None:
            if self.fixed_size or not self.keep_aspect:
                return self.input_size
            th, tw = self.input_size
            scale = (th * tw / (height * width)) ** 0.5  # same area, own aspect ratio
            longest = max(self.max_side, th, tw)
            scale = min(scale, longest / max(height, width))
        else:
            scale = min(1.0, self.max_side / max(height, width))

        def snap(v):
            return max(m, int(round(v * scale / m)) * m)

        return snap(height), snap(width)

    # ------------------------------------------------------------ colourising
    def colorize(self, images, *, vividness: float | None = None, hints=None):
        """Colour one photo or a list of photos.

        Args:
            images: a path, a ``PIL.Image``, a numpy array (``(H, W)``, ``(H, W, 1|3|4)``; uint8,
                or floats in ``[0, 1]``), or a list/tuple of these. A 4-D array is a batch.
            vividness: this call's colour strength in [0, 1] (0 muted, 0.5 the preset's
                balance, 1 vivid); ``None``: the colorizer's own. A colour-class model
                decoded at another vividness than its own runs eagerly, even with
                ``compile=True``.
            hints: colour hints for one photo (:mod:`kcolor.inference.hints`): points
                ``[(x, y, "#c0392b"), ...]`` in the photo's pixels (or dicts, strokes), or a
                scribble image of its size; for a list of photos, a list of these (``None``
                for none). ``None`` or empty: the network's colours exactly.

        Returns:
            uint8 RGB ``(H, W, 3)`` with each input's height and width: one array for one
            input, a list for a list, a 4-D array for a 4-D array.

        Raises:
            kcolor.errors.HintError: a hint outside the photo, an unparsable colour, more
                than 500 points, a scribble of another size.
        """
        if vividness is not None:
            vividness = _vividness.check(vividness)
        if isinstance(images, np.ndarray) and images.ndim == 4:
            return np.stack(self.colorize(list(images), vividness=vividness, hints=hints))
        if isinstance(images, (list, tuple)):
            hints = _hints.split_hints(hints, len(images))
            out = []
            for i in range(0, len(images), self.batch_size):
                chunk = [kio.as_photo(im) for im in images[i : i + self.batch_size]]
                part = None if hints is None else hints[i : i + self.batch_size]
                out.extend(self.colorize_arrays(chunk, vividness=vividness, hints=part))
            return out
        hints = None if hints is None else [hints]
        return self.colorize_arrays([kio.as_photo(images)], vividness=vividness, hints=hints)[0]

    def colorize_files(self, paths, out_dir, **kwargs) -> ColorizeResult:
        """Colour image files and folders into ``out_dir``: :func:`kcolor.inference.batch.colorize_files`
        with this colorizer (same keyword arguments: ``overwrite``, ``suffix``, ``progress``,
        ``recursive``)."""
        return colorize_files(self, paths, out_dir, **kwargs)

    def colorize_video(self, src, dst, **kwargs):
        """Colour a black-and-white video file, with steady colours and its sound kept:
        :func:`kcolor.video.colorize_video` with this colorizer (same keyword arguments:
        ``method``, ``crf``, ``preset``, ``overwrite``, ``progress``, ``vividness``, ...).

        Returns:
            A :class:`kcolor.video.VideoResult`.

        Example:
            >>> colorizer.colorize_video("old.mp4", "colour.mp4", crf=20)  # doctest: +SKIP
        """
        from kcolor.video import colorize_video

        return colorize_video(self, src, dst, **kwargs)

    def colorize_arrays(
        self,
        photos: list[np.ndarray],
        *,
        rgbx: bool = False,
        vividness: float | None = None,
        hints: list | None = None,
        ab_only: bool = False,
    ) -> list[np.ndarray]:
        """Colour decoded uint8 photos in one go: the fast entry point for callers that
        already hold pixels (file batches, the server, video frames).

        Photos of the same model size share one network call; the caller chooses the batch
        (:meth:`colorize` splits lists by ``batch_size``).

        Args:
            photos: uint8 arrays, each grey ``(H, W)`` or RGB ``(H, W, 3)``.
            rgbx: return ``(H, W, 4)`` RGBX arrays (the fourth channel unused), which
                Pillow saves without a copy.
            vividness: colour strength in [0, 1]; ``None``: the colorizer's own.
            hints: one entry per photo, ``None`` or its colour hints (see :meth:`colorize`);
                checked before the network runs.
            ab_only: return each photo's network ab instead (float32 ``(h', w', 2)``, Lab
                units at the model's size), for callers that add hints later
                (:class:`kcolor.inference.hints.HintCache`).

        Returns:
            A list of uint8 RGB ``(H, W, 3)`` arrays (RGBX with ``rgbx=True``), each with its
            photo's height and width, and each photo's lightness kept.

        Example:
            >>> import numpy as np
            >>> from kcolor.inference import Colorizer
            >>> colorizer = Colorizer.from_preset("alpha-woman")
            >>> [out] = colorizer.colorize_arrays([np.full((40, 60), 128, np.uint8)])
            >>> out.shape, out.dtype
            ((40, 60, 3), dtype('uint8'))
        """
        import torch
        from PIL import Image

        model, forward = self._decoder(vividness)
        gain = 1.0 if self.class_model is not None else self.decoding(vividness)["gain"]
        photos = [kio.grey_if_grey(p) for p in photos]
        hints = _hints.check_each(hints, photos)  # refused before the network runs
        groups: dict[tuple[int, int], list[int]] = {}
        for i, p in enumerate(photos):
            groups.setdefault(self.target_size(p.shape[0], p.shape[1]), []).append(i)
        out: list[np.ndarray | None] = [None] * len(photos)
        dev = _device()
        with torch.inference_mode():
            for (h, w), idx in groups.items():  # one model call per model size
                xs = []
                for i in idx:
                    # reducing_gap: box-reduce by a whole factor first (fast), then bilinear.
                    small = Image.fromarray(photos[i]).resize(
                        (w, h), Image.BILINEAR, reducing_gap=2.0
                    )
                    small = np.asarray(small)
                    if small.ndim == 2:
                        small = np.repeat(small[..., None], 3, axis=-1)
                    xs.append(color.encode_l(color.rgb_to_l(small)))  # (h, w, 1) float32
                x = torch.from_numpy(np.stack(xs)).to(dev)
                # (n, h', w', 2) encoded ab; another decoding's model only when asked for
                y = self._predict(x) if model is self.model else self._predict(x, model, forward)
                ab = color.decode_ab(y.float().cpu().numpy())
                if gain != 1.0:  # out-of-gamut colours are desaturated by join_lightness
                    ab = ab * np.float32(gain)
                for j, i in enumerate(idx):  # hints: the one path both colourisers take
                    hint = None if hints is None else hints[i]
                    out[i] = _hints.finish(photos[i], ab[j], hint, rgbx=rgbx, ab_only=ab_only)
        return out  # type: ignore[return-value]

    def _predict(self, x, model=None, forward=None):
        import torch

        if model is None:
            model, forward = self.model, self._forward
        if self.fusion:
            emb = self.embedder(x)
            emb = torch.as_tensor(np.asarray(emb, dtype=np.float32), device=x.device)
            inputs = [x, emb]
        else:
            inputs = x
        if forward is not None:
            y = forward(inputs, training=False)
        else:
            y = model(inputs, training=False)
        if not isinstance(y, torch.Tensor):
            y = torch.as_tensor(np.asarray(y), device=x.device)
        return y.float()


# ---------------------------------------------------------------- helpers
def _class_model_to_ab(model, temperature: float, prior_correction: float = 0.0):
    """A colour-class model (more than 2 output channels) wrapped to output encoded ab."""
    try:
        from kcolor.models.color_classes import is_class_model, to_ab_model
    except ImportError as err:
        raise ValueError(
            f"Model {model.name!r} outputs {model.outputs[0].shape[-1]} channels (colour "
            f"classes?) but kcolor.models.color_classes is not available to decode them: {err}"
        ) from err
    ab_model = to_ab_model(model, temperature, prior_correction)
    if is_class_model(ab_model):  # still not encoded ab: no colour-class head to decode
        raise ValueError(
            f"Model {model.name!r} outputs {model.outputs[0].shape[-1]} channels: neither "
            "encoded ab (2) nor a kcolor colour-class head"
        )
    return ab_model
