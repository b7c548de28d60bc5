"""The contract between an algorithm and the trainer.

An algorithm owns its networks and performs one training step exactly as its paper's
algorithm box says. Everything else (data, devices, logging, checkpoints) is the trainer's.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Callable, ClassVar, Literal, get_args

import torch
from torch import nn

from ..typed import check_literals, choice_error
from ..errors import ConfigError


#: the data kinds of translation models: two domains of images per example
TRANSLATION_KINDS = ("pair", "unpaired")
#: the data kinds whose examples are images (uint8 on disk, floats in [0, 1] in a Batch)
IMAGE_KINDS = ("image", "captioned") + TRANSLATION_KINDS


@dataclass(frozen=True)
class DataSpec:
    """What an algorithm needs to know about its data to build its networks.

    kind: "image" (x in [0, 1], shape (C, H, W)), "points" (x real, shape (D,)),
    "tokens" (x int64 token ids, shape (L,), vocab_size set), or two domains of images for
    translation, shape (2, C, H, W): "pair" (x[:, 1] is the translation of x[:, 0]) or
    "unpaired" (independent images of domains A and B side by side).
    """

    kind: str
    shape: tuple[int, ...]
    num_classes: int | None = None
    vocab_size: int | None = None

    @property
    def dim(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    def to_dict(self) -> dict:
        return {"kind": self.kind, "shape": list(self.shape), "num_classes": self.num_classes,
                "vocab_size": self.vocab_size}

    @classmethod
    def from_dict(cls, d: dict) -> "DataSpec":
        return cls(kind=d["kind"], shape=tuple(d["shape"]), num_classes=d.get("num_classes"),
                   vocab_size=d.get("vocab_size"))


@dataclass
class Batch:
    """One minibatch: x (images in [0, 1] as float, points, or token ids) and optional labels y."""

    x: torch.Tensor
    y: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.x)

    def split(self, k: int) -> list["Batch"]:
        """k minibatches of equal size (for algorithms that take k fresh minibatches per step)."""
        xs = self.x.chunk(k)
        ys = self.y.chunk(k) if self.y is not None else [None] * k
        return [Batch(x, y) for x, y in zip(xs, ys)]


class Optimizers:
    """Named optimizers with one verb: `opt.step(name, loss)` = zero grads, backprop, update.

    Gradients flow only into the parameters of the named optimizer, so a generator step
    never leaves stale gradients on the discriminator (and vice versa). The trainer may add a
    gradient hook (averaging over processes in distributed training) and a gradient scaler
    (float16 mixed precision); algorithms never see either.
    """

    def __init__(self, optimizers: dict[str, torch.optim.Optimizer], *,
                 reduce_gradients: Callable[[list[torch.Tensor]], None] | None = None,
                 scaler: "torch.amp.GradScaler | None" = None):
        self.optimizers = optimizers
        self.reduce_gradients = reduce_gradients
        self.scaler = scaler
        self._params = {name: [p for g in o.param_groups for p in g["params"] if p.requires_grad]
                        for name, o in optimizers.items()}
        # the configured rates, kept apart because loading an optimizer state overwrites group["lr"]
        self._base_lrs = {name: [g["lr"] for g in o.param_groups] for name, o in optimizers.items()}

    def __getitem__(self, name: str) -> torch.optim.Optimizer:
        return self.optimizers[name]

    def __iter__(self):
        return iter(self.optimizers.items())

    def scale_learning_rates(self, factor: float) -> None:
        """Set every optimizer's learning rates to `factor` times their configured values."""
        for name, opt in self.optimizers.items():
            for group, base in zip(opt.param_groups, self._base_lrs[name]):
                group["lr"] = base * factor

    def step(self, name: str, loss: torch.Tensor) -> None:
        opt, params = self.optimizers[name], self._params[name]
        opt.zero_grad(set_to_none=True)
        (self.scaler.scale(loss) if self.scaler else loss).backward(inputs=params)
        if self.reduce_gradients is not None:
            self.reduce_gradients(params)
        if self.scaler:
            self.scaler.step(opt)
            self.scaler.update()
        else:
            opt.step()
        # autocast keeps one low-precision copy of each weight until its region ends, and the whole step is one
        # region: without this, a forward after the update (G's step through D, a critic's next step) would read
        # the weights as they were before it
        torch.clear_autocast_cache()


class Algorithm(nn.Module):
    """Base class of every genzoo algorithm.

    Subclasses set `name`, `Config` (a dataclass of the paper's hyperparameters) and implement:
      configure_optimizers() -> {name: optimizer}
      train_step(batch, opt, step) -> {"loss_name": value}   # the paper's algorithm box
      sample(n, cond=None, generator=None) -> Tensor         # images in [0, 1] / points / tokens
    and may implement
      start_from_data(batch)   # a data-dependent initialization, before the first step of a fresh run
    Persistent state that must survive a checkpoint (e.g. Gibbs chains) is kept in buffers.

    What a model can do beyond this contract it declares by implementing the protocols of
    genzoo.models.capabilities, which the rest of genzoo checks with isinstance:
      LatentModel, LatentPrior   latent_dim, generate(z, cond); prior(n, ...), describe_prior()
      Conditional                num_classes > 0: cond picks a class
      FeatureEncoder             features(x): the representation a linear probe reads (has_features)
      EncoderNetwork             encoder_net(): the encoder, to fine-tune as a classifier's base
      ImportanceWeighted         log_importance_weights(x, k): importance-sampled log p(x)
      AISModel                   a Boltzmann machine whose log Z AIS estimates (likelihood_bound)
      DensityRatio               log_density_ratio(x): D's estimate of log p_data / p_G
      Translator                 translate(x), example_rows(pairs), translation_net()
      CategoricalCode            class_probabilities(x): q(y|x) (classifies: this instance has one)
      StagedSampler              sample_stage1(n, cond): a two-stage generator's first stage
      Detokenizer                detokenize(x): token ids -> text
    Where some instances of a class lack a capability, its protocol has a flag that says so.
    """

    name: ClassVar[str] = ""
    Config: ClassVar[type] = object
    #: the data kinds the algorithm says it learns from (): it does not say; translation data need a model that does
    data_kinds: ClassVar[tuple[str, ...]] = ()
    #: minibatches consumed per train_step (e.g. k discriminator steps each on a fresh minibatch);
    #: the trainer hands over batch_size * batches_per_step examples and `Batch.split` divides them.
    batches_per_step: int = 1
    #: attributes holding moving averages of nets (or None): never trained, so always in eval mode
    moving_averages: ClassVar[tuple[str, ...]] = ()

    def __init__(self, cfg, data: DataSpec):
        super().__init__()
        if dataclasses.is_dataclass(cfg):   # a config built in Python has not been checked by from_dict
            check_literals(cfg, "model")
        self.cfg = cfg
        self.data = data

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    @classmethod
    def double_backward(cls, cfg) -> bool:
        """Whether training with the model config `cfg` takes the gradient of a gradient (a gradient penalty,
        R1), which torch.compile does not support; configs that can say so define differentiates_gradients."""
        return bool(getattr(cfg, "differentiates_gradients", False))

    def train(self, mode: bool = True):
        super().train(mode)
        for name in self.moving_averages:   # batch norm in an average always uses the copied statistics
            average = getattr(self, name, None)
            if average is not None:
                average.eval()
        return self

    def train_step(self, batch: Batch, opt: Optimizers, step: int) -> dict[str, torch.Tensor | float]:
        raise NotImplementedError

    def start_from_data(self, batch: Batch) -> None:
        """Set what is initialized from the data (e.g. visible biases from the first batch's marginals).
        The trainer calls it with the first step's batch, once, before that step; a resumed run has it
        in its checkpoint. Default: nothing."""

    @torch.no_grad()
    def sample(self, n: int, *, cond: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError(f"{self.name} cannot sample")

    @property
    def cond_values(self) -> int:
        """How many values `cond` of sample() takes (the classes of a conditional model); 0 when the
        model samples without one, so that a class asked for would be ignored."""
        return getattr(self, "num_classes", 0) or 0

    @property
    def device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        for b in self.buffers():
            return b.device
        return torch.device("cpu")


ALGORITHMS: dict[str, type[Algorithm]] = {}


def register(cls: type[Algorithm]) -> type[Algorithm]:
    """Class decorator: make an algorithm available to presets by its `name`."""
    if not cls.name or not dataclasses.is_dataclass(cls.Config):
        raise TypeError(f"{cls.__name__} needs a `name` and a dataclass `Config`")
    ALGORITHMS[cls.name] = cls
    return cls


def get_algorithm(name: str) -> type[Algorithm]:
    from . import load_all  # noqa: F401  (imports every model file, filling the registry)
    load_all()
    if name not in ALGORITHMS:
        import difflib
        close = difflib.get_close_matches(name, ALGORITHMS, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"unknown algorithm '{name}'.{hint} Known: {', '.join(sorted(ALGORITHMS))}")
    return ALGORITHMS[name]


def check_ema_decay(ema: float) -> None:
    """model.ema, the decay of a moving average of a net's weights, must lie in [0, 1) (0: off)."""
    if not 0.0 <= ema < 1.0:
        raise ConfigError(f"model.ema is a decay in [0, 1) (0: off, e.g. 0.999), got {ema}")


#: how image models with binary units see pixels in [0, 1]: dynamic (v ~ Bernoulli(x) each time),
#: fixed (x > 0.5), none (x itself)
Binarize = Literal["dynamic", "fixed", "none"]
#: the optimizers the papers use
OptimizerName = Literal["adam", "rmsprop", "sgd"]


def make_optimizer(params, name: OptimizerName, lr: float, betas: tuple[float, float] = (0.9, 0.999),
                   momentum: float = 0.0, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """The optimizers the papers use, by name: adam, rmsprop, sgd.

    Adam is fused (one kernel per tensor instead of a dozen elementwise passes, so a shorter step)
    where this torch has a fused Adam for the parameters' device; otherwise, as RMSprop and SGD
    always are, foreach.
    Fused and foreach give the same update up to float round-off."""
    params = list(params)
    if name == "adam":
        adam = dict(lr=lr, betas=tuple(betas), weight_decay=weight_decay)
        try:
            return torch.optim.Adam(params, **adam, fused=True)
        except RuntimeError:  # torch < 2.4 on CPU, or a device without a fused Adam
            return torch.optim.Adam(params, **adam, foreach=True)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=weight_decay, foreach=True)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, foreach=True)
    raise choice_error("optim.name", name, get_args(OptimizerName))


@dataclass
class OptimConfig:
    """Optimizer settings as the papers give them."""

    name: OptimizerName = "adam"
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    momentum: float = 0.0
    weight_decay: float = 0.0

    def validate(self) -> None:
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"optim.lr is a learning rate: a positive finite number, got {self.lr}")
        if not all(math.isfinite(b) and 0.0 <= b < 1.0 for b in self.betas):
            raise ConfigError(f"optim.betas are Adam's decay rates, each in [0, 1), got {list(self.betas)}")
        if not (math.isfinite(self.momentum) and 0.0 <= self.momentum < 1.0):
            raise ConfigError(f"optim.momentum must be in [0, 1), got {self.momentum}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ConfigError(f"optim.weight_decay must be a finite number >= 0, got {self.weight_decay}")

    def build(self, params) -> torch.optim.Optimizer:
        return make_optimizer(params, self.name, self.lr, self.betas, self.momentum, self.weight_decay)


Sampler = Callable[[int], torch.Tensor]
