"""Scores of an image-to-image translation model on its test pairs, each beside a reference.

- l1: mean |G(source) - target| per pixel (images in [0, 1]) on aligned test pairs, beside the
  L1 of the source itself (no translation), so the number has a scale.
- digits: for translation sets made from MNIST digits, genzoo's MNIST classifier reads the
  translations: the fraction classified as the source's digit (is the content kept?) and the
  Frechet distance between the classifier features of the translations and of the real targets
  (do they look like the target domain?), beside the same two numbers for the real targets.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ._common import MetricError

#: translation sets made from MNIST, with the directions whose targets are digits genzoo's MNIST
#: classifier can read (edge maps are not)
DIGIT_SETS = {"mnist-edges": ("AtoB",), "mnist-lowres": ("AtoB", "BtoA"), "mnist-bold": ("AtoB", "BtoA")}


@torch.no_grad()
def translations(model, test, n: int, seed: int, batch: int = 500) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(source, G(source), target) for the first n test pairs, as float images in [0, 1] on the CPU."""
    pairs = test.x[:n].float().div(255)
    source, target = model.source_and_target(pairs)
    g = torch.Generator(device=model.device).manual_seed(seed)
    out = torch.cat([model.translate(source[i:i + batch], generator=g).float().cpu()
                     for i in range(0, len(source), batch)])
    return source, out, target


def l1_scores(source: torch.Tensor, fake: torch.Tensor, target: torch.Tensor) -> dict:
    return {"l1": F.l1_loss(fake, target).item(), "l1_of_the_source": F.l1_loss(source, target).item(),
            "n": len(fake), "units": "mean absolute difference per pixel, images in [0, 1]"}


def digit_scores(fake: torch.Tensor, target: torch.Tensor, labels: torch.Tensor, *, root=None,
                 extractor=None) -> dict:
    """Label accuracy and FD of translated digits, in the feature space of genzoo's MNIST classifier
    (or `extractor`); images of another size are resized to the classifier's."""
    from .features import get_feature_extractor
    from .fid import frechet_distance

    fx = extractor or get_feature_extractor("mnist", root=root)
    size = fx.image_shape[1:]

    def resize(x):
        return F.interpolate(x, size=size, mode="bilinear", antialias=True).clamp(0, 1) if x.shape[2:] != size else x

    if fake.shape[1] != fx.image_shape[0]:
        raise MetricError(f"the digits metrics need {fx.image_shape[0]}-channel images, got {fake.shape[1]}")
    f_fake, p_fake = fx.features_and_probs(resize(fake))
    f_real, p_real = fx.features_and_probs(resize(target))
    return {"label_accuracy": (p_fake.argmax(1) == labels).float().mean().item(),
            "label_accuracy_of_real_targets": (p_real.argmax(1) == labels).float().mean().item(),
            "fd_to_targets": frechet_distance(f_fake, f_real), "n": len(fake),
            "extractor": fx.describe(), "extractor_id": fx.id}
