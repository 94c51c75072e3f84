"""Wallner's beta network written by hand in pure PyTorch, the benchmarks' reference.

A plain eager NCHW ``nn.Module`` with the same layers, the same TensorFlow/Keras
"same" padding (stride-2 convolutions on even sizes pad 0 before and 1 after,
with ``F.pad``), the same loss (MSE) and an RMSprop with Keras' default
hyperparameters (lr 1e-3, rho 0.9, eps 1e-7). Also builds the kcolor beta
model (``kcolor.models.beta`` when present, else the same stack inline from
``kcolor.layers``) and copies weights from Keras to torch.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import kcolor  # noqa: F401  (torch backend before keras)

# (filters, stride, activation) per conv; "up" is a 2x nearest upsampling.
BETA_STACK = [
    (64, 1, "relu"),
    (64, 2, "relu"),
    (128, 1, "relu"),
    (128, 2, "relu"),
    (256, 1, "relu"),
    (256, 2, "relu"),
    (512, 1, "relu"),
    (256, 1, "relu"),
    (128, 1, "relu"),
    "up",
    (64, 1, "relu"),
    "up",
    (32, 1, "relu"),
    (2, 1, "tanh"),
    "up",
]


def _same_pad(size: int, kernel: int, stride: int) -> tuple[int, int]:
    if stride == 1:
        total = kernel - 1
    else:
        total = max(0, (-(-size // stride) - 1) * stride + kernel - size)
    return total // 2, total - total // 2


class SameConv(nn.Module):
    """3x3 conv + activation with TensorFlow "same" padding, NCHW."""

    def __init__(self, cin: int, cout: int, stride: int, activation: str):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=0)
        self.stride = stride
        self.activation = activation

    def forward(self, x):
        top, bottom = _same_pad(x.shape[2], 3, self.stride)
        left, right = _same_pad(x.shape[3], 3, self.stride)
        if top == bottom and left == right:
            x = F.conv2d(x, self.conv.weight, self.conv.bias, self.stride, (top, left))
        else:
            x = self.conv(F.pad(x, (left, right, top, bottom)))
        return torch.relu(x) if self.activation == "relu" else torch.tanh(x)


class TorchBeta(nn.Sequential):
    """The beta network in plain PyTorch: input (N, 1, H, W) encoded L, output (N, 2, H, W)."""

    def __init__(self):
        mods, cin = [], 1
        for spec in BETA_STACK:
            if spec == "up":
                mods.append(nn.Upsample(scale_factor=2, mode="nearest"))
            else:
                cout, stride, act = spec
                mods.append(SameConv(cin, cout, stride, act))
                cin = cout
        super().__init__(*mods)


def torch_rmsprop(module: nn.Module) -> torch.optim.Optimizer:
    """RMSprop with Keras' default hyperparameters."""
    return torch.optim.RMSprop(module.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)


def kcolor_beta(size: int | None = None):
    """The kcolor beta model (Keras functional), compiled like the article: RMSprop, MSE.

    Uses ``kcolor.models.beta`` when it exists, else builds the stack inline
    from ``kcolor.layers``. Returns ``(model, source)``.
    """
    import keras

    try:
        from kcolor.models import beta

        model, source = beta((size, size, 1)), "kcolor.models.beta"
    except (ImportError, AttributeError):
        from kcolor.layers import Conv2D, UpSampling2D

        inputs = keras.Input((size, size, 1))
        x = inputs
        for spec in BETA_STACK:
            if spec == "up":
                x = UpSampling2D((2, 2))(x)
            else:
                cout, stride, act = spec
                x = Conv2D(cout, 3, strides=stride, padding="same", activation=act)(x)
        model, source = keras.Model(inputs, x, name="beta"), "inline kcolor.layers stack"
    model.compile(optimizer=keras.optimizers.RMSprop(), loss="mse")
    return model, source


def copy_keras_to_torch(model, module: TorchBeta) -> None:
    """Copy the conv weights of a Keras beta model into a :class:`TorchBeta`, in order."""
    kconvs = [layer for layer in model.layers if hasattr(layer, "kernel")]
    tconvs = [m.conv for m in module if isinstance(m, SameConv)]
    if len(kconvs) != len(tconvs):
        raise ValueError(f"{len(kconvs)} Keras convs vs {len(tconvs)} torch convs")
    with torch.no_grad():
        for k, t in zip(kconvs, tconvs, strict=True):
            kernel, bias = (np.asarray(w) for w in k.get_weights())
            t.weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()))
            t.bias.copy_(torch.from_numpy(bias))


def make_batch(batch: int, size: int, seed: int = 0):
    """A random (x, y) batch in the model's ranges: x (N,H,W,1) in [-1,1], y (N,H,W,2) in [-0.5,0.5]."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (batch, size, size, 1)).astype("float32")
    y = rng.uniform(-0.5, 0.5, (batch, size, size, 2)).astype("float32")
    return x, y


def torch_train_loop(module, opt, x_nchw, y_nchw, *, batch, steps, device, memory_format=None):
    """A callable that runs ``steps`` hand-written PyTorch training steps (MSE) of ``module``.

    ``x_nchw``/``y_nchw`` (numpy arrays or CPU tensors, NCHW) are sliced into ``batch``-sized
    batches and moved to ``device`` one by one, as a DataLoader loop would; with
    ``memory_format`` (e.g. ``torch.channels_last``) each batch is made contiguous in it.
    """

    def run():
        for i in range(steps):
            xb = torch.as_tensor(x_nchw[i * batch : (i + 1) * batch]).to(device)
            yb = torch.as_tensor(y_nchw[i * batch : (i + 1) * batch]).to(device)
            if memory_format is not None:
                xb = xb.contiguous(memory_format=memory_format)
                yb = yb.contiguous(memory_format=memory_format)
            opt.zero_grad(set_to_none=True)
            loss = F.mse_loss(module(xb), yb)
            loss.backward()
            opt.step()
        sync(device)

    return run


def sync(device) -> None:
    """Wait for queued GPU work, so that wall-clock timings are honest on CUDA."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def interleaved(runs: dict, reps: int, clock: str = "wall") -> dict:
    """Time each callable in ``runs`` once per repetition, in turn, ``reps`` times.

    Returns ``{name: [seconds, ...]}``; the order of the callables alternates
    every repetition so that neither always runs first. ``clock="cpu"`` times
    the process's CPU seconds (``time.process_time``, all threads) instead of
    wall-clock seconds: on a CPU shared with other jobs that measures the work
    done rather than the share of the CPU the process happened to get (best
    with one torch thread, where no thread spins waiting for another).
    """
    import sys
    import time

    names = list(runs)
    times = {name: [] for name in names}
    for rep in range(reps):
        for name in names if rep % 2 == 0 else names[::-1]:
            now = time.process_time if clock == "cpu" else time.perf_counter
            start = now()
            runs[name]()
            times[name].append(now() - start)
        done = ", ".join(f"{n} {times[n][-1]:.2f}s" for n in names)
        print(f"    rep {rep + 1}/{reps}: {done}", file=sys.stderr, flush=True)
    return times


def print_table(headers, rows) -> None:
    """Print a plain Markdown table."""
    cells = [list(map(str, headers))] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    fmt = "| " + " | ".join(f"{{:{w}}}" for w in widths) + " |"
    print(fmt.format(*cells[0]))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        print(fmt.format(*row))
