"""genzoo's optimizers: Adam is fused where torch has a fused Adam, with foreach's update; an update inside a
step's autocast region is what the next forward reads."""
import pytest
import torch

from torch import nn

from genzoo.models.base import OptimConfig, Optimizers
from genzoo.training.device import autocast


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


def test_a_forward_after_an_update_in_the_same_bf16_step_reads_the_updated_weights():
    # a GAN's G step runs D after D's update, and a critic takes several steps, all in one autocast region,
    # where torch keeps each weight's bf16 copy: the update must reach the next forward
    torch.manual_seed(0)
    layer, x = nn.Linear(4, 3), torch.randn(2, 4)
    opt = Optimizers({"D": torch.optim.SGD(layer.parameters(), lr=0.5)})
    with autocast(torch.device("cpu"), torch.bfloat16):
        before = layer(x)
        opt.step("D", before.float().pow(2).sum())
        after = layer(x)
    w, b = layer.weight.detach().bfloat16(), layer.bias.detach().bfloat16()
    assert torch.equal(after, torch.nn.functional.linear(x.bfloat16(), w, b))
    assert not torch.equal(after, before)
