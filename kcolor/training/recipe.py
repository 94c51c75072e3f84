"""The recipe of a run: the network (built, initialised, its backbone frozen or not), the
loss and the learning-rate schedule.

Example:
    >>> from kcolor.training.config import TrainConfig
    >>> from kcolor.training.recipe import builder_args, make_loss
    >>> make_loss("mse")
    ('mse', False)
    >>> builder_args(TrainConfig(output="runs/b", data=["photos"], model_args={"width": 8}))
    {'input_shape': [None, None, 1], 'width': 8}
"""

from __future__ import annotations

from kcolor import losses
from kcolor.errors import DataError
from kcolor.training.config import LOSSES, TrainConfig

import keras  # noqa: E402  isort: skip  (after kcolor: the torch backend)


def make_loss(name: str, penalty: float = 1.0, train=None, model=None, **loss_args):
    """(the Keras loss, whether the targets must carry L) for loss ``name``.

    ``color_classes`` fits its class-rebalancing weights on ``train`` (the training set)
    and stores them in ``model``'s colour-class head, so the saved preset carries them.
    """
    if name == "mse":
        return "mse", False
    if name == "saturation":
        return losses.SaturationMSE(penalty=penalty, **loss_args), False
    if name == "perceptual":
        loss_args.setdefault("layers", ("block0", "block2"))
        loss_args.setdefault("mse_weight", 1.0)
        return losses.PerceptualLoss(**loss_args), True
    if name == "huber":
        return keras.losses.Huber(delta=float(loss_args.get("delta", 0.1))), False
    if name == "color_classes":
        from kcolor.models import color_classes

        return color_classes.make_loss(train, model=model, **loss_args), False
    raise DataError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")


#: With ``freeze_epochs``, the fine-tuning stage starts at this share of ``lr``.
FINE_TUNE_LR = 0.3


def make_schedule(config: TrainConfig, steps_per_epoch: int, stage: str = "all"):
    """The learning rate: a cosine decay to 5 % over the run, or a constant.

    With ``freeze_epochs``, ``stage="fine-tune"`` is the schedule of the epochs after the
    frozen ones: from ``FINE_TUNE_LR * lr``, decaying over those epochs.
    """
    lr, epochs = float(config.lr), config.epochs
    if stage == "fine-tune":
        lr, epochs = lr * FINE_TUNE_LR, config.epochs - config.freeze_epochs
    if config.schedule == "constant":
        return lr
    return keras.optimizers.schedules.CosineDecay(lr, max(1, epochs * steps_per_epoch), alpha=0.05)


def builder_args(config: TrainConfig, embedder=None) -> dict:
    """The builder's keyword arguments recorded in the preset's ``config.json``."""
    args = {"input_shape": [None, None, 1], **config.model_args}
    if embedder is not None:
        args["embedding_dim"] = int(embedder.embedding_dim)
    return args


def preset_args(config: TrainConfig, embedder=None) -> dict:
    """:func:`builder_args` as the preset's ``config.json`` records them: a pretrained
    backbone is not fetched again when the preset loads (its weights are in the preset)."""
    import inspect

    from kcolor import presets

    args = builder_args(config, embedder)
    if "backbone_weights" in inspect.signature(presets.get_builder(config.model)).parameters:
        args["backbone_weights"] = None
    return args


def build(config: TrainConfig, embedder=None):
    """The network of ``config``, initialised from ``config.init`` when given."""
    from kcolor import presets
    from kcolor.models import load_weights

    builder = presets.get_builder(config.model)
    model = builder(**builder_args(config, embedder))
    if config.init:
        load_weights(model, config.init, architecture=config.model)
    return model


def set_backbone_trainable(model, trainable: bool) -> int:
    """Freeze or unfreeze the layers named ``backbone*``; returns how many there are.

    A :func:`kcolor.models.unet` backbone goes through
    :func:`kcolor.models.unet.set_backbone_trainable`, which keeps its batch norms frozen in
    inference mode while the rest fine-tunes (stable with small batches).
    """
    from kcolor.models import set_backbone_trainable as unet_set_backbone_trainable

    layers = [layer for layer in model.layers if layer.name.startswith("backbone")]
    if [layer.name for layer in layers] == ["backbone"] and hasattr(layers[0], "layers"):
        unet_set_backbone_trainable(model, trainable)
        return 1
    for layer in layers:
        layer.trainable = trainable
    return len(layers)
