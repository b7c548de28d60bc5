"""genzoo's optimizers: Adam is fused where torch has a fused Adam, with foreach's update."""
import pytest
import torch

from genzoo.models.base import OptimConfig


def _descend(opt, params, steps=5):
    for i in range(steps):
        opt.zero_grad()
        loss = sum(((p - i) ** 2).sum() * (k + 1) for k, p in enumerate(params))
        loss.backward()
        opt.step()
    return [p.detach().clone() for p in params]


def test_adam_is_fused_on_cpu_and_matches_foreach_adam():
    torch.manual_seed(0)
    start = [torch.randn(7, 5), torch.randn(5)]
    ours = [p.clone().requires_grad_() for p in start]
    plain = [p.clone().requires_grad_() for p in start]
    cfg = OptimConfig(name="adam", lr=1e-2, betas=(0.5, 0.999), weight_decay=1e-3)
    opt = cfg.build(ours)
    assert opt.defaults["fused"] is True  # torch >= 2.4 has a fused CPU Adam
    reference = torch.optim.Adam(plain, lr=1e-2, betas=(0.5, 0.999), weight_decay=1e-3, foreach=True)
    fused, foreach = _descend(opt, ours), _descend(reference, plain)
    for a, b, s in zip(fused, foreach, start):
        assert (a - s).abs().min() > 1e-3  # every weight moved
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["rmsprop", "sgd"])
def test_other_optimizers_use_foreach(name):
    opt = OptimConfig(name=name, lr=1e-2).build([torch.zeros(3, requires_grad=True)])
    assert opt.defaults["foreach"] is True
