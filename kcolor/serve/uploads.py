"""Uploads to ``kcolor serve``: reading, checking and answering for one photo.

The request body goes to a file in 1 MB pieces (:func:`_save_upload`), never whole in
memory; the photo's header alone decides a 413 over the pixel limit (:func:`_check_header`)
before :func:`_decode` reads any pixel; :mod:`kcolor.io`'s reasons are put in the words of a
photo (:func:`_read_error`). What the client got wrong is raised as :class:`_BadRequest`
(a status and a message), which :mod:`kcolor.serve.app` answers as ``{"error": message}``.
File names come from the upload (:func:`_display_name`) and name the answer
(:func:`_output_name`, :func:`_content_disposition`).

Example:
    >>> from kcolor.serve.uploads import _display_name, _mp, _output_name
    >>> _display_name("scans/attic 1.png")
    'attic 1.png'
    >>> _output_name("attic 1.png", jpeg=True)
    'attic 1_colour.jpg'
    >>> _mp(168_000_000), _mp(40_000_000), _mp(360_000)
    ('168', '40', '0.36')
"""

from __future__ import annotations

import os
import re
from io import BytesIO
from urllib.parse import quote

from PIL import Image
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request

from kcolor import io as kio
from kcolor.errors import ImageReadError


class _BadRequest(Exception):
    """A request the client got wrong: answered with ``status`` and ``{"error": message}``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _display_name(filename: str | None) -> str:
    """The upload's own file name (no folders, no control characters), for messages."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:200] or "the upload"


def _form_fields(form, field: str, what: str, default: str, allowed: list[str]):
    """(the upload, its display name, the model name, the vividness or ``None``) of a
    ``/api/colorize`` or ``/api/clips`` form, each checked: a 400 names what is wrong."""
    from kcolor.inference import vividness as _vividness

    upload = form.get(field)
    if not isinstance(upload, UploadFile):
        how = "is not a file" if upload is not None else "is missing"
        raise _BadRequest(400, f"the multipart field {field!r} {how}: send the {what} in it")
    filename = _display_name(upload.filename)
    name = form.get("model") or default
    if not isinstance(name, str) or name not in allowed:
        raise _BadRequest(400, f"unknown model {name!r}: choose one of {', '.join(allowed)}")
    vividness = form.get("vividness")
    if vividness is not None:
        try:
            if not isinstance(vividness, str):
                raise ValueError("the field 'vividness' must be a number, not a file")
            vividness = _vividness.check(vividness.strip())
        except ValueError as err:
            raise _BadRequest(400, f"{filename}: {err}") from None
    return upload, filename, name, vividness


def _output_name(filename: str, jpeg: bool) -> str:
    stem = os.path.splitext(filename)[0] if filename != "the upload" else "photo"
    stem = re.sub(r'[\x00-\x1f"\\/:*?<>|]', "_", stem).strip(" .") or "photo"
    return f"{stem}_colour.{'jpg' if jpeg else 'png'}"


def _content_disposition(name: str) -> str:
    ascii_name = name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    return f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def _sniff_filename(head: bytes) -> str | None:
    """The file name of the ``image`` part, from the first bytes of a multipart body."""
    m = re.search(rb'name="image"; filename="([^"\r\n]{1,400})"', head)
    return _display_name(m.group(1).decode("utf-8", "replace")) if m else None


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _mp(pixels: int) -> str:
    """A number of pixels in megapixels, for messages: ``168``, ``40``, ``0.36``."""
    mp = pixels / 1e6
    return f"{mp:.0f}" if mp >= 100 else f"{mp:.3g}"


def _too_many_pixels(filename: str, pixels: int, size, limit: int) -> _BadRequest:
    shape = f" ({size[0]}x{size[1]})" if size else ""
    return _BadRequest(
        413,
        f"{filename}: the photo is {_mp(pixels)} megapixels{shape}; this server takes at most "
        f"{_mp(limit)} megapixels (kcolor serve --max-pixels)",
    )


def _read_error(filename: str, err: ImageReadError, limit: int) -> _BadRequest:
    """:mod:`kcolor.io`'s reason, in the words of a photo, not of the library that reads it."""
    reason = err.reason
    over = re.search(r"image is (\d+)x(\d+) = ", reason)
    if over:  # kcolor.io's own pixel limit
        w, h = int(over.group(1)), int(over.group(2))
        return _too_many_pixels(filename, w * h, (w, h), limit)
    bomb = re.search(r"\((\d+) pixels\) exceeds limit of (\d+) pixels", reason)
    if bomb:  # the reader's own hard limit (about 179 megapixels), hit while reading the header
        return _too_many_pixels(filename, int(bomb.group(1)), None, limit or int(bomb.group(2)))
    if "not enough memory" in reason:
        return _BadRequest(413, f"{filename}: too large to decode in this server's memory")
    if reason.startswith("not an image file PIL can identify"):
        reason = "not an image file this server can read (corrupt, or another kind of file)"
    reason = re.sub(r"\b(PIL|Pillow)\b", "the image reader", reason)
    return _BadRequest(400, f"{filename}: {reason}")


def _check_header(path: str, filename: str, limit: int) -> None:
    """Refuse the upload at ``path`` from its header alone: not an image, or over ``limit``
    pixels (0: no limit of ours) answers 4xx before a single pixel is decoded."""
    try:
        h, w = kio.image_size(path, max_pixels=0)  # our own limit, in our own words, below
    except ImageReadError as err:
        raise _read_error(filename, err, limit) from None
    if limit and w * h > limit:
        raise _too_many_pixels(filename, w * h, (w, h), limit)


def _decode(path: str, filename: str, limit: int):
    """The upload at ``path`` as uint8 RGB, read by :func:`kcolor.io.load_image`."""
    try:
        return kio.load_image(path, max_pixels=limit)
    except ImageReadError as err:
        raise _read_error(filename, err, limit) from None


def _encode(rgb, jpeg: bool) -> tuple[bytes, str]:
    buf = BytesIO()
    image = Image.fromarray(rgb, "RGB")
    if jpeg:
        image.save(buf, "JPEG", quality=95)
        return buf.getvalue(), "image/jpeg"
    image.save(buf, "PNG")
    return buf.getvalue(), "image/png"


async def _save_upload(upload: UploadFile, path: str, limit: int) -> tuple[int, bytes]:
    """Copy ``upload`` to the file ``path`` in 1 MB pieces, never whole in memory; return its
    size (counting stops past ``limit``) and its first bytes."""
    await upload.seek(0)
    size, head = 0, b""
    with open(path, "wb") as f:
        while size <= limit:
            chunk = await upload.read(1 << 20)
            if not chunk:
                break
            head = head or chunk[:8]
            size += len(chunk)
            f.write(chunk)
    return size, head


async def _drain(request: Request, limit: int) -> None:
    """Read and drop a refused request's body (up to ``limit`` bytes): a socket closed on
    unread data may reset the connection before the client reads the answer."""
    if "100-continue" in request.headers.get("expect", "").lower():
        return  # the client waits for a go-ahead before it sends the body: none comes
    seen = 0
    try:
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > limit:
                return
    except ClientDisconnect:
        pass
