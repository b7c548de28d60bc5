"""The main job's step time against one variant of it, interleaved, so that the machine's drift hits both alike.

Protocol: two trainers of the `dcgan` preset on the 5,000 bundled MNIST digits (batch 64, the preset's precision,
genzoo's default threads), the preset and the preset with --set's changes, each warmed up by 5 steps. Then
--rounds rounds; in each, every trainer times a block of --block steps, the order of the two reversed every other
round. The result: each one's median seconds per step over the rounds, its range, and the variant's median over
the preset's.

    python benchmarks/interleaved_steps.py --set train.channels_last=false   # benchmarks/results/channels_last_ab.json
"""
from __future__ import annotations

import argparse
import statistics
import time

from flop_utilization import main_job_trainer
from genzoo.presets import parse_override
from genzoo.threads import set_threads
from result_files import write_result


def block_seconds(trainer, steps: int) -> float:
    """Seconds per step over one block of `steps` steps."""
    t0 = time.perf_counter()
    for _ in range(steps):
        trainer.step()
    return (time.perf_counter() - t0) / steps


def interleaved(trainers: dict, rounds: int, block: int, timed=block_seconds) -> dict[str, list[float]]:
    """Each trainer's seconds per step in every round; the order of the trainers flips every other round."""
    times = {name: [] for name in trainers}
    for r in range(rounds):
        order = list(trainers) if r % 2 == 0 else list(reversed(list(trainers)))
        for name in order:
            times[name].append(timed(trainers[name], block))
    return times


def summary(times: dict[str, list[float]], variant: str) -> dict:
    """The median and range of ms per step of each, and the variant's median over the preset's."""
    rows = {name: {"ms_per_step": round(1000 * statistics.median(t), 1),
                   "ms_range": [round(1000 * min(t), 1), round(1000 * max(t), 1)], "rounds": len(t)}
            for name, t in times.items()}
    ratio = statistics.median(times[variant]) / statistics.median(times["preset"])
    return {"rows": rows, "values": {"variant_over_preset": round(ratio, 3)}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", action="append", required=True, metavar="KEY=VALUE", help="the variant's settings")
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--block", type=int, default=10, help="steps timed per trainer per round")
    ap.add_argument("--out", default="benchmarks/results/channels_last_ab.json", help="'' for none")
    args = ap.parse_args()
    threads = set_threads()
    variant = " ".join(args.set)
    trainers = {"preset": main_job_trainer(), variant: main_job_trainer(dict(parse_override(s) for s in args.set))}
    for trainer in trainers.values():
        block_seconds(trainer, 5)   # warm-up
    result = summary(interleaved(trainers, args.rounds, args.block), variant)
    result["values"].update({"variant": variant, "threads": threads})
    print(result)
    if args.out:
        protocol = " ".join(__doc__.split("\n\n")[1].split()).removeprefix("Protocol: ")
        write_result(args.out, {"benchmark": "interleaved_steps", "protocol": f"{protocol} Here: --set {variant}, "
                                f"{args.rounds} rounds of {args.block} steps.", **result})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
