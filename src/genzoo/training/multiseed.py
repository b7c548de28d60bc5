"""Many seeds of a small GAN trained at once: one set of tensor operations for all seeds.

A toy benchmark (ring8, grid25; PacGAN protocol) reports a mean and standard error over 5-10
seeds. The networks are small MLPs, so one seed spends much of its time on Python and
per-operation overhead rather than arithmetic. Here S seeds are stacked along a new leading
dimension and trained together with torch.func:

    params = stack_module_state([G_1, ..., G_S])     every weight becomes (S, ...)
    G(z)   = one batched op per layer for all seeds   engine "bmm": torch.bmm / baddbmm for Linear,
                                                      seeds as extra channels for BatchNorm1d
           = vmap(functional_call(G, params_s, z_s))  engine "vmap": any network, but its per-call
                                                      cost on a CPU exceeds these nets' arithmetic
    sum_s J_s = S * J(all seeds' logits as one batch) the configured genzoo.losses loss, unchanged: each
                                                      is a mean over examples (vmap'd per seed for the logs)
    Adam over the stacked tensors                     Adam is elementwise: each seed's slice gets
                                                      exactly its own Adam update

The step is GAN.train_step's (Goodfellow et al. 2014, Algorithm 1): k = d_steps discriminator
steps, each on a fresh minibatch, then one generator step on fresh noise; the configured loss
from genzoo.losses; the same MLP networks (genzoo.nets.mlp.MLPGenerator / MLPDiscriminator,
built on genzoo.nets.mlp) with the same initialization: seed s starts from exactly the weights
`genzoo.train` builds with train.seed=s, and draws its minibatches in the same order as the
trainer's BatchSource with that seed. Its noise z comes from its own torch.Generator(seed), so a
seed's run does not depend on which other seeds run beside it (up to float round-off), but it is
not the same random stream as a `genzoo.train` run.

Supported:
- every GAN loss, d_steps, PacGAN packing, one-sided label smoothing, WGAN weight clipping,
  the top-k generator update;
- batch/layer norm in G, dropout in D (each seed its own masks, drawn from the global RNG);
- a separate D optimizer; an EMA of G (model.ema; sampling uses it, as GAN.sample does); the
  trainer's learning-rate decay (train.lr_decay / train.lr_final, the same lr_factor);
- the gradient penalties, WGAN-GP's and R1 (genzoo.losses' per-example terms: the seeds'
  examples form one batch, and since seed s's critic sees only its own examples, grad_x of the
  summed outputs is each example's own gradient);
- spectral normalization of D (engine "bmm": torch's power iteration, batched).
Not supported (use genzoo.train): conditional GANs, instance noise, conv nets.

train_gan_seeds trains the engine with genzoo's Trainer (as SeedsModel, an Algorithm whose
minibatches are SeedBatches'), so the learning-rate schedule and the step loop are genzoo train's.

    from genzoo.training.multiseed import train_gan_seeds
    run = train_gan_seeds(cfg, ring8_points, seeds=[0, 1, 2, 3, 4], steps=2000, batch_size=100, n_samples=2500)
    run.samples          # (5, 2500, 2): each seed's samples, for the PacGAN mode metrics
    run.generators[2]    # seed 2's G state_dict: GAN(cfg, spec).G.load_state_dict(...)
"""
from __future__ import annotations

import copy
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state, vmap
from torch.nn.utils import parametrize

from ..config import DataConfig, RunConfig, TrainConfig
from ..typed import check_literal
from ..data import Dataset
from ..errors import ConfigError
from ..losses import get_gan_loss, gradient_penalty_terms, r1_penalty_terms
from ..models.base import Algorithm, Batch, DataSpec, Optimizers
from ..models.gan import CROSS_ENTROPY_LOSSES, GAN, GANConfig
from ..nets.layers import warmed_up_decay
from ..nets.mlp import MLPDiscriminator, MLPGenerator
from .trainer import Trainer


#: how StackedModules runs its copies (see its docstring)
Engine = Literal["auto", "bmm", "vmap"]
_ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.ELU, nn.Identity, nn.Dropout)


def stacked_mlp(seq: nn.Sequential, params: dict, buffers: dict, x: torch.Tensor, training: bool,
                prefix: str = "net.") -> torch.Tensor:
    """S copies of an `mlp()` applied at once: x (S, B, F) -> (S, B, F'), layer by layer.

    Linear: one batched matmul (S matrices); BatchNorm1d: the seeds become extra channels,
    (S, B, C) -> (B, S*C), so one batch_norm call normalizes each seed over its own minibatch and
    updates its own slice of the running statistics; LayerNorm: normalize, then each seed's affine;
    activations and dropout are elementwise. params/buffers: SeedStack's dicts, stack_module_state's
    with each Linear weight held transposed, (S, in, out) (see SeedStack).
    """
    for name, layer in seq.named_children():
        p = f"{prefix}{name}."
        if isinstance(layer, nn.Linear):
            w = spectral_normalized(params, buffers, p, training) if parametrize.is_parametrized(layer) \
                else params[p + "weight"]
            b = params.get(p + "bias")
            x = torch.bmm(x, w) if b is None else torch.baddbmm(b.unsqueeze(1), x, w)
        elif isinstance(layer, nn.BatchNorm1d):
            s, n, c = x.shape
            if training:
                buffers[p + "num_batches_tracked"].add_(1)
            y = F.batch_norm(x.transpose(0, 1).reshape(n, s * c), buffers[p + "running_mean"].view(-1),
                             buffers[p + "running_var"].view(-1), params[p + "weight"].reshape(-1),
                             params[p + "bias"].reshape(-1), training, layer.momentum, layer.eps)
            x = y.view(n, s, c).transpose(0, 1)
        elif isinstance(layer, nn.LayerNorm):
            x = F.layer_norm(x, layer.normalized_shape, eps=layer.eps)
            if layer.elementwise_affine:
                x = x * params[p + "weight"].unsqueeze(1) + params[p + "bias"].unsqueeze(1)
        else:  # elementwise (checked by _bmm_ok)
            x = layer(x)
    return x


def spectral_normalized(params: dict, buffers: dict, p: str, training: bool) -> torch.Tensor:
    """W / sigma(W) for S stacked weights, as torch.nn.utils.parametrizations.spectral_norm computes it
    (Miyato et al. 2018): in training, one power iteration per call updates each seed's u and v
    (v <- W^T u / ||.||, after u <- W v / ||.||, in torch's order), then sigma = u^T W v.
    Takes and returns the weights transposed, (S, in, out), as SeedStack holds them."""
    w_t = params[p + "parametrizations.weight.original"]
    w = w_t.transpose(1, 2)                                             # (S, out, in)
    u, v = buffers[p + "parametrizations.weight.0._u"], buffers[p + "parametrizations.weight.0._v"]
    if training:
        with torch.no_grad():
            u.copy_(F.normalize(torch.bmm(w, v.unsqueeze(2)).squeeze(2), dim=1, eps=1e-12))
            v.copy_(F.normalize(torch.bmm(w.transpose(1, 2), u.unsqueeze(2)).squeeze(2), dim=1, eps=1e-12))
    u, v = u.clone(), v.clone()  # the next call updates the buffers in place; autograd keeps these
    sigma = torch.bmm(u.unsqueeze(1), torch.bmm(w, v.unsqueeze(2))).view(-1, 1, 1)
    return w_t / sigma


def _spectral_norm_ok(layer: nn.Module) -> bool:
    """Is this layer's only parametrization torch's default spectral_norm of a Linear weight?"""
    plist = getattr(layer, "parametrizations", {})
    if set(plist.keys()) != {"weight"} or len(plist["weight"]) != 1:
        return False
    sn = plist["weight"][0]
    return isinstance(layer, nn.Linear) and type(sn).__name__ == "_SpectralNorm" and sn.dim == 0 \
        and sn.n_power_iterations == 1 and sn.eps == 1e-12


def _bmm_ok(module: nn.Module) -> bool:
    """Can stacked_mlp run this network? (genzoo's unconditional MLP G and D, spectral norm allowed.)"""
    if not isinstance(module, (MLPGenerator, MLPDiscriminator)) or module.label_code is not None:
        return False
    for layer in module.net:
        if isinstance(layer, nn.BatchNorm1d):
            if not (layer.affine and layer.track_running_stats and layer.momentum is not None):
                return False
        elif not isinstance(layer, (nn.Linear, nn.LayerNorm) + _ELEMENTWISE):
            return False
        elif parametrize.is_parametrized(layer) and not _spectral_norm_ok(layer):
            return False
    return True


class SeedStack:
    """S copies of one network held as stacked tensors (S, ...) and called for all seeds at once.

    engine "bmm": stacked_mlp, one batched op per layer (genzoo's MLP G and D); "vmap":
    torch.func.vmap over functional_call, which runs other networks too but costs more per call
    on a CPU than these small networks' arithmetic (see benchmarks/multiseed_toy.py); "auto":
    bmm where it applies.
    """

    def __init__(self, modules: Sequence[nn.Module], engine: Engine = "auto"):
        check_literal(engine, Engine, "engine", ValueError)
        if engine == "auto":
            engine = "bmm" if _bmm_ok(modules[0]) else "vmap"
        elif engine == "bmm" and not _bmm_ok(modules[0]):
            raise ValueError(f"engine='bmm' cannot run {type(modules[0]).__name__}; use engine='vmap'")
        elif engine == "vmap" and any(parametrize.is_parametrized(m) for m in modules[0].modules()):
            raise ValueError("spectral norm's in-place power iteration has no vmap batching rule; use engine='bmm'")
        self.engine = engine
        self.params, self.buffers = stack_module_state(list(modules))  # leaves; params require grad
        # engine "bmm" multiplies x (S, B, in) by each Linear weight transposed. Held as (S, out, in), that
        # operand's gradient reaches the leaf transposed, and autograd (or fused Adam) copies it back to the
        # leaf's layout: about 6% of a 5-seed PacGAN-net step. So the leaf is (S, in, out).
        self.transposed = {k for k, v in self.params.items() if v.dim() == 3} if engine == "bmm" else set()
        self.params = {k: v.detach().transpose(1, 2).contiguous().requires_grad_() if k in self.transposed else v
                       for k, v in self.params.items()}
        self.base = copy.deepcopy(modules[0]).to("meta")  # the architecture only, no storage
        self.num_seeds = len(modules)

    @property
    def training(self) -> bool:
        return self.base.training

    def train(self, mode: bool = True) -> "SeedStack":
        self.base.train(mode)
        return self

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """x (S, B, ...) -> (S, B, ...): seed s's network applied to x[s]."""
        if self.engine == "vmap":
            def one(params, buffers, x):
                return functional_call(self.base, (params, buffers), (x,))
            return vmap(one, randomness="different")(self.params, self.buffers, x)
        h = stacked_mlp(self.base.net, self.params, self.buffers, x.flatten(2), self.training)
        if isinstance(self.base, MLPDiscriminator):
            return h.squeeze(-1)
        return h.view(*x.shape[:2], *self.base.shape)

    def parameters(self) -> list[torch.Tensor]:
        return list(self.params.values())

    def state_dict(self, s: int) -> dict[str, torch.Tensor]:
        """Seed s's weights as an ordinary state_dict of the original module."""
        return self.unstack({**self.params, **self.buffers}, s)

    def unstack(self, stacked: dict[str, torch.Tensor], s: int) -> dict[str, torch.Tensor]:
        """Seed s's slice of tensors laid out like self.params, in the original module's layout."""
        return {k: (v[s].detach().t() if k in self.transposed else v[s].detach()).clone(
            memory_format=torch.contiguous_format) for k, v in stacked.items()}


class VectorizedGAN:
    """GAN.train_step for S seeds at once. Inputs carry a leading seed dimension."""

    def __init__(self, cfg: GANConfig, dim: int, seeds: Sequence[int], engine: str = "auto"):
        check_supported(cfg)
        self.cfg, self.seeds = cfg, list(seeds)
        spec = DataSpec(kind="points", shape=(dim,))
        gs, ds = [], []
        for s in self.seeds:  # as genzoo.train: torch.manual_seed(train.seed), then the model
            torch.manual_seed(s)
            gan = GAN(cfg, spec)
            gs.append(gan.G)
            ds.append(gan.D)
        self.G, self.D = SeedStack(gs, engine), SeedStack(ds, engine)
        # genzoo's Optimizers: opt.step(name, total) backpropagates the seeds' summed loss into that
        # network only; each seed's parameters appear only in its own loss, so each slice receives
        # exactly its own gradient. opt.scale_learning_rates is the trainer's learning-rate decay.
        self.opt = Optimizers({"G": cfg.optim.build(self.G.parameters()),
                               "D": (cfg.d_optim or cfg.optim).build(self.D.parameters())})
        # model.ema: theta_ema <- b theta_ema + (1 - b) theta after G step t, b = warmed_up_decay(ema, t)
        # (GAN.update_ema); the buffers (batch-norm statistics) are G's own, as GAN copies them into G_ema
        # every step
        self.G_ema = {k: v.detach().clone() for k, v in self.G.params.items()} if cfg.ema > 0 else None
        loss = get_gan_loss(cfg.loss)
        d_kw = {"real_target": 1.0 - cfg.label_smoothing} if cfg.label_smoothing else {}
        self.loss_d, self.loss_g = (lambda real, fake: loss.d(real, fake, **d_kw)), loss.g
        # genzoo's loss of one seed's logits, mapped over the seeds, (S, B) -> (S,): for the logs
        self.d_loss, self.g_loss = vmap(self.loss_d), vmap(self.loss_g)
        self.latent_dim = cfg.latent_dim

    @staticmethod
    def summed(loss, *logits: torch.Tensor) -> torch.Tensor:
        """sum over seeds of loss(seed's logits) without vmap's per-call cost: every GAN loss is a mean of
        per-example terms and every seed has the same number of examples, so the sum of the S per-seed
        means is S times the loss of all seeds' logits flattened into one batch."""
        return len(logits[0]) * loss(*(t.reshape(-1) for t in logits))

    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        """D's logits per seed, (S, B, D) -> (S, B/m), with PacGAN packing of m samples (as GAN.pack)."""
        return self.D(self.pack(x))

    def penalty(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor | float:
        """GAN.penalty per seed, (S,): the configured gradient penalty or R1 on packed examples."""
        p = self.cfg.penalty
        if p.kind == "none":
            return 0.0
        real, fake = self.pack(real), self.pack(fake)
        s, n, f = real.shape

        def critic(x):  # all seeds' examples as one batch (S * n, f) -> (S * n,) logits
            return self.D(x.view(s, n, f)).reshape(-1)

        if p.kind == "gradient":
            terms = gradient_penalty_terms(critic, real.reshape(-1, f), fake.reshape(-1, f), weight=p.weight)
        else:
            terms = r1_penalty_terms(critic, real.reshape(-1, f), gamma=p.weight)
        return terms.view(s, n).mean(1)

    def pack(self, x: torch.Tensor) -> torch.Tensor:
        """PacGAN packing per seed (GAN.pack): (S, B, D) -> (S, B/m, m D)."""
        m = self.cfg.pack
        s, n, d = x.shape
        return x.reshape(s, n // m, m * d) if m > 1 else x

    def step(self, xs: Sequence[torch.Tensor], d_noise: Sequence[torch.Tensor], g_noise: torch.Tensor, *,
             step: int, logs: bool = True, opt: Optimizers | None = None) -> dict:
        """One step of Algorithm 1 for all seeds.

        xs: d_steps real minibatches, each (S, B, D); d_noise: d_steps noise batches (S, B, latent)
        for the fakes of the D steps; g_noise (S, B, latent) for the G step; step: the step's index
        (for model.top_k's schedule, each seed's G loss over its own k best-scored fakes, and for the
        moving average's warm-up); opt: the trainer's Optimizers over this engine's optimizers
        (default: its own). Returns (S,) tensors
        (d_loss with its penalty, g_loss, mean D logits), or {} with logs=False.
        """
        opt = opt or self.opt
        self.G.train()
        self.D.train()
        for x, z in zip(xs, d_noise):
            with torch.no_grad():
                fake = self.G(z)
            d_real, d_fake = self.discriminate(x), self.discriminate(fake)
            penalty = self.penalty(x, fake)
            opt.step("D", self.summed(self.loss_d, d_real, d_fake) + torch.as_tensor(penalty).sum())
            if self.cfg.clip is not None:
                with torch.no_grad():
                    for p in self.D.parameters():
                        p.clamp_(-self.cfg.clip, self.cfg.clip)
        d_g_fake = self.discriminate(self.G(g_noise))
        d_g_fake = self.cfg.top_k.select(d_g_fake, step)  # per seed: (S, B) -> (S, k)
        opt.step("G", self.summed(self.loss_g, d_g_fake))
        if self.G_ema is not None:
            with torch.no_grad():
                torch._foreach_lerp_(list(self.G_ema.values()), [p.detach() for p in self.G.params.values()],
                                     1.0 - warmed_up_decay(self.cfg.ema, step))
        if not logs:
            return {}
        with torch.no_grad():
            return {"d_loss": self.d_loss(d_real, d_fake) + torch.as_tensor(penalty).detach(),
                    "g_loss": self.g_loss(d_g_fake), "d_real": d_real.mean(1), "d_fake": d_fake.mean(1)}

    @torch.no_grad()
    def sample(self, n: int, generators: Sequence[torch.Generator]) -> torch.Tensor:
        """n samples per seed, (S, n, D), in eval mode (batch norm with running statistics) like GAN.sample,
        from the EMA weights when model.ema > 0. Seed s's noise is torch.randn(n, latent, generator=generators[s])."""
        z = torch.stack([torch.randn(n, self.latent_dim, generator=g) for g in generators])
        trained = self.G.params
        self.G.params = self.G_ema if self.G_ema is not None else trained
        self.G.train(False)
        try:
            return self.G(z)
        finally:
            self.G.train(True)
            self.G.params = trained

    def generator_state(self, s: int) -> dict[str, torch.Tensor]:
        """Seed s's sampling generator as a state_dict of GAN.G: the EMA weights when model.ema > 0."""
        state = self.G.state_dict(s)
        if self.G_ema is not None:
            state.update(self.G.unstack(self.G_ema, s))
        return state


def check_supported(cfg: GANConfig) -> None:
    n = cfg.nets
    problems = []
    if n.generator != "mlp" or n.discriminator != "mlp":
        problems.append("MLP networks only (model.nets.generator/discriminator=mlp)")
    if cfg.conditional:
        problems.append("no conditional GANs")
    if cfg.instance_noise.std:
        problems.append("no instance noise")
    if cfg.label_smoothing and cfg.loss not in CROSS_ENTROPY_LOSSES:
        problems.append("label smoothing only with the cross-entropy losses")
    if cfg.reuse_fakes:
        problems.append("fresh noise for G's update (model.reuse_fakes=false)")
    if problems:
        raise ConfigError("the vectorized multi-seed trainer supports " + "; ".join(problems)
                          + "; train such a model seed by seed with genzoo.train")


class SeedBatches:
    """Each seed's minibatch order, exactly as the trainer's BatchSource with train.seed = seed:
    epoch e is torch.randperm(N) from a generator seeded seed * 1_000_003 + e, a step takes
    batch_size * d_steps consecutive indices, split into d_steps minibatches."""

    def __init__(self, data: torch.Tensor, seeds: Sequence[int], batch_size: int, d_steps: int):
        self.data, self.seeds, self.b, self.k = data, list(seeds), batch_size, d_steps
        self.per_step = batch_size * d_steps
        if self.per_step > len(data):
            raise ConfigError(f"batch_size x d_steps = {self.per_step} is larger than the data ({len(data)} points)")
        self.steps_per_epoch = len(data) // self.per_step
        self._epoch, self._perms = -1, None

    def __call__(self, step: int) -> list[torch.Tensor]:
        """d_steps minibatches for this step, each (S, B, D)."""
        return list(self.batch(step).x.split(self.b, dim=1))

    def batch(self, step: int) -> Batch:
        """This step's examples of every seed, x (S, B * d_steps, D): what the Trainer hands to SeedsModel."""
        epoch, i = divmod(step, self.steps_per_epoch)
        if epoch != self._epoch:
            self._perms = torch.stack([torch.randperm(len(self.data), generator=torch.Generator().manual_seed(
                s * 1_000_003 + epoch)) for s in self.seeds])
            self._epoch = epoch
        return Batch(self.data[self._perms[:, i * self.per_step:(i + 1) * self.per_step]])


@dataclass
class MultiSeedRun:
    """The result of train_gan_seeds. Per-seed lists are in the order of `seeds`."""

    seeds: list[int]
    generators: list[dict[str, torch.Tensor]]      # G state_dicts (load into GAN(cfg, spec).G)
    discriminators: list[dict[str, torch.Tensor]]
    history: dict[str, torch.Tensor] = field(default_factory=dict)  # name -> (logged steps, S)
    logged_steps: list[int] = field(default_factory=list)
    samples: torch.Tensor | None = None            # (S, n_samples, D)
    seconds: float = 0.0
    model: VectorizedGAN | None = None


class SeedsModel(Algorithm):
    """The engine as an Algorithm, so that genzoo's Trainer drives it like any model: its learning-rate
    schedule, step loop and stop rules. train_step is VectorizedGAN.step on the step's minibatches of every
    seed (SeedBatches) and on each seed's own noise, torch.Generator(seed). Built by train_gan_seeds."""

    name = "gan-seeds"
    Config = GANConfig

    def __init__(self, cfg: GANConfig, data: DataSpec, seeds: Sequence[int], batch_size: int, *,
                 engine: Engine = "auto", log_every: int = 50, steps: int = 1):
        super().__init__(cfg, data)
        self.gan = VectorizedGAN(cfg, data.dim, seeds, engine)
        self.noise = [torch.Generator().manual_seed(s) for s in seeds]
        self.batch_size, self.log_every, self.steps = batch_size, log_every, steps
        self.history: dict[str, list[torch.Tensor]] = {}
        self.logged_steps: list[int] = []

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return dict(self.gan.opt)

    def _z(self) -> torch.Tensor:
        return torch.stack([torch.randn(self.batch_size, self.cfg.latent_dim, generator=g) for g in self.noise])

    def train_step(self, batch: Batch, opt: Optimizers, step: int) -> dict[str, torch.Tensor]:
        """VectorizedGAN.step; every log_every steps (and the last) each seed's losses go to `history`."""
        xs = list(batch.x.split(self.batch_size, dim=1))
        d_noise = [self._z() for _ in xs]
        log_now = bool(self.log_every) and ((step + 1) % self.log_every == 0 or step + 1 == self.steps)
        logs = self.gan.step(xs, d_noise, self._z(), logs=log_now, step=step, opt=opt)
        if log_now:
            self.logged_steps.append(step + 1)
            for k, v in logs.items():
                self.history.setdefault(k, []).append(v)
        return {k: v.mean() for k, v in logs.items()}   # the trainer's values: means over the seeds


def train_gan_seeds(cfg: GANConfig, data: torch.Tensor, seeds: Sequence[int], steps: int, batch_size: int, *,
                    n_samples: int = 0, sample_seed: int = 12345, log_every: int = 50,
                    engine: Engine = "auto", lr_decay: float = 0.0, lr_final: float = 0.0) -> MultiSeedRun:
    """Train one small GAN per seed, all seeds at once (see the module docstring), through genzoo's Trainer.

    data: points (N, D), shared by all seeds (each seed its own order). n_samples > 0: draw that
    many samples per seed at the end (eval mode, the EMA weights if any, noise from
    Generator(sample_seed + seed)). engine: how the networks run for all seeds, see SeedStack
    ("auto": batched matmuls). lr_decay, lr_final: train.lr_decay / train.lr_final, applied before
    every step by the Trainer. run.generators holds the sampling (EMA) weights.
    """
    if steps < 1 or batch_size < 1 or not seeds:
        raise ConfigError("train_gan_seeds needs steps >= 1, batch_size >= 1 and at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds must be distinct, got {list(seeds)}")
    data = data.float()
    t0 = time.perf_counter()
    batches = SeedBatches(data, seeds, batch_size, cfg.d_steps)
    model = _train_through_trainer(cfg, data, batches, steps, lr_decay, lr_final,
                                   lambda _, spec, __: SeedsModel(cfg, spec, seeds, batch_size, engine=engine,
                                                                  log_every=log_every, steps=steps))
    gan = model.gan
    samples = None
    if n_samples:
        samples = gan.sample(n_samples, [torch.Generator().manual_seed(sample_seed + s) for s in seeds])
    return MultiSeedRun(seeds=list(seeds), generators=[gan.generator_state(i) for i in range(len(seeds))],
                        discriminators=[gan.D.state_dict(i) for i in range(len(seeds))],
                        history={k: torch.stack(v) for k, v in model.history.items()},
                        logged_steps=model.logged_steps, samples=samples, seconds=time.perf_counter() - t0,
                        model=gan)


def _train_through_trainer(cfg: GANConfig, data: torch.Tensor, batches: SeedBatches, steps: int, lr_decay: float,
                           lr_final: float, build) -> SeedsModel:
    """The Trainer's run of the engine `build` makes, without hooks, in a run directory removed afterwards."""
    run_cfg = RunConfig(name="gan-seeds", algorithm="gan", model=cfg, data=DataConfig(name="points"),
                        train=TrainConfig(steps=steps, batch_size=batches.b, seed=batches.seeds[0],
                                          device=str(data.device), lr_decay=lr_decay, lr_final=lr_final))
    points = Dataset(name="points", source=f"{len(data)} points given to train_gan_seeds", split="train",
                     kind="points", x=data, y=None, num_classes=None)
    folder = Path(tempfile.mkdtemp(prefix="genzoo-seeds-"))
    try:
        return Trainer(run_cfg, out=folder / "run", data=points, hooks=[], log=lambda *_: None, build=build,
                       batches=batches).run().model
    finally:
        shutil.rmtree(folder, ignore_errors=True)
