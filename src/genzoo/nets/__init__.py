"""Architectures only (no training logic): MLPs and DCGAN-style conv nets for any image size."""
from .conv import (ConvDecoder, ConvEncoder, DCGANDiscriminator, DCGANGenerator, conv_out_size, conv_plan,
                   conv_transpose_out_size)
from .layers import LabelCode, apply_spectral_norm_, dcgan_init_
from .mlp import mlp

__all__ = [
    "mlp", "conv_out_size", "conv_transpose_out_size", "conv_plan", "dcgan_init_", "apply_spectral_norm_",
    "LabelCode", "DCGANGenerator", "DCGANDiscriminator", "ConvEncoder", "ConvDecoder",
]
