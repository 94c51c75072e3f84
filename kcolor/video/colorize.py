"""Colouring clips frame by frame: batches at the network's size, steady ab, own lightness.

For each batch of grey frames:

1. each frame is shrunk (area filter) to the size the colouriser's network runs at
   (``colorizer.target_size(h, w)``, else at most 256 px a side), which also averages
   film grain away;
2. the colouriser colours the small frames in one call (``colorizer.colorize_arrays``):
   the small outputs' CIELAB ab is the per-frame prediction;
3. a :class:`~kcolor.video.stabilize.Stabilizer` makes ab steady, in frame order;
4. ab is upsampled and joined to the frame's own full-resolution lightness
   (:func:`kcolor.video.join.join_grey`, without dither so that a steady colour stays
   steady): lightness is kept exactly (to uint8 rounding).

The colouriser is any object with ``colorize_arrays(photos, ...)`` (duck typing: a
:class:`kcolor.Colorizer`, or a stand-in in tests), so this package needs no inference code.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kcolor import color
from kcolor.video import io as vio
from kcolor.video.join import join_grey
from kcolor.video.stabilize import Stabilizer, dis_flow, is_scene_cut, warp

__all__ = [
    "DEFAULT_KEYFRAME_INTERVAL",
    "VideoResult",
    "colorize_frames",
    "colorize_video",
    "model_size",
]

#: The longest side frames are shrunk to when the colouriser does not say its size.
_FALLBACK_SIDE = 256
#: Gaussian sigma (pixels at the network's size) smoothing the colouriser's output ab: a
#: :class:`kcolor.Colorizer` dithers ab onto a grid with a pattern fixed to the image,
#: which flickers once the picture moves (benchmarks/video.py: sigma 1 took per-frame
#: flicker from 1.36 to about 1.05 and raised PSNR by 0.05 dB; 2, with the stabiliser's
#: neighbourhood trust, took the stabilised flicker a little lower again on both clip sets
#: at no PSNR cost).
_DEDITHER_SIGMA = 2.0
#: The network colours every 4th frame (and each shot's first); the frames between get the
#: keyframes' ab carried along the optical flow. benchmarks/video.py: with flow
#: stabilisation, keyframes 1/2 to 1/5 had the flicker and PSNR of every frame on the
#: made-up pans and zooms and on Big Buck Bunny (non-rigid motion); 1/4 runs the network a
#: quarter as often and keeps a margin for faster motion than those clips have.
DEFAULT_KEYFRAME_INTERVAL = 4


def model_size(colorizer, height: int, width: int) -> tuple[int, int]:
    """The ``(height, width)`` frames of ``height x width`` are coloured at: the
    colouriser's ``target_size`` when it has one, else at most 256 px a side.

    Example:
        >>> model_size(object(), 480, 854)
        (144, 256)
    """
    target = getattr(colorizer, "target_size", None)
    if callable(target):
        h, w = target(height, width)
        return int(h), int(w)
    scale = min(1.0, _FALLBACK_SIDE / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def _shrink(grey: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    h, w = size
    if grey.shape == (h, w):
        return grey
    interp = cv2.INTER_AREA if h <= grey.shape[0] and w <= grey.shape[1] else cv2.INTER_LINEAR
    return cv2.resize(grey, (w, h), interpolation=interp)


def _predict_ab(colorizer, smalls: list[np.ndarray], vividness) -> list[np.ndarray]:
    """The per-frame ab predictions at the small size (the colouriser's output's ab, its
    dither pattern, fixed to the image, smoothed away)."""
    import cv2

    kwargs = {} if vividness is None else {"vividness": vividness}
    outs = colorizer.colorize_arrays(smalls, **kwargs)
    abs_ = []
    for small, out in zip(smalls, outs, strict=True):
        out = np.asarray(out)
        if out.ndim != 3 or out.shape[:2] != small.shape[:2]:
            raise ValueError(
                f"the colouriser returned {out.shape} for a frame of {small.shape}: expected "
                "(H, W, 3) at the frame's size"
            )
        ab = color.rgb_to_lab(out[..., :3])[..., 1:].astype(np.float32)
        abs_.append(cv2.GaussianBlur(ab, (0, 0), _DEDITHER_SIGMA))
    return abs_


def _interpolate(small, before, after):
    """ab for a frame between two coloured keyframes: each keyframe's ab warped onto it
    along the DIS flow, weighted by closeness in time and by how well the warped grey
    agrees; ``after`` is ``None`` past the last keyframe or across a scene cut.
    ``before``/``after``: ``(distance in frames, small grey, ab)``."""
    total, weight = 0.0, 0.0
    for side in (before, after):
        if side is None:
            continue
        distance, grey, ab = side
        flow = dis_flow(small, grey)
        warped_grey, inside = warp(grey, flow)
        warped_ab, _ = warp(ab, flow)
        diff = np.abs(small.astype(np.float32) - warped_grey.astype(np.float32))
        trust = np.clip(1.0 - diff / 24.0, 0.0, 1.0) * inside + 1e-3  # never 0: a fallback
        w = (trust / distance)[..., None].astype(np.float32)
        total = total + w * warped_ab
        weight = weight + w
    return (total / weight).astype(np.float32)


def colorize_frames(
    colorizer,
    frames,
    *,
    method: str = "flow",
    strength: float | None = None,
    batch_size: int | None = None,
    vividness: float | None = None,
    stabilizer: Stabilizer | None = None,
    keyframe_interval: int = DEFAULT_KEYFRAME_INTERVAL,
):
    """Colour a sequence of grey frames, steadily; a generator (frames are read in batches).

    Args:
        colorizer: an object with ``colorize_arrays(photos)`` returning one RGB uint8 array
            per grey uint8 photo (a :class:`kcolor.Colorizer`).
        frames: an iterable of uint8 grey ``(H, W)`` frames (RGB ``(H, W, 3)`` ones are
            turned grey first), all of one size.
        method: ``"flow"``, ``"ema"`` or ``"none"`` (see :mod:`kcolor.video.stabilize`).
        strength: the stabiliser's weight of the past; ``None``: the method's default.
        batch_size: frames per network call (default: ``colorizer.batch_size``, else 8).
        vividness: passed to ``colorize_arrays`` when given.
        stabilizer: a :class:`~kcolor.video.stabilize.Stabilizer` to use (its ``cuts``
            then tell where the scene cuts were); ``method`` and ``strength`` are ignored.
        keyframe_interval: the network colours every n-th frame (and the first frame of
            each shot); the frames between get the two keyframes' ab warped onto them
            along the optical flow, weighted by time and by how well the warped grey
            agrees. 1 colours every frame; the default, 4 (chosen by
            ``benchmarks/video.py``), runs the network a quarter as often.

    Yields:
        uint8 RGB ``(H, W, 3)`` frames, one per input frame, each with its frame's lightness.

    Example:
        >>> import numpy as np
        >>> class Sepia:  # a stand-in colouriser
        ...     def colorize_arrays(self, photos):
        ...         return [np.stack([p, p * 0.9, p * 0.7], -1).astype(np.uint8) for p in photos]
        >>> frames = [np.full((48, 64), 120, np.uint8)] * 3
        >>> out = list(colorize_frames(Sepia(), frames))
        >>> len(out), out[0].shape
        (3, (48, 64, 3))
    """
    stab = stabilizer if stabilizer is not None else Stabilizer(method, strength)
    n = int(batch_size or getattr(colorizer, "batch_size", 8) or 8)
    every = int(keyframe_interval)
    if every < 1:
        raise ValueError(f"keyframe_interval must be >= 1, got {keyframe_interval}")
    size = first_shape = None
    # Frames read but not yet given out: [grey, small, is keyframe, starts a shot, ab].
    pending: list[list] = []
    waiting: list[list] = []  # the keyframes among them still without ab
    since_key = 0
    last_key = None  # (index in the clip, small, ab) of the last coloured keyframe given out
    index = 0  # the clip index of pending[0]

    def predict():
        abs_ = _predict_ab(colorizer, [item[1] for item in waiting], vividness)
        for item, ab in zip(waiting, abs_, strict=True):
            item[4] = ab
        waiting.clear()

    def emit(final: bool):
        """Give out the frames whose ab can be known now, in order."""
        nonlocal index, last_key
        keys = [i for i, item in enumerate(pending) if item[2]]
        stop = len(pending) if final else (keys[-1] if keys else 0)
        for i in range(stop):
            grey, small, is_key, _, ab = pending[i]
            if not is_key:
                nxt = next((k for k in keys if k > i), None)
                after = None
                if nxt is not None and not pending[nxt][3]:  # not across a scene cut
                    after = (nxt - i, pending[nxt][1], pending[nxt][4])
                before = (index + i - last_key[0], last_key[1], last_key[2])
                ab = _interpolate(small, before, after)
            else:
                last_key = (index + i, small, ab)
            yield join_grey(grey, stab(small, ab))
        del pending[:stop]
        index += stop

    previous = None
    for frame in frames:
        grey = np.asarray(frame)
        if grey.ndim == 3:
            grey = color.to_uint8(color.rgb_to_gray(grey[..., :3]))[..., 0]
        if grey.dtype != np.uint8 or grey.ndim != 2 or grey.size == 0:
            raise ValueError(f"frames must be uint8 (H, W), got {grey.dtype} {grey.shape}")
        if size is None:
            size = model_size(colorizer, *grey.shape)
            first_shape = grey.shape
        elif grey.shape != first_shape:
            raise ValueError(f"frames change size: {first_shape} then {grey.shape}")
        small = _shrink(grey, size)
        cut = previous is not None and every > 1 and is_scene_cut(previous, small)
        is_key = previous is None or cut or since_key + 1 >= every
        since_key = 0 if is_key else since_key + 1
        previous = small
        item = [grey, small, is_key, cut, None]
        pending.append(item)
        if is_key:
            waiting.append(item)
            if len(waiting) == n:
                predict()
                yield from emit(final=False)
    if waiting:
        predict()
    yield from emit(final=True)


@dataclass
class VideoResult:
    """What :func:`colorize_video` did.

    Attributes:
        src, dst: the input and the output written.
        frames: frames written.
        fps: the frame rate (average) of both.
        seconds: the wall time it took.
        cuts: the frames where a scene cut restarted the stabiliser.
        method: the stabilisation method.
        encoder: the video encoder used (``libx264`` when PyAV has it).
        audio: ``"copied <codec>"``, or ``None`` when the input had no sound.
    """

    src: str
    dst: str
    frames: int
    fps: float
    seconds: float
    method: str
    encoder: str
    audio: str | None = None
    cuts: list[int] = field(default_factory=list)

    @property
    def speed(self) -> float:
        """Frames coloured per second of wall time."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        """One line for people."""
        sound = self.audio or "no sound"
        return (
            f"{self.dst}: {self.frames} frames at {self.fps:g} fps, {self.method} "
            f"stabilisation, {len(self.cuts)} scene cut(s), {self.encoder}, {sound}; "
            f"{self.speed:.1f} frames/s"
        )


def colorize_video(
    colorizer,
    src,
    dst,
    *,
    method: str = "flow",
    strength: float | None = None,
    crf: int = 18,
    preset: str = vio.DEFAULT_PRESET,
    overwrite: bool = False,
    progress: bool = True,
    batch_size: int | None = None,
    vividness: float | None = None,
    max_pixels: int = vio.MAX_PIXELS,
    keyframe_interval: int = DEFAULT_KEYFRAME_INTERVAL,
    on_progress=None,
) -> VideoResult:
    """Colour a black-and-white video file into a colour one, sound kept.

    The output keeps the frame count, frame rate (variable ones too: each frame keeps its
    timestamp), size and duration; the first audio stream is copied unchanged. It is H.264
    (libx264 when PyAV has it) in yuv420p, written atomically: a temp file beside ``dst``
    renamed at the end, so an error or Ctrl-C leaves nothing half-written.

    Args:
        colorizer: an object with ``colorize_arrays`` (a :class:`kcolor.Colorizer`).
        src: the input video (mp4, mov, mkv, avi, webm, ...).
        dst: the output file; its extension picks the container (mp4, mov, mkv).
        method: ``"flow"`` (default), ``"ema"`` or ``"none"``: see
            :mod:`kcolor.video.stabilize`.
        strength: the stabiliser's weight of the past; ``None``: the method's default.
        crf: H.264 quality, 0 (lossless) to 51; 18 looks lossless, 23 is FFmpeg's default.
        preset: libx264 speed preset (``ultrafast`` ... ``veryslow``; default ``"faster"``,
            which encodes as well as FFmpeg's ``"medium"`` at the same ``crf`` for about
            half the CPU time: ``benchmarks/video.py``).
        overwrite: replace an existing ``dst``.
        progress: a progress bar in frames with an ETA on stderr (when it is a terminal).
        batch_size: frames per network call (default: the colouriser's ``batch_size``).
        vividness: colour strength in [0, 1], passed to the colouriser.
        max_pixels: the largest frame accepted (width x height).
        keyframe_interval: the network colours every n-th frame (default 4), the others
            get ab carried along the optical flow (see :func:`colorize_frames`).
        on_progress: ``on_progress(done, total)`` after each frame written (``total``: the
            frames the file states, 0 if unknown); raising in it stops the job, leaving
            nothing written (what ``kcolor serve`` uses for its progress and limits).

    Returns:
        A :class:`VideoResult`.

    Raises:
        kcolor.errors.VideoReadError: the input is missing, not a video, truncated, has no
            video stream or frames over ``max_pixels``.
        kcolor.errors.VideoWriteError: ``dst`` exists (without ``overwrite``) or cannot be
            written.

    Example:
        >>> import kcolor
        >>> from kcolor.video import colorize_video
        >>> colorizer = kcolor.Colorizer.from_preset()               # doctest: +SKIP
        >>> print(colorize_video(colorizer, "old.mp4", "colour.mp4").summary())  # doctest: +SKIP
    """
    stab = Stabilizer(method, strength)
    start = time.perf_counter()

    def process(frames):
        return colorize_frames(
            colorizer,
            frames,
            batch_size=batch_size,
            vividness=vividness,
            stabilizer=stab,
            keyframe_interval=keyframe_interval,
        )

    stats = vio.transcode(
        src,
        dst,
        process,
        crf=crf,
        preset=preset,
        overwrite=overwrite,
        progress=progress,
        max_pixels=max_pixels,
        desc=Path(os.fspath(src)).name[:24],
        on_progress=on_progress,
    )
    return VideoResult(
        src=os.fspath(src),
        dst=os.fspath(dst),
        frames=stats["frames"],
        fps=float(stats["info"].fps),
        seconds=time.perf_counter() - start,
        method=method,
        encoder=stats["encoder"],
        audio=stats["audio"],
        cuts=list(stab.cuts),
    )
