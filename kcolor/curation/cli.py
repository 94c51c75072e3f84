"""``kcolor data``: scan, clean, split photo sets and check them for leaks, from the shell.

:func:`add_parser` registers the ``data`` command (with ``scan``, ``clean``, ``split`` and
``overlap``) on an ``argparse`` sub-parsers object; :func:`run` runs it. Only argparse
loads until a command runs, and no command loads Keras or torch.

Exit codes: 0 done; 1 done, but some files could not be read (their rows say why);
2 bad usage or data (nothing written).
"""

from __future__ import annotations

import argparse
import os
import sys

from kcolor import argtypes

__all__ = ["add_parser", "run"]

_EPILOG = """\
examples:
  kcolor data scan photos/faces photos/flowers -o runs/data/manifest.csv
  kcolor data clean runs/data/manifest.csv -o runs/data/clean.csv --drop grey,duplicates,errors,small --min-side 64
  kcolor data split runs/data/clean.csv -o runs/data/splits --val 0.05 --test 0.05 --seed 0
  kcolor data overlap runs/data/manifest.csv holdout/
  kcolor train --model beta --manifest runs/data/splits/train.csv --val-manifest runs/data/splits/val.csv -o runs/beta
"""


_int_at_least, _fraction = argtypes.int_at_least, argtypes.fraction


def _rules(text):
    from kcolor.curation.cleaning import RULES  # numpy only

    rules = [r.strip() for r in text.split(",") if r.strip()]
    unknown = [r for r in rules if r not in RULES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown rule {', '.join(unknown)}; choose from {','.join(RULES)}"
        )
    return rules


def _hash_options(p):
    p.add_argument(
        "--max-distance",
        type=_int_at_least(0),
        default=None,
        metavar="BITS",
        help="most phash bits (of 64) near-duplicates may differ in (default %(default)s: "
        "see kcolor.curation.duplicates)",
    )
    p.add_argument(
        "--max-dhash-distance",
        type=_int_at_least(0),
        default=None,
        metavar="BITS",
        help="most dhash bits (of 64) near-duplicates may differ in",
    )


def _scan_options(p):
    p.add_argument(
        "--workers",
        type=_int_at_least(1),
        default=None,
        metavar="N",
        help="decoding processes (default: one per CPU core)",
    )
    p.add_argument(
        "--max-pixels",
        type=_int_at_least(0),
        default=None,
        metavar="N",
        help="photos with more pixels get an error row (default: kcolor.io's limit)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``data`` and its sub-commands to ``subparsers``; returns the ``data`` parser."""
    p = subparsers.add_parser(
        "data",
        help="scan, clean and split photo sets (manifests as CSV/Parquet)",
        description="Prepare photo sets with pandas: scan folders into a manifest (one row "
        "per file), drop grey photos, near-duplicates, unreadable and small files, split into "
        "train/val/test without leaks, and check held-out folders for near-duplicates.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="data_command", metavar="STEP")
    sub.required = True

    s = sub.add_parser(
        "scan",
        help="one manifest row per file of some folders (recursive)",
        description="Scan folders recursively into a manifest: size, format, "
        "mode, greyness, colourfulness, perceptual hash, near-duplicates, read "
        "errors. A bad file becomes a row with its error; it never stops the scan.",
    )
    s.add_argument("dirs", nargs="+", metavar="DIR", help="folders to scan")
    s.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="MANIFEST",
        help="manifest to write: .csv, or .parquet (needs pyarrow)",
    )
    s.add_argument(
        "--grey-threshold",
        type=float,
        default=None,
        metavar="CHROMA",
        help="chroma (99th percentile) below which a photo is grey (default 8)",
    )
    s.add_argument(
        "--all-files",
        action="store_true",
        help="list every file, not only those with an image extension",
    )
    _scan_options(s)
    _hash_options(s)

    c = sub.add_parser(
        "clean",
        help="drop rows by rule; print what each rule dropped",
        description="Drop manifest rows by rule and write the rest, with an "
        "HTML report (histograms, and contact sheets of what each rule dropped).",
    )
    c.add_argument("manifest", metavar="MANIFEST")
    c.add_argument("-o", "--output", required=True, metavar="CLEAN", help="manifest to write")
    c.add_argument(
        "--drop",
        type=_rules,
        default=["errors", "grey", "small", "duplicates"],
        metavar="RULES",
        help="comma-separated rules from errors,grey,small,duplicates (default: all)",
    )
    c.add_argument(
        "--min-side",
        type=_int_at_least(1),
        default=64,
        metavar="N",
        help="for 'small': fewest pixels the shorter side may have (default 64)",
    )
    c.add_argument(
        "--grey-threshold",
        type=float,
        default=None,
        metavar="CHROMA",
        help="for 'grey': re-decide greyness as chroma < CHROMA",
    )
    c.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="FOLDER",
        help="a held-out set to drop, with every near-duplicate of its photos: a "
        "folder label or shell pattern ('bsds500/test', '*/test'), the trailing "
        "folders of the photos' paths, or a folder on disk (its photos are hashed "
        "even if the manifest lacks them). A pattern that matches nothing is an "
        "error. Repeatable. The held-out photos are listed in CLEAN.held-out.csv, "
        "which 'kcolor data split' checks",
    )
    c.add_argument(
        "--report",
        default=None,
        metavar="HTML",
        help="the report to write (default: next to CLEAN, .html)",
    )
    c.add_argument(
        "--dropped",
        default=None,
        metavar="CSV",
        help="also write the dropped rows, with their reason",
    )

    t = sub.add_parser(
        "split",
        help="deterministic train/val/test split of a manifest",
        description="Split a manifest into train.csv, val.csv and test.csv: "
        "the same input and seed give the same split, near-duplicate groups stay "
        "in one split, each folder (and each label) gets its share.",
    )
    t.add_argument("manifest", metavar="MANIFEST")
    t.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="folder to write to")
    t.add_argument("--val", type=_fraction, default=0.05, help="validation fraction (0.05)")
    t.add_argument("--test", type=_fraction, default=0.05, help="test fraction (0.05)")
    t.add_argument("--seed", type=int, default=0, help="random seed (0)")
    t.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="FOLDER",
        help="a held-out set (as for 'clean') that no row may be or near-duplicate; "
        "MANIFEST's .held-out.csv (written by 'clean') is always checked too",
    )
    t.add_argument(
        "--allow-leaks",
        action="store_true",
        help="warn about rows that are (near-duplicates of) held-out photos "
        "instead of refusing to split",
    )

    v = sub.add_parser(
        "overlap",
        help="photos of DIR that near-duplicate a manifest's",
        description="Leakage check: list the photos under DIR that are "
        "near-duplicates of photos in MANIFEST (the same file is not a match).",
    )
    v.add_argument("manifest", metavar="MANIFEST")
    v.add_argument("dirs", nargs="+", metavar="DIR")
    v.add_argument("-o", "--output", default=None, metavar="CSV", help="also write the pairs")
    _scan_options(v)
    _hash_options(v)
    p.set_defaults(func=run)
    return p


def _hash_kwargs(args) -> dict:
    out = {}
    if getattr(args, "max_distance", None) is not None:
        out["max_distance"] = args.max_distance
    if getattr(args, "max_dhash_distance", None) is not None:
        out["max_dhash_distance"] = args.max_dhash_distance
    return out


def _print_table(df) -> None:
    print(df.to_string(index=False) if df.index.name is None else df.to_string())


def scan_summary(df):
    """Rows, grey, errors and near-duplicates (within the folder, of another folder) per folder."""
    import pandas as pd

    folder_of = dict(zip(df["path"], df["folder"], strict=False))
    orig_folder = df["duplicate_of"].map(lambda p: folder_of.get(p, "") if p else "")
    dup = df["duplicate_of"] != ""
    table = (
        pd.DataFrame(
            {
                "folder": df["folder"],
                "rows": 1,
                "grey": df["grey"].fillna(False).astype(int),
                "errors": (df["error"] != "").astype(int),
                "dup_within": (dup & (orig_folder == df["folder"])).astype(int),
                "dup_across": (dup & (orig_folder != df["folder"])).astype(int),
            }
        )
        .groupby("folder", sort=False)
        .sum()
    )
    table.loc["all"] = table.sum()
    return table


def _cmd_scan(args) -> int:
    from kcolor.curation.manifest import write_manifest
    from kcolor.curation.scanner import GREY_THRESHOLD, scan

    suffix = args.output.lower().rsplit(".", 1)[-1]
    if suffix not in ("csv", "parquet", "pq"):
        _err(f"{args.output}: the manifest must end in .csv or .parquet")
        return 2
    if suffix != "csv":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            _err(
                f"{args.output}: Parquet needs pyarrow (pip install 'kcolor[parquet]'); or use .csv"
            )
            return 2
    df = scan(
        args.dirs,
        workers=args.workers,
        max_pixels=args.max_pixels,
        grey_threshold=GREY_THRESHOLD if args.grey_threshold is None else args.grey_threshold,
        all_files=args.all_files,
        progress=not args.quiet,
        **_hash_kwargs(args),
    )
    write_manifest(df, args.output)
    _print_table(scan_summary(df))
    errors = int((df["error"] != "").sum())
    print(f"manifest: {args.output} ({len(df)} rows)")
    if errors:
        print(f"{errors} file(s) could not be read; their rows have an 'error'", file=sys.stderr)
        return 1
    return 0


def _cmd_clean(args) -> int:
    import os

    from kcolor.curation.cleaning import clean, summary_table
    from kcolor.curation.exclusion import held_out_path
    from kcolor.curation.manifest import read_manifest, write_manifest
    from kcolor.curation.report import write_report

    df = read_manifest(args.manifest)
    kept, dropped = clean(
        df,
        args.drop,
        min_side=args.min_side,
        grey_threshold=args.grey_threshold,
        exclude=args.exclude,
        scan_kwargs={"progress": False},
    )
    summary = summary_table(len(df), dropped, args.drop, exclude=bool(args.exclude))
    write_manifest(kept, args.output)
    found = dropped.attrs.get("exclusion")
    if found is not None:
        for line in found.describe():
            print(line)
        held = held_out_path(args.output)
        _write_csv(found.held_out, held)
        print(f"held-out photos ({len(found.held_out)}): {held} ('kcolor data split' checks it)")
    if args.dropped:
        write_manifest(dropped, args.dropped)
    report = args.report or os.path.splitext(args.output)[0] + ".html"
    write_report(report, kept, dropped, summary, title=f"kcolor data clean {args.manifest}")
    _print_table(summary)
    print(f"kept {len(kept)} of {len(df)} rows: {args.output}; report: {report}")
    return 0


def _cmd_split(args) -> int:
    from pathlib import Path

    from kcolor.curation.manifest import read_manifest, write_manifest
    from kcolor.curation.splitting import SPLITS, split, split_table

    manifest = read_manifest(args.manifest)
    leaks = _split_leaks(args, manifest)
    if len(leaks):
        shown = "; ".join(
            f"{p} ({w})" for p, w in zip(leaks["path"][:5], leaks["why"][:5], strict=False)
        )
        more = f" and {len(leaks) - 5} more" if len(leaks) > 5 else ""
        message = (
            f"{len(leaks)} row(s) of {args.manifest} are held-out photos or "
            f"near-duplicates of them: {shown}{more}"
        )
        if not args.allow_leaks:
            _err(
                message + "; drop them with 'kcolor data clean --exclude ...' "
                "(or split anyway with --allow-leaks)"
            )
            return 2
        print(f"kcolor: warning: {message}; splitting anyway (--allow-leaks)", file=sys.stderr)
    elif not args.exclude and not _has_held_out(args.manifest):
        _warn_test_like(manifest)
    df = split(manifest, val=args.val, test=args.test, seed=args.seed)
    out = Path(args.output)
    for name in SPLITS:
        write_manifest(df[df["split"] == name].drop(columns="split"), out / f"{name}.csv")
    _print_table(split_table(df))
    print(f"wrote {', '.join(str(out / f'{n}.csv') for n in SPLITS)}")
    return 0


def _has_held_out(manifest) -> bool:
    from kcolor.curation.exclusion import held_out_path

    return os.path.exists(held_out_path(manifest))


def _split_leaks(args, manifest):
    """Rows of ``manifest`` that are, or near-duplicate, a held-out photo."""
    import pandas as pd

    from kcolor.curation.exclusion import find_excluded, held_out_path, leak_check
    from kcolor.errors import KcolorError

    leaks = []
    held = held_out_path(args.manifest)
    if os.path.exists(held):
        leaks.append(leak_check(manifest, pd.read_csv(held, dtype=str, keep_default_na=False)))
    if args.exclude:
        try:
            found = find_excluded(manifest, args.exclude, scan_kwargs={"progress": False})
        except KcolorError:
            found = None  # a pattern that matches nothing: then nothing of it is here
        if found is not None:
            leaks.append(leak_check(manifest, found.held_out))
    if not leaks:
        return pd.DataFrame(columns=["path", "folder", "why"])
    return pd.concat(leaks, ignore_index=True).drop_duplicates("path")


def _warn_test_like(manifest) -> None:
    """Warn when a folder label looks like a held-out set and nothing was excluded."""
    if "folder" not in manifest.columns:
        return
    names = sorted(
        {
            f
            for f in manifest["folder"].astype(str)
            if any(part in ("test", "testing") for part in f.lower().split("/"))
        }
    )
    if names:
        print(
            f"kcolor: warning: folder(s) {', '.join(names)} look like test sets and will be "
            "split into train/val/test; hold them out with 'kcolor data clean --exclude "
            "FOLDER' first",
            file=sys.stderr,
        )


def _cmd_overlap(args) -> int:
    from kcolor.curation.overlap import find_overlap

    pairs, scanned = find_overlap(
        args.manifest,
        args.dirs,
        workers=args.workers,
        max_pixels=args.max_pixels,
        progress=not args.quiet,
        **_hash_kwargs(args),
    )
    from kcolor.formatting import plural

    if args.output:
        _write_csv(pairs, args.output)
    photos = pairs["path"].nunique() if len(pairs) else 0
    if len(pairs):
        _print_table(pairs)
    where = ", ".join(args.dirs)
    shared = pairs.attrs.get("shared", [])
    if shared:  # the same files: a leak of their own, not near-duplicates of themselves
        print(
            f"{plural(len(shared), 'shared file')} (same path): under {where} and in the "
            "manifest itself, not counted as near-duplicates"
        )
    print(
        f"{photos} of the {len(scanned)} files under {where} are near-duplicates "
        f"of the manifest's photos ({plural(len(pairs), 'pair')})"
    )
    errors = int((scanned["error"] != "").sum())
    if errors:
        print(f"{plural(errors, 'file')} under {where} could not be read", file=sys.stderr)
        return 1
    return 0


def _write_csv(df, path) -> None:
    from pathlib import Path

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)


def _err(message: str) -> None:
    print(f"kcolor: error: {' '.join(str(message).split())}", file=sys.stderr)


_COMMANDS = {"scan": _cmd_scan, "clean": _cmd_clean, "split": _cmd_split, "overlap": _cmd_overlap}


def run(args) -> int:
    """Run the ``kcolor data`` step of parsed ``args``; return the exit code (0, 1 or 2).

    kcolor's own errors (a missing manifest, files that moved, an empty folder) print one
    line and give 2.
    """
    from kcolor.errors import KcolorError

    try:
        return _COMMANDS[args.data_command](args)
    except KcolorError as e:
        _err(str(e))
        return 2
