"""What a model can do beyond the contract of `Algorithm`, declared as runtime-checkable protocols.

The sampling tools, the metrics, `genzoo export`, `genzoo explore` and `genzoo finetune` ask
`isinstance(model, Capability)` and never probe for attributes. A model has a capability by
defining its members. Where some instances of a class lack what the class defines, the protocol
carries a flag that says whether this one has it (FeatureEncoder.has_features: a GAN's
discriminator may have no feature layer; CategoricalCode.classifies: an AAE has a categorical
code only in semi or cluster mode).

    LatentModel        z -> x: latent_dim, generate(z, cond)              (genzoo.sampling's minimum)
    LatentPrior        a latent model with its own prior: prior(n, generator, truncation) and
                       describe_prior(), the closed form that export writes down
    Conditional        num_classes > 0: generate and sample take class labels as cond
    FeatureEncoder     features(x): a representation of x (encoder means, hidden posteriors, D's layer)
    EncoderNetwork     encoder_net(): the encoder as a network, to fine-tune (genzoo finetune)
    ImportanceWeighted log_importance_weights(x, k): the importance-sampled log p(x) (VAEs)
    AISModel           a Boltzmann machine whose log Z annealed importance sampling estimates
    DensityRatio       log_density_ratio(x): D's estimate of log p_data / p_G (rejection sampling)
    Translator         translate(x), example_rows(pairs), translation_net() (pix2pix, CycleGAN)
    CategoricalCode    class_probabilities(x): q(y|x) of a categorical code (AAE semi, cluster)
    StagedSampler      sample_stage1(n, cond): the first stage's low-resolution images (StackGAN)
    GibbsSampler       sample(n, steps=): samples from Gibbs chains of a chosen length; sample_steps (RBM, DBM)
    Detokenizer        detokenize(x): token ids -> text (models of sequences)
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
from torch import nn

from .base import Algorithm


@runtime_checkable
class LatentModel(Protocol):
    """x = generate(z [, cond]) for z of size latent_dim, in data space (images in [0, 1], points, token
    ids), differentiable in z where the data are continuous. A prior of its own is optional: without one,
    genzoo.sampling draws z ~ N(0, I)."""

    latent_dim: int

    def generate(self, z: torch.Tensor, cond=None) -> torch.Tensor: ...


@runtime_checkable
class LatentPrior(LatentModel, Protocol):
    """A latent model with its own prior p(z): prior(n, generator=, truncation=) draws n latents (truncation=b:
    that prior truncated, the truncation trick), and describe_prior() says how to draw z without genzoo, as
    export writes it down: {"kind": "normal", "mean": [...], "std": [...]}, {"kind": "categorical", "variables":
    d, "categories": K}, or {"kind": NAME} for a prior with no such closed form."""

    def prior(self, n: int, *, generator: torch.Generator | None = None,
              truncation: float | None = None) -> torch.Tensor: ...

    def describe_prior(self) -> dict: ...


@runtime_checkable
class Conditional(Protocol):
    """num_classes: how many classes `cond` of generate and sample picks from (0: an unconditional instance)."""

    num_classes: int


@runtime_checkable
class FeatureEncoder(Protocol):
    """features(x) -> (N, ...): the model's representation of data x (the linear probe's input). has_features:
    whether this instance has one (a GAN: only when its discriminator has a feature layer)."""

    has_features: bool

    def features(self, x: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class EncoderNetwork(Protocol):
    """encoder_net(): the network x -> code, to reuse as the base of a classifier (transfer learning); a
    GenzooError for an encoder that needs labels."""

    def encoder_net(self) -> nn.Module: ...


@runtime_checkable
class ImportanceWeighted(Protocol):
    """log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x) for k draws z_i ~ q(z|x), shape (N, k): logsumexp - log k
    estimates log p(x). likelihood: the family of p(x|z), "bernoulli" (binary pixels) or "gaussian";
    num_classes > 0: the model needs labels y."""

    likelihood: str
    num_classes: int

    def log_importance_weights(self, x: torch.Tensor, k: int, y: torch.Tensor | None = None) -> torch.Tensor: ...


@runtime_checkable
class AISModel(Protocol):
    """A layered Boltzmann machine whose partition function genzoo.metrics.ais estimates. likelihood_bound:
    False when log p(v) = -F(v) - log Z is exact (an RBM: its hidden units sum out), True when log Z gives the
    mean-field variational lower bound on log p(v) (a DBM). to_visible: data -> visible states."""

    likelihood_bound: bool

    def to_visible(self, x: torch.Tensor, stochastic: bool = False) -> torch.Tensor: ...


@runtime_checkable
class DensityRatio(Protocol):
    """log_density_ratio(x): the discriminator's estimate of log p_data(x) / p_G(x), (N,)."""

    def log_density_ratio(self, x: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class Translator(Protocol):
    """Images of one domain to another: translate(x) for x (N, C, H, W) in [0, 1] of image_shape; example_rows
    for sample grids; translation_net(), the network of the configured direction, [-1, 1] -> [-1, 1]."""

    image_shape: tuple[int, ...]

    def translate(self, x: torch.Tensor, *, reverse: bool = False,
                  generator: torch.Generator | None = None) -> torch.Tensor: ...

    def example_rows(self, pairs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor: ...

    def translation_net(self) -> nn.Module: ...


@runtime_checkable
class CategoricalCode(Protocol):
    """q(y|x) of a categorical code, (N, K): class_probabilities(x, averaged) (averaged: from the moving average
    of the encoder, where there is one). classifies: whether this instance has the code (an AAE in semi or
    cluster mode)."""

    classifies: bool

    def class_probabilities(self, x: torch.Tensor, averaged: bool = True) -> torch.Tensor: ...


@runtime_checkable
class StagedSampler(Protocol):
    """sample_stage1(n, cond=, generator=): the first stage's images of a two-stage generator."""

    def sample_stage1(self, n: int, *, cond=None, generator: torch.Generator | None = None) -> torch.Tensor: ...


@runtime_checkable
class GibbsSampler(Protocol):
    """A model whose `sample(n, steps=...)` runs Gibbs chains of a chosen length (RBM, DBM); `sample_steps`
    is the length it runs by default."""

    sample_steps: int


@runtime_checkable
class Detokenizer(Protocol):
    """detokenize(x) -> one string per sequence of token ids."""

    def detokenize(self, x: torch.Tensor) -> list[str]: ...


def class_count(model) -> int:
    """The classes `cond` picks from: num_classes of a conditional model, else 0."""
    return int(model.num_classes or 0) if isinstance(model, Conditional) else 0


def model_name(model) -> str:
    """An algorithm's name (its class's name for any other object), for messages."""
    return model.name if isinstance(model, Algorithm) else type(model).__name__


__all__ = ["LatentModel", "LatentPrior", "Conditional", "FeatureEncoder", "EncoderNetwork", "ImportanceWeighted", "AISModel",
           "DensityRatio", "Translator", "CategoricalCode", "StagedSampler", "Detokenizer", "class_count",
           "model_name"]
