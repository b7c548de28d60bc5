"""DBM 784-500-1000 on binarized MNIST: variational lower bound on the test log-likelihood (AIS for
log Z) beside Salakhutdinov & Hinton (2009), and linear-probe test error of the mean-field features.

    python benchmarks/dbm_mnist.py                      # long run
    python benchmarks/dbm_mnist.py --pretrain-steps 100 --steps 100 --ais-betas 500 --ais-runs 20 \
        --test-n 1000 --probe-n 2000                   # a check that the script works

Protocol: greedy layer-wise pretraining of the tied-copy RBMs (bottom: input doubled, top: the
downward input doubled), then Algorithm 20.1 (mean field, 100 persistent chains with 5 Gibbs
sweeps per update). Evaluation: log Z by AIS on the (v, h2) chain with h1 summed out, from the
base-rate model, 14,500 inverse temperatures, M = 100 runs; the test lower bound
log p(v) >= -E(v, mu) + H(mu) - log Z with mean field run to convergence, on the test images
binarized once stochastically (fixed seed). Salakhutdinov & Hinton 2009 report -84.62 for this
DBM (the test bound) after 300,000 weight updates; our budget is printed next to our number.
Features: the mean-field posteriors [mu1, mu2] (1,500 dimensions); a logistic regression
(scikit-learn) trained on them vs on raw pixels. (The paper's 0.95% error comes from
fine-tuning the DBM-initialized network discriminatively, which a linear probe does not do.)
The curve: the same bound at the end of pretraining and at --curve-points - 1 evenly spaced steps of
Algorithm 20.1 in the one run, against the CPU time training had used by then (the points before the
last are taken on the way, before the learning rate has decayed to zero).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from common import (PrintMetrics, Snapshots, add_likelihood_args, hardware_line, likelihood_args, likelihood_setup,
                    print_log_z, scored_snapshots, train_timed)
from genzoo.metrics.ais import ais_log_z, dbm_lower_bound
from genzoo.presets import resolve
from genzoo.training import Hook
from result_files import write_result

PAPER_BOUND = -84.62   # Salakhutdinov & Hinton 2009, 2-layer DBM 784-500-1000, test set


class PhaseTimes(Hook):
    """Wall-clock seconds of each training phase: the pretraining of each layer, then the DBM."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def on_start(self, trainer) -> None:
        self._last = time.perf_counter()

    def on_step_end(self, trainer, values: dict[str, float]) -> None:
        phase = f"pretrain layer {int(values['pretrain_layer'])}" if values["pretrain_layer"] else "DBM"
        now = time.perf_counter()
        self.seconds[phase] = self.seconds.get(phase, 0.0) + now - self._last
        self._last = now


def probe_error(f_train, y_train, f_test, y_test, seed: int) -> float:
    """Test error (%) of a multinomial logistic regression on standardized features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, C=0.1, random_state=seed))
    clf.fit(f_train, y_train)
    return 100.0 * (1.0 - clf.score(f_test, y_test))


def check_log_z(model, x_train, x_test, args, device) -> dict:
    """The trained model's log Z by AIS again, with args.check_betas temperatures and new runs, and the test
    bound under it: AIS underestimates log Z when its chain anneals too fast, so a higher estimate with more
    temperatures means the first was too low and the bound too high."""
    if not args.check_betas:
        return {}
    ais = ais_log_z(model, data=x_train, betas=args.check_betas, n_runs=args.ais_runs,
                    generator=torch.Generator(device=device).manual_seed(args.seed + 2))
    bound = dbm_lower_bound(model, x_test, ais)
    print(f"check: log Z with {ais.n_betas:,} temperatures {ais.log_z:.2f} (std log w {ais.log_w_std:.2f}), "
          f"test bound {bound:.2f}", flush=True)
    return {"check_betas": ais.n_betas, "check_log_z": round(ais.log_z, 2),
            "check_log_w_std": round(ais.log_w_std, 2), "check_test_bound": round(bound, 2)}


def raise_check(model, x_train, x_test, ais, args, device) -> dict:
    """RAISE (genzoo.metrics.bdmc) on the first args.raise_n test images with args.ais_betas temperatures: a
    conservative estimate of log p(v) itself, beside the variational bound (forward AIS's log Z) on the same
    images. The bound sits below log p(v) by the mean-field gap and above its true value by AIS's error in log Z."""
    from genzoo.metrics.bdmc import raise_log_likelihood

    if not args.raise_n:
        return {}
    sub = x_test[:args.raise_n]
    est = raise_log_likelihood(model, sub, data=x_train, betas=args.ais_betas, batch=500,
                               generator=torch.Generator(device=device).manual_seed(args.seed + 3))
    bound = dbm_lower_bound(model, sub, ais)
    print(f"RAISE on {len(sub)} test images: {est.log_likelihood:.2f} (conservative), the bound there {bound:.2f}",
          flush=True)
    return {"raise_ll": round(est.log_likelihood, 2), "raise_n": len(sub), "raise_bound": round(bound, 2)}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, nargs="+", default=[500, 1000])
    p.add_argument("--pretrain-steps", type=int, default=30000, help="CD steps per layer RBM")
    p.add_argument("--steps", type=int, default=60000, help="Algorithm 20.1 steps after pretraining")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--pretrain-lr", type=float, default=0.05)
    p.add_argument("--pretrain-cd-k", type=int, default=1)
    p.add_argument("--lr", type=float, default=0.005)
    p.add_argument("--gibbs-steps", type=int, default=5)
    p.add_argument("--mf-steps", type=int, default=10)
    p.add_argument("--num-chains", type=int, default=100)
    p.add_argument("--ais-runs", type=int, default=100)
    p.add_argument("--ais-betas", type=int, default=14500)
    p.add_argument("--curve-points", type=int, default=6,
                   help="points of the curve: the end of pretraining, then evenly over Algorithm 20.1's steps")
    p.add_argument("--check-betas", type=int, default=58000,
                   help="a second AIS estimate of the trained model's log Z with this many temperatures (0: none)")
    p.add_argument("--raise-n", type=int, default=100,
                   help="test images for RAISE, a conservative estimate of log p(v) beside the bound (0: none)")
    p.add_argument("--keep-model", help="save the trained DBM's tensors here (safetensors)")
    p.add_argument("--test-n", type=int, default=None, help="test images for the bound (default all)")
    p.add_argument("--probe-n", type=int, default=10000, help="training images for the linear probe")
    add_likelihood_args(p, out="benchmarks/results/dbm_mnist.json")
    return p


def dbm_config(args, n_train: int):
    """The `dbm` preset with this command's pretraining, Algorithm 20.1 and SGD settings."""
    warm = min(5 * n_train // args.batch_size, max(args.pretrain_steps, 1) // 4)
    total = len(args.hidden) * args.pretrain_steps + args.steps
    sgd = {"name": "sgd", "momentum": 0.9, "weight_decay": 2e-4}
    overrides = {"train.seed": args.seed, "train.device": args.device, "train.steps": total,
                 "train.batch_size": args.batch_size, "train.log_every": args.log_every, "data.root": args.data_root,
                 "model.hidden": list(args.hidden), "model.pretrain_steps": args.pretrain_steps,
                 "model.pretrain_cd_k": args.pretrain_cd_k, "model.pretrain_optim": {**sgd, "lr": args.pretrain_lr},
                 "model.optim": {**sgd, "lr": args.lr}, "model.initial_momentum": 0.5,
                 "model.momentum_warmup_steps": warm, "model.gibbs_steps": args.gibbs_steps,
                 "model.mf_steps": args.mf_steps, "model.num_chains": args.num_chains}
    return resolve("dbm", overrides=overrides)


def probe_errors(model, train, test, x_train, args, device) -> tuple[int, float, float]:
    """The linear probe's test error on the DBM's mean-field posteriors and on raw pixels, and its training images."""
    n = min(args.probe_n, len(x_train))
    f_train = model.hidden_features(x_train[:n]).cpu().numpy()
    f_test = model.hidden_features((test.x.float() / 255).to(device)).cpu().numpy()
    y_train, y_test = train.y[:n].numpy(), test.y.numpy()
    err_dbm = probe_error(f_train, y_train, f_test, y_test, args.seed)
    err_pix = probe_error(train.x[:n].reshape(n, -1).float().numpy() / 255, y_train,
                          test.x.reshape(len(test), -1).float().numpy() / 255, y_test, args.seed)
    return n, err_dbm, err_pix


def dbm_protocol(args, train, n_test: int, n_probe: int) -> str:
    return (f"DBM {'-'.join(map(str, [train.x[0].numel(), *args.hidden]))} on dynamically binarized MNIST "
            f"({train.source}): greedy pretraining with doubled-weight RBMs (CD-{args.pretrain_cd_k}, "
            f"{args.pretrain_steps:,} steps per layer, lr {args.pretrain_lr}), then {args.steps:,} steps of "
            f"Algorithm 20.1 (mean field with {args.mf_steps} iterations, {args.num_chains} persistent chains, "
            f"{args.gibbs_steps} Gibbs sweeps, SGD lr {args.lr} decayed as `genzoo train` does), batch "
            f"{args.batch_size}, {args.threads} CPU thread(s), seed {args.seed}; the variational lower bound on "
            f"log p(v) with log Z by AIS ({args.ais_betas:,} inverse temperatures, {args.ais_runs} runs) over "
            f"{n_test:,} test images "
            f"binarized once (seed 1234)" + (f"; as a check, log Z again by AIS with {args.check_betas:,} "
                                        "temperatures and new runs" if args.check_betas else "") +
            f"; a logistic-regression probe on the mean-field posteriors of {n_probe:,} "
            "training images, scored on the 10,000 test images")


def print_report(args, values: dict, ais, n_test: int, n_probe: int, epochs: float, train_time: float,
                 phase_t: dict, device) -> None:
    print_log_z(ais, args)
    print(f"test lower bound  ({n_test} images): {values['bound_test']:8.2f} nats   paper: {PAPER_BOUND:.2f}")
    print(f"train lower bound ({n_test} images): {values['bound_train']:8.2f} nats")
    print(f"logistic regression on {n_probe} training images, test error: DBM mean-field features "
          f"{values['err_dbm']:.2f}%, raw pixels {values['err_pix']:.2f}%")
    print(f"budget: {len(args.hidden)} x {args.pretrain_steps} pretraining + {args.steps} DBM steps of {args.batch_size} "
          f"({epochs:.0f} epochs), training {train_time:.0f}s "
          f"({', '.join(f'{k} {v:.0f}s' for k, v in phase_t.items())}), AIS {values['ais_time']:.0f}s, "
          f"on {hardware_line(device)}")


def main(argv=None) -> dict:
    args = likelihood_args(parser(), argv, 2, "the end of pretraining and the end")
    device, (train, test), x_train, x_test, g = likelihood_setup(args)
    cfg = dbm_config(args, len(x_train))
    print(f"training DBM {'-'.join(map(str, [train.x[0].numel(), *args.hidden]))}: {args.pretrain_steps} pretraining "
          f"steps per layer, then {args.steps} steps of Algorithm 20.1, batches of {args.batch_size}, "
          f"on {hardware_line(device)}")
    phases, pretrained = PhaseTimes(), len(args.hidden) * args.pretrain_steps
    snapshots = Snapshots(pretrained + args.steps * i // (args.curve_points - 1) for i in range(args.curve_points))
    timed = train_timed(cfg, hooks=[phases, snapshots, PrintMetrics()], log=lambda *_: None)  # genzoo train's loop
    model, train_time, phase_t = timed.model.eval(), timed.wall_seconds, phases.seconds

    # the last snapshot is the trained model
    curve, ais, ais_time = scored_snapshots(
        model, snapshots, x_train, betas=args.ais_betas, runs=args.ais_runs, seed=args.seed + 1,
        measure=lambda m, ais: dbm_lower_bound(m, x_test, ais), name="test_bound",
        first=lambda step: {"dbm_steps": step - pretrained, "epochs": round(step * args.batch_size / len(x_train), 1)})
    bound_test = curve[pretrained + args.steps]["test_bound"]
    check = check_log_z(model, x_train, x_test, args, device)
    check.update(raise_check(model, x_train, x_test, ais, args, device))
    if args.keep_model:
        from safetensors.torch import save_file
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, args.keep_model)
    x_train_bin = torch.bernoulli(x_train[: len(x_test)].cpu(), generator=g).to(device)
    bound_train = dbm_lower_bound(model, x_train_bin, ais)
    n, err_dbm, err_pix = probe_errors(model, train, test, x_train, args, device)

    epochs = cfg.train.steps * args.batch_size / len(x_train)
    result = {
        "benchmark": "dbm_mnist", "protocol": dbm_protocol(args, train, len(x_test), n),
        "values": {"epochs": round(epochs), "test_bound": round(bound_test, 2), "train_bound": round(bound_train, 2),
                   "log_z": round(ais.log_z, 2), "log_w_std": round(ais.log_w_std, 2),
                   "log_z_hi": round(ais.log_z_high, 2), "train_minutes": round(train_time / 60),
                   "probe_dbm": round(err_dbm, 2), "probe_pixels": round(err_pix, 2),
                   "phase_seconds": {k: round(v, 1) for k, v in phase_t.items()}, "ais_s": round(ais_time),
                   "curve": curve, **check},
        "ais": ais.to_dict(), "paper": "Salakhutdinov & Hinton 2009 (DBM 784-500-1000: test bound -84.62)",
    }
    print_report(args, {"bound_test": bound_test, "bound_train": bound_train, "err_dbm": err_dbm, "err_pix": err_pix,
                        "ais_time": ais_time}, ais, len(x_test), n, epochs, train_time, phase_t, device)
    if args.out:
        print(f"wrote {write_result(args.out, result, device=device)}")
        from genzoo.runs import save_samples  # Gibbs samples of this DBM, beside the JSON
        grid = save_samples(model, Path(args.out).with_suffix(".gibbs-samples.png"), 64, seed=args.seed)
        print(f"Gibbs samples ({model.cfg.sample_steps} sweeps, started from the visible biases): {grid}")
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
