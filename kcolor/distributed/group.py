"""The process group: who this process is in a ``torchrun`` launch, and the small collectives.

:func:`init_from_env` joins the process group that ``torchrun`` describes in the environment
(NCCL on GPUs, gloo on CPUs, chosen by :func:`_choose_backend`; a timeout from
``$KCOLOR_DIST_TIMEOUT``) and returns a :class:`Dist`; without ``torchrun`` it returns a
single-process :class:`Dist` and touches nothing. :func:`barrier`, :func:`all_gather_object`
and :func:`synced_clock` are the collectives the rest of :mod:`kcolor.distributed` and the
training loop use; each is a no-op (or the plain local answer) for a single process.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import time

import torch

from kcolor.errors import DataError, KcolorError

__all__ = [
    "BACKEND_ENV",
    "DEFAULT_TIMEOUT_S",
    "Dist",
    "DistributedError",
    "TIMEOUT_ENV",
    "all_gather_object",
    "barrier",
    "init_from_env",
    "per_rank_batch_size",
    "shutdown",
    "synced_clock",
]

TIMEOUT_ENV = "KCOLOR_DIST_TIMEOUT"
BACKEND_ENV = "KCOLOR_DIST_BACKEND"
DEFAULT_TIMEOUT_S = 600.0
_TORCHRUN_HINT = (
    "launch with torchrun, e.g. `torchrun --nproc-per-node 2 -m kcolor train ...`, which sets "
    "RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT"
)


class DistributedError(KcolorError, RuntimeError):
    """The distributed set-up is wrong: environment, backend, or ranks that disagree.

    Example:
        >>> from kcolor.distributed import DistributedError
        >>> from kcolor.errors import KcolorError
        >>> issubclass(DistributedError, KcolorError)
        True
    """


@dataclasses.dataclass(frozen=True)
class Dist:
    """Where this process stands in a data-parallel run.

    Args:
        rank: this process's index among all processes (0 to ``world_size - 1``).
        local_rank: its index on this machine (its GPU, under NCCL).
        world_size: the number of processes; 1 means a plain, single-process run.
        backend: ``"nccl"``, ``"gloo"`` (or another torch backend), ``None`` for a single process.

    Example:
        >>> from kcolor.distributed import Dist
        >>> Dist().is_main, Dist().is_distributed
        (True, False)
        >>> Dist(rank=1, local_rank=1, world_size=2, backend="gloo").is_main
        False
    """

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        """True on rank 0, the process that writes files and prints."""
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        """True when there is more than one process (and a process group to talk to)."""
        return self.world_size > 1

    @property
    def device(self) -> torch.device:
        """The device of the collectives' small tensors (this rank's GPU under NCCL, else CPU)."""
        if self.backend == "nccl":
            return torch.device("cuda", self.local_rank)
        return torch.device("cpu")


# ---------------------------------------------------------------------------- environment
def _env_int(name: str, env) -> int:
    value = env.get(name)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DistributedError(
            f"environment variable {name}={value!r} is not an integer; {_TORCHRUN_HINT}"
        ) from None


def _choose_backend(backend: str | None, local_rank: int) -> str:
    """The backend to use (``backend``, ``$KCOLOR_DIST_BACKEND``, NCCL with CUDA, else gloo),
    checked against this torch build and this machine's GPUs."""
    import torch.distributed as tdist

    if not tdist.is_available():
        raise DistributedError(
            f"this torch build ({torch.__version__}) has no torch.distributed support"
        )
    if backend is None:
        backend = os.environ.get(BACKEND_ENV) or ("nccl" if torch.cuda.is_available() else "gloo")
    backend = str(backend).lower()
    if backend == "nccl":
        if not torch.cuda.is_available():
            raise DistributedError(
                "backend 'nccl' needs CUDA GPUs, but torch sees none "
                f"(torch {torch.__version__}, CUDA build {torch.version.cuda}, "
                f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r}); "
                "on CPUs use backend 'gloo'"
            )
        if not tdist.is_nccl_available():
            raise DistributedError(
                f"backend 'nccl' is not in this torch build ({torch.__version__}); "
                "install a CUDA build of torch, or use backend 'gloo'"
            )
        count = torch.cuda.device_count()
        if local_rank >= count:
            raise DistributedError(
                f"LOCAL_RANK={local_rank} but this machine shows only {count} GPU(s): "
                "--nproc-per-node must not exceed the GPUs per machine "
                f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r})"
            )
        return backend
    if backend == "gloo":
        if not tdist.is_gloo_available():
            raise DistributedError(
                f"backend 'gloo' is not in this torch build ({torch.__version__})"
            )
        return backend
    if not tdist.is_backend_available(backend):
        raise DistributedError(
            f"unknown or unavailable torch.distributed backend {backend!r}: "
            "use 'nccl' on GPUs or 'gloo' on CPUs"
        )
    return backend


def _timeout_seconds(timeout) -> float:
    """``timeout``, else ``$KCOLOR_DIST_TIMEOUT``, else 600 s; positive."""
    if timeout is None:
        raw = os.environ.get(TIMEOUT_ENV)
        if raw is None:
            return DEFAULT_TIMEOUT_S
        try:
            timeout = float(raw)
        except ValueError:
            raise DistributedError(f"{TIMEOUT_ENV}={raw!r} is not a number of seconds") from None
    timeout = float(timeout)
    if not timeout > 0:
        raise DistributedError(f"the process-group timeout must be positive, got {timeout:g} s")
    return timeout


# ---------------------------------------------------------------------------- joining and leaving
def init_from_env(backend: str | None = None, timeout: float | None = None) -> Dist:
    """Join the process group ``torchrun`` describes in the environment, or stay a single process.

    Under ``torchrun`` (``RANK`` and ``WORLD_SIZE`` set, ``WORLD_SIZE > 1``) it checks the
    environment and the backend, pins this process to GPU ``LOCAL_RANK`` when CUDA is there
    (``torch.cuda.set_device``, so Keras puts the model on it) and calls
    ``torch.distributed.init_process_group``. Without ``torchrun``, or with one process, it
    returns ``Dist()`` (rank 0 of 1) and initialises nothing. Calling it again returns the
    group already joined.

    Args:
        backend: ``"nccl"`` (GPUs), ``"gloo"`` (CPUs) or ``None``: ``$KCOLOR_DIST_BACKEND``, else
            NCCL when torch sees CUDA, else gloo.
        timeout: seconds a collective waits for the other ranks before failing (so a rank that
            died on another machine stops this one); ``None``: ``$KCOLOR_DIST_TIMEOUT``, else
            600.

    Returns:
        A :class:`Dist`.

    Raises:
        DistributedError: an incomplete ``torchrun`` environment, a backend that is missing or
            cannot work here (NCCL without CUDA, more local ranks than GPUs), or a group that
            could not be joined (with the address it tried).

    Example:
        >>> from kcolor.distributed import init_from_env
        >>> dist = init_from_env()  # not under torchrun: rank 0 of 1, nothing initialised
        >>> dist.rank, dist.world_size, dist.backend
        (0, 1, None)
    """
    env = os.environ
    if "WORLD_SIZE" not in env and "RANK" not in env:
        return Dist()
    world_size = _env_int("WORLD_SIZE", env)
    rank = _env_int("RANK", env)
    local_rank = _env_int("LOCAL_RANK", env) if "LOCAL_RANK" in env else rank
    if world_size < 1 or not 0 <= rank < world_size or local_rank < 0:
        raise DistributedError(
            f"RANK={rank}, LOCAL_RANK={local_rank}, WORLD_SIZE={world_size} do not fit together "
            f"(need 0 <= RANK < WORLD_SIZE); {_TORCHRUN_HINT}"
        )
    if world_size == 1:
        return Dist(rank=0, local_rank=local_rank, world_size=1, backend=None)
    import torch.distributed as tdist

    if tdist.is_available() and tdist.is_initialized():
        return Dist(
            rank=tdist.get_rank(),
            local_rank=local_rank,
            world_size=tdist.get_world_size(),
            backend=str(tdist.get_backend()),
        )
    missing = [k for k in ("MASTER_ADDR", "MASTER_PORT") if not env.get(k)]
    if missing:
        raise DistributedError(
            f"RANK and WORLD_SIZE are set but {' and '.join(missing)} not; {_TORCHRUN_HINT}"
        )
    backend = _choose_backend(backend, local_rank)
    seconds = _timeout_seconds(timeout)
    if torch.cuda.is_available() and local_rank < torch.cuda.device_count():
        torch.cuda.set_device(local_rank)
    kwargs = {}
    if backend == "nccl":
        kwargs["device_id"] = torch.device("cuda", local_rank)
    try:
        tdist.init_process_group(
            backend=backend,
            init_method="env://",
            rank=rank,
            world_size=world_size,
            timeout=datetime.timedelta(seconds=seconds),
            **kwargs,
        )
    except Exception as e:  # noqa: BLE001 - re-raised with the set-up named
        raise DistributedError(
            f"rank {rank} of {world_size} could not join the {backend} process group at "
            f"{env.get('MASTER_ADDR')}:{env.get('MASTER_PORT')}: {type(e).__name__}: {e}"
        ) from e
    return Dist(rank=rank, local_rank=local_rank, world_size=world_size, backend=backend)


def shutdown(dist: Dist) -> None:
    """Leave the process group (``destroy_process_group``); nothing for a single process.

    Args:
        dist: the :class:`Dist` of this process.

    Example:
        >>> from kcolor.distributed import Dist, shutdown
        >>> shutdown(Dist())  # a single process has no group to leave
    """
    import torch.distributed as tdist

    if dist.is_distributed and tdist.is_initialized():
        tdist.destroy_process_group()


# ---------------------------------------------------------------------------- collectives
def barrier(dist: Dist) -> None:
    """Wait until every rank gets here (nothing for a single process).

    Args:
        dist: the :class:`Dist` of this process.

    Example:
        >>> from kcolor.distributed import Dist, barrier
        >>> barrier(Dist())  # returns at once for a single process
    """
    if dist.is_distributed:
        import torch.distributed as tdist

        if dist.backend == "nccl":
            tdist.barrier(device_ids=[dist.local_rank])
        else:
            tdist.barrier()


def all_gather_object(dist: Dist, obj) -> list:
    """Every rank's ``obj`` (picklable), in rank order; ``[obj]`` for a single process.

    Args:
        dist: the :class:`Dist` of this process.
        obj: any picklable object.

    Returns:
        A list of ``dist.world_size`` objects, rank 0's first (the same list on every rank).

    Example:
        >>> from kcolor.distributed import Dist, all_gather_object
        >>> all_gather_object(Dist(), {"stopped": False})
        [{'stopped': False}]
    """
    if not dist.is_distributed:
        return [obj]
    import torch.distributed as tdist

    out = [None] * dist.world_size
    tdist.all_gather_object(out, obj)
    return out


def per_rank_batch_size(global_batch_size: int, dist: Dist) -> int:
    """The batch of each rank when ``global_batch_size`` is split over ``dist.world_size`` ranks.

    Args:
        global_batch_size: the batch one step sees over all ranks together.
        dist: the :class:`Dist` of this process.

    Returns:
        ``global_batch_size // dist.world_size``.

    Raises:
        DataError: when the world size does not divide the global batch.

    Example:
        >>> from kcolor.distributed import Dist, per_rank_batch_size
        >>> per_rank_batch_size(16, Dist(rank=1, world_size=4))
        4
    """
    global_batch_size = int(global_batch_size)
    if global_batch_size < 1 or global_batch_size % dist.world_size:
        raise DataError(
            f"a global batch of {global_batch_size} does not split over {dist.world_size} "
            f"processes; use a multiple of {dist.world_size}"
        )
    return global_batch_size // dist.world_size


def synced_clock(dist: Dist):
    """A clock (seconds) that reads rank 0's ``time.monotonic`` on every rank.

    Give it to time-based callbacks (``TimeBudget(..., clock=synced_clock(dist))``) so that
    every rank makes the same decisions (the same plan, decay and stop) at the same step. Each
    call is one small broadcast, so every rank must call it equally often; for a single process
    it is ``time.monotonic``.

    Args:
        dist: the :class:`Dist` of this process.

    Returns:
        A function of no arguments that returns seconds (a float).

    Example:
        >>> import time
        >>> from kcolor.distributed import Dist, synced_clock
        >>> synced_clock(Dist()) is time.monotonic
        True
    """
    if not dist.is_distributed:
        return time.monotonic

    import torch.distributed as tdist

    def clock() -> float:
        t = torch.tensor([time.monotonic()], dtype=torch.float64, device=dist.device)
        tdist.broadcast(t, src=0)
        return float(t.item())

    return clock
