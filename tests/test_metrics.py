"""kcolor.metrics against hand-computed values, and the Keras metrics inside compile/fit."""

import math

import numpy as np
import pytest

import kcolor  # noqa: F401
from kcolor import color, metrics
from kcolor.datasets.mnist import MNIST_PALETTE_AB, colorize_digits

P = MNIST_PALETTE_AB.astype(np.float64)


def _hue(deg, chroma=30.0):
    r = np.deg2rad(deg)
    return np.array([chroma * np.cos(r), chroma * np.sin(r)])


def _targets(digits, size=4):
    """Encoded ab targets: each image has a 2x2 digit at m=1 and one faint pixel at m=0.3."""
    ab = np.zeros((len(digits), size, size, 2))
    for i, d in enumerate(digits):
        ab[i, :2, :2] = P[d]
        ab[i, 3, 3] = 0.3 * P[d]
    return color.encode_ab(ab).astype(np.float32)


# ---------------------------------------------------------------- digit / pixel accuracy
def test_digit_color_accuracy_by_hand():
    y_true = _targets([2, 6, 3, 1])
    pred = np.zeros((4, 4, 4, 2))
    pred[0, :2, :2] = _hue(72 + 10)  # digit 2 is at 72 deg: nearest -> right
    pred[1, :2, :2] = _hue(196)  # digit 6 is at 216 deg, 196 is nearer 180 (digit 5) -> wrong
    pred[2, :2, :2] = 0.0  # grey: no hue -> wrong
    pred[2, 3, 3] = P[3]  # ... even though the faint (m=0.3) pixel is right: it is not digit
    # Mean over the digit, not a vote: two pixels at 0 deg and two at 72 deg average to 36 = digit 1.
    pred[3, 0, :2] = _hue(0)
    pred[3, 1, :2] = _hue(72)
    pred[0, 3, 3] = _hue(300, 100)  # a wild faint pixel outside the digit changes nothing
    y_pred = color.encode_ab(pred).astype(np.float32)
    assert metrics.digit_color_accuracy(y_true, y_pred) == pytest.approx(2 / 4)
    assert metrics.digit_color_accuracy(y_true, y_true) == 1.0
    # With L packed in front (3-channel targets), the same answer.
    y3 = np.concatenate([np.zeros_like(y_true[..., :1]), y_true], axis=-1)
    assert metrics.digit_color_accuracy(y3, y_pred) == pytest.approx(2 / 4)


def test_pixel_color_accuracy_by_hand():
    y_true = _targets([0])  # digit 0 = ab (30, 0) on the 2x2 block
    pred = color.decode_ab(y_true.astype(np.float64)).copy()
    pred[0, 0, 0, 0] += 0.0
    pred[0, 0, 1, 0] += 5.0
    pred[0, 1, 0, 0] += 8.0  # exactly at the threshold: counts
    pred[0, 1, 1, 1] -= 9.0  # too far
    pred[0, 3, 3] += 100.0  # faint pixel: not a digit pixel
    pred[0, 2, 2] += 100.0  # background: not a digit pixel
    y_pred = color.encode_ab(pred).astype(np.float32)
    assert metrics.pixel_color_accuracy(y_true, y_pred) == pytest.approx(3 / 4)
    assert metrics.pixel_color_accuracy(y_true, y_pred, threshold=9) == pytest.approx(1.0)
    assert metrics.pixel_color_accuracy(y_true, y_pred, threshold=4.9) == pytest.approx(1 / 4)


def _random_digits(n=24, seed=0):
    rng = np.random.default_rng(seed)
    img = np.zeros((n, 12, 12), np.uint8)
    img[:, 3:9, 4:8] = rng.integers(0, 256, (n, 6, 4))
    img[:, 5, 5] = 255  # at least one digit pixel per image
    d = colorize_digits(img, rng.integers(0, 10, n))
    # predictions: each image's colours turned by a random hue angle (> 18 deg: wrong digit
    # colour), plus per-pixel noise of about 3 ab units
    t = np.deg2rad(rng.uniform(-40, 40, n))[:, None, None]
    a, b = d.y[..., 0], d.y[..., 1]
    turned = np.stack([a * np.cos(t) - b * np.sin(t), a * np.sin(t) + b * np.cos(t)], axis=-1)
    noise = rng.normal(0, 0.025, d.y.shape)
    return d.y, np.clip(turned + noise, -1, 1).astype(np.float32)


def test_keras_metrics_accumulate_like_the_functions():
    y_true, y_pred = _random_digits()
    want_digit = metrics.digit_color_accuracy(y_true, y_pred)
    want_pixel = metrics.pixel_color_accuracy(y_true, y_pred)
    assert 0.2 < want_digit < 1.0 and 0.05 < want_pixel < 0.95  # a real mix of hits and misses
    for metric, want in [
        (metrics.DigitColorAccuracy(), want_digit),
        (metrics.PixelColorAccuracy(), want_pixel),
    ]:
        for sl in (slice(0, 10), slice(10, 24)):
            metric.update_state(y_true[sl], y_pred[sl])
        assert float(metric.result()) == pytest.approx(want, abs=1e-6)
        metric.reset_state()
        assert float(metric.result()) == 0.0
        # sample_weight 0 drops images
        w = np.zeros(24, np.float32)
        w[:5] = 1
        metric.update_state(y_true, y_pred, sample_weight=w)
        fn = (
            metrics.digit_color_accuracy if "digit" in metric.name else metrics.pixel_color_accuracy
        )
        assert float(metric.result()) == pytest.approx(fn(y_true[:5], y_pred[:5]), abs=1e-6)


def test_metric_config_round_trip():
    import keras

    for m in (metrics.DigitColorAccuracy(threshold=0.4), metrics.PixelColorAccuracy(threshold=5)):
        clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(m))
        assert type(clone) is type(m) and clone.get_config() == m.get_config()
    with pytest.raises(ValueError, match="palette"):
        metrics.DigitColorAccuracy(palette=[[1.0, 2.0, 3.0]])


def test_metrics_inside_compile_fit_and_evaluate():
    import keras

    y_true, _ = _random_digits(16)
    x = np.linspace(-1, 1, y_true[..., :1].size, dtype=np.float32).reshape(y_true[..., :1].shape)
    model = keras.Sequential(
        [keras.Input((12, 12, 1)), keras.layers.Conv2D(2, 3, padding="same", activation="tanh")]
    )
    model.compile(
        "adam", "mse", metrics=[metrics.DigitColorAccuracy(), metrics.PixelColorAccuracy()]
    )
    hist = model.fit(x, y_true, batch_size=8, epochs=1, verbose=0)
    assert {"digit_color_accuracy", "pixel_color_accuracy"} <= set(hist.history)
    got = model.evaluate(x, y_true, batch_size=5, verbose=0, return_dict=True)
    pred = model.predict(x, verbose=0)
    assert got["digit_color_accuracy"] == pytest.approx(
        metrics.digit_color_accuracy(y_true, pred), abs=1e-6
    )
    assert got["pixel_color_accuracy"] == pytest.approx(
        metrics.pixel_color_accuracy(y_true, pred), abs=1e-6
    )


# ---------------------------------------------------------------- photo metrics
def test_psnr_by_hand():
    truth = np.zeros((2, 2, 3), np.uint8)
    pred = truth.copy()
    pred[0, 0, 0] = 10  # MSE = 100 / 12
    assert metrics.psnr(pred, truth) == pytest.approx(10 * math.log10(255**2 * 12 / 100))
    assert metrics.psnr(truth, truth) == math.inf
    batch = metrics.psnr(np.stack([pred, truth]), np.stack([truth, truth]))
    assert batch.shape == (2,) and batch[1] == math.inf
    # float input in [0, 1] is the same picture
    assert metrics.psnr(pred / 255.0, truth / 255.0) == pytest.approx(metrics.psnr(pred, truth))


def test_ssim_by_hand():
    a = np.full((16, 16, 3), 100, np.uint8)
    b = np.full((16, 16, 3), 110, np.uint8)
    c1 = (0.01 * 255) ** 2  # constant images: the contrast/structure term is C2/C2 = 1
    want = (2 * 100 * 110 + c1) / (100**2 + 110**2 + c1)
    assert metrics.ssim(a, b) == pytest.approx(want, rel=1e-9)
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    np.testing.assert_allclose(metrics.ssim(img, img), 1.0)
    with pytest.raises(ValueError, match="11 x 11"):
        metrics.ssim(a[:8], b[:8])


def test_auc_by_hand():
    from skimage.color import rgb2lab

    colour, grey = [200, 60, 40], [90, 90, 90]
    blue, yellow = [0, 0, 255], [255, 255, 0]
    truth = np.array([[grey, colour, blue]], np.uint8)
    pred = np.array([[grey, grey, yellow]], np.uint8)
    lab_t, lab_p = rgb2lab(truth), rgb2lab(pred)
    err = np.linalg.norm(lab_t[0, :, 1:] - lab_p[0, :, 1:], axis=-1)
    assert err[0] < 1e-3 and 20 < err[1] < 150 and err[2] > 150
    # pixel 0 is within every threshold 0..150 (151 of them), pixel 1 within ceil(e)..150, pixel 2 none
    want = (151 + (151 - math.ceil(err[1])) + 0) / 3 / 151
    assert metrics.auc(pred, truth) == pytest.approx(want, abs=1e-9)
    # the same as the definition, threshold by threshold
    brute = np.mean([np.mean(err <= t) for t in range(151)])
    assert metrics.auc(pred, truth) == pytest.approx(brute, abs=1e-9)
    assert metrics.auc(truth, truth) == 1.0
    # brightness changes are no colour error
    assert metrics.auc(np.full((2, 2, 3), 40, np.uint8), np.full((2, 2, 3), 200, np.uint8)) == 1.0


def test_colorfulness_by_hand():
    const = np.zeros((3, 3, 3), np.uint8) + np.array([200, 100, 50], np.uint8)
    # rg = 100, yb = 150 - 50 = 100, no spread
    assert metrics.colorfulness(const) == pytest.approx(0.3 * math.sqrt(100**2 + 100**2))
    assert metrics.colorfulness(np.full((3, 3, 3), 77, np.uint8)) == 0.0
    two = np.array([[[255, 0, 0], [0, 0, 0]]], np.uint8)
    # rg = [255, 0], yb = [127.5, 0]: std = mean = (127.5, 63.75)
    assert metrics.colorfulness(two) == pytest.approx(1.3 * math.hypot(127.5, 63.75))
    grey = np.full((3, 3, 3), 9, np.uint8)
    assert metrics.delta_colorfulness(np.stack([const, grey]), [grey, grey]) == pytest.approx(
        0.15 * math.sqrt(2) * 100
    )


def test_chroma_ratio_half():
    rng = np.random.default_rng(1)
    ab = rng.uniform(-20, 20, (2, 5, 5, 2))
    L = np.full((2, 5, 5, 1), 55.0)
    truth = color.lab_to_rgb(np.concatenate([L, ab], -1), clip=False)
    pred = color.lab_to_rgb(np.concatenate([L, ab / 2], -1), clip=False)
    assert truth.min() > 0 and truth.max() < 1  # in gamut, so the ratio is exact
    assert metrics.chroma_ratio(pred, truth) == pytest.approx(0.5, abs=1e-4)
    assert metrics.chroma_ratio(truth, truth) == pytest.approx(1.0)
    assert math.isnan(metrics.chroma_ratio(truth, np.full((4, 4, 3), 0.5)))


def test_evaluate_pair_and_errors():
    rng = np.random.default_rng(2)
    truth = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    pred = np.clip(truth.astype(int) + rng.integers(-20, 20, truth.shape), 0, 255).astype(np.uint8)
    got = metrics.evaluate_pair(pred, truth)
    assert got["psnr"] == metrics.psnr(pred, truth)
    assert got["ssim"] == metrics.ssim(pred, truth)
    assert got["auc"] == metrics.auc(pred, truth)
    assert got["colorfulness"] == metrics.colorfulness(pred)
    assert got["colorfulness_truth"] == metrics.colorfulness(truth)
    assert got["delta_colorfulness"] == pytest.approx(
        abs(got["colorfulness"] - got["colorfulness_truth"])
    )
    assert got["chroma_ratio"] == metrics.chroma_ratio(pred, truth)
    assert all(isinstance(v, float) for v in got.values())
    with pytest.raises(ValueError, match="differ in shape"):
        metrics.psnr(truth, truth[:8])
    with pytest.raises(ValueError, match=r"must be in \[0, 1\]"):
        metrics.psnr(truth * 1.0, truth * 1.0)


def test_semantic_agreement_with_a_stand_in_classifier():
    def embedder(batch):  # "class" = the brightest channel
        assert batch.dtype == np.float32 and batch.max() <= 1.0
        return batch.mean(axis=(1, 2))

    red, green = np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8)
    red[..., 0], green[..., 1] = 200, 200
    preds, truths = [red, green, red], [red, red, red[:4, :4]]
    with pytest.raises(ValueError, match="differ in shape"):
        metrics.semantic_agreement(preds, truths, embedder=embedder)
    truths[2] = red
    assert metrics.semantic_agreement(preds, truths, embedder=embedder) == pytest.approx(2 / 3)


def test_semantic_agreement_needs_a_classifier():
    img = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(TypeError, match="embedder"):
        metrics.semantic_agreement([img], [img])
    with pytest.raises(TypeError, match="callable"):
        metrics.semantic_agreement([img], [img], embedder="efficientnet_lite1")


def test_metrics_do_not_import_datasets_or_models():
    import ast
    from pathlib import Path

    files = sorted(Path(metrics.__file__).parent.glob("*.py"))
    assert len(files) > 1  # the package's modules, not only its __init__
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for path in files
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert not [m for m in imported if m.startswith(("kcolor.datasets", "kcolor.models"))]


def test_semantic_agreement_with_efficientnet_lite1():
    from skimage import data

    from kcolor.evaluation.judges import get_judge

    astronaut = data.astronaut()[::4, ::4]  # (128, 128, 3) uint8
    coffee = data.coffee()[::3, 44:428:3][:128]  # (128, 128, 3): a cup of coffee, another class
    assert coffee.shape == astronaut.shape
    # the same photo agrees with itself; a cup of coffee is not an astronaut
    got = metrics.semantic_agreement([astronaut, coffee], [astronaut, astronaut], get_judge())
    assert got == 0.5


# ---------------------------------------------------------------- vivid recall, Fréchet
def test_vivid_recall_counts_hue_and_strength():
    from kcolor import color as kc

    def lab_image(L, a, b):
        lab = np.zeros((1, 8, 8, 3), np.float32)
        lab[..., 0], lab[..., 1], lab[..., 2] = L, a, b
        return kc.to_uint8(kc.lab_to_rgb(lab))

    red = lab_image(50, 60, 40)  # chroma 72, hue 34 degrees
    assert metrics.vivid_recall(red, red) == 1.0
    assert metrics.vivid_recall(lab_image(50, 0, 0), red) == 0.0  # grey
    assert metrics.vivid_recall(lab_image(50, 6, 4), red) == 0.0  # right hue, too pale
    assert metrics.vivid_recall(lab_image(50, 10, 40), red) == 1.0  # hue 76: 42 degrees off
    assert metrics.vivid_recall(lab_image(50, -10, 40), red) == 0.0  # hue 104: 70 degrees off
    assert metrics.vivid_recall(lab_image(50, -40, 40), red) == 0.0  # green for red
    pale_truth = lab_image(50, 10, 10)  # no strongly coloured pixel: nan
    assert np.isnan(metrics.vivid_recall(pale_truth, pale_truth))


def test_frechet_distance_is_a_distance():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(300, 5)), rng.normal(size=(300, 5)) * 2.0 + 1.0
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    d = metrics.frechet_distance(a, b)
    assert d == pytest.approx(metrics.frechet_distance(b, a), rel=1e-6)
    # Gaussians N(0, I) and N(1, 4I) in 5-D: 5 * 1 + 5 * (1 + 4 - 2 * 2) = 10
    assert d == pytest.approx(10.0, rel=0.2)
    with pytest.raises(ValueError, match="feature arrays"):
        metrics.frechet_distance(a, b[:, :3])


def _frechet_by_sqrtm(a, b):
    """FID's textbook formula (scipy's sqrtm of the (d, d) product), the reference."""
    from scipy import linalg

    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    mu = a.mean(0) - b.mean(0)
    root = linalg.sqrtm(sa @ sb)
    root = root[0] if isinstance(root, tuple) else root
    return float(mu @ mu + np.trace(sa + sb) - 2.0 * np.trace(np.real(root)))


@pytest.mark.parametrize("n, d", [(300, 5), (40, 12), (12, 40), (25, 25)])
def test_frechet_distance_equals_the_sqrtm_formula(n, d):
    """Both ways to Tr((S_a S_b)^(1/2)) (singular values when n <= d, eigh otherwise) give
    what scipy's sqrtm of the product gives, with more or fewer photos than dimensions."""
    rng = np.random.default_rng(n * d)
    mix = rng.normal(size=(d, d))
    a = rng.normal(size=(n, d)) @ mix
    b = rng.normal(size=(n + 3, d)) @ (mix * 1.3) + 0.5
    want = _frechet_by_sqrtm(a, b)
    assert metrics.frechet_distance(a, b) == pytest.approx(want, rel=1e-6, abs=1e-6)


# ---------------------------------------------------------------- the headline scores
def _photos(n, side=24, seed=0):
    """Blocky random colour photos and a noisy "colourisation" of them, uint8."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (n, side // 4, side // 4, 3), dtype=np.uint8)
    truth = base.repeat(4, axis=1).repeat(4, axis=2)
    noise = rng.integers(-40, 41, truth.shape)
    pred = np.clip(truth.astype(int) + noise, 0, 255).astype(np.uint8)
    return pred, truth


def test_headline_scores_by_the_set_level_functions():
    """The one definition agrees with the per-image and per-set metric functions."""
    pred, truth = _photos(5)
    got = metrics.headline_scores(pred, truth, batch_size=2)
    assert list(got) == list(metrics.HEADLINE_METRICS)
    assert got["psnr"] == pytest.approx(np.mean(metrics.psnr(pred, truth)), rel=1e-12)
    assert got["ssim"] == pytest.approx(np.mean(metrics.ssim(pred, truth)), rel=1e-12)
    assert got["auc"] == pytest.approx(np.mean(metrics.auc(pred, truth)), rel=1e-12)
    assert got["colorfulness"] == pytest.approx(np.mean(metrics.colorfulness(pred)), rel=1e-12)
    assert got["delta_colorfulness"] == pytest.approx(
        metrics.delta_colorfulness(pred, truth), rel=1e-9
    )
    assert got["chroma_ratio"] == pytest.approx(metrics.chroma_ratio(pred, truth), rel=1e-12)
    assert got["vivid_recall"] == pytest.approx(metrics.vivid_recall(pred, truth), rel=1e-12)
    # the chunk size changes nothing, not even the last bit
    assert metrics.headline_scores(pred, truth, batch_size=32) == got
    assert metrics.headline_scores(pred, truth, batch_size=1) == got


def test_image_scores_per_image_and_small_photos():
    pred, truth = _photos(3, side=8)  # under SSIM's 11 x 11 window
    scores = metrics.image_scores(pred, truth)
    assert list(scores) == list(metrics.IMAGE_SCORES)
    assert all(v.shape == (3,) for v in scores.values())
    assert np.isnan(scores["ssim"]).all()
    np.testing.assert_allclose(scores["chroma"], [metrics.chroma(p) for p in pred], rtol=1e-12)
    hits, strong = metrics.vivid_counts(pred, truth)
    np.testing.assert_array_equal(scores["vivid_hits"], hits)
    np.testing.assert_array_equal(scores["vivid_pixels"], strong)
    summary = metrics.headline_scores(pred, truth)
    assert math.isnan(summary["ssim"]) and not math.isnan(summary["psnr"])
    grey = np.full_like(truth, 128)
    assert math.isnan(metrics.headline_scores(truth, grey)["chroma_ratio"])  # grey originals
    with pytest.raises(ValueError, match="one shape"):
        metrics.image_scores(pred[:2], truth)
    with pytest.raises(ValueError, match="one shape"):
        metrics.headline_scores(pred[0], truth[0])


def test_headline_scores_are_the_old_training_scores():
    """The numbers a training run reported before there was one definition do not change."""
    pred, truth = _photos(6, side=32, seed=3)
    per = [metrics.evaluate_pair(p, t) for p, t in zip(pred, truth, strict=True)]
    old = {
        k: float(np.nanmean([r[k] for r in per])) for k in ("psnr", "ssim", "auc", "colorfulness")
    }
    old["delta_colorfulness"] = float(metrics.delta_colorfulness(pred, truth))
    old["chroma_ratio"] = float(metrics.chroma_ratio(pred, truth))
    new = metrics.headline_scores(pred, truth)
    for k, v in old.items():
        assert new[k] == pytest.approx(v, rel=1e-12, abs=0), k
