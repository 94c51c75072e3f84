"""The test set never leaks into training: `kcolor data clean --exclude` and `split` (issue 27.1)."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from PIL import Image
from skimage import data as skdata

from kcolor import curation as kdata
from kcolor.cli import main
from kcolor.curation.exclusion import find_excluded, held_out_path
from kcolor.errors import DataError


def _save(rgb, path, side=96):
    im = Image.fromarray(rgb)
    im.thumbnail((side, side), Image.Resampling.LANCZOS)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, quality=92)


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    """The user's case: a held-out folder scanned together with folders from elsewhere.

    ``shared/bsds500/test`` holds two test photos; the user's own ``home/mine`` holds a
    photo of their own and a renamed, re-encoded copy of a test photo.
    """
    root = tmp_path_factory.mktemp("leak")
    test = root / "shared" / "photos" / "bsds500" / "test"
    _save(skdata.astronaut(), test / "t1.jpg")
    _save(skdata.coffee(), test / "t2.jpg")
    mine = root / "home" / "user" / "mine"
    _save(skdata.chelsea(), mine / "cat.jpg")
    _save(skdata.rocket(), mine / "rocket.jpg")
    Image.open(test / "t1.jpg").save(mine / "holiday.jpg", quality=60)  # a copy, renamed
    manifest = kdata.scan([test, mine], workers=1, progress=False)
    return root, test, mine, manifest


def test_labels_differ_when_scanned_from_elsewhere(layout):
    _, _, _, manifest = layout
    # the labels are relative to the common parent, so they are not "bsds500/test"
    assert "bsds500/test" not in set(manifest["folder"])


def test_exclude_matches_by_path_and_catches_renamed_copies(layout):
    _, _, mine, manifest = layout
    kept, dropped = kdata.clean(manifest, drop=[], exclude=["bsds500/test"])
    reasons = dict(
        zip(dropped["path"].map(lambda p: p.split("/")[-1]), dropped["reason"], strict=False)
    )
    assert reasons == {"t1.jpg": "excluded", "t2.jpg": "excluded", "holiday.jpg": "leak"}
    assert sorted(kept["path"].map(lambda p: p.split("/")[-1])) == ["cat.jpg", "rocket.jpg"]
    found = dropped.attrs["exclusion"]
    assert found.counts[0]["by_path"] == 2 and found.counts[0]["leak"] == 1
    assert "excluded bsds500/test: 2 row(s)" in found.describe()[0]


def test_exclude_a_folder_on_disk_the_manifest_lacks(layout):
    _, test, mine, _ = layout
    only_mine = kdata.scan([mine], workers=1, progress=False)
    kept, dropped = kdata.clean(only_mine, drop=[], exclude=[str(test)])
    assert dropped["path"].map(lambda p: p.split("/")[-1]).tolist() == ["holiday.jpg"]
    assert dropped.attrs["exclusion"].counts[0]["on_disk"] == 2


def test_exclude_that_matches_nothing_is_an_error(layout):
    _, _, _, manifest = layout
    with pytest.raises(DataError, match="matches no row.*folder labels are: .*mine"):
        find_excluded(manifest, ["no/such/folder"])


def test_cli_clean_prints_exclusions_and_split_refuses_leaks(layout, tmp_path, capsys):
    _, _, _, manifest = layout
    m = tmp_path / "all.csv"
    kdata.write_manifest(manifest, m)
    # a typo is an error, exit 2, naming the labels there are
    assert (
        main(
            [
                "data",
                "clean",
                str(m),
                "-o",
                str(tmp_path / "c.csv"),
                "--drop",
                "errors",
                "--exclude",
                "no/such/folder",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "no/such/folder" in err and "mine" in err
    assert not (tmp_path / "c.csv").exists()
    clean = tmp_path / "clean.csv"
    assert (
        main(
            [
                "data",
                "clean",
                str(m),
                "-o",
                str(clean),
                "--drop",
                "errors",
                "--exclude",
                "bsds500/test",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "excluded bsds500/test: 2 row(s)" in out and "1 near-duplicate(s)" in out
    held = pd.read_csv(held_out_path(clean), dtype=str, keep_default_na=False)
    assert len(held) == 2
    assert (
        main(
            ["data", "split", str(clean), "-o", str(tmp_path / "s"), "--val", "0.3", "--test", "0"]
        )
        == 0
    )
    # splitting the raw manifest with the held-out list beside it: refused
    shutil.copy(held_out_path(clean), held_out_path(m))
    capsys.readouterr()
    assert main(["data", "split", str(m), "-o", str(tmp_path / "s2")]) == 2
    err = capsys.readouterr().err
    assert "3 row(s)" in err and "same file" in err and "near-duplicate" in err
    assert not (tmp_path / "s2").exists()
    assert main(["data", "split", str(m), "-o", str(tmp_path / "s3"), "--allow-leaks"]) == 0
    assert "splitting anyway" in capsys.readouterr().err


def test_split_exclude_flag_and_test_like_warning(layout, tmp_path, capsys):
    _, _, _, manifest = layout
    m = tmp_path / "raw.csv"
    kdata.write_manifest(manifest, m)
    assert (
        main(["data", "split", str(m), "-o", str(tmp_path / "s"), "--exclude", "bsds500/test"]) == 2
    )
    assert "held-out photos" in capsys.readouterr().err
    assert main(["data", "split", str(m), "-o", str(tmp_path / "s")]) == 0
    assert "look like test sets" in capsys.readouterr().err
