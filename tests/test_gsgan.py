"""The Gumbel-softmax GAN and its grammar: the parser, the relaxation, and learning to write expressions."""
import pytest
import torch

import genzoo
from genzoo.presets import resolve
from genzoo.data import load_dataset
from genzoo.data.grammar import VOCAB, accepts, decode, encode, grammar_metrics
from genzoo.nets.layers import gumbel_softmax


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("expr", ["x", "x+x", "x*(x-x)", "((x))", "(x/x)*x-(x+x)", "x+x_", "x*x___"])
def test_grammar_accepts(expr):
    assert accepts(expr)


@pytest.mark.parametrize("expr", ["", "_", "+", "x+", "+x", "xx", "x+*x", "(x", "x)", "()", "(x+x))", "x_+x",
                                  "_x", "x(x)", ")x("])
def test_grammar_rejects(expr):
    assert not accepts(expr)


def test_encoding_round_trip_and_metrics():
    ids = encode("x*(x-x)")
    assert ids.shape == (12,) and ids[7:].tolist() == [0] * 5 and ids.dtype == torch.long
    assert decode(ids) == ["x*(x-x)"] and accepts(ids)
    m = grammar_metrics(["x+x", "x+x", "x*x", "x+", "(x"], reference={"x+x"})
    assert m == {"n": 5, "valid_fraction": 0.6, "distinct_valid": 2, "distinct": 4, "novel_valid": 1}


def test_the_arith_dataset_is_grammatical_tokens():
    ds = load_dataset("arith", n_samples=500)
    assert ds.kind == "tokens" and ds.x.shape == (500, 12) and ds.vocab_size == len(VOCAB)
    assert grammar_metrics(ds.x)["valid_fraction"] == 1.0
    assert torch.equal(load_dataset("arith", n_samples=500).x, ds.x)  # generated exactly from the seed


def test_gumbel_softmax_is_a_relaxed_categorical_sample():
    logits = torch.log(torch.tensor([0.6, 0.3, 0.1]))
    g = torch.Generator().manual_seed(0)
    y = gumbel_softmax(logits.expand(20000, 3), 1.0, generator=g)
    torch.testing.assert_close(y.sum(-1), torch.ones(20000))
    # Gumbel-max: the argmax is an exact sample of softmax(logits)
    freq = torch.bincount(y.argmax(-1), minlength=3).float() / 20000
    torch.testing.assert_close(freq, torch.tensor([0.6, 0.3, 0.1]), atol=0.015, rtol=0)
    # low temperature -> nearly one-hot; straight-through -> exactly one-hot with the relaxed gradient
    cold = gumbel_softmax(logits.expand(100, 3), 0.05, generator=g)
    assert cold.max(-1).values.mean() > 0.95
    lg = logits.clone().requires_grad_(True)
    hard = gumbel_softmax(lg.expand(4, 3), 1.0, hard=True, generator=g)
    torch.testing.assert_close(hard.detach(), torch.nn.functional.one_hot(hard.argmax(-1), 3).float())
    (hard * torch.arange(3.0)).sum().backward()
    assert lg.grad is not None and lg.grad.abs().sum() > 0


def test_temperature_is_annealed_geometrically():
    from genzoo.models.base import DataSpec
    from genzoo.models.gsgan import GSGAN

    cfg = resolve("gsgan", overrides={"model.tau_anneal_steps": 100}).model
    m = GSGAN(cfg, DataSpec("tokens", (12,), vocab_size=8))
    assert m.temperature(0) == pytest.approx(5.0)
    assert m.temperature(50) == pytest.approx((5.0 * 0.5) ** 0.5)  # the geometric mean halfway
    assert m.temperature(100) == pytest.approx(0.5) and m.temperature(10_000) == pytest.approx(0.5)


@pytest.mark.slow
def test_a_short_run_raises_the_grammatical_share(tiny_run):
    sets = {"train.log_every": 50, "train.sample_every": 0, "train.checkpoint_every": 0, "train.grid_size": 16,
            "data.n_samples": 2000, "train.batch_size": 32, "model.nets.hidden": 64, "model.nets.d_hidden": [128],
            "model.latent_dim": 8, "model.tau_anneal_steps": 250, "model.optim.lr": 2e-3}

    def share(steps, name):
        run = tiny_run("gsgan", sets, {"train.steps": steps}, name=name)
        model = genzoo.load(run.dir)
        return run, grammar_metrics(model.sample(500, generator=torch.Generator().manual_seed(0)))["valid_fraction"]

    _, before = share(1, "before")
    run, after = share(250, "after")
    assert after > before + 0.3, (before, after)
    text = sorted((run.dir / "samples").glob("*.txt"))
    assert text and len(text[-1].read_text().splitlines()) == 16  # the trainer writes decoded samples
