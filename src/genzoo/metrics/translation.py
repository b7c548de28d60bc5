"""Scores of an image-to-image translation model on its test pairs, each beside a reference.

- l1: mean |G(source) - target| per pixel (images in [0, 1]) on aligned test pairs, beside the
  L1 of the source itself (no translation), so the number has a scale.
- digits: for translation sets made from MNIST digits, genzoo's MNIST classifier reads the
  translations: the fraction classified as the source's digit (is the content kept?) and the
  Frechet distance between the classifier features of the translations and of the real targets
  (do they look like the target domain?), beside the same two numbers for the real targets.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from ._common import MetricError
from ..models.base import TRANSLATION_KINDS
from ..models.capabilities import Translator
from .registry import register_metric

if TYPE_CHECKING:
    from .context import Evaluation

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


# ----------------------------------------------------------------------------- genzoo eval's l1 and digits metric

def _translations(ev: Evaluation):
    return ev._once("translations", lambda: translations(ev.model, ev.split("test"), ev.n, ev.seed))


def _translation_split(ev: Evaluation, fake) -> str:
    return f"{ev.split('test').source}, test split, first {len(fake)} pairs, {ev.model.cfg.direction}"


def _aligned_pairs(ev: Evaluation) -> str | None:
    ds = ev.split("test")
    return None if ds.kind == "pair" else (f"the l1 metric compares translations with their targets, and the test "
                                           f"split of {ds.source} has no aligned pairs")


@register_metric("l1", kinds=TRANSLATION_KINDS, protocol="mean absolute error of translations against their "
                                                         "aligned targets", needs=(Translator,), applies=_aligned_pairs,
                 format=lambda r: f"{r['l1']:.4f} per pixel (the untranslated source: {r['l1_of_the_source']:.4f})")
def l1(ev: Evaluation) -> dict:
    source, fake, target = _translations(ev)
    return {**l1_scores(source, fake, target), "split": _translation_split(ev, fake)}


def _digit_direction(ev: Evaluation) -> str | None:
    data, direction = ev.config.data.name, ev.model.cfg.direction
    if direction in DIGIT_SETS.get(data, ()):
        return None
    applies = ", ".join(f"{name} ({' or '.join(dirs)})" for name, dirs in DIGIT_SETS.items())
    return (f"the digits metric reads translated digits with genzoo's MNIST classifier: it applies to {applies}, "
            f"not {data} ({direction})")


@register_metric("digits", kinds=TRANSLATION_KINDS, protocol="translated digits read by genzoo's MNIST classifier",
                 needs=(Translator,), applies=_digit_direction,
                 format=lambda r: (f"{100 * r['label_accuracy']:.1f}% read as the source's digit (real targets "
                                   f"{100 * r['label_accuracy_of_real_targets']:.1f}%), FD to the targets "
                                   f"{r['fd_to_targets']:.2f}"))
def digits(ev: Evaluation) -> dict:
    source, fake, target = _translations(ev)
    return {**digit_scores(fake, target, ev.split("test").y[:ev.n], root=ev.config.data.root),
            "split": _translation_split(ev, fake)}
