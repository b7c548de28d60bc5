"""Five seeds of a toy GAN at once vs one seed: wall time, on ring8 (PacGAN protocol).

    python benchmarks/multiseed_toy.py                  # per-step timing + a 1,000-step run of each
    python benchmarks/multiseed_toy.py --steps 3000 --seeds 0 1 2 3 4 5 6 7 8 9
    python benchmarks/multiseed_toy.py --quick          # about a minute

The question: how does the wall time of the toy benchmark's 5 seeds compare with that of
one seed. "One seed" is genzoo's ordinary path: genzoo.training.Trainer (as `genzoo train` sets it
up, without hooks) stepped with Trainer.step(), one seed at a time. "5 seeds" is
genzoo.training.multiseed.train_gan_seeds: the same step for all seeds in one set of tensor ops.

Two measurements, both with the machine's load printed next to them:
1. Per step, interleaved (one seed, 1-seed vectorized, S-seed vectorized with each engine,
   alternating in rounds; medians): the ratio S seeds / one seed, for each network size in
   --sizes ("small": G and D MLPs 128-128; "pacgan": PacGAN's 2-D nets, G 400x4 with batch norm,
   D 200x3; "gan-toy": the `gan-toy` preset's model as it stands, the row toy_modes.py trains:
   the same nets without batch norm, the R1 penalty, Adam (0, 0.99) and an EMA of G).
2. End to end for --steps steps at the first size: one seed through the trainer pieces and all
   seeds through train_gan_seeds' loop, alternating in chunks of --chunk steps (model building,
   training and 2,500 samples per seed counted), and the PacGAN mode metrics per seed (mean and
   standard error over the seeds).

Arithmetic grows with the number of seeds; what vectorizing removes is the per-operation
overhead. So the ratio is near 1 only while one seed's step is overhead-bound (small nets, idle
cores); on a saturated CPU it tends to the ratio of FLOPs. The output says which regime it saw,
and prints the arithmetic floor: the S-seed step's FLOPs (torch.utils.flop_counter) at the
fp32 matmul peak measured in the same run, as a multiple of one seed's measured step time. No
implementation can beat that floor on this machine.

Writes benchmarks/results/multiseed_toy.json (or --out; '' for none): for N torch threads, each
size's row gets t<N> (the bmm engine's per-step ratio) and f<N> (its floor), and the values
end_to_end_<N>t; what other thread counts measured stays.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from genzoo.data import load_dataset, toy_modes
from genzoo.metrics import mode_metrics
from genzoo.presets import build_config
from genzoo.typed import to_dict
from genzoo.models.base import OptimConfig
from genzoo.models.gan import GANConfig, GANNets
from genzoo.training import Trainer
from genzoo.training.multiseed import SeedBatches, VectorizedGAN

SIZES = {  # G hidden, D hidden, G norm
    "small": ((128, 128), (128, 128), None),
    "pacgan": ((400, 400, 400, 400), (200, 200, 200), "batch"),
}


def toy_config(size: str, latent_dim: int, lr: float) -> GANConfig:
    g, d, norm = SIZES[size]
    return GANConfig(loss="non-saturating", latent_dim=latent_dim,
                     nets=GANNets(generator="mlp", discriminator="mlp", hidden=g, d_hidden=d,
                                  generator_norm=norm or "none"),
                     optim=OptimConfig(name="adam", lr=lr, betas=(0.5, 0.999)))


def size_config(size: str, latent_dim: int, lr: float) -> GANConfig:
    if size == "gan-toy":  # the preset's own model config (its latent_dim and lr, not --latent-dim / --lr)
        from genzoo.presets import resolve
        return resolve("gan-toy", overrides={"train.device": "cpu"}).model
    return toy_config(size, latent_dim, lr)


def load_note() -> str:
    la = os.getloadavg()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return (f"load average {la[0]:.2f} {la[1]:.2f} {la[2]:.2f} on {cores} cores"
            + (" -- SHARED machine: other work was running, timings are noisy" if la[0] > 2 else ""))


class OneSeed:
    """genzoo's ordinary path for one seed: genzoo train's Trainer (no hooks), one Trainer.step() per step."""

    def __init__(self, cfg: GANConfig, ds, batch_size: int, seed: int):
        run_cfg = build_config({"name": "gan", "algorithm": "gan", "data": {"name": "ring8"}, "model": to_dict(cfg),
                                "train": {"seed": seed, "batch_size": batch_size, "steps": 10**9, "device": "cpu"}})
        self._folder = tempfile.TemporaryDirectory(prefix="genzoo-multiseed-")
        self.trainer = Trainer(run_cfg, out=Path(self._folder.name) / "run", data=ds, hooks=[],
                               log=lambda *_: None).setup()
        self.model = self.trainer.model

    def step(self) -> None:
        self.trainer.step()


class ManySeeds:
    """train_gan_seeds' loop, one step at a time (for the interleaved per-step timing)."""

    def __init__(self, cfg: GANConfig, ds, batch_size: int, seeds, engine: str):
        self.gan = VectorizedGAN(cfg, ds.x.shape[1], seeds, engine)
        self.batches = SeedBatches(ds.x, seeds, batch_size, cfg.d_steps)
        self.noise = [torch.Generator().manual_seed(s) for s in seeds]
        self.b, self.latent = batch_size, cfg.latent_dim
        self.t = 0

    def _z(self):
        return torch.stack([torch.randn(self.b, self.latent, generator=g) for g in self.noise])

    def step(self) -> None:
        xs = self.batches(self.t)
        # as train_gan_seeds
        self.gan.step(xs, [self._z() for _ in xs], self._z(), logs=(self.t + 1) % 50 == 0, step=self.t)
        self.t += 1


def timed(fn, k):
    t = time.perf_counter()
    for _ in range(k):
        fn()
    return (time.perf_counter() - t) / k


def per_step(cfg, ds, args, size) -> dict:
    s = len(args.seeds)
    runners = {"one seed (genzoo Trainer.step)": OneSeed(cfg, ds, args.batch_size, args.seeds[0]),
               "1 seed vectorized (bmm)": ManySeeds(cfg, ds, args.batch_size, args.seeds[:1], "bmm"),
               f"{s} seeds vectorized (bmm)": ManySeeds(cfg, ds, args.batch_size, args.seeds, "bmm"),
               f"{s} seeds vectorized (vmap)": ManySeeds(cfg, ds, args.batch_size, args.seeds, "vmap")}
    k = {}
    for n, r in runners.items():
        r.step()
        r.step()
        k[n] = max(1, math.ceil(args.round_seconds / timed(r.step, 1)))
    samples = {n: [] for n in runners}
    names = list(runners)
    for i in range(args.rounds):
        for n in names[i % len(names):] + names[:i % len(names)]:
            samples[n].append(timed(runners[n].step, k[n]))
    med = {n: statistics.median(v) for n, v in samples.items()}
    one = med[names[0]]
    paired = {n: statistics.median([b / a for a, b in zip(samples[names[0]], samples[n])]) for n in names}
    print(f"\n== per step, {size} nets ({cfg.nets.hidden} / {cfg.nets.d_hidden}), batch {args.batch_size}, "
          f"{args.rounds} interleaved rounds ==")
    for n in names:
        rounds = [b / a for a, b in zip(samples[names[0]], samples[n])]
        print(f"  {n:34s} {1e3 * med[n]:8.2f} ms/step   x{paired[n]:5.2f} of one seed (median of the per-round "
              f"ratios {', '.join(f'{p:.2f}' for p in rounds)})")
    print(f"  [{load_note()}]")
    from speed_runners import count_flops, matmul_gflops  # the same FLOP counter and peak as benchmarks/throughput.py
    flops = count_flops(runners[names[2]])
    peak = max(matmul_gflops(512, torch.float32)["best"], matmul_gflops(1024, torch.float32)["best"])
    floor = flops / (peak * 1e9) / one
    print(f"  arithmetic floor: the {s}-seed step is {flops / 1e6:.0f} MFLOP; at the measured fp32 matmul peak of "
          f"{peak:.0f} GFLOP/s ({torch.get_num_threads()} threads) it needs >= {1e3 * flops / (peak * 1e9):.2f} ms, "
          f"i.e. >= x{floor:.2f} of one seed's measured step")
    return {"size": size, "ms_per_step": {n: 1e3 * v for n, v in med.items()},
            "ratio_bmm": paired[names[2]], "ratio_vmap": paired[names[3]], "mflop_per_step": flops / 1e6,
            "peak_gflops": peak, "floor_ratio": floor}


def end_to_end(cfg, ds, args) -> dict:
    """--steps steps of one seed (trainer pieces) and of all seeds (train_gan_seeds' loop), in
    alternating chunks of --chunk steps so that both see the same machine; build and sampling included."""
    s = len(args.seeds)
    centers, std = toy_modes("ring8")
    print(f"\n== end to end: {args.steps} steps, batch {args.batch_size}, then {args.n_samples} samples per seed; "
          f"alternating chunks of {args.chunk} steps ==")
    spent = {"one": 0.0, "many": 0.0}
    t = time.perf_counter()
    one = OneSeed(cfg, ds, args.batch_size, args.seeds[0])
    spent["one"] += time.perf_counter() - t
    t = time.perf_counter()
    many = ManySeeds(cfg, ds, args.batch_size, args.seeds, args.engine)
    spent["many"] += time.perf_counter() - t
    done = 0
    while done < args.steps:
        k = min(args.chunk, args.steps - done)
        order = (("one", one), ("many", many)) if (done // args.chunk) % 2 == 0 else (("many", many), ("one", one))
        for name, r in order:
            spent[name] += timed(r.step, k) * k
        done += k
    t = time.perf_counter()
    one.model.eval()
    x1 = one.model.sample(args.n_samples, generator=torch.Generator().manual_seed(12345 + args.seeds[0]))
    spent["one"] += time.perf_counter() - t
    t = time.perf_counter()
    xs = many.gan.sample(args.n_samples, [torch.Generator().manual_seed(12345 + sd) for sd in args.seeds])
    spent["many"] += time.perf_counter() - t
    m1 = mode_metrics(x1, centers, std)
    ms = [mode_metrics(x, centers, std) for x in xs]
    modes = [m.modes_captured for m in ms]
    hq = [m.high_quality_fraction for m in ms]

    def mse(v):
        return statistics.mean(v), (statistics.stdev(v) / math.sqrt(len(v)) if len(v) > 1 else float("nan"))

    print(f"  one seed (genzoo trainer pieces)   {spent['one']:7.1f} s   modes {m1.modes_captured}/8, "
          f"high quality {m1.high_quality_fraction:.1%}")
    print(f"  {s} seeds vectorized ({many.gan.G.engine})        {spent['many']:7.1f} s   modes {mse(modes)[0]:.1f} "
          f"+- {mse(modes)[1]:.1f} of 8 (per seed {modes}), high quality {mse(hq)[0]:.1%} +- {mse(hq)[1]:.1%}")
    ratio = spent["many"] / spent["one"]
    print(f"  -> {s} seeds take {ratio:.2f}x the wall time of one seed   [{load_note()}]")
    return {"steps": args.steps, "one_seed_s": spent["one"], "many_seeds_s": spent["many"], "ratio": ratio,
            "modes": modes, "high_quality": hq}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--steps", type=int, default=None, help="end-to-end steps (default 1000, quick 300)")
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--sizes", nargs="+", default=None, choices=sorted(SIZES) + ["gan-toy"],
                    help="default: small pacgan gan-toy")
    ap.add_argument("--latent-dim", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--engine", default="auto", choices=["auto", "bmm", "vmap"])
    ap.add_argument("--threads", default="auto", help="torch threads: auto (cores the load leaves free) or N")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--round-seconds", type=float, default=0.5)
    ap.add_argument("--n-samples", type=int, default=2500)
    ap.add_argument("--chunk", type=int, default=50, help="end to end: steps per alternating chunk")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default="benchmarks/results/multiseed_toy.json", help="the result JSON ('' for none)")
    args = ap.parse_args(argv)
    args.steps = args.steps or (300 if args.quick else 1000)
    args.sizes = args.sizes or (["small"] if args.quick else ["small", "pacgan", "gan-toy"])
    args.rounds = args.rounds or (3 if args.quick else 5)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = max(1, min(cores, round(cores - os.getloadavg()[0]))) if args.threads == "auto" else int(args.threads)
    torch.set_num_threads(threads)
    ds = load_dataset("ring8")
    print(f"multi-seed toy benchmark -- torch {torch.__version__}, {threads} torch thread(s)"
          f"{' (auto)' if args.threads == 'auto' else ''}; data: {ds.source}; seeds {args.seeds}")
    print(load_note())
    t0 = time.perf_counter()
    results = [per_step(size_config(size, args.latent_dim, args.lr), ds, args, size) for size in args.sizes]
    e2e = end_to_end(size_config(args.sizes[0], args.latent_dim, args.lr), ds, args)
    print(f"\nsummary: {len(args.seeds)} seeds / one seed -- end to end ({args.sizes[0]} nets): {e2e['ratio']:.2f}x; "
          + "; ".join(f"per step, {r['size']} nets: {r['ratio_bmm']:.2f}x (bmm), {r['ratio_vmap']:.2f}x (vmap), "
                      f"arithmetic floor {r['floor_ratio']:.2f}x" for r in results))
    print(f"total {time.perf_counter() - t0:.0f} s; {load_note()}")
    if args.out:
        from result_files import write_result
        print(f"wrote {write_result(args.out, multiseed_result(results, e2e, threads, args))}")
    return 0


def multiseed_result(results: list[dict], e2e: dict, threads: int, args) -> dict:
    """The result file with this thread count's columns filled in; other thread counts' columns stay."""
    earlier = json.loads(Path(args.out).read_text()) if Path(args.out).exists() else {}
    rows = earlier.get("rows", {})
    for r in results:
        rows[r["size"]] = {**rows.get(r["size"], {}), f"t{threads}": round(r["ratio_bmm"], 2),
                           f"f{threads}": round(r["floor_ratio"], 2)}
    values = {**earlier.get("values", {}), f"end_to_end_{threads}t": round(e2e["ratio"], 2)}
    return {"benchmark": "multiseed_toy",
            "protocol": (f"time per step of {len(args.seeds)} seeds trained as one batched model "
                         "(genzoo.training.multiseed, bmm engine) over one seed's step (genzoo's Trainer), batch "
                         f"{args.batch_size}, median of the per-round ratios of {args.rounds} interleaved rounds; the "
                         f"arithmetic floor is the {len(args.seeds)}-seed step's FLOPs at the fp32 matmul peak "
                         "measured in the same run, as a multiple of one seed's measured step; end to end: "
                         f"{args.steps:,} steps and {args.n_samples:,} samples per seed with the small nets; fp32"),
            "values": values, "rows": rows}


if __name__ == "__main__":
    sys.exit(main())
