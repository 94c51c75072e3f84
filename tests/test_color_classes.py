"""kcolor.models.color_classes: ab bins, soft targets, rebalancing, annealed mean, the loss."""

import keras
import numpy as np
import pytest

import kcolor  # noqa: F401
from kcolor import color
from kcolor.models import color_classes as cc


def test_gamut_bins_in_gamut():
    bins = cc.gamut_bins()
    assert bins.shape == (229, 2)
    assert set(np.unique(bins % 10)) == {0.0}
    lightness = np.linspace(0, 100, 1001)
    lab = np.concatenate(
        [
            np.broadcast_to(lightness[:, None, None], (1001, len(bins), 1)),
            np.broadcast_to(bins[None], (1001, len(bins), 2)),
        ],
        -1,
    )
    rgb = color.lab_to_rgb(lab, clip=False)
    assert ((rgb >= 0) & (rgb <= 1)).all(-1).any(0).all()
    # grey is a bin, a colour far outside sRGB is not
    assert (bins == 0).all(-1).any()
    assert not (bins == [-120, 120]).all(-1).any()
    assert len(cc.gamut_bins(grid=20)) < 80


def test_soft_encode_sums_to_one_and_peaks_at_nearest():
    bins = cc.gamut_bins()
    ab = np.array([[0.0, 0.0], [12.0, -31.0], [43.0, 57.0]], np.float32)
    t = cc.soft_encode(ab, bins)
    assert t.shape == (3, len(bins))
    np.testing.assert_allclose(t.sum(-1), 1.0, rtol=1e-6)
    assert ((t > 0).sum(-1) == 5).all()
    np.testing.assert_array_equal(t.argmax(-1), cc.nearest_bin(ab, bins))
    np.testing.assert_array_equal(bins[t.argmax(-1)], [[0, 0], [10, -30], [40, 60]])


def test_class_weights_mean_one_and_rare_heavier():
    rng = np.random.default_rng(0)
    # mostly near-grey pixels, a few saturated blue ones
    ab = np.concatenate([rng.normal(0, 4, (5000, 2)), rng.normal([10, -50], 3, (100, 2))])
    y = color.encode_ab(ab.astype(np.float32)).reshape(1, 51, 100, 2)
    bins = cc.gamut_bins()
    w = cc.fit_class_weights(y, bins, lam=0.5)
    counts = cc.ab_histogram(y, bins)
    p = cc.class_weights_from_counts(counts, bins, lam=1.0)  # lam=1: no rebalancing
    np.testing.assert_allclose(p, 1.0, rtol=1e-5)
    smoothed = np.exp(-((bins[:, None] - bins[None]) ** 2).sum(-1) / 50.0) @ (counts / counts.sum())
    smoothed /= smoothed.sum()
    np.testing.assert_allclose((smoothed * w).sum(), 1.0, rtol=1e-5)
    grey, blue, unseen = (
        cc.nearest_bin(np.array(v, np.float32), bins) for v in ([0, 0], [10, -50], [80, 60])
    )
    assert w[grey] < w[blue] < w[unseen]
    assert w[unseen] == pytest.approx(w.max())
    # a dataset of (x, y) batches gives the same weights as the arrays
    batches = [(None, y[:, :25]), (None, y[:, 25:])]
    np.testing.assert_allclose(cc.fit_class_weights(batches, bins), w, rtol=1e-6)


def test_annealed_mean_limits():
    bins = cc.gamut_bins()
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(2, 3, 4, len(bins))).astype(np.float32)
    cold = keras.ops.convert_to_numpy(cc.AnnealedMeanDecode(bins, temperature=1e-3)(logits))
    np.testing.assert_allclose(cold, bins[logits.argmax(-1)] / 128.0, atol=1e-5)
    warm = keras.ops.convert_to_numpy(cc.AnnealedMeanDecode(bins, temperature=1.0)(logits))
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    np.testing.assert_allclose(warm, p @ bins / 128.0, atol=1e-5)
    up = cc.AnnealedMeanDecode(bins, upsample=2)(logits)
    assert tuple(up.shape) == (2, 6, 8, 2)
    with pytest.raises(ValueError, match="temperature"):
        cc.AnnealedMeanDecode(bins, temperature=0)


def test_loss_matches_numpy_and_pools_targets():
    bins = cc.gamut_bins()
    rng = np.random.default_rng(2)
    y = rng.uniform(-0.4, 0.4, (2, 4, 4, 2)).astype(np.float32)
    logits = rng.normal(size=(2, 2, 2, len(bins))).astype(np.float32)
    w = rng.uniform(0.5, 2.0, len(bins)).astype(np.float32)
    loss = cc.ColorClassLoss(bins, w)
    got = float(keras.ops.convert_to_numpy(loss(y, logits)))
    pooled = y.reshape(2, 2, 2, 2, 2, 2).mean((2, 4)) * 128.0
    t = cc.soft_encode(pooled, bins)
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expect = (-(t * log_p).sum(-1) * w[cc.nearest_bin(pooled, bins)]).mean()
    assert got == pytest.approx(expect, rel=1e-4)
    # packed targets (L, a, b) read ab from the last two channels
    packed = np.concatenate([np.zeros_like(y[..., :1]), y], -1)
    assert float(keras.ops.convert_to_numpy(loss(packed, logits))) == pytest.approx(got, rel=1e-6)
    config = keras.losses.deserialize(keras.losses.serialize(loss)).get_config()
    np.testing.assert_allclose(config["class_weights"], w, rtol=1e-6)


def test_ab_huber():
    loss = cc.AbHuber(delta=12.8)  # 0.1 encoded
    y = np.zeros((1, 1, 1, 2), np.float32)
    pred = np.array([[[[0.05, 0.5]]]], np.float32)
    expect = (0.5 * 0.05**2 + (0.1 * 0.5 - 0.5 * 0.1**2)) / 2
    assert float(keras.ops.convert_to_numpy(loss(y, pred))) == pytest.approx(expect, rel=1e-5)


def test_prior_correction_divides_the_probabilities_by_the_weights():
    bins = cc.gamut_bins()
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(1, 2, 3, len(bins))).astype(np.float32)
    weights = rng.uniform(0.2, 5.0, len(bins)).astype(np.float32)
    for alpha, t in ((1.0, 1.0), (0.5, 0.38)):
        layer = cc.AnnealedMeanDecode(bins, t, class_weights=weights, prior_correction=alpha)
        got = keras.ops.convert_to_numpy(layer(logits))
        p = np.exp(logits) / weights**alpha  # p(q) / w_q^alpha, then annealed
        p = p ** (1 / t)
        p /= p.sum(-1, keepdims=True)
        np.testing.assert_allclose(got, p @ bins / 128.0, atol=1e-4)
        again = cc.AnnealedMeanDecode.from_config(layer.get_config())
        np.testing.assert_allclose(keras.ops.convert_to_numpy(again(logits)), got, atol=1e-6)
    plain = cc.AnnealedMeanDecode(bins, 0.38, class_weights=weights)  # alpha 0: unchanged
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(plain(logits)),
        keras.ops.convert_to_numpy(cc.AnnealedMeanDecode(bins, 0.38)(logits)),
        atol=1e-6,
    )
    # Undoing the rebalancing moves colour away from the up-weighted (rare) bins.
    rare, one_heavy = 7, np.ones(len(bins), np.float32)
    one_heavy[rare] = 4.0  # one up-weighted (rare) bin
    flat = np.zeros((1, 1, 1, len(bins)), np.float32)
    toward = cc.AnnealedMeanDecode(bins, 1.0, class_weights=one_heavy, prior_correction=1.0)
    out = keras.ops.convert_to_numpy(toward(flat))[0, 0, 0] * 128.0
    mean = bins.mean(0)
    assert np.linalg.norm(out - bins[rare]) > np.linalg.norm(mean - bins[rare]) + 0.01
    with pytest.raises(ValueError, match="prior_correction must be in"):
        cc.AnnealedMeanDecode(bins, class_weights=weights, prior_correction=1.5)
    with pytest.raises(ValueError, match="needs the head's class_weights"):
        cc.AnnealedMeanDecode(bins, prior_correction=0.5)


def _model(channels, head=False):
    inputs = keras.Input((8, 8, 1))
    features = keras.layers.Conv2D(channels if not head else 4, 1)(inputs)
    return keras.Model(inputs, cc.ColorClassLogits()(features) if head else features)


def test_is_class_model_is_the_one_output_check():
    assert cc.is_class_model(_model(4, head=True))
    assert not cc.is_class_model(_model(2))
    # Q channels without a ColorClassLogits layer (e.g. cast away): still class logits.
    assert cc.is_class_model(_model(len(cc.gamut_bins())))
    assert cc.AB_CHANNELS == 2
    decoded = cc.to_ab_model(_model(4, head=True))
    assert not cc.is_class_model(decoded)
    assert not cc.is_class_model(object())  # no symbolic outputs: not a class model


def test_the_package_keeps_every_old_name():
    import importlib

    for module in ("bins", "rebalancing", "head", "loss", "decoding"):
        sub = importlib.import_module(f"kcolor.models.color_classes.{module}")
        for name in sub.__all__:
            assert getattr(cc, name) is getattr(sub, name), (module, name)
    old = [
        "AbHuber", "AnnealedMeanDecode", "ColorClassLogits", "ColorClassLoss", "ab_histogram",
        "class_head", "class_loss", "class_weights_from_counts", "fit_class_weights",
        "gamut_bins", "get_class_weights", "is_class_model", "make_loss", "nearest_bin",
        "set_class_weights", "soft_encode", "to_ab_model", "DEFAULT_GRID", "DEFAULT_NEIGHBOURS",
        "DEFAULT_SIGMA", "DEFAULT_LAMBDA", "DEFAULT_TEMPERATURE",
    ]  # fmt: skip
    assert not [name for name in old if not hasattr(cc, name)]
