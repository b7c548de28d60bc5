"""VAE test NLL on MNIST by importance sampling (k = 5000), beside Burda et al. (2016).

    python benchmarks/vae_nll.py                                  # 30 CPU-minutes of training, full protocol
    python benchmarks/vae_nll.py --minutes 2 --test-n 500 --k 500 # a quick check
    python benchmarks/vae_nll.py --preset iwae                    # the iwae preset, same budget and estimator

Protocol (stated with the result):
- data: MNIST (IDX files) 60,000 training images, dynamically binarized at every step
  (x ~ Bernoulli(pixel intensity), the VAE's `binarize: dynamic`); test: the 10,000 test images,
  each binarized ONCE by sampling x ~ Bernoulli(intensity) with a fixed generator seed (1234), so
  every model is scored on the same binary test set;
- estimator: log p(x) ~= logsumexp_i log w_i - log k, w_i = p(x, z_i) / q(z_i | x), z_i ~ q(z|x),
  k = 5000 per test image (genzoo.metrics.likelihood.importance_sampled_nll), NLL = -mean, nats;
- model: --preset vae (default) trains the `vae` preset with the network given by --hidden,
  --activation, --latent, --objective and --k-train (written to vae_nll.json); --preset iwae trains
  the `iwae` preset as it stands, its nets, k = 50 and batch 20 (written to iwae_nll.json);
- training budget: CPU minutes of `genzoo train vae --time-budget` (common.train_timed; Adam,
  batch 100) on --threads CPU threads (one by default, so that the budget reads the same on a busy
  machine), printed with the throughput; the learning rate decays linearly to 10 % over the last
  30 % of the budget (of --steps, when given).

Reference: Burda, Grosse & Salakhutdinov 2016 (IWAE), Table 1, MNIST, one stochastic layer (two
deterministic layers of 200 tanh units, 50 latent units): VAE k=1 86.76, VAE k=50 86.35,
IWAE k=50 84.78 nats, after sum_{i=0..7} 3^i = 3,280 epochs with lr 1e-3 * 10^(-i/7) during the
3^i epochs of stage i, batch 20, Adam (beta1 0.9, beta2 0.999, eps 1e-4).
Recipe toward 86.35 with genzoo (the same networks; a GPU or a long CPU run):
    genzoo train vae --set model.hidden=[200,200] --set model.activation=tanh \\
        --set model.latent_dim=50 --set model.k=50 --batch-size 20 --epochs 3280
(`model.k=50` averages the ELBO over 50 samples: Burda's "VAE, k = 50"; `genzoo train iwae`
trains the k = 50 IWAE bound, the 84.78 column); the paper's stepwise learning-rate decay is not
in the trainer (constant Adam 1e-3), which costs a little at the end.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # spinning OpenMP threads crawl on a shared CPU

import argparse  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

from common import PrintMetrics, binarized_once, hardware_line, load_mnist, train_timed  # noqa: E402
from genzoo.presets import resolve  # noqa: E402
from genzoo.training.checkpoint import save_checkpoint  # noqa: E402
from result_files import write_result  # noqa: E402

PAPER = {"VAE k=1": 86.76, "VAE k=50": 86.35, "IWAE k=50": 84.78}
RESULTS = {"vae": "benchmarks/results/vae_nll.json", "iwae": "benchmarks/results/iwae_nll.json"}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=30.0, help="training budget in CPU minutes of this process")
    p.add_argument("--steps", type=int, default=None, help="stop after this many steps instead (or earlier)")
    p.add_argument("--preset", default="vae", choices=["vae", "iwae"],
                   help="vae: the network of the options below; iwae: the iwae preset as it stands")
    p.add_argument("--batch-size", type=int, default=100, help="(--preset vae)")
    p.add_argument("--hidden", type=int, nargs="+", default=[500, 500])
    p.add_argument("--activation", default="tanh")
    p.add_argument("--latent", type=int, default=50)
    p.add_argument("--objective", default="elbo", choices=["elbo", "iwae"])
    p.add_argument("--k-train", type=int, default=1, help="samples of z per example in training")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--k", type=int, default=5000, help="importance samples per test image")
    p.add_argument("--test-n", type=int, default=None, help="test images to evaluate (default all 10,000)")
    p.add_argument("--data-root", help="folder with the MNIST IDX files (default: $GENZOO_DATA/mnist, else ~/.cache/genzoo/data/mnist)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="the result JSON ('' for none; default benchmarks/results/PRESET_nll.json)")
    p.add_argument("--weights", default=None, help="also save the trained VAE here (safetensors)")
    return p


def vae_config(args):
    """The preset with this command's budget (CPU minutes or steps) and, for `vae`, its network and objective."""
    overrides = {"train.seed": args.seed, "train.device": args.device, "train.log_every": 1000,
                 "data.root": args.data_root, "train.lr_decay": 0.3, "train.lr_final": 0.1, "model.optim.lr": args.lr}
    if args.preset == "vae":
        overrides.update({"train.batch_size": args.batch_size, "model.arch": "mlp", "model.latent_dim": args.latent,
                          "model.hidden": list(args.hidden), "model.activation": args.activation,
                          "model.likelihood": "bernoulli", "model.binarize": "dynamic",
                          "model.objective": args.objective, "model.k": args.k_train})
    if args.steps is not None:
        overrides["train.steps"] = args.steps
    else:
        overrides["train.time_budget"] = f"{args.minutes * 60:g}cpu"
    return resolve(args.preset, overrides=overrides)


def scored(model, x_test, train, test, args):
    """The test -ELBO and the importance-sampled NLL of the trained model, and the seconds they took."""
    from genzoo.metrics.likelihood import importance_sampled_nll

    model.eval()
    t1 = time.time()
    torch.manual_seed(args.seed + 1)
    with torch.no_grad():
        elbo = torch.cat([model.elbo(x_test[i:i + 500]) for i in range(0, len(x_test), 500)]).mean().item()
    protocol = {"test": f"{test.source}, {len(x_test)} images, binarized once x ~ Bernoulli(intensity), "
                        "torch.Generator seed 1234",
                "train": f"{train.source}, {len(train)} images, dynamic binarization every step"}
    res = importance_sampled_nll(model.log_importance_weights, x_test, k=args.k, batch_size=100,
                                 chunk=max(1, min(500, args.k)), protocol=protocol)
    return elbo, res, time.time() - t1


def vae_protocol(args, cfg, budget: str, n_test: int) -> str:
    m = cfg.model
    return (f"the {args.preset} preset: a VAE with {m.latent_dim} latent units, "
            f"{'-'.join(map(str, [784, *m.hidden]))} {m.activation} encoder and decoder, Bernoulli likelihood, "
            f"objective {m.objective} (k={m.k}); dynamically binarized MNIST, Adam {args.lr}, "
            f"batch {cfg.train.batch_size}, "
            f"{budget} of training on {args.threads} CPU thread(s) (`genzoo train`'s loop, the rate "
            f"decayed linearly to 10% over the last 30%), seed {args.seed}; test NLL by importance sampling "
            f"with k={args.k} samples per image over {n_test:,} test images binarized once (seed 1234)")


def main(argv=None) -> dict:
    args = parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    train, test = load_mnist(args.data_root)
    x_test = binarized_once(test.x, args.test_n)[0].to(device)
    cfg = vae_config(args)
    print(f"model: {cfg.model}")
    print(f"hardware: {hardware_line(device)}")

    timed = train_timed(cfg, hooks=[PrintMetrics()], log=lambda *_: None)
    model, optimizers, step, train_s = timed.model, timed.trainer.optimizers, timed.steps, timed.wall_seconds
    steps_per_epoch = timed.trainer.batches.steps_per_epoch
    print(f"trained {step} steps ({step / steps_per_epoch:.1f} epochs) in {train_s / 60:.1f} min "
          f"({step / train_s:.1f} steps/s)")
    elbo, res, eval_s = scored(model, x_test, train, test, args)
    budget = f"{step:,} steps" if args.steps is not None else f"{args.minutes:g} CPU-minutes"
    result = {
        "benchmark": "vae_nll", "protocol": vae_protocol(args, cfg, budget, len(x_test)),
        "values": {"nll": round(res.nll, 2), "nll_se": round(res.stderr, 2), "neg_elbo": round(-elbo, 2),
                   "steps": step, "epochs": round(step / steps_per_epoch, 1),
                   "train_minutes": round(train_s / 60, 1), "train_cpu_minutes": round(timed.cpu_seconds / 60, 1),
                   "eval_minutes": round(eval_s / 60)},
        "estimator": res.protocol, "paper": PAPER,
    }
    print(f"test NLL (k={args.k}, {len(x_test)} images): {res.nll:.2f} +- {res.stderr:.2f} nats "
          f"(test -ELBO {-elbo:.2f}); evaluation {eval_s / 60:.1f} min")
    print("paper (Burda et al. 2016, 1 stochastic layer): " + ", ".join(f"{k} {v}" for k, v in PAPER.items()))
    out = RESULTS[args.preset] if args.out is None else args.out
    if out:
        print(f"wrote {write_result(out, result, device=device)}")
    if args.weights:
        save_checkpoint(args.weights, model=model, optimizers=optimizers, step=step,
                        extra={"config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(args).items()}})
    return result


if __name__ == "__main__":
    main()
