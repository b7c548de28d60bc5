"""RBM-500 on binarized MNIST: test log-likelihood by AIS, beside Salakhutdinov & Murray (2008).

    python benchmarks/run.py rbm_mnist --data-root DIR                    # CD-25, the paper's setting (long)
    python benchmarks/run.py rbm_mnist --set train.steps=200 --setting ais_betas=500 --setting ais_runs=20 \\
        --setting test_n=1000 --setting bracket_betas=[] --out ''             # a check

Protocol (Salakhutdinov & Murray 2008, "On the quantitative analysis of deep belief networks"): 500 hidden
units; the test images binarized once, stochastically (pixel ~ Bernoulli(intensity), fixed seed); log Z by AIS
from the base-rate model (visible biases from the training data's marginals), 14,500 inverse temperatures, M =
100 runs; the reported test log-likelihood is mean(-F(v)) - log Z. The paper: CD-25(500) -86.34, CD-3 -106.63,
CD-1 -125.53 (nats). The paper's RBMs trained for far longer, so short runs land well below it. The curve: the
same AIS estimate at curve_points evenly spaced steps of the one run, against the CPU time training had used
by then. The bracket: forward AIS (optimistic) and RAISE (conservative) at bracket_betas temperatures until log Z
moves by less than 0.1 nats; the row claims to beat the paper only if the conservative end does
(measures_boltzmann, common.rbm_bracket). Training is `genzoo train rbm`'s loop, with the base-rate biases
computed from the whole training set.
"""
from __future__ import annotations

from functools import partial

from measures_boltzmann import likelihood_result
from spec import Row, Spec, Stop

STEPS, BATCH = 60000, 100
SGD = {"model.optim.lr": 0.05, "model.optim.momentum": 0.9, "model.optim.weight_decay": 2e-4}
OVERRIDES = {"train.batch_size": BATCH, "model.hidden": 500, "model.cd_k": 25, "model.persistent": False,
             "model.num_chains": BATCH, **SGD, "model.initial_momentum": 0.5,
             # min(5 epochs of MNIST's 60,000 images, a quarter of the steps)
             "model.momentum_warmup_steps": min(5 * 60000 // BATCH, STEPS // 4)}


VALUES = ("method", "epochs", "test_ll", "train_ll", "log_z", "log_w_std", "log_z_hi", "ais_s", "train_minutes",
          "steps", "batch_size", "test_n", "curve")
BRACKET = ("log_z_curve", "bracket_betas", "bracket_moved", "bracket_low", "bracket_high", "raise_n", "verdict")


SPEC = Spec("rbm_mnist", "benchmarks/results/rbm_mnist.json", layout="values", threads=1,
            shared={"train.log_every": 1000},
            rows=(Row("rbm", "rbm", overrides=OVERRIDES, stop=Stop(steps=STEPS), metrics=("rbm_ais",)),),
            settings={"ais_betas": 14500, "ais_runs": 100, "curve_points": 6, "test_n": None,
                      "bracket_betas": [1000, 3000, 10000, 30000], "raise_n": 100},
            result=partial(likelihood_result, "rbm_mnist", "rbm", VALUES, BRACKET,
                           "Salakhutdinov & Murray 2008, Table 1 (CD-25(500): -86.34)"))
