"""kcolor.training: TrainConfig round trips, the kcolor train command, and train() itself."""

import json
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_cli import make_photos

from kcolor import Colorizer, presets, training
from kcolor.cli import build_parser, main, train_config_from_args
from kcolor.errors import DataError
from kcolor.training import TrainConfig

REPO = Path(__file__).resolve().parents[1]


def _parse(command: str) -> TrainConfig:
    argv = shlex.split(command)
    assert argv[:2] == ["kcolor", "train"]
    return train_config_from_args(build_parser().parse_args(argv[1:]))


def test_config_json_round_trip(tmp_path):
    config = TrainConfig(
        output="runs/x",
        data=["a", "b"],
        model="unet",
        size=64,
        model_args={"head": "classes"},
        loss="color_classes",
        minutes=2.5,
    )
    assert TrainConfig.from_json(config.to_json()) == config
    config.to_json(tmp_path / "c.json")
    assert TrainConfig.from_json(tmp_path / "c.json") == config
    with pytest.raises(DataError, match="unknown training option.*colour"):
        TrainConfig.from_dict({**config.to_dict(), "colour": 1})


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(output="runs/a", data=["photos/"]),
        TrainConfig(
            output="runs/b",
            data=["x y/", "z"],
            model="fusion",
            embed_cache=True,
            init="beta-photos",
            size=64,
            epochs=3,
            batch_size=8,
            lr=3e-4,
            loss="saturation",
            penalty=1.5,
            val_split=0.1,
            val_max=38,
            max_images=100,
            repeat=2,
            minutes=3.5,
            workers=3,
            seed=7,
            schedule="constant",
        ),
        TrainConfig(
            output="runs/c",
            manifest="s/train.csv",
            val_manifest="s/val.csv",
            model="unet",
            model_args={"head": "classes", "backbone": "efficientnet_lite0"},
            loss="color_classes",
            loss_args={"lam": 0.5},
            freeze_epochs=1,
            epochs=2,
            augment=False,
            drop_grey=False,
            recursive=True,
        ),
    ],
)
def test_the_recorded_command_gives_back_the_same_config(config):
    """Every option a preset used is a `kcolor train` option: command -> config is exact."""
    assert _parse(config.to_command()) == config


def test_the_shipped_presets_commands_parse():
    """Each preset's command chain starts with `kcolor train` runs that parse and build its
    network; any later steps are kcolor's own release tools (the default's campaign)."""
    for name in presets.shipped_names():
        chain = presets.read_metadata(presets.locate(name))["command"].split(" && ")
        assert chain[0].startswith("kcolor train "), (name, chain[0])
        for command in chain:
            if command.startswith("kcolor train "):
                config = _parse(command)
                assert config.model == presets.read_config(presets.locate(name))["builder"]
            else:
                tool = command.split()[1]
                assert command.startswith("python tools/release/"), (name, command)
                assert (REPO / tool).is_file(), (name, tool)


def test_validate_names_every_bad_field():
    bad = TrainConfig(output="r", data=[], epochs=0, loss="nope", size=30, minutes=-1)
    with pytest.raises(DataError) as info:
        bad.validate()
    text = str(info.value)
    for word in (
        "--data",
        "loss must be one of",
        "epochs must be at least 1",
        "multiple of 8",
        "minutes must be positive",
    ):
        assert word in text


def test_split_is_seeded_and_disjoint(tmp_path):
    paths = [tmp_path / f"{i}.png" for i in range(40)]
    a = training.split_photos(paths, 0.1, seed=3)
    assert a == training.split_photos(paths, 0.1, seed=3)
    assert a != training.split_photos(paths, 0.1, seed=4)
    train, val = a
    assert len(val) == 4 and not set(train) & set(val) and len(train) + len(val) == 40
    train, val = training.split_photos(paths, 0.1, seed=3, max_images=10, val_max=2)
    assert len(train) == 10 and len(val) == 2


def test_train_writes_a_preset_that_reloads(tmp_path):
    data = make_photos(tmp_path / "data")
    config = TrainConfig(
        output=str(tmp_path / "run"),
        data=[str(data)],
        model="alpha",
        size=16,
        epochs=2,
        batch_size=4,
        val_split=0.25,
    )
    run = training.train(config, verbose=0)
    assert run.epochs_run == 2 and list(run.history["epoch"]) == [0, 1]
    assert run.best is not None and np.isfinite(run.best)
    assert run.metrics["photos"] == 2 and run.metrics["grey"]["chroma_ratio"] < 0.01
    meta = presets.read_metadata(run.folder)
    assert TrainConfig.from_dict(meta["train_config"]) == config
    assert meta["command"] == config.to_command() and meta["best"]["epoch"] in (1, 2)
    colour = Colorizer.from_preset(run.folder).colorize(np.zeros((20, 24), np.uint8))
    assert colour.shape == (20, 24, 3)


def test_a_retry_after_a_failure_starts_clean(tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.jpg").write_text("not a photo")
    run = tmp_path / "run"
    argv = ["train", "--model", "alpha", "--data", str(bad), "-o", str(run), "-q"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "a.jpg (not an image file" in err and ".skipped" not in err
    assert not run.exists()  # nothing left that would ask for --resume
    make_photos(bad, n=4, size=(16, 16))
    assert main([*argv, "--size", "16", "--epochs", "1", "--batch-size", "2"]) == 0
    captured = capsys.readouterr()
    assert "1 epoch of 2 steps" in captured.err and "1 epochs" not in captured.err
    assert "held out (1 photo)" in captured.out


def test_freeze_epochs_trains_the_backbone_only_afterwards(tmp_path):
    import keras

    def tiny_backbone_net(input_shape=(None, None, 1)):
        x = keras.Input(input_shape)
        h = keras.layers.Conv2D(4, 3, padding="same", name="backbone_conv")(x)
        y = keras.layers.Conv2D(2, 3, padding="same", activation="tanh", name="head")(h)
        return keras.Model(x, y)

    import kcolor.models

    kcolor.models.tinybb = tiny_backbone_net
    try:
        data = make_photos(tmp_path / "data", n=4, size=(16, 16))
        start = tiny_backbone_net()
        config = TrainConfig(
            output=str(tmp_path / "run"),
            data=[str(data)],
            model="tinybb",
            size=16,
            epochs=2,
            batch_size=2,
            freeze_epochs=1,
            val_split=0,
        )
        seen = []

        class Spy(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                seen.append(self.model.get_layer("backbone_conv").trainable)

        run = training.train(config, verbose=0, extra_callbacks=[Spy()])
        assert seen == [False, True]
        assert len(pd.read_csv(run.files.history)) == 2
        trained = presets.build_model(run.folder)
        assert not np.allclose(
            trained.get_layer("backbone_conv").get_weights()[0],
            start.get_layer("backbone_conv").get_weights()[0],
        )
    finally:
        del kcolor.models.tinybb


def test_train_config_file_and_overrides(tmp_path):
    config = TrainConfig(output="runs/a", data=["d"], epochs=7, lr=3e-4, model_args={"k": 1})
    path = tmp_path / "train_config.json"
    config.to_json(path)
    args = build_parser().parse_args(
        ["train", "--config", str(path), "--model", "beta", "-o", "runs/b", "--epochs", "9"]
    )
    got = train_config_from_args(args)
    assert got.epochs == 9 and got.lr == 3e-4 and got.output == "runs/b" and got.data == ["d"]
    assert got.model_args == {"k": 1}
    assert json.loads(got.to_json())["epochs"] == 9


@pytest.mark.slow
def test_kcolor_train_makes_a_colour_class_unet_preset(tmp_path, capsys):
    """unet + colour classes through the one training path: frozen then fine-tuned, the
    rebalancing weights saved in the head, the temperature chosen on the held-out photos."""
    from kcolor.models import color_classes

    data = make_photos(tmp_path / "data", n=6, size=(40, 40))
    run = tmp_path / "run"
    argv = [
        "train",
        "--model",
        "unet",
        "--model-arg",
        "backbone_weights=null",
        "--model-arg",
        "head=classes",
        "--loss",
        "color_classes",
        "--data",
        str(data),
        "-o",
        str(run),
        "--size",
        "32",
        "--epochs",
        "2",
        "--freeze-epochs",
        "1",
        "--batch-size",
        "2",
        "--val-split",
        "0.34",
        "-q",
    ]
    assert main(argv) == 0
    assert "Skipping variable loading" not in capsys.readouterr().err
    config = presets.read_config(run)
    assert config["multiple"] == 32 and config["temperature"] in training.TEMPERATURES
    meta = presets.read_metadata(run)
    assert set(meta["temperatures"]) == {str(t) for t in training.TEMPERATURES}
    model = presets.build_model(run)
    weights = color_classes.get_class_weights(model)
    assert weights.std() > 0  # fitted on the photos, not uniform
    colorizer = Colorizer.from_preset(run)
    assert colorizer.colorize(np.zeros((40, 50), np.uint8)).shape == (40, 50, 3)
    assert list((run / "previews").glob("*.png"))
    assert config["prior_correction"] == 0.0 and colorizer.prior_correction == 0.0
    # A prior correction recorded in config.json reaches the decoding layer.
    presets.write_json(run / "config.json", {**config, "prior_correction": 0.5})
    corrected = Colorizer.from_preset(run)
    decode = corrected.model.get_layer("annealed_mean")
    assert corrected.prior_correction == 0.5 and decode.prior_correction == 0.5
    np.testing.assert_allclose(decode.class_weights, weights, rtol=1e-6)
    assert Colorizer.from_preset(run, prior_correction=0.0).prior_correction == 0.0


def test_a_preset_name_as_model_says_how_to_fine_tune_it(tmp_path, capsys):
    """Issue 27: `--model unet-lite0-photos` named no builders and no way forward."""
    data = make_photos(tmp_path / "data", n=2)
    run = tmp_path / "run"
    assert main(["train", "--model", "unet-lite0-photos", "--data", str(data), "-o", str(run)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "--model unet-lite0-photos is a preset, not a builder" in err
    assert "--model takes a builder: alpha, beta, fusion, unet" in err
    flags = (
        "--model unet --model-arg 'head=\"classes\"' --loss color_classes --init unet-lite0-photos"
    )
    assert "fine-tuned with --init unet-lite0-photos" in err and flags in err
    assert not run.exists()
    # The advice is a valid command: the preset's own network, started from its weights.
    config = _parse(f"kcolor train {flags} --data {data} -o {run}")
    assert (config.model, config.model_args, config.loss, config.init) == (
        "unet",
        {"head": "classes"},
        "color_classes",
        "unet-lite0-photos",
    )
    config.validate()
    # The Python API says the same in its words; any other unknown name lists the builders.
    import kcolor.models

    assert all(callable(getattr(kcolor.models, b)) for b in presets.BUILDERS)
    with pytest.raises(DataError, match="that is a preset, not a builder.*init='beta-faces'"):
        TrainConfig(output=str(run), data=[str(data)], model="beta-faces").validate()
    with pytest.raises(DataError, match="unknown builder 'nope'.*alpha, beta, fusion, unet"):
        TrainConfig(output=str(run), data=[str(data)], model="nope").validate()


def test_a_folder_of_grey_photos_says_they_are_grey(tmp_path, capsys):
    """Issue 27: all-grey photos said "no readable images" and named `drop_grey`."""
    from PIL import Image

    grey = tmp_path / "grey"
    grey.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (16, 16), np.uint8)).save(grey / f"g{i}.png")
    run = tmp_path / "run"
    argv = [
        "train",
        "--model",
        "alpha",
        "--data",
        str(grey),
        "-o",
        str(run),
        "--size",
        "16",
        "--epochs",
        "1",
        "--batch-size",
        "2",
        "-q",
    ]
    assert main(argv) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"all 3 photos in {grey} are greyscale" in err and "--keep-grey" in err
    assert "no readable images" not in err and "drop_grey=True" not in err
    assert not run.exists()
    assert main([*argv, "--keep-grey"]) == 0  # the advice holds
    assert presets.read_metadata(run)["train_images"] == 2


def test_resume_of_a_finished_run_says_it_is_complete_and_writes_nothing(tmp_path, capsys):
    """Issue 27: `--resume` of a finished run said "continuing at epoch 2 of 1" and rewrote
    it. It exits 0 (the run is what the command asks for), says how to train longer, and
    that advice works: a larger --epochs with --resume continues, --init starts a new run."""
    data = make_photos(tmp_path / "data", n=4, size=(16, 16))
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
        "--batch-size",
        "2",
        "-q",
    ]
    assert main([*argv, "--epochs", "1"]) == 0
    capsys.readouterr()

    def snapshot():
        return {
            p: (p.stat().st_mtime_ns, p.read_bytes() if p.is_file() else None)
            for p in sorted(run.rglob("*"))
        }

    before = snapshot()
    assert main([*argv, "--epochs", "1", "--resume"]) == 0
    captured = capsys.readouterr()
    err = " ".join(captured.err.split())
    assert f"{run} is complete (1 of 1 epochs)" in err and "continuing at" not in err
    assert "a larger --epochs (e.g. --epochs 2) and --resume" in err
    assert f"--init {run} -o NEW_RUN_DIR" in err and "error" not in err
    assert snapshot() == before
    from kcolor.errors import RunComplete

    config = TrainConfig(
        output=str(run), data=[str(data)], model="alpha", size=16, epochs=1, batch_size=2
    )
    with pytest.raises(RunComplete, match=r"complete \(1 of 1 epochs\)"):
        training.train(config, resume=True, verbose=0)
    assert snapshot() == before

    assert main([*argv, "--epochs", "2", "--resume"]) == 0
    assert "continuing at epoch 2 of 2" in capsys.readouterr().err
    assert list(pd.read_csv(run / "history.csv")["epoch"]) == [0, 1]
    new = tmp_path / "new"
    assert main([*argv[:6], str(new), *argv[7:], "--epochs", "1", "--init", str(run)]) == 0
    assert presets.read_metadata(new)["train_config"]["init"] == str(run)
