"""Video files with PyAV: probe them, read their frames grey, write the colour frames back
with the sound copied unchanged, atomically.

PyAV's wheels carry FFmpeg, so every container FFmpeg reads works (mp4, mov, mkv, avi,
webm, ...). Frames are read as 8-bit grey (a 10-bit or colour video's luma, converted by
FFmpeg's swscale) and turned upright when the file carries rotation metadata, so a phone
clip comes out the way it is shown (and without the rotation flag). Colour frames are
encoded as H.264 (libx264, ``crf`` and ``preset`` options) in yuv420p, BT.709, each with
the timestamp of its source frame: frame count, frame rate (variable ones too), size and
duration are kept. The first audio stream's packets are remuxed unchanged; subtitle and
data streams are dropped.
"""

from __future__ import annotations

import os
import warnings
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from kcolor import io as kio
from kcolor.errors import VideoReadError, VideoWriteError

__all__ = [
    "DEFAULT_PRESET",
    "MAX_PIXELS",
    "VIDEO_EXTENSIONS",
    "VideoInfo",
    "encoder_name",
    "is_video_name",
    "output_extension",
    "probe",
    "transcode",
]

#: File extensions taken for videos (case-insensitive).
VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm"})
#: The libx264 speed preset by default. benchmarks/video.py (480p, crf 18): "faster" gave
#: the PSNR and file size of FFmpeg's "medium" (37.41 against 37.42 dB to the uncompressed
#: frames, 3% smaller) for 27 ms of CPU a frame instead of 50; "veryfast" took 18 ms but
#: lost 0.4 dB.
DEFAULT_PRESET = "faster"
#: The largest frame (width x height) read by default: 4096 x 4096. Larger videos get a
#: :class:`~kcolor.errors.VideoReadError` unless ``max_pixels`` is raised.
MAX_PIXELS = 4096 * 4096
#: Output containers that hold H.264; other inputs (``.webm``, ``.avi``) are written as
#: ``.mkv``, which also holds any audio codec unchanged.
_H264_CONTAINERS = {".mp4", ".m4v", ".mov", ".mkv"}


def is_video_name(path) -> bool:
    """True when ``path``'s extension is a video one (:data:`VIDEO_EXTENSIONS`)."""
    return os.path.splitext(os.fspath(path))[1].lower() in VIDEO_EXTENSIONS


def output_extension(path) -> str:
    """The extension a colour copy of video ``path`` gets: its own for mp4, m4v, mov and mkv,
    ``.mkv`` otherwise (webm cannot hold H.264; mkv holds any audio unchanged)."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    return ext if ext in _H264_CONTAINERS else ".mkv"


def encoder_name() -> str:
    """The H.264 encoder this PyAV build has: ``"libx264"``, else another H.264 encoder,
    else ``"mpeg4"``."""
    import av

    for name in ("libx264", "libopenh264", "h264"):
        if name in av.codecs_available:
            try:
                av.codec.Codec(name, "w")
                return name
            except Exception:  # noqa: BLE001 - a decoder-only name
                continue
    return "mpeg4"


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` found in a video file.

    Attributes:
        path: the file.
        width, height: the frame size as shown (after rotation metadata).
        fps: the average frame rate (a ``Fraction``).
        frames: the frame count (estimated from the duration when the file does not say).
        duration: seconds.
        rotation: the counter-clockwise rotation the file asks players for, in degrees.
        pix_fmt: the stored pixel format (e.g. ``yuv420p10le``).
        codec: the video codec.
        audio: the first audio stream's codec, or ``None``.
        variable_rate: True when the stored timestamps are not evenly spaced (as far as the
            container tells: ``avg_frame_rate`` differs from the base rate).
    """

    path: str
    width: int
    height: int
    fps: Fraction
    frames: int
    duration: float
    rotation: int
    pix_fmt: str
    codec: str
    audio: str | None
    variable_rate: bool


def _open(path):
    import av

    path = os.fspath(path)
    if not os.path.exists(path):
        raise VideoReadError(path, "no such file")
    if os.path.isdir(path):
        raise VideoReadError(path, "a folder, not a video file")
    try:
        return av.open(path)
    except av.FFmpegError as err:
        raise VideoReadError(path, f"not a readable video file ({_ffmpeg_reason(err)})") from err


def _ffmpeg_reason(err) -> str:
    text = getattr(err, "strerror", None) or str(err)
    return " ".join(str(text).split()) or type(err).__name__


def _rotation(path) -> int:
    """The first frame's display-matrix rotation (counter-clockwise degrees, a multiple of
    90): FFmpeg hands it to each decoded frame, so one frame is decoded to see it."""
    import av

    try:
        with av.open(os.fspath(path)) as container:
            for frame in container.decode(video=0):
                return int(round((getattr(frame, "rotation", 0) or 0) / 90.0)) * 90 % 360
    except av.FFmpegError:
        return 0  # the full read says what is wrong, naming the frame
    return 0


def _tag_seconds(tag) -> float:
    """``"01:02:03.250000000"`` (a Matroska DURATION tag) in seconds; 0.0 if unreadable."""
    try:
        h, m, sec = str(tag).split(":")
        return int(h) * 3600 + int(m) * 60 + float(sec)
    except (TypeError, ValueError):
        return 0.0


def _describe(path, container, max_pixels: int) -> tuple[VideoInfo, object]:
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ["nothing"]
        raise VideoReadError(
            path, f"holds no video stream (only {', '.join(kinds)}): nothing to colour"
        )
    stream = container.streams.video[0]
    cc = stream.codec_context
    width, height = int(cc.width or 0), int(cc.height or 0)
    if width <= 0 or height <= 0:
        raise VideoReadError(path, "its video stream has no frame size (corrupt header?)")
    if width * height > max_pixels:
        raise VideoReadError(
            path,
            f"frames of {width}x{height} are over the limit of {max_pixels:,} pixels "
            "(max_pixels=...; a 4K frame has 8.3 million): shrink it first",
        )
    fps = stream.average_rate or stream.guessed_rate or stream.base_rate or Fraction(24)
    fps = Fraction(fps)
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif _tag_seconds(stream.metadata.get("DURATION") if stream.metadata else None):
        duration = _tag_seconds(stream.metadata["DURATION"])  # Matroska's per-stream tag
    elif container.duration:
        duration = container.duration / 1_000_000
    else:
        duration = 0.0
    frames = int(stream.frames or 0) or int(round(duration * float(fps)))
    base = stream.base_rate
    variable = bool(base and stream.average_rate and Fraction(base) != Fraction(fps))
    audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
    rotation = _rotation(path)
    info = VideoInfo(
        path=os.fspath(path),
        width=height if rotation in (90, 270) else width,
        height=width if rotation in (90, 270) else height,
        fps=fps,
        frames=frames,
        duration=duration,
        rotation=rotation,
        pix_fmt=str(cc.pix_fmt),
        codec=cc.name,
        audio=audio,
        variable_rate=variable,
    )
    return info, stream


def probe(path, *, max_pixels: int = MAX_PIXELS) -> VideoInfo:
    """Look into a video file without decoding it.

    Args:
        path: the video file.
        max_pixels: the largest frame accepted (width x height).

    Returns:
        A :class:`VideoInfo`. Rotation stored per frame (display matrices) is only seen
        while decoding; the info then holds the stored size.

    Raises:
        kcolor.errors.VideoReadError: naming the file: missing, not a video, no video
            stream, frames too large.

    Example:
        >>> from kcolor.video import probe
        >>> probe("clip.mp4").frames  # doctest: +SKIP
        48
    """
    container = _open(path)
    try:
        return _describe(path, container, max_pixels)[0]
    finally:
        container.close()


def _grey(frame, rotation: int) -> np.ndarray:
    """A decoded frame as upright 8-bit grey ``(H, W)`` (luma; 10-bit is scaled down)."""
    grey = frame.to_ndarray(format="gray")
    if rotation:  # the first frame's, for every frame: one size throughout
        grey = np.rot90(grey, k=rotation // 90)
    return np.ascontiguousarray(grey)


def transcode(
    src,
    dst,
    process,
    *,
    crf: int = 18,
    preset: str = DEFAULT_PRESET,
    overwrite: bool = False,
    progress: bool = True,
    max_pixels: int = MAX_PIXELS,
    desc: str = "colorize",
    on_progress=None,
) -> dict:
    """Read ``src``'s frames grey, pass them through ``process``, write ``dst``.

    ``dst`` is written to a temp file beside it and renamed at the end: an error or a
    Ctrl-C leaves no partial file, and an existing ``dst`` is only replaced with
    ``overwrite=True``.

    Args:
        src: the input video.
        dst: the output video (its extension picks the container).
        process: a function taking an iterator of upright grey uint8 ``(H, W)`` frames and
            yielding one uint8 RGB ``(H, W, 3)`` frame for each, in order (it may read
            ahead, e.g. to batch them).
        crf: H.264 constant rate factor (0 lossless ... 51 worst; 18 looks lossless).
        preset: libx264 speed preset (``ultrafast`` ... ``veryslow``; default
            :data:`DEFAULT_PRESET`, ``"faster"``).
        overwrite: replace an existing ``dst``.
        progress: a tqdm bar in frames with an ETA on stderr (only when it is a terminal).
        max_pixels: the largest frame accepted.
        desc: the progress bar's label.
        on_progress: ``on_progress(done, total)`` after each frame written (``total``: the
            frame count the file states or its estimate, 0 if unknown); an exception it
            raises stops the job (nothing is written), e.g. to cancel it.

    Returns:
        ``{"info": VideoInfo of src, "frames": frames written, "encoder": name,
        "audio": "copied <codec>" or None, "cropped": bool}``.

    Raises:
        kcolor.errors.VideoReadError: the input cannot be read (naming it and the frame).
        kcolor.errors.VideoWriteError: ``dst`` exists, or cannot be written.
    """
    import av

    src, dst = os.fspath(src), Path(os.fspath(dst))
    if not 0 <= int(crf) <= 51:
        raise ValueError(f"crf must be in [0, 51], got {crf}")
    if dst.exists() and not overwrite:
        raise VideoWriteError(dst, "exists already (use --overwrite / overwrite=True)")
    if dst.exists() and dst.is_dir():
        raise VideoWriteError(dst, "is a folder")
    if os.path.exists(src) and dst.exists() and os.path.samefile(src, dst):
        raise VideoWriteError(dst, "is the input itself; choose another output")
    inp = _open(src)
    try:
        info, vin = _describe(src, inp, max_pixels)
        ain = inp.streams.audio[0] if inp.streams.audio else None
        vin.thread_type = "AUTO"
        width, height = info.width - info.width % 2, info.height - info.height % 2
        if (width, height) != (info.width, info.height):
            warnings.warn(
                f"{src}: {info.width}x{info.height} has an odd side, which H.264 in yuv420p "
                f"cannot store: written as {width}x{height} (the last row/column dropped)",
                UserWarning,
                stacklevel=2,
            )
        if width < 2 or height < 2:
            raise VideoReadError(src, f"frames of {info.width}x{info.height} are too small")
        encoder = encoder_name()
        tb = vin.time_base or Fraction(1, 90000)
        stats = {"info": info, "frames": 0, "encoder": encoder, "audio": None}
        stats["cropped"] = (width, height) != (info.width, info.height)
        bar = None
        if progress:
            import sys

            from tqdm.auto import tqdm

            bar = tqdm(
                total=info.frames or None,
                unit="frame",
                desc=desc,
                file=sys.stderr,
                disable=None,
                leave=False,
            )
        try:
            with kio.atomic_path(dst, suffix=dst.suffix or ".mp4") as tmp:
                try:
                    # mp4/mov: the index first (faststart), so players start before the end
                    fast = {"movflags": "+faststart"} if _muxer(dst) in (None, "mp4", "mov") else {}
                    out = av.open(tmp, "w", format=_muxer(dst), options=fast)
                except (av.FFmpegError, ValueError) as err:
                    raise VideoWriteError(dst, f"cannot write this kind of file: {err}") from err
                try:
                    vout = out.add_stream(encoder, rate=info.fps if info.fps > 0 else 24)
                    vout.width, vout.height, vout.pix_fmt = width, height, "yuv420p"
                    vout.codec_context.time_base = tb
                    for key, value in (
                        ("colorspace", 1),
                        ("color_primaries", 1),
                        ("color_trc", 1),
                        ("color_range", 1),
                    ):
                        try:
                            setattr(vout.codec_context, key, value)  # BT.709, limited
                        except (AttributeError, TypeError, ValueError):
                            pass
                    if encoder == "libx264":
                        vout.options = {"crf": str(int(crf)), "preset": preset}
                    aout = None
                    if ain is not None:
                        try:
                            aout = out.add_stream_from_template(ain)
                            stats["audio"] = f"copied {ain.codec_context.name}"
                        except Exception as err:  # noqa: BLE001 - the container refuses it
                            raise VideoWriteError(
                                dst,
                                f"cannot hold the {ain.codec_context.name} sound of {src} "
                                f"({err}); write a .mkv instead",
                            ) from err
                    _run(
                        inp,
                        vin,
                        ain,
                        out,
                        vout,
                        aout,
                        info,
                        process,
                        tb,
                        (width, height),
                        stats,
                        bar,
                        src,
                        on_progress,
                    )
                    for packet in vout.encode():
                        out.mux(packet)
                except av.FFmpegError as err:
                    raise VideoWriteError(dst, f"encoding failed: {_ffmpeg_reason(err)}") from err
                finally:
                    out.close()
        finally:
            if bar is not None:
                bar.close()
    finally:
        inp.close()
    return stats


def _muxer(dst: Path) -> str | None:
    return {".mkv": "matroska", ".webm": "webm", ".m4v": "mp4", ".mov": "mov"}.get(
        dst.suffix.lower(), None
    )


def _run(
    inp, vin, ain, out, vout, aout, info, process, tb, size, stats, bar, src, on_progress
) -> None:
    """Demux, decode, colour, encode and mux; audio packets go straight through."""
    import av

    pending: deque = deque()  # pts of the frames handed to process, in order
    period = 1 / (info.fps if info.fps > 0 else Fraction(24))
    step = max(1, int(round(period / tb)))
    state = {"n": 0, "last": None}

    def frames():
        streams = [vin] + ([ain] if ain is not None else [])
        try:
            for packet in inp.demux(*streams):
                if packet.stream is not vin:
                    if aout is not None and packet.dts is not None:
                        packet.stream = aout
                        out.mux(packet)
                    continue
                try:
                    decoded = packet.decode()
                except av.FFmpegError as err:
                    raise VideoReadError(
                        src,
                        f"corrupt or truncated: decoding failed after frame {state['n']} "
                        f"({_ffmpeg_reason(err)})",
                    ) from err
                for frame in decoded:
                    pts = frame.pts
                    if pts is None:  # e.g. some AVI files: spaced by the frame rate
                        pts = state["n"] * step
                    if state["last"] is not None and pts <= state["last"]:
                        pts = state["last"] + 1  # keep them strictly increasing
                    state["last"] = pts
                    state["n"] += 1
                    pending.append(pts)
                    grey = _grey(frame, info.rotation)
                    if grey.shape != (info.height, info.width):  # the stream changed size
                        import cv2

                        grey = cv2.resize(
                            grey, (info.width, info.height), interpolation=cv2.INTER_AREA
                        )
                    yield grey
        except av.FFmpegError as err:
            raise VideoReadError(
                src,
                f"corrupt or truncated: reading failed after frame {state['n']} "
                f"({_ffmpeg_reason(err)})",
            ) from err

    width, height = size
    for rgb in process(frames()):
        rgb = np.ascontiguousarray(rgb[:height, :width, :3])
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame = frame.reformat(format="yuv420p", dst_colorspace="itu709", dst_color_range="MPEG")
        frame.pts = pending.popleft()
        frame.time_base = tb
        for packet in vout.encode(frame):
            out.mux(packet)
        stats["frames"] += 1
        if bar is not None:
            bar.update(1)
        if on_progress is not None:
            on_progress(stats["frames"], info.frames)
    if state["n"] == 0:
        raise VideoReadError(src, "no frame could be decoded (empty or truncated file)")
