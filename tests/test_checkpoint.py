import pickle

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from genzoo.errors import CheckpointError
from genzoo.runs.checkpoint import list_checkpoints, load_model_state, prune_checkpoints, read_checkpoint
from genzoo.training.checkpoint import load_optimizer_states, save_checkpoint


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


@pytest.mark.slow
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


def _fused_adam_checkpoint(tmp_path):
    """A model, a fused Adam that has taken 2 steps, and the checkpoint of both."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, fused=True)
    _steps(model, opt, 2)
    path = save_checkpoint(tmp_path / "c.safetensors", model=model, optimizers={"m": opt}, step=2)
    return model, opt, path


def _resave(tmp_path, tensors, meta):
    """Write (tensors, meta) as a checkpoint file, as a stranger crafting one would."""
    import json
    path = tmp_path / "crafted.safetensors"
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata={"genzoo": json.dumps(meta)})
    return path


def _load_into_fresh_fused_adam(path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, fused=True)
    tensors, meta = read_checkpoint(path)
    load_model_state(model, tensors)
    load_optimizer_states({"m": opt}, tensors, meta)
    return model, opt


@pytest.mark.parametrize("change, message", [
    (lambda t, m: t.__setitem__("optim/m/0/exp_avg", torch.zeros(2, 4)), r"'exp_avg' of parameter 0 .*shape \(2, 4\)"),
    (lambda t, m: t.__setitem__("optim/m/0/exp_avg_sq", torch.zeros(1000)), r"'exp_avg_sq' of parameter 0"),
    (lambda t, m: t.__setitem__("optim/m/2/exp_avg", torch.zeros(8, dtype=torch.float64)), r"float64"),
    (lambda t, m: t.__setitem__("optim/m/1/exp_avg", torch.zeros(8, dtype=torch.int32)), r"int32"),
    (lambda t, m: t.pop("optim/m/3/exp_avg_sq"), r"parameter 3 .*lacks exp_avg_sq"),
    (lambda t, m: t.__setitem__("optim/m/1/momentum_buffer", torch.zeros(8)), r"parameter 1 .*momentum_buffer"),
    (lambda t, m: t.__setitem__("optim/m/7/exp_avg", torch.zeros(8)), r"parameter '7' but the optimizer has 4 parameters"),
    (lambda t, m: t.__setitem__("optim/m/x/exp_avg", torch.zeros(8)), r"parameter 'x'"),
    (lambda t, m: t.__setitem__("optim/m/0/step", torch.zeros(3)), r"'step' of parameter 0"),
    (lambda t, m: (t.pop("optim/m/0/step"), m["optimizers"]["m"]["state"]["0"].__setitem__("step", "two")),
     r"'step' of parameter 0 is 'two'"),
    (lambda t, m: t.__setitem__("optim/m/0/step", torch.tensor(float("nan"))), r"'step' of parameter 0"),
    (lambda t, m: m["optimizers"]["m"]["param_groups"][0].__setitem__("params", [0, 1, 2]), r"3 parameters .* 4"),
    (lambda t, m: m["optimizers"]["m"].__setitem__("param_groups", {"a": 1}), r"param_groups"),
    (lambda t, m: m["optimizers"]["m"].__setitem__("state", [1, 2]), r"state"),
    (lambda t, m: m["optimizers"].__setitem__("n", m["optimizers"]["m"]), r"optimizers \['m', 'n'\]"),
    (lambda t, m: t.__setitem__("optim/z/0/exp_avg", torch.zeros(8)), r"optimizer 'z'"),
])
def test_optimizer_state_that_does_not_fit_the_parameters_is_refused_before_it_reaches_fused_adam(
        tmp_path, change, message):
    """Moments of another size would make fused Adam read and write outside its buffers."""
    _, _, path = _fused_adam_checkpoint(tmp_path)
    tensors, meta = read_checkpoint(path)
    change(tensors, meta)
    with pytest.raises(CheckpointError, match=message):
        _load_into_fresh_fused_adam(_resave(tmp_path, tensors, meta))


def test_optimizer_settings_come_from_the_configuration_and_others_are_refused(tmp_path):
    """The configuration is the source of truth: a checkpoint of other betas does not load, and the
    learning rate of the optimizer built from the configuration is kept (editing it is allowed)."""
    _, _, path = _fused_adam_checkpoint(tmp_path)
    tensors, meta = read_checkpoint(path)
    meta["optimizers"]["m"]["param_groups"][0]["betas"] = [0.5, 0.999]
    with pytest.raises(CheckpointError, match=r"betas=\[0.5, 0.999\] .*says betas=\[0.9, 0.999\]"):
        _load_into_fresh_fused_adam(_resave(tmp_path, tensors, meta))
    tensors, meta = read_checkpoint(path)
    meta["optimizers"]["m"]["param_groups"][0]["lr"] = "fast"
    _, opt = _load_into_fresh_fused_adam(_resave(tmp_path, tensors, meta))
    assert opt.param_groups[0]["lr"] == 1e-2 and opt.param_groups[0]["fused"] is True


def test_a_valid_fused_adam_checkpoint_resumes_exactly(tmp_path):
    model, opt, path = _fused_adam_checkpoint(tmp_path)
    model2, opt2 = _load_into_fresh_fused_adam(path)
    _steps(model, opt, 2, seed=3)
    _steps(model2, opt2, 2, seed=3)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), model2.parameters()))


@pytest.mark.parametrize("meta_text, message", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "not a JSON object"),
    ('{"format": "genzoo-checkpoint", "version": 1, "optimizers": {}, "extra": {}}', "step"),
    ('{"format": "genzoo-checkpoint", "version": 1, "step": -3, "optimizers": {}, "extra": {}}', "step"),
    ('{"format": "genzoo-checkpoint", "version": 1, "step": 3, "extra": {}}', "optimizers"),
    ('{"format": "genzoo-checkpoint", "version": 1, "step": 3, "optimizers": [], "extra": {}}', "optimizers"),
    ('{"format": "genzoo-checkpoint", "version": 1, "step": 3, "optimizers": {}, "extra": 5}', "extra"),
])
def test_checkpoint_metadata_that_is_not_a_genzoo_record_is_refused(tmp_path, meta_text, message):
    path = tmp_path / "c.safetensors"
    save_file({"model/w": torch.zeros(2)}, str(path), metadata={"genzoo": meta_text})
    with pytest.raises(CheckpointError, match=message):
        read_checkpoint(path)


@pytest.mark.parametrize("rng", [None, torch.zeros(7, dtype=torch.uint8), torch.zeros(5056, dtype=torch.float32)])
def test_missing_or_malformed_random_state_is_refused(rng):
    from genzoo.training.checkpoint import set_rng_state
    before = torch.get_rng_state()
    with pytest.raises(CheckpointError, match="random state"):
        set_rng_state({} if rng is None else {"rng/torch": rng})
    assert torch.equal(torch.get_rng_state(), before)


def test_weights_of_another_dtype_are_refused(tmp_path):
    model, opt = _model_and_opt()
    path = save_checkpoint(tmp_path / "c.safetensors", model=model, optimizers={}, step=0)
    tensors, _ = read_checkpoint(path)
    tensors["model/0.weight"] = tensors["model/0.weight"].to(torch.int8)
    with pytest.raises(CheckpointError, match="'0.weight' has dtype torch.int8"):
        load_model_state(model, tensors)


def test_a_checkpoint_holding_nan_is_never_written_and_earlier_ones_are_kept(tmp_path):
    model, opt = _model_and_opt()
    good = save_checkpoint(tmp_path / "step-0000001.safetensors", model=model, optimizers={"m": opt}, step=1)
    with torch.no_grad():
        model[0].weight[0, 0] = float("nan")
    with pytest.raises(CheckpointError, match=r"not writing a checkpoint of step 2: 'model/0.weight' holds NaN"):
        save_checkpoint(tmp_path / "step-0000002.safetensors", model=model, optimizers={"m": opt}, step=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [good.name]


def test_weights_holding_nan_or_inf_are_refused_on_load(tmp_path):
    model, _ = _model_and_opt()
    tensors = {f"model/{k}": v.clone() for k, v in model.state_dict().items()}
    tensors["model/3.bias"][0] = float("inf")
    with pytest.raises(CheckpointError, match=r"NaN or infinite values in '3.bias' .*--step N"):
        load_model_state(model, tensors)


def test_a_failed_checkpoint_write_is_one_line_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    import errno

    from genzoo.runs import checkpoint as ckpt

    def full_disk(tensors, filename, metadata=None):
        open(filename, "wb").write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    model, opt = _model_and_opt()
    monkeypatch.setattr(ckpt, "save_file", full_disk)
    monkeypatch.setattr(ckpt, "RETRY_WAIT_S", 0.01)   # the retry's pause, shortened
    with pytest.raises(CheckpointError, match=r"could not write the checkpoint of step 4 .*No space left on device"):
        save_checkpoint(tmp_path / "step-0000004.safetensors", model=model, optimizers={"m": opt}, step=4)
    assert list(tmp_path.iterdir()) == []
