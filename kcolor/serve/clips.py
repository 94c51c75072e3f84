"""Short clips in ``kcolor serve``: upload a black-and-white clip, follow it, fetch the colour one.

Routes (:meth:`ClipJobs.routes`, registered by :func:`kcolor.serve.app.create_app`):

* ``GET /api/clips`` - ``{"limits": {...}, "working", "waiting"}``: the limits below and the
  jobs in line;
* ``POST /api/clips`` - a ``multipart/form-data`` body with the clip in the field ``video``
  (optionally ``model`` and ``vividness``, as ``/api/colorize`` takes them). The clip is
  checked before it is taken: over ``max_mb`` (413), not a video or corrupt (400), no video
  stream (400), longer than ``max_seconds`` (413) or frames larger than ``max_width`` x
  ``max_height`` either way round (413); each answered ``{"error": "..."}`` naming the file
  and the limit. A clip taken answers 202 ``{"id", "status", "frames_total",
  "progress_url", "result_url"}``; when ``max_waiting`` clips wait already besides the one
  at work, 503 with ``Retry-After`` before the body is read;
* ``GET /api/clips/{id}`` - its progress: ``{"id", "name", "status"`` (``queued``,
  ``working``, ``done`` or ``failed``), ``"frames_done", "frames_total", "position"``
  (clips ahead of it), ``"eta_seconds", "error", "result_url"}``;
* ``GET /api/clips/{id}/video`` - the colour clip, ``video/mp4`` (H.264, the sound copied),
  streamed from disk (byte ranges too, for a ``<video>`` player); 409 while it is not done,
  422 with the reason when it failed (e.g. truncated after frame N), 404 unknown or expired;
* ``DELETE /api/clips/{id}`` - forget it now, removing its files.

One clip is coloured at a time, in a worker thread (the event loop stays free; memory is
that of one clip's few frames in flight, :func:`kcolor.video.colorize_video` streams them),
while photos go on being coloured beside it. Each clip works in its own temporary folder:
the upload is removed once coloured, a failed or refused clip's folder at once, a result
after ``keep_seconds`` (or when more than ``keep_done`` results are kept, the oldest), and
everything when the server stops (:meth:`ClipJobs.close`, also at exit). The limits and
the checks of an upload are in :mod:`kcolor.serve.clip_checks`.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from kcolor.errors import KcolorError, VideoReadError, VideoWriteError
from kcolor.serve.clip_checks import FORM_OVERHEAD, ClipLimits, probe_clip, read_clip_form
from kcolor.serve.uploads import (
    _BadRequest,
    _content_disposition,
    _drain,
    _form_fields,
    _megabytes,
    _save_upload,
)

__all__ = ["ClipJobs", "ClipLimits"]

_LOG = logging.getLogger("kcolor.serve")


class _Stop(Exception):
    """Raised from the progress callback: the job is cancelled or the server stops."""


@dataclass
class _Job:
    id: str
    name: str
    folder: str
    model: str
    vividness: float | None
    frames_total: int
    max_frames: int
    status: str = "queued"
    frames_done: int = 0
    error: str | None = None
    error_status: int = 422
    finished: float | None = None
    cancelled: bool = False

    @property
    def src(self) -> str:
        return os.path.join(self.folder, "upload")

    @property
    def dst(self) -> str:
        return os.path.join(self.folder, "colour.mp4")

    @property
    def out_name(self) -> str:
        stem = os.path.splitext(self.name)[0] if self.name != "the upload" else "clip"
        stem = "".join(c if c.isprintable() and c not in '"\\/:*?<>|' else "_" for c in stem)
        return f"{stem.strip(' .') or 'clip'}_colour.mp4"


class ClipJobs:
    """The clip jobs of one ``kcolor serve`` app: checks, a worker thread, results on disk.

    Args:
        models: the app's :class:`kcolor.serve.app.ModelCache`.
        default: the default model's name.
        allowed: ``allowed()`` lists the model names a request may choose.
        limits: a :class:`ClipLimits` (may be replaced before the first clip, e.g. in tests:
            ``app.state.clips.limits = ClipLimits(max_seconds=1)``).
        colorize_video: the function that colours a file (default
            :func:`kcolor.video.colorize_video`), called as ``colorize_video(colorizer, src,
            dst, progress=False, on_progress=..., vividness=...)``.

    Example:
        >>> jobs = ClipJobs(models=None, default="m", allowed=lambda: ["m"])
        >>> [r.path for r in jobs.routes()]
        ['/api/clips', '/api/clips/{id}', '/api/clips/{id}/video']
        >>> jobs.close()
    """

    def __init__(
        self,
        models,
        default: str,
        allowed,
        limits: ClipLimits | None = None,
        colorize_video=None,
    ):
        self.models = models
        self.default = default
        self.allowed = allowed
        self.limits = limits or ClipLimits()
        self._colorize_video = colorize_video
        self._jobs: dict[str, _Job] = {}
        self._line: deque[_Job] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._admitted = 0  # uploads being read or checked, and clips in line or at work
        self._worker: threading.Thread | None = None
        self._closing = False
        self.seconds_per_frame = 0.5  # running mean, for the ETA and Retry-After
        atexit.register(self.close)

    # ------------------------------------------------------------ state
    @property
    def working(self) -> str | None:
        """The id of the clip at work, or ``None``."""
        with self._lock:
            return next((j.id for j in self._jobs.values() if j.status == "working"), None)

    @property
    def waiting(self) -> int:
        """Clips in line (not at work)."""
        with self._lock:
            return len(self._line)

    def _frames_left(self) -> int:
        return sum(
            max(0, j.frames_total - j.frames_done)
            for j in self._jobs.values()
            if j.status in ("queued", "working")
        )

    def _sweep(self) -> None:
        """Forget finished clips past ``keep_seconds``, and the oldest past ``keep_done``."""
        now = time.monotonic()
        with self._lock:
            done = sorted(
                (j for j in self._jobs.values() if j.finished is not None),
                key=lambda j: j.finished,
            )
            old = [j for j in done if now - j.finished > self.limits.keep_seconds]
            old += [j for j in done[: max(0, len(done) - self.limits.keep_done)] if j not in old]
            for job in old:
                self._jobs.pop(job.id, None)
        for job in old:
            shutil.rmtree(job.folder, ignore_errors=True)

    def close(self) -> None:
        """Stop the worker (the clip at work is abandoned) and remove every clip's files."""
        with self._lock:
            self._closing = True
            jobs = list(self._jobs.values())
            self._jobs.clear()
            self._line.clear()
            self._wake.notify_all()
            worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(10)
        for job in jobs:
            shutil.rmtree(job.folder, ignore_errors=True)

    # ------------------------------------------------------------ the worker
    def _start_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._work, daemon=True, name="kcolor-clips")
            self._worker.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._line and not self._closing:
                    self._wake.wait()
                if self._closing:
                    return
                job = self._line.popleft()
                job.status = "working"
            started = time.monotonic()
            try:
                self._colour(job)
                status, error = "done", None
            except _Stop:
                status, error = "failed", "cancelled"
            except _BadRequest as err:
                status, error = "failed", err.message
                job.error_status = err.status
            except VideoReadError as err:
                status, error = "failed", f"{job.name}: {err.reason}"
            except VideoWriteError as err:
                status, error = (
                    "failed",
                    f"{job.name}: the colour clip could not be written ({err.reason})",
                )
                job.error_status = 500
            except Exception as err:  # noqa: BLE001 - reported to the client, logged here
                _LOG.exception("clip %s failed", job.id)
                first = (str(err).strip().splitlines() or [""])[0]
                status, error = "failed", f"{job.name}: unexpected {type(err).__name__}: {first}"
                job.error_status = 500
            seconds = time.monotonic() - started
            with self._lock:
                if job.frames_done:
                    spf = seconds / job.frames_done
                    self.seconds_per_frame = 0.5 * self.seconds_per_frame + 0.5 * spf
                job.status, job.error = status, error
                job.finished = time.monotonic()
                self._admitted -= 1
                gone = self._closing or job.cancelled
            if os.path.exists(job.src):
                os.remove(job.src)
            if status != "done" or gone:
                shutil.rmtree(job.folder, ignore_errors=True)

    def _colour(self, job: _Job) -> None:
        if self._colorize_video is None:
            from kcolor.video import colorize_video

            self._colorize_video = colorize_video
        try:
            colorizer = self.models.get(job.model)
        except KcolorError as err:
            raise _BadRequest(500, f"model {job.model!r} cannot be loaded: {err}") from None

        def on_progress(done: int, total: int) -> None:
            if self._closing or job.cancelled:
                raise _Stop()
            if done > job.max_frames:
                raise _BadRequest(
                    413,
                    f"{job.name}: the clip runs past this server's limit of "
                    f"{self.limits.max_seconds:g} s (its header said less)",
                )
            job.frames_done = done
            job.frames_total = max(total, done)

        kwargs = {} if job.vividness is None else {"vividness": job.vividness}
        self._colorize_video(
            colorizer, job.src, job.dst, progress=False, on_progress=on_progress, **kwargs
        )
        job.frames_total = job.frames_done

    # ------------------------------------------------------------ answers
    def _busy(self) -> JSONResponse:
        with self._lock:
            seconds = self._frames_left() * self.seconds_per_frame
        seconds = max(1, min(3600, math.ceil(seconds)))
        n = self.limits.max_waiting
        what = (
            f"{n} clip{' is' if n == 1 else 's are'} waiting already, as many as it keeps in line"
            if n
            else "it is colouring another clip and keeps none in line"
        )
        return JSONResponse(
            {"error": f"the server is busy with clips: {what}; try again in {seconds} s"},
            status_code=503,
            headers={"Retry-After": str(seconds)},
        )

    def _describe(self, job: _Job) -> dict:
        position = None
        if job.status == "queued":
            position = next((i for i, j in enumerate(self._line) if j is job), 0) + 1
        left = max(0, job.frames_total - job.frames_done)
        ahead = sum(
            max(0, j.frames_total - j.frames_done)
            for j in self._jobs.values()
            if j.status == "working" and j is not job
        )
        if job.status == "queued":
            ahead += sum(j.frames_total for j in list(self._line)[: (position or 1) - 1])
        eta = (left + ahead) * self.seconds_per_frame if job.status in ("queued", "working") else 0
        return {
            "id": job.id,
            "name": job.name,
            "status": job.status,
            "frames_done": job.frames_done,
            "frames_total": job.frames_total,
            "position": position,
            "eta_seconds": round(eta, 1),
            "error": job.error,
            "progress_url": f"/api/clips/{job.id}",
            "result_url": f"/api/clips/{job.id}/video",
        }

    async def _take(self, request: Request, folder: str) -> _Job:
        import anyio.to_thread

        form = await read_clip_form(request, self.limits)
        try:
            upload, filename, name, vividness = _form_fields(
                form, "video", "clip", self.default, self.allowed()
            )
            path = os.path.join(folder, "upload")
            size, _ = await _save_upload(upload, path, self.limits.max_bytes)
        finally:
            await form.close()
        if size > self.limits.max_bytes:
            raise _BadRequest(
                413,
                f"{filename}: over this server's limit of {_megabytes(self.limits.max_bytes)} for a clip",
            )
        if not size:
            raise _BadRequest(400, f"{filename}: empty file (0 bytes)")
        info = await anyio.to_thread.run_sync(probe_clip, path, filename, self.limits)
        fps = float(info.fps) if info.fps > 0 else 24.0
        return _Job(
            id=uuid.uuid4().hex,
            name=filename,
            folder=folder,
            model=name,
            vividness=vividness,
            frames_total=int(info.frames),
            max_frames=math.ceil(self.limits.max_seconds * fps) + 1,
        )

    async def submit(self, request: Request) -> Response:
        self._sweep()
        with self._lock:
            full = self._admitted >= 1 + self.limits.max_waiting
            if not full:
                self._admitted += 1
        if full:  # refused before the body is read
            await _drain(request, self.limits.max_bytes + FORM_OVERHEAD)
            return self._busy()
        folder = tempfile.mkdtemp(prefix="kcolor-clip-")
        try:
            job = await self._take(request, folder)
        except _BadRequest as err:
            shutil.rmtree(folder, ignore_errors=True)
            with self._lock:
                self._admitted -= 1
            return JSONResponse({"error": err.message}, status_code=err.status)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            with self._lock:
                self._admitted -= 1
            raise
        with self._lock:
            if self._closing:
                self._admitted -= 1
                shutil.rmtree(folder, ignore_errors=True)
                return JSONResponse({"error": "the server is stopping"}, status_code=503)
            self._jobs[job.id] = job
            self._line.append(job)
            self._start_worker()
            self._wake.notify()
            answer = self._describe(job)
        return JSONResponse(answer, status_code=202, headers={"Location": answer["progress_url"]})

    def _job(self, request: Request) -> _Job:
        self._sweep()
        with self._lock:
            job = self._jobs.get(request.path_params["id"])
        if job is None:
            raise _BadRequest(404, "no such clip (unknown, or expired and removed)")
        return job

    async def status(self, request: Request) -> Response:
        if request.method == "DELETE":
            return await self.forget(request)
        try:
            job = self._job(request)
        except _BadRequest as err:
            return JSONResponse({"error": err.message}, status_code=err.status)
        with self._lock:
            answer = self._describe(job)
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    async def result(self, request: Request) -> Response:
        try:
            job = self._job(request)
        except _BadRequest as err:
            return JSONResponse({"error": err.message}, status_code=err.status)
        if job.status == "failed":
            return JSONResponse({"error": job.error}, status_code=job.error_status)
        if job.status != "done" or not os.path.exists(job.dst):
            done = f"{job.frames_done} of {job.frames_total or '?'} frames"
            return JSONResponse(
                {"error": f"{job.name} is not coloured yet ({job.status}, {done})"},
                status_code=409,
            )
        return FileResponse(
            job.dst,
            media_type="video/mp4",
            headers={
                "Content-Disposition": _content_disposition(job.out_name),
                "X-Kcolor-Model": job.model,
                "Cache-Control": "no-store",
            },
        )

    async def forget(self, request: Request) -> Response:
        try:
            job = self._job(request)
        except _BadRequest as err:
            return JSONResponse({"error": err.message}, status_code=err.status)
        with self._lock:
            job.cancelled = True
            self._jobs.pop(job.id, None)
            if job in self._line:
                self._line.remove(job)
                self._admitted -= 1
                job.finished = time.monotonic()
            at_work = job.status == "working"
        if not at_work:  # the worker removes the folder of the clip at work when it stops
            shutil.rmtree(job.folder, ignore_errors=True)
        return Response(status_code=204)

    async def overview(self, request: Request) -> Response:
        self._sweep()
        return JSONResponse(
            {"limits": self.limits.as_json(), "working": self.working, "waiting": self.waiting}
        )

    def routes(self) -> list[Route]:
        """The clip routes, for ``Starlette(routes=[..., *jobs.routes()])``."""
        return [
            Route("/api/clips", self.submit_or_overview, methods=["GET", "POST"]),
            Route("/api/clips/{id}", self.status, methods=["GET", "DELETE"]),
            Route("/api/clips/{id}/video", self.result, methods=["GET"]),
        ]

    async def submit_or_overview(self, request: Request) -> Response:
        if request.method == "POST":
            return await self.submit(request)
        return await self.overview(request)
