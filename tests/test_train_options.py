"""The one option table of kcolor.training.TrainConfig: ``kcolor train``'s arguments, the
config and the recorded command are made from the same fields (issue 28)."""

import argparse
import dataclasses
import shlex

import pytest

from kcolor.cli import build_parser, train_config_from_args
from kcolor.training import RunFolder, TrainConfig
from kcolor.training import options as train_options
from kcolor.training.config import add_arguments

#: ``kcolor train`` options that are not stored in the config (and argparse's own).
NOT_CONFIG = {"help", "config", "resume", "quiet"}


def _train_parser() -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["train"]


def test_every_field_is_an_argument_and_every_argument_a_field():
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    dests = {a.dest for a in _train_parser()._actions} - NOT_CONFIG
    assert fields - dests == set(), "TrainConfig fields with no `kcolor train` option"
    assert dests - fields == set(), "`kcolor train` options with no TrainConfig field"
    for field in dataclasses.fields(TrainConfig):
        assert "option" in field.metadata, f"{field.name}: made without option()"


def test_argparse_defaults_are_the_fields_defaults():
    args = _train_parser().parse_args(["--model", "beta", "-o", "runs/x"])
    assert TrainConfig.from_args(args) == TrainConfig(output="runs/x", model="beta")


def test_a_field_without_an_option_is_an_error():
    @dataclasses.dataclass
    class Bad:
        good: int = train_options.option(1, type=int, help="", group="g")
        bad: int = 2

    with pytest.raises(TypeError, match="Bad.bad has no command-line option"):
        train_options.add_arguments(argparse.ArgumentParser(), Bad, groups=("g",))


def _everything_changed() -> TrainConfig:
    return TrainConfig(
        output="runs/every thing",
        data=["a b/", "c"],
        manifest="s/train.csv",
        val_manifest="s/val.csv",
        recursive=True,
        model="fusion",
        model_args={"width": 8, "names": ["x", "y"], "flag": True},
        embedder="mobilenet_v3",
        embed_cache=True,
        init="beta-photos",
        size=64,
        sizes=[32, 96],
        epochs=3,
        batch_size=8,
        lr=1.234567e-4,  # more digits than "%g" keeps
        schedule="constant",
        loss="huber",
        penalty=1.5,
        loss_args={"delta": 0.2},
        val_split=0.1,
        val_max=38,
        max_images=100,
        repeat=2,
        augment=False,
        drop_grey=False,
        minutes=2.5,
        freeze_epochs=1,
        workers=3,
        seed=7,
        compile=True,
    )


def test_to_command_parses_back_to_the_same_config_for_every_option():
    config = _everything_changed()
    default = TrainConfig(output="o", model="fusion")
    same = [
        f.name
        for f in dataclasses.fields(TrainConfig)
        if f.name not in ("output", "model") and getattr(config, f.name) == getattr(default, f.name)
    ]
    assert not same, f"give these fields a non-default value in this test: {same}"
    argv = shlex.split(config.to_command())
    assert argv[:2] == ["kcolor", "train"]
    assert train_config_from_args(build_parser().parse_args(argv[1:])) == config
    # and through a bare parser that add_arguments filled
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert TrainConfig.from_args(parser.parse_args(argv[2:])) == config


def test_to_command_leads_with_the_network_data_and_folder():
    config = TrainConfig(output="runs/b", data=["photos"], epochs=2, recursive=True)
    assert config.to_command() == "kcolor train --model beta --data photos -o runs/b -r --epochs 2"


def test_run_folder_names_the_files_a_run_writes(tmp_path):
    run = RunFolder(tmp_path / "run")
    assert not run.is_run() and not run.has_finished_epoch() and run.backup_epoch() is None
    run.path.mkdir()
    TrainConfig(output=str(run.path), data=["d"]).to_json(run.train_config)
    run.backup.mkdir()
    (run.backup / "training_metadata.json").write_text('{"epoch": 3}')
    (run.path / "mine.txt").write_text("not the run's")
    assert run.is_run() and run.has_finished_epoch() and run.backup_epoch() == 3
    run.discard()
    assert sorted(p.name for p in run.path.iterdir()) == ["mine.txt"]
