"""RBM-500 on binarized MNIST: test log-likelihood by AIS, beside Salakhutdinov & Murray (2008).

    python benchmarks/rbm_mnist.py                       # CD-25, the paper's setting (long)
    python benchmarks/rbm_mnist.py --steps 200 --ais-betas 500 --ais-runs 20 --test-n 1000   # a check
    python benchmarks/rbm_mnist.py --keep-model rbm.safetensors                 # keep the trained RBM
    python benchmarks/rbm_mnist.py --load-model rbm.safetensors                 # re-bracket it, no training

Protocol (Salakhutdinov & Murray 2008, "On the quantitative analysis of deep belief networks"):
500 hidden units; the test images binarized once, stochastically (pixel ~ Bernoulli(intensity),
fixed seed); log Z by AIS from the base-rate model (visible biases from the training data's
marginals), 14,500 inverse temperatures (0-0.5: 500, 0.5-0.9: 4,000, 0.9-1: 10,000), M = 100
runs; the reported test log-likelihood is mean(-F(v)) - log Z. The paper: CD-25(500) -86.34,
CD-3 -106.63, CD-1 -125.53 (nats). Our training budget is printed with the result; the paper's
RBMs trained for far longer, so short runs land well below it. The curve: the same AIS estimate at
--curve-points evenly spaced steps of the one run, against the CPU time training had used by then
(the points before the last are taken on the way, before the learning rate has decayed to zero).

The bracket: forward AIS underestimates log Z in expectation, so its test log-likelihood is optimistic;
RAISE (Burda, Grosse & Salakhutdinov 2015: the same anneal run in reverse from test images) is
conservative (see genzoo.metrics.bdmc). Both run at --bracket-betas temperatures until forward AIS's
log Z moves by less than 0.1 nats (the log Z convergence curve); RAISE on the first --raise-n test
images gives the log Z it implies, and mean(-F) - that log Z over the whole test set is the bracket's
conservative end. The row claims to beat the paper only if that end does. --load-model recomputes the
bracket of a kept RBM and writes it into the existing result file, keeping the training run's numbers.

Training is `genzoo train rbm`'s (common.train_timed: the same trainer, data order, dynamic
binarization and precision), with the base-rate biases computed from the whole training set.
"""
from __future__ import annotations

import argparse
import sys

import torch

from common import (PrintMetrics, Snapshots, add_bracket_args, add_likelihood_args, hardware_line, likelihood_args,
                    likelihood_setup, print_log_z, rbm_bracket, scored_snapshots, train_timed)
from genzoo.metrics.ais import rbm_log_likelihood
from genzoo.presets import resolve
from genzoo.training import Hook
from result_files import write_result


class WholeSetStatistics(Hook):
    """Before the first step: the model's data statistics (base-rate visible biases) from all of `x`."""

    def __init__(self, x: torch.Tensor):
        self.x = x

    def on_start(self, trainer) -> None:
        trainer.model.set_data_statistics(self.x)


PAPER = {25: -86.34, 3: -106.63, 1: -125.53}   # Salakhutdinov & Murray 2008, Table 1, CD-k RBMs with 500 units


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=60000, help="training steps (minibatches of --batch-size)")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--hidden", type=int, default=500)
    p.add_argument("--cd-k", type=int, default=25)
    p.add_argument("--persistent", action="store_true", help="PCD instead of CD")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=2e-4)
    p.add_argument("--ais-runs", type=int, default=100)
    p.add_argument("--ais-betas", type=int, default=14500)
    p.add_argument("--curve-points", type=int, default=6, help="points of the curve over training (the last: the end)")
    p.add_argument("--test-n", type=int, default=None, help="test images to evaluate (default all)")
    p.add_argument("--keep-model", help="save the trained RBM's tensors here (safetensors)")
    p.add_argument("--load-model", help="bracket the RBM saved here by --keep-model (same --hidden), without training, "
                                        "and add the bracket to the existing result file")
    add_bracket_args(p)
    add_likelihood_args(p, out="benchmarks/results/rbm_mnist.json")
    return p


def rbm_config(args, n_train: int):
    """The `rbm` preset with this command's CD and SGD settings."""
    overrides = {"train.seed": args.seed, "train.device": args.device, "train.steps": args.steps,
                 "train.batch_size": args.batch_size, "train.log_every": args.log_every, "data.root": args.data_root,
                 "model.hidden": args.hidden, "model.cd_k": args.cd_k, "model.persistent": args.persistent,
                 "model.num_chains": args.batch_size, "model.optim.lr": args.lr, "model.optim.momentum": args.momentum,
                 "model.optim.weight_decay": args.weight_decay, "model.initial_momentum": 0.5,
                 "model.momentum_warmup_steps": min(5 * n_train // args.batch_size, args.steps // 4)}
    return resolve("rbm", overrides=overrides)


def rbm_protocol(args, method: str, source: str, epochs: float, n_test: int) -> str:
    return (f"RBM with {args.hidden} hidden units, {method} on dynamically binarized MNIST ({source}); "
            f"SGD lr {args.lr} (decayed as `genzoo train` does), momentum {args.momentum}, weight decay "
            f"{args.weight_decay}, batch {args.batch_size}, {args.steps:,} steps ({epochs:.0f} epochs), "
            f"{args.threads} CPU thread(s), seed "
            f"{args.seed}; log Z by AIS from the base-rate model with {args.ais_betas:,} inverse temperatures "
            f"and {args.ais_runs} runs; the test images binarized once (seed 1234); test log-likelihood = "
            f"mean(-F(v)) - log Z over {n_test:,} test images")


def main(argv=None) -> dict:
    args = likelihood_args(parser(), argv, 1, "the end of the run")
    device, (train, _), x_train, x_test, g = likelihood_setup(args)
    cfg = rbm_config(args, len(x_train))
    if args.load_model:
        return rebracket(cfg, train, x_train, x_test, args, device)

    method = f"{'PCD' if args.persistent else 'CD'}-{args.cd_k}"
    print(f"training RBM {train.shape} -> {args.hidden} with {method}, {args.steps} steps of {args.batch_size} "
          f"on {hardware_line(device)}")
    # genzoo train's loop (its data order, dynamic binarization and precision), with base-rate visible
    # biases from the whole training set rather than from the first batch
    snapshots = Snapshots(args.steps * i // args.curve_points for i in range(1, args.curve_points + 1))
    timed = train_timed(cfg, hooks=[WholeSetStatistics(x_train), snapshots, PrintMetrics()], log=lambda *_: None)
    model, train_time = timed.model.eval(), timed.wall_seconds
    if args.keep_model:
        from safetensors.torch import save_file
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, args.keep_model)

    # the last snapshot is the trained model
    curve, ais, ais_time = scored_snapshots(
        model, snapshots, x_train, betas=args.ais_betas, runs=args.ais_runs, seed=args.seed + 1,
        measure=lambda m, ais: rbm_log_likelihood(m, x_test, ais), name="test_ll",
        first=lambda step: {"epochs": round(step * args.batch_size / len(x_train), 1)})
    ll_test = curve[args.steps]["test_ll"]
    x_train_bin = torch.bernoulli(x_train[: len(x_test)].cpu(), generator=g).to(device)
    ll_train = rbm_log_likelihood(model, x_train_bin, ais)

    bracket = rbm_bracket(model, x_train, x_test, args, PAPER.get(args.cd_k, PAPER[25]))
    epochs = args.steps * args.batch_size / len(x_train)
    result = {
        "benchmark": "rbm_mnist", "protocol": rbm_protocol(args, method, train.source, epochs, len(x_test)),
        "values": {"method": method, "epochs": round(epochs, 1), "test_ll": round(ll_test, 2),
                   "train_ll": round(ll_train, 2), "log_z": round(ais.log_z, 2), "log_w_std": round(ais.log_w_std, 2),
                   "log_z_hi": round(ais.log_z_high, 2), "ais_s": round(ais_time), "train_minutes": round(train_time / 60),
                   "steps": args.steps, "batch_size": args.batch_size, "test_n": len(x_test), "curve": curve,
                   **bracket},
        "ais": ais.to_dict(), "paper": "Salakhutdinov & Murray 2008, Table 1 (CD-25(500): -86.34)",
    }
    print_log_z(ais, args)
    print(f"test log-likelihood  ({len(x_test)} images): {ll_test:8.2f} nats   "
          f"paper ({method if args.cd_k in PAPER else 'CD-25'}(500)): {PAPER.get(args.cd_k, PAPER[25]):.2f}")
    print(f"train log-likelihood ({len(x_test)} images): {ll_train:8.2f} nats")
    print_bracket(bracket)
    print(f"budget: {args.steps} steps x {args.batch_size} = {epochs:.2f} epochs, training {train_time:.0f}s, "
          f"AIS {ais_time:.0f}s, on {hardware_line(device)}")
    if args.out:
        print(f"wrote {write_result(args.out, result, device=device)}")
    return result


def print_bracket(bracket: dict) -> None:
    if bracket:
        print(f"bracket ({bracket['bracket_betas']:,} temperatures, RAISE on {bracket['raise_n']} images): "
              f"[{bracket['bracket_low']:.2f}, {bracket['bracket_high']:.2f}]; it {bracket['verdict']}")


def rebracket(cfg, train, x_train, x_test, args, device) -> dict:
    """The bracket of the RBM saved at args.load_model, added to the result file's values."""
    import json
    from pathlib import Path

    from safetensors.torch import load_file

    from genzoo.training.data import data_spec
    from genzoo.runs.build import build_model

    model = build_model(cfg, data_spec(train), device)
    model.load_state_dict(load_file(args.load_model, device=str(device)))
    bracket = rbm_bracket(model.eval(), x_train, x_test, args, PAPER.get(args.cd_k, PAPER[25]))
    print_bracket(bracket)
    path = Path(args.out) if args.out else None
    result = json.loads(path.read_text()) if path and path.exists() else {"benchmark": "rbm_mnist", "values": {}}
    result["values"].update(bracket)
    result["training_command"] = result.get("training_command", result.get("command"))   # "command": this one
    if path:
        kept = {k: v for k, v in result.items() if k not in ("hardware", "environment", "command")}
        print(f"wrote {write_result(path, kept, device=device)}")
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
