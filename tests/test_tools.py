"""The scripts in tools/ run (on the CPU here)."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_device_check_passes_on_this_device():
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "device_check.py")],
                          capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "fast path vs stock Keras: max abs diff 0.00e+00" in proc.stdout
    assert "DEVICE CHECK OK" in proc.stdout


def test_compare_aspect_prints_both_modes(tmp_path):
    from skimage import data

    from kcolor import io

    for name in ("astronaut", "coffee"):  # 512x512 and 400x600
        io.save_image(tmp_path / f"{name}.png", getattr(data, name)())
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, str(REPO / "tools" / "compare_aspect.py"), str(tmp_path), "--n", "2",
         "--presets", "beta-photos"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines() if line.startswith("beta-photos")]
    assert [r[1] for r in rows] == ["squash", "keep"]
    assert all(0 < float(r[-4]) < 100 for r in rows)  # a PSNR in dB was measured
