"""DBM 784-500-1000 on binarized MNIST: variational lower bound on the test log-likelihood (AIS for log Z) beside
Salakhutdinov & Hinton (2009), and linear-probe test error of the mean-field features.

    python benchmarks/run.py dbm_mnist --data-root DIR                # long run
    python benchmarks/run.py dbm_mnist --set model.pretrain_steps=100 --set train.steps=300 \\
        --setting ais_betas=500 --setting ais_runs=20 --setting test_n=1000 --setting probe_n=2000 \\
        --setting check_betas=0 --setting bracket_betas=[100,300] --setting raise_n=20 --out ''   # a check (steps: 2 x 100 + 100)

Protocol: greedy layer-wise pretraining of the tied-copy RBMs (bottom: input doubled, top: the downward input
doubled), 30,000 CD-1 steps each, then 60,000 steps of Algorithm 20.1 (mean field, 100 persistent chains with 5
Gibbs sweeps per update). Evaluation: log Z by AIS on the (v, h2) chain with h1 summed out, from the base-rate
model, 14,500 inverse temperatures, M = 100 runs; the test lower bound log p(v) >= -E(v, mu) + H(mu) - log Z
with mean field run to convergence, on the test images binarized once stochastically (fixed seed).
Salakhutdinov & Hinton 2009 report -84.62 for this DBM (the test bound) after 300,000 weight updates.
Features: the mean-field posteriors [mu1, mu2] (1,500 dimensions); a logistic regression (scikit-learn) trained
on them vs on raw pixels. The curve: the same bound at the end of pretraining and at curve_points - 1 evenly
spaced steps of Algorithm 20.1 in the one run, against the CPU time training had used by then.
"""
from __future__ import annotations

from functools import partial

from measures_boltzmann import likelihood_result
from spec import Row, Spec, Stop

HIDDEN, PRETRAIN_STEPS, STEPS, BATCH = [500, 1000], 30000, 60000, 100
SGD = {"name": "sgd", "momentum": 0.9, "weight_decay": 2e-4}
OVERRIDES = {"train.batch_size": BATCH, "model.hidden": HIDDEN, "model.pretrain_steps": PRETRAIN_STEPS,
             "model.pretrain_cd_k": 1, "model.pretrain_optim": {**SGD, "lr": 0.05}, "model.optim": {**SGD, "lr": 0.005},
             "model.initial_momentum": 0.5,
             # min(5 epochs of MNIST's 60,000 images, a quarter of a layer's pretraining)
             "model.momentum_warmup_steps": min(5 * 60000 // BATCH, PRETRAIN_STEPS // 4),
             "model.gibbs_steps": 5, "model.mf_steps": 10, "model.num_chains": 100}
VALUES = ("epochs", "test_bound", "train_bound", "log_z", "log_w_std", "log_z_hi", "train_minutes", "probe_dbm",
          "probe_pixels", "phase_seconds", "ais_s", "curve")
CHECKS = ("check_betas", "check_log_z", "check_log_w_std", "check_test_bound", "raise_ll", "raise_n", "raise_bound",
          "log_z_curve", "bracket_betas", "bracket_moved", "bracket_ais_ll", "bracket_raise_ll")


SPEC = Spec("dbm_mnist", "benchmarks/results/dbm_mnist.json", layout="values", threads=1,
            shared={"train.log_every": 1000},
            rows=(Row("dbm", "dbm", overrides=OVERRIDES, stop=Stop(steps=len(HIDDEN) * PRETRAIN_STEPS + STEPS),
                      metrics=("dbm_ais",)),),
            settings={"ais_betas": 14500, "ais_runs": 100, "curve_points": 6, "test_n": None, "check_betas": 58000,
                      "raise_n": 100, "probe_n": 10000, "bracket_betas": [1000, 3000, 10000, 30000, 100000]},
            result=partial(likelihood_result, "dbm_mnist", "dbm", VALUES, CHECKS,
                           "Salakhutdinov & Hinton 2009 (DBM 784-500-1000: test bound -84.62)"))
