"""Data-parallel training speed: 1 process against N processes (torchrun, kcolor.distributed).

Strong scaling: the global batch is fixed, so every world size does the same arithmetic per
step (one process of batch ``B`` against ``N`` processes of ``B / N``, whose averaged gradient
is the same; see tests/test_distributed.py). Each world size is one
``python -m torch.distributed.run --nproc-per-node N`` launch of this script (``--worker``):
it trains beta (or alpha) with ``model.fit`` on an in-memory ``ArrayDataset`` through
``kcolor.distributed.wrap_training``, one untimed warm-up epoch, then ``--reps`` timed epochs
of ``--steps`` steps; rank 0 reports global img/s per epoch (wall clock, between barriers)
and each rank's process CPU seconds.

Backend: NCCL when torch sees CUDA (one GPU per process: ``--nprocs`` up to the GPU count),
gloo on CPUs. On CPUs every process gets ``--threads / N`` torch threads (default: all
cores shared out), so the world sizes compete for the same cores.

Usage:
    python benchmarks/distributed.py                          # 1 vs 2 processes, beta 64 px, batch 16
    python benchmarks/distributed.py --nprocs 1,2,4,8 --size 128 --batch 64   # on a GPU machine
    python benchmarks/distributed.py --quick                  # a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(args) -> None:
    import numpy as np
    import torch

    import kcolor
    from kcolor import distributed, models
    from kcolor.datasets import ArrayDataset

    import keras  # isort: skip

    dist = distributed.init_from_env()
    if not torch.cuda.is_available():
        torch.set_num_threads(max(1, args.threads // dist.world_size))
    per_rank = distributed.per_rank_batch_size(args.batch, dist)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.batch * args.steps, args.size, args.size, 3), np.uint8)
    data = ArrayDataset(images, batch_size=per_rank, augment=False)
    model = getattr(models, args.model)((args.size, args.size, 1))
    model.compile(keras.optimizers.RMSprop(1e-3), "mse")

    times = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            distributed.barrier(dist)
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            distributed.barrier(dist)
            times.append(time.perf_counter() - self.start)

    train, _, callbacks = distributed.wrap_training(dist, model, data, None, [EpochTimer()])
    model.fit(train, epochs=1, callbacks=callbacks, verbose=0)  # warm-up
    times.clear()
    cpu0 = time.process_time()
    model.fit(train, epochs=args.reps, callbacks=callbacks, verbose=0)
    cpu = time.process_time() - cpu0
    cpus = distributed.all_gather_object(dist, cpu)
    if dist.is_main:
        result = {
            "world_size": dist.world_size,
            "backend": dist.backend or "none (1 process)",
            "per_rank_batch": per_rank,
            "threads_per_rank": torch.get_num_threads(),
            "device": str(kcolor.device()),
            "img_s": [args.batch * args.steps / t for t in times],
            "cpu_s_per_epoch": sum(cpus) / args.reps,
        }
        Path(args.out).write_text(json.dumps(result))
    distributed.shutdown(dist)


def run(args) -> None:
    import torch

    nprocs = [int(n) for n in args.nprocs.split(",")]
    print(
        f"model {args.model}, {args.size} px, global batch {args.batch}, "
        f"{args.steps} steps x {args.reps} timed epochs, torch {torch.__version__}, "
        f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in nprocs:
            out = Path(tmp) / f"{n}.json"
            cmd = [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--nproc-per-node",
                str(n),
                "--master-addr",
                "127.0.0.1",
                "--master-port",
                str(_free_port()),
                str(HERE),
                "--worker",
                "--out",
                str(out),
                "--model",
                args.model,
                "--size",
                str(args.size),
                "--batch",
                str(args.batch),
                "--steps",
                str(args.steps),
                "--reps",
                str(args.reps),
                "--threads",
                str(args.threads),
            ]
            env = dict(
                os.environ, KERAS_BACKEND="torch", OMP_NUM_THREADS=str(max(1, args.threads // n))
            )
            start = time.perf_counter()
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if proc.returncode != 0 or not out.is_file():
                sys.exit(f"{n} process(es) failed:\n{proc.stderr[-4000:]}")
            result = json.loads(out.read_text())
            result["launch_s"] = time.perf_counter() - start
            rows.append(result)
    base = statistics.median(rows[0]["img_s"])
    print()
    print(
        "| processes | backend | batch per process | threads per process | img/s (median) "
        "| speed-up | CPU s per epoch (all processes) | run wall s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        med = statistics.median(r["img_s"])
        print(
            f"| {r['world_size']} | {r['backend']} | {r['per_rank_batch']} | "
            f"{r['threads_per_rank']} | {med:.1f} ({min(r['img_s']):.1f}-{max(r['img_s']):.1f}) "
            f"| {med / base:.2f}x | {r['cpu_s_per_epoch']:.1f} | {r['launch_s']:.0f} |"
        )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nprocs", default="1,2", help="world sizes to time (default 1,2)")
    parser.add_argument("--model", default="beta", choices=["alpha", "beta"])
    parser.add_argument("--size", type=int, default=64, help="image side (default 64)")
    parser.add_argument("--batch", type=int, default=16, help="global batch (default 16)")
    parser.add_argument("--steps", type=int, default=8, help="steps per epoch (default 8)")
    parser.add_argument("--reps", type=int, default=3, help="timed epochs (default 3)")
    parser.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="CPU threads shared out over the processes (default: all cores)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: alpha 32 px, 2 steps")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.model, args.size, args.batch, args.steps, args.reps = "alpha", 32, 4, 2, 1
    if args.worker:
        worker(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
