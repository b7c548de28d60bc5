"""The metric registry: every metric `genzoo eval` knows, with where it applies, whether it is a
default, its protocol and how its result reads in one line.

A metric is one registered function of an `Evaluation` (genzoo.evaluation: the run, its model, its
data splits and the options of `genzoo eval`) that returns its result as a dict of numbers and
protocol fields:

    from genzoo.metrics.registry import register_metric

    @register_metric("mean_intensity", kinds=("image",), protocol="mean pixel of n samples in [0, 1]",
                     format=lambda r: f"{r['value']:.3f}")
    def mean_intensity(ev):
        return {"value": ev.samples(ev.n).mean().item(), "n": ev.n}

`genzoo eval` runs every default metric that applies; `--metrics` names others; a named metric that
does not apply is refused with its reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from ..evaluation import Evaluation


@dataclass(frozen=True)
class Metric:
    name: str
    compute: Callable[["Evaluation"], dict]
    kinds: tuple[str, ...]                                    # the data kinds it can apply to
    protocol: str                                             # one line: what is compared, and how
    applies: Callable[["Evaluation"], str | None] | None = None   # beyond `kinds`: None, or why it does not
    default: bool = True                                      # run by `genzoo eval` without --metrics
    format: Callable[[dict], str] | None = None               # its one-line summary

    def refusal(self, ev: "Evaluation") -> str | None:
        """None when the metric applies to the run; else '' (no reason beyond the data kind) or a reason."""
        if ev.model.data.kind not in self.kinds:
            return ""
        return self.applies(ev) if self.applies is not None else None


METRICS: dict[str, Metric] = {}


def register_metric(name: str, *, kinds: tuple[str, ...], protocol: str,
                    applies: Callable[["Evaluation"], str | None] | None = None, default: bool = True,
                    format: Callable[[dict], str] | None = None):
    """Decorator: register `compute(ev) -> dict` as the metric `name` (a later registration replaces it)."""
    def decorate(compute: Callable[["Evaluation"], dict]) -> Callable[["Evaluation"], dict]:
        METRICS[name] = Metric(name, compute, tuple(kinds), protocol, applies, default, format)
        return compute
    return decorate
