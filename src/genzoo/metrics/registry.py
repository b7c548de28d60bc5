"""The metric registry: every metric `genzoo eval` knows, with where it applies, whether it is a
default, its protocol and how its result reads in one line.

A metric is one registered function of an `Evaluation` (genzoo.metrics.context: the run, its model,
its data splits and the options of `genzoo eval`) that returns its result as a dict of numbers and
protocol fields:

    from genzoo.metrics.registry import register_metric

    @register_metric("mean_intensity", kinds=("image",), protocol="mean pixel of n samples in [0, 1]",
                     format=lambda r: f"{r['value']:.3f}")
    def mean_intensity(ev):
        return {"value": ev.samples(ev.n).mean().item(), "n": ev.n}

A metric that reads more of a model than its samples names the capabilities it needs (protocols of
genzoo.models.capabilities); it applies only to models that have them. genzoo's own metrics are
registered by the modules of this package that compute them, in the order `genzoo eval` lists them.
`genzoo eval` runs every default metric that applies; `--metrics` names others; a named metric that
does not apply is refused with its reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from ..errors import GenzooError

if TYPE_CHECKING:
    from .context import Evaluation


@dataclass(frozen=True)
class Metric:
    name: str
    compute: Callable[["Evaluation"], dict]
    kinds: tuple[str, ...]                                    # the data kinds it can apply to
    protocol: str                                             # one line: what is compared, and how
    applies: Callable[["Evaluation"], str | None] | None = None   # beyond kinds and needs: None, or why not
    default: bool = True                                      # run by `genzoo eval` without --metrics
    format: Callable[[dict], str] | None = None               # its one-line summary
    needs: tuple[type, ...] = ()                              # the model's capabilities it reads
    lacking: str = ""                                         # why not, for a model without them ('' : no more)
    images: bool = False                                      # scores images in genzoo's classifier's features

    def refusal(self, ev: "Evaluation") -> str | None:
        """None when the metric applies to the run; else '' (no reason beyond the data kind) or a reason."""
        if ev.model.data.kind not in self.kinds:
            return ""
        if not all(isinstance(ev.model, capability) for capability in self.needs):
            return self.lacking
        return self.applies(ev) if self.applies is not None else None


METRICS: dict[str, Metric] = {}


def register_metric(name: str, *, kinds: tuple[str, ...], protocol: str,
                    applies: Callable[["Evaluation"], str | None] | None = None, default: bool = True,
                    format: Callable[[dict], str] | None = None, needs: tuple[type, ...] = (),
                    lacking: str = "", images: bool = False):
    """Decorator: register `compute(ev) -> dict` as the metric `name` (a later registration replaces it).
    needs: capabilities (genzoo.models.capabilities) the model must have; lacking: the reason given to a model
    without them. images: one of the image metrics (scored from one set of samples in the features of genzoo's
    classifier, with a real-vs-real floor; a folder of images gets them too)."""
    def decorate(compute: Callable[["Evaluation"], dict]) -> Callable[["Evaluation"], dict]:
        METRICS[name] = Metric(name, compute, tuple(kinds), protocol, applies, default, format, tuple(needs),
                               lacking, images)
        return compute
    return decorate


def image_metrics(*, defaults: bool = False) -> tuple[str, ...]:
    """The registered image metrics (only the defaults with defaults=True), in registration order."""
    return tuple(name for name, m in METRICS.items() if m.images and (m.default or not defaults))


def applicable_metrics(ev: "Evaluation") -> list[str]:
    """Every registered metric that applies to the run, in registration order."""
    return [name for name, m in METRICS.items() if m.refusal(ev) is None]


def default_metrics(ev: "Evaluation") -> list[str]:
    """The metrics `genzoo eval` runs without --metrics: the registered defaults that apply."""
    return [name for name in applicable_metrics(ev) if METRICS[name].default]


def check_metrics(ev: "Evaluation", metrics: list[str]) -> None:
    """Refuse unknown metrics, and metrics that do not apply (with the reason, or the ones that do)."""
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise GenzooError(f"unknown metric(s) {', '.join(unknown)}; choose from {', '.join(METRICS)}")
    refusals = {m: r for m in metrics if (r := METRICS[m].refusal(ev)) is not None}
    plain = [m for m, reason in refusals.items() if not reason]
    if plain:
        cfg = ev.config
        raise GenzooError(f"{', '.join(plain)} {'does' if len(plain) == 1 else 'do'} not apply to {cfg.name} on "
                          f"{cfg.data.name}; the metrics that do: {', '.join(applicable_metrics(ev))}")
    if refusals:
        raise GenzooError(next(iter(refusals.values())))


def value_text(r: dict) -> str:
    """A result's value with its spread (std, or std error), as most metrics print it."""
    spread = next((f" +/- {r[key]:.4f}" + (" (std error)" if key == "stderr" else "")
                   for key in ("std", "stderr") if key in r), "")
    return f"{r['value']:.4f}{spread}"
