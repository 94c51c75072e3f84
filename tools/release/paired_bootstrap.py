"""Paired bootstrap of two colourisers scored on the same photos: B minus A, with 95 % intervals.

Reads ``per_image.csv`` files written by ``kcolor evaluate`` / ``choose_decoding.py`` (one
row per photo, columns ``SYSTEM/psnr``, ``SYSTEM/semantic_agree``, ``SYSTEM/vivid_hits``,
``SYSTEM/vivid_pixels``) and resamples the photos: mean PSNR, mean semantic agreement and
vivid recall (a ratio of sums, as ``kcolor evaluate`` reports it).

Usage (the backbone comparison of docs/campaign.md)::

    python tools/release/paired_bootstrap.py \
        --a score-lite0/per_image.csv --a-system "128px T=0.5 a=0.5" \
        --b score-lite2/per_image.csv --b-system "128px T=0.5 a=0.5"
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

METRICS = ("PSNR", "agreement", "vivid recall")


def table(paths: list[str], system: str) -> pd.DataFrame:
    """The columns of ``system`` from whichever of ``paths`` holds them, indexed by file."""
    for path in paths:
        df = pd.read_csv(path).set_index("file")
        if f"{system}/psnr" in df.columns:
            return df[[c for c in df.columns if c.startswith(f"{system}/")]]
    raise SystemExit(f"no column {system}/psnr in {', '.join(paths)}")


def scores(df: pd.DataFrame, system: str, idx: np.ndarray) -> np.ndarray:
    d = df.iloc[idx]
    return np.array(
        [
            d[f"{system}/psnr"].mean(),
            d[f"{system}/semantic_agree"].mean(),
            d[f"{system}/vivid_hits"].sum() / d[f"{system}/vivid_pixels"].sum(),
        ]
    )


def paired_bootstrap(a, a_sys, b, b_sys, resamples=2000, seed=0):
    """(difference, low, high) arrays over :data:`METRICS`, B minus A, 95 % intervals."""
    b = b.loc[a.index]  # the same photos, in the same order
    n = len(a)
    rng = np.random.default_rng(seed)
    every = np.arange(n)
    diff = scores(b, b_sys, every) - scores(a, a_sys, every)
    boots = np.array(
        [
            scores(b, b_sys, i) - scores(a, a_sys, i)
            for i in (rng.integers(0, n, n) for _ in range(resamples))
        ]
    )
    low, high = np.percentile(boots, [2.5, 97.5], axis=0)
    return diff, low, high


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--a", nargs="+", required=True, metavar="CSV")
    p.add_argument("--a-system", required=True)
    p.add_argument("--b", nargs="+", required=True, metavar="CSV")
    p.add_argument("--b-system", required=True)
    p.add_argument("--resamples", type=int, default=2000)
    args = p.parse_args(argv)
    a, b = table(args.a, args.a_system), table(args.b, args.b_system)
    diff, low, high = paired_bootstrap(a, args.a_system, b, args.b_system, args.resamples)
    print(
        f"B [{args.b_system}] - A [{args.a_system}], n={len(a)}: "
        + "; ".join(
            f"{k} {d:+.3f} [{lo:+.3f}, {hi:+.3f}]"
            for k, d, lo, hi in zip(METRICS, diff, low, high, strict=True)
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
