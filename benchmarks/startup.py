"""Start-up time of the `kcolor` command: usage errors and listings before torch and Keras load.

Each command runs as a fresh process, interleaved with a bare ``python -c pass`` (the
interpreter's own start) and with ``import torch, keras`` (what the heavy commands pay);
medians of ``--reps`` runs. Targets: usage errors <= 1.5 s, ``--help`` and ``models`` <= 1 s.

    python benchmarks/startup.py --reps 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

COMMANDS = {
    "python -c pass (floor)": [sys.executable, "-c", "pass"],
    "kcolor --help": [sys.executable, "-m", "kcolor", "--help"],
    "kcolor models": [sys.executable, "-m", "kcolor", "models"],
    "kcolor colorize missing.jpg -o OUT": [
        sys.executable,
        "-m",
        "kcolor",
        "colorize",
        "missing.jpg",
        "-o",
        "{tmp}/out",
    ],
    "kcolor evaluate DIR --model unknown": [
        sys.executable,
        "-m",
        "kcolor",
        "evaluate",
        "{tmp}",
        "--model",
        "unknown",
        "-o",
        "{tmp}/e",
    ],
    "kcolor train --data missing/": [
        sys.executable,
        "-m",
        "kcolor",
        "train",
        "--model",
        "beta",
        "--data",
        "{tmp}/missing",
        "-o",
        "{tmp}/r",
    ],
    "import torch, keras (reference)": [sys.executable, "-c", "import kcolor, torch, keras"],
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args(argv)
    times = {name: [] for name in COMMANDS}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.reps):
            for name, cmd in COMMANDS.items():
                cmd = [c.replace("{tmp}", tmp) for c in cmd]
                start = time.perf_counter()
                subprocess.run(cmd, capture_output=True, env={**os.environ, "MPLBACKEND": "Agg"})
                times[name].append(time.perf_counter() - start)
    floor = statistics.median(times["python -c pass (floor)"])
    print(f"load average {os.getloadavg()[0]:.1f}; medians of {args.reps}\n")
    print("| command | median s | min s | minus the bare interpreter |")
    print("|---|---|---|---|")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"| {name} | {med:.2f} | {min(values):.2f} | {med - floor:.2f} |")


if __name__ == "__main__":
    main()
