"""VAE test NLL on MNIST by importance sampling (k = 5000), beside Burda et al. (2016).

    python benchmarks/run.py vae_nll --data-root DIR                 # 30 CPU-minutes of training, full protocol
    python benchmarks/run.py vae_nll --set train.time_budget=120cpu --setting test_n=500 --setting k=500 --out ''
    python benchmarks/run.py iwae_nll --data-root DIR                # the iwae preset, same budget and estimator

Protocol (stated with the result):
- data: MNIST (IDX files) 60,000 training images, dynamically binarized at every step (the VAE's
  `binarize: dynamic`); test: the 10,000 test images, each binarized ONCE by sampling x ~ Bernoulli(intensity)
  with a fixed generator seed (1234), so every model is scored on the same binary test set;
- estimator: log p(x) ~= logsumexp_i log w_i - log k, w_i = p(x, z_i) / q(z_i | x), z_i ~ q(z|x), k = 5000 per
  test image (genzoo.metrics.likelihood.importance_sampled_nll), NLL = -mean, nats;
- model: the `vae` preset with Burda's one-stochastic-layer network (two deterministic layers of 500 tanh units,
  50 latent units, objective elbo, k = 1, batch 100), written to vae_nll.json; the `iwae` spec trains the `iwae`
  preset as it stands (its nets, k = 50 and batch 20), written to iwae_nll.json;
- training budget: 30 CPU-minutes of `genzoo train`'s loop (train.time_budget=1800cpu, Adam 1e-3), the
  learning rate decayed linearly to 10 % over the last 30 % of the budget.

Reference: Burda, Grosse & Salakhutdinov 2016 (IWAE), Table 1, MNIST, one stochastic layer: VAE k=1 86.76,
VAE k=50 86.35, IWAE k=50 84.78 nats, after 3,280 epochs with a stepwise decaying rate, batch 20.
Recipe toward 86.35 with genzoo (the same networks; a GPU or a long CPU run):
    genzoo train vae --set model.hidden=[200,200] --set model.activation=tanh \\
        --set model.latent_dim=50 --set model.k=50 --batch-size 20 --epochs 3280 --set train.lr_schedule=burda
The `iwae` preset's test NLL along that schedule: benchmarks/iwae_curve.py.
"""
from __future__ import annotations

from spec import Row, Spec, Stop

PAPER = {"VAE k=1": 86.76, "VAE k=50": 86.35, "IWAE k=50": 84.78}
# what both rows share: the budget's learning-rate decay and the optimizer's rate
TRAINING = {"train.log_every": 1000, "train.lr_decay": 0.3, "train.lr_final": 0.1, "model.optim.lr": 1e-3}
# Burda et al.'s one stochastic layer, with 500-unit layers and the preset's batch of 100
NETWORK = {"train.batch_size": 100, "model.arch": "mlp", "model.latent_dim": 50, "model.hidden": [500, 500],
           "model.activation": "tanh", "model.likelihood": "bernoulli", "model.binarize": "dynamic",
           "model.objective": "elbo", "model.k": 1}
BUDGET = Stop(time_budget="1800cpu")


def result(rows: dict, settings: dict, records: dict) -> dict:
    """The file's values: the one row's numbers (the median over its seeds, the NLL's range and each seed's
    NLL), and each seed's run, which a later command for other seeds joins (`--seeds 1 2`)."""
    row = next(iter(rows.values()))
    runs = row["runs"]
    values = {key: row[key] for key in ("nll", "nll_se", "neg_elbo", "steps", "epochs", "train_minutes",
                                        "train_cpu_minutes", "eval_minutes", "n_seeds")}
    values["seeds"] = ", ".join(f"{r['nll']:.2f}" for r in runs)
    values["per_seed"] = "; ".join(f"seed {r['seed']}: {r['nll']:.2f} nats after {r['steps']:,} steps on {r['cpu']}"
                                   for r in runs)
    if "nll_range" in row:
        values["nll_range"] = row["nll_range"]
    protocol = runs[0]["protocol"].replace(f", seed {runs[0]['seed']};", f", seeds {', '.join(str(r['seed']) for r in runs)};") \
        if len(runs) > 1 else runs[0]["protocol"]
    return {"benchmark": "vae_nll", "protocol": protocol, "values": values, "estimator": runs[0]["estimator"],
            "paper": PAPER, "runs": runs}


SPEC = Spec("vae_nll", "benchmarks/results/vae_nll.json", layout="values", threads=1,
            rows=(Row("vae", "vae", overrides={**TRAINING, **NETWORK}, stop=BUDGET, metrics=("importance_nll",)),),
            settings={"k": 5000, "test_n": None}, result=result)
