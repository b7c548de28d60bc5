"""Gumbel-softmax GAN on the arithmetic grammar: the share of grammatical samples and how many distinct ones.

    python benchmarks/gsgan_grammar.py                      # the gsgan preset, 3 seeds
    python benchmarks/gsgan_grammar.py --seeds 1 --set model.straight_through=false   # the paper's relaxation

Protocol: train the `gsgan` preset (LSTM generator, Gumbel-softmax tokens with annealed temperature,
MLP discriminator) on the "arith" data (20,000 expressions of S -> S+S | S-S | S*S | S/S | (S) | x,
at most 12 tokens); then draw 10,000 sequences (Gumbel-max, i.e. exact samples of G's categorical
outputs) and report the share the grammar accepts (genzoo.data.grammar.accepts), the number of
distinct grammatical sequences and how many of those never occur in the training data.
Writes benchmarks/results/gsgan_grammar.json (or --out; '' for none).
"""
from __future__ import annotations

import argparse
import sys

import torch


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--steps", type=int, default=None, help="training steps (default: the preset's)")
    p.add_argument("--n-samples", type=int, default=10_000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--out", default="benchmarks/results/gsgan_grammar.json", help="the result JSON ('' for none)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    from genzoo.presets import parse_override, resolve
    from genzoo.data.grammar import decode, grammar_metrics
    from common import train_timed
    from result_files import write_result

    sets = dict(parse_override(s) for s in args.set)
    results = []
    for seed in range(args.seeds):
        overrides = {"train.seed": seed, "train.device": "cpu", **sets}
        if args.steps:
            overrides["train.steps"] = args.steps
        cfg = resolve("gsgan", overrides=overrides)
        timed = train_timed(cfg, log=lambda *_: None)  # genzoo train's loop: its data order and lr schedule
        model, ds, cpu, wall = timed.model, timed.trainer.dataset, timed.cpu_seconds, timed.wall_seconds
        model.eval()
        x = model.sample(args.n_samples, generator=torch.Generator().manual_seed(1000 + seed))
        m = grammar_metrics(x, reference=set(decode(ds.x)))
        r = {"seed": seed, "steps": cfg.train.steps, **m, "cpu_seconds": round(cpu, 1), "wall_seconds": round(wall, 1),
             "examples": decode(x[:12])}
        results.append(r)
        print(f"seed {seed}: {100 * m['valid_fraction']:.1f}% grammatical, {m['distinct_valid']} distinct grammatical "
              f"({m['novel_valid']} not in the training data), {m['distinct']} distinct; {cfg.train.steps} steps, "
              f"{cpu:.0f} CPU-s, {wall:.0f} s wall; e.g. {' '.join(r['examples'][:6])}", flush=True)
    vf = [r["valid_fraction"] for r in results]
    dv = [r["distinct_valid"] for r in results]
    print(f"mean over {len(results)} seeds: {100 * sum(vf) / len(vf):.1f}% grammatical, "
          f"{sum(dv) / len(dv):.0f} distinct grammatical; overrides {sets or 'none'}")
    result = {
        "benchmark": "gsgan_grammar",
        "protocol": (f"the gsgan preset ({results[0]['steps']:,} steps{', overrides ' + str(sets) if sets else ''}) "
                     f"trained on {ds.source.split(': ', 1)[-1]} of the grammar S -> S+S | S-S | S*S | S/S | (S) | x, "
                     f"on {args.threads} CPU thread(s); {args.n_samples:,} sequences drawn per seed (Gumbel-max, seed "
                     "1000 + train seed), scored by the grammar's parser; distinct grammatical sequences, and those "
                     "of them not in the training data"),
        "values": {"cpu_s_per_seed": round(sum(r["cpu_seconds"] for r in results) / len(results))},
        "rows": {str(r["seed"]): {"grammatical_pct": round(100 * r["valid_fraction"], 1), "distinct": r["distinct_valid"],
                                  "novel": r["novel_valid"], "distinct_all": r["distinct"], "steps": r["steps"],
                                  "cpu_s": r["cpu_seconds"], "examples": r["examples"]} for r in results},
    }
    if args.out:
        print(f"wrote {write_result(args.out, result)}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
