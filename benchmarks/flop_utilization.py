"""How close the main job's step comes to the machine's limit: FLOPs per step, achieved FLOP/s, matmul peak.

Protocol: the `dcgan` preset's trainer on the 5,000 bundled MNIST digits (batch 64, the preset's
precision `auto`, genzoo's default threads), no grids or checkpoints. The FLOPs of one training
step are counted from the shapes of its convolutions, linear layers and matrix products, forward
and backward (torch.utils.flop_counter). The step time is the median of --steps timed steps after
5 warm-up steps. The peak is a `torch.matmul` of two N x N matrices on the same threads, in fp32
and in bf16, the best of 5 after a warm-up (on a CPU without native bf16, where bf16 is emulated and
slow, the bf16 matrices are 512 x 512). Then torch.profiler records 10 steps; each operator's
self CPU time is counted as compute (convolutions, matrix products and their backward passes) or
not, and the five largest non-compute costs are listed, each with the input shapes of its costliest
group of calls (the profiler records shapes, which adds a little to every operator's time).

    python benchmarks/flop_utilization.py          # writes benchmarks/results/flop_utilization.json
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from result_files import write_result
from genzoo.presets import parse_override, resolve
from genzoo.threads import set_threads
from genzoo.training import Trainer
from genzoo.training.device import cpu_has_native_bf16

COMPUTE_OPS = ("conv", "mm", "addmm", "bmm", "matmul", "linear", "mkldnn_convolution", "convolution_backward")


def main_job_trainer(sets: dict | None = None) -> Trainer:
    cfg = resolve("dcgan", overrides={"data.name": "mnist5k", "train.steps": 10**6, **(sets or {})})
    return Trainer(cfg, out=Path(tempfile.mkdtemp(prefix="genzoo-flops-")) / "run", hooks=[],
                   log=lambda *_: None).setup()


def flops_of_one_step(trainer: Trainer) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        trainer.step()
    return counter.get_total_flops()


def median_step_seconds(trainer: Trainer, steps: int) -> float:
    for _ in range(5):
        trainer.step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        trainer.step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def matmul_peak(dtype: torch.dtype, n: int) -> float:
    """FLOP/s of the best of 5 N x N matmuls in `dtype` (2 N^3 FLOPs each)."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    torch.matmul(a, b)
    best = min(_timed(lambda: torch.matmul(a, b)) for _ in range(5))
    return 2 * n**3 / best


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def non_compute_costs(trainer: Trainer, steps: int = 10) -> tuple[float, list[dict]]:
    """(the share of self CPU time in compute operators, the five largest other operators, each with the
    input shapes of its costliest calls)."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(steps):
            trainer.step()
    events = [e for e in prof.key_averages() if e.self_cpu_time_total > 0]
    total = sum(e.self_cpu_time_total for e in events)
    is_compute = [any(op in e.key for op in COMPUTE_OPS) for e in events]
    compute = sum(e.self_cpu_time_total for e, c in zip(events, is_compute) if c)
    others = sorted((e for e, c in zip(events, is_compute) if not c), key=lambda e: -e.self_cpu_time_total)[:5]
    by_shape = prof.key_averages(group_by_input_shape=True)
    return compute / total, [{"operator": e.key, "ms_per_step": round(e.self_cpu_time_total / 1000 / steps, 2),
                              "share_pct": round(100 * e.self_cpu_time_total / total, 1), "calls_per_step":
                              e.count // steps, "costliest_calls": costliest_calls(by_shape, e.key, steps)}
                             for e in others]


def costliest_calls(by_shape, operator: str, steps: int) -> dict:
    """The input shapes of an operator's costliest group of calls, with their time and count per step."""
    group = max((g for g in by_shape if g.key == operator), key=lambda g: g.self_cpu_time_total)
    shapes = [list(s) for s in group.input_shapes if s]
    return {"input_shapes": shapes, "ms_per_step": round(group.self_cpu_time_total / 1000 / steps, 2),
            "calls_per_step": round(group.count / steps, 1)}


def describe_cost(row: dict) -> str:
    top = row["costliest_calls"]
    shapes = " and ".join("x".join(map(str, shape)) for shape in top["input_shapes"])
    where = f" on {shapes}" if shapes else ""    # an operator on lists of tensors records no shapes
    return (f"`{row['operator']}` {row['ms_per_step']} ms ({row['share_pct']}%, {row['calls_per_step']} calls; "
            f"{top['ms_per_step']} ms of it in {top['calls_per_step']:g} call(s){where})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--n", type=int, default=2048, help="matrix size of the matmul peak")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="change a preset setting, as `genzoo train --set` does (a variant's file)")
    ap.add_argument("--out", default="benchmarks/results/flop_utilization.json", help="'' for none")
    args = ap.parse_args()
    threads = set_threads()
    sets = dict(parse_override(s) for s in args.set)
    trainer = main_job_trainer(sets)
    flops = flops_of_one_step(trainer)
    seconds = median_step_seconds(trainer, args.steps)
    native = cpu_has_native_bf16()
    peaks = {"fp32": matmul_peak(torch.float32, args.n), "bf16": matmul_peak(torch.bfloat16, args.n if native else 512)}
    precision = "bf16" if trainer.autocast_dtype == torch.bfloat16 else "fp32"
    compute_share, others = non_compute_costs(trainer)
    values = {"settings": args.set, "gflop_per_step": round(flops / 1e9, 3), "ms_per_step": round(1000 * seconds, 1),
              "achieved_gflops": round(flops / seconds / 1e9, 2), "precision": precision, "threads": threads,
              "native_bf16": native,
              "peak_fp32_gflops": round(peaks["fp32"] / 1e9, 1), "peak_bf16_gflops": round(peaks["bf16"] / 1e9, 1),
              "utilization_pct": round(100 * flops / seconds / peaks[precision], 1),
              "compute_share_pct": round(100 * compute_share, 1)}
    print(values)
    for row in others:
        print(row)
    values["non_compute_text"] = "; ".join(describe_cost(o) for o in others)
    if args.out:
        write_result(args.out, {"benchmark": "flop_utilization", "protocol": " ".join(__doc__.split("\n\n")[1].split()).removeprefix("Protocol: "),
                                "values": values, "non_compute": others})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
