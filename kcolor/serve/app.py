"""The web application of ``kcolor serve``: one page and a small HTTP API, on Starlette.

Routes:

* ``GET /`` - the page (one self-contained HTML file shipped in ``kcolor/serve/static``);
* ``GET /api/models`` - a JSON list ``[{"name", "description", "default"}]`` of the models
  a request may name: the installed presets, and the server's own ``--model`` (marked
  ``"default": true``);
* ``GET /api/config`` - ``{"default_model", "max_bytes", "max_mb"}``;
* ``POST /api/colorize`` - a ``multipart/form-data`` body with the photo in the field
  ``image`` (and optionally a model name in ``model``); answers the colour photo, at the
  upload's full size, as ``image/jpeg`` when the upload was a JPEG and ``image/png``
  otherwise. Bad input answers 4xx with ``{"error": "..."}`` naming the file and what is
  wrong: 400 not an image, truncated, empty or a malformed form; 413 over the size limit
  (``max_mb``) or refused by :mod:`kcolor.io`'s decompression-bomb guard; 415 not a form.

Each model is loaded once, on first use, and kept. Photos are coloured one at a time in a
worker thread (a queue: the event loop stays free for other requests); uploads are decoded
(at most two at a time) from a temporary folder that is removed right after.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
import warnings
from importlib import resources
from io import BytesIO
from urllib.parse import quote

import anyio
import anyio.to_thread
from PIL import Image
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from kcolor import io as kio
from kcolor import presets
from kcolor.errors import ImageReadError, KcolorError

__all__ = ["DEFAULT_MAX_MB", "ModelCache", "create_app"]

#: The default upload limit in MB (10**6 bytes), ``kcolor serve --max-mb``.
DEFAULT_MAX_MB = 50.0

# Room for the multipart headers and a model name around the photo itself.
_FORM_OVERHEAD = 64 * 1024
_LOG = logging.getLogger("kcolor.serve")

# The page may use only itself: no CDN, no other origin.
_CSP = (
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class _BadRequest(Exception):
    """A request the client got wrong: answered with ``status`` and ``{"error": message}``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _load_colorizer(spec: str):
    """The default ``colorizer_factory``: a preset name, a preset folder or a run folder."""
    from kcolor.colorizer import Colorizer

    if spec in presets.list_presets():
        return Colorizer.from_preset(spec)
    load = getattr(Colorizer, "load", None)  # run folders / .keras files
    return load(spec) if load is not None else Colorizer.from_preset(spec)


class ModelCache:
    """Colorizers by name, each built once (on first use) by ``factory`` and kept.

    Args:
        factory: ``factory(name)`` returns an object with ``colorize(rgb) -> rgb``
            (a :class:`kcolor.Colorizer`).

    Example:
        >>> cache = ModelCache(lambda name: object())
        >>> cache.get("a") is cache.get("a")
        True
    """

    def __init__(self, factory):
        self._factory = factory
        self._models: dict[str, object] = {}
        self._lock = threading.Lock()

    def get(self, name: str):
        """The colorizer ``name``, built now if this is its first use (thread-safe)."""
        with self._lock:
            if name not in self._models:
                self._models[name] = self._factory(name)
            return self._models[name]

    def loaded(self) -> list[str]:
        """The names built so far."""
        with self._lock:
            return list(self._models)


def _installed(name: str) -> bool:
    check = getattr(presets, "is_installed", None)
    if check is None:
        return True
    try:
        return bool(check(name))
    except KcolorError:
        return False


def list_models(default: str) -> list[dict]:
    """``[{"name", "description", "default"}]``: ``default`` first, then the installed presets."""
    described = presets.list_presets()
    out = [
        {
            "name": default,
            "description": described.get(default, f"the model given to kcolor serve: {default}"),
            "default": True,
        }
    ]
    for name, description in described.items():
        if name != default and _installed(name):
            out.append({"name": name, "description": description, "default": False})
    return out


def _display_name(filename: str | None) -> str:
    """The upload's own file name (no folders, no control characters), for messages."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:200] or "the upload"


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


def _decode(data: bytes, filename: str, max_pixels: int | None):
    """The upload as uint8 RGB, read by :func:`kcolor.io.load_image` from a temporary folder."""
    suffix = os.path.splitext(filename)[1].lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,8}", suffix):
        suffix = ""
    with tempfile.TemporaryDirectory(prefix="kcolor-serve-") as tmp:
        path = os.path.join(tmp, "upload" + suffix)
        with open(path, "wb") as f:
            f.write(data)
        with warnings.catch_warnings():
            # The content decides the format; a lying extension is no error here.
            warnings.simplefilter("ignore", kio.ExtensionMismatchWarning)
            try:
                return kio.load_image(path, max_pixels=max_pixels)
            except ImageReadError as err:
                too_big = "decompression bomb" in err.reason or "over the limit" in err.reason
                raise _BadRequest(413 if too_big else 400, f"{filename}: {err.reason}") from None


def _encode(rgb, jpeg: bool) -> tuple[bytes, str]:
    buf = BytesIO()
    image = Image.fromarray(rgb, "RGB")
    if jpeg:
        image.save(buf, "JPEG", quality=95)
        return buf.getvalue(), "image/jpeg"
    image.save(buf, "PNG")
    return buf.getvalue(), "image/png"


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def create_app(
    model: str | os.PathLike | None = None,
    *,
    max_mb: float = DEFAULT_MAX_MB,
    max_pixels: int | None = None,
    colorizer_factory=None,
) -> Starlette:
    """The ``kcolor serve`` application (ASGI, for uvicorn or any ASGI server).

    Args:
        model: the default model: a preset name, or a preset / run folder or ``.keras`` file
            (``None``: :data:`kcolor.presets.DEFAULT_PRESET`). Requests may also name any
            installed preset.
        max_mb: the largest upload accepted, in MB (10**6 bytes); larger ones get a 413.
        max_pixels: the decompression-bomb limit passed to :func:`kcolor.io.load_image`
            (``None``: :data:`kcolor.io.DEFAULT_MAX_PIXELS`).
        colorizer_factory: ``factory(name)`` builds the colorizer of a model name
            (default: :class:`kcolor.Colorizer` from the preset or folder). Called once per name.

    Returns:
        A ``starlette.applications.Starlette``; ``app.state.models`` is its
        :class:`ModelCache` and ``app.state.default_model`` the default name.

    Example:
        >>> from kcolor.serve.app import create_app     # doctest: +SKIP
        >>> import uvicorn                              # doctest: +SKIP
        >>> uvicorn.run(create_app(), host="127.0.0.1", port=8000)  # doctest: +SKIP
    """
    if not max_mb > 0:
        raise ValueError(f"max_mb must be positive, got {max_mb}")
    default = os.fspath(model) if model is not None else presets.DEFAULT_PRESET
    max_bytes = int(max_mb * 1e6)
    cache = ModelCache(colorizer_factory or _load_colorizer)
    # One photo coloured at a time (the queue); decoding may overlap it a little.
    colour_limiter = anyio.CapacityLimiter(1)
    decode_limiter = anyio.CapacityLimiter(2)
    page = resources.files("kcolor.serve").joinpath("static/index.html").read_bytes()

    async def index(request: Request) -> Response:
        return HTMLResponse(
            page, headers={"Cache-Control": "no-cache", "Content-Security-Policy": _CSP}
        )

    async def models(request: Request) -> Response:
        return JSONResponse(list_models(default))

    async def config(request: Request) -> Response:
        return JSONResponse({"default_model": default, "max_bytes": max_bytes, "max_mb": max_mb})

    async def read_form(request: Request):
        ctype = request.headers.get("content-type", "")
        if not ctype.lower().startswith("multipart/form-data"):
            raise _BadRequest(
                415,
                "send the photo as multipart/form-data in the field 'image' "
                f"(got Content-Type {ctype or 'none'!r})",
            )
        body_limit = max_bytes + _FORM_OVERHEAD
        limit = f"over the limit of {_megabytes(max_bytes)} (kcolor serve --max-mb)"
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > body_limit:
            # Refused before reading: a client that sent `Expect: 100-continue` (curl does
            # for big files) never uploads the photo.
            raise _BadRequest(413, f"the upload ({_megabytes(int(length))}) is {limit}")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > body_limit:
                name = _sniff_filename(bytes(body[:8192]))
                raise _BadRequest(413, f"{name or 'the upload'}: {limit}")
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        try:
            return await Request(request.scope, replay).form(max_files=1, max_fields=4)
        except MultiPartException as err:
            raise _BadRequest(400, f"malformed multipart form: {err.message}") from None
        except HTTPException as err:  # Starlette's own wrapping of the parser's errors
            raise _BadRequest(err.status_code, f"malformed multipart form: {err.detail}") from None

    async def colorize(request: Request) -> Response:
        try:
            form = await read_form(request)
            try:
                upload = form.get("image")
                if not isinstance(upload, UploadFile):
                    what = "is not a file" if upload is not None else "is missing"
                    raise _BadRequest(
                        400, f"the multipart field 'image' {what}: send the photo in it"
                    )
                filename = _display_name(upload.filename)
                name = form.get("model") or default
                allowed = [m["name"] for m in list_models(default)]
                if not isinstance(name, str) or name not in allowed:
                    raise _BadRequest(
                        400, f"unknown model {name!r}: choose one of {', '.join(allowed)}"
                    )
                data = await upload.read(max_bytes + 1)
            finally:
                await form.close()
            if len(data) > max_bytes:
                raise _BadRequest(
                    413,
                    f"{filename}: over the limit of {_megabytes(max_bytes)} (kcolor serve --max-mb)",
                )
            if not data:
                raise _BadRequest(400, f"{filename}: empty file (0 bytes)")
            jpeg = data[:3] == b"\xff\xd8\xff"
            rgb = await anyio.to_thread.run_sync(
                _decode, data, filename, max_pixels, limiter=decode_limiter
            )
            del data

            def job():
                try:
                    colorizer = cache.get(name)
                except KcolorError as err:
                    raise _BadRequest(500, f"model {name!r} cannot be loaded: {err}") from None
                return _encode(colorizer.colorize(rgb), jpeg)

            content, media_type = await anyio.to_thread.run_sync(job, limiter=colour_limiter)
        except _BadRequest as err:
            return _error(err.status, err.message)
        return Response(
            content,
            media_type=media_type,
            headers={
                "Content-Disposition": _content_disposition(_output_name(filename, jpeg)),
                "X-Kcolor-Model": quote(name),
                "Cache-Control": "no-store",
            },
        )

    async def http_error(request: Request, exc: HTTPException) -> Response:
        return _error(exc.status_code, f"{request.method} {request.url.path}: {exc.detail}")

    async def server_error(request: Request, exc: Exception) -> Response:
        _LOG.exception("unexpected error on %s %s", request.method, request.url.path)
        first = (str(exc).strip().splitlines() or [""])[0]
        return _error(500, f"unexpected {type(exc).__name__}: {first}")

    app = Starlette(
        routes=[
            Route("/", index, methods=["GET"]),
            Route("/api/models", models, methods=["GET"]),
            Route("/api/config", config, methods=["GET"]),
            Route("/api/colorize", colorize, methods=["POST"]),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
    app.state.models = cache
    app.state.default_model = default
    app.state.max_bytes = max_bytes
    return app
