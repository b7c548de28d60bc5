"""The importance-weighted bound L_k = E log (1/k sum_i p(x, z_i) / q(z_i | x)) tightens as k grows:
L_1 is the ELBO, L_k <= L_{k+1} <= log p(x), and L_k -> log p(x) (Burda et al. 2016, theorem 1).
How loose L_1 is depends on the encoder: with the exact posterior every weight equals p(x).

A latent Gaussian model small enough that log p(x) is exact (probabilistic PCA: z ~ N(0, I_2),
x | z ~ N(W z + mu, s^2 I_8), so x ~ N(mu, W W^T + s^2 I)). Two encoders: the exact posterior,
and a mismatched one (the exact posterior mean, with a diagonal covariance of twice the exact
standard deviations), as an amortized encoder would be. L_k is estimated with genzoo's
importance-sampling estimator (metrics.likelihood.importance_sampled_log_likelihood) on 500
points drawn from the model and compared with the exact mean log p(x).
"""
from __future__ import annotations

import torch

from ..metrics.likelihood import importance_sampled_log_likelihood
from .base import Context, Experiment, Measured, Verdict, figure, save_figure

DIM, LATENT, NOISE_STD, WIDEN = 8, 2, 0.3, 2.0
KS = (1, 5, 50, 500, 5000)
LOOSE_MIN = 0.2     # mismatched encoder: L_1 at least this far (nats) below log p(x)
TIGHT_TOL = 0.02    # mismatched encoder: L_5000 within this of log p(x)
EXACT_TOL = 1e-6    # exact posterior: every L_k within this of log p(x)


def _model(seed: int):
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(DIM, LATENT, generator=g, dtype=torch.float64)
    mu = torch.randn(DIM, generator=g, dtype=torch.float64)
    return W, mu, g


def _log_normal(x, mean, cov):
    return torch.distributions.MultivariateNormal(mean, covariance_matrix=cov).log_prob(x)


def log_weights(W, mu, widen: float, g: torch.Generator):
    """log p(x, z_i) - log q(z_i | x) for k samples z_i ~ q(z | x): the exact posterior N(m(x), s^2 M^-1),
    M = W^T W + s^2 I, with its standard deviations multiplied by `widen` (1: exact)."""
    s2 = NOISE_STD ** 2
    cov = s2 * torch.linalg.inv(W.T @ W + s2 * torch.eye(LATENT, dtype=torch.float64))
    q_cov = cov if widen == 1.0 else torch.diag(torch.diag(cov)) * widen ** 2
    chol = torch.linalg.cholesky(q_cov)

    def fn(x: torch.Tensor, k: int) -> torch.Tensor:
        mean = (x - mu) @ W @ cov / s2                                   # (B, LATENT)
        z = mean[:, None] + torch.randn(x.shape[0], k, LATENT, generator=g, dtype=torch.float64) @ chol.T
        log_p = (_log_normal(z, torch.zeros(LATENT, dtype=torch.float64), torch.eye(LATENT, dtype=torch.float64))
                 + _log_normal(x[:, None], z @ W.T + mu, s2 * torch.eye(DIM, dtype=torch.float64)))
        return log_p - _log_normal(z, mean[:, None], q_cov)
    return fn


def measure(ctx: Context) -> Measured:
    W, mu, g = _model(ctx.seed)
    n = ctx.pick(200, 500)
    marginal = W @ W.T + NOISE_STD ** 2 * torch.eye(DIM, dtype=torch.float64)
    x = torch.distributions.MultivariateNormal(mu, covariance_matrix=marginal).sample((n,))
    log_p = float(_log_normal(x, mu, marginal).mean())
    rows = {}
    for name, widen in ctx.bar((("exact posterior", 1.0), ("mismatched encoder", WIDEN)), "encoders"):
        fn = log_weights(W, mu, widen, g)
        rows[name] = [{"k": k, "bound": float(importance_sampled_log_likelihood(fn, x, k=k).mean())} for k in KS]
    protocol = {"model": f"z ~ N(0, I_{LATENT}), x | z ~ N(W z + mu, {NOISE_STD}^2 I_{DIM}), W and mu N(0, 1), "
                         f"seed {ctx.seed}", "points": f"{n} drawn from the model", "exact": "log N(x; mu, W W^T + s^2 I)",
                "encoders": f"exact posterior; mismatched: its mean, diagonal covariance with {WIDEN:g}x its stds",
                "estimator": "genzoo.metrics.likelihood.importance_sampled_log_likelihood, mean over the points"}
    return Measured({"log_p": log_p, "ks": list(KS), "encoders": rows, "points": n}, protocol)


def check(numbers: dict) -> Verdict:
    log_p = numbers["log_p"]
    loose = [r["bound"] for r in numbers["encoders"]["mismatched encoder"]]
    exact = [r["bound"] for r in numbers["encoders"]["exact posterior"]]
    rises = all(b > a for a, b in zip(loose, loose[1:]) if log_p - a > TIGHT_TOL)   # until noise level
    exact_err = max(abs(b - log_p) for b in exact)
    ok = rises and log_p - loose[0] > LOOSE_MIN and abs(loose[-1] - log_p) < TIGHT_TOL and exact_err < EXACT_TOL
    return Verdict(bool(ok), f"mismatched encoder: L_k rises with each step of k while it is more than {TIGHT_TOL} below log p(x), L_1 is more than {LOOSE_MIN} nats "
                             f"below log p(x) and L_{KS[-1]} within {TIGHT_TOL}; exact posterior: every L_k within "
                             f"{EXACT_TOL:g} of log p(x)",
                   f"log p(x) = {log_p:.4f}; mismatched: L_1 = {loose[0]:.4f}, L_{KS[2]} = {loose[2]:.4f}, "
                   f"L_{KS[-1]} = {loose[-1]:.4f}; exact posterior: largest |L_k - log p| {exact_err:.1e} nats")


def plot(numbers: dict, images: dict, path) -> None:
    fig, axes = figure(2, CLAIM, check(numbers))
    ks, log_p = numbers["ks"], numbers["log_p"]
    ax = axes[0][0]
    for (name, rows), (color, mark) in zip(numbers["encoders"].items(), (("#2ca02c", "s"), ("#d62728", "o"))):
        ax.plot(ks, [r["bound"] for r in rows], mark + "-", color=color, label=f"L_k, {name}")
    ax.axhline(log_p, color="k", ls="--", label="exact log p(x)")
    ax.set(xscale="log", xlabel="importance samples k", ylabel="mean bound (nats)", title="the bound and the truth")
    ax.legend()
    ax = axes[0][1]
    gap = [max(log_p - r["bound"], 1e-6) for r in numbers["encoders"]["mismatched encoder"]]
    ax.plot(ks, gap, "o-", color="#d62728")
    ax.set(xscale="log", yscale="log", xlabel="importance samples k", ylabel="log p(x) - L_k (nats)",
           title="gap of the mismatched encoder")
    save_figure(fig, path)


CLAIM = ("The importance-weighted bound tightens towards log p(x) as the number of samples k grows; "
         "with the exact posterior it is tight already at k = 1")
EXPERIMENT = Experiment("iwae-bound", CLAIM, "notes", "Variational auto-encoder (VAE)", measure, check, plot)
