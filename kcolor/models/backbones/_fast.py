"""Keras ``BatchNormalization``, ``DepthwiseConv2D`` and ``ReLU`` with a torch fast path.

The backbones are mostly batch norms, depthwise convolutions and ReLU6 on large
activations. On the torch backend Keras computes a batch norm as a chain of
elementwise ops (mean, variance, subtract, multiply, ...) and a depthwise
convolution with two layout copies (NHWC -> NCHW -> NHWC). These subclasses take
the same arguments and config as the Keras layers and compute the same function;
on torch with ``channels_last`` 4-D float input they run one fused
``torch.nn.functional`` call on the NCHW *view* of the NHWC tensor (no copy).
Any other case falls back to the Keras layer.

Batch norm in training mode normalises with the batch's biased variance and
updates the moving statistics exactly as Keras does
(``moving = moving * momentum + batch * (1 - momentum)``).
"""

from __future__ import annotations

import keras

from kcolor import layers as klayers


def _fast(x, data_format="channels_last") -> bool:
    if not klayers.fast_path_enabled() or keras.config.backend() != "torch":
        return False
    import torch

    return (
        isinstance(x, torch.Tensor)
        and x.ndim == 4
        and x.is_floating_point()
        and data_format == "channels_last"
    )


@keras.saving.register_keras_serializable(package="kcolor")
class BatchNormalization(keras.layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` with a fused torch fast path (see the module docs).

    Args:
        Same as ``keras.layers.BatchNormalization``.

    Example:
        >>> BatchNormalization(epsilon=1e-3)(keras.ops.ones((2, 4, 4, 8))).shape
        torch.Size([2, 4, 4, 8])
    """

    def call(self, inputs, training=None, mask=None):
        if not (
            _fast(inputs)
            and mask is None
            and not self.renorm
            and self.axis in (-1, 3)
            and self.scale
            and self.center
        ):
            return super().call(inputs, training=training, mask=mask)
        import torch
        import torch.nn.functional as F

        x = inputs.permute(0, 3, 1, 2)
        if x.dtype != torch.float32:
            x = x.float()
        gamma = self.gamma.value.float()
        beta = self.beta.value.float()
        if training and self.trainable:
            y = F.batch_norm(x, None, None, gamma, beta, training=True, eps=self.epsilon)
            with torch.no_grad():
                var, mean = torch.var_mean(x.detach(), dim=(0, 2, 3), correction=0)
                m = self.momentum
                self.moving_mean.assign(self.moving_mean.value * m + mean * (1.0 - m))
                self.moving_variance.assign(self.moving_variance.value * m + var * (1.0 - m))
        else:
            y = F.batch_norm(
                x,
                self.moving_mean.value.float(),
                self.moving_variance.value.float(),
                gamma,
                beta,
                training=False,
                eps=self.epsilon,
            )
        y = y.permute(0, 2, 3, 1)
        dtype = keras.backend.standardize_dtype(self.compute_dtype)
        return y if dtype == "float32" else y.to(getattr(torch, dtype))


@keras.saving.register_keras_serializable(package="kcolor")
class DepthwiseConv2D(keras.layers.DepthwiseConv2D):
    """``keras.layers.DepthwiseConv2D`` with a torch fast path (one grouped ``conv2d``).

    Args:
        Same as ``keras.layers.DepthwiseConv2D``.

    Example:
        >>> DepthwiseConv2D(3, strides=2, padding="same")(keras.ops.ones((1, 8, 8, 4))).shape
        torch.Size([1, 4, 4, 4])
    """

    def call(self, inputs):
        if not (
            _fast(inputs, self.data_format)
            and tuple(self.dilation_rate) == (1, 1)
            and self.padding in ("same", "valid")
            and klayers._activation_name(self.activation) == "linear"
        ):
            return super().call(inputs)
        import torch
        import torch.nn.functional as F

        x = inputs.permute(0, 3, 1, 2)
        if not x.is_contiguous(memory_format=torch.channels_last):
            x = x.contiguous(memory_format=torch.channels_last)
        channels = x.shape[1]
        # (kh, kw, C, M) -> (C * M, 1, kh, kw)
        kernel = self.kernel.value
        kh, kw = kernel.shape[0], kernel.shape[1]
        kernel = kernel.permute(2, 3, 0, 1).reshape(-1, 1, kh, kw).to(x.dtype)
        bias = self.bias.value.to(x.dtype) if self.use_bias else None
        sh, sw = self.strides
        padding = (0, 0)
        if self.padding == "same":
            x, padding = klayers.torch_same_padding(x, kh, kw, sh, sw)
        y = F.conv2d(x, kernel, bias, stride=(sh, sw), padding=padding, groups=channels)
        return y.permute(0, 2, 3, 1)


@keras.saving.register_keras_serializable(package="kcolor")
class ReLU(keras.layers.ReLU):
    """``keras.layers.ReLU`` with a torch fast path for ReLU and ReLU6 (one ``hardtanh``).

    Args:
        Same as ``keras.layers.ReLU``.

    Example:
        >>> ReLU(max_value=6.0)(keras.ops.ones((1, 2, 2, 1)) * 9).max()
        tensor(6.)
    """

    def call(self, inputs):
        if not (_fast(inputs) and self.negative_slope == 0 and self.threshold == 0):
            return super().call(inputs)
        import torch.nn.functional as F

        if self.max_value is None:
            return F.relu(inputs)
        return F.hardtanh(inputs, 0.0, float(self.max_value))
