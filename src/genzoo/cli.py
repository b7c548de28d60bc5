"""The `genzoo` command: each subcommand's parser (_add_NAME) and function (in COMMANDS); `genzoo sample`
lives in sample_command.py, `genzoo eval --images` in folder_eval.py, `genzoo experiment` in experiments/."""
from __future__ import annotations

import argparse
import sys

from .errors import GenzooError, Interrupted, StoppedTogether
from .experiments.command import add_parser as _add_experiment, run_command as _experiment
from .sample_command import add_sample_parser, sample


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line with a pointer to --help, not a usage dump."""

    def error(self, message):
        sys.stderr.write(f"genzoo: error: {message} (see `{self.prog} --help`)\n")
        sys.exit(2)


def _whole(low: int, high: int):
    """An argparse type: a whole number from `low` to `high` (a seed a generator takes, a count that fits)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got '{text}'") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:,} to {high:,}, got {value:,}")
        return value
    return parse


def _rate(text: str) -> float:
    """An argparse type: a learning rate, positive and finite (nan would train nothing, silently)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive, finite number, got '{text}'")
    return value


SEED = _whole(0, 2**32 - 1)


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train a model", description="Train a model into a run directory.")
    p.add_argument("model", nargs="?", help="a model from `genzoo list` (omit with --resume or --config)")
    p.add_argument("--data", help="dataset name (see `genzoo list`)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="training steps (always honoured)")
    budget.add_argument("--epochs", type=float, help="passes over the training split")
    p.add_argument("--time-budget", metavar="TIME",
                   help="train for this long, e.g. 90s, 5m, 1h (wall clock) or 300cpu (CPU-seconds); stops "
                        "cleanly with a checkpoint and samples, and a learning-rate decay follows the budget; "
                        "with --steps or --epochs, whichever ends first. A run's length then depends on the "
                        "machine's speed and load")
    p.add_argument("--threads", type=int, metavar="N",
                   help="compute threads (default: one per core this process may use; the count can change "
                        "the last bits of what a run computes, so a resumed run keeps its own)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set model.latent_dim=64 (repeatable)")
    p.add_argument("--config", help="a YAML config file (start from `genzoo show-config MODEL`)")
    p.add_argument("--out", help="the run directory to create (default: runs/MODEL-DATA-TIME)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its last checkpoint")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"),
                   help="autocast dtype (= --set train.precision=...; auto: for image data bf16 on CPUs with native "
                        "bf16 and AMP on CUDA; fp32 for points and tokens)")
    p.add_argument("--compile", action="store_true", help="torch.compile each network (= --set train.compile=true)")
    p.add_argument("--tensorboard", action="store_true",
                   help="TensorBoard event files in RUN_DIR/tensorboard (= --set train.tensorboard=true; "
                        "pip install 'genzoo[tensorboard]')")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


#: the flags of `genzoo train` that stand for a config key
FLAG_KEYS = {"data": ("--data", "data.name"), "steps": ("--steps", "train.steps"),
             "epochs": ("--epochs", "train.epochs"), "batch_size": ("--batch-size", "train.batch_size"),
             "seed": ("--seed", "train.seed"), "precision": ("--precision", "train.precision"),
             "compile": ("--compile", "train.compile"), "time_budget": ("--time-budget", "train.time_budget"),
             "tensorboard": ("--tensorboard", "train.tensorboard"), "threads": ("--threads", "train.threads")}


def _train(args) -> None:
    from .api import train
    from .config import MAX_THREADS
    from .threads import set_threads
    from .training.distributed import leave_process_group

    if args.threads is not None and not 1 <= args.threads <= MAX_THREADS:
        raise GenzooError(f"--threads must be a whole number from 1 to {MAX_THREADS:,}, got {args.threads:,}")
    _say_which_budget_applies(args)
    if args.threads is None and not args.resume:   # a resumed run keeps the count it recorded
        set_threads()
    if args.resume:
        extra = [flag for flag, v in (("MODEL", args.model), ("--data", args.data), ("--epochs", args.epochs),
                                      ("--batch-size", args.batch_size), ("--seed", args.seed),
                                      ("--config", args.config), ("--out", args.out), ("--set", args.set),
                                      ("--precision", args.precision), ("--compile", args.compile),
                                      ("--time-budget", args.time_budget),
                                      ("--tensorboard", args.tensorboard), ("--threads", args.threads)) if v]
        if extra:
            raise GenzooError(f"--resume continues a run with its saved configuration; drop {', '.join(extra)} "
                              "(only --steps may extend it; a time budget continues with the time it has left)")
    try:
        if args.resume:
            train(resume=args.resume, steps=args.steps, progress=not args.quiet)
        else:
            train(args.model, data=args.data, steps=args.steps, epochs=args.epochs, batch_size=args.batch_size,
                  seed=args.seed, config=args.config, overrides=_overrides(args), out=args.out,
                  progress=not args.quiet)
    except StoppedTogether:   # every process stopped at the same step and saved it: they leave together too
        leave_process_group()
        raise
    leave_process_group()   # under torchrun: every process is done before rank 0, which hosts the group's store, exits


def _say_which_budget_applies(args) -> None:
    """Both a length and a time budget: the first line says that the run ends at whichever comes first."""
    length = f"--steps {args.steps}" if args.steps is not None else (
        f"--epochs {args.epochs:g}" if args.epochs is not None else None)
    if args.time_budget and length:
        print(f"genzoo: {length} and --time-budget {args.time_budget}: the run stops at whichever comes first",
              file=sys.stderr, flush=True)


def _overrides(args) -> dict:
    """--set's overrides and the flags that set a config key, refusing a key given both ways."""
    from .presets import parse_override

    overrides = dict(parse_override(s) for s in args.set)
    for attr, (flag, key) in FLAG_KEYS.items():
        value = getattr(args, attr)
        if value not in (None, False) and key in overrides:   # one of the two would be ignored
            raise GenzooError(f"{flag} and --set {key}=... both set {key}; give only one of them")
        if value not in (None, False) and attr in ("precision", "compile", "time_budget", "tensorboard", "threads"):
            overrides[key] = value
    return overrides


def _list(args) -> None:
    from . import catalog
    from .presets import preset_summaries

    print("models:")
    presets = preset_summaries()
    width = max(map(len, presets))
    for name, p in presets.items():
        print(f"  {name:<{width}}  {p.get('description', '')} [{p.get('paper', '')}]")
    print("datasets:")
    infos = catalog.read()["datasets"]   # not the registry: it imports PyTorch
    width = max(len(i["name"]) for i in infos)
    for info in infos:
        print(f"  {info['name']:<{width}}  {info['description']} [{info['reference']}]")


def _show_config(args) -> None:
    from .presets import preset_text
    sys.stdout.write(preset_text(args.model))


def _add_finetune(sub) -> None:
    p = sub.add_parser("finetune", help="reuse a trained encoder as a classifier's base (frozen, then unfrozen)",
                       description="Transfer learning: the encoder of RUN_DIR becomes the base of a classifier "
                                   "trained on N labelled examples, first frozen (head only), then unfrozen; "
                                   "compared with the same classifier trained from scratch on the same labels.")
    p.add_argument("run_dir")
    p.add_argument("--labels", type=int, default=100, help="labelled training examples, class-balanced (default 100)")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the labelled subset and of the heads")
    p.add_argument("--frozen-steps", type=int, default=500, help="phase 1 steps: head only (default 500)")
    p.add_argument("--unfrozen-steps", type=int, default=500, help="phase 2 steps: whole network (default 500)")
    p.add_argument("--lr", type=_rate, default=1e-3, help="phase 1 and from-scratch learning rate")
    p.add_argument("--unfrozen-lr", type=_rate, default=1e-4, help="phase 2 learning rate")
    p.add_argument("--layers", type=_whole(1, 1000), help="reuse only the encoder's first N layers (MLP; default: all)")
    p.add_argument("--step", type=int, help="use the checkpoint of this step (default: the latest)")
    p.add_argument("--out", help="write the result as JSON here (default: RUN_DIR/finetune-labelsN-seedS.json)")


def _finetune(args) -> None:
    from pathlib import Path

    from .finetune import finetune, write_result
    from .runs import RunDir
    from .safe_write import check_writable_file

    for flag in ("labels", "frozen_steps", "unfrozen_steps"):
        if getattr(args, flag) < (1 if flag == "labels" else 0):
            raise GenzooError(f"--{flag.replace('_', '-')} must be {'positive' if flag == 'labels' else '>= 0'}, "
                              f"got {getattr(args, flag)}")
    run = RunDir.open(args.run_dir)
    out = Path(args.out) if args.out else Path(args.run_dir) / f"finetune-labels{args.labels}-seed{args.seed}.json"
    check_writable_file(out, results=True)   # before the training, which a bad path would waste
    result = finetune(run.load(args.step), labels=args.labels, seed=args.seed, frozen_steps=args.frozen_steps,
                      unfrozen_steps=args.unfrozen_steps, lr=args.lr, unfrozen_lr=args.unfrozen_lr,
                      layers=args.layers)
    print(result.summary())
    print(f"genzoo: wrote {write_result(result, out)}")


def _eval(args) -> None:
    from .evaluation import PROTOCOLS, evaluate_run, format_results

    if args.metrics == "list":
        _list_metrics()
        return
    metrics = [m.strip() for m in args.metrics.split(",")] if args.metrics else None
    if args.images or args.against or args.features:
        _eval_folders(args, metrics)
        return
    if args.out:
        raise GenzooError("--out names the JSON of an evaluation of --images; a run's results go to RUN_DIR/eval.json")
    if args.real:
        from .metrics import format_floor_table, real_floor
        if args.run_dir:
            raise GenzooError("give either RUN_DIR or --real DATASET, not both")
        if args.step is not None:
            raise GenzooError("--step picks a checkpoint of RUN_DIR; it does not apply to --real")
        n = args.n if args.n is not None else PROTOCOLS[args.protocol]["n"]
        print(format_floor_table(real_floor(args.real, n, root=args.data_root, seed=args.seed)))
        return
    if not args.run_dir:
        raise GenzooError("give a run directory to evaluate, or --real DATASET for the real-vs-real floor")
    results = evaluate_run(args.run_dir, protocol=args.protocol, metrics=metrics, seed=args.seed, step=args.step,
                           n=args.n, k=args.k, ais_runs=args.ais_runs, ais_betas=args.ais_betas)
    print(f"genzoo: evaluation of {args.run_dir} (details and protocols in {args.run_dir}/eval.json)")
    print(format_results(results))


def _list_metrics() -> None:
    """genzoo eval --metrics list: every registered metric, the data it applies to, and its protocol."""
    from .metrics import METRICS

    width = max(len(name) for name in METRICS)
    for name, m in METRICS.items():
        print(f"  {name:<{width}}  {'/'.join(m.kinds)}{'' if m.default else ', on request'}: {m.protocol}")


def _eval_folders(args, metrics: list[str] | None) -> None:
    """genzoo eval --images DIR --against DATASET|DIR2: a folder of images made by any tool."""
    from .evaluation import MAX_EVAL_SAMPLES, PROTOCOLS, format_results
    from .folder_eval import default_out, evaluate_folders, write_results
    from .safe_write import check_writable_file

    if not (args.images and args.against):
        raise GenzooError("give --images DIR and --against DATASET or --against DIR2 (e.g. --against mnist)")
    given = [flag for flag, v in (("RUN_DIR", args.run_dir), ("--real", args.real), ("--step", args.step),
                                  ("--k", args.k), ("--ais-runs", args.ais_runs), ("--ais-betas", args.ais_betas),
                                  ("--data-root", args.data_root)) if v is not None]
    if given:
        raise GenzooError(f"--images scores a folder of images; drop {', '.join(given)} (they are for a run)")
    n = args.n if args.n is not None else PROTOCOLS[args.protocol]["n"]
    if not 2 <= n <= MAX_EVAL_SAMPLES:
        raise GenzooError(f"--n must be from 2 to {MAX_EVAL_SAMPLES:,} images, got {n:,}")
    to_stdout = args.out == "-"
    out = args.out or default_out(args.images, args.against)
    if not to_stdout:   # before the work, which a bad path would waste; never over a run's own files
        check_writable_file(out, results=True)
    log = (lambda *a: print(*a, file=sys.stderr)) if to_stdout else print
    results = evaluate_folders(args.images, args.against, features=args.features, n=n, metrics=metrics,
                               seed=args.seed, protocol=args.protocol, log=log)
    log(f"genzoo: evaluation of the images in {args.images} against {args.against}")
    log(format_results(results))
    path = write_results(results, out)
    if not to_stdout:
        print(f"genzoo: wrote {path} (the numbers with their protocols: counts, conversion, features)")


def _add_report(sub) -> None:
    p = sub.add_parser("report", help="one self-contained HTML page of one or more runs",
                       description="Write an HTML report (images inlined, no network needed): configuration and "
                                   "environment, training curves with the learning rates, the sample grids over "
                                   "time, the latest eval.json beside the real-vs-real floor, the checkpoints; "
                                   "several runs: curves overlaid and metrics side by side.")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--out", help="the HTML file to write (default: FIRST_RUN_DIR/report.html)")
    p.add_argument("--no-floor", action="store_true",
                   help="do not compute the real-vs-real floor of image metrics (faster)")


def _report(args) -> None:
    from .report import build_report

    path = build_report(args.run_dirs, args.out, floor=not args.no_floor)
    print(f"genzoo: wrote the report of {len(args.run_dirs)} run(s) to {path}")


def _add_explore(sub) -> None:
    p = sub.add_parser("explore", help="a local web page to play with a trained model: its latent space or captions (Gradio)",
                       description="Serve a local page (Gradio; pip install 'genzoo[explore]'): sliders along the "
                                   "leading latent directions, seed, truncation, class, interpolation between two "
                                   "seeds; an upload box for translation models; a caption box for text-to-image "
                                   "models. Binds to 127.0.0.1; no network.")
    p.add_argument("run_dir")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a --host that other machines can reach (the page has no login)")
    p.add_argument("--directions", choices=("pca", "raw"), default="pca",
                   help="the sliders move z along the prior's principal axes (pca) or its first coordinates (raw)")
    p.add_argument("--step", type=int, help="use the checkpoint of this step (default: the latest)")


def _explore(args) -> None:
    from .explore import serve

    serve(args.run_dir, port=args.port, host=args.host, directions=args.directions, step=args.step,
          allow_remote=args.allow_remote, log=lambda text: print(text, file=sys.stderr))


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="the generator, decoder or translator alone, as TorchScript or ONNX",
                       description="Export a run's sampler (generator, decoder or translator) with its input "
                                   "signature and a JSON sidecar (FILE.json: latent size, classes, image shape, "
                                   "value range, preprocessing). Run it with genzoo.load_exported(FILE), "
                                   "torch.jit.load or onnxruntime, without genzoo's training code. A TorchScript "
                                   "file is code: load only your own (load_exported(FILE, trusted=True)); "
                                   "share ONNX.")
    p.add_argument("run_dir")
    p.add_argument("--format", choices=("torchscript", "onnx"), default="torchscript")
    p.add_argument("--out", help="the file to write (default: RUN_DIR/export/model.pt or model.onnx)")
    p.add_argument("--step", type=int, help="export the checkpoint of this step (default: the latest)")


def _export(args) -> None:
    from .export import export_run

    path = export_run(args.run_dir, args.format, out=args.out, step=args.step)
    print(f"genzoo: wrote {path} ({args.format}) and its sidecar {path}.json")


def _add_eval(sub) -> None:
    p = sub.add_parser("eval", help="metrics of a trained run (written to RUN_DIR/eval.json), of a folder of "
                                    "images, or the real-data floor",
                       description="Evaluate a run (its samples against its dataset's test split, and the metrics "
                                   "that apply to its model), a folder of images made by any tool (--images DIR "
                                   "--against DATASET or DIR2; converted to the dataset's format), or the "
                                   "real-vs-real floor of a dataset (--real).")
    p.add_argument("run_dir", nargs="?")
    p.add_argument("--images", metavar="DIR", help="score the images in DIR (PNG, JPEG, ...; any size and mode) "
                                                  "instead of a run's samples")
    p.add_argument("--against", metavar="DATASET|DIR2", help="with --images: a dataset's test split (e.g. mnist) or "
                                                            "another folder of images (an existing folder wins)")
    p.add_argument("--features", metavar="DATASET",
                   help="with --images: the feature space (genzoo's classifier) and image format of this dataset "
                        "(default: the --against dataset, or mnist against a folder)")
    p.add_argument("--out", metavar="FILE", help="with --images: the JSON to write (default: beside the folder, "
                                                "DIR-vs-AGAINST.eval.json; '-' for stdout)")
    p.add_argument("--real", metavar="DATASET", help="real-vs-real floor and two corruptions at the same --n")
    p.add_argument("--protocol", choices=("quick", "paper"), default="quick",
                   help="quick (default): a budget that takes about a minute on 2 CPU cores, with standard errors; "
                        "paper: the papers' budget (hours for AIS on a CPU); eval.json records which")
    p.add_argument("--n", type=int, help="samples (and real images) per metric (quick 2000; paper 10000)")
    from . import catalog
    names = ", ".join(catalog.read()["metrics"])   # the registry's names, read without importing PyTorch
    p.add_argument("--metrics", help=f"comma-separated metric names ({names}; default: every metric that applies "
                                     "to the model); `--metrics list` lists them with their protocols")
    p.add_argument("--k", type=_whole(1, 100_000),
                   help="importance samples per image for the NLL (quick 100; paper 5000)")
    p.add_argument("--ais-runs", type=_whole(1, 10_000), help="AIS runs (quick 20; paper 100)")
    p.add_argument("--ais-betas", type=_whole(2, 1_000_000),
                   help="AIS intermediate temperatures (quick 1000; paper 14500)")
    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument("--step", type=int, help="evaluate the checkpoint of this step (default: the latest)")
    p.add_argument("--data-root", help="with --real: the dataset's folder")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="genzoo", description="The classic deep generative models, faithful to their papers.")
    parser.add_argument("--version", action="version", version=f"genzoo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("list", help="every model and dataset, one line each")
    _add_train(sub)
    add_sample_parser(sub)
    _add_eval(sub)
    p = sub.add_parser("show-config", help="print a model's preset; edit it and pass it back with --config")
    p.add_argument("model")
    _add_finetune(sub)
    p = sub.add_parser("completion", help="print a shell completion script (bash or zsh)",
                       description="Print a script that completes genzoo's subcommands, flags, model and dataset "
                                   "names and --set keys. bash: add `eval \"$(genzoo completion bash)\"` to "
                                   "~/.bashrc; zsh: `genzoo completion zsh > ~/.zfunc/_genzoo` with ~/.zfunc in "
                                   "$fpath before compinit.")
    p.add_argument("shell", choices=("bash", "zsh"))
    p.set_defaults(parser=parser)   # the script is made from this parser; building another costs start-up time
    _add_export(sub)
    _add_report(sub)
    _add_explore(sub)
    _add_experiment(sub)
    return parser


COMMANDS = {"eval": _eval, "train": _train, "list": _list, "show-config": _show_config, "sample": sample}
COMMANDS["finetune"] = _finetune
COMMANDS["completion"] = lambda args: sys.stdout.write(_completion_script(args.parser, args.shell))
COMMANDS["export"] = _export
COMMANDS["report"] = _report
COMMANDS["explore"] = _explore
COMMANDS["experiment"] = _experiment


def _completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    from .completion import script
    return script(parser, shell)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
        sys.stdout.flush()  # inside the try: a reader that went away is noticed here, not at exit
    except Interrupted as e:
        if str(e):   # under torchrun, process 0 alone says where the run was saved
            print(f"genzoo: {e}", file=sys.stderr)
        return 130
    except GenzooError as e:
        print(f"genzoo: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("genzoo: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _reader_went_away()
    return 0


def _reader_went_away() -> int:
    """`genzoo list | head`: the reader closed the pipe. Stop quietly, as `cat` does: send what is left
    of stdout to /dev/null (so the exit-time flush cannot fail again) and exit 141 (128 + SIGPIPE)."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141


if __name__ == "__main__":
    sys.exit(main())
