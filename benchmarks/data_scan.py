"""How long does ``kcolor data scan`` take on the project's photo folders? Target: <= 5 minutes.

Scans the eight folders of ``../shared/data/photos`` (about 46,500 photos) exactly as
``kcolor data scan`` does (decoding in worker processes, thumbnails, hashes, near-duplicate
search) and prints one Markdown table row: files, wall seconds, files/s, CPU seconds of the
parent and of the workers, the quiet-machine estimate ``CPU seconds / cores`` (the CPU is
shared with other jobs here), peak memory of the parent and of the largest worker, and the
load average before and after. ``--limit N`` scans the first N files only, to show that
memory does not grow with the number of files.

Usage::

    nice -n 10 python benchmarks/data_scan.py                  # the whole photo set
    python benchmarks/data_scan.py --limit 5000                 # a quicker run
    python benchmarks/data_scan.py --dirs a/ b/ -o manifest.csv
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PHOTOS = REPO.parent / "shared" / "data" / "photos"
FOLDERS = (
    "bsds500/train",
    "bsds500/test",
    "faces",
    "flowers",
    "imagenet-sample",
    "tiny-imagenet-train",
    "tiny-imagenet-val",
    "tiny-imagenet-test",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dirs", nargs="+", default=[str(PHOTOS / f) for f in FOLDERS])
    parser.add_argument("--workers", type=int, default=None, help="default: one per core")
    parser.add_argument("--limit", type=int, default=None, help="scan only the first N files")
    parser.add_argument("-o", "--output", default=None, help="also write the manifest")
    args = parser.parse_args()

    from kcolor.curation import scanner
    from kcolor.curation.manifest import write_manifest

    missing = [d for d in args.dirs if not os.path.isdir(d)]
    if missing:
        raise SystemExit(f"missing folder(s): {', '.join(missing)}")
    dirs = args.dirs
    if args.limit:  # the first N files, as single-file inputs of their folders' names
        files = []
        for d in dirs:
            found, _ = scanner.io.find_images([d], recursive=True)
            files.extend(found)
        dirs = files[: args.limit]
    load_before = os.getloadavg()
    start = time.perf_counter()
    df = scanner.scan(dirs, workers=args.workers, progress=False)
    wall = time.perf_counter() - start
    load_after = os.getloadavg()
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    cores = args.workers or os.cpu_count() or 1
    cpu_own, cpu_kids = own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime
    if args.output:
        write_manifest(df, args.output)
    print(
        "| files | wall s | files/s | CPU s parent | CPU s workers | (CPU s)/cores | "
        "peak RSS parent | peak RSS worker | errors | grey | near-dup. | load before / after |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {len(df):,} | {wall:.0f} | {len(df) / wall:.0f} | {cpu_own:.0f} | {cpu_kids:.0f} | "
        f"{(cpu_own + cpu_kids) / cores:.0f} | {own.ru_maxrss / 1024:.0f} MiB | "
        f"{kids.ru_maxrss / 1024:.0f} MiB | {(df['error'] != '').sum()} | "
        f"{int(df['grey'].fillna(False).sum())} | {(df['duplicate_of'] != '').sum()} | "
        f"{load_before[0]:.1f} / {load_after[0]:.1f} |"
    )


if __name__ == "__main__":
    main()
