"""`torchrun --nproc-per-node 2 -m kcolor train`: one run folder written by rank 0, resumable."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(*argv, timeout=300):
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "KCOLOR_DIST_TIMEOUT": "60"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        "2",
        "--master-addr",
        "127.0.0.1",
        "--master-port",
        str(_free_port()),
        "-m",
        "kcolor",
        "train",
        *argv,
    ]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_torchrun_kcolor_train_writes_one_run_and_resumes(tmp_path):
    data = tmp_path / "photos"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(10):
        base = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        Image.fromarray(base).resize((24, 24), Image.BILINEAR).save(data / f"p{i}.png")
    run = tmp_path / "run"
    argv = [
        "--model",
        "alpha",
        "--data",
        str(data),
        "-o",
        str(run),
        "--size",
        "16",
        "--batch-size",
        "2",
        "--val-split",
        "0.2",
        "-q",
    ]
    proc = _torchrun(*argv, "--epochs", "2")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    history = pd.read_csv(run / "history.csv")
    assert list(history["epoch"]) == [0, 1]  # one row per epoch, from rank 0 alone
    meta = json.loads((run / "metadata.json").read_text())
    assert meta["world_size"] == 2 and meta["epochs_run"] == 2
    # 8 training photos, a global batch of 2 x 2: 2 steps per epoch on each rank
    assert meta["train_images"] == 8
    proc = _torchrun(*argv, "--epochs", "3", "--resume")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "continuing at epoch 3 of 3" in proc.stderr
    assert list(pd.read_csv(run / "history.csv")["epoch"]) == [0, 1, 2]


@pytest.mark.slow
def test_torchrun_kcolor_train_with_one_held_out_photo(tmp_path):
    """Issue 27: 16 photos hold out 1 (--val-split 0.05), fewer than the 2 processes; rank 0
    evaluates it (rank 1 a copy that weighs nothing) instead of refusing to start."""
    data = tmp_path / "photos"
    data.mkdir()
    rng = np.random.default_rng(1)
    for i in range(16):
        base = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        Image.fromarray(base).resize((24, 24), Image.BILINEAR).save(data / f"p{i}.png")
    run = tmp_path / "run"
    proc = _torchrun(
        "--model",
        "alpha",
        "--data",
        str(data),
        "-o",
        str(run),
        "--size",
        "16",
        "--batch-size",
        "4",
        "--epochs",
        "1",
        "-q",
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "fewer than the 2 processes" not in proc.stderr
    meta = json.loads((run / "metadata.json").read_text())
    assert meta["world_size"] == 2 and meta["val_images"] == 1 and meta["train_images"] == 15
    history = pd.read_csv(run / "history.csv")
    assert len(history) == 1 and np.isfinite(history["val_loss"]).all()
    assert meta["metrics"]["held_out"]["photos"] == 1
