"""Data-parallel training on several processes, GPUs or machines: ``torch.distributed`` + ``torchrun``.

Keras 3's distribution API covers JAX only; on torch the established engine is
``torch.distributed``, launched by ``torchrun``. This module keeps plain ``model.fit`` and adds
what data parallelism needs around it:

* :func:`init_from_env` joins the process group that ``torchrun`` describes in the environment
  (NCCL on GPUs, gloo on CPUs) and returns a :class:`Dist`; without ``torchrun`` it returns a
  single-process :class:`Dist` and touches nothing.
* :class:`ShardedDataset` gives every rank its own slice of each global batch
  (``DistributedSampler`` semantics on kcolor's datasets: the same seeded order, reshuffled per
  epoch, on every rank; equal lengths).
* :class:`GradientAllReduce` averages the gradients over all ranks inside ``backward``, before
  Keras's optimizer step (post-accumulate-grad hooks on the variables' torch tensors, the
  mechanism of ``DistributedDataParallel``).
* Callbacks: :class:`AverageLogs` (epoch logs and validation losses averaged over all ranks),
  :class:`AverageNonTrainable` (batch-norm moving statistics averaged), :class:`BroadcastState`
  (rank 0's weights and optimizer state to every rank at the start of ``fit``),
  :class:`SyncStop` (one rank's ``stop_training`` stops them all); :func:`synced_clock` for
  time-based callbacks.
* :func:`check_same_config` compares a hash of the run's config and of kcolor's version across
  ranks; :func:`wrap_training` does all of the above in one call.

With ``N`` processes of batch ``B`` each, a step sees exactly the samples (and augmentations)
that one process with batch ``N * B`` sees, and the averaged gradient is that batch's gradient,
so the weights follow the single-process run (up to float rounding).

Example:
    >>> import kcolor
    >>> from kcolor import distributed
    >>> dist = distributed.init_from_env()          # under torchrun: joins the group
    >>> dist.world_size, dist.is_main                # a plain process: (1, True)
    (1, True)
    >>> train, val, callbacks = distributed.wrap_training(
    ...     dist, model, train, val, callbacks)       # doctest: +SKIP
    >>> model.fit(train, validation_data=val, callbacks=callbacks,
    ...           verbose=1 if dist.is_main else 0)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import math
import os
import socket
import time
import warnings

import keras
import numpy as np
import torch

import kcolor
from kcolor.datasets.arrays import LabBatches, lab_pair
from kcolor.errors import DataError, KcolorError

__all__ = [
    "AverageLogs",
    "AverageNonTrainable",
    "BroadcastState",
    "Dist",
    "DistributedError",
    "GradientAllReduce",
    "ShardedDataset",
    "SyncStop",
    "all_gather_object",
    "average_logs",
    "barrier",
    "broadcast_variables",
    "check_same_config",
    "config_hash",
    "distributed_callbacks",
    "init_from_env",
    "per_rank_batch_size",
    "shard_data",
    "shutdown",
    "sync_model",
    "synced_clock",
    "wrap_training",
]

TIMEOUT_ENV = "KCOLOR_DIST_TIMEOUT"
BACKEND_ENV = "KCOLOR_DIST_BACKEND"
DEFAULT_TIMEOUT_S = 600.0
_TORCHRUN_HINT = (
    "launch with torchrun, e.g. `torchrun --nproc-per-node 2 -m kcolor train ...`, which sets "
    "RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT"
)


class DistributedError(KcolorError, RuntimeError):
    """The distributed set-up is wrong: environment, backend, or ranks that disagree."""


# ---------------------------------------------------------------------------- the process group
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


def _env_int(name: str, env) -> int:
    value = env.get(name)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DistributedError(
            f"environment variable {name}={value!r} is not an integer; {_TORCHRUN_HINT}"
        ) from None


def _choose_backend(backend: str | None, local_rank: int) -> str:
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
    """Leave the process group (``destroy_process_group``); nothing for a single process."""
    import torch.distributed as tdist

    if dist.is_distributed and tdist.is_initialized():
        tdist.destroy_process_group()


def barrier(dist: Dist) -> None:
    """Wait until every rank gets here (nothing for a single process)."""
    if dist.is_distributed:
        import torch.distributed as tdist

        if dist.backend == "nccl":
            tdist.barrier(device_ids=[dist.local_rank])
        else:
            tdist.barrier()


def all_gather_object(dist: Dist, obj) -> list:
    """Every rank's ``obj`` (picklable), in rank order; ``[obj]`` for a single process."""
    if not dist.is_distributed:
        return [obj]
    import torch.distributed as tdist

    out = [None] * dist.world_size
    tdist.all_gather_object(out, obj)
    return out


def per_rank_batch_size(global_batch_size: int, dist: Dist) -> int:
    """The batch of each rank when ``global_batch_size`` is split over ``dist.world_size`` ranks.

    Raises:
        DataError: when the world size does not divide the global batch.
    """
    global_batch_size = int(global_batch_size)
    if global_batch_size < 1 or global_batch_size % dist.world_size:
        raise DataError(
            f"a global batch of {global_batch_size} does not split over {dist.world_size} "
            f"processes; use a multiple of {dist.world_size}"
        )
    return global_batch_size // dist.world_size


# ---------------------------------------------------------------------------- start-up checks
def config_hash(config) -> str:
    """SHA-256 (hex) of ``config`` as canonical JSON together with kcolor's, Keras's and torch's
    versions: equal on two machines only when they run the same set-up."""
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
        config: a JSON-able description of the run (paths that differ between machines should
            be left out).

    Returns:
        The hash (hex).

    Raises:
        DistributedError: when the ranks disagree.
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


# ---------------------------------------------------------------------------- tensors
def _flat_groups(tensors):
    """Tensors grouped by (device, dtype), in their order."""
    groups: dict = {}
    for t in tensors:
        groups.setdefault((t.device, t.dtype), []).append(t)
    return groups.values()


def _as_commable(flat: torch.Tensor) -> torch.Tensor:
    # uint32 state (Keras seed generators) travels as int32 with the same bits.
    return flat.view(torch.int32) if flat.dtype == torch.uint32 else flat


@torch.no_grad()
def broadcast_variables(dist: Dist, variables, src: int = 0) -> None:
    """Overwrite ``variables`` (Keras variables) on every rank with rank ``src``'s values."""
    if not dist.is_distributed:
        return
    import torch.distributed as tdist

    tensors = [v.value for v in variables]
    for group in _flat_groups(tensors):
        flat = torch.cat([t.detach().reshape(-1) for t in group])
        tdist.broadcast(_as_commable(flat), src=src)
        offset = 0
        for t in group:
            n = t.numel()
            t.copy_(flat[offset : offset + n].view_as(t))
            offset += n


@torch.no_grad()
def _average_tensors_(dist: Dist, tensors) -> None:
    import torch.distributed as tdist

    for group in _flat_groups(tensors):
        flat = torch.cat([t.detach().reshape(-1) for t in group])
        tdist.all_reduce(flat)
        flat.div_(dist.world_size)
        offset = 0
        for t in group:
            n = t.numel()
            t.copy_(flat[offset : offset + n].view_as(t))
            offset += n


def synced_clock(dist: Dist):
    """A clock (seconds) that reads rank 0's ``time.monotonic`` on every rank.

    Give it to time-based callbacks (``TimeBudget(..., clock=synced_clock(dist))``) so that
    every rank makes the same decisions (the same plan, decay and stop) at the same step. Each
    call is one small broadcast, so every rank must call it equally often; for a single process
    it is ``time.monotonic``.
    """
    if not dist.is_distributed:
        return time.monotonic

    import torch.distributed as tdist

    def clock() -> float:
        t = torch.tensor([time.monotonic()], dtype=torch.float64, device=dist.device)
        tdist.broadcast(t, src=0)
        return float(t.item())

    return clock


# ---------------------------------------------------------------------------- gradients
class GradientAllReduce:
    """Average every trainable variable's gradient over all ranks during ``backward``.

    A post-accumulate-grad hook on each trainable variable's torch tensor launches an
    asynchronous all-reduce of its gradient as soon as it is ready (in a fixed order, the
    same on every rank, so the collectives match); a callback queued on the autograd engine
    waits for them at the end of ``backward`` and divides by the world size. Keras's
    ``train_step`` then reads the averaged ``v.value.grad`` and steps its optimizer as usual,
    so ``model.fit``, ``compile`` and every optimizer stay untouched. A variable without a
    gradient on this rank (unused in the graph) gets a zero gradient, so that the ranks still
    agree; frozen variables (``trainable=False`` on every rank) are skipped, and variables
    unfrozen later are hooked by :meth:`refresh`.

    Args:
        dist: the :class:`Dist` of this process.
        model: a built Keras model; its trainable variables are hooked (see :meth:`refresh`).

    Example:
        >>> sync = GradientAllReduce(dist, model)       # doctest: +SKIP
        >>> model.fit(ShardedDataset(train, dist.rank, dist.world_size))  # doctest: +SKIP
        >>> sync.remove()                               # doctest: +SKIP
    """

    def __init__(self, dist: Dist, model):
        self.dist = dist
        self.model = model
        self._params: list = []
        self._handles: list = []
        self._hooked: set = set()
        self.refresh()
        if not self._params:
            raise DistributedError(f"model {model.name!r} has no trainable variables to sync")
        self.steps = 0
        self._reset()

    def refresh(self) -> int:
        """Hook the variables that became trainable since (``layer.trainable = True``), after
        the others in the same order on every rank; returns how many were added.
        :class:`BroadcastState` calls it at the start of every ``fit``."""
        added = 0
        # Backward reaches the last layers first: their gradients are launched first.
        for v in reversed(self.model.weights):
            p = v.value
            if not (isinstance(p, torch.Tensor) and p.is_leaf):
                raise DistributedError(f"variable {v.path} is not a torch leaf tensor")
            if id(p) in self._hooked or not p.requires_grad:
                continue
            index = len(self._params)
            self._params.append(p)
            self._hooked.add(id(p))
            if self.dist.is_distributed:
                self._handles.append(p.register_post_accumulate_grad_hook(self._hook(index)))
            added += 1
        self._reset()
        return added

    def _reset(self):
        self._ready = [False] * len(self._params)
        self._next = 0
        self._works = []
        self._queued = False

    def _hook(self, index: int):
        def hook(_param):
            self._on_ready(index)

        return hook

    def _on_ready(self, index: int) -> None:
        if not self._queued:
            self._queued = True
            torch.autograd.Variable._execution_engine.queue_callback(self._finish)
        self._ready[index] = True
        while self._next < len(self._params) and self._ready[self._next]:
            self._launch(self._next)
            self._next += 1

    def _launch(self, index: int) -> None:
        import torch.distributed as tdist

        grad = self._params[index].grad
        self._works.append((grad, tdist.all_reduce(grad, async_op=True)))

    def _finish(self) -> None:
        try:
            for index in range(self._next, len(self._params)):
                param = self._params[index]
                if not param.requires_grad:
                    continue
                if param.grad is None:
                    param.grad = torch.zeros_like(param)
                self._launch(index)
            for grad, work in self._works:
                work.wait()
                grad.div_(self.dist.world_size)
            self.steps += 1
        finally:
            self._reset()

    def remove(self) -> None:
        """Take the hooks off (gradients are then this rank's own again)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []


# ---------------------------------------------------------------------------- data
class ShardedDataset(keras.utils.PyDataset):
    """This rank's share of a dataset: ``DistributedSampler`` semantics for ``PyDataset``.

    **Training** (``training=True``): step ``s`` of an epoch is the global batch of
    ``world_size * batch_size`` consecutive positions of the dataset's epoch order, and rank
    ``r`` takes its ``r``-th slice of ``batch_size``. For kcolor's datasets
    (:class:`~kcolor.datasets.ArrayDataset`, :class:`~kcolor.datasets.ImageFolderDataset`) the
    order and every augmentation are functions of ``(seed, epoch, position)``, so 2 ranks of
    batch 4 see exactly the samples one process of batch 8 sees, reshuffled each epoch the same
    way on every rank (every rank must build the dataset with the same seed). Every rank gets
    the same number of full batches: a last, partial global batch is left out
    (``drop_last=True``, a warning on rank 0 says how many samples) or filled up with samples
    from the start of the epoch's order (``drop_last=False``, as ``DistributedSampler``).

    **Evaluation** (``training=False``): rank ``r`` takes positions ``r, r + world_size, ...``
    in batches of ``batch_size``: every sample exactly once over all ranks, nothing dropped
    or repeated; ranks may differ by one sample (:attr:`num_samples`, the weights
    :class:`AverageLogs` uses). A set smaller than the world (e.g. 1 held-out photo, 2
    processes) works too: a rank left without a sample of its own evaluates one batch of a
    copy (the sample, or for a generic ``PyDataset`` the batch, at ``rank % size``), so every
    rank runs the same evaluation loop, and reports :attr:`num_samples` 0, which gives its
    logs no weight in :class:`AverageLogs` (the logs are those of the ranks with samples).

    Any other ``keras.utils.PyDataset`` is sharded by whole batches (rank ``r`` of step ``s``
    takes batch ``s * world_size + r`` of an order of batches shuffled with ``seed`` per epoch
    when ``shuffle``; in evaluation batches ``r, r + world_size, ...``).

    Args:
        dataset: a ``keras.utils.PyDataset``; for kcolor's datasets its ``batch_size`` is the
            per-rank batch.
        rank, world_size: this process's rank and the number of processes.
        seed: seeds the batch order of a generic ``PyDataset`` (kcolor's datasets use their
            own seed).
        training: split for training (equal full batches) or for evaluation (every sample once).
        drop_last: training only: leave out a last partial global batch (``True``) or pad it.
        shuffle: a generic ``PyDataset``'s batch order is reshuffled each epoch (training
            only; default ``True``).

    Raises:
        DataError: when an epoch holds less than one global batch (training), or the data
            holds nothing at all.

    Example:
        >>> import numpy as np
        >>> from kcolor.datasets import ArrayDataset
        >>> from kcolor.distributed import ShardedDataset
        >>> photos = np.random.default_rng(0).integers(0, 256, (16, 8, 8, 3), dtype=np.uint8)
        >>> data = ArrayDataset(photos, batch_size=4, augment=True, size=8)
        >>> shards = [ShardedDataset(data, rank, 2) for rank in (0, 1)]
        >>> len(shards[0]), shards[0][0][0].shape
        (2, (4, 8, 8, 1))
    """

    def __init__(
        self,
        dataset,
        rank: int,
        world_size: int,
        seed: int = 0,
        training: bool = True,
        drop_last: bool = True,
        shuffle: bool = True,
    ):
        if not isinstance(dataset, keras.utils.PyDataset):
            raise TypeError(
                f"dataset must be a keras.utils.PyDataset, got {type(dataset).__name__}"
            )
        world_size, rank = int(world_size), int(rank)
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(
                f"rank must be in [0, world_size), got rank={rank}, world_size={world_size}"
            )
        super().__init__(
            workers=dataset.workers,
            use_multiprocessing=dataset.use_multiprocessing,
            max_queue_size=dataset.max_queue_size,
        )
        self.dataset = dataset
        self.rank = rank
        self.world_size = world_size
        self.seed = int(seed)
        self.training = bool(training)
        self.drop_last = bool(drop_last)
        self.shuffle = bool(shuffle)
        self.epoch = 0
        self.by_sample = isinstance(dataset, LabBatches)
        name = type(dataset).__name__
        if self.by_sample:
            self.batch_size = dataset.batch_size
            total = len(dataset.order)
            if self.training:
                global_batch = self.batch_size * world_size
                if total < global_batch:
                    raise DataError(
                        f"{name} holds {total} samples per epoch, fewer than one global batch "
                        f"({world_size} processes x batch {self.batch_size} = {global_batch}); "
                        "use a smaller batch size, fewer processes or more data"
                    )
                left = total % global_batch
                if left and self.drop_last and rank == 0:
                    warnings.warn(
                        f"{name}: {total} samples per epoch do not fill whole global batches of "
                        f"{world_size} x {self.batch_size}: the last {left} of each epoch's "
                        "order are left out (drop_last=True)",
                        stacklevel=2,
                    )
        else:
            self.batch_size = getattr(dataset, "batch_size", None)
            total = len(dataset)
            if total < world_size and self.training:
                raise DataError(
                    f"{name} holds {total} batches, fewer than the {world_size} processes "
                    "sharing it; use a smaller batch size or more data"
                )
        if total < 1:
            raise DataError(f"{name} holds no {'samples' if self.by_sample else 'batches'}")
        #: Evaluation only: this rank has no sample of its own and evaluates a weightless copy.
        self.filler = not self.training and rank >= total

    # ------------------------------------------------------------ epochs
    def on_epoch_begin(self):
        self.dataset.on_epoch_begin()

    def on_epoch_end(self):
        self.epoch += 1
        self.dataset.on_epoch_end()

    def set_epoch(self, epoch: int) -> None:
        """Jump to ``epoch`` (and the wrapped dataset too, when it has ``set_epoch``)."""
        self.epoch = int(epoch)
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)

    # ------------------------------------------------------------ which samples
    def _total(self) -> int:
        return len(self.dataset.order) if self.by_sample else len(self.dataset)

    def __len__(self) -> int:
        total, world = self._total(), self.world_size
        if self.training:
            unit = world * (self.batch_size if self.by_sample else 1)
            return total // unit if self.drop_last else math.ceil(total / unit)
        if self.filler:
            return 1
        mine = len(range(self.rank, total, world))
        return math.ceil(mine / self.batch_size) if self.by_sample else mine

    @property
    def num_samples(self) -> int | None:
        """Samples this rank sees per epoch (``None`` for a generic ``PyDataset``, unless it wraps
        a kcolor dataset batch for batch, as ``WithEmbeddings`` / ``PackedLTargets`` do);
        0 on a rank that only evaluates a copy (a set smaller than the world)."""
        if self.filler:
            return 0
        if not self.by_sample:
            inner = getattr(self.dataset, "dataset", None)  # e.g. PackedLTargets(ArrayDataset)
            if not isinstance(inner, LabBatches) or len(inner) != len(self.dataset):
                return None
            total, batch = len(inner.order), inner.batch_size
            wrapped = [self.positions(k)[0] for k in range(len(self))]
            return sum(min(batch, total - j * batch) for j in wrapped)
        if self.training:
            return len(self) * self.batch_size
        return len(range(self.rank, self._total(), self.world_size))

    def positions(self, index: int) -> list[int]:
        """The positions of the dataset's epoch order in this rank's batch ``index``
        (for a generic ``PyDataset``: the index of the wrapped batch, as a 1-list)."""
        if not 0 <= index < len(self):
            raise IndexError(f"batch index {index} out of range for {len(self)} batches")
        total, world, rank = self._total(), self.world_size, self.rank
        if self.filler:
            return [rank % total]
        if not self.by_sample:
            if not self.training:
                return [rank + index * world]
            order = np.arange(total)
            if self.shuffle:
                order = np.random.default_rng((self.seed, 4099, self.epoch)).permutation(total)
            return [int(order[(index * world + rank) % total])]
        batch = self.batch_size
        if self.training:
            start = (index * world + rank) * batch
            return [(start + j) % total for j in range(batch)]
        mine = range(rank, total, world)
        return list(mine[index * batch : (index + 1) * batch])

    def __getitem__(self, index: int):
        positions = self.positions(index)
        if not self.by_sample:
            return self.dataset[positions[0]]
        data = self.dataset
        order = data.order
        rgb = np.stack([data._fetch(int(order[p]), p) for p in positions])
        return lab_pair(rgb, data.lab_backend)


def _shard_validation(data, dist: Dist):
    """Validation data (a PyDataset or an ``(x, y)`` tuple of arrays) for this rank."""
    if data is None:
        return None
    if isinstance(data, keras.utils.PyDataset):
        return ShardedDataset(data, dist.rank, dist.world_size, training=False)
    if isinstance(data, (tuple, list)):
        return tuple(None if a is None else a[dist.rank :: dist.world_size] for a in data)
    raise TypeError(
        "validation data must be a keras.utils.PyDataset or an (x, y) tuple of arrays under "
        f"torch.distributed, got {type(data).__name__}"
    )


def _samples_of(data) -> int | None:
    if isinstance(data, ShardedDataset):
        return data.num_samples
    if isinstance(data, tuple) and data and hasattr(data[0], "__len__"):
        return len(data[0])
    return None


def _data_fingerprint(data) -> dict | None:
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


# ---------------------------------------------------------------------------- callbacks
def average_logs(dist: Dist, logs: dict, weight: float = 1.0, val_weight: float | None = None):
    """``logs`` averaged over all ranks: numeric values, weighted by ``weight`` (``val_*`` keys by
    ``val_weight``, e.g. each rank's number of validation samples); other values are rank 0's.

    Every rank gets the same dict. A key missing on a rank is averaged over the ranks that have it.
    """
    logs = dict(logs or {})
    if not dist.is_distributed:
        return logs
    numeric = {}
    for key, value in logs.items():
        try:
            numeric[key] = float(keras.ops.convert_to_numpy(value))
        except Exception:  # noqa: BLE001 - not a number: rank 0's value stays
            continue
    val_weight = weight if val_weight is None else val_weight
    gathered = all_gather_object(dist, (numeric, float(weight), float(val_weight)))
    out = dict(logs)
    keys = sorted({k for values, _, _ in gathered for k in values})
    for key in keys:
        total = norm = 0.0
        for values, w, vw in gathered:
            if key in values:
                ww = vw if key.startswith("val_") else w
                total += values[key] * ww
                norm += ww
        if norm > 0:
            out[key] = total / norm
    for key, value in gathered[0][0].items():
        if key not in out:
            out[key] = value
    return out


class AverageLogs(keras.callbacks.Callback):
    """Average the epoch logs (loss, metrics and their ``val_`` twins) over all ranks, in place.

    Put it **first** in the callbacks list: every later callback (``PandasLogger``,
    checkpoints, ``EarlyStopping``, ``ReduceLROnPlateau``) and the returned ``History`` then
    see the values of the whole data, the same on every rank. Training logs are averaged
    with equal weights (every rank trains on equal batches); validation logs with each
    rank's number of validation samples when given (exact for kcolor's mean-type losses and
    metrics).

    Args:
        dist: the :class:`Dist` of this process.
        val_samples: this rank's validation samples per epoch (``ShardedDataset.num_samples``),
            or ``None`` for equal weights.

    Example:
        >>> callbacks = [AverageLogs(dist, val.num_samples), PandasLogger("history.csv")]  # doctest: +SKIP
    """

    def __init__(self, dist: Dist, val_samples: int | None = None):
        super().__init__()
        self.dist = dist
        self.val_samples = val_samples

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or not self.dist.is_distributed:
            return
        weight = 1.0 if self.val_samples is None else float(self.val_samples)
        logs.update(average_logs(self.dist, logs, 1.0, weight))


class AverageNonTrainable(keras.callbacks.Callback):
    """Average the model's float non-trainable variables (batch-norm moving mean and variance)
    over all ranks before each validation and at each epoch end.

    During a step each rank normalises with its own batch's statistics (as
    ``DistributedDataParallel`` does without ``SyncBatchNorm``) and updates its own moving
    statistics; this callback makes them one again, so validation, checkpoints and the
    saved model use statistics of all ranks' data. Integer state (seed generators) is left
    alone.
    """

    def __init__(self, dist: Dist):
        super().__init__()
        self.dist = dist

    def _sync(self):
        if not self.dist.is_distributed:
            return
        tensors = [
            v.value for v in self.model.non_trainable_variables if v.value.is_floating_point()
        ]
        if tensors:
            _average_tensors_(self.dist, tensors)

    def on_test_begin(self, logs=None):
        self._sync()

    def on_epoch_end(self, epoch, logs=None):
        self._sync()


class BroadcastState(keras.callbacks.Callback):
    """At the start of ``fit``, copy rank 0's weights, optimizer state and initial epoch to every
    rank.

    Put it after any callback that loads state in ``on_train_begin``: a
    ``keras.callbacks.BackupAndRestore`` on rank 0 alone (the only rank that writes) then
    resumes every rank, at rank 0's epoch, with rank 0's weights and optimizer state (Keras
    reads ``model._initial_epoch`` after ``on_train_begin``).
    """

    def __init__(self, dist: Dist):
        super().__init__()
        self.dist = dist

    def on_train_begin(self, logs=None):
        if not self.dist.is_distributed:
            return
        import torch.distributed as tdist

        # The epoch to start from: a restore on rank 0 (BackupAndRestore) sets it there only.
        epoch = torch.tensor(
            [int(getattr(self.model, "_initial_epoch", None) or 0)],
            dtype=torch.int64,
            device=self.dist.device,
        )
        tdist.broadcast(epoch, src=0)
        if int(epoch.item()) or getattr(self.model, "_initial_epoch", None):
            self.model._initial_epoch = int(epoch.item())
        sync = getattr(self.model, "_kcolor_gradient_all_reduce", None)
        if sync is not None:
            sync.refresh()
        variables = list(self.model.variables)
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and getattr(optimizer, "built", False):
            variables += list(optimizer.variables)
        broadcast_variables(self.dist, variables)


class SyncStop(keras.callbacks.Callback):
    """When one rank sets ``model.stop_training``, stop every rank at the same step.

    Put it **last**, after every callback that may stop training (``EarlyStopping``,
    ``TerminateOnNaN``, ``TimeBudget``). One tiny all-reduce per step (and per epoch end).

    Args:
        dist: the :class:`Dist` of this process.
        every_batch: also check after every training batch (a mid-epoch stop); ``False``
            checks only at epoch ends.
    """

    def __init__(self, dist: Dist, every_batch: bool = True):
        super().__init__()
        self.dist = dist
        self.every_batch = bool(every_batch)

    def _sync(self):
        if not self.dist.is_distributed:
            return
        import torch.distributed as tdist

        flag = torch.tensor([1.0 if self.model.stop_training else 0.0], device=self.dist.device)
        tdist.all_reduce(flag, op=tdist.ReduceOp.MAX)
        if flag.item() > 0:
            self.model.stop_training = True

    def on_train_batch_end(self, batch, logs=None):
        if self.every_batch:
            self._sync()

    def on_epoch_end(self, epoch, logs=None):
        self._sync()


# ---------------------------------------------------------------------------- all in one
def _config_payload(config):
    if hasattr(config, "to_dict"):
        return config.to_dict()
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    return config


def shard_data(dist: Dist, train_data, val_data=None, drop_last: bool = True, check: bool = True):
    """This rank's ``(train_data, val_data)``: :class:`ShardedDataset` for training (equal full
    batches) and for evaluation (every sample once; an ``(x, y)`` tuple of arrays is sliced
    ``[rank::world_size]``). The inputs themselves for a single process.

    Args:
        check: gather each rank's data description (sizes, seed, batch size, file names) and
            fail when they differ (e.g. another data folder on another machine).

    Raises:
        DistributedError: when the ranks see different data.
        DataError: when the data does not fill one global batch.
    """
    if not dist.is_distributed:
        return train_data, val_data
    if check:
        fingerprint = {"train": _data_fingerprint(train_data), "val": _data_fingerprint(val_data)}
        gathered = all_gather_object(dist, fingerprint)
        odd = [r for r, f in enumerate(gathered) if f != gathered[0]]
        if odd:
            raise DistributedError(
                f"the ranks see different data: rank 0 {gathered[0]} but rank {odd[0]} "
                f"{gathered[odd[0]]}; every machine needs the same data folder and options"
            )
    if not isinstance(train_data, keras.utils.PyDataset):
        raise TypeError(
            "training data must be a keras.utils.PyDataset under torch.distributed, "
            f"got {type(train_data).__name__}"
        )
    train = ShardedDataset(train_data, dist.rank, dist.world_size, drop_last=drop_last)
    return train, _shard_validation(val_data, dist)


def sync_model(dist: Dist, model) -> GradientAllReduce | None:
    """Broadcast rank 0's weights to every rank and install :class:`GradientAllReduce` on
    ``model`` (once; kept as ``model._kcolor_gradient_all_reduce``). ``None`` for one process."""
    if not dist.is_distributed:
        return None
    broadcast_variables(dist, model.variables)
    sync = getattr(model, "_kcolor_gradient_all_reduce", None)
    if sync is None:
        sync = GradientAllReduce(dist, model)
        model._kcolor_gradient_all_reduce = sync
    return sync


def distributed_callbacks(dist: Dist, callbacks=(), val_data=None) -> list:
    """``[AverageLogs, AverageNonTrainable, *callbacks, BroadcastState, SyncStop]``
    (``callbacks`` alone for a single process).

    ``val_data`` is this rank's (sharded) validation data, whose sample count weighs the
    validation logs.
    """
    callbacks = list(callbacks or [])
    if not dist.is_distributed:
        return callbacks
    return [
        AverageLogs(dist, _samples_of(val_data)),
        AverageNonTrainable(dist),
        *callbacks,
        BroadcastState(dist),
        SyncStop(dist),
    ]


def wrap_training(
    dist: Dist,
    model,
    train_data,
    val_data=None,
    callbacks=(),
    config=None,
    drop_last: bool = True,
    check_data: bool = True,
):
    """Make a ``model.fit`` data-parallel in one call; a no-op for a single process.

    In order: :func:`check_same_config` (when ``config`` is given), :func:`shard_data`,
    :func:`sync_model` and :func:`distributed_callbacks`.

    Call it on every rank with the same model, data and *all* the callbacks of this rank, in
    their order: those that write files (loggers, checkpoints, previews, a
    ``BackupAndRestore``) on rank 0 only (``dist.is_main``), and the same control callbacks
    on every rank (``TimeBudget`` with ``clock=synced_clock(dist)``, ``EarlyStopping``,
    ``TerminateOnNaN``), so that the returned list has :class:`AverageLogs` before them and
    :class:`BroadcastState` and :class:`SyncStop` after them. ``verbose`` belongs to rank 0.
    The steps per epoch (for a learning-rate schedule) are ``len(train_data)`` of the
    *returned* data.

    Args:
        dist: from :func:`init_from_env`.
        model: the built (and possibly compiled) Keras model.
        train_data: a ``keras.utils.PyDataset`` (kcolor's datasets: ``batch_size`` per rank).
        val_data: ``None``, a ``PyDataset`` or an ``(x, y)`` tuple of arrays.
        callbacks: the callbacks of this rank.
        config: the run's configuration (a ``to_dict()`` object, a dataclass or JSON-able), or
            ``None`` to skip the check.
        drop_last: see :class:`ShardedDataset`.
        check_data: see :func:`shard_data`.

    Returns:
        ``(train_data, val_data, callbacks)`` to pass to ``model.fit``.

    Raises:
        DistributedError: when the ranks run different configs, versions or data.
        DataError: when the data does not fill one global batch.
    """
    if not dist.is_distributed:
        return train_data, val_data, list(callbacks or [])
    if config is not None:
        check_same_config(dist, _config_payload(config))
    train, val = shard_data(dist, train_data, val_data, drop_last=drop_last, check=check_data)
    sync_model(dist, model)
    return train, val, distributed_callbacks(dist, callbacks, val)
