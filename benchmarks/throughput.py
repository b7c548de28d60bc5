"""Training throughput of genzoo on MNIST (1x28x28), next to a plain PyTorch DCGAN in the same run.

    python benchmarks/throughput.py                 # the full table, < 10 minutes on 2 cores
    python benchmarks/throughput.py --quick         # about 1 minute: batch 64 only, no compile
    python benchmarks/throughput.py --fd-steps 1000 # equal quality: genzoo's dcgan and the reference
                                                    # trained 1000 steps each, then Fréchet distances
    python benchmarks/throughput.py --fd-steps 1000 --fd-fast  # the same with dcgan's fast settings
    python benchmarks/throughput.py --fd-steps 1000 --fd-fast --fd-precision auto  # and genzoo's default
                                                    # precision (bf16 autocast on a native-bf16 CPU)
    python benchmarks/throughput.py --json out.json # also write every number as JSON

Result files (--out; '' for none): the full table writes benchmarks/results/throughput.json, --quick
(batch 64: bf16 against fp32, genzoo against the reference) benchmarks/results/throughput_bf16.json,
and --fd-steps adds its seed and precision to benchmarks/results/precision_equal_steps.json, whose
rows are the mean and sd over the runs stored there.

Sections (default run): fp32 images/s of dcgan, wgan-gp and vae at batch 64/128/256 with the
reference DCGAN in the same rounds (and dcgan with its fast settings, channels_last and
model.reuse_fakes); bf16 against fp32; trainer settings (channels_last, compile, and for GANs
model.reuse_fakes: the PyTorch-examples step, where G's update reuses the D step's fakes) plus a
"[before]" row with Adam foreach=True, genzoo's optimizer before fused Adam became its default;
1 thread against all cores; a torch.profiler breakdown of genzoo's and the reference's dcgan step;
a `genzoo.train` end-to-end cross-check. --fd-steps N instead trains
both DCGANs N steps (alternating chunks, so the time ratio is measured too) and prints the
Fréchet distance of 2,000 samples of each to 2,000 test images in genzoo's classifier features,
with the real-vs-real floor.

What is measured, and how
- genzoo is driven through its real trainer, genzoo.training.Trainer, set up as `genzoo.train` sets
  it up (data in memory as a uint8 tensor, prepare_model's channels_last / compile, Optimizers)
  but with no hooks, and stepped with `Trainer.step()`: the lr schedule, autocast, the model's
  train step and the `float(v)` of every logged value. Not timed: the progress bar, metrics.jsonl, sample
  grids and checkpoints (a cross-check times `genzoo.train` end to end with two budgets and
  takes the difference, which cancels start-up).
- The reference is benchmarks/reference_dcgan.py: the PyTorch-examples DCGAN loop with a
  per-sample torch Dataset and a DataLoader(shuffle=True), the same layers written by hand.
- "images/s" counts real training images consumed per second: batch_size x minibatches per
  step (WGAN-GP takes 5 critic minibatches per generator step, so one of its steps is 5 x batch).
- Timing: every runner warms up, then runs in rounds that alternate the runners (A, B, C, A, B,
  C, ... with the start rotated each round); each round runs enough steps to last
  --round-seconds; the reported time is the median over rounds. genzoo and the reference are
  always measured in the same rounds, so a busy neighbour slows both alike.
- FLOPs: torch.utils.flop_counter.FlopCounterMode over one complete train_step (forward,
  backward, penalty; optimizer updates are elementwise and not counted). The fraction of peak is
  achieved GFLOP/s over the best GFLOP/s of a square matmul measured in this run with the same
  thread count (fp32: 2048x2048, best of 3; bf16: 512x512, because emulated bf16 is slow).
- bf16 = torch.autocast("cpu", bfloat16), the trainer's train.precision=bf16. On a CPU without
  AVX512-BF16 / AMX (see the first lines of the output) bf16 is emulated; its rows run under a
  time budget (--bf16-seconds) and the rows it does not reach say so.
- Threads: --threads auto takes the cores that the load average leaves free (at least 1), because
  on a shared machine an OpenMP team larger than the free cores waits at every barrier. The
  "threads" section measures 1 thread against all cores in the same rounds.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import fixed_subsets  # noqa: E402
from genzoo.data import load_dataset  # noqa: E402
from genzoo.experiments.base import DCGAN_PAPER  # noqa: E402
from genzoo.machine import cpu_name  # noqa: E402
from genzoo.presets import resolve  # noqa: E402
from speed_runners import (FAST, FAST_DCGAN, REUSE, GenzooRunner, ReferenceRunner, auto_threads,  # noqa: E402
                           count_flops, interleaved, load_note, matmul_gflops, n_cores, native_bf16_flags, timed,
                           warm_up)
from throughput_results import write_results  # noqa: E402

# ------------------------------------------------------------------------------------------ sections

def fmt_row(cols, widths):
    return "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cols, widths)))


def section_fp32(ds, models, batches, args, peak, out) -> None:
    print("\n== fp32 throughput (genzoo defaults: NCHW, eager) and the plain reference, interleaved per batch size ==")
    widths = (28, 6, 10, 10, 11, 9, 8)
    print(fmt_row(("runner", "batch", "ms/step", "images/s", "GFLOP/step", "GFLOP/s", "% peak"), widths))
    rows = []
    for bs in batches:
        runners = {f"genzoo {m}": GenzooRunner(ds, m, bs) for m in models}
        if "dcgan" in models:
            runners[FAST_DCGAN] = GenzooRunner(ds, "dcgan", bs, **FAST)
        if args.reference:
            runners["reference dcgan (plain)"] = ReferenceRunner(ds, bs)
        flops, first = warm_up(runners)
        res = interleaved(runners, args.rounds, args.round_seconds, budget_s=args.section_seconds, calibration=first)
        for n, r in runners.items():
            s = res[n]["s_per_step"]
            gf = flops[n] / s / 1e9
            row = {"runner": n, "batch": bs, "ms_per_step": 1e3 * s, "images_per_s": r.images_per_step / s,
                   "gflop_per_step": flops[n] / 1e9, "gflops": gf, "frac_peak": gf / peak,
                   "rounds_ms": [1e3 * x for x in res[n]["rounds"]], "steps_per_round": res[n]["steps_per_round"]}
            rows.append(row)
            print(fmt_row((n, bs, f"{row['ms_per_step']:.1f}", f"{row['images_per_s']:.0f}",
                           f"{row['gflop_per_step']:.2f}",
                           f"{gf:.1f}", f"{100 * gf / peak:.0f}%"), widths))
        for name in ("genzoo dcgan", FAST_DCGAN):
            if not args.reference or name not in runners:
                continue
            ref = res["reference dcgan (plain)"]
            of_medians = ref["s_per_step"] / res[name]["s_per_step"]
            pair = [b / a for a, b in zip(res[name]["rounds"], ref["rounds"])]
            ratio = statistics.median(pair)
            print(f"   -> {name} / reference throughput at batch {bs}: {ratio:.2f}x (median of the per-round "
                  f"ratios {', '.join(f'{p:.2f}' for p in pair)}; ratio of the medians {of_medians:.2f}x)")
            out.setdefault("dcgan_vs_reference", []).append({"runner": name, "batch": bs, "ratio": ratio,
                                                             "per_round": pair, "ratio_of_medians": of_medians})
        print(f"   [{load_note()}]")
    out["fp32"] = rows


def section_bf16(ds, models, batches, args, peaks, out) -> None:
    flags = native_bf16_flags()
    native = bool(flags)
    print("\n== bf16 autocast against fp32 (same rounds: fp32, bf16, fp32, bf16, ...) ==")
    what = ("HAS native bf16 (" + ", ".join(flags) + ")" if native else
            "has NO native bf16 (no avx512_bf16 / amx_bf16 in /proc/cpuinfo): bf16 is emulated")
    print(f"this CPU {what}; "
          f"matmul: fp32 {peaks['fp32_512']['best']:.1f} vs bf16 {peaks['bf16_512']['best']:.1f} GFLOP/s at 512x512")
    if not native:
        print("(the bf16 'peak' is the emulated matmul; oneDNN's bf16 convolutions are emulated less badly, so a "
              "model can exceed 100% of it)")
    widths = (20, 6, 12, 12, 12, 10, 8)
    print(fmt_row(("model", "batch", "fp32 img/s", "bf16 img/s", "bf16/fp32", "bf16 GF/s", "% bf16pk"), widths))
    budget_end = time.perf_counter() + args.bf16_seconds
    rows = []
    cost = {"vae": 0, "dcgan": 1}  # smallest batch first, cheapest model first: every model gets a row early
    plan = sorted(((m, bs) for m in models for bs in batches), key=lambda p: (p[1], cost.get(p[0], 2)))
    for m, bs in plan:
        if time.perf_counter() > budget_end:
            print(fmt_row((m, bs, "-", "not measured: bf16 time budget (--bf16-seconds) spent", "", "", ""), widths))
            rows.append({"model": m, "batch": bs, "skipped": "budget"})
            continue
        r32, r16 = GenzooRunner(ds, m, bs, precision="fp32"), GenzooRunner(ds, m, bs, precision="bf16")
        flops = count_flops(r32)
        r16.step()
        res = interleaved({"fp32": r32, "bf16": r16}, args.bf16_rounds, 0.0, calibration={"fp32": 1.0, "bf16": 1.0})
        s32, s16 = res["fp32"]["s_per_step"], res["bf16"]["s_per_step"]
        gf16 = flops / s16 / 1e9
        row = {"model": m, "batch": bs, "fp32_images_per_s": r32.images_per_step / s32,
               "bf16_images_per_s": r16.images_per_step / s16, "bf16_over_fp32": s32 / s16,
               "bf16_gflops": gf16, "frac_bf16_peak": gf16 / peaks["bf16_512"]["best"]}
        rows.append(row)
        print(fmt_row((m, bs, f"{row['fp32_images_per_s']:.0f}", f"{row['bf16_images_per_s']:.1f}",
                       f"{row['bf16_over_fp32']:.3f}x", f"{gf16:.2f}", f"{100 * row['frac_bf16_peak']:.0f}%"), widths))
    print(f"   [{load_note()}]")
    out["bf16"] = {"native_bf16": native, "flags": flags, "rows": rows}


def section_settings(ds, models, bs, args, out) -> None:
    print(f"\n== trainer settings at batch {bs}: channels_last and torch.compile (interleaved per model) ==")
    all_variants = {"default (NCHW, eager)": {}, "channels_last": {"channels_last": True}}
    if args.compile:
        all_variants.update({"compile": {"compile": True},
                             "channels_last + compile": {"channels_last": True, "compile": True}})
    print("model.reuse_fakes: G's update reuses the D step's fakes (one G pass less per step); "
          "[before]: Adam foreach=True, genzoo's optimizer before fused Adam became its default")
    widths = (10, 30, 10, 10, 11, 14)
    print(fmt_row(("model", "setting", "ms/step", "images/s", "vs default", "warm-up s"), widths))
    rows = []
    for m in models:
        runners, warm_s, failed = {}, {}, {}
        probe = GenzooRunner(ds, m, bs).model
        conv = any(isinstance(x, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)) for x in probe.modules())
        variants = {v: kw for v, kw in all_variants.items() if conv or not kw.get("channels_last")}
        if getattr(probe, "name", "") == "gan":
            variants["model.reuse_fakes"] = {"extra": REUSE}
            if conv:
                variants["channels_last + reuse_fakes"] = FAST
        variants["[before] Adam foreach=True"] = {"foreach_adam": True}
        for v, kw in variants.items():
            try:
                r = GenzooRunner(ds, m, bs, **kw)
                t = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    r.step()
                    r.step()  # torch.compile may compile again on the second call
                warm_s[v] = time.perf_counter() - t
                runners[v] = r
            except Exception as e:  # e.g. compile cannot do the double backward of a gradient penalty
                failed[v] = f"{type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''}"
        res = interleaved(runners, args.rounds, args.round_seconds, budget_s=args.section_seconds)
        base = res["default (NCHW, eager)"]["s_per_step"]
        for v in variants:
            if v in failed:
                print(fmt_row((m, v, "fails", "", "", ""), widths) + f"   {failed[v]}")
                rows.append({"model": m, "setting": v, "error": failed[v]})
                continue
            s = res[v]["s_per_step"]
            ips = runners[v].images_per_step / s
            rows.append({"model": m, "setting": v, "ms_per_step": 1e3 * s, "images_per_s": ips,
                         "speedup_vs_default": base / s, "warmup_s": warm_s[v]})
            print(fmt_row((m, v, f"{1e3 * s:.1f}", f"{ips:.0f}", f"{base / s:.2f}x", f"{warm_s[v]:.1f}"), widths))
    if args.compile:
        print("   (compile rows: where torch._dynamo reports its recompile limit above, the rest of that run was eager)")
    print(f"   [{load_note()}]")
    for m in models:
        ok = [r for r in rows if r["model"] == m and "error" not in r and not r["setting"].startswith("[before]")]
        best = max(ok, key=lambda r: r["speedup_vs_default"])
        print(f"   fastest genzoo setting for {m}: {best['setting']} ({best['speedup_vs_default']:.2f}x the default)")
    out["settings"] = rows


def section_threads(ds, bs, args, out) -> None:
    cores = n_cores()
    if cores < 2:
        return
    print(f"\n== threads: dcgan at batch {bs}, genzoo and the reference, 1 thread vs {cores} (interleaved) ==")
    runners = {"genzoo, 1 thread": GenzooRunner(ds, "dcgan", bs),
               f"genzoo, {cores} threads": GenzooRunner(ds, "dcgan", bs),
               "reference, 1 thread": ReferenceRunner(ds, bs),
               f"reference, {cores} threads": ReferenceRunner(ds, bs)}
    threads = {n: (1 if "1 thread" in n else cores) for n in runners}
    for n, r in runners.items():
        torch.set_num_threads(threads[n])
        r.step()
    res = interleaved(runners, args.rounds, args.round_seconds, budget_s=args.section_seconds, threads=threads)
    torch.set_num_threads(args.threads)
    rows = []
    for n, r in runners.items():
        s = res[n]["s_per_step"]
        rows.append({"runner": n, "threads": threads[n], "ms_per_step": 1e3 * s, "images_per_s": r.images_per_step / s})
        print(f"  {n:24s} {1e3 * s:9.1f} ms/step {r.images_per_step / s:8.0f} images/s")
    print(f"   [{load_note()}]")
    out["threads"] = rows


def section_end_to_end(ds_root, bs, args, out) -> None:
    """genzoo.train itself with two budgets: the difference cancels start-up, data, final grid and checkpoint."""
    from genzoo.training.trainer import train as trainer_train  # what genzoo.train(...) runs
    print(f"\n== cross-check: genzoo.train(dcgan, batch {bs}) end to end, (T(n2) - T(n1)) / (n2 - n1) ==")
    n1, n2 = args.e2e_steps
    times = {}
    for n in (n1, n2):
        cfg = resolve("dcgan", overrides={**DCGAN_PAPER, "train.steps": n, "train.batch_size": bs, "train.precision": "fp32",
                                          "train.sample_every": 0, "train.checkpoint_every": 0,
                                          "data.root": ds_root})
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            trainer_train(cfg, out=Path(tmp) / "run", progress=False, log=lambda *a: None)
            times[n] = time.perf_counter() - t
    per_step = (times[n2] - times[n1]) / (n2 - n1)
    print(f"  T({n1}) = {times[n1]:.1f} s, T({n2}) = {times[n2]:.1f} s -> {1e3 * per_step:.1f} ms/step, "
          f"{bs / per_step:.0f} images/s (trainer loop incl. tqdm and metrics.jsonl)")
    print(f"   [{load_note()}]")
    out["end_to_end"] = {"batch": bs, "steps": [n1, n2], "seconds": [times[n1], times[n2]],
                         "ms_per_step": 1e3 * per_step}


PROFILE_GROUPS = (  # (label, test on the op name); first match wins; self CPU time
    ("conv backward", lambda n: "convolution_backward" in n),
    ("conv forward", lambda n: "conv" in n),
    ("batch norm", lambda n: "batch_norm" in n),
    ("matmul (linear)", lambda n: n in ("aten::mm", "aten::addmm", "aten::bmm")),
)


def profile_step_groups(runner, steps: int) -> dict:
    """ms per step by kind of work: conv fwd/bwd, batch norm, matmul, optimizer, data, other."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as p:
        for _ in range(steps):
            runner.step()
    events = p.key_averages()
    total = sum(e.self_cpu_time_total for e in events) / 1e3 / steps
    groups = {label: 0.0 for label, _ in PROFILE_GROUPS}
    optimizer = data = 0.0
    for e in events:
        if e.key.startswith("Optimizer.step#"):
            optimizer += e.cpu_time_total / 1e3 / steps
        elif e.key == "data" or e.key.startswith("enumerate(DataLoader)"):
            data += e.cpu_time_total / 1e3 / steps
        for label, test in PROFILE_GROUPS:
            if test(e.key):
                groups[label] += e.self_cpu_time_total / 1e3 / steps
                break
    out = {"total": total, **groups, "optimizer step (incl.)": optimizer, "data (incl.)": data}
    out["other (elementwise, autograd, python)"] = total - sum(groups.values()) - optimizer - data
    top = sorted(events, key=lambda e: -e.self_cpu_time_total)[:8]
    out["top_ops"] = [(e.key, e.self_cpu_time_total / 1e3 / steps, e.count // steps) for e in top]
    return out


def section_profile(ds, bs, args, out) -> None:
    print(f"\n== where the time goes: torch.profiler, dcgan batch {bs}, ms per step (self CPU time) ==")
    runners = {"genzoo": GenzooRunner(ds, "dcgan", bs), "reference": ReferenceRunner(ds, bs)}
    for r in runners.values():
        r.step()
        r.step()
    prof = {}
    for _ in range(2):  # interleaved: genzoo, reference, genzoo, reference; the second pair is kept
        for n, r in runners.items():
            prof[n] = profile_step_groups(r, args.profile_steps)
    keys = [k for k in prof["genzoo"] if k != "top_ops"]
    print(f"  {'':38s} {'genzoo':>10s} {'reference':>10s}")
    for k in keys:
        print(f"  {k:38s} {prof['genzoo'][k]:10.1f} {prof['reference'][k]:10.1f}")
    for n in runners:
        print(f"  top ops ({n}): " + "; ".join(f"{k} {ms:.1f} ms x{c}" for k, ms, c in prof[n]["top_ops"][:6]))
    print(f"   [{load_note()}]")
    out["profile"] = prof


# ------------------------------------------------------------------------------------------ equal quality

def fd_mode(ds, ds_root, args, out) -> None:
    """Train genzoo's dcgan and the reference for the same steps (interleaved chunks), then FD of each."""
    import numpy as np

    from genzoo.metrics import frechet_distance, get_feature_extractor
    steps, bs, n = args.fd_steps, args.fd_batch, args.fd_samples
    print(f"\n== equal steps: genzoo dcgan vs reference, {steps} steps at batch {bs}, seed {args.seed}, "
          f"FD of {n} samples vs {n} real test images ==")
    if args.fd_fast:
        print("  genzoo's dcgan with its fast settings: train.channels_last=true, model.reuse_fakes=true")
    gz = GenzooRunner(ds, "dcgan", bs, seed=args.seed, precision=args.fd_precision, **(FAST if args.fd_fast else {}))
    print(f"  genzoo's train.precision={args.fd_precision}: autocast {gz.dtype or 'off (float32)'}; "
          f"the reference: float32")
    ref = ReferenceRunner(ds, bs, seed=args.seed)
    spent = {"genzoo": 0.0, "reference": 0.0}
    chunk = max(1, min(args.fd_chunk, steps))
    done = 0
    while done < steps:
        k = min(chunk, steps - done)
        pair = (("genzoo", gz), ("reference", ref))
        for name, r in pair if (done // chunk) % 2 == 0 else pair[::-1]:
            spent[name] += timed(r.step, k) * k
        done += k
        if done % max(chunk, (steps // 10) // chunk * chunk or chunk) == 0 or done == steps:
            print(f"  step {done:6d}/{steps}: genzoo {spent['genzoo']:.0f} s, reference {spent['reference']:.0f} s "
                  f"(genzoo d_loss {gz.last['d_loss']:.3f}, reference Loss_D {ref.last['Loss_D']:.3f})",
                  flush=True)
    ratio = spent["reference"] / spent["genzoo"]
    print(f"  training time: genzoo {spent['genzoo']:.1f} s ({steps * bs / spent['genzoo']:.0f} images/s), reference "
          f"{spent['reference']:.1f} s ({steps * bs / spent['reference']:.0f} images/s) -> genzoo/reference "
          f"throughput {ratio:.2f}x  [{load_note()}]")
    print("  feature extractor ...", flush=True)
    fx = get_feature_extractor("mnist", root=ds_root, verbose=True)
    test = load_dataset("mnist", "test", root=ds_root)
    real, train_real = fixed_subsets(n, test.x, ds.x)
    f_real = fx.features(real)
    fd = {"real train vs real test (floor)": frechet_distance(fx.features(train_real), f_real)}
    fd["genzoo dcgan"] = frechet_distance(fx.features(gz.sample(n, seed=1)), f_real)
    fd["reference dcgan"] = frechet_distance(fx.features(ref.sample(n, seed=1)), f_real)
    print(f"  feature space: {fx.describe()}")
    print(f"  protocol: {n} samples (eval-mode batch norm, as genzoo's sample()) vs {n} random test images; "
          f"genzoo's FD = Fréchet distance of Gaussians fitted to standardized 128-d features")
    for k, v in fd.items():
        print(f"  FD {k:34s} {v:8.3f}")
    verdict = "no worse" if fd["genzoo dcgan"] <= fd["reference dcgan"] else "WORSE"
    print(f"  -> genzoo FD {verdict} than the reference at equal steps; throughput ratio {ratio:.2f}x")
    out["fd"] = {"steps": steps, "batch": bs, "samples": n, "seed": args.seed, "seconds": spent, "ratio": ratio,
                 "precision": args.fd_precision, "fast": args.fd_fast,
                 "fd": fd, "extractor": fx.protocol(), "real_source": test.source,
                 "train_source": ds.source, "np": np.__version__}


# ------------------------------------------------------------------------------------------ main

def default_root() -> str | None:
    """$GENZOO_DATA/mnist when it holds the MNIST files; None -> genzoo's own lookup (and its notice)."""
    env = os.environ.get("GENZOO_DATA")
    if env and (Path(env) / "mnist" / "train-images-idx3-ubyte.gz").is_file():
        return str(Path(env) / "mnist")
    return None


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--quick", action="store_true",
                    help="about a minute: batch 64, 3 rounds, settings for dcgan only, no compile/threads/profile/e2e")
    ap.add_argument("--models", nargs="+", default=["dcgan", "wgan-gp", "vae"])
    ap.add_argument("--batches", nargs="+", type=int, default=None, help="default 64 128 256 (quick: 64)")
    ap.add_argument("--threads", default="auto", help="torch threads: auto (free cores) or a number")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 5, quick 3)")
    ap.add_argument("--round-seconds", type=float, default=None, help="minimum length of a round per runner")
    ap.add_argument("--bf16-seconds", type=float, default=None,
                    help="time budget of the bf16 rows (default 75, quick 12)")
    ap.add_argument("--bf16-rounds", type=int, default=2)
    ap.add_argument("--section-seconds", type=float, default=None,
                    help="after 2 rounds, stop a table's rounds once this is spent (default 60, quick 20)")
    ap.add_argument("--no-reference", dest="reference", action="store_false")
    ap.add_argument("--no-compile", dest="compile", action="store_false")
    ap.add_argument("--settings-batch", type=int, default=64)
    ap.add_argument("--e2e-steps", type=int, nargs=2, default=(10, 40))
    ap.add_argument("--profile-steps", type=int, default=3)
    ap.add_argument("--root", default=None,
                    help="folder with the MNIST IDX files (default: $GENZOO_DATA/mnist, else genzoo's lookup)")
    add_fd_args(ap)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="write all numbers to this file")
    ap.add_argument("--out", default=None, help="the result JSON (default: benchmarks/results/ throughput.json, "
                    "throughput_bf16.json with --quick, precision_equal_steps.json with --fd-steps; '' for none)")
    return ap


def add_fd_args(ap: argparse.ArgumentParser) -> None:
    """The arguments of the equal-quality mode (--fd-steps)."""
    ap.add_argument("--fd-steps", type=int, default=0, help="equal-quality mode: train both N steps, compare FD")
    ap.add_argument("--fd-samples", type=int, default=2000)
    ap.add_argument("--fd-fast", action="store_true",
                    help="in --fd-steps mode, train genzoo's dcgan with channels_last and model.reuse_fakes")
    ap.add_argument("--fd-precision", default="fp32", choices=["fp32", "bf16", "auto"],
                    help="in --fd-steps mode, genzoo's train.precision (the reference stays fp32)")
    ap.add_argument("--fd-batch", type=int, default=64)
    ap.add_argument("--fd-chunk", type=int, default=25, help="steps per alternating chunk in --fd-steps mode")


def parse_args(argv=None) -> tuple[argparse.Namespace, bool]:
    """The arguments, with the defaults that depend on --quick filled in and the threads resolved; and
    whether the thread count was chosen automatically."""
    args = parser().parse_args(argv)
    q = args.quick
    args.batches = args.batches or ([64] if q else [64, 128, 256])
    args.rounds = args.rounds or (3 if q else 5)
    args.round_seconds = args.round_seconds if args.round_seconds is not None else (0.25 if q else 0.5)
    args.bf16_seconds = args.bf16_seconds if args.bf16_seconds is not None else (12.0 if q else 75.0)
    args.section_seconds = args.section_seconds if args.section_seconds is not None else (20.0 if q else 60.0)
    args.compile = args.compile and not q
    threads_auto = args.threads == "auto"
    args.threads = auto_threads() if threads_auto else int(args.threads)
    return args, threads_auto


def speed_sections(ds, root, args, out) -> None:
    """The default run's tables, between two measurements of the matmul peak."""
    q = args.quick
    peaks = {"fp32_2048": matmul_gflops(2048, torch.float32), "fp32_512": matmul_gflops(512, torch.float32, 5),
             "bf16_512": matmul_gflops(512, torch.bfloat16)}
    print("matmul peak: " + ", ".join(f"{k} {v['best']:.1f} GFLOP/s (median {v['median']:.1f})"
                                      for k, v in peaks.items()))
    peak = peaks["fp32_2048"]["best"]
    out["peaks"] = peaks
    section_fp32(ds, args.models, args.batches, args, peak, out)
    section_bf16(ds, args.models, args.batches, args, peaks, out)
    section_settings(ds, ["dcgan"] if q else args.models, args.settings_batch, args, out)
    if not q:
        section_threads(ds, args.settings_batch, args, out)
        section_profile(ds, args.settings_batch, args, out)
        section_end_to_end(root, args.settings_batch, args, out)
    again = matmul_gflops(2048, torch.float32)
    print(f"\nmatmul fp32 2048 at the end: {again['best']:.1f} GFLOP/s (start {peaks['fp32_2048']['best']:.1f}); "
          "fractions of peak above use the best seen at the start")
    out["peaks"]["fp32_2048_end"] = again


def main(argv=None) -> int:
    args, threads_auto = parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)

    t0 = time.perf_counter()
    flags = native_bf16_flags()
    print(f"genzoo throughput benchmark -- {cpu_name()}, {n_cores()} cores, torch {torch.__version__} "
          f"({torch.backends.cpu.get_cpu_capability()}), {args.threads} torch thread(s)"
          f"{' (auto: the cores the load average leaves free)' if threads_auto else ''}")
    print("native bf16: " + ("yes (" + ", ".join(flags) + ")" if flags else
                             "NO -- no avx512_bf16 / amx_bf16 flag; bf16 autocast is emulated on this CPU"))
    print(load_note())
    root = args.root if args.root is not None else default_root()
    ds = load_dataset("mnist", "train", root=root)
    print(f"data: {ds.source}, {len(ds)} images {tuple(ds.shape)}" + (f" ({ds.notice})" if ds.notice else ""))
    out = {"machine": {"cpu": cpu_name(), "cores": n_cores(), "torch": torch.__version__, "threads": args.threads,
                       "native_bf16": bool(flags), "loadavg_start": os.getloadavg()},
           "data": ds.source, "args": dict(vars(args))}
    if args.fd_steps:
        fd_mode(ds, root, args, out)
    else:
        speed_sections(ds, root, args, out)
    out["machine"]["loadavg_end"] = os.getloadavg()
    out["wall_s"] = time.perf_counter() - t0
    print(f"\ntotal {out['wall_s']:.0f} s; {load_note()}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=str) + "\n")
        print(f"wrote {args.json}")
    write_results(out, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
