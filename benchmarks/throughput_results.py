"""The result files of benchmarks/throughput.py: its tables' rows from the numbers a run measured."""
from __future__ import annotations

import json
import math
import statistics
import sys
from pathlib import Path

from result_files import command_line, write_result
from speed_runners import FAST_DCGAN

def write_results(out: dict, args) -> None:
    """The result file of this mode (see the module's docstring)."""
    name = "precision_equal_steps" if args.fd_steps else "throughput_bf16" if args.quick else "throughput"
    path = f"benchmarks/results/{name}.json" if args.out is None else args.out
    if not path:
        return
    result = equal_steps_result(out, path) if args.fd_steps else bf16_result(out, args) if args.quick \
        else throughput_result(out, args)
    print(f"wrote {write_result(path, result)}")


RUNNER_ROWS = {"genzoo dcgan": "dcgan", FAST_DCGAN: "dcgan_fast", "reference dcgan (plain)": "reference",
               "genzoo wgan-gp": "wgan-gp", "genzoo vae": "vae"}


def throughput_result(out: dict, args) -> dict:
    rows: dict = {}
    for r in out["fp32"]:
        if r["runner"] in RUNNER_ROWS:
            rows.setdefault(RUNNER_ROWS[r["runner"]], {})[f"b{r['batch']}"] = \
                f"{r['images_per_s']:,.0f} ({100 * r['frac_peak']:.0f}%)"
    for r in out.get("dcgan_vs_reference", []):
        key = "ratio" if r["runner"] == "genzoo dcgan" else "ratio_fast"
        rows.setdefault(key, {})[f"b{r['batch']}"] = f"{r['ratio']:.2f}×"
    peaks = out["peaks"]
    return {"benchmark": "throughput",
            "protocol": (f"MNIST, fp32, genzoo's defaults; genzoo's trainer pieces and a plain single-file PyTorch "
                         "DCGAN (benchmarks/reference_dcgan.py: the PyTorch-examples loop with a per-sample "
                         f"DataLoader) in the same interleaved rounds, {args.rounds} rounds per batch size, medians, "
                         f"{args.threads} torch thread(s); % of the fp32 matmul peak measured at the start "
                         f"({peaks['fp32_2048']['best']:.0f} GFLOP/s; {peaks['fp32_2048_end']['best']:.0f} at the end)"),
            "rows": rows}


def bf16_result(out: dict, args) -> dict:
    rows = {r["model"]: {"speedup": round(r["bf16_over_fp32"], 2)} for r in out["bf16"]["rows"]
            if r["batch"] == args.batches[0] and "bf16_over_fp32" in r}
    for r in out.get("dcgan_vs_reference", []):
        if r["batch"] == args.batches[0]:
            rows["fp32_vs_ref" if r["runner"] == "genzoo dcgan" else "fast_vs_ref"] = {"speedup": round(r["ratio"], 2)}
    native = "native" if out["bf16"]["native_bf16"] else "emulated"
    return {"benchmark": "throughput",
            "protocol": (f"{args.rounds} interleaved rounds at batch {args.batches[0]}, MNIST, {args.threads} torch "
                         f"thread(s); bf16 autocast ({native} on this CPU) against fp32 for each of genzoo's presets, "
                         "and genzoo against the plain reference DCGAN in fp32; images per second"),
            "rows": rows}


def equal_steps_result(out: dict, path: str) -> dict:
    """This run (a seed and a precision) beside the runs already in the file; rows: mean and sd over them."""
    fd = out["fd"]
    precision = "bf16" if (fd["precision"] == "bf16" or (fd["precision"] == "auto" and out["machine"]["native_bf16"])) \
        else "fp32"
    earlier = json.loads(Path(path).read_text()).get("runs", {}) if Path(path).exists() else {}
    runs = {**earlier, f"{precision}/seed{fd['seed']}": {
        "precision": precision, "seed": fd["seed"], "genzoo": round(fd["fd"]["genzoo dcgan"], 3),
        "reference": round(fd["fd"]["reference dcgan"], 3), "floor": round(fd["fd"]["real train vs real test (floor)"], 3),
        "steps": fd["steps"], "batch": fd["batch"], "samples": fd["samples"], "command": command_line(sys.argv)}}

    def mean_sd(values):
        return {"fd": round(statistics.mean(values), 2),
                "sd": round(statistics.stdev(values), 2) if len(values) > 1 else 0.0, "n": len(values)}

    by = {p: {r["seed"]: r for r in runs.values() if r["precision"] == p} for p in ("bf16", "fp32")}
    rows = {p: mean_sd([r["genzoo"] for r in by[p].values()]) for p in by if by[p]}
    if by["fp32"]:
        rows["reference"] = mean_sd([r["reference"] for r in by["fp32"].values()])
    values = {"floor": round(statistics.mean(r["floor"] for r in runs.values()), 2)}
    paired = [by["bf16"][s]["genzoo"] - by["fp32"][s]["genzoo"] for s in by["bf16"] if s in by["fp32"]]
    if len(paired) > 1:
        values.update(paired_diff=round(statistics.mean(paired), 2),
                      paired_diff_se=round(statistics.stdev(paired) / math.sqrt(len(paired)), 2))
    seeds = sorted({r["seed"] for r in runs.values()})
    return {"benchmark": "throughput",
            "protocol": (f"genzoo's dcgan (bf16 autocast or fp32) and the fp32 reference each train {fd['steps']:,} "
                         f"steps at batch {fd['batch']} on MNIST, seeds {', '.join(map(str, seeds))}; FD of "
                         f"{fd['samples']:,} samples of each against as many test images in genzoo's classifier "
                         "features; mean ± sd over the seeds (the reference's over the fp32 runs); each seed and "
                         "precision is a run of its own, whose command the file's runs name"),
            "values": values, "rows": rows, "runs": runs}
