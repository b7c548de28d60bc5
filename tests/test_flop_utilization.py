"""benchmarks/flop_utilization.py: which calls of a costly operator the results file names."""
from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from flop_utilization import costliest_calls, describe_cost  # noqa: E402


def _group(key, micros, count, shapes):
    return SimpleNamespace(key=key, self_cpu_time_total=micros, count=count, input_shapes=shapes)


def test_the_costliest_group_of_calls_is_named_per_step():
    groups = [_group("aten::add", 111_200, 10, [[1024, 6272], [1024, 6272], []]),
              _group("aten::add", 400, 30, [[], [], []]),
              _group("aten::copy_", 900_000, 50, [[64, 128, 7, 7], [64, 128, 7, 7], []])]
    top = costliest_calls(groups, "aten::add", steps=10)
    # 111,200 us over 10 steps: 11.12 ms per step in 1 call; empty shapes (scalars) are left out
    assert top == {"input_shapes": [[1024, 6272], [1024, 6272]], "ms_per_step": 11.12, "calls_per_step": 1.0}
    row = {"operator": "aten::add", "ms_per_step": 11.16, "share_pct": 4.1, "calls_per_step": 4,
           "costliest_calls": top}
    assert describe_cost(row) == ("`aten::add` 11.16 ms (4.1%, 4 calls; 11.12 ms of it in 1 call(s) on "
                                  "1024x6272 and 1024x6272)")
    adam = {"operator": "aten::_fused_adam_", "ms_per_step": 9.82, "share_pct": 4.0, "calls_per_step": 2,
            "costliest_calls": {"input_shapes": [], "ms_per_step": 9.82, "calls_per_step": 2.0}}
    assert describe_cost(adam) == "`aten::_fused_adam_` 9.82 ms (4.0%, 2 calls; 9.82 ms of it in 2 call(s))"


def test_interleaved_steps_alternate_the_order_and_report_medians_ranges_and_the_ratio():
    import interleaved_steps as ab

    seen = []

    def timed(trainer, block):   # the preset 0.2 s per step, the variant 0.1 s, and a slow third round for both
        seen.append(trainer)
        return {"a": 0.2, "b": 0.1}[trainer] * (3 if len(seen) in (5, 6) else 1)
    times = ab.interleaved({"preset": "a", "v": "b"}, rounds=4, block=10, timed=timed)
    assert seen == ["a", "b", "b", "a", "a", "b", "b", "a"]   # the order flips every other round
    assert times == {"preset": pytest.approx([0.2, 0.2, 0.6, 0.2]), "v": pytest.approx([0.1, 0.1, 0.3, 0.1])}
    out = ab.summary(times, "v")
    assert out["rows"]["preset"] == {"ms_per_step": 200.0, "ms_range": [200.0, 600.0], "rounds": 4}
    assert out["rows"]["v"]["ms_per_step"] == 100.0 and out["values"]["variant_over_preset"] == 0.5
