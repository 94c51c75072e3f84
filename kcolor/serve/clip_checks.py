"""What ``kcolor serve`` takes as a clip: its limits, reading the form, checking the file.

:class:`ClipLimits` states the limits; :func:`read_clip_form` reads the multipart body
(counted as it comes: 413 past the limit); :func:`probe_clip` checks the saved file from
its header and first frame (not a video, no video stream, too long, frames too large,
corrupt) and raises :class:`kcolor.serve.uploads._BadRequest` saying why in the words of a
clip. :mod:`kcolor.serve.clips` runs the jobs.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request

from kcolor.errors import VideoReadError
from kcolor.serve.uploads import _BadRequest, _megabytes

__all__ = ["FORM_OVERHEAD", "ClipLimits", "probe_clip", "read_clip_form"]

#: Room for the multipart headers and the small fields around the clip itself.
FORM_OVERHEAD = 64 * 1024


@dataclass(frozen=True)
class ClipLimits:
    """What ``kcolor serve`` takes as a clip.

    Args:
        max_seconds: the longest clip, in seconds.
        max_mb: the largest upload, in MB (10**6 bytes).
        max_width, max_height: the largest frame, either way round (a portrait
            1080x1920 clip is taken under 1920x1080).
        max_waiting: clips that may wait besides the one at work; more are refused (503).
        keep_seconds: how long a finished clip's result is kept for fetching.
        keep_done: at most this many finished results are kept (the oldest go first).

    Example:
        >>> ClipLimits().describe()
        'at most 30 s, 100 MB and 1920x1080'
    """

    max_seconds: float = 30.0
    max_mb: float = 100.0
    max_width: int = 1920
    max_height: int = 1080
    max_waiting: int = 2
    keep_seconds: float = 900.0
    keep_done: int = 8

    @property
    def max_bytes(self) -> int:
        return int(self.max_mb * 1e6)

    def describe(self) -> str:
        return f"at most {self.max_seconds:g} s, {self.max_mb:g} MB and {self.max_width}x{self.max_height}"

    def as_json(self) -> dict:
        return {
            "max_seconds": self.max_seconds,
            "max_bytes": self.max_bytes,
            "max_mb": self.max_mb,
            "max_width": self.max_width,
            "max_height": self.max_height,
            "max_waiting": self.max_waiting,
        }


def _first_frame_decodes(path: str) -> bool:
    """True when the first video frame of ``path`` decodes (a corrupt stream fails here)."""
    import av

    try:
        with av.open(path) as container:
            for _ in container.decode(video=0):
                return True
    except av.FFmpegError:
        return False
    return False


def probe_clip(path: str, filename: str, limits: ClipLimits):
    """The clip's :class:`kcolor.video.VideoInfo`, or :class:`_BadRequest` saying why not."""
    from kcolor.video import io as vio

    try:
        info = vio.probe(path, max_pixels=1 << 62)  # our own limit, in our words, below
    except VideoReadError as err:
        reason = err.reason
        if reason.startswith("not a readable video file"):
            reason = "not a video file this server can read (corrupt, or another kind of file)"
        raise _BadRequest(400, f"{filename}: {reason}") from None
    w, h = sorted((info.width, info.height), reverse=True)
    if w > limits.max_width or h > limits.max_height:
        raise _BadRequest(
            413,
            f"{filename}: frames of {info.width}x{info.height} are over this server's limit "
            f"of {limits.max_width}x{limits.max_height} (either way round); shrink the clip first",
        )
    if info.duration > limits.max_seconds + 0.5 / max(float(info.fps), 1.0):
        raise _BadRequest(
            413,
            f"{filename}: the clip is {info.duration:.1f} s long; this server takes clips of at "
            f"most {limits.max_seconds:g} s: cut it shorter (or colour it with kcolor colorize)",
        )
    if not _first_frame_decodes(path):
        raise _BadRequest(400, f"{filename}: corrupt: its first frame cannot be decoded")
    return info


async def read_clip_form(request: Request, limits: ClipLimits):
    """The multipart form, its body counted as it comes: 413 past the limit (the file
    parts spool to disk as Starlette parses them, never whole in memory)."""
    ctype = request.headers.get("content-type", "")
    if not ctype.lower().startswith("multipart/form-data"):
        raise _BadRequest(
            415,
            "send the clip as multipart/form-data in the field 'video' "
            f"(got Content-Type {ctype or 'none'!r})",
        )
    limit = limits.max_bytes + FORM_OVERHEAD
    over = f"over this server's limit of {_megabytes(limits.max_bytes)} for a clip"
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _BadRequest(413, f"the upload ({_megabytes(int(length))}) is {over}")
    seen = 0

    async def receive():
        nonlocal seen
        message = await request.receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            raise _BadRequest(413, f"the upload is {over}")
        return message

    try:
        return await Request(request.scope, receive).form(max_files=1, max_fields=5)
    except MultiPartException as err:
        raise _BadRequest(400, f"malformed multipart form: {err.message}") from None
    except HTTPException as err:
        raise _BadRequest(err.status_code, f"malformed multipart form: {err.detail}") from None
