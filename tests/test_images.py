"""Sample grids and point plots: layout, value mapping, PNG files readable by Pillow."""
import os

import numpy as np
import pytest
import torch
from PIL import Image

from genzoo.images import make_grid, save_grid, save_points


def _three_gray_images():
    # 3 images of 1x2x2 with constant values 0, 0.2, 0.6
    return torch.stack([torch.full((1, 2, 2), v) for v in (0.0, 0.2, 0.6)])


def test_make_grid_layout_and_padding_by_hand():
    grid = make_grid(_three_gray_images(), padding=1, pad_value=1.0)
    # nrow = ceil(sqrt(3)) = 2 -> 2 rows; each side: 2 * (2 + 1) + 1 = 7
    assert grid.shape == (7, 7, 1) and grid.dtype == np.uint8
    g = grid[..., 0]
    assert (g[1:3, 1:3] == 0).all()      # image 0, top left
    assert (g[1:3, 4:6] == 51).all()     # image 1: round(0.2 * 255)
    assert (g[4:6, 1:3] == 153).all()    # image 2: round(0.6 * 255), second row
    assert (g[4:6, 4:6] == 255).all()    # empty cell is padding
    assert (g[0, :] == 255).all() and (g[:, 3] == 255).all() and (g[-1, :] == 255).all()
    assert (g == 255).sum() == 7 * 7 - 3 * 4


def test_make_grid_nrow_and_clamping():
    imgs = torch.tensor([-1.0, 2.0, 0.5]).view(3, 1, 1, 1).expand(3, 1, 3, 4)
    grid = make_grid(imgs, nrow=3, padding=2, pad_value=0.0)
    assert grid.shape == (1 * (3 + 2) + 2, 3 * (4 + 2) + 2, 1)   # one row of three
    assert grid[2, 2, 0] == 0 and grid[2, 8, 0] == 255 and grid[2, 14, 0] == 128  # clamped; round(127.5)
    assert grid[0, 0, 0] == 0  # pad_value 0


def test_make_grid_rgb_keeps_channel_order():
    img = torch.zeros(1, 3, 2, 2)
    img[:, 0] = 1.0  # red
    grid = make_grid(img, padding=0)
    assert grid.shape == (2, 2, 3)
    assert (grid.reshape(-1, 3) == [255, 0, 0]).all()


def test_make_grid_rejects_bad_shapes():
    with pytest.raises(ValueError, match="C in"):
        make_grid(torch.zeros(2, 2, 4, 4))


def test_save_grid_writes_grayscale_png(tmp_path):
    path = save_grid(_three_gray_images(), tmp_path / "sub" / "grid.png")
    with Image.open(path) as im:
        assert im.format == "PNG" and im.mode == "L" and im.size == (10, 10)  # 2 * (2 + 2) + 2
        np.testing.assert_array_equal(np.asarray(im), make_grid(_three_gray_images())[..., 0])
    assert os.listdir(path.parent) == ["grid.png"]  # no temporary file left behind


def test_save_grid_writes_rgb_png_scaled(tmp_path):
    imgs = torch.rand(4, 3, 8, 8)
    path = save_grid(imgs, tmp_path / "rgb.png", nrow=4, scale=3)
    with Image.open(path) as im:
        assert im.mode == "RGB" and im.size == (3 * (4 * 10 + 2), 3 * (1 * 10 + 2))
        arr = np.asarray(im)
    np.testing.assert_array_equal(arr[::3, ::3], make_grid(imgs, nrow=4))


def test_save_grid_replaces_existing_file(tmp_path):
    path = tmp_path / "g.png"
    save_grid(torch.zeros(1, 1, 4, 4), path, padding=0)
    save_grid(torch.ones(1, 1, 4, 4), path, padding=0)
    with Image.open(path) as im:
        assert (np.asarray(im) == 255).all()


def test_save_points_writes_png(tmp_path):
    pts = torch.randn(200, 2)
    ref = torch.randn(50, 2)
    path = save_points(pts, tmp_path / "toy.png", reference=ref, title="ring of 8")
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size[0] > 100 and im.size[1] > 100
    assert os.listdir(tmp_path) == ["toy.png"]
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        save_points(torch.zeros(3, 3), tmp_path / "bad.png")
