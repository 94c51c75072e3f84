"""kcolor.losses: values, gradients, a decreasing fit, config round trips, packed targets."""

import numpy as np
import pytest

import kcolor  # noqa: F401
from kcolor import color
from kcolor.losses import (
    AbHuber,
    PackedLTargets,
    PerceptualLoss,
    SaturationMSE,
    pack_l,
    split_target,
)


def _batch(n=4, size=16, seed=0):
    """Encoded L and ab of smooth random colour images."""
    rng = np.random.default_rng(seed)
    small = rng.random((n, size // 4, size // 4, 3))
    rgb = small.repeat(4, axis=1).repeat(4, axis=2)
    x, y = color.split_lab(rgb)
    return x.astype(np.float32), y.astype(np.float32)


def test_pack_and_split():
    x, y = _batch(2)
    packed = pack_l(x, y)
    assert packed.shape == (2, 16, 16, 3) and packed.dtype == np.float32
    L, ab = split_target(packed)
    np.testing.assert_array_equal(L, x)
    np.testing.assert_array_equal(ab, y)
    assert split_target(y)[0] is None
    with pytest.raises(ValueError, match="2 \\(ab\\) or 3"):
        split_target(np.zeros((1, 2, 2, 4)))


def test_packed_dataset_wrapper():
    import keras

    x, y = _batch(4)

    class Batches(keras.utils.PyDataset):
        epochs = 0

        def __len__(self):
            return 2

        def __getitem__(self, i):
            return x[2 * i : 2 * i + 2], y[2 * i : 2 * i + 2]

        def on_epoch_end(self):
            Batches.epochs += 1

    ds = PackedLTargets(Batches())
    assert len(ds) == 2
    bx, by = ds[1]
    np.testing.assert_array_equal(by, pack_l(x[2:], y[2:]))
    ds.on_epoch_end()
    assert Batches.epochs == 1


def test_saturation_mse_by_hand():
    y_true = np.zeros((1, 1, 2, 2), np.float32)
    y_true[0, 0, 0] = [0.3, 0.4]  # chroma 0.5
    y_pred = np.zeros_like(y_true)
    y_pred[0, 0, 0] = [0.15, 0.2]  # chroma 0.25: lost 0.25
    y_pred[0, 0, 1] = [0.6, 0.0]  # extra chroma on a grey pixel: only MSE
    mse = ((0.15**2 + 0.2**2) / 2 + 0.6**2 / 2) / 2
    lost = 0.25**2 / 2
    assert float(SaturationMSE(penalty=0)(y_true, y_pred)) == pytest.approx(mse, rel=1e-5)
    assert float(SaturationMSE(penalty=2)(y_true, y_pred)) == pytest.approx(
        mse + 2 * lost, rel=1e-5
    )
    packed = np.concatenate([np.zeros_like(y_true[..., :1]), y_true], axis=-1)
    assert float(SaturationMSE(penalty=2)(packed, y_pred)) == pytest.approx(
        mse + 2 * lost, rel=1e-5
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: SaturationMSE(penalty=1.0),
        lambda: PerceptualLoss(layers=("stem", "block0")),
        lambda: AbHuber(delta=5.0),
    ],
    ids=["saturation", "perceptual", "ab_huber"],
)
def test_zero_at_the_truth_finite_and_config_round_trip(make):
    import keras

    loss = make()
    x, y = _batch(3)
    t = pack_l(x, y)
    assert float(loss(t, y)) == pytest.approx(0.0, abs=1e-7)
    wrong = float(loss(t, np.zeros_like(y)))
    assert np.isfinite(wrong) and wrong > 0
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert type(clone) is type(loss) and clone.get_config() == loss.get_config()
    assert float(clone(t, np.zeros_like(y))) == pytest.approx(wrong, rel=1e-5)


def test_perceptual_loss_gradients_reach_the_prediction():
    import torch

    x, y = _batch(2)
    pred = torch.zeros(y.shape, requires_grad=True)
    loss = PerceptualLoss(layers=("block0",), mse_weight=0.0)
    value = loss(pack_l(x, y), pred)
    value.backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0
    # the frozen network gets none
    from kcolor.losses import _efficientnet_lite0_trunk

    assert all(
        p.grad is None and not p.requires_grad for p in _efficientnet_lite0_trunk().parameters()
    )


def test_perceptual_loss_explains_missing_l():
    x, y = _batch(1)
    with pytest.raises(ValueError, match="pack_l"):
        PerceptualLoss()(y, y)
    with pytest.raises(ValueError, match="unknown layers"):
        PerceptualLoss(layers=("conv9",))
    with pytest.raises(ValueError, match="feature_model"):
        PerceptualLoss(feature_model="vgg16")


@pytest.mark.parametrize(
    "make",
    [
        lambda: SaturationMSE(penalty=1.0),
        lambda: PerceptualLoss(layers=("stem",), feature_weight=0.01),
    ],
    ids=["saturation", "perceptual"],
)
def test_fit_decreases_the_loss(make):
    import keras

    x, y = _batch(4, seed=1)
    t = pack_l(x, y)
    model = keras.Sequential(
        [keras.Input((16, 16, 1)), keras.layers.Conv2D(2, 3, padding="same", activation="tanh")]
    )
    model.compile(keras.optimizers.Adam(0.02), loss=make())
    before = model.evaluate(x, t, verbose=0)
    model.fit(x, t, batch_size=4, epochs=8, verbose=0)
    after = model.evaluate(x, t, verbose=0)
    assert np.isfinite(after) and after < before


def test_ab_huber_lives_in_losses_and_keeps_its_old_import_path():
    import keras

    from kcolor.models import color_classes

    assert AbHuber.__module__ == "kcolor.losses"
    assert color_classes.AbHuber is AbHuber
    # Saved models name it "kcolor>AbHuber": the registered name did not move with it.
    assert keras.saving.get_registered_object("kcolor>AbHuber") is AbHuber
