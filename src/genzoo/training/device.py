"""How a model trains on its device: the autocast precision, and the model prepared for it (memory format,
synchronized batch norm, TF32, compilation). Choosing the device and building the model are genzoo.runs.build's."""
from __future__ import annotations

import torch

from ..config import RunConfig
from ..errors import ConfigError
from ..models import Algorithm
from ..models.base import IMAGE_KINDS
from .distributed import World


def cpu_has_native_bf16() -> bool:
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(name: str, device: torch.device, data_kind: str) -> torch.dtype | None:
    """The autocast dtype, or None for float32. auto: for image data, bf16 on CPUs with native bf16
    (AVX512-BF16 or AMX; emulated bf16 is slower than float32) and bf16 or fp16 AMP on CUDA; float32
    for points and tokens, whose small nets gain nothing from it and whose 2-D toy modes (std 0.02)
    are finer than bf16's resolution (2^-7 = 0.008 near 1)."""
    if name == "fp32" or (name == "auto" and data_kind not in IMAGE_KINDS):
        return None
    if name == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if cpu_has_native_bf16() else None
    if name == "fp16" and device.type != "cuda":
        raise ConfigError("train.precision=fp16 needs CUDA (a gradient scaler); on CPU use bf16 or fp32")
    return torch.bfloat16 if name == "bf16" else torch.float16


def autocast(device: torch.device, dtype: torch.dtype | None):
    """The autocast context for resolve_precision's dtype on `device` (None: float32, autocast off)."""
    return torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None)


def prepare_model(model: Algorithm, cfg: RunConfig, device: torch.device, world: World) -> Algorithm:
    """Memory format, synchronized batch norm, TF32 and compilation, as the config asks."""
    t = cfg.train
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if t.sync_batchnorm and world.distributed:
        if device.type != "cuda":
            raise ConfigError("train.sync_batchnorm needs CUDA (PyTorch's SyncBatchNorm has no CPU kernel)")
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    if t.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if t.compile:
        for child in model.children():
            if any(True for _ in child.parameters()):
                child.compile()
    return model
