"""The `iwae` preset as it stands (its nets, k = 50, batch 20), trained and scored as the `vae_nll` spec's row:
30 CPU-minutes, then the importance-sampled test NLL with k = 5000 (see specs/vae_nll.py).

    python benchmarks/run.py iwae_nll --data-root DIR
"""
from __future__ import annotations

from dataclasses import replace

from spec import Row
from specs.vae_nll import BUDGET, SPEC as VAE_NLL, TRAINING

SPEC = replace(VAE_NLL, name="iwae_nll", results="benchmarks/results/iwae_nll.json",
               rows=(Row("iwae", "iwae", overrides=TRAINING, stop=BUDGET, metrics=("importance_nll",)),))
