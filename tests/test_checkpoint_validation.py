"""A checkpoint that loads is either what genzoo saved or passes the checks a saved one would: optimizer step
counts whole, finite and >= 0, second moments finite and >= 0, metadata of bounded depth."""
import json

import pytest
import torch
from safetensors.torch import save_file

from genzoo.errors import CheckpointError
from genzoo.runs.checkpoint import read_checkpoint
from genzoo.training.checkpoint import restore, save_checkpoint


def _saved(tmp_path, optim=torch.optim.Adam, **kw):
    """A tiny model and optimizer after one step, saved; (path, model, optimizer)."""
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = optim(model.parameters(), lr=0.1, **kw)
    model(torch.randn(4, 3)).pow(2).sum().backward()
    opt.step()
    path = save_checkpoint(tmp_path / "c.safetensors", model=model, optimizers={"opt": opt}, step=1)
    return path, model, opt


def _rewrite(path, change):
    """The checkpoint at `path` with change(tensors) applied, its metadata kept."""
    from safetensors import safe_open
    with safe_open(str(path), framework="pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    change(tensors)
    save_file(tensors, str(path), metadata=meta)


def test_metadata_nested_100000_deep_is_one_error_not_a_recursion_error(tmp_path):
    path = tmp_path / "deep.safetensors"
    save_file({"x": torch.zeros(1)}, str(path), metadata={"genzoo": "[" * 100_000 + "]" * 100_000})
    with pytest.raises(CheckpointError, match="metadata that is not valid JSON"):
        read_checkpoint(path)


@pytest.mark.parametrize("entry,value,why", [
    ("exp_avg_sq", -1.0, "negative"), ("exp_avg_sq", float("nan"), "finite"), ("exp_avg", float("inf"), "finite"),
    ("step", 1e30, "whole number"), ("step", 1.5, "whole number")])
def test_adam_state_that_no_run_can_reach_is_refused(entry, value, why, tmp_path):
    path, model, opt = _saved(tmp_path)
    key = next(k for k in read_checkpoint(path)[0] if k.startswith("optim/opt/0/") and k.endswith("/" + entry))

    def change(t):
        t[key] = torch.full_like(t[key], value)
    _rewrite(path, change)
    with pytest.raises(CheckpointError, match=f"'{entry}' of parameter 0 .*{why}"):
        restore(path, model, {"opt": opt})


def test_a_checkpoint_that_loads_restores_exactly_what_was_saved(tmp_path):
    path, model, opt = _saved(tmp_path, optim=torch.optim.Adam, amsgrad=True)
    saved = json.dumps({k: v.tolist() for k, v in read_checkpoint(path)[0].items() if k.startswith("optim/")})
    fresh = torch.nn.Linear(3, 2)
    fresh_opt = torch.optim.Adam(fresh.parameters(), lr=0.1, amsgrad=True)
    restore(path, fresh, {"opt": fresh_opt})
    state = fresh_opt.state_dict()["state"]
    loaded = {f"optim/opt/{i}/{k}": v.tolist() for i, s in state.items() for k, v in s.items()}
    assert json.dumps(loaded, sort_keys=True) == json.dumps(json.loads(saved), sort_keys=True)
