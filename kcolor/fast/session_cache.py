"""A user cache of onnxruntime's optimised graphs, so that a session opens in a fifth of the time.

When onnxruntime opens a session it first rewrites the graph (``ORT_ENABLE_ALL``: constant
folding, the float16 weights' ``Cast`` nodes folded, convolutions fused with their
activations and laid out in the CPU's blocked format). For the default preset that is about
four fifths of the CPU time an open takes (93 of 110 ms; 0.7 of 0.85 s on a busy 2-core
CPU). :func:`open_cached` saves the rewritten graph once, with
``SessionOptions.optimized_model_filepath``, into the user's cache folder, and opens later
sessions from it with graph optimisation off (17 ms of CPU). The rewritten graph can hold
layouts for this CPU, so the cache key is the export's SHA-256, onnxruntime's version, the
execution providers and the CPU (its architecture and instruction-set flags). A cached
file is checked against the SHA-256 recorded beside it when it was written; a missing,
partial, corrupt or unloadable one is rebuilt from the export, silently.

Where: ``$KCOLOR_ONNX_CACHE`` (a folder; ``0`` turns the cache off), else
``$XDG_CACHE_HOME/kcolor/onnx``, else ``~/.cache/kcolor/onnx``. Exports under
:data:`MIN_BYTES` (the tiny test presets) are not cached: they open fast anyway.

Example:
    >>> from kcolor.fast.session_cache import cache_folder, cache_key
    >>> cache_folder().name  # doctest: +SKIP
    'onnx'
    >>> len(cache_key("0" * 64, ["CPUExecutionProvider"]))
    40
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from pathlib import Path

__all__ = ["MIN_BYTES", "cache_folder", "cache_key", "open_cached"]

#: Exports smaller than this are opened directly (their optimisation costs next to nothing).
MIN_BYTES = 1 << 20


def cache_folder() -> Path | None:
    """The folder of the cached graphs, or ``None`` when ``KCOLOR_ONNX_CACHE=0``."""
    chosen = os.environ.get("KCOLOR_ONNX_CACHE")
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "0", "off", "no", "false") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "kcolor" / "onnx"


def _cpu() -> str:
    """The CPU's architecture and instruction-set flags (what blocked layouts depend on)."""
    flags = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    flags = line.split(":", 1)[-1].strip()
                    break
    except OSError:
        flags = platform.processor()
    return f"{platform.machine()}|{flags}"


def cache_key(digest: str, providers) -> str:
    """The cache key of an export with SHA-256 ``digest`` run on ``providers`` here."""
    import onnxruntime as ort

    text = f"{digest}|onnxruntime {ort.__version__}|{','.join(providers)}|{_cpu()}"
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def _load(cached: Path, record: Path, digest: str, options, providers):
    """The session of a valid cached graph, or ``None``."""
    import onnxruntime as ort

    try:
        about = json.loads(record.read_text(encoding="utf-8"))
        data = cached.read_bytes()
    except (OSError, ValueError):
        return None
    if (
        not isinstance(about, dict)
        or about.get("source_sha256") != digest
        or about.get("sha256") != hashlib.sha256(data).hexdigest()
    ):
        return None
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        return ort.InferenceSession(data, options, providers=providers)
    except Exception:  # noqa: BLE001 - an unloadable cache entry is rebuilt
        return None


def _replace(tmp: str, dst: Path) -> None:
    os.chmod(tmp, 0o644)
    os.replace(tmp, dst)


def open_cached(data: bytes, digest: str, make_options, providers):
    """An ``InferenceSession`` of the export ``data`` (SHA-256 ``digest``), through the cache.

    Args:
        data: the export's bytes (already checked against ``digest``).
        digest: its SHA-256.
        make_options: returns a fresh ``onnxruntime.SessionOptions`` (threads, logging).
        providers: the execution providers.

    Returns:
        The session, from the cached optimised graph when there is a valid one; else opened
        from ``data`` with full optimisation, its optimised graph saved for next time (when
        the cache folder can be written). ``None`` when the cache is off or ``data`` is
        under :data:`MIN_BYTES`: the caller opens ``data`` itself.

    Raises:
        Whatever ``onnxruntime.InferenceSession`` raises on ``data`` itself.
    """
    import onnxruntime as ort

    folder = cache_folder()
    if folder is None or len(data) < MIN_BYTES:
        return None
    key = cache_key(digest, providers)
    cached, record = folder / f"{key}.onnx", folder / f"{key}.json"
    session = _load(cached, record, digest, make_options(), providers)
    if session is not None:
        return session
    options = make_options()
    tmp = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{key}.", suffix=".onnx")
        os.close(fd)
        options.optimized_model_filepath = tmp
    except OSError:  # a read-only home: no cache, a plain session
        tmp = None
    session = ort.InferenceSession(data, options, providers=providers)
    if tmp is None:
        return session
    try:
        written = hashlib.sha256(Path(tmp).read_bytes()).hexdigest()
        _replace(tmp, cached)
        tmp = None
        about = {"source_sha256": digest, "sha256": written, "onnxruntime": ort.__version__}
        fd, tmp_json = tempfile.mkstemp(dir=folder, prefix=f".{key}.", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(about, f)
        _replace(tmp_json, record)
    except OSError:
        pass
    finally:
        if tmp is not None and os.path.exists(tmp):
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return session
