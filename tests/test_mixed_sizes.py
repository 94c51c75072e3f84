"""kcolor.datasets.MixedSizes and ``kcolor train --sizes``: mixed-size training batches."""

import numpy as np
import pytest
from test_cli import make_photos
from test_training import _parse

from kcolor import presets, training
from kcolor.cli import main
from kcolor.datasets import MixedSizes
from kcolor.datasets.arrays import ArrayDataset
from kcolor.datasets.mixed import batch_sizes_schedule
from kcolor.errors import DataError
from kcolor.training import TrainConfig


def _photos(n=10, side=40):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, side, side, 3), dtype=np.uint8)


def _parts(sizes, **kwargs):
    photos = _photos()
    return [
        ArrayDataset(photos, size=s, batch_size=3, augment=True, seed=5, **kwargs) for s in sizes
    ]


def test_schedule_is_balanced_seeded_and_changes_per_epoch():
    a = batch_sizes_schedule(10, 2, seed=1, epoch=0)
    assert sorted(np.bincount(a)) == [5, 5]
    assert np.array_equal(a, batch_sizes_schedule(10, 2, seed=1, epoch=0))
    assert not np.array_equal(a, batch_sizes_schedule(10, 2, seed=1, epoch=1))
    assert sorted(np.bincount(batch_sizes_schedule(7, 3, 0, 0))) == [2, 2, 3]


def test_batches_come_at_every_size_and_each_photo_once_per_epoch():
    mixed = MixedSizes(_parts([16, 32]))
    assert len(mixed) == 4 and mixed.sizes == [(16, 16), (32, 32)]
    for epoch in (0, 1):
        mixed.set_epoch(epoch)
        shapes = []
        for i in range(len(mixed)):
            x, y = mixed[i]
            assert x.shape[1:3] == mixed.size_of(i) == y.shape[1:3]
            assert x.shape[-1] == 1 and y.shape[-1] == 2
            shapes.append(x.shape[1])
        assert set(shapes) == {16, 32}
        assert sorted(mixed.order) == list(range(10))  # one order shared by both sizes
        for d in mixed.datasets:
            assert np.array_equal(d.order, mixed.order)
    before = mixed.schedule.copy()
    mixed.on_epoch_end()
    assert mixed.epoch == 2 and all(d.epoch == 2 for d in mixed.datasets)
    assert mixed.schedule is not before


def test_a_batch_equals_its_own_size_dataset_batch():
    parts = _parts([16, 24])
    mixed = MixedSizes(parts)
    twins = _parts([16, 24])
    for i in range(len(mixed)):
        x, _ = mixed[i]
        j = mixed.sizes.index(mixed.size_of(i))
        np.testing.assert_array_equal(x, twins[j][i][0])


def test_datasets_must_agree():
    photos = _photos()
    a = ArrayDataset(photos, size=16, batch_size=3, augment=True, seed=5)
    b = ArrayDataset(photos, size=32, batch_size=4, augment=True, seed=5)
    with pytest.raises(ValueError, match="same batch_size"):
        MixedSizes([a, b])
    with pytest.raises(ValueError, match="at least one"):
        MixedSizes([])


def test_sizes_in_the_config_and_the_command():
    config = TrainConfig(output="r", data=["p"], size=64, sizes=[128, 64, 96])
    assert config.sizes == [96, 128]  # sorted, without the main size
    command = config.to_command()
    assert "--sizes 96 128" in command and _parse(command) == config
    with pytest.raises(DataError, match="multiple of 8, got 30"):
        TrainConfig(output="r", data=["p"], sizes=[30]).validate()


def test_kcolor_train_with_sizes_trains_on_both(tmp_path, capsys):
    data = make_photos(tmp_path / "data", n=6, size=(40, 40))
    run = tmp_path / "run"
    argv = [
        "train",
        "--model",
        "alpha",
        "--data",
        str(data),
        "-o",
        str(run),
        "--size",
        "16",
        "--sizes",
        "32",
        "--epochs",
        "1",
        "--batch-size",
        "2",
        "--val-split",
        "0.34",
        "-q",
    ]
    assert main(argv) == 0
    assert "16/32 px" in capsys.readouterr().err
    meta = presets.read_metadata(run)
    assert meta["train_config"]["sizes"] == [32]
    assert presets.read_config(run)["input_size"] == 16
    train, _ = training.make_datasets(
        TrainConfig.from_dict(meta["train_config"]),
        training.config_photos(TrainConfig.from_dict(meta["train_config"]))[0],
        [],
    )
    assert isinstance(train, MixedSizes) and train.sizes == [(16, 16), (32, 32)]
