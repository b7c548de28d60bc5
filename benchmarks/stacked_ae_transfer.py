"""Stacked-AE transfer with few labels: the pretrained encoder fine-tuned as a classifier vs the
same classifier trained from scratch, on MNIST with 100 labels.

    python benchmarks/stacked_ae_transfer.py                              # both presets, 5 label draws
    python benchmarks/stacked_ae_transfer.py --presets stacked-ae --steps 1200 --greedy-steps 300 --seeds 0  # quick

Protocol (printed with the numbers):
1. unsupervised: the `stacked-ae` preset (784-512-256-64, ReLU, BCE) trained by `genzoo.train`
   on the 60,000 MNIST training images without labels: greedy layer-wise pretraining
   (--greedy-steps per layer, 3 layers), then end-to-end fine-tuning of the autoencoder
   (--preset stacked-dae: the same with masking noise 0.3, a stacked denoising AE);
2. labelled: N = 100 training images, class-balanced (10 per class), drawn with seed s
   (genzoo.finetune.labelled_subset); one result per seed;
3. transfer (genzoo.finetune.finetune): the encoder (all its layers) + a softmax layer; phase 1
   the encoder frozen, only the head trained; phase 2 everything trained with a 10x smaller
   learning rate; Adam, full batch of the N examples, fixed step counts (no validation set);
4. baseline: the identical network re-initialized, trained on the same N examples for the same
   total number of steps;
5. accuracy on the 10,000 MNIST test images.

Writes one row per preset into benchmarks/results/stacked_ae_transfer.json (or --out; '' for none),
keeping the rows of presets not given.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import torch


COLUMNS = {"frozen": "frozen_accuracy", "tuned": "finetuned_accuracy", "scratch": "scratch_accuracy"}


def transfer_row(results: list) -> dict:
    """A preset's row: test accuracy (%) with the encoder frozen, fine-tuned and from scratch, mean and
    standard deviation over the label draws, and each draw's numbers (its protocol names folders: left out)."""
    row = {}
    for name, key in COLUMNS.items():
        v = [100 * getattr(r, key) for r in results]
        sd = statistics.stdev(v) if len(v) > 1 else 0.0
        row[name], row[f"{name}_sd"] = round(statistics.mean(v), 2), round(sd, 2)
    row["per_seed"] = [{k: v for k, v in r.to_dict().items() if k != "protocol"} for r in results]
    return row


def pretrained(preset: str, args, out: str):
    """The preset's autoencoder trained by genzoo.train without labels (or --run), and its training minutes."""
    import genzoo

    t0 = time.time()
    if args.run:
        return genzoo.load_run(args.run), 0.0
    sets = {"data.root": args.data_root, "train.sample_every": 0, "train.checkpoint_every": 0}
    if args.greedy_steps is not None:
        sets["model.greedy_steps"] = args.greedy_steps
    run = genzoo.train(preset, data="mnist", steps=args.steps, overrides=sets, out=os.path.join(out, preset),
                       progress=False)
    return genzoo.load_run(run.dir), time.time() - t0


def transfer(preset: str, args, out: str) -> tuple[dict, object, tuple[int, int]]:
    """One preset's row (see transfer_row), the loaded run, and the sizes of the training and test splits."""
    from genzoo.finetune import finetune
    from genzoo.runs import run_split

    loaded, ae_s = pretrained(preset, args, out)
    model = loaded.model
    train, test = run_split(loaded.config, "train"), run_split(loaded.config, "test")
    print(f"data: {train.source}: train {len(train)}, test {len(test)}")
    print(f"autoencoder ({loaded.config.name}: {list(model.cfg.hidden)} -> {model.cfg.latent_dim}, "
          f"greedy {model.cfg.greedy_steps} steps/layer, corruption {model.cfg.corruption}, "
          f"{loaded.config.train.steps} steps), {ae_s / 60:.1f} min")
    rows = []
    for seed in args.seeds:
        t = time.time()
        r = finetune(loaded, labels=args.labels, seed=seed, frozen_steps=args.frozen_steps,
                     unfrozen_steps=args.unfrozen_steps, lr=args.lr, unfrozen_lr=args.unfrozen_lr,
                     layers=args.layers, train_data=train, test_data=test)
        rows.append(r)
        print(f"seed {seed}: frozen {100 * r.frozen_accuracy:.2f} %, fine-tuned {100 * r.finetuned_accuracy:.2f} %, "
              f"from scratch {100 * r.scratch_accuracy:.2f} %  ({time.time() - t:.0f} s)", flush=True)
    row = transfer_row(rows)
    for name, label in (("frozen", "encoder frozen, head trained"), ("tuned", "then unfrozen and fine-tuned"),
                        ("scratch", "same network from scratch")):
        print(f"  {label:<32} {row[name]:6.2f} +- {row[name + '_sd']:.2f} % test accuracy (mean +- std over "
              f"{len(rows)} label draws)")
    return row, loaded, (len(train), len(test))


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", nargs="+", default=["stacked-dae", "stacked-ae"],
                   help="stacked-ae, and/or stacked-dae (denoising)")
    p.add_argument("--labels", type=int, default=100)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="labelled-subset seeds")
    p.add_argument("--steps", type=int, default=None, help="AE training steps (default: the preset's)")
    p.add_argument("--greedy-steps", type=int, default=None, help="pretraining steps per layer (default: preset)")
    p.add_argument("--frozen-steps", type=int, default=500)
    p.add_argument("--unfrozen-steps", type=int, default=500)
    p.add_argument("--layers", type=int, default=None, help="reuse only the encoder's first N layers (default all)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--unfrozen-lr", type=float, default=1e-4)
    p.add_argument("--data-root", help="folder with the MNIST IDX files (default: $GENZOO_DATA/mnist, else ~/.cache/genzoo/data/mnist)")
    p.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--run", default=None, help="reuse this trained autoencoder run directory (one preset)")
    p.add_argument("--run-dir", default=None, help="where the AE runs go (default: a temporary folder)")
    p.add_argument("--out", default="benchmarks/results/stacked_ae_transfer.json", help="the result JSON ('' for none)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    from common import with_earlier_rows
    from result_files import write_result

    out = args.run_dir or tempfile.mkdtemp(prefix="stacked-ae-transfer-")
    rows, corruption = {}, {}
    for preset in args.presets:
        rows[preset], loaded, (n_train, n_test) = transfer(preset, args, out)
        corruption[preset] = loaded.model.cfg.corruption
    cfg, train_steps = loaded.model.cfg, loaded.config.train.steps
    result = {
        "benchmark": "stacked_ae_transfer",
        "protocol": (f"encoder {'-'.join(map(str, [784, *cfg.hidden, cfg.latent_dim]))} of each preset "
                     f"({', '.join(f'{k}: corruption {v}' for k, v in corruption.items())}) pretrained greedily "
                     f"({cfg.greedy_steps:,} steps per layer, then {train_steps:,} end to end) on the {n_train:,} "
                     f"unlabelled training images; a softmax head trained on {args.labels} labels with the encoder "
                     f"frozen ({args.frozen_steps} steps, Adam {args.lr:g}), then the whole network fine-tuned "
                     f"({args.unfrozen_steps} steps, Adam {args.unfrozen_lr:g}); the baseline is the same network "
                     f"from scratch for the same steps on the same labels; accuracy on the {n_test:,} test images, "
                     f"mean ± std over {len(args.seeds)} class-balanced draws of the labels (seeds {args.seeds})"),
        "rows": with_earlier_rows(args.out, rows),
    }
    if args.out:
        print(f"wrote {write_result(args.out, result, keep_rows=True)}")
    return result


if __name__ == "__main__":
    main()
