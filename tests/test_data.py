"""kcolor.curation: scan, clean, split, overlap, manifests, and the `kcolor data` command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from skimage import data as skdata

from kcolor import curation as kdata
from kcolor.cli import main
from kcolor.curation import cleaning, duplicates, labels, splitting
from kcolor.curation.manifest import COLUMNS
from kcolor.errors import DataError


def _small(rgb, side=96):
    im = Image.fromarray(rgb)
    im.thumbnail((side, side), Image.Resampling.LANCZOS)
    return im


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory):
    """A folder of every kind of file the scan must handle (names sort originals first)."""
    root = tmp_path_factory.mktemp("photos")
    colour = root / "colour"
    colour.mkdir()
    astronaut = _small(skdata.astronaut(), 128)
    astronaut.save(colour / "a_astronaut.jpg", quality=92)
    _small(skdata.coffee(), 128).save(colour / "b_coffee.jpg", quality=92)
    _small(skdata.chelsea(), 128).save(colour / "c_chelsea.png")
    _small(skdata.rocket(), 128).save(colour / "d_rocket.jpg", quality=92)
    _small(skdata.colorwheel(), 128).save(colour / "e_wheel.jpg", quality=92)
    # near-duplicates of the astronaut: resized, re-encoded, slightly cropped
    astronaut.resize((64, 64), Image.Resampling.LANCZOS).save(colour / "x_resized.jpg")
    astronaut.save(colour / "y_reencoded.jpg", quality=35)
    astronaut.crop((2, 2, 126, 126)).save(colour / "z_cropped.png")
    grey = root / "grey"
    grey.mkdir()
    camera = _small(skdata.camera(), 96)
    camera.convert("RGB").save(grey / "camera_rgb.jpg", quality=90)  # RGB JPEG of a B&W photo
    _small(skdata.coins(), 96).save(grey / "coins_l.png")
    odd = root / "odd"
    odd.mkdir()
    _small(skdata.hubble_deep_field(), 80).convert("CMYK").save(odd / "cmyk.jpg")
    _small(skdata.immunohistochemistry(), 80).convert("P").save(odd / "palette.png")
    la = _small(skdata.moon(), 80).convert("LA")
    la.save(odd / "moon_la.png")
    i16 = (np.asarray(_small(skdata.page(), 96)).astype(np.uint16) * 257).astype(np.uint16)
    Image.fromarray(i16).save(odd / "page_i16.png")  # mode I;16
    tiny = Image.fromarray(np.asarray(_small(skdata.astronaut(), 24))[:20, :24])
    tiny.save(odd / "tiny.png")  # small: 24x20
    bad = root / "bad"
    bad.mkdir()
    full = (colour / "b_coffee.jpg").read_bytes()
    (bad / "truncated.jpg").write_bytes(full[: len(full) // 2])
    (bad / "notes.jpg").write_text("this is not a photo\n")
    (bad / "README.txt").write_text("not an image, and not named like one\n")
    return root


@pytest.fixture(scope="module")
def manifest(photo_dir):
    return kdata.scan([photo_dir], workers=1, progress=False)


def _row(df, name):
    rows = df[df["path"].str.endswith(os.sep + name)]
    assert len(rows) == 1, name
    return rows.iloc[0]


# ---------------------------------------------------------------- scan
def test_scan_rows_and_columns(manifest, photo_dir):
    assert list(manifest.columns) == list(COLUMNS)
    names = sorted(Path(p).name for p in manifest["path"])
    assert "README.txt" not in names  # no image extension: not a candidate
    assert len(manifest) == 17
    assert set(manifest["folder"]) == {photo_dir.name}
    a = _row(manifest, "a_astronaut.jpg")
    assert (a["format"], a["mode"], a["width"], a["height"]) == ("JPEG", "RGB", 128, 128)
    assert a["bytes"] == (photo_dir / "colour" / "a_astronaut.jpg").stat().st_size
    assert len(a["hash"]) == 16 and len(a["dhash"]) == 16 and a["error"] == ""
    assert 0 < a["mean_l"] < 100 and a["colourfulness"] > 10


def test_scan_grey_whatever_the_mode(manifest):
    for name in ("camera_rgb.jpg", "coins_l.png", "moon_la.png", "page_i16.png"):
        row = _row(manifest, name)
        assert row["grey"], (name, row["chroma"])
        assert row["chroma"] < kdata.scanner.GREY_THRESHOLD
    assert _row(manifest, "camera_rgb.jpg")["mode"] == "RGB"
    for name in (
        "a_astronaut.jpg",
        "b_coffee.jpg",
        "c_chelsea.png",
        "e_wheel.jpg",
        "cmyk.jpg",
        "palette.png",
    ):
        assert not _row(manifest, name)["grey"], name
    assert (
        _row(manifest, "e_wheel.jpg")["colourfulness"]
        > _row(manifest, "b_coffee.jpg")["colourfulness"]
    )


def test_scan_odd_modes_read(manifest):
    modes = {
        name: _row(manifest, name)["mode"]
        for name in ("cmyk.jpg", "palette.png", "moon_la.png", "page_i16.png")
    }
    assert modes == {
        "cmyk.jpg": "CMYK",
        "palette.png": "P",
        "moon_la.png": "LA",
        "page_i16.png": "I;16",
    }
    for name in modes:
        assert _row(manifest, name)["error"] == ""


def test_scan_errors_never_stop_it(manifest):
    truncated = _row(manifest, "truncated.jpg")
    assert "truncated" in truncated["error"]
    assert truncated["format"] == "JPEG" and truncated["hash"] == ""
    assert pd.isna(truncated["grey"])
    notes = _row(manifest, "notes.jpg")
    assert "not an image" in notes["error"]
    assert (manifest["error"] != "").sum() == 2


def test_scan_near_duplicates(manifest):
    original = _row(manifest, "a_astronaut.jpg")["path"]
    for name in ("x_resized.jpg", "y_reencoded.jpg", "z_cropped.png"):
        assert _row(manifest, name)["duplicate_of"] == original, name
        assert _row(manifest, name)["group"] == original, name
    assert _row(manifest, "a_astronaut.jpg")["duplicate_of"] == ""
    assert _row(manifest, "a_astronaut.jpg")["group"] == original
    others = manifest[~manifest["path"].str.contains("astronaut|resized|reencoded|cropped")]
    assert (others["duplicate_of"] == "").all() and (others["group"] == "").all()


def test_scan_parallel_equals_serial(photo_dir, manifest):
    parallel = kdata.scan(
        [photo_dir / "colour", photo_dir / "bad"], workers=2, chunksize=2, progress=False
    )
    serial = manifest[manifest["path"].str.contains(r"/(colour|bad)/")]
    cols = ["path", "bytes", "chroma", "hash", "dhash", "duplicate_of", "error"]
    assert parallel["path"].tolist()[-2:] == serial["path"].tolist()[:2]  # folders in order
    pd.testing.assert_frame_equal(
        parallel[cols].sort_values("path", ignore_index=True),
        serial[cols].sort_values("path", ignore_index=True),
    )
    assert set(parallel["folder"]) == {"colour", "bad"}


def test_scan_options(photo_dir):
    df = kdata.scan([photo_dir / "bad"], workers=1, progress=False, all_files=True)
    assert "not an image" in _row(df, "README.txt")["error"]
    df = kdata.scan([photo_dir / "colour"], workers=1, progress=False, max_pixels=100 * 100)
    assert "over the limit" in _row(df, "a_astronaut.jpg")["error"]
    assert _row(df, "x_resized.jpg")["error"] == ""
    df = kdata.scan([photo_dir / "grey"], workers=1, progress=False, grey_threshold=0.0)
    assert not df["grey"].any()
    df = kdata.scan(
        [photo_dir / "colour"], workers=1, progress=False, max_distance=0, max_dhash_distance=0
    )
    assert (df["duplicate_of"] != "").sum() < 3
    with pytest.raises(DataError, match="not a folder"):
        kdata.scan([photo_dir / "nowhere"], progress=False)


def test_labels(tmp_path):
    finder = labels.LabelFinder()
    root = tmp_path / "tiny-val"
    (root / "images").mkdir(parents=True)
    (root / "val_annotations.txt").write_text("val_0.JPEG\tn03444034\t0 32 44 62\n")
    assert finder.label_for(root / "images" / "val_0.JPEG", root) == "n03444034"
    assert finder.label_for(root / "images" / "val_9.JPEG", root) == "images"
    assert finder.label_for(tmp_path / "t" / "n01443537_0.JPEG", tmp_path / "t") == "n01443537"
    assert (
        finder.label_for(tmp_path / "flowers" / "daisy" / "1.jpg", tmp_path / "flowers") == "daisy"
    )
    assert finder.label_for(tmp_path / "faces" / "image001.jpg", tmp_path / "faces") == ""


# ---------------------------------------------------------------- duplicates
def test_close_pairs_is_exact():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2**63, 300, dtype=np.uint64)
    for k in range(0, 40, 4):  # plant close pairs
        a[k + 1] = a[k] ^ np.uint64((1 << (k % 7)) | (1 << 40))
    i, j, d = duplicates.close_pairs(a, max_distance=20, block=37)
    want = {
        (x, y)
        for x in range(300)
        for y in range(x + 1, 300)
        if bin(int(a[x]) ^ int(a[y])).count("1") <= 20
    }
    assert set(zip(i.tolist(), j.tolist(), strict=False)) == want and len(i) == len(want)
    assert all(
        bin(int(a[x]) ^ int(a[y])).count("1") == dd for x, y, dd in zip(i, j, d, strict=False)
    )
    b = a[:50] ^ np.uint64(1)
    i, j, _ = duplicates.close_pairs(b, a, max_distance=1)
    assert {(x, y) for x, y in zip(i.tolist(), j.tolist(), strict=False)} >= {
        (x, x) for x in range(50)
    }


def test_near_duplicates_name_a_direct_original_and_group_chains():
    base = 0x0123456789ABCDEF
    a, b, c = base, base ^ 0x3F, base ^ 0xFFF  # a~b (6 bits), b~c (6 bits), a!~c (12 bits)
    far = 0xFEDCBA9876543210
    hexes = [f"{h:016x}" for h in (a, far, b, c)]
    df = pd.DataFrame({"path": ["a", "far", "b", "c"], "hash": hexes, "dhash": hexes})
    dup, group = duplicates.near_duplicates(df, max_distance=8, max_dhash_distance=8)
    assert dup == ["", "", "a", ""]  # c is near b only, and b is a copy: c is an original
    assert group == ["a", "", "a", "a"]
    df["duplicate_of"], df["group"] = dup, group
    assert cleaning.group_keys(df).tolist() == ["a", "far", "a", "a"]
    assert cleaning.cluster_keys(df).tolist() == ["a", "far", "a", "c"]
    kept, _ = kdata.clean(df, drop=["duplicates"])
    assert kept["path"].tolist() == ["a", "far", "c"]
    assert (
        kdata.split(df, val=0.4, test=0.3).groupby(cleaning.group_keys(df))["split"].nunique().max()
        == 1
    )


def test_union_find_chains_to_the_first():
    roots = duplicates.union_find(6, [4, 2, 5], [5, 4, 1])
    assert roots.tolist() == [0, 1, 1, 3, 1, 1]


# ---------------------------------------------------------------- manifests
def test_manifest_round_trip_keeps_text(tmp_path, manifest):
    df = manifest.copy()
    df.loc[0, "hash"] = "0123456789012345"  # only digits: must stay text
    df.loc[1, "label"] = "NA"
    path = kdata.write_manifest(df, tmp_path / "m.csv")
    back = kdata.read_manifest(path)
    pd.testing.assert_frame_equal(back, kdata.manifest.normalise(df))
    assert back.loc[0, "hash"] == "0123456789012345" and back.loc[1, "label"] == "NA"


def test_manifest_parquet(tmp_path, manifest):
    pytest.importorskip("pyarrow")
    path = kdata.write_manifest(manifest, tmp_path / "m.parquet")
    pd.testing.assert_frame_equal(kdata.read_manifest(path), manifest)


def test_manifest_relative_paths(tmp_path):
    (tmp_path / "p.jpg").write_bytes(b"x")
    (tmp_path / "m.csv").write_text("path\np.jpg\n")
    assert kdata.manifest_paths(tmp_path / "m.csv") == [tmp_path / "p.jpg"]


def test_manifest_errors(tmp_path, photo_dir):
    with pytest.raises(DataError, match="manifest not found"):
        kdata.read_manifest(tmp_path / "missing.csv")
    (tmp_path / "nopath.csv").write_text("file\nx.jpg\n")
    with pytest.raises(DataError, match="no 'path' column"):
        kdata.read_manifest(tmp_path / "nopath.csv")
    paths = [str(tmp_path / f"moved_{k}.jpg") for k in range(7)]
    real = str(photo_dir / "colour" / "a_astronaut.jpg")
    df = pd.DataFrame({"path": [real, *paths]})
    with pytest.raises(DataError) as err:
        kdata.manifest_paths(df)
    message = str(err.value)
    assert "7 of the manifest's 8 files are missing" in message and "(and 2 more)" in message
    assert all(p in message for p in paths[:5]) and paths[5] not in message


def test_from_manifest(tmp_path, manifest):
    from kcolor.datasets import ImageFolderDataset

    ok = manifest[(manifest["error"] == "") & ~manifest["grey"].fillna(False)].head(4)
    kdata.write_manifest(ok, tmp_path / "train.csv")
    ds = ImageFolderDataset.from_manifest(tmp_path / "train.csv", size=32, batch_size=2)
    assert [str(p) for p in ds.paths] == ok["path"].tolist()
    x, y = ds[0]
    assert x.shape == (2, 32, 32, 1) and y.shape == (2, 32, 32, 2)
    moved = ok.assign(path=[p + ".moved" for p in ok["path"]])
    with pytest.raises(DataError, match="4 of the manifest's 4 files are missing"):
        ImageFolderDataset.from_manifest(moved, size=32)


# ---------------------------------------------------------------- clean
def test_clean_each_rule(manifest):
    total = len(manifest)
    kept, dropped = kdata.clean(manifest, drop=[])
    assert len(kept) == total and len(dropped) == 0
    _, dropped = kdata.clean(manifest, drop="errors")
    assert sorted(Path(p).name for p in dropped["path"]) == ["notes.jpg", "truncated.jpg"]
    _, dropped = kdata.clean(manifest, drop=["grey"])
    assert sorted(Path(p).name for p in dropped["path"]) == [
        "camera_rgb.jpg",
        "coins_l.png",
        "moon_la.png",
        "page_i16.png",
    ]
    _, dropped = kdata.clean(manifest, drop=["grey"], grey_threshold=0.0)
    assert len(dropped) == 0
    _, dropped = kdata.clean(manifest, drop=["grey"], grey_threshold=1000.0)
    assert len(dropped) == 15  # every readable photo
    _, dropped = kdata.clean(manifest, drop=["small"], min_side=64)
    assert [Path(p).name for p in dropped["path"]] == ["page_i16.png", "tiny.png"]  # 96x48, 24x20
    _, dropped = kdata.clean(manifest, drop=["small"], min_side=65)
    assert "x_resized.jpg" in {Path(p).name for p in dropped["path"]}
    _, dropped = kdata.clean(manifest, drop=["duplicates"])
    assert sorted(Path(p).name for p in dropped["path"]) == [
        "x_resized.jpg",
        "y_reencoded.jpg",
        "z_cropped.png",
    ]
    kept, dropped = kdata.clean(manifest)
    assert set(dropped["reason"]) == {"errors", "grey", "small", "duplicates"}
    assert len(kept) + len(dropped) == total and len(kept) == total - 2 - 4 - 1 - 3
    with pytest.raises(DataError, match="unknown rule"):
        kdata.clean(manifest, drop=["blurry"])


def test_clean_duplicates_keep_first_survivor():
    df = pd.DataFrame(
        {
            "path": ["a", "b", "c", "d"],
            "duplicate_of": ["", "a", "a", ""],
            "grey": [True, False, False, False],
            "error": [""] * 4,
        }
    )
    kept, dropped = kdata.clean(df, drop=["grey", "duplicates"])
    assert kept["path"].tolist() == ["b", "d"]
    assert dict(zip(dropped["path"], dropped["reason"], strict=False)) == {
        "a": "grey",
        "c": "duplicates",
    }


def test_clean_exclude_and_leaks():
    df = pd.DataFrame(
        {
            "path": ["t1", "t2", "h1", "t3"],
            "folder": ["train", "train", "held/test", "train"],
            "duplicate_of": ["", "", "t2", ""],
            "error": [""] * 4,
        }
    )
    kept, dropped = kdata.clean(df, drop=[], exclude=["*/test"])
    assert kept["path"].tolist() == ["t1", "t3"]
    assert dict(zip(dropped["path"], dropped["reason"], strict=False)) == {
        "t2": "leak",
        "h1": "excluded",
    }
    table = cleaning.summary_table(len(df), dropped, [])
    assert table.to_dict("list") == {
        "rule": ["excluded", "leak"],
        "dropped": [1, 1],
        "remaining": [3, 2],
    }


def test_clean_report(tmp_path, manifest):
    kept, dropped = kdata.clean(manifest)
    summary = cleaning.summary_table(len(manifest), dropped)
    from kcolor.curation.report import write_report

    path = write_report(tmp_path / "r.html", kept, dropped, summary, png_dir=tmp_path / "png")
    text = path.read_text()
    assert text.count("data:image/png;base64,") >= 4  # histograms + a sheet per rule
    assert "truncated.jpg" in text and "duplicates" in text
    assert len(list((tmp_path / "png").glob("*.png"))) >= 4


# ---------------------------------------------------------------- split
def _fake_manifest(seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(10):  # folder "tiny": 10 classes x 40
        for k in range(40):
            rows.append((f"/d/tiny/n{c:08d}_{k}.JPEG", "tiny", f"n{c:08d}", ""))
    for k in range(300):  # folder "flat": no labels, with duplicate groups
        rows.append((f"/d/flat/{k:04d}.jpg", "flat", "", ""))
    for k in range(60):  # one photo per class
        rows.append((f"/d/one/n{k:08d}_x.jpg", "one", f"n{k:08d}", ""))
    df = pd.DataFrame(rows, columns=["path", "folder", "label", "duplicate_of"])
    flat = df.index[df["folder"] == "flat"].to_numpy()
    for _ in range(30):  # 30 groups of 3 near-duplicates
        members = flat[rng.choice(len(flat), 3, replace=False)]
        first = df.loc[members, "path"].min()
        for m in members:
            if df.loc[m, "path"] != first and df.loc[m, "duplicate_of"] == "":
                df.loc[m, "duplicate_of"] = first
    df.loc[df.index[5], "duplicate_of"] = "/d/flat/0000.jpg"  # a group across folders
    return df


def test_split_guarantees():
    df = _fake_manifest()
    out = kdata.split(df, val=0.1, test=0.05, seed=0)
    assert len(out) == len(df) and set(out["split"]) == {"train", "val", "test"}
    groups = cleaning.group_keys(out)
    assert (out.groupby(groups)["split"].nunique() == 1).all()  # no group straddles
    counts = pd.crosstab(out["folder"], out["split"])
    assert abs(counts.loc["tiny", "test"] - 20) <= 1 and abs(counts.loc["tiny", "val"] - 40) <= 1
    assert abs(counts.loc["flat", "test"] - 15) <= 3 and abs(counts.loc["flat", "val"] - 30) <= 3
    assert counts.loc["one", "test"] == 3 and counts.loc["one", "val"] == 6
    tiny = out[out["folder"] == "tiny"]
    per_class = pd.crosstab(tiny["label"], tiny["split"])
    assert per_class["val"].between(3, 5).all() and per_class["test"].between(1, 3).all()


def test_split_is_deterministic_and_order_free():
    df = _fake_manifest()
    a = kdata.split(df, seed=0).set_index("path")["split"]
    assert kdata.split(df, seed=0).set_index("path")["split"].equals(a)
    b = kdata.split(df.sample(frac=1.0, random_state=3), seed=0).set_index("path")["split"]
    pd.testing.assert_series_equal(a, b.loc[a.index])
    c = kdata.split(df, seed=1).set_index("path")["split"]
    assert (a != c).any()
    # another folder's presence does not change a folder's split
    d = kdata.split(df[df["folder"] != "one"], seed=0).set_index("path")["split"]
    pd.testing.assert_series_equal(a.loc[d.index], d)


def test_split_errors_and_zero():
    df = _fake_manifest()
    assert set(kdata.split(df, val=0.0, test=0.0)["split"]) == {"train"}
    with pytest.raises(DataError):
        kdata.split(df, val=0.6, test=0.5)
    with pytest.raises(DataError):
        kdata.split(df.iloc[:0])
    table = splitting.split_table(kdata.split(df))
    assert table.loc["all", "total"] == len(df)


# ---------------------------------------------------------------- overlap
def test_overlap(tmp_path, photo_dir, manifest):
    held = tmp_path / "held"
    held.mkdir()
    im = Image.open(photo_dir / "colour" / "b_coffee.jpg")
    im.resize((80, 53)).save(held / "coffee_small.jpg", quality=60)
    _small(skdata.retina(), 90).save(held / "other.jpg")
    pairs, scanned = kdata.find_overlap(manifest, [held], workers=1, progress=False)
    assert len(scanned) == 2
    assert pairs["path"].map(lambda p: Path(p).name).tolist() == ["coffee_small.jpg"]
    assert pairs["match"].iloc[0].endswith("b_coffee.jpg")
    assert pairs.attrs["shared"] == []
    # The manifest's own files (issue 27.11): shared files, not near-duplicates, neither of
    # themselves nor of their copies in the manifest (those are the manifest's own business).
    pairs, scanned = kdata.find_overlap(manifest, [photo_dir / "colour"], workers=1, progress=False)
    assert len(pairs) == 0
    assert pairs.attrs["shared"] == list(scanned["path"]) and len(scanned) == 8
    # A copy outside the manifest beside them is still found, and only it.
    (held / "other.jpg").unlink()
    (held / "astronaut_copy.jpg").write_bytes(
        (photo_dir / "colour" / "a_astronaut.jpg").read_bytes()
    )
    pairs, scanned = kdata.find_overlap(
        manifest, [held, photo_dir / "colour" / "b_coffee.jpg"], workers=1, progress=False
    )
    assert pairs.attrs["shared"] == [str(photo_dir / "colour" / "b_coffee.jpg")]
    assert set(pairs["path"].map(lambda p: Path(p).name)) == {
        "astronaut_copy.jpg",
        "coffee_small.jpg",
    }
    assert set(pairs["match"].map(lambda p: Path(p).name)) >= {"a_astronaut.jpg", "b_coffee.jpg"}


def test_overlap_command_counts_shared_files_apart(tmp_path, photo_dir, capsys):
    """Issue 27.11: files in both (same path) are "N shared files (same path)", not
    near-duplicates of themselves or of their copies."""
    m = tmp_path / "colour.csv"
    assert (
        main(["data", "scan", str(photo_dir / "colour"), "-o", str(m), "-q", "--workers", "1"]) == 0
    )
    capsys.readouterr()
    assert main(["data", "overlap", str(m), str(photo_dir / "colour"), "-q", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "8 shared files (same path)" in out
    assert "0 of the 8 files" in out and "(0 pairs)" in out
    assert "a_astronaut.jpg" not in out  # no table of the photo's own copies


def test_scan_writes_no_progress_bar_into_a_log(photo_dir, capsys):
    """Issue 27.10: stderr is not a terminal (a log file): no bar lines, even with progress."""
    kdata.scan([photo_dir / "grey"], workers=1, progress=True)
    assert "scanning" not in capsys.readouterr().err


# ---------------------------------------------------------------- the command
def test_cli_end_to_end(tmp_path, photo_dir, capsys):
    m = tmp_path / "manifest.csv"
    assert main(["data", "scan", str(photo_dir), "-o", str(m), "-q", "--workers", "1"]) == 1
    out = capsys.readouterr()
    assert "could not be read" in out.err and "dup_within" in out.out
    assert len(kdata.read_manifest(m)) == 17
    clean = tmp_path / "clean.csv"
    code = main(
        [
            "data",
            "clean",
            str(m),
            "-o",
            str(clean),
            "--drop",
            "grey,errors",
            "--min-side",
            "32",
            "--dropped",
            str(tmp_path / "dropped.csv"),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "grey" in out and "errors" in out and "small" not in out
    assert (tmp_path / "clean.html").is_file()
    assert len(kdata.read_manifest(clean)) == 11
    assert set(kdata.read_manifest(tmp_path / "dropped.csv")["reason"]) == {"grey", "errors"}
    splits = tmp_path / "splits"
    assert (
        main(
            [
                "data",
                "split",
                str(clean),
                "-o",
                str(splits),
                "--val",
                "0.2",
                "--test",
                "0.2",
                "--seed",
                "0",
            ]
        )
        == 0
    )
    parts = [kdata.read_manifest(splits / f"{n}.csv") for n in ("train", "val", "test")]
    assert sum(len(p) for p in parts) == 11 and all(len(p) for p in parts)
    first = [p["path"].tolist() for p in parts]
    main(["data", "split", str(clean), "-o", str(splits), "--val", "0.2", "--test", "0.2"])
    assert [
        kdata.read_manifest(splits / f"{n}.csv")["path"].tolist() for n in ("train", "val", "test")
    ] == first
    capsys.readouterr()
    assert (
        main(
            [
                "data",
                "overlap",
                str(m),
                str(photo_dir / "grey"),
                "-q",
                "--workers",
                "1",
                "-o",
                str(tmp_path / "o.csv"),
            ]
        )
        == 0
    )
    assert "0 of the 2 files" in capsys.readouterr().out


def test_cli_usage_errors(tmp_path, capsys):
    assert main(["data", "scan", str(tmp_path / "nowhere"), "-o", str(tmp_path / "m.csv")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["data", "scan", str(tmp_path), "-o", str(tmp_path / "m.txt")]) == 2
    assert (
        main(["data", "clean", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "c.csv")]) == 2
    )
    assert "manifest not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["data", "clean", "m.csv", "-o", "c.csv", "--drop", "blurry"])
    with pytest.raises(SystemExit):
        main(["data", "split", "m.csv", "-o", "s", "--val", "1.5"])


def test_cli_loads_no_torch_nor_keras(tmp_path, photo_dir):
    code = (
        "import sys; from kcolor.cli import main; "
        f"rc = main(['data', 'scan', {str(photo_dir / 'grey')!r}, '-o', "
        f"{str(tmp_path / 'm.csv')!r}, '-q', '--workers', '1']); "
        f"rc2 = main(['data', 'clean', {str(tmp_path / 'm.csv')!r}, '-o', "
        f"{str(tmp_path / 'c.csv')!r}]); "
        "heavy = [m for m in ('torch', 'keras') if m in sys.modules]; "
        "print(rc, rc2, heavy); sys.exit(1 if heavy or rc or rc2 else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_scan_the_articles_lying_pngs():
    from conftest import shared_path

    alpha = shared_path("article", "alpha")
    df = kdata.scan([alpha], workers=1, progress=False)
    assert len(df) == 3 and (df["error"] == "").all()
    assert set(df["format"]) == {"PNG"} and all(p.endswith(".jpg") for p in df["path"])
    assert (df["width"] == 400).all() and (df["height"] == 400).all()
