"""`genzoo experiment`: list the experiments, or run one (or all) and print a three-line summary each."""
from __future__ import annotations

import textwrap
from pathlib import Path

from ..errors import GenzooError


def add_parser(sub) -> None:
    p = sub.add_parser("experiment", help="run a lecture phenomenon as a measured experiment (figure + verdict)",
                       description="Run a phenomenon of the lecture notes as an experiment: it writes OUT/NAME.png "
                                   "(the figure), OUT/NAME.json (numbers, protocol, claim and verdict) and prints a "
                                   "summary. `all` runs every experiment in turn.")
    p.add_argument("name", nargs="?", help="an experiment from --list, or 'all'")
    p.add_argument("--list", action="store_true", help="every experiment with its claim and the notes it comes from")
    p.add_argument("--quick", action="store_true", help="a small budget (under a minute on 2 CPU cores each)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="experiments", help="folder for NAME.png and NAME.json (default: experiments)")
    p.add_argument("--run", metavar="RUN_DIR", help="a trained run to use instead of training one (experiments "
                                                    "that train a model; --list says which)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run_command(args) -> None:
    from . import get, names, run

    if args.list:
        for name in names():
            exp = get(name)
            print(f"{name}\n  claim: {exp.claim}\n  from:  {exp.source}"
                  + (f"\n  --run: {exp.uses_run}" if exp.uses_run else ""))
        return
    if not args.name:
        raise GenzooError("name an experiment (or 'all'); `genzoo experiment --list` shows them")
    chosen = names() if args.name == "all" else [args.name]
    if args.run and len(chosen) > 1:
        raise GenzooError("--run gives one trained run to one experiment; name the experiment instead of 'all'")
    failed = []
    for name in chosen:
        try:
            record = run(name, quick=args.quick, seed=args.seed, out=args.out, run_dir=args.run,
                         progress=not args.quiet)
        except GenzooError as e:
            if len(chosen) == 1:
                raise
            print(f"{name}: error: {e}")
            failed.append(name)
            continue
        print(summary(record, Path(args.out)), flush=True)
    if failed:
        raise GenzooError(f"{len(failed)} experiment(s) failed: {', '.join(failed)}")


def summary(record: dict, out: Path) -> str:
    """Three lines: the verdict on the claim, what was measured against which rule, where the files are."""
    mark = "HOLDS" if record["holds"] else "DOES NOT HOLD"
    return (f"{record['name']}: {mark}: {record['claim']}\n"
            f"  measured: {textwrap.shorten(record['measured'], 200)} (rule: {textwrap.shorten(record['rule'], 160)})\n"
            f"  wrote {out / (record['name'] + '.png')} and .json in {record['seconds']:.0f} s"
            + (" (--quick)" if record["quick"] else ""))
