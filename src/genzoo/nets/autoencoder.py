"""The encoder and decoder networks of the autoencoder family (AE, VAE, CVAE), by architecture."""
from __future__ import annotations

from typing import Literal

from torch import nn

from ..typed import check_literal
from .conv import ConvDecoder, ConvEncoder
from .mlp import MLPDecoder, MLPEncoder


#: the autoencoder family's architectures
Arch = Literal["mlp", "conv"]


def encoder_decoder(arch: Arch, data, code_dim: int, latent_dim: int, hidden, width: int,
                    activation: str = "relu", num_classes: int = 0, fc_width: int = 0) -> tuple[nn.Module, nn.Module]:
    """An encoder x -> (N, code_dim) and a decoder z (N, latent_dim) -> (N, *data.shape) of logits/means.

    arch "mlp": fully connected with the `hidden` widths (mirrored in the decoder);
    arch "conv": strided convolutions / transposed convolutions for any image size; fc_width > 0 adds
    a fully connected layer of that width after the encoder's convs and before the decoder's (InfoGAN's
    MNIST nets: 1024).
    num_classes > 0: both are conditional (CVAE, Sohn et al. 2015): forward(x, y) / forward(z, y)
    concatenate a one-hot code of the labels y to their input.
    """
    check_literal(arch, Arch, "model.arch")
    if arch == "mlp":
        return (MLPEncoder(data.dim, hidden, code_dim, activation, num_classes),
                MLPDecoder(latent_dim, tuple(reversed(hidden)), data.shape, activation, num_classes))
    if arch == "conv":
        if data.kind != "image":
            raise ValueError("conv encoders need images; use model.arch=mlp")
        return (ConvEncoder(data.shape, code_dim, width=width, num_classes=num_classes, fc_width=fc_width),
                ConvDecoder(latent_dim, data.shape, width=width, num_classes=num_classes, fc_width=fc_width))
