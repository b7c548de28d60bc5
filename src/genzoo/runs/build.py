"""The model a run's configuration describes, built for its data on a device: what training starts from and
what loading a run fills with a checkpoint's weights."""
from __future__ import annotations

import torch

from ..config import RunConfig
from ..errors import ConfigError
from ..models import Algorithm, DataSpec, get_algorithm
from ..models.base import TRANSLATION_KINDS


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"train.device={name} but CUDA is not available here; use --set train.device=cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise ConfigError(f"train.device: '{name}' is not a device; use auto, cpu, cuda or cuda:N") from None


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
