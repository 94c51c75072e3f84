"""Fetching a registered preset: a ``.zip`` of a preset folder, downloaded once, hash-checked, cached.

:func:`download` fetches ``https://`` or ``file://`` URLs into :func:`cache_dir`
(``$KERAS_HOME/kcolor``, default ``~/.keras/kcolor``), checks the archive's SHA-256 and
unpacks the preset files (flat: nothing is written outside the folder).
:func:`kcolor.presets.register_preset` is how a name gets a URL.

Example:
    >>> import os
    >>> from kcolor.presets import download
    >>> download.cache_dir().name
    'kcolor'
    >>> download.download("mine", "https://example.com/mine.zip", "0" * 64,
    ...                   download.cache_dir() / "mine")      # doctest: +SKIP
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from kcolor.errors import WeightsError
from kcolor.presets.format import CONFIG, METADATA, WEIGHTS, is_preset_folder, sha256sum

__all__ = ["cache_dir", "download"]


def cache_dir() -> Path:
    """Where downloaded presets go: ``$KERAS_HOME/kcolor`` (default ``~/.keras/kcolor``)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "kcolor"


def download(name: str, url: str, digest: str, folder: Path) -> None:
    """Fetch ``url`` (a zip of a preset folder), check its SHA-256 and unpack it into ``folder``.

    Args:
        name: the preset's name (for messages and the archive's file name).
        url: ``https://`` or ``file://`` URL of the zip.
        digest: its expected SHA-256 (hex).
        folder: where the preset folder goes (replaced when it exists).

    Raises:
        WeightsError: the fetch failed, the archive fails its hash, is no zip or holds no
            preset folder.
    """
    import urllib.error  # here: urllib.request (http, email, ssl) costs every start 15 ms
    import urllib.request
    import zipfile

    folder.parent.mkdir(parents=True, exist_ok=True)
    archive = folder.parent / f"{name}.zip"
    if archive.is_file() and sha256sum(archive) != digest:
        archive.unlink()  # a stale or corrupt copy: fetch again
    if not archive.is_file():
        from kcolor.io import atomic_path

        try:
            with atomic_path(archive, suffix=".part") as tmp:
                with open(tmp, "wb") as out, urllib.request.urlopen(url, timeout=60) as src:
                    shutil.copyfileobj(src, out, 1 << 20)
                got = sha256sum(tmp)
                if got != digest:
                    raise WeightsError(
                        url,
                        f"the download of preset {name!r} fails its SHA-256 check (expected "
                        f"{digest}, got {got}); try again later, or fetch the file yourself "
                        "and register its folder with kcolor.presets.register_preset(name, folder=...)",
                    )
        except (urllib.error.URLError, OSError, ValueError) as err:
            if isinstance(err, WeightsError):
                raise
            raise WeightsError(
                url,
                f"could not fetch preset {name!r} ({err}). Check the network connection, or "
                "fetch the file yourself and register its folder with "
                "kcolor.presets.register_preset(name, folder=...).",
            ) from err
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{name}."))
    try:
        with zipfile.ZipFile(archive) as z:
            members = [m for m in z.namelist() if not m.endswith("/")]
            for member in members:
                target = Path(member).name  # flat: never write outside the folder
                if target in (CONFIG, WEIGHTS, METADATA) or target.endswith((".csv", ".png")):
                    (staging / target).write_bytes(z.read(member))
        if not is_preset_folder(staging):
            raise WeightsError(
                archive, "the archive holds no preset folder (config.json + model.weights.h5)"
            )
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    except zipfile.BadZipFile as err:
        raise WeightsError(archive, f"not a readable zip archive ({err})") from err
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
