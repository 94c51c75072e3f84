"""The command line and the report shared by ``train_speed.py`` and ``infer_speed.py``.

Both scripts time kcolor against the pure PyTorch reference on a list of
``SIZExBATCH`` configurations and print one Markdown table row per
configuration: img/s medians, the ratio of medians, the median paired ratio,
the ``--extra`` contenders and whether the ratio meets the script's target.
Each script supplies only what differs: its ``bench_config`` and its wording.
"""

from __future__ import annotations

import argparse
import statistics

from _beta_torch import interleaved, print_table

import kcolor
from kcolor import layers as klayers


def parse_configs(text: str) -> list[tuple[int, int]]:
    """``"256x8,128x16"`` -> ``[(256, 8), (128, 16)]`` (size, batch)."""
    out = []
    for item in text.split(","):
        size, batch = item.lower().split("x")
        out.append((int(size), int(batch)))
    return out


def without_fast_path(run):
    """``run`` with kcolor's layer fast path switched off (stock Keras on torch) while it runs."""

    def plain():
        previous = klayers.set_fast_path(False)
        try:
            return run()
        finally:
            klayers.set_fast_path(previous)

    return plain


def images_per_second(runs: dict, *, images: int, reps: int, warmup: int, clock: str) -> dict:
    """Warm every contender up, then time them interleaved: ``{name: [img/s per repetition]}``.

    ``images`` is how many images one call of a contender processes. kcolor's
    fast-path call counter is reset after the warm-up, so
    ``kcolor.layers.fast_path_calls()`` afterwards counts the timed calls only.
    """
    for _ in range(warmup):
        for run in runs.values():
            run()
    klayers.fast_path_calls(reset=True)
    times = interleaved(runs, reps, clock)
    return {name: [images / t for t in ts] for name, ts in times.items()}


def speed_parser(
    doc: str, *, default_steps: int, step: str, steps: str, extra_help: str
) -> argparse.ArgumentParser:
    """The options both speed scripts take.

    Args:
        doc: the script's docstring (the ``--help`` text).
        default_steps: default of ``--steps``.
        step: what one step is, e.g. ``"training step"`` or ``"forward pass"``.
        steps: its plural, e.g. ``"training steps"`` or ``"forward passes"``.
        extra_help: what ``--extra`` adds.
    """
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--configs", default="256x8,128x16", help="SIZExBATCH,... (default 256x8,128x16)"
    )
    parser.add_argument(
        "--reps", type=int, default=5, help="timed repetitions per contender (default 5)"
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=default_steps,
        help=f"{steps} per repetition (default {default_steps})",
    )
    parser.add_argument(
        "--warmup", type=int, default=1, help="untimed repetitions first (default 1)"
    )
    parser.add_argument("--extra", action="store_true", help=extra_help)
    parser.add_argument("--quick", action="store_true", help=f"smoke run: 64x4, 2 reps x 1 {step}")
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall-clock seconds (default) or process CPU seconds (robust on a shared CPU; use --threads 1)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)"
    )
    return parser


def start_run(args, steps_label: str, *, prefix: str = "", suffix: str = "") -> None:
    """Set ``--threads`` and print the run's header line (device, torch, threads, clock, reps).

    ``prefix`` and ``suffix`` add fields before and after the common ones.
    """
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"{prefix}device={kcolor.device()} torch={torch.__version__} threads={torch.get_num_threads()} "
        f"clock={args.clock} reps={args.reps} {steps_label}={args.steps} warmup={args.warmup}{suffix}"
    )


def run_speed(args, bench_config, *, target: float, extra_names, steps_label: str) -> None:
    """Run ``bench_config`` on every configuration in ``args`` and print the table.

    Args:
        args: the parsed :func:`speed_parser` options.
        bench_config: ``(size, batch, steps, reps, warmup, extra, clock) -> (source, ips,
            detail)``, with ``ips`` ``{contender: [img/s per repetition]}`` holding at
            least ``"kcolor"`` and ``"torch"``, and ``detail`` a short note for the log line.
        target: the kcolor/torch ratio of medians the last column checks.
        extra_names: the ``--extra`` contenders, in column order ("-" when one is missing).
        steps_label: the header's name for ``--steps``, e.g. ``"steps/rep"``.
    """
    if args.quick:
        args.configs, args.reps, args.steps = "64x4", 2, 1

    start_run(args, steps_label)
    rows = []
    for size, batch in parse_configs(args.configs):
        source, ips, detail = bench_config(
            size, batch, args.steps, args.reps, args.warmup, args.extra, args.clock
        )
        med = {name: statistics.median(v) for name, v in ips.items()}
        paired = statistics.median(k / t for k, t in zip(ips["kcolor"], ips["torch"], strict=True))
        ratio = med["kcolor"] / med["torch"]
        row = [
            f"{size}px b{batch}",
            f"{med['kcolor']:.2f}",
            f"{med['torch']:.2f}",
            f"{ratio:.2f}x",
            f"{paired:.2f}x",
        ]
        if args.extra:
            row += [f"{med[n]:.2f}" if n in med else "-" for n in extra_names]
        row.append("yes" if ratio >= target else "NO")
        rows.append(row)
        spread = {n: f"{min(v):.2f}-{max(v):.2f}" for n, v in ips.items()}
        print(f"  {size}px b{batch}: model from {source}; {detail}; img/s range {spread}")
    headers = [
        "config",
        f"kcolor img/{args.clock}-s",
        f"torch img/{args.clock}-s",
        "ratio (medians)",
        "median paired ratio",
    ]
    if args.extra:
        headers += [f"{n} img/{args.clock}-s" for n in extra_names]
    headers.append(f">= {target}x")
    print()
    print_table(headers, rows)
