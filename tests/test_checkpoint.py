import pickle

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from genzoo.errors import CheckpointError
from genzoo.training.checkpoint import (list_checkpoints, load_model_state, load_optimizer_states, prune_checkpoints,
                                     read_checkpoint, save_checkpoint)


def _model_and_opt():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.5, 0.999))
    return model, opt


def _steps(model, opt, n, seed=1):
    g = torch.Generator().manual_seed(seed)
    for _ in range(n):
        x = torch.randn(16, 4, generator=g)
        loss = model(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_round_trip_restores_weights_optimizer_and_continues_identically(tmp_path):
    model, opt = _model_and_opt()
    _steps(model, opt, 5)
    path = save_checkpoint(tmp_path / "c.safetensors", model=model, optimizers={"m": opt}, step=5, extra={"a": 1})
    model2, opt2 = _model_and_opt()
    tensors, meta = read_checkpoint(path)
    load_model_state(model2, tensors)
    load_optimizer_states({"m": opt2}, tensors, meta)
    assert meta["step"] == 5 and meta["extra"] == {"a": 1}
    for a, b in zip(model.state_dict().values(), model2.state_dict().values()):
        assert torch.equal(a, b)
    _steps(model, opt, 3, seed=2)
    _steps(model2, opt2, 3, seed=2)
    for a, b in zip(model.parameters(), model2.parameters()):
        assert torch.equal(a, b)
    assert not list(tmp_path.glob("*.tmp"))


def test_strict_loading_names_missing_and_unexpected(tmp_path):
    model, opt = _model_and_opt()
    path = save_checkpoint(tmp_path / "c.safetensors", model=model, optimizers={}, step=0)
    tensors, _ = read_checkpoint(path)
    bigger = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1), nn.Linear(1, 1))
    with pytest.raises(CheckpointError, match="missing 2 weights"):
        load_model_state(bigger, tensors)
    smaller = nn.Sequential(nn.Linear(4, 8))
    with pytest.raises(CheckpointError, match="unexpected weights"):
        load_model_state(smaller, tensors)
    wider = nn.Sequential(nn.Linear(4, 9), nn.BatchNorm1d(9), nn.ReLU(), nn.Linear(9, 1))
    with pytest.raises(CheckpointError, match="has shape"):
        load_model_state(wider, tensors)


def test_pickles_are_refused(tmp_path):
    model, _ = _model_and_opt()
    zipped = tmp_path / "torch_save.safetensors"
    torch.save(model.state_dict(), zipped)
    with pytest.raises(CheckpointError, match="pickle"):
        read_checkpoint(zipped)
    raw = tmp_path / "raw.safetensors"
    raw.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(CheckpointError, match="pickle"):
        read_checkpoint(raw)


def test_checkpoint_whose_header_length_starts_with_the_pickle_byte_still_loads(tmp_path):
    """A safetensors header of 128 + 256 k bytes makes the file's first byte 0x80, the first byte of
    a protocol-2+ pickle; such a checkpoint (about 1 in 32 of them) must load, not be refused."""
    model, opt = _model_and_opt()
    for pad in range(0, 400, 4):   # grow the JSON metadata until the header length is 0x80 mod 256
        path = save_checkpoint(tmp_path / "c.safetensors", model=model, optimizers={"m": opt}, step=3,
                               extra={"pad": "x" * pad})
        if path.read_bytes()[0] == 0x80:
            break
    else:
        pytest.fail("no padding gave a header length of 0x80 mod 256")
    tensors, meta = read_checkpoint(path)
    assert meta["step"] == 3 and meta["extra"]["pad"] == "x" * pad
    model2, _ = _model_and_opt()
    load_model_state(model2, tensors)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), model2.state_dict().values()))


def test_truncated_and_foreign_files_are_refused(tmp_path):
    model, opt = _model_and_opt()
    path = save_checkpoint(tmp_path / "c.safetensors", model=model, optimizers={"m": opt}, step=1)
    data = path.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated|corrupt"):
        read_checkpoint(cut)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(CheckpointError, match="not a genzoo checkpoint"):
        read_checkpoint(foreign)
    with pytest.raises(CheckpointError, match="does not exist"):
        read_checkpoint(tmp_path / "nothing.safetensors")


def test_prune_keeps_the_latest(tmp_path):
    model, _ = _model_and_opt()
    for step in (10, 20, 30, 40):
        save_checkpoint(tmp_path / f"step-{step:07d}.safetensors", model=model, optimizers={}, step=step)
    prune_checkpoints(tmp_path, keep=2)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [30, 40]
