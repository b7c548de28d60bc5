"""The `genzoo` command: list, train, sample, show-config, eval."""
from __future__ import annotations

import argparse
import sys

from .errors import GenzooError


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line with a pointer to --help, not a usage dump."""

    def error(self, message):
        sys.stderr.write(f"genzoo: error: {message} (see `{self.prog} --help`)\n")
        sys.exit(2)


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train a model", description="Train a model into a run directory.")
    p.add_argument("model", nargs="?", help="a model from `genzoo list` (omit with --resume or --config)")
    p.add_argument("--data", help="dataset name (see `genzoo list`)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="training steps")
    budget.add_argument("--epochs", type=float, help="passes over the training split")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set model.latent_dim=64 (repeatable)")
    p.add_argument("--config", help="a YAML config file (start from `genzoo show-config MODEL`)")
    p.add_argument("--out", help="the run directory to create (default: runs/MODEL-DATA-TIME)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its last checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _train(args) -> None:
    from .api import train
    from .config import parse_override

    if args.resume:
        extra = [flag for flag, v in (("MODEL", args.model), ("--data", args.data), ("--epochs", args.epochs),
                                      ("--batch-size", args.batch_size), ("--seed", args.seed),
                                      ("--config", args.config), ("--out", args.out), ("--set", args.set)) if v]
        if extra:
            raise GenzooError(f"--resume continues a run with its saved configuration; drop {', '.join(extra)} "
                              "(only --steps may extend it)")
        train(resume=args.resume, steps=args.steps, progress=not args.quiet)
        return
    overrides = dict(parse_override(s) for s in args.set)
    train(args.model, data=args.data, steps=args.steps, epochs=args.epochs, batch_size=args.batch_size,
          seed=args.seed, config=args.config, overrides=overrides, out=args.out, progress=not args.quiet)


def _list(args) -> None:
    from .config import load_preset, list_presets
    from .data import list_datasets

    print("models:")
    presets = [(name, load_preset(name)) for name in list_presets()]
    width = max(len(n) for n, _ in presets)
    for name, p in presets:
        print(f"  {name:<{width}}  {p.get('description', '')} [{p.get('paper', '')}]")
    print("datasets:")
    infos = list_datasets()
    width = max(len(i.name) for i in infos)
    for info in infos:
        print(f"  {info.name:<{width}}  {info.description} [{info.reference}]")


def _show_config(args) -> None:
    from .config import preset_text
    sys.stdout.write(preset_text(args.model))


def _sample(args) -> None:
    from pathlib import Path

    from .api import load
    from .train.trainer import save_samples

    if args.n <= 0:
        raise GenzooError(f"--n must be a positive number of samples, got {args.n}")
    model = load(args.run_dir, step=args.step)
    out = Path(args.out) if args.out else Path(args.run_dir) / "samples" / f"sample-seed{args.seed}.png"
    path = save_samples(model, out, args.n, seed=args.seed)
    print(f"genzoo: wrote {args.n} samples to {path}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="genzoo", description="The classic deep generative models, faithful to their papers.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("list", help="every model and dataset, one line each")
    _add_train(sub)
    p = sub.add_parser("sample", help="draw samples from a trained run into a PNG grid")
    p.add_argument("run_dir")
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--step", type=int, help="use the checkpoint of this step (default: the latest)")
    p.add_argument("--out", help="the PNG to write (default: RUN_DIR/samples/sample-seedS.png)")
    p = sub.add_parser("show-config", help="print a model's preset; edit it and pass it back with --config")
    p.add_argument("model")
    return parser


COMMANDS = {"train": _train, "list": _list, "show-config": _show_config, "sample": _sample}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except GenzooError as e:
        print(f"genzoo: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("genzoo: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
