"""The one training path: ``TrainConfig`` -> :func:`train` -> a run folder that is a preset.

``kcolor train``, the ``tools/`` scripts that make the shipped presets and ``torchrun -m
kcolor train`` all call :func:`train`. The examples (04-06) show ``model.fit`` in the
open and build it from the same public pieces: :func:`find_colour_photos`, :func:`split_photos`,
:func:`make_datasets`, :func:`make_loss`, :func:`make_schedule`, :class:`WithEmbeddings`.
What a run folder holds is described once, by :class:`RunFolder`.

Public names (and the submodule of each):
    TrainConfig, add_arguments, LOSSES, SCHEDULES (``config``): every option of a run, in
        one table that also makes the ``kcolor train`` arguments and the command that
        repeats the run; the table's machinery is in ``options``.
    RunFolder (:mod:`kcolor.presets.run_folder`, on the preset files' floor so that the
        report can read it too): the files of a run folder.
    find_colour_photos, split_photos, config_photos, make_datasets (``photos``): the photos of a
        run, its held-out split and its datasets.
    WithEmbeddings, embedding_table (``fusion``): the inputs of a two-input (fusion) network.
    make_loss, make_schedule, builder_args, preset_args, build, set_backbone_trainable,
        FINE_TUNE_LR (``recipe``): the network, the loss and the learning rate.
    StopOnNaN, FiniteBackupAndRestore, SaveBestPreset (``callbacks``): every run's callbacks.
    held_out_scores, TEMPERATURES (``scores``): the held-out scores against the grey
        baseline.
    train, Run, prepare_folder (``run``): the run itself.

The submodules load on first use: ``import kcolor.training.config`` (what the CLI's parser
needs) imports neither numpy nor Keras.

Example:
    >>> from kcolor.training import TrainConfig, train
    >>> config = TrainConfig(output="runs/faces", data=["photos/faces"], model="beta",
    ...                      size=128, epochs=2, loss="saturation", penalty=1.5)
    >>> run = train(config)                                    # doctest: +SKIP
    >>> run.history[["epoch", "loss", "val_loss"]]             # doctest: +SKIP
    >>> config.to_command()
    'kcolor train --model beta --data photos/faces -o runs/faces --epochs 2 --loss saturation --penalty 1.5'
"""

from kcolor._lazy import lazy_getattr

_SUBMODULES = {
    "config": ("TrainConfig", "add_arguments", "LOSSES", "SCHEDULES"),
    "photos": (
        "find_colour_photos",
        "find_photos",
        "split_photos",
        "config_photos",
        "make_datasets",
    ),
    "fusion": ("WithEmbeddings", "embedding_table"),
    "recipe": (
        "make_loss",
        "make_schedule",
        "builder_args",
        "preset_args",
        "build",
        "set_backbone_trainable",
        "FINE_TUNE_LR",
    ),
    "callbacks": ("StopOnNaN", "FiniteBackupAndRestore", "SaveBestPreset"),
    "scores": ("held_out_scores", "TEMPERATURES", "_set_scores"),
    "run": ("train", "Run", "prepare_folder"),
}
_LAZY = {name: f"{__name__}.{module}" for module, names in _SUBMODULES.items() for name in names}
# the run folder's layout sits with the preset files (kcolor.report reads it too)
_LAZY["RunFolder"] = "kcolor.presets.run_folder"

__getattr__ = lazy_getattr(__name__, _LAZY)


def __dir__():
    return sorted({*globals(), *_LAZY})


__all__ = sorted(name for name in _LAZY if not name.startswith("_"))
