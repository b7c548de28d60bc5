"""Architectures only (no training logic): MLPs, DCGAN-style conv nets for any image size, and
image-to-image translation nets (pix2pix U-Net and PatchGAN, CycleGAN ResNet generator)."""
from .conv import (ConvDecoder, ConvEncoder, DCGANDiscriminator, DCGANGenerator, conv_out_size, conv_plan,
                   conv_transpose_out_size)
from .layers import LabelCode, apply_spectral_norm_, dcgan_init_
from .mlp import mlp
from .translation import PatchDiscriminator, ResnetGenerator, UNetGenerator, patch_receptive_field

__all__ = [
    "mlp", "conv_out_size", "conv_transpose_out_size", "conv_plan", "dcgan_init_", "apply_spectral_norm_",
    "LabelCode", "DCGANGenerator", "DCGANDiscriminator", "ConvEncoder", "ConvDecoder",
    "UNetGenerator", "ResnetGenerator", "PatchDiscriminator", "patch_receptive_field",
]
