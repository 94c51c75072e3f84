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
