"""Training throughput on a GPU: genzoo's trainer at its default precision (bf16 autocast on a GPU that has
it) and with torch.compile, against the plain single-file PyTorch loops (fp32), for dcgan, vae and wgan-gp.

    python benchmarks/gpu_throughput.py --data-root DIR --no-compile     # batch 64 and 256, about a minute
    python benchmarks/gpu_throughput.py --data-root DIR --batches 256    # also torch.compile: minutes

Protocol: the networks are equal (genzoo's presets at their papers' settings, as benchmarks/throughput.py
compares them on CPU); genzoo is its real Trainer stepped with Trainer.step() (lr schedule, autocast, the
train step, the float() of each logged value); the plain loops are benchmarks/reference_*.py on the same
device, each with its own DataLoader. Every runner warms up (3 steps: compilation happens there), then the
runners alternate in rounds, each step followed by torch.cuda.synchronize(); the median over the rounds.
images/s counts real training images consumed: batch x minibatches per step (wgan-gp's critic takes 5).
Writes benchmarks/results/gpu_throughput.json (or --out; '' for none) after each batch size: rows
MODEL-BATCH without compile, MODEL-BATCH-compile with it; the rows of other commands stay.
"""
from __future__ import annotations

import argparse
import importlib
import sys

import torch

from genzoo.data import load_dataset
from result_files import command_line, write_result
from common import device_name, waits_for
from speed_runners import GenzooRunner, interleaved

REFERENCES = {"dcgan": "reference_dcgan", "vae": "reference_vae", "wgan-gp": "reference_wgan_gp"}


class PlainRunner:
    """A model's plain PyTorch loop (fp32) on `device`; `step()` is one iteration of it."""

    def __init__(self, model: str, images_uint8: torch.Tensor, batch: int, device: str):
        module = importlib.import_module(REFERENCES[model])
        self.ref, self._step = module.trainer(images_uint8, batch_size=batch, device=device)
        self.images_per_step = batch * getattr(module, "CRITIC_ITERS", 1)

    def step(self) -> None:
        self._step()


class Synced:
    """A runner whose step ends when the GPU has finished it."""

    def __init__(self, runner, device: str):
        self.runner, self.images_per_step = runner, runner.images_per_step
        self.sync = waits_for(device)

    def step(self) -> None:
        self.runner.step()
        self.sync()


def runners_for(model: str, ds, batch: int, device: str, compile_too: bool) -> tuple[dict, dict]:
    """{name: warmed-up runner} and {name: why it could not run} for one model at one batch size: the plain
    loop (fp32), genzoo at its default precision, and genzoo with torch.compile."""
    on_device = {"train.device": device}
    makers = {"plain_fp32": lambda: PlainRunner(model, ds.x, batch, device),
              "genzoo": lambda: GenzooRunner(ds, model, batch, precision="auto", extra=on_device)}
    if compile_too:
        makers["genzoo_compile"] = lambda: GenzooRunner(
            ds, model, batch, precision="auto", compile=True, extra=on_device)
    ready, failed = {}, {}
    for name, make in makers.items():
        try:
            runner = Synced(make(), device)
            for _ in range(3):
                runner.step()
            ready[name] = runner
        except Exception as e:   # e.g. compile cannot do the double backward of a gradient penalty
            failed[name] = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
            print(f"  {model} batch {batch} {name}: did not run ({failed[name]})", flush=True)
    return ready, failed


def measure(model: str, ds, batch: int, args) -> dict:
    ready, failed = runners_for(model, ds, batch, args.device, args.compile)
    timing = interleaved(ready, rounds=args.rounds, round_seconds=args.round_seconds)
    row = {name: round(r.images_per_step / timing[name]["s_per_step"]) for name, r in ready.items()}
    row.update({name: f"did not run: {why}" for name, why in failed.items()})
    plain, gz = row.get("plain_fp32"), row.get("genzoo")
    if isinstance(plain, int) and isinstance(gz, int):
        row["genzoo_over_plain"] = round(gz / plain, 2)
    print(f"  {model} batch {batch}: {row}", flush=True)
    return row


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-root", help="folder with the MNIST IDX files (default: genzoo's data lookup)")
    p.add_argument("--models", nargs="+", choices=tuple(REFERENCES), default=list(REFERENCES))
    p.add_argument("--batches", nargs="+", type=int, default=[64, 256])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--round-seconds", type=float, default=1.0)
    p.add_argument("--no-compile", dest="compile", action="store_false")
    p.add_argument("--device", default="cuda")
    p.add_argument("--out", default="benchmarks/results/gpu_throughput.json")
    args = p.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        p.error("no CUDA device: this benchmark measures a GPU (benchmarks/throughput.py measures the CPU)")
    ds = load_dataset("mnist", "train", root=args.data_root)
    gpu = device_name(args.device)
    rows = {}
    for batch in args.batches:
        for model in args.models:
            name = f"{model}-{batch}" + ("-compile" if args.compile else "")
            rows[name] = {"model": model, "batch": batch, "device": gpu, **measure(model, ds, batch, args),
                          "command": command_line(sys.argv)}
        if args.out:
            protocol = " ".join(__doc__.split("Protocol: ")[1].split("\nWrites")[0].split())
            write_result(args.out, {"benchmark": "gpu_throughput", "protocol": protocol, "rows": rows},
                         device=args.device, keep_rows=True)
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
