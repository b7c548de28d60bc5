"""GAN losses, penalties and VAE likelihood terms as pure functions; each docstring is its equation.

Conventions. D(x) = sigmoid(l(x)) is the probability that x is real; the GAN losses take the
logits l (the raw outputs of the discriminator) and use softplus / log-sigmoid, which stay
finite where log(sigmoid(l)) would underflow:
    -log D(x)       = softplus(-l(x))
    -log(1 - D(x))  = softplus(l(x))
Least-squares, Wasserstein and hinge losses take the raw outputs as they are (no sigmoid).
Every GAN loss returns a scalar mean over the batch and is *minimized* by its player.
The VAE terms return one value per example, shape (N,), summed over all other dimensions.

Pick a GAN loss by name with `get_gan_loss(name)` -> GanLoss(d, g); see GAN_LOSSES.
"""
from __future__ import annotations

import math
from typing import Callable, Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .errors import ConfigError

LOG_2PI = math.log(2 * math.pi)

# --------------------------------------------------------------------------------------------
# GAN losses
# --------------------------------------------------------------------------------------------


def d_loss_minimax(real_logits: Tensor, fake_logits: Tensor, real_target: float = 1.0) -> Tensor:
    """J(D) = -E_x log D(x) - E_z log(1 - D(G(z)))   (Goodfellow et al. 2014, eq. 1).

    = softplus(-l(x)).mean() + softplus(l(G(z))).mean(). The discriminator cost of the minimax,
    non-saturating and maximum-likelihood games alike.

    real_target < 1 is one-sided label smoothing (Salimans et al. 2016, e.g. 0.9): the real term
    becomes the cross-entropy with target t, -t log D(x) - (1 - t) log(1 - D(x)); fakes keep
    target 0. real_target=1 is exactly the equation above.
    """
    real = F.softplus(-real_logits)
    if real_target != 1.0:
        real = real_target * real + (1.0 - real_target) * F.softplus(real_logits)
    return real.mean() + F.softplus(fake_logits).mean()


def g_loss_minimax(fake_logits: Tensor) -> Tensor:
    """J(G) = E_z log(1 - D(G(z))) = -J(D) + const   (Goodfellow et al. 2014, eq. 1; zero-sum game).

    = -softplus(l(G(z))).mean(). Saturates: when D confidently rejects the fakes (D(G(z)) -> 0)
    its gradient vanishes, dJ/dl = -sigmoid(l) -> 0.
    """
    return -F.softplus(fake_logits).mean()


def mode_seeking_loss(fake_1: Tensor, fake_2: Tensor, z_1: Tensor, z_2: Tensor, eps: float = 1e-5) -> Tensor:
    """1 / (d(G(c, z1), G(c, z2)) / d(z1, z2) + eps), d the mean absolute difference (Mao et al. 2019, eq. 3,
    "Mode Seeking GANs"): two samples of the same condition must differ as their noises do, so that a
    conditional G does not ignore z."""
    ratio = (fake_1 - fake_2).abs().float().mean() / (z_1 - z_2).abs().float().mean()
    return 1 / (ratio + eps)


def g_loss_non_saturating(fake_logits: Tensor) -> Tensor:
    """J(G) = -E_z log D(G(z))   (Goodfellow et al. 2014, sec. 3; the "heuristic, non-saturating game").

    = softplus(-l(G(z))).mean(). Same fixed point as the minimax game, but strong gradients
    early in training: dJ/dl = -(1 - sigmoid(l)) -> -1 when D(G(z)) -> 0.
    """
    return F.softplus(-fake_logits).mean()


def g_loss_max_likelihood(fake_logits: Tensor) -> Tensor:
    """J(G) = -E_z exp(sigma^-1(D(G(z))))   (Goodfellow 2014, "On distinguishability criteria";
    NIPS 2016 GAN tutorial, "maximum likelihood game").

    sigma^-1(D) is the logit, so J(G) = -exp(l(G(z))).mean(). With the optimal discriminator
    exp(l*(x)) = p_data(x) / p_g(x), and the gradient of J(G) equals the gradient of
    KL(p_data || p_g), i.e. of maximum likelihood. The tutorial writes a factor 1/2 in front;
    the lecture notes (and this function) omit it: it only rescales the gradient.

    Computed in float32 (exp overflows float16 above l ~ 11). Not clamped: float32 overflows
    only for logits above ~88, i.e. a discriminator certain that a fake is real; the trainer's
    divergence check reports that as an infinite loss rather than hiding it.
    """
    return -fake_logits.float().exp().mean()


def d_loss_least_squares(real_out: Tensor, fake_out: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """J(D) = 1/2 E_x (D(x) - b)^2 + 1/2 E_z (D(G(z)) - a)^2   (Mao et al. 2017, LSGAN eq. 2).

    D outputs raw values (no sigmoid). a, b are the targets for fake and real data; the paper's
    choices are a=0, b=1, c=1 (default) or a=-1, b=1, c=0 (Pearson chi^2 divergence, eq. 8).
    """
    return 0.5 * (real_out - b).pow(2).mean() + 0.5 * (fake_out - a).pow(2).mean()


def g_loss_least_squares(fake_out: Tensor, c: float = 1.0) -> Tensor:
    """J(G) = 1/2 E_z (D(G(z)) - c)^2   (Mao et al. 2017, LSGAN eq. 2); c is the value G wants D to output."""
    return 0.5 * (fake_out - c).pow(2).mean()


def d_loss_wasserstein(real_out: Tensor, fake_out: Tensor) -> Tensor:
    """J(D) = E_z D(G(z)) - E_x D(x)   (Arjovsky et al. 2017, WGAN Algorithm 1; Gulrajani et al. 2017).

    The critic maximizes E D(x) - E D(G(z)), an estimate of the Wasserstein-1 distance when D
    is 1-Lipschitz (weight clipping: clip_weights_; or gradient_penalty).
    """
    return fake_out.mean() - real_out.mean()


def g_loss_wasserstein(fake_out: Tensor) -> Tensor:
    """J(G) = -E_z D(G(z))   (Arjovsky et al. 2017, WGAN Algorithm 1)."""
    return -fake_out.mean()


def d_loss_hinge(real_out: Tensor, fake_out: Tensor) -> Tensor:
    """J(D) = E_x max(0, 1 - D(x)) + E_z max(0, 1 + D(G(z)))   (Lim & Ye 2017; Miyato et al. 2018, SN-GAN)."""
    return F.relu(1.0 - real_out).mean() + F.relu(1.0 + fake_out).mean()


def g_loss_hinge(fake_out: Tensor) -> Tensor:
    """J(G) = -E_z D(G(z))   (Lim & Ye 2017; Miyato et al. 2018)."""
    return -fake_out.mean()


def top_k_scores(scores: Tensor, k: int) -> Tensor:
    """The k highest of D's outputs on the fakes, along the last dimension (Sinha et al. 2020).

    The top-k generator update: J(G) over these alone zeroes the gradient of the fakes D finds
    least realistic. Every loss here scores "more real" higher, so the highest are the best.
    k equal to the size of that dimension returns the scores unchanged."""
    if k >= scores.shape[-1]:
        return scores
    return scores.topk(k, dim=-1, sorted=False).values


def d_loss_matching_aware(real_match: Tensor, real_mismatch: Tensor, fake_match: Tensor) -> Tensor:
    """J(D) = -E log D(x, h) - 1/2 [E log(1 - D(x, h^)) + E log(1 - D(x^, h))]
    (Reed et al. 2016, Algorithm 1: s_r, s_w, s_f; StackGAN's D uses the same three terms).

    real_match = l(x, h): a real image with its own text; real_mismatch = l(x, h^): a real image with
    another image's text; fake_match = l(G(z, h), h). D must learn both "is this image real" and
    "does it match its text". With the mismatched term dropped this is d_loss_minimax (the paper's
    plain GAN ablation).
    """
    return F.softplus(-real_match).mean() + 0.5 * (F.softplus(real_mismatch).mean() + F.softplus(fake_match).mean())


def symmetric_matching_loss(image_embedding: Tensor, text_embedding: Tensor, temperature: float = 0.1,
                            hard_negatives: Tensor | None = None, hard_valid: Tensor | None = None) -> Tensor:
    """1/2 [CE(softmax_t F(v_n, t) / tau, n) + CE(softmax_v F(v, t_n) / tau, n)]  averaged over n,
    with the compatibility F(v, t) = theta(v)^T phi(t) of unit-length embeddings.

    The softmax form of Reed et al. 2016's symmetric structured joint embedding loss (each image must
    score its own caption above the batch's others, and each caption its own image); the same loss
    as CLIP (Radford et al. 2021). Rows n of both inputs are matching pairs. `hard_negatives` (N, d):
    one more caption per image that image n must also score below its own (where `hard_valid` holds).
    """
    scores = image_embedding @ text_embedding.t() / temperature
    target = torch.arange(len(scores), device=scores.device)
    image_to_text = scores
    if hard_negatives is not None:
        hard = (image_embedding * hard_negatives).sum(1, keepdim=True) / temperature
        image_to_text = torch.cat([scores, hard.masked_fill(~hard_valid[:, None], float("-inf"))], 1)
    return 0.5 * (F.cross_entropy(image_to_text, target) + F.cross_entropy(scores.t(), target))


class GanLoss(NamedTuple):
    """A discriminator cost and a generator cost that form one game. Unpacks as (d, g)."""

    d: Callable[..., Tensor]
    g: Callable[..., Tensor]


GanLossName = Literal["minimax", "non-saturating", "max-likelihood", "least-squares", "wasserstein", "hinge"]

GAN_LOSSES: dict[GanLossName, GanLoss] = {
    "minimax": GanLoss(d_loss_minimax, g_loss_minimax),
    "non-saturating": GanLoss(d_loss_minimax, g_loss_non_saturating),
    "max-likelihood": GanLoss(d_loss_minimax, g_loss_max_likelihood),
    "least-squares": GanLoss(d_loss_least_squares, g_loss_least_squares),
    "wasserstein": GanLoss(d_loss_wasserstein, g_loss_wasserstein),
    "hinge": GanLoss(d_loss_hinge, g_loss_hinge),
}


def get_gan_loss(name: str) -> GanLoss:
    """The (d_loss, g_loss) pair registered under `name`; ConfigError listing the valid names otherwise."""
    try:
        return GAN_LOSSES[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown GAN loss {name!r}; valid: {', '.join(GAN_LOSSES)}") from None


# --------------------------------------------------------------------------------------------
# Penalties and constraints on the discriminator / critic
# --------------------------------------------------------------------------------------------


def _input_gradient(net: Callable[..., Tensor], x: Tensor, **kwargs) -> Tensor:
    """d(sum_i net(x)_i)/dx with create_graph=True, so a penalty on it can be trained. Per example,
    this is grad_x D(x_i), since the outputs of different examples do not interact (no batch norm)."""
    x = x.detach().requires_grad_(True)
    out = net(x, **kwargs)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad.flatten(1)


def gradient_penalty(critic: Callable[..., Tensor], real: Tensor, fake: Tensor, *, weight: float = 10.0,
                     generator: torch.Generator | None = None, **critic_kwargs) -> Tensor:
    """lambda E_{x_hat} (||grad_{x_hat} D(x_hat)||_2 - 1)^2   (Gulrajani et al. 2017, WGAN-GP Algorithm 1).

    x_hat = eps x + (1 - eps) x_tilde with eps ~ U[0, 1] per example, x real, x_tilde = G(z)
    fake; two-sided (the norm is pulled towards 1 from both sides); lambda = weight = 10 in the
    paper. The gradient is built with create_graph=True so that the penalty trains the critic;
    real and fake are detached (the penalty never updates G). `generator` seeds eps;
    `critic_kwargs` go to the critic (e.g. y=labels). The critic must not use batch norm.
    The norm is sqrt(sum g^2 + 1e-12) so that its gradient stays finite at g = 0.
    """
    return gradient_penalty_terms(critic, real, fake, weight=weight, generator=generator, **critic_kwargs).mean()


def gradient_penalty_terms(critic: Callable[..., Tensor], real: Tensor, fake: Tensor, *, weight: float = 10.0,
                           generator: torch.Generator | None = None, **critic_kwargs) -> Tensor:
    """gradient_penalty's per-example terms lambda (||grad D(x_hat_i)|| - 1)^2, shape (B,)."""
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps_device = real.device if generator is None else generator.device
    eps = torch.rand(shape, generator=generator, device=eps_device).to(real)
    x_hat = eps * real.detach() + (1 - eps) * fake.detach()
    grad = _input_gradient(critic, x_hat, **critic_kwargs)
    norm = (grad.pow(2).sum(dim=1) + 1e-12).sqrt()
    return weight * (norm - 1).pow(2)


def r1_penalty(discriminator: Callable[..., Tensor], real: Tensor, *, gamma: float = 10.0, **d_kwargs) -> Tensor:
    """R1(psi) = gamma/2 E_{x ~ p_data} ||grad_x D(x)||^2   (Mescheder et al. 2018, eq. 9; ALAE uses it).

    Penalizes the discriminator's gradient on real data only; create_graph=True so it trains.
    """
    return r1_penalty_terms(discriminator, real, gamma=gamma, **d_kwargs).mean()


def r1_penalty_terms(discriminator: Callable[..., Tensor], real: Tensor, *, gamma: float = 10.0,
                     **d_kwargs) -> Tensor:
    """r1_penalty's per-example terms gamma/2 ||grad_x D(x_i)||^2, shape (B,)."""
    grad = _input_gradient(discriminator, real, **d_kwargs)
    return 0.5 * gamma * grad.pow(2).sum(dim=1)


def orthogonal_regularization(module: nn.Module, beta: float = 1e-4) -> Tensor:
    """R_beta(W) = beta ||W W^T (.) (1 - I)||_F^2 summed over `module`'s weight matrices (Brock et al. 2019,
    eq. 3; BigGAN: beta = 1e-4 on G). W is a layer's weight as (outputs, inputs); only the off-diagonal
    of its Gram matrix is penalized, so the rows' norms stay free while they are pushed to be orthogonal.
    Computed in the weights' own precision, also under autocast."""
    total = torch.zeros(())
    for name, w in module.named_parameters():
        if w.dim() < 2 or not name.endswith("weight"):
            continue
        rows = w.reshape(w.shape[0], -1)
        with torch.autocast(w.device.type, enabled=False):
            gram = rows @ rows.T
        total = total.to(gram) + (gram - torch.diag_embed(torch.diagonal(gram))).pow(2).sum()
    return beta * total


@torch.no_grad()
def clip_weights_(module: nn.Module, c: float = 0.01) -> nn.Module:
    """w <- clip(w, -c, c) for every parameter of `module`, in place   (Arjovsky et al. 2017, WGAN
    Algorithm 1, c = 0.01). Returns `module`."""
    for p in module.parameters():
        p.clamp_(-c, c)
    return module


# --------------------------------------------------------------------------------------------
# VAE terms (Kingma & Welling 2014)
# --------------------------------------------------------------------------------------------


def log_normal_pdf(x: Tensor, mean: Tensor | float = 0.0, logvar: Tensor | float = 0.0) -> Tensor:
    """Elementwise log N(x; mean, exp(logvar)) = -1/2 (log 2 pi + logvar + (x - mean)^2 / exp(logvar))."""
    logvar = torch.as_tensor(logvar, dtype=x.dtype, device=x.device)
    return -0.5 * (LOG_2PI + logvar + (x - mean).pow(2) * torch.exp(-logvar))


def _sum_per_example(t: Tensor) -> Tensor:
    return t.flatten(1).sum(dim=1)


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, sigma^2) || N(0, I)) = -1/2 sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2)
    (Kingma & Welling 2014, appendix B), summed over latent dims -> (N,)."""
    return -0.5 * _sum_per_example(1 + logvar - mu.pow(2) - logvar.exp())


def bernoulli_log_likelihood(logits: Tensor, x: Tensor) -> Tensor:
    """log p(x | z) = sum_i x_i log p_i + (1 - x_i) log(1 - p_i), p = sigmoid(logits), summed over
    dims -> (N,). Equals -BCEWithLogits(logits, x, reduction="sum") per example; x may be in [0, 1]."""
    return -_sum_per_example(F.binary_cross_entropy_with_logits(logits, x, reduction="none"))


def gaussian_log_likelihood(mean: Tensor, x: Tensor, logvar: Tensor | float = 0.0) -> Tensor:
    """log N(x; mean, exp(logvar)) summed over dims -> (N,), with the -1/2 log(2 pi) constant per dim.

    logvar: a tensor broadcastable to x (learned variance) or a float (fixed variance)."""
    return _sum_per_example(log_normal_pdf(x, mean, logvar).expand_as(x))


def log_standard_normal(z: Tensor) -> Tensor:
    """log N(z; 0, I) summed over dims -> (N,): the prior term of IWAE / importance-sampled NLL."""
    return _sum_per_example(log_normal_pdf(z))
