"""Find, check and open a preset's exported graph (``model.onnx``) with onnxruntime.

The export is recorded in the preset's ``metadata.json`` under ``"export"``: its file,
SHA-256, the SHA-256 of the weights it was made from, and its inputs and outputs
(:mod:`kcolor.presets.export` writes it). :func:`open_session` refuses a missing, corrupt,
replaced or stale file with a :class:`~kcolor.errors.WeightsError` naming it, and opens the
session from onnxruntime's optimised graph cached by an earlier open when there is one
(:mod:`kcolor.fast.session_cache`).

Example:
    >>> from kcolor.presets import registry
    >>> from kcolor.fast.graph import find_export
    >>> find_export(registry.locate("unet-lite0-photos"))["decoding"]
    'classes'
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from kcolor.errors import WeightsError
from kcolor.fast.session_cache import open_cached
from kcolor.presets import format as preset_format

__all__ = ["EXPORT_FILE", "EXPORT_KEY", "find_export", "open_session", "providers"]

#: The export's file name in a preset folder.
EXPORT_FILE = preset_format.EXPORT_FILE
#: The key of the export's record in a preset's ``metadata.json``.
EXPORT_KEY = preset_format.EXPORT_KEY


def find_export(folder: str | os.PathLike) -> dict | None:
    """The ``"export"`` record of preset ``folder``'s ``metadata.json``, or ``None`` when the
    preset has no export (a fusion preset, or one saved before exports existed)."""
    record = preset_format.read_metadata(folder).get(EXPORT_KEY)
    return record if isinstance(record, dict) else None


def providers() -> list[str]:
    """onnxruntime's execution providers to use: CUDA when this onnxruntime has it, then CPU."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]


def _fix(folder: Path) -> str:
    return (
        f"Export it again with `kcolor export {folder} -o {folder}` (reinstall kcolor for a "
        "shipped preset), or use the Keras path with `--engine keras`."
    )


def open_session(folder: str | os.PathLike, record: dict | None = None, *, threads: int = 0):
    """The onnxruntime ``InferenceSession`` of preset ``folder``'s export, after checking it.

    Args:
        folder: a preset folder.
        record: its export record (default: read from ``metadata.json``).
        threads: onnxruntime's intra-op threads (0: one per core).

    Raises:
        WeightsError: naming the file: no export recorded, the file missing, failing its
            SHA-256 (corrupt or replaced), exported from other weights than the folder's,
            or not loadable by onnxruntime.
    """
    folder = Path(folder)
    meta = preset_format.read_metadata(folder)
    record = record if record is not None else meta.get(EXPORT_KEY)
    if not isinstance(record, dict):
        raise WeightsError(folder, "has no exported graph (model.onnx). " + _fix(folder))
    path = folder / str(record.get("file") or EXPORT_FILE)
    if not path.is_file():
        raise WeightsError(path, "missing, though metadata.json records it. " + _fix(folder))
    try:
        data = path.read_bytes()  # read once: hashed, then handed to onnxruntime
    except OSError as err:
        raise WeightsError(
            path, f"cannot be read ({err.strerror or err}). " + _fix(folder)
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != record.get("sha256"):
        raise WeightsError(
            path,
            f"fails its SHA-256 check (metadata.json says {record.get('sha256')}, the file is "
            f"{digest}): it is corrupt or was replaced. " + _fix(folder),
        )
    made_from, weights = record.get("weights_sha256"), meta.get("weights_sha256")
    if made_from and weights and made_from != weights:
        raise WeightsError(
            path,
            "was exported from other weights than this folder's model.weights.h5 (a newer "
            "training run?), so it would colour differently. " + _fix(folder),
        )
    import onnxruntime as ort

    def options():
        made = ort.SessionOptions()
        made.intra_op_num_threads = int(threads)
        made.log_severity_level = 3
        # No busy-waiting threads after a call: the numpy work that follows (and, on a shared
        # machine, other processes) gets the cores (busy 2-core CPU: network 0.18 -> 0.08 s).
        made.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return made

    try:
        # the optimised graph cached by an earlier open (a fifth of the time), else this one
        session = open_cached(data, digest, options, providers())
        if session is None:
            session = ort.InferenceSession(data, options(), providers=providers())
    except Exception as err:  # noqa: BLE001 - every failure becomes one message naming the file
        first = (str(err).strip().splitlines() or [""])[0][:300]
        raise WeightsError(path, f"onnxruntime cannot load it ({first}). " + _fix(folder)) from err
    names = {i.name for i in session.get_inputs()}
    outputs = {o.name for o in session.get_outputs()}
    if "l" not in names or "ab" not in outputs:
        raise WeightsError(
            path,
            f"not a kcolor export (inputs {sorted(names)}, outputs {sorted(outputs)}). "
            + _fix(folder),
        )
    return session
