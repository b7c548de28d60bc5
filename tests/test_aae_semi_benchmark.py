"""benchmarks/aae_semi.py: the diagnostics it prints beside the test error (largest confusions, slants)."""
import math
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import aae_semi  # noqa: E402


def _stroke(cells, size=3):
    image = torch.zeros(1, size, size)
    for row, col in cells:
        image[0, row, col] = 1.0
    return image


def test_slant_is_the_shear_in_columns_per_row_positive_when_the_top_leans_right():
    # ink at (row, col) = (0, 2), (1, 1), (2, 0): one column to the right per row up; by hand
    # cov(col, row) = ((1)(-1) + 0 + (-1)(1)) / 3 = -2/3, var(row) = 2/3, so the slant is 1
    leaning_right = _stroke([(0, 2), (1, 1), (2, 0)])
    leaning_left = _stroke([(0, 0), (1, 1), (2, 2)])
    upright = _stroke([(0, 1), (1, 1), (2, 1)])
    # ink at (0, 1) and (2, 0): one column over two rows, 0.5
    half = _stroke([(0, 1), (2, 0)])
    got = aae_semi.slant(torch.stack([leaning_right, leaning_left, upright, half]))
    assert got.tolist() == pytest.approx([1.0, -1.0, 0.0, 0.5])


def test_top_confusions_counts_off_diagonal_pairs_largest_first():
    y = torch.tensor([3, 3, 3, 3, 5, 5, 5, 4, 4, 9])
    read = torch.tensor([5, 5, 5, 3, 3, 3, 5, 9, 4, 9])   # 3 -> 5 three times, 5 -> 3 twice, 4 -> 9 once
    assert aae_semi.top_confusions(read, y, k=3) == [(3, 5, 3), (5, 3, 2), (4, 9, 1)]


def test_pair_slants_splits_each_digit_by_what_it_is_read_as():
    right, left = _stroke([(0, 2), (1, 1), (2, 0)]), _stroke([(0, 0), (1, 1), (2, 2)])
    model = SimpleNamespace(lab_x=torch.stack([right, right, left]), lab_y=torch.tensor([5, 5, 3]))
    x = torch.stack([right, left, left, right])
    y = torch.tensor([3, 3, 5, 5])
    read = torch.tensor([5, 3, 3, 3])   # the test 5s, one leaning each way, both read as 3: mean slant 0
    got = aae_semi.pair_slants(model, x, y, read, 3, 5)
    assert {k: v for k, v in got.items() if k != "test 5 read as 5"} == {
        "labelled 3": -1.0, "test 3 read as 3": -1.0, "test 3 read as 5": 1.0,
        "labelled 5": 1.0, "test 5 read as 3": 0.0}
    assert math.isnan(got["test 5 read as 5"])   # no test 5 is read as 5
