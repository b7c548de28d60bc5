"""The grammar metric of `genzoo eval`: how many of a sequence model's samples the arithmetic grammar of
genzoo.data.grammar accepts, how many distinct ones, and how many of those the training data lacks."""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from ..data.grammar import VOCAB, decode, grammar_metrics
from .registry import register_metric

if TYPE_CHECKING:
    from .context import Evaluation

#: the PacGAN-sized sample of the grammar benchmark (benchmarks/gsgan_grammar.py draws 10,000 a seed)
MAX_SEQUENCES = 10_000


def _grammar_vocabulary(ev: Evaluation) -> str | None:
    return None if ev.model.data.vocab_size == len(VOCAB) else (
        f"the grammar metric parses arithmetic expressions: it applies to models of the arith data, not "
        f"{ev.config.data.name}")


@register_metric("grammar", kinds=("tokens",), applies=_grammar_vocabulary,
                 protocol="share of sampled sequences the arithmetic grammar accepts, distinct ones, and those "
                          "not in the training data",
                 format=lambda r: (f"{100 * r['valid_fraction']:.1f}% grammatical, {r['distinct_valid']} distinct "
                                   f"({r['novel_valid']} not in the training data), n={r['n']}"))
def grammar(ev: Evaluation) -> dict:
    n = min(ev.n, MAX_SEQUENCES)
    g = torch.Generator(device=ev.model.device).manual_seed(ev.seed)
    x = torch.cat([ev.model.sample(min(1000, n - i), generator=g).cpu() for i in range(0, n, 1000)])
    train = ev.split("train")
    return {**grammar_metrics(x, reference=set(decode(train.x))),
            "protocol": f"{n} sequences drawn with seed {ev.seed}, parsed by S -> S+S | S-S | S*S | S/S | (S) | x; "
                        f"novel: not among the {len(train)} training expressions of {train.source}"}
