"""FastColorizer: :class:`kcolor.Colorizer`'s pipeline around a preset's exported graph.

The steps are the Colorizer's, with the network run by onnxruntime: the photo becomes grey,
is resized (Pillow, antialiased) to the model size, its L encoded; the graph returns the
encoded ab (a colour-class graph decodes its classes at the ``(T, alpha)`` the vividness
gives); ab is upsampled to the full photo and joined to its own L
(:func:`kcolor.color.join_lightness`). Outputs match the Keras path to within float
rounding (``tests/test_export.py``: max |delta ab| <= 1 on the 0-255 scale). Colour hints
(``hints=``) take the Keras path's own code, :func:`kcolor.inference.hints.finish`, on the
graph's ab (``tests/test_fast_hints.py``: the same limit with hints).

Example:
    >>> import numpy as np
    >>> from kcolor.fast import FastColorizer
    >>> colorizer = FastColorizer.from_preset("unet-lite0-photos")
    >>> colorizer.colorize(np.full((40, 60), 128, np.uint8)).shape
    (40, 60, 3)
"""

from __future__ import annotations

import os

import numpy as np

from kcolor import color
from kcolor import io as kio
from kcolor.errors import WeightsError
from kcolor.fast.graph import find_export, open_session
from kcolor.inference import hints as _hints
from kcolor.inference import vividness as _vividness
from kcolor.presets import format as preset_format
from kcolor.presets import registry

__all__ = ["FastColorizer"]

#: The annealed-mean temperature of a colour-class preset that records none (as the Colorizer).
DEFAULT_TEMPERATURE = 0.38


class FastColorizer:
    """Colour photos of any size with a preset's exported ONNX graph: no Keras, no torch.

    It has :class:`kcolor.Colorizer`'s colouring methods (``colorize``,
    ``colorize_arrays``, ``colorize_files``, ``target_size``, ``decoding``), with colour
    hints (``hints=``) and the network's ab alone (``ab_only=``), and gives the same
    colours; build it with :meth:`from_preset`.

    Args:
        session: the onnxruntime session (:func:`kcolor.fast.graph.open_session`).
        decoding: ``"classes"`` (the graph takes ``temperature`` and ``prior_correction``)
            or ``"ab"`` (a regression graph; vividness is a gain on its ab).
        input_size: the side or ``(height, width)`` the model runs at (``None``: the photo's
            own size, within ``max_side``).
        multiple: model-side sizes are multiples of this.
        batch_size: photos per graph call.
        fixed_size: the graph takes only ``input_size``.
        keep_aspect: run at about ``input_size``'s area with the photo's aspect ratio.
        max_side: cap on the model-side side when ``input_size`` is ``None``.
        vividness: the default colour strength in [0, 1] (``None``: 0.5).
        vividness_anchors: a colour-class preset's ``[[V, T, alpha], ...]``.
        name: what it was loaded from, for messages.

    Example:
        >>> from kcolor.fast import FastColorizer
        >>> FastColorizer.from_preset("unet-lite0-photos").target_size(500, 750)
        (96, 160)
    """

    def __init__(
        self,
        session,
        *,
        decoding: str,
        input_size: int | tuple[int, int] | None = None,
        multiple: int = 8,
        batch_size: int = 8,
        fixed_size: bool = False,
        keep_aspect: bool = True,
        max_side: int = 512,
        vividness: float | None = None,
        vividness_anchors=None,
        name: str | None = None,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if decoding not in ("classes", "ab"):
            raise ValueError(f"decoding must be 'classes' or 'ab', got {decoding!r}")
        self.session = session
        self.name = name
        self.batch_size = int(batch_size)
        self.multiple = int(multiple)
        self.max_side = int(max_side)
        self.keep_aspect = bool(keep_aspect)
        self.fixed_size = bool(fixed_size)
        if isinstance(input_size, int):
            input_size = (input_size, input_size)
        self.input_size = None if input_size is None else (int(input_size[0]), int(input_size[1]))
        self.vividness = _vividness.DEFAULT if vividness is None else _vividness.check(vividness)
        self.is_class = decoding == "classes"
        self.vividness_anchors = None
        if self.is_class:
            anchors = vividness_anchors or _vividness.derived_anchors(DEFAULT_TEMPERATURE, 0.0)
            self.vividness_anchors = _vividness.check_anchors(anchors)

    # ------------------------------------------------------------ constructors
    @classmethod
    def from_preset(cls, spec: str | os.PathLike | None = None, **kwargs) -> FastColorizer:
        """A FastColorizer for a preset name or preset folder (``None``: the default preset).

        Keyword arguments override the preset's, as for ``Colorizer.from_preset``:
        ``batch_size``, ``input_size``, ``vividness``, ``keep_aspect``, ``max_side``,
        ``temperature`` and ``prior_correction`` (these two replace the preset's decoding
        and its vividness record), ``threads`` (onnxruntime's intra-op threads), ``label``
        (what messages call it; default ``spec`` as given).
        ``safe_mode`` is accepted and ignored (an ONNX graph holds no Python code).

        Raises:
            kcolor.errors.WeightsError: the preset has no export, or its file is missing,
                corrupt, stale or unloadable (naming it).
            ValueError: a ``vividness`` outside [0, 1].
        """
        kwargs.pop("safe_mode", None)
        threads = kwargs.pop("threads", 0)
        shown = kwargs.pop("label", None)
        if kwargs.get("vividness") is not None:
            kwargs["vividness"] = _vividness.check(kwargs["vividness"])
        spec = registry.DEFAULT_PRESET if spec is None else spec
        folder = registry.locate(spec)
        record = find_export(folder)
        if record is None:
            raise WeightsError(folder, "has no exported graph (model.onnx)")
        config = preset_format.read_config(folder)
        session = open_session(folder, record, threads=threads)
        shape = (record.get("inputs") or {}).get("l") or ["n", "h", "w", 1]
        fixed = isinstance(shape[1], int) and isinstance(shape[2], int)
        preset = {
            "decoding": record.get("decoding", "ab"),
            "input_size": (shape[1], shape[2]) if fixed else config["input_size"],
            "multiple": int(config["multiple"]),
            "fixed_size": fixed,
            "name": shown or os.fspath(spec),
        }
        temperature = kwargs.pop("temperature", None)
        alpha = kwargs.pop("prior_correction", None)
        if temperature is not None or alpha is not None:  # a decoding of one's own
            t = temperature if temperature is not None else config["temperature"]
            a = alpha if alpha is not None else config["prior_correction"]
            preset["vividness_anchors"] = _vividness.derived_anchors(
                float(t or DEFAULT_TEMPERATURE), float(a or 0.0)
            )
        else:
            default, anchors = None, None
            if config.get("vividness") is not None:
                try:
                    default, anchors = _vividness.read_record(config["vividness"])
                except ValueError as err:
                    raise WeightsError(folder / preset_format.CONFIG, str(err)) from None
            if anchors is None:
                anchors = _vividness.derived_anchors(
                    float(config["temperature"] or DEFAULT_TEMPERATURE),
                    float(config["prior_correction"] or 0.0),
                )
            preset["vividness_anchors"] = anchors
            preset["vividness"] = default
        if kwargs.get("input_size") is None or fixed:  # a fixed graph runs at its own size
            kwargs.pop("input_size", None)
        preset.update(kwargs)
        return cls(session, **preset)

    load = from_preset

    # ------------------------------------------------------------ decoding and geometry
    def decoding(self, vividness: float | None = None) -> dict:
        """What ``vividness`` (``None``: this colorizer's own) does: ``{"vividness",
        "temperature", "prior_correction"}`` for a colour-class graph, ``{"vividness",
        "gain"}`` for a regression one (as :meth:`kcolor.Colorizer.decoding`)."""
        v = self.vividness if vividness is None else _vividness.check(vividness)
        if not self.is_class:
            return {"vividness": v, "gain": _vividness.regression_gain(v)}
        t, a = _vividness.class_decoding(v, self.vividness_anchors)
        return {"vividness": v, "temperature": t, "prior_correction": a}

    def target_size(self, height: int, width: int) -> tuple[int, int]:
        """The ``(height, width)`` the graph runs at for a ``height x width`` photo (the
        rule of :meth:`kcolor.Colorizer.target_size`)."""
        m = self.multiple
        if self.input_size is not None:
            if self.fixed_size or not self.keep_aspect:
                return self.input_size
            th, tw = self.input_size
            scale = (th * tw / (height * width)) ** 0.5
            longest = max(self.max_side, th, tw)
            scale = min(scale, longest / max(height, width))
        else:
            scale = min(1.0, self.max_side / max(height, width))

        def snap(v):
            return max(m, int(round(v * scale / m)) * m)

        return snap(height), snap(width)

    # ------------------------------------------------------------ colouring
    def colorize(self, images, *, vividness: float | None = None, hints=None):
        """Colour one photo or a list of photos (as :meth:`kcolor.Colorizer.colorize`).

        Args:
            images: a path, a ``PIL.Image``, a numpy array, or a list/tuple of these; a 4-D
                array is a batch.
            vividness: this call's colour strength in [0, 1]; ``None``: the colorizer's own.
            hints: colour hints for one photo (:mod:`kcolor.inference.hints`): points
                ``[(x, y, "#c0392b"), ...]`` in the photo's pixels (or dicts, strokes), or a
                scribble image of its size; for a list of photos, a list of these (``None``
                for none). ``None`` or empty: the network's colours exactly.

        Returns:
            uint8 RGB ``(H, W, 3)`` with each input's size: one array, a list, or a 4-D array.

        Raises:
            kcolor.errors.HintError: a hint outside the photo, an unparsable colour, more
                than 500 points, a scribble of another size.

        Example:
            >>> import numpy as np
            >>> from kcolor.fast import FastColorizer
            >>> colorizer = FastColorizer.from_preset("unet-lite0-photos")
            >>> photo = np.full((40, 60), 128, np.uint8)
            >>> rgb = colorizer.colorize(photo, hints=[(10, 20, "#2050d0")])
            >>> bool(rgb[..., 2].mean() > rgb[..., 0].mean() + 20)   # blue
            True
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

    def colorize_files(self, paths, out_dir, **kwargs):
        """Colour files and folders into ``out_dir``: :func:`kcolor.inference.batch.colorize_files`."""
        from kcolor.inference.batch import colorize_files

        return colorize_files(self, paths, out_dir, **kwargs)

    def colorize_arrays(
        self,
        photos: list[np.ndarray],
        *,
        rgbx: bool = False,
        vividness: float | None = None,
        hints: list | None = None,
        ab_only: bool = False,
    ) -> list[np.ndarray]:
        """Colour decoded uint8 photos (grey ``(H, W)`` or RGB ``(H, W, 3)``); photos of the
        same model size share one graph call. Returns uint8 RGB (RGBX with ``rgbx=True``)
        arrays, each of its photo's size (as :meth:`kcolor.Colorizer.colorize_arrays`).

        ``hints``: one entry per photo, ``None`` or its colour hints (checked before the
        graph runs). ``ab_only``: each photo's ab instead, float32 in Lab units: the graph's
        at the model's size (vividness applied), or with hints the hinted ab at the working
        size (:func:`kcolor.inference.hints.finish`).

        Example:
            >>> import numpy as np
            >>> from kcolor.fast import FastColorizer
            >>> colorizer = FastColorizer.from_preset("unet-lite0-photos", batch_size=2)
            >>> [a, b] = colorizer.colorize_arrays([np.zeros((32, 48), np.uint8)] * 2)
            >>> a.shape, a.dtype
            ((32, 48, 3), dtype('uint8'))
        """
        from PIL import Image

        d = self.decoding(vividness)
        feed = {}
        if self.is_class:
            feed["temperature"] = np.array(d["temperature"], np.float32)
            feed["prior_correction"] = np.array(d["prior_correction"], np.float32)
        gain = 1.0 if self.is_class else d["gain"]
        photos = [kio.grey_if_grey(p) for p in photos]
        hints = _hints.check_each(hints, photos)  # refused before the graph runs
        groups: dict[tuple[int, int], list[int]] = {}
        for i, p in enumerate(photos):
            groups.setdefault(self.target_size(p.shape[0], p.shape[1]), []).append(i)
        out: list[np.ndarray | None] = [None] * len(photos)
        for (h, w), idx in groups.items():
            xs = []
            for i in idx:
                small = Image.fromarray(photos[i]).resize((w, h), Image.BILINEAR, reducing_gap=2.0)
                small = np.asarray(small)
                if small.ndim == 2:
                    small = np.repeat(small[..., None], 3, axis=-1)
                xs.append(color.encode_l(color.rgb_to_l(small)))
            x = np.ascontiguousarray(np.stack(xs), dtype=np.float32)
            (y,) = self.session.run(["ab"], {"l": x, **feed})
            ab = color.decode_ab(y.astype(np.float32, copy=False))
            if gain != 1.0:
                ab = ab * np.float32(gain)
            for j, i in enumerate(idx):  # hints: the Keras Colorizer's own path
                hint = None if hints is None else hints[i]
                out[i] = _hints.finish(photos[i], ab[j], hint, rgbx=rgbx, ab_only=ab_only)
        return out  # type: ignore[return-value]
