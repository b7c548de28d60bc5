"""The contributors' guide adds a model end to end (docs/examples/wae.py and wae.yaml): it must
keep working with the library as it is."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
sys.path.insert(0, str(EXAMPLES))
import wae  # noqa: E402  (registers the "wae" algorithm)

import genzoo  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny nets: one thread is fastest, and spares a busy CPU


# --8<-- [start:mmd]
def test_imq_mmd_of_two_point_sets_by_hand():
    # k = C / (C + d^2) with C = 1: 1 within each set (d = 0), 1/2 across (d = 1)
    a, b = torch.zeros(2, 1), torch.ones(2, 1)
    assert wae.imq_mmd(a, b, scale=1.0).item() == pytest.approx(1 + 1 - 2 * 0.5)
    assert wae.imq_mmd(a, a, scale=1.0).item() == pytest.approx(0.0)
# --8<-- [end:mmd]


def test_the_example_model_trains_resumes_and_samples(tmp_path):
    run = genzoo.train(config=EXAMPLES / "wae.yaml", data="digits", steps=6, batch_size=32,
                       overrides={"train.checkpoint_every": 3}, out=tmp_path / "run", progress=False)
    logged = [json.loads(line) for line in (run.dir / "metrics.jsonl").read_text().splitlines()]
    assert {"reconstruction", "mmd"} <= set().union(*logged)
    genzoo.train(resume=run.dir, steps=9, progress=False)
    images = genzoo.load(run.dir).sample(5, generator=torch.Generator().manual_seed(0))
    assert images.shape == (5, 1, 8, 8)
    assert 0.0 <= images.min().item() and images.max().item() <= 1.0
