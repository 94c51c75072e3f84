"""The web application of ``kcolor serve``: one page and a small HTTP API, on Starlette.

Routes:

* ``GET /`` - the page (one self-contained HTML file shipped in ``kcolor/serve/static``);
* ``GET /api/models`` - a JSON list ``[{"name", "description", "default"}]`` of the models
  a request may name: the installed presets, and the server's own ``--model`` (marked
  ``"default": true``);
* ``GET /api/config`` - ``{"default_model", "default_vividness", "max_bytes", "max_mb",
  "max_pixels", "max_queue"}`` (``default_vividness``: the default model's, 0.5 unless its
  preset records another);
* ``POST /api/colorize`` - a ``multipart/form-data`` body with the photo in the field
  ``image`` (and optionally a model name in ``model`` and a colour strength in
  ``vividness``, a number from 0 to 1: 0 muted, 0.5 the preset's balance, 1 vivid;
  without it, the model's default; and colour hints in ``hints``, JSON as
  :func:`kcolor.inference.hints.parse_hints` takes, e.g. ``[{"x": 10, "y": 20, "color":
  "#c0392b"}]``: the network's colours of the last few photos are kept, so the same photo
  sent again with other hints only re-runs their spreading); answers the colour photo, at the
  upload's full size, as ``image/jpeg`` when the upload was a JPEG and ``image/png``
  otherwise. Bad input answers 4xx with ``{"error": "..."}`` naming the file and what is
  wrong: 400 not an image, truncated, empty, a malformed form, an unknown model, a
  vividness that is not a number from 0 to 1 or bad hints (naming the hint); 413 over the
  size limit (``max_mb``) or over the pixel limit (``max_pixels``, read from the file's header before
  any pixel is decoded); 415 not a form; 503 (with ``Retry-After``) when ``max_queue``
  requests wait already;
* ``/api/clips`` (``POST`` a clip, ``GET /api/clips/{id}`` its progress, ``.../video`` the
  colour clip) - short clips, one at a time: :mod:`kcolor.serve.clips`.

Each model is loaded once, on first use, and kept. Photos are decoded, coloured and
encoded one at a time in a worker thread (a queue: the event loop stays free for other
requests), so the memory a photo takes does not grow with the number of clients: waiting
uploads sit in a temporary folder (removed right after), not in memory, and at most
``max_queue`` wait besides the one at work; more are answered 503 before being read.
Reading and checking an upload, and naming the answer, live in :mod:`kcolor.serve.uploads`.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import threading
import time
from importlib import resources
from urllib.parse import quote

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from kcolor import presets
from kcolor.errors import HintError, KcolorError
from kcolor.inference import vividness as _vividness
from kcolor.inference.hints import HintCache
from kcolor.serve import hints as serve_hints
from kcolor.serve.clips import ClipJobs
from kcolor.serve.uploads import (
    _BadRequest,
    _check_header,
    _content_disposition,
    _decode,
    _drain,
    _encode,
    _form_fields,
    _megabytes,
    _output_name,
    _save_upload,
    _sniff_filename,
)

__all__ = ["DEFAULT_MAX_MB", "DEFAULT_MAX_PIXELS", "DEFAULT_MAX_QUEUE", "ModelCache", "create_app"]

#: The default upload limit in MB (10**6 bytes), ``kcolor serve --max-mb``.
DEFAULT_MAX_MB = 50.0
#: The default pixel limit, ``kcolor serve --max-pixels``: 40 megapixels (e.g. 7300x5470).
DEFAULT_MAX_PIXELS = 40_000_000
#: How many colorize requests may wait besides the one at work, ``kcolor serve --max-queue``.
DEFAULT_MAX_QUEUE = 8

# Room for the multipart headers and a model name around the photo itself.
_FORM_OVERHEAD = 64 * 1024
_LOG = logging.getLogger("kcolor.serve")

# The page may use only itself: no CDN, no other origin.
_CSP = (
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _load_colorizer(spec: str):
    """The default ``colorizer_factory``: a preset name, a preset or run folder, or a
    ``.keras`` file; its exported graph (no Keras, :mod:`kcolor.fast`) when it has one."""
    from kcolor.fast.engine import load_colorizer

    return load_colorizer(spec, on_fallback=lambda note: logging.getLogger("kcolor").warning(note))


class ModelCache:
    """Colorizers by name, each built once (on first use) by ``factory`` and kept.

    Args:
        factory: ``factory(name)`` returns an object with ``colorize(rgb) -> rgb``
            (a :class:`kcolor.Colorizer`; requests that set a vividness call
            ``colorize(rgb, vividness=v)``).

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


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class _Queue:
    """The colorize requests in a server: at most one at work, ``max_waiting`` more waiting.

    A request counts from its arrival (while it is uploaded and its header checked, then in
    line) to its answer. ``working`` is 0 or 1, ``waiting`` the others; :meth:`full` says
    a new one is to be refused (503). ``worker`` is the limiter of the one at work.
    """

    def __init__(self, max_waiting: int):
        self.worker = anyio.CapacityLimiter(1)
        self.max_waiting = max_waiting
        self.admitted = 0
        self.working = 0
        self.mean_seconds = 5.0  # a photo's time at work (running mean), for Retry-After

    @property
    def waiting(self) -> int:
        return self.admitted - self.working

    def full(self) -> bool:
        return self.admitted >= 1 + self.max_waiting

    def timed(self, seconds: float) -> None:
        self.mean_seconds = 0.7 * self.mean_seconds + 0.3 * seconds

    def busy(self) -> JSONResponse:
        """503, with ``Retry-After``: about the time the photo at work needs to be done."""
        seconds = max(1, min(600, math.ceil(self.mean_seconds)))
        n = self.max_waiting
        if n:
            line = f"{n} photo is" if n == 1 else f"{n} photos are"
            what = f"{line} waiting to be coloured already, as many as it keeps in line"
        else:
            what = "it is colouring another photo and keeps none in line"
        return JSONResponse(
            {
                "error": f"the server is busy: {what} (kcolor serve --max-queue); "
                f"try again in {seconds} s"
            },
            status_code=503,
            headers={"Retry-After": str(seconds)},
        )


def create_app(
    model: str | os.PathLike | None = None,
    *,
    max_mb: float = DEFAULT_MAX_MB,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    max_queue: int = DEFAULT_MAX_QUEUE,
    colorizer_factory=None,
) -> Starlette:
    """The ``kcolor serve`` application (ASGI, for uvicorn or any ASGI server).

    Args:
        model: the default model: a preset name, or a preset / run folder or ``.keras`` file
            (``None``: :data:`kcolor.presets.DEFAULT_PRESET`). Requests may also name any
            installed preset.
        max_mb: the largest upload accepted, in MB (10**6 bytes); larger ones get a 413.
        max_pixels: the largest photo accepted, in pixels (width x height); larger ones get
            a 413 read from the file's header, before any pixel is decoded (``None``:
            :data:`DEFAULT_MAX_PIXELS`, 40 megapixels; ``0``: no limit but the image reader's
            own, about 179 megapixels).
        max_queue: how many colorize requests may wait (being uploaded, checked or in line)
            besides the one at work; more get a 503 with ``Retry-After`` before being read.
        colorizer_factory: ``factory(name)`` builds the colorizer of a model name
            (default: :class:`kcolor.Colorizer` from the preset or folder). Called once per name.

    Returns:
        A ``starlette.applications.Starlette``; ``app.state.models`` is its
        :class:`ModelCache`, ``app.state.default_model`` the default name and
        ``app.state.queue`` the colorize requests (``.working``, ``.waiting``).

    Example:
        >>> from kcolor.serve.app import create_app     # doctest: +SKIP
        >>> import uvicorn                              # doctest: +SKIP
        >>> uvicorn.run(create_app(), host="127.0.0.1", port=8000)  # doctest: +SKIP
    """
    if not max_mb > 0:
        raise ValueError(f"max_mb must be positive, got {max_mb}")
    max_pixels = DEFAULT_MAX_PIXELS if max_pixels is None else int(max_pixels)
    if max_pixels < 0 or max_queue < 0:
        raise ValueError(
            f"max_pixels and max_queue must be 0 or more, got {max_pixels}, {max_queue}"
        )
    default = os.fspath(model) if model is not None else presets.DEFAULT_PRESET
    default_vividness = _vividness.preset_default(default)
    max_bytes = int(max_mb * 1e6)
    cache = ModelCache(colorizer_factory or _load_colorizer)
    # One photo at a time from decoding to encoding (the queue): the memory of one photo.
    queue = _Queue(max_queue)
    hint_cache = HintCache(size=4)
    # Short clips (/api/clips, kcolor.serve.clips): one at a time in their own worker thread.
    clips = ClipJobs(cache, default, lambda: [m["name"] for m in list_models(default)])
    page = resources.files("kcolor.serve").joinpath("static/index.html").read_bytes()

    async def index(request: Request) -> Response:
        return HTMLResponse(
            page, headers={"Cache-Control": "no-cache", "Content-Security-Policy": _CSP}
        )

    async def models(request: Request) -> Response:
        return JSONResponse(list_models(default))

    async def config(request: Request) -> Response:
        return JSONResponse(
            {
                "default_model": default,
                "default_vividness": default_vividness,
                "max_bytes": max_bytes,
                "max_mb": max_mb,
                "max_pixels": max_pixels,
                "max_queue": max_queue,
            }
        )

    async def read_form(request: Request, spool: str):
        """The multipart form of ``request``; its body goes through the file ``spool`` (on
        disk as it comes, then parsed from there), never whole in memory."""
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
        size, head = 0, b""
        with open(spool, "wb") as f:
            async for chunk in request.stream():
                size += len(chunk)
                head += chunk[: max(0, 8192 - len(head))]
                if size > body_limit:
                    name = _sniff_filename(head)
                    raise _BadRequest(413, f"{name or 'the upload'}: {limit}")
                f.write(chunk)
        body = open(spool, "rb")  # noqa: SIM115 (closed below)

        async def replay():
            chunk = body.read(1 << 20)
            return {"type": "http.request", "body": chunk, "more_body": body.tell() < size}

        try:
            return await Request(request.scope, replay).form(max_files=1, max_fields=5)
        except MultiPartException as err:
            raise _BadRequest(400, f"malformed multipart form: {err.message}") from None
        except HTTPException as err:  # Starlette's own wrapping of the parser's errors
            raise _BadRequest(err.status_code, f"malformed multipart form: {err.detail}") from None
        finally:
            body.close()
            os.remove(spool)

    async def colorize(request: Request) -> Response:
        if queue.full():  # refused before the body is read: waiting uploads take no memory
            await _drain(request, max_bytes + _FORM_OVERHEAD)
            return queue.busy()
        queue.admitted += 1
        try:
            with tempfile.TemporaryDirectory(prefix="kcolor-serve-") as tmp:
                return await colorize_admitted(request, tmp)
        except _BadRequest as err:
            return _error(err.status, err.message)
        finally:
            queue.admitted -= 1

    async def colorize_admitted(request: Request, tmp: str) -> Response:
        # No extension on the file: the content decides the format, a lying name is no error.
        path = os.path.join(tmp, "upload")
        form = await read_form(request, os.path.join(tmp, "body"))
        try:
            upload, filename, name, vividness = _form_fields(
                form, "image", "photo", default, [m["name"] for m in list_models(default)]
            )
            try:
                hints = serve_hints.parse_field(form.get("hints"))
            except HintError as err:
                raise _BadRequest(400, f"{filename}: {err}") from None
            size, head = await _save_upload(upload, path, max_bytes)
        finally:
            await form.close()
        if size > max_bytes:
            raise _BadRequest(
                413,
                f"{filename}: over the limit of {_megabytes(max_bytes)} (kcolor serve --max-mb)",
            )
        if not size:
            raise _BadRequest(400, f"{filename}: empty file (0 bytes)")
        jpeg = head[:3] == b"\xff\xd8\xff"
        # 413 before any pixel is decoded; waiting in line, the upload is a file, not memory
        await anyio.to_thread.run_sync(_check_header, path, filename, max_pixels)

        def job():
            try:
                colorizer = cache.get(name)
            except KcolorError as err:
                raise _BadRequest(500, f"model {name!r} cannot be loaded: {err}") from None
            rgb = _decode(path, filename, max_pixels)
            if hints:  # the network's ab is cached per photo: a new stroke re-runs only hints
                try:
                    coloured = serve_hints.colorize_with_hints(
                        hint_cache, colorizer, rgb, path, name, vividness, hints
                    )
                except HintError as err:
                    raise _BadRequest(400, f"{filename}: {err}") from None
            elif vividness is None:
                coloured = colorizer.colorize(rgb)
            else:
                coloured = colorizer.colorize(rgb, vividness=vividness)
            del rgb
            return _encode(coloured, jpeg)

        async with queue.worker:
            queue.working += 1
            started = time.monotonic()
            try:
                content, media_type = await anyio.to_thread.run_sync(job)
            finally:
                queue.working -= 1
                queue.timed(time.monotonic() - started)
        return Response(
            content,
            media_type=media_type,
            headers={
                "Content-Disposition": _content_disposition(_output_name(filename, jpeg)),
                "X-Kcolor-Model": quote(name),
                **({} if vividness is None else {"X-Kcolor-Vividness": f"{vividness:g}"}),
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
            *clips.routes(),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
    app.state.models = cache
    app.state.default_model = default
    app.state.default_vividness = default_vividness
    app.state.max_bytes = max_bytes
    app.state.queue = queue
    app.state.clips = clips
    return app
