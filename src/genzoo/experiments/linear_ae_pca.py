"""A linear autoencoder learns PCA's subspace (Baldi & Hornik 1989); a nonlinear one reconstructs better.

The `linear-ae` preset (no hidden layer, identity activations, squared error) is trained by
genzoo.train on the whole training split at every step (the optimum, not minibatch noise). The
subspace it spans is the span of its decoder's weight columns; scipy's principal angles compare it
with the span of scikit-learn's PCA components (exact SVD). The `ae` preset with the same code size
and squared error, trained on minibatches, shows what a nonlinear code adds.
"""
from __future__ import annotations

import numpy as np
import torch

import genzoo

from ..data import load_dataset
from .base import Context, Experiment, Measured, Verdict, describe_source, figure, quiet_run_overrides, save_figure

MAX_ANGLE = 2.0         # degrees: every principal angle between the two subspaces below this


def _mse(model, x: torch.Tensor) -> float:
    """Squared error per pixel of an autoencoder's reconstructions of x (N, C, H, W) in [0, 1]."""
    with torch.no_grad():
        return float(model.reconstruction_loss(x)[0]) / x[0].numel()


def _check_given_run(run_dir, ds, k: int) -> None:
    """--run must be what the experiment would train: a linear-ae run with a code of k on images of ds's shape."""
    from ..errors import GenzooError
    from ..runs import RunDir

    record = RunDir.open(run_dir).record
    config = record["config"]
    name = config.get("name")
    latent = config.get("model", {}).get("latent_dim") if isinstance(config.get("model"), dict) else None
    shape = record["data_spec"].get("shape")
    if name != "linear-ae" or latent != k or list(shape or []) != list(ds.shape):
        raise GenzooError(f"linear-ae-pca takes a linear-ae run with model.latent_dim={k} on {ds.name} images of "
                          f"shape {tuple(ds.shape)}; '{run_dir}' is a {name} run with latent_dim={latent} on images "
                          f"of shape {tuple(shape or ())}. Train one with: genzoo train linear-ae --data {ds.name} "
                          f"--set model.latent_dim={k}")


def measure(ctx: Context) -> Measured:
    from scipy.linalg import subspace_angles
    from sklearn.decomposition import PCA

    dataset, k = ctx.pick("digits", "mnist5k"), ctx.pick(4, 10)
    ds = load_dataset(dataset)
    x = ds.x.float().div(255)
    flat = x.flatten(1).double().numpy()
    linear_sets = {**quiet_run_overrides(ctx.steps(2000, 3000), len(ds), ctx.seed), "data.name": dataset,
                   "model.latent_dim": k, "model.optim.lr": ctx.pick(1e-2, 3e-3)}
    deep_sets = {**quiet_run_overrides(ctx.steps(300, 3000), 256, ctx.seed), "data.name": dataset,
                 "model.latent_dim": k, "model.loss": "mse", "model.hidden": ctx.pick([128], [512, 256])}
    if ctx.run_dir:
        _check_given_run(ctx.run_dir, ds, k)
    runs = {}
    for name, preset, sets in ctx.bar([("linear", "linear-ae", linear_sets), ("nonlinear", "ae", deep_sets)], "runs"):
        runs[name] = genzoo.load(ctx.run_dir if ctx.run_dir and name == "linear" else ctx.train(preset, sets))
    w_dec = runs["linear"].decoder[0][0].weight.detach().double().numpy()       # (D, k)
    pca = PCA(k, svd_solver="full").fit(flat)
    angles = np.degrees(subspace_angles(w_dec, pca.components_.T))
    pca_mse = float(((pca.inverse_transform(pca.transform(flat)) - flat) ** 2).mean())
    numbers = {"components": k, "angles_deg": sorted(angles.tolist(), reverse=True),
               "max_angle_deg": float(angles.max()), "mse_pca": pca_mse,
               "mse_linear_ae": _mse(runs["linear"], x), "mse_nonlinear_ae": _mse(runs["nonlinear"], x)}
    protocol = {"data": f"{describe_source(ds.source)}, {ds.split} split, {len(ds)} images in [0, 1]",
                "linear": {"preset": "linear-ae", "overrides": linear_sets, "batch": "the whole split"},
                "nonlinear": {"preset": "ae", "overrides": deep_sets},
                "pca": "sklearn PCA(svd_solver='full')", "angles": "scipy.linalg.subspace_angles(decoder weight, "
                "PCA components)", "mse": "squared error per pixel on the training split"}
    return Measured(numbers, protocol)


def check(numbers: dict) -> Verdict:
    same = numbers["max_angle_deg"] < MAX_ANGLE
    better = numbers["mse_nonlinear_ae"] < numbers["mse_pca"]
    return Verdict(same and better, f"every principal angle between the linear AE's subspace and PCA's is below "
                                    f"{MAX_ANGLE} degrees, and the nonlinear AE's squared error is below PCA's",
                   f"largest principal angle {numbers['max_angle_deg']:.2f} deg over {numbers['components']} "
                   f"components; MSE per pixel PCA {numbers['mse_pca']:.5f}, linear AE "
                   f"{numbers['mse_linear_ae']:.5f}, nonlinear AE {numbers['mse_nonlinear_ae']:.5f}")


def plot(numbers: dict, images: dict, path) -> None:
    fig, axes = figure(2, CLAIM, check(numbers))
    ax = axes[0][0]
    k = numbers["components"]
    ax.bar(range(1, k + 1), numbers["angles_deg"], color="#1f77b4")
    ax.axhline(MAX_ANGLE, color="#d62728", ls="--", label=f"tolerance {MAX_ANGLE} deg")
    ax.set(title="linear AE vs PCA subspace", xlabel="principal angle (largest first)", ylabel="angle (degrees)")
    ax.legend()
    ax = axes[0][1]
    names = ["PCA", "linear AE", "nonlinear AE"]
    values = [numbers["mse_pca"], numbers["mse_linear_ae"], numbers["mse_nonlinear_ae"]]
    ax.bar(names, values, color=["0.5", "#1f77b4", "#2ca02c"])
    for i, v in enumerate(values):
        ax.text(i, v, f"{v:.4f}", ha="center", va="bottom")
    ax.set(title=f"reconstruction error, {k}-d code", ylabel="squared error per pixel")
    save_figure(fig, path)


CLAIM = ("A linear autoencoder spans the same subspace as PCA (\"this is just PCA\"); "
         "a nonlinear autoencoder with the same code size reconstructs better")
EXPERIMENT = Experiment("linear-ae-pca", CLAIM, "sun", "Autoencoder: \"This is just PCA!\", \"Non linear PCA\"",
                        measure, check, plot, uses_run="a linear-ae run (replaces the linear model)")
