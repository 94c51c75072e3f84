"""The campaign tool: its weight average (batch norms included) and its first stretch."""

import sys
from pathlib import Path

import keras
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools" / "release"))
import campaign  # noqa: E402


def test_ema_averages_batch_norm_statistics_and_swaps_them():
    inp = keras.Input((8, 8, 3))
    out = keras.layers.BatchNormalization()(keras.layers.Conv2D(4, 3)(inp))
    model = keras.Model(inp, out)
    bn = model.layers[-1]
    ema = campaign._EMA(model, 0.5)
    assert {"batch_normalization/moving_mean", "batch_normalization/moving_variance"} <= {
        v.path for v in ema.vars
    }
    model(np.random.default_rng(0).random((4, 8, 8, 3)).astype("float32"), training=True)
    live = keras.ops.convert_to_numpy(bn.moving_mean).copy()
    assert np.abs(live).max() > 0
    ema.update()
    ema.swap()  # the checkpoint's statistics: halfway between the start (0) and the live ones
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn.moving_mean), live / 2, rtol=1e-5)
    ema.swap()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn.moving_mean), live, rtol=1e-6)


def test_train_without_checkpoint_or_start_refuses(tmp_path, capsys):
    """A first stretch needs --init PRESET or --init-backbone NAME: said, exit 2."""
    code = campaign.main(
        ["train", "--campaign", str(tmp_path / "c"), "--cache-dir", str(tmp_path)]
        + ["--val", str(tmp_path / "val.csv"), "--cpu-hours", "0.1"]
    )
    assert code == 2
    assert "--init-backbone" in capsys.readouterr().err


def test_class_weights_refit_only_for_a_new_lambda():
    assert campaign.rebalancing_lambda({}, 0.5, None) == 0.5  # first stretch
    assert campaign.rebalancing_lambda({}, 0.5, 0.8) == 0.8
    assert campaign.rebalancing_lambda({"lambda": 0.5}, 0.5, None) is None  # kept
    assert campaign.rebalancing_lambda({"lambda": 0.5}, 0.5, 0.8) == 0.8  # the new choice
    assert campaign.rebalancing_lambda({"lambda": 0.8}, 0.5, 0.8) is None  # already so


def test_paired_bootstrap_of_a_constant_gain(tmp_path):
    import paired_bootstrap
    import pandas as pd

    rng = np.random.default_rng(0)
    rows = {"file": [f"p{i}.jpg" for i in range(40)]}
    psnr = rng.uniform(18, 26, 40)
    for name, gain in (("A", 0.0), ("B", 1.0)):
        rows[f"{name}/psnr"] = psnr + gain
        rows[f"{name}/semantic_agree"] = np.ones(40)
        rows[f"{name}/vivid_hits"] = np.full(40, 5.0 + 5 * gain)
        rows[f"{name}/vivid_pixels"] = np.full(40, 10.0)
    pd.DataFrame(rows).to_csv(tmp_path / "per_image.csv", index=False)
    a = paired_bootstrap.table([str(tmp_path / "per_image.csv")], "A")
    b = paired_bootstrap.table([str(tmp_path / "per_image.csv")], "B")
    diff, low, high = paired_bootstrap.paired_bootstrap(a, "A", b, "B", resamples=50)
    np.testing.assert_allclose(diff, [1.0, 0.0, 0.5])
    np.testing.assert_allclose(low, diff)
    np.testing.assert_allclose(high, diff)
