"""Atomic file writes: a reader, or a process killed half-way, sees the old file or the new one.

* :func:`atomic_path` - a temp path beside the target, moved into place on success;
* :func:`atomic_write_bytes` - bytes written that way, flushed to disk.

Example:
    >>> import os, tempfile
    >>> from kcolor.io.atomic import atomic_write_bytes
    >>> path = atomic_write_bytes(os.path.join(tempfile.mkdtemp(), "a", "log.csv"), b"x,y\\n")
    >>> path.read_bytes(), sorted(os.listdir(path.parent))
    (b'x,y\\n', ['log.csv'])
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_bytes", "new_file_mode"]


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def new_file_mode() -> int:
    """The permission bits a new file gets under this process's umask (``0o666 & ~umask``).

    Example:
        >>> new_file_mode() & 0o600
        384
    """
    return 0o666 & ~_UMASK


@contextlib.contextmanager
def atomic_path(path, suffix: str = ".tmp"):
    """Yield a temp file path beside ``path`` to write; on success it replaces ``path``.

    The temp file lies in the same folder (so ``os.replace`` is atomic), gets the mode a new
    file would have (or the mode of the file it replaces) and is removed on any error, leaving
    ``path`` as it was. Parent folders are created.

    Args:
        path: the file to write.
        suffix: the temp file's suffix (e.g. ``".tmp.keras"`` for ``model.save``).

    Example:
        >>> with atomic_path("runs/a/model.keras", suffix=".tmp.keras") as tmp:  # doctest: +SKIP
        ...     model.save(tmp)
    """
    path = Path(os.fspath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        try:
            mode = path.stat().st_mode & 0o777
        except OSError:
            mode = new_file_mode()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`), flushed to disk.

    A reader, or a process killed half-way, sees the old file or the new one, never half of
    one.

    Args:
        path: the file to write (parent folders are created).
        data: the bytes.

    Returns:
        The path written, as a ``pathlib.Path``.

    Example:
        >>> atomic_write_bytes("runs/a/history.csv", b"epoch\\n0\\n")  # doctest: +SKIP
        PosixPath('runs/a/history.csv')
    """
    path = Path(os.fspath(path))
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return path
