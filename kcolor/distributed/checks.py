"""Start-up checks: every rank must run the same set-up on the same data.

A rank that runs another config, another kcolor / Keras / torch version or sees another data
folder would train a different model while the all-reduce happily averages its gradients in;
these checks gather a small description from every rank once, before training, and make
every rank raise the same :class:`~kcolor.distributed.DistributedError` naming what differs.

* :func:`config_hash` and :func:`check_same_config`: the run's config and the library versions.
* :func:`check_same_data`: each rank's data description (sizes, seed, batch size, file names).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket

import keras
import numpy as np
import torch

import kcolor
from kcolor.datasets.arrays import LabBatches
from kcolor.distributed.group import Dist, DistributedError, all_gather_object

__all__ = ["check_same_config", "check_same_data", "config_hash"]


# ---------------------------------------------------------------------------- config
def config_hash(config) -> str:
    """SHA-256 (hex) of ``config`` as canonical JSON together with kcolor's, Keras's and torch's
    versions: equal on two machines only when they run the same set-up.

    Args:
        config: a JSON-able description of the run (keys in any order; other values are
            written with ``str``).

    Returns:
        64 hex digits.

    Example:
        >>> from kcolor.distributed import config_hash
        >>> config_hash({"a": 1, "b": 2}) == config_hash({"b": 2, "a": 1})
        True
        >>> config_hash({"a": 1}) == config_hash({"a": 2})
        False
    """
    payload = {
        "config": config,
        "kcolor": kcolor.__version__,
        "keras": keras.__version__,
        "torch": torch.__version__.split("+")[0],
    }
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _describe(entry: dict) -> str:
    return (
        f"rank {entry['rank']} (host {entry['host']}, kcolor {entry['kcolor']}, "
        f"keras {entry['keras']}, torch {entry['torch']}, config {entry['hash'][:12]})"
    )


def _check_entries(entries: list[dict], what: str = "config") -> None:
    """Raise when the gathered ``entries`` (one per rank) hold more than one hash."""
    first = entries[0]
    odd = [e for e in entries[1:] if e["hash"] != first["hash"]]
    if not odd:
        return
    versions = {(e["kcolor"], e["keras"], e["torch"]) for e in entries}
    cause = (
        "different kcolor / Keras / torch versions"
        if len(versions) > 1
        else f"a different {what} (command-line options, data or seed)"
    )
    shown = "; ".join(_describe(e) for e in [first, *odd[:3]])
    more = f" and {len(odd) - 3} more" if len(odd) > 3 else ""
    raise DistributedError(
        f"the ranks disagree on the run's set-up ({cause}): {shown}{more}. "
        "Install the same kcolor and run the same command on every machine."
    )


def check_same_config(dist: Dist, config, what: str = "config") -> str:
    """Check at start-up that every rank runs the same ``config`` and the same kcolor version.

    Gathers :func:`config_hash` from all ranks; every rank raises the same error on a mismatch,
    naming the ranks, hosts and versions that differ.

    Args:
        dist: the :class:`~kcolor.distributed.Dist` of this process.
        config: a JSON-able description of the run (paths that differ between machines should
            be left out).
        what: what ``config`` is, for the error message.

    Returns:
        The hash (hex).

    Raises:
        DistributedError: when the ranks disagree.

    Example:
        >>> from kcolor.distributed import Dist, check_same_config, config_hash
        >>> check_same_config(Dist(), {"model": "alpha"}) == config_hash({"model": "alpha"})
        True
    """
    entry = {
        "rank": dist.rank,
        "host": socket.gethostname(),
        "kcolor": kcolor.__version__,
        "keras": keras.__version__,
        "torch": torch.__version__.split("+")[0],
        "hash": config_hash(config),
    }
    _check_entries(all_gather_object(dist, entry), what)
    return entry["hash"]


# ---------------------------------------------------------------------------- data
def _data_fingerprint(data) -> dict | None:
    """A small, picklable description of ``data`` (a dataset, possibly wrapped, or arrays)."""
    if data is None:
        return None
    inner = getattr(data, "dataset", data)
    out = {"type": type(inner).__name__}
    if isinstance(inner, LabBatches):
        out["samples"] = len(inner.order)
        out["batch_size"] = inner.batch_size
        out["seed"] = inner.seed
        paths = getattr(inner, "paths", None)
        if paths is not None:
            out["paths"] = hashlib.sha256(
                "\n".join(os.path.basename(os.fspath(p)) for p in paths).encode()
            ).hexdigest()[:16]
    elif isinstance(inner, keras.utils.PyDataset):
        out["batches"] = len(inner)
    elif isinstance(inner, tuple):
        out["shapes"] = [None if a is None else list(np.shape(a))[1:] for a in inner]
    return out


def check_same_data(dist: Dist, train_data, val_data=None) -> None:
    """Check that every rank sees the same training and validation data.

    Gathers each rank's description of the data (dataset type, number of samples or batches,
    batch size, seed, a hash of the file names) and raises on every rank when one differs,
    e.g. another data folder on another machine.

    Args:
        dist: the :class:`~kcolor.distributed.Dist` of this process.
        train_data: this rank's training data, before sharding.
        val_data: ``None``, a ``PyDataset`` or an ``(x, y)`` tuple of arrays.

    Raises:
        DistributedError: when the ranks see different data.

    Example:
        >>> import numpy as np
        >>> from kcolor.datasets import ArrayDataset
        >>> from kcolor.distributed import Dist, check_same_data
        >>> data = ArrayDataset(np.zeros((8, 8, 8, 3), np.uint8), batch_size=4)
        >>> check_same_data(Dist(), data)  # one process agrees with itself
    """
    fingerprint = {"train": _data_fingerprint(train_data), "val": _data_fingerprint(val_data)}
    gathered = all_gather_object(dist, fingerprint)
    odd = [r for r, f in enumerate(gathered) if f != gathered[0]]
    if odd:
        raise DistributedError(
            f"the ranks see different data: rank 0 {gathered[0]} but rank {odd[0]} "
            f"{gathered[odd[0]]}; every machine needs the same data folder and options"
        )
