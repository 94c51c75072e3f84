"""Gradients and weights that agree across ranks: the all-reduce inside ``backward``.

* :class:`GradientAllReduce` averages the gradients over all ranks inside ``backward``, before
  Keras's optimizer step (post-accumulate-grad hooks on the variables' torch tensors, the
  mechanism of ``DistributedDataParallel``).
* :func:`broadcast_variables` copies rank 0's Keras variables to every rank;
  :func:`average_tensors_` averages tensors in place. Both flatten the tensors into one
  buffer per (device, dtype), so a model costs a few collectives, not one per variable.
* :func:`sync_model` does both for a model: rank 0's weights everywhere, then the hooks.
"""

from __future__ import annotations

import torch

from kcolor.distributed.group import Dist, DistributedError

__all__ = ["GradientAllReduce", "average_tensors_", "broadcast_variables", "sync_model"]


# ---------------------------------------------------------------------------- flat tensors
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
    """Overwrite ``variables`` (Keras variables) on every rank with rank ``src``'s values.

    Args:
        dist: the :class:`~kcolor.distributed.Dist` of this process.
        variables: Keras variables, the same list in the same order on every rank.
        src: the rank whose values win.

    Example:
        >>> import keras
        >>> from kcolor.distributed import Dist, broadcast_variables
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> broadcast_variables(Dist(), model.variables)  # one process: nothing to copy
    """
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
def average_tensors_(dist: Dist, tensors) -> None:
    """Replace each of ``tensors`` (float torch tensors) by its mean over all ranks, in place.

    Every rank must pass tensors of the same shapes, dtypes and order. Only for a process
    group (``dist.is_distributed``): callers skip it for a single process.

    Args:
        dist: the :class:`~kcolor.distributed.Dist` of this process.
        tensors: torch tensors, e.g. the ``value`` of batch-norm moving statistics.
    """
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
        dist: the :class:`~kcolor.distributed.Dist` of this process.
        model: a built Keras model; its trainable variables are hooked (see :meth:`refresh`).

    Raises:
        DistributedError: when the model has no trainable variables, or a variable is not a
            torch leaf tensor.

    Example:
        >>> import keras
        >>> from kcolor.distributed import Dist, GradientAllReduce
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> sync = GradientAllReduce(Dist(), model)  # one process: no hooks, own gradients
        >>> sync.refresh()  # no variable was unfrozen since
        0
        >>> sync.remove()

        Under ``torchrun``, with this rank's shard of the data:

        >>> sync = GradientAllReduce(dist, model)  # doctest: +SKIP
        >>> model.fit(ShardedDataset(train, dist.rank, dist.world_size))  # doctest: +SKIP
        >>> sync.remove()  # doctest: +SKIP
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
        :class:`~kcolor.distributed.BroadcastState` calls it at the start of every ``fit``."""
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


def sync_model(dist: Dist, model) -> GradientAllReduce | None:
    """Broadcast rank 0's weights to every rank and install :class:`GradientAllReduce` on
    ``model`` (once; kept as ``model._kcolor_gradient_all_reduce``). ``None`` for one process.

    Args:
        dist: the :class:`~kcolor.distributed.Dist` of this process.
        model: a built Keras model, the same architecture on every rank.

    Returns:
        The model's :class:`GradientAllReduce`, or ``None`` for a single process.

    Example:
        >>> import keras
        >>> from kcolor.distributed import Dist, sync_model
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> sync_model(Dist(), model) is None
        True
    """
    if not dist.is_distributed:
        return None
    broadcast_variables(dist, model.variables)
    sync = getattr(model, "_kcolor_gradient_all_reduce", None)
    if sync is None:
        sync = GradientAllReduce(dist, model)
        model._kcolor_gradient_all_reduce = sync
    return sync
