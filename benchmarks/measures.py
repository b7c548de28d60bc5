"""Every metric a benchmark spec may name: importing this module registers them all, one module per family
(what a metric is, its context and the registry are in `measuring`)."""
from __future__ import annotations

import measures_boltzmann  # noqa: F401
import measures_captions  # noqa: F401
import measures_images  # noqa: F401
import measures_likelihood  # noqa: F401
from measuring import METRICS, Context, generate, metric

__all__ = ["METRICS", "Context", "generate", "metric"]
