"""The test likelihood of a VAE on binarized MNIST: the importance-sampled NLL (k samples per image) and the
test -ELBO, on the test images binarized once (common.binarized_once), as every likelihood model is scored.

Settings: k (importance samples per test image), test_n (test images; None: all 10,000).
"""
from __future__ import annotations

import time

import torch

from common import binarized_once, load_mnist
from measuring import Context, metric


def binarized_test(ctx: Context) -> tuple:
    """MNIST's splits and the first test_n test images binarized once, made once per command."""
    key = ("binarized mnist", ctx.root, ctx.settings["test_n"])
    if key not in ctx.memo:
        train, test = load_mnist(ctx.root)
        ctx.memo[key] = (train, test, binarized_once(test.x, ctx.settings["test_n"])[0])
    return ctx.memo[key]


def vae_description(ctx: Context, n_test: int) -> str:
    """The protocol of a VAE likelihood row: the network, the training and the estimator."""
    cfg = ctx.planned.config()
    m, t = cfg.model, cfg.train
    budget = f"{ctx.run.step:,} steps" if t.steps else f"time budget {t.time_budget}"
    if not t.steps and t.time_budget.endswith("cpu"):
        budget = f"{float(t.time_budget[:-3]) / 60:g} CPU-minutes"
    return (f"the {ctx.planned.row.preset} preset: a VAE with {m.latent_dim} latent units, "
            f"{'-'.join(map(str, [784, *m.hidden]))} {m.activation} encoder and decoder, Bernoulli likelihood, "
            f"objective {m.objective} (k={m.k}); dynamically binarized MNIST, Adam {m.optim.lr}, "
            f"batch {t.batch_size}, {budget} of training on {torch.get_num_threads()} CPU thread(s) (`genzoo train`'s loop, "
            f"the rate decayed linearly to {t.lr_final:.0%} over the last {t.lr_decay:.0%}), seed {t.seed}; test NLL "
            f"by importance sampling with k={ctx.settings['k']} samples per image over {n_test:,} test images "
            "binarized once (seed 1234)")


@metric("importance_nll")
def importance_nll(ctx: Context) -> dict:
    """The test -ELBO and the importance-sampled NLL of the run's VAE, with their protocol."""
    train, test, x_test = binarized_test(ctx)
    protocol = {"test": f"{test.source}, {len(x_test)} images, binarized once x ~ Bernoulli(intensity), "
                        "torch.Generator seed 1234",
                "train": f"{train.source}, {len(train)} images, dynamic binarization every step"}
    scored = test_nll(ctx.model, x_test, ctx.settings["k"], seed=ctx.planned.seed + 1, protocol=protocol)
    steps_per_epoch = len(train) // ctx.planned.config().train.batch_size   # as the trainer counts an epoch
    return {**scored, "epochs": round(ctx.run.step / steps_per_epoch, 1),
            "protocol": vae_description(ctx, len(x_test))}


def test_nll(model, x_test: torch.Tensor, k: int, seed: int, protocol: dict | None = None) -> dict:
    """The VAE's test -ELBO and importance-sampled NLL (k samples per image, nats), the NLL's standard error,
    the minutes it took and the estimator's protocol; the draws of q(z|x) start from torch.manual_seed(seed)."""
    from genzoo.metrics.likelihood import importance_sampled_nll

    model = model.eval()
    x_test = x_test.to(model.device)
    t1 = time.time()
    torch.manual_seed(seed)
    with torch.no_grad():
        elbo = torch.cat([model.elbo(x_test[i:i + 500]) for i in range(0, len(x_test), 500)]).mean().item()
    res = importance_sampled_nll(model.log_importance_weights, x_test, k=k, batch_size=100,
                                 chunk=max(1, min(500, k)), protocol=protocol)
    return {"nll": round(res.nll, 2), "nll_se": round(res.stderr, 2), "neg_elbo": round(-elbo, 2),
            "eval_minutes": round((time.time() - t1) / 60), "estimator": res.protocol}
