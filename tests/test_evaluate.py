"""kcolor.evaluation and `kcolor evaluate`: per-image CSV, grey baseline, oracle, report, CLI."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from skimage import data

from conftest import shared_path
from kcolor import color, metrics, presets
from kcolor import io as kio
from kcolor.cli import main
from kcolor.evaluation import (
    GREY,
    Tally,
    evaluate,
    format_summary,
    grey_version,
    iter_eval_batches,
    prepare,
    score_batch,
)

import keras  # noqa: E402  isort: skip  (after kcolor: the torch backend)

SIZE = 32
SUMMARY = [
    "psnr",
    "ssim",
    "auc",
    "colorfulness",
    "delta_colorfulness",
    "chroma_ratio",
    "vivid_recall",
]
PER_IMAGE = [
    "psnr",
    "ssim",
    "auc",
    "colorfulness",
    "delta_colorfulness",
    "chroma",
    "chroma_ratio",
    "vivid_hits",
    "vivid_pixels",
]


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """A folder of 4 colour photos (3 skimage photos + a generated one, mixed sizes and
    formats) and 1 grey photo (skimage's camera)."""
    folder = tmp_path_factory.mktemp("photos")
    small = lambda a: np.asarray(Image.fromarray(a).reduce(4))  # noqa: E731
    Image.fromarray(small(data.astronaut())).save(folder / "astronaut.png")
    Image.fromarray(small(data.coffee())).save(folder / "coffee.jpg", quality=95)
    Image.fromarray(small(data.chelsea())).save(folder / "chelsea.png")
    rng = np.random.default_rng(0)
    blocks = (rng.random((6, 9, 3)) * 255).astype(np.uint8).repeat(8, 0).repeat(8, 1)
    Image.fromarray(blocks).save(folder / "blocks.png")
    Image.fromarray(small(data.camera())).save(folder / "camera.png")  # grey
    return folder


COLOUR = ["astronaut.png", "blocks.png", "chelsea.png", "coffee.jpg"]


@pytest.fixture(scope="module")
def tiny_keras(tmp_path_factory):
    """A tiny fully-convolutional colouriser fitted for two steps, saved as a .keras file."""
    from kcolor.layers import Conv2D

    L = keras.Input((None, None, 1))
    h = Conv2D(4, 3, padding="same", activation="relu")(L)
    ab = Conv2D(2, 3, padding="same", activation="tanh")(h)
    model = keras.Model(L, ab, name="tiny")
    model.compile(keras.optimizers.Adam(1e-2), "mse")
    rgb = np.random.default_rng(1).random((4, 4, 4, 3)).repeat(4, 1).repeat(4, 2)
    x, y = color.split_lab(rgb)
    model.fit(x.astype("float32"), y.astype("float32"), batch_size=2, epochs=1, verbose=0)
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    model.save(path)
    return path


def _truths(folder, names=COLOUR, size=SIZE):
    return {n: prepare(kio.load_image(folder / n), size) for n in names}


def _oracle(folder, size=SIZE):
    """A model that knows the answers: the true photo for each grey photo it is shown."""
    answers = {grey_version(t).tobytes(): t for t in _truths(folder, size=size).values()}

    def oracle(greys):
        return np.stack([answers[g.tobytes()] for g in greys])

    return oracle


# ---------------------------------------------------------------- the parts
def test_iter_eval_batches_yields_files_truth_and_grey(photos, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in [*COLOUR, "camera.png"]:
        (folder / name).write_bytes((photos / name).read_bytes())
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    tally = Tally()
    batches = list(iter_eval_batches(folder, SIZE, batch_size=3, tally=tally))
    assert [len(b) for b in batches] == [3, 1]
    files, truth, grey = batches[0]
    assert [f.name for f in files] == COLOUR[:3]
    assert truth.dtype == np.uint8 and truth.shape == (3, SIZE, SIZE, 3)
    np.testing.assert_array_equal(grey, grey_version(truth))
    np.testing.assert_array_equal(truth[0], _truths(photos)["astronaut.png"])
    assert tally.n_grey == 1 and [(p.name, r) for p, r in tally.skipped][0][0] == "broken.jpg"
    kept = list(iter_eval_batches(folder, SIZE, batch_size=8, drop_grey=False, limit=5))
    assert [f.name for f in kept[0].files] == sorted(COLOUR + ["camera.png"])[:5]


def test_score_batch_is_a_pure_function_of_the_photos(photos):
    truth = np.stack(list(_truths(photos).values()))
    perfect = score_batch(truth, truth)
    assert set(perfect) == {
        "psnr",
        "ssim",
        "auc",
        "colorfulness",
        "delta_colorfulness",
        "chroma",
        "chroma_ratio",
        "vivid_hits",
        "vivid_pixels",
    }
    np.testing.assert_array_equal(perfect["vivid_hits"], perfect["vivid_pixels"])
    assert all(v.shape == (4,) for v in perfect.values())
    assert np.isinf(perfect["psnr"]).all() and (perfect["auc"] == 1.0).all()
    np.testing.assert_allclose(perfect["chroma_ratio"], 1.0)
    grey = score_batch(grey_version(truth), truth)
    assert (grey["auc"] < 1).all() and np.isfinite(grey["psnr"]).all()
    np.testing.assert_allclose(grey["chroma_ratio"], 0.0, atol=0.01)
    # the same input gives the same scores (no state between calls)
    again = score_batch(grey_version(truth), truth)
    assert all(np.array_equal(grey[k], again[k], equal_nan=True) for k in grey)

    def judge(rgb):  # "class" = the dominant RGB channel
        return rgb.mean(axis=(1, 2))

    judged = score_batch(truth, truth, judge)
    assert (judged["semantic_agree"] == 1.0).all()
    with pytest.raises(ValueError, match="one shape"):
        score_batch(truth[:2], truth)


# ---------------------------------------------------------------- the API
def test_per_image_csv_and_summary(photos, tiny_keras, tmp_path):
    summary = evaluate(photos, tiny_keras, size=SIZE, out_dir=tmp_path, progress=False)
    assert list(summary.index) == ["tiny", GREY]
    assert list(summary.columns) == SUMMARY
    assert summary.attrs["n_images"] == 4 and summary.attrs["n_grey_dropped"] == 1
    assert summary.attrs["n_unreadable"] == 0
    per = pd.read_csv(tmp_path / "per_image.csv")
    assert len(per) == 4
    assert sorted(p.rsplit("/", 1)[-1] for p in per["file"]) == COLOUR
    expected = ["file", "colorfulness_truth", "chroma_truth"]
    expected += [f"{m}/{k}" for m in ("tiny", GREY) for k in PER_IMAGE]
    assert list(per.columns) == expected
    assert per.notna().all().all()
    # The summary is the per-image CSV aggregated (mean, and set-level ratios).
    again = pd.read_csv(tmp_path / "summary.csv", index_col="model")
    np.testing.assert_allclose(again.to_numpy(), summary.to_numpy())
    for name in ("tiny", GREY):
        assert summary.loc[name, "auc"] == pytest.approx(per[f"{name}/auc"].mean())
        assert summary.loc[name, "psnr"] == pytest.approx(per[f"{name}/psnr"].mean())
        assert summary.loc[name, "chroma_ratio"] == pytest.approx(
            per[f"{name}/chroma"].mean() / per["chroma_truth"].mean()
        )
        assert summary.loc[name, "delta_colorfulness"] == pytest.approx(
            abs(per[f"{name}/colorfulness"].mean() - per["colorfulness_truth"].mean())
        )
    # A model that only saw 16 random pixels for two steps is no photo colouriser, but it
    # must have produced *something* that differs from grey.
    assert summary.loc["tiny", "chroma_ratio"] > 0.001


def test_grey_baseline_matches_metrics_by_hand(photos, tmp_path):
    summary = evaluate(photos, lambda g: g, size=SIZE, out_dir=tmp_path, progress=False)
    per = pd.read_csv(tmp_path / "per_image.csv").set_index("file")
    truths = _truths(photos)
    for path, row in per.iterrows():
        truth = truths[path.rsplit("/", 1)[-1]]
        grey = grey_version(truth)
        # The grey photo keeps the original's L (to uint8 rounding) and has no colour.
        assert np.abs(color.rgb_to_l(grey) - color.rgb_to_l(truth)).max() < 0.5
        # AuC of ab = 0: the share of pixels whose own chroma is within t, over t = 0..150.
        lab = color.rgb_to_lab(truth)
        chroma = np.hypot(lab[..., 1], lab[..., 2])
        by_hand = np.mean([(chroma <= t + 0.01).mean() for t in range(151)])
        assert row[f"{GREY}/auc"] == pytest.approx(by_hand, abs=1e-3)
        mse = np.mean((grey.astype(float) - truth.astype(float)) ** 2)
        assert row[f"{GREY}/psnr"] == pytest.approx(10 * np.log10(255**2 / mse))
        assert row[f"{GREY}/chroma_ratio"] == pytest.approx(0.0, abs=0.01)
        assert row[f"{GREY}/colorfulness"] == pytest.approx(0.0, abs=0.5)
        assert row["colorfulness_truth"] == pytest.approx(metrics.colorfulness(truth))
        assert row[f"{GREY}/delta_colorfulness"] == pytest.approx(
            metrics.colorfulness(truth), abs=0.5
        )
    assert summary.loc[GREY, "chroma_ratio"] == pytest.approx(0.0, abs=0.01)
    # The identity "model" is the grey baseline itself.
    np.testing.assert_allclose(summary.iloc[0].to_numpy(), summary.loc[GREY].to_numpy())


def test_oracle_is_perfect_and_beats_grey(photos, tmp_path):
    summary = evaluate(
        photos, {"oracle": _oracle(photos)}, size=SIZE, out_dir=tmp_path, progress=False
    )
    oracle = summary.loc["oracle"]
    assert np.isinf(oracle["psnr"])
    assert oracle["auc"] == 1.0 and oracle["ssim"] == pytest.approx(1.0)
    assert oracle["delta_colorfulness"] == pytest.approx(0.0)
    assert oracle["chroma_ratio"] == pytest.approx(1.0)
    grey = summary.loc[GREY]
    assert grey["auc"] < 1.0 and np.isfinite(grey["psnr"])
    assert grey["delta_colorfulness"] > 5.0


def test_evaluate_and_training_report_the_same_numbers(photos):
    """One definition of the headline metrics (kcolor.metrics.headline): `kcolor evaluate`
    (in batches, through its per-image table) and a training run's held-out scores give
    identical numbers for the same photos."""
    from kcolor.training.scores import _set_scores

    def warm(greys):
        return np.clip(greys.astype(int) + [30, 0, -30], 0, 255).astype(np.uint8)

    summary = evaluate(photos, {"warm": warm}, size=SIZE, batch_size=3, progress=False)
    truths = np.stack(list(_truths(photos).values()))
    for name, pred in (("warm", warm(grey_version(truths))), (GREY, grey_version(truths))):
        want = metrics.headline_scores(pred, truths)
        assert list(want) == SUMMARY
        assert summary.loc[name, SUMMARY].to_dict() == want
        assert _set_scores(pred, truths) == want


def test_several_models_limit_and_semantic(photos, tmp_path):
    def embedder(rgb):  # a fake classifier: "class" = the dominant RGB channel
        assert rgb.dtype == np.float32 and 0.0 <= rgb.min() and rgb.max() <= 1.0
        return rgb.mean(axis=(1, 2))

    summary = evaluate(
        photos,
        [_oracle(photos), lambda g: g],
        size=SIZE,
        out_dir=tmp_path,
        limit=2,
        batch_size=1,
        semantic=True,
        embedder=embedder,
        progress=False,
    )
    assert list(summary.index) == ["oracle", "<lambda>", GREY]
    assert summary.attrs["n_images"] == 2
    assert summary.attrs["judge"] == "embedder"  # a callable judge is named by its __name__
    assert summary.loc["oracle", "semantic_agreement"] == 1.0
    assert summary.loc["<lambda>", "semantic_agreement"] == summary.loc[GREY, "semantic_agreement"]
    per = pd.read_csv(tmp_path / "per_image.csv")
    assert len(per) == 2 and set(per[f"{GREY}/semantic_agree"]) <= {0.0, 1.0}
    # limit takes the first photos in sorted order
    assert [p.rsplit("/", 1)[-1] for p in per["file"]] == COLOUR[:2]


def test_report_is_self_contained(photos, tmp_path):
    evaluate(photos, {"oracle": _oracle(photos)}, size=SIZE, out_dir=tmp_path, progress=False)
    page = (tmp_path / "report.html").read_text()
    # the caption names the grid's columns, as many as there are
    caption = "Columns: grey input (what the models see) | oracle | original."
    assert page.count(caption) == 2
    images = re.findall(r'<img src="([^"]+)"', page)
    assert len(images) == 2  # best and worst grids
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert GREY in page and "oracle" in page and "resize-to-fill" in page
    for name in ("best.png", "worst.png", "summary.png"):
        assert (tmp_path / name).stat().st_size > 1000


def test_unreadable_and_grey_are_counted(photos, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    for name in ("coffee.jpg", "camera.png"):
        (folder / name).write_bytes((photos / name).read_bytes())
    summary = evaluate(folder, lambda g: g, size=SIZE, out_dir=tmp_path / "out", progress=False)
    assert summary.attrs["n_images"] == 1
    assert summary.attrs["n_grey_dropped"] == 1 and summary.attrs["n_unreadable"] == 1
    assert "broken.jpg" in (tmp_path / "out" / "report.html").read_text()
    kept = evaluate(folder, lambda g: g, size=SIZE, drop_grey=False, progress=False)
    assert kept.attrs["n_images"] == 2


# ---------------------------------------------------------------- the command
def test_report_caption_and_grid_have_the_same_columns(photos, tmp_path):
    from kcolor.evaluation.report import _grid_columns, grid_caption

    evaluate(
        photos,
        {"a": lambda g: g, "b": _oracle(photos)},
        size=SIZE,
        out_dir=tmp_path,
        progress=False,
    )
    page = (tmp_path / "report.html").read_text()
    assert "Columns: grey input (what the models see) | a | b | original." in page
    assert "grey (what the model sees) | colourised | original" not in page
    item = (0.5, 0, Path("x.png"), {k: np.zeros((4, 4, 3)) for k in ("grey", "a", "b", "truth")})
    columns = _grid_columns([item], ["a", "b", GREY])
    assert list(columns) == ["grey input", "a", "b", "original"]
    assert grid_caption(columns).count("|") == len(columns) - 1


def test_format_summary_uses_one_precision_per_metric(photos):
    summary = evaluate(photos, {"grey": lambda g: g}, size=SIZE, progress=False)
    text = format_summary(summary)
    header, first = text.splitlines()[0], text.splitlines()[2]
    assert header.split()[:3] == ["PSNR", "SSIM", "AuC"]
    psnr, ssim, auc = first.split()[1:4]
    assert re.fullmatch(r"\d+\.\d\d", psnr) and re.fullmatch(r"0\.\d{3}", ssim)
    assert re.fullmatch(r"0\.\d{3}", auc)
    assert psnr == f"{summary.iloc[0]['psnr']:.2f}"


def test_semantic_with_the_default_judge_names_it(photos, tmp_path):
    summary = evaluate(
        photos,
        {"oracle": _oracle(photos)},
        size=SIZE,
        limit=2,
        semantic=True,
        progress=False,
        out_dir=tmp_path,
    )
    assert summary.attrs["judge"] == "efficientnet_lite1"
    assert summary.loc["oracle", "semantic_agreement"] == 1.0
    assert "semantic agreement judged by efficientnet_lite1" in format_summary(summary)
    # the Fréchet distance on the judge's features: 0 for the originals themselves
    assert summary.loc["oracle", "frechet_distance"] == pytest.approx(0.0, abs=1e-3)
    assert summary.loc[GREY, "frechet_distance"] > 1.0
    assert summary.attrs["frechet_n"] == 2
    assert "Fréchet distance on efficientnet_lite1 pooled features, n = 2" in format_summary(
        summary
    )
    assert "judged by efficientnet_lite1" in (tmp_path / "report.html").read_text()


def test_vivid_recall_pooled_and_hue_aware(photos, tmp_path):
    """Vivid recall: 1 for the truth, 0 for grey, and pooled over the pixels of all photos."""
    summary = evaluate(
        photos, {"oracle": _oracle(photos)}, size=SIZE, progress=False, out_dir=tmp_path
    )
    assert summary.loc["oracle", "vivid_recall"] == pytest.approx(1.0)
    assert summary.loc[GREY, "vivid_recall"] == 0.0
    per = pd.read_csv(tmp_path / "per_image.csv")
    assert summary.loc["oracle", "vivid_recall"] == pytest.approx(
        per["oracle/vivid_hits"].sum() / per["oracle/vivid_pixels"].sum()
    )


def test_cli_judge_option(capsys):
    from kcolor.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["evaluate", "d", "-o", "o"]).judge == "efficientnet_lite1"
    args = parser.parse_args(
        ["evaluate", "d", "-o", "o", "--semantic", "--judge", "efficientnet_lite0"]
    )
    assert args.judge == "efficientnet_lite0" and args.semantic
    with pytest.raises(SystemExit):
        parser.parse_args(["evaluate", "d", "-o", "o", "--judge", "resnet"])
    assert "efficientnet_lite1" in capsys.readouterr().err


def test_cli_evaluate(photos, tiny_keras, tmp_path, capsys):
    out = tmp_path / "eval"
    code = main(
        [
            "evaluate",
            str(photos),
            "--model",
            str(tiny_keras),
            "--model",
            str(tiny_keras),
            "-o",
            str(out),
            "--size",
            str(SIZE),
            "--limit",
            "3",
            "-q",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "tiny" in printed and "tiny_2" in printed and GREY in printed and "AuC" in printed
    assert len(pd.read_csv(out / "per_image.csv")) == 3
    assert list(pd.read_csv(out / "summary.csv")["model"]) == ["tiny", "tiny_2", GREY]
    assert (out / "report.html").is_file()


def test_cli_evaluate_with_a_preset(photos, tmp_path, capsys):
    from kcolor.models import alpha

    folder = presets.save_to_preset(
        alpha(),
        tmp_path / "alpha-preset",
        builder="alpha",
        args={"input_shape": [None, None, 1]},
        input_size=SIZE,
    )
    presets.register_preset("test-eval-alpha", folder=folder)
    try:
        code = main(
            [
                "evaluate",
                str(photos),
                "--model",
                "test-eval-alpha",
                "-o",
                str(tmp_path / "o"),
                "--size",
                str(SIZE),
                "--limit",
                "1",
                "-q",
            ]
        )
    finally:
        presets.unregister_preset("test-eval-alpha")
    assert code == 0
    assert "test-eval-alpha" in capsys.readouterr().out


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing", "no such file or folder"),
        ("empty", "no images found"),
        ("grey", "no colour photo"),
        ("bad_model", "neither a preset"),
        ("no_weights", "no model to use"),
    ],
)
def test_cli_errors(case, message, photos, tiny_keras, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    from kcolor import presets

    no_weights = tmp_path / "no-weights"
    no_weights.mkdir()
    (no_weights / "config.json").write_text('{"builder": "alpha"}')
    presets.register_preset("test-unavailable", folder=no_weights, overwrite=True)
    model = {"bad_model": "no-such-model", "no_weights": "test-unavailable"}.get(
        case, str(tiny_keras)
    )
    if case == "grey":
        (folder / "camera.png").write_bytes((photos / "camera.png").read_bytes())
    if case in ("bad_model", "no_weights"):
        folder = photos
    if case == "missing":
        folder = tmp_path / "nope"
    try:
        code = main(["evaluate", str(folder), "--model", model, "-o", str(tmp_path / "o"), "-q"])
    finally:
        presets.unregister_preset("test-unavailable")
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("kcolor: error:") and message in err
    assert "Traceback" not in err


def test_cli_on_bsds500(tiny_keras, tmp_path, capsys):
    folder = shared_path("photos", "bsds500", "test")
    code = main(
        [
            "evaluate",
            str(folder),
            "--model",
            str(tiny_keras),
            "-o",
            str(tmp_path),
            "--size",
            "64",
            "--limit",
            "3",
            "-q",
        ]
    )
    assert code == 0
    summary = pd.read_csv(tmp_path / "summary.csv", index_col="model")
    assert summary.loc[GREY, "auc"] > 0.5 and 15 < summary.loc[GREY, "psnr"] < 40
    assert len(pd.read_csv(tmp_path / "per_image.csv")) == 3


def test_cli_evaluates_the_photos_of_several_folders(photos, tiny_keras, tmp_path, capsys):
    """Issue 27.10: `kcolor evaluate A B` (nargs="+"): the photos of both folders."""
    more = tmp_path / "more"
    more.mkdir()
    flipped = np.asarray(Image.fromarray(data.astronaut()).reduce(4))[:, ::-1]
    Image.fromarray(np.ascontiguousarray(flipped)).save(more / "flipped.png")
    out = tmp_path / "eval"
    code = main(
        [
            "evaluate",
            str(photos),
            str(more),
            "--model",
            str(tiny_keras),
            "-o",
            str(out),
            "--size",
            str(SIZE),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    files = [Path(p).name for p in pd.read_csv(out / "per_image.csv")["file"]]
    assert files == [*COLOUR, "flipped.png"]
    assert "5 photos at" in captured.out
    # stderr is not a terminal here (a log file): no progress bar lines in it.
    assert "evaluate:" not in captured.err and "img/s" not in captured.err
    assert main(["evaluate", str(photos), str(tmp_path / "nope"), "-o", str(out), "-q"]) == 2
    assert "nope: no such file or folder" in capsys.readouterr().err


def test_one_photo_is_one_photo(photos, tmp_path):
    summary = evaluate(photos / "coffee.jpg", _oracle(photos), size=SIZE, progress=False)
    assert "1 photo at" in format_summary(summary) and "1 photos" not in format_summary(summary)


def test_the_judge_option_lists_the_registered_judges():
    """`kcolor evaluate --judge` names the judges without importing Keras (the parser stays
    light), so this test keeps its choices and default those of kcolor.evaluation.judges."""
    from kcolor.cli.parser import build_parser
    from kcolor.evaluation.judges import DEFAULT_JUDGE, JUDGES

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["evaluate"]
    judge = next(a for a in sub._actions if a.dest == "judge")
    assert set(judge.choices) == set(JUDGES) and judge.default == DEFAULT_JUDGE
