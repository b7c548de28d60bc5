"""Text-to-image metrics of a spec's runs on mnist-captions: caption accuracy (seen and held-out combinations),
FD of the digit cuts, the same at each kept checkpoint (a curve over steps), and the text encoder's tests.

Settings: n (test captions scored), grids (a folder for sample grids of each run; None: none).
"""
from __future__ import annotations

import json

import torch

from measuring import Context, metric


def captions_test(ctx: Context) -> tuple:
    """The mnist-captions test split the run trained beside, and the offline digits' classifier (mnist5k, cached;
    its own errors show in the real canvases' score), made once per command."""
    from genzoo.data import load_dataset
    from genzoo.metrics.features import get_feature_extractor

    download = ctx.planned.overrides.get("data.download", True)
    key = ("mnist-captions", ctx.root, download)
    if key not in ctx.memo:
        test = load_dataset("mnist-captions", "test", root=ctx.root, download=download)
        ctx.memo[key] = (test, get_feature_extractor("mnist5k"))
    return ctx.memo[key]


def accuracies(scores: dict) -> dict:
    """The caption accuracies, seen and held out, of evaluate_captions' scores (each stage of a two-stage model)."""
    return {stage: {split: scores[stage][split]["caption_accuracy"] for split in ("seen", "held_out")}
            for stage in ("final", "stage1") if stage in scores}


@metric("captions")
def captions(ctx: Context) -> dict:
    """Caption accuracy and FD of the run's latest checkpoint, and the accuracies of the checkpoints before it."""
    from genzoo.metrics.captions import evaluate_captions
    from genzoo.runs import load, read_run_config
    from genzoo.runs.checkpoint import list_checkpoints

    test, extractor = captions_test(ctx)
    run_dir, n = ctx.run_dir, ctx.settings["n"]
    steps = [step for step, _ in list_checkpoints(run_dir / "checkpoints")]
    scores = {k: evaluate_captions(load(run_dir, step=k), test, n, seed=0, extractor=extractor) for k in steps}
    record = read_run_config(run_dir)
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    spent = run_dir / "benchmark-time.json"
    save_grids(ctx)
    return {"row": {"steps_trained": steps[-1], "steps_planned": record["total_steps"],
                    "dataset": record["dataset"]["source"],
                    "train_wall_seconds": metrics[-1]["time"] if metrics else None,
                    "train_time": json.loads(spent.read_text()) if spent.exists() else None,
                    "last_losses": metrics[-1] if metrics else None,
                    "curve": {str(k): accuracies(scores[k]) for k in steps[:-1]}, **scores[steps[-1]]},
            "test_split": test.source}


def save_grids(ctx: Context) -> None:
    """Sample grids (64 samples, seed 0; Stage I's too) into the `grids` setting's folder, if given; a row with
    several seeds names each seed's grid (ROW-seedN.png)."""
    from pathlib import Path

    from genzoo.images import save_grid
    from genzoo.metrics.captions import stage_shown_at
    from genzoo.training.trainer import load

    if not ctx.settings.get("grids"):
        return
    model, name, folder = load(ctx.run_dir), ctx.planned.row.name, Path(ctx.settings["grids"])
    if len(ctx.planned.row.seeds) > 1:
        name = f"{name}-seed{ctx.planned.seed}"
    save_grid(model.sample(64, generator=torch.Generator().manual_seed(0)), folder / f"{name}.png", nrow=8)
    if hasattr(model, "sample_stage1"):   # a two-stage model: Stage I's images too
        low = model.sample_stage1(64, generator=torch.Generator().manual_seed(0))
        save_grid(stage_shown_at(low, model.data.shape[-1]), folder / f"{name}-stage1.png", nrow=8)


@metric("text_encoder")
def text_encoder(ctx: Context) -> dict:
    """How well the frozen phi(t) tells a two-digit caption from the same caption with its digits swapped: the
    mean cosine of phi(t) and phi(swapped t), and the share of test images whose image encoder scores their own
    caption above the swapped one (and above the caption with other digits)."""
    from genzoo.data.captions import with_digits_swapped, with_other_digits
    from genzoo.models.text2image import matching_vector
    from genzoo.training.trainer import load

    test, _ = captions_test(ctx)
    torch.manual_seed(0)   # with_other_digits draws the other digits
    model, n = load(ctx.run_dir), ctx.settings["n"]
    t = test.y[:n]
    swapped = with_digits_swapped(t)
    two = (swapped != t).any(1)
    t, swapped, x = t[two], swapped[two], test.x[:n][two]
    h, h_swapped, h_other = (matching_vector(model.embed(c)) for c in (t, swapped, with_other_digits(t)))
    with torch.no_grad():
        v = matching_vector(model.image_encoder(model.to_net(x.float().div(255))))   # unit length, as phi(t)
    own = (v * h).sum(1)
    return {"row": {"n_captions": len(t),
                    "cosine_swapped": torch.nn.functional.cosine_similarity(h, h_swapped).mean().item(),
                    "own_over_swapped": (own > (v * h_swapped).sum(1)).float().mean().item(),
                    "own_over_other_digits": (own > (v * h_other).sum(1)).float().mean().item()},
            "test_split": test.source}
