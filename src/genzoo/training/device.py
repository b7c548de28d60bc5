"""Where and how a model runs: the device, the autocast precision, and the model built and prepared
for them (memory format, synchronized batch norm, TF32, compilation)."""
from __future__ import annotations

import torch

from ..config import RunConfig
from ..errors import ConfigError
from ..models import Algorithm, DataSpec, get_algorithm
from ..models.base import IMAGE_KINDS, TRANSLATION_KINDS
from .distributed import World


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"train.device={name} but CUDA is not available here; use --set train.device=cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise ConfigError(f"train.device: '{name}' is not a device; use auto, cpu, cuda or cuda:N") from None


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


def build_model(cfg: RunConfig, spec: DataSpec, device: torch.device) -> Algorithm:
    """The configured algorithm, built for data described by `spec`, on `device`."""
    algo_cls = get_algorithm(cfg.algorithm)
    if spec.kind in TRANSLATION_KINDS and not set(TRANSLATION_KINDS) & set(algo_cls.data_kinds):
        raise ConfigError(f"{cfg.name} learns from single images, and {cfg.data.name} holds pairs of images for "
                          "translation models (pix2pix, cyclegan); choose other data with --data")
    try:
        model = algo_cls(cfg.model, spec)
    except ValueError as e:  # e.g. an image size the networks cannot be built for
        raise ConfigError(f"cannot build {cfg.name} for data of shape {spec.shape}: {e}") from None
    return model.to(device)


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
