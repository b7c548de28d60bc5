"""Autoencoders: the linear AE finds PCA's subspace, the stacked AE pretrains layer by layer, the
encoder transfers to a classifier (frozen, then unfrozen), and every preset round-trips."""
import json
import math

import pytest
import torch
from scipy.linalg import subspace_angles

import genzoo
from genzoo.cli import main
from genzoo.presets import resolve
from genzoo.data import load_dataset
from genzoo.finetune import finetune, labelled_subset
from genzoo.models import Optimizers, get_algorithm
from genzoo.models.base import Batch, DataSpec

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny nets: one thread is fastest on a shared CPU

QUICK = {"train.log_every": 10, "train.sample_every": 0, "train.checkpoint_every": 0, "train.grid_size": 16,
         "data.name": "digits", "train.batch_size": 64}


def _metrics(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_linear_autoencoder_spans_the_principal_subspace():
    """Identity activations + squared error: the decoder's columns span the top-3 principal
    components (Baldi & Hornik 1989). Data: 600 points in 16-D, three strong directions plus
    isotropic noise (a clear spectral gap, so a short full-batch training reaches the optimum)."""
    from sklearn.decomposition import PCA

    g = torch.Generator().manual_seed(0)
    basis = torch.linalg.qr(torch.randn(16, 3, generator=g))[0]
    x = (torch.randn(600, 3, generator=g) * torch.tensor([3.0, 2.0, 1.5])) @ basis.T \
        + 0.1 * torch.randn(600, 16, generator=g) + 0.5
    torch.manual_seed(0)
    cfg = resolve("linear-ae", overrides={"model.latent_dim": 3, "model.optim.lr": 1e-2}).model
    model = get_algorithm("ae")(cfg, DataSpec("points", (16,)))
    opt = Optimizers(model.configure_optimizers())
    for step in range(400):  # full batch: the optimum, not minibatch noise
        model.train_step(Batch(x), opt, step)
    w_dec = model.decoder[0][0].weight.detach().double().numpy()          # (16, 3)
    pca = PCA(3).fit(x.double().numpy())
    angles = subspace_angles(w_dec, pca.components_.T) * 180 / math.pi
    assert max(angles) < 1.0, angles
    # the subspace, not the basis: the decoder's columns are not orthonormal principal axes
    assert not torch.allclose(torch.from_numpy(w_dec.T @ w_dec), torch.eye(3, dtype=torch.float64), atol=0.05)


def test_stacked_ae_pretrains_one_layer_at_a_time(tmp_path):
    cfg = resolve("stacked-ae", overrides={"model.hidden": [32, 16], "model.latent_dim": 8,
                                           "model.greedy_steps": 5}).model
    model = get_algorithm("ae")(cfg, DataSpec("image", (1, 8, 8)))
    opt = Optimizers(model.configure_optimizers())
    assert set(dict(iter(opt))) == {"ae", "layer0", "layer1", "layer2"}
    x = torch.rand(16, 1, 8, 8)
    pairs = model.layer_pairs()
    for step in range(0, 20, 5):
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        model.train_step(Batch(x), opt, step)
        changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
        phase = model.phase_at(step)
        if phase < 3:
            enc, dec = pairs[phase]
            own = {id(p) for p in [*enc.parameters(), *dec.parameters()]}
            expected = {n for n, p in model.named_parameters() if id(p) in own}
        else:
            expected = {n for n, _ in model.named_parameters()}
        assert changed == expected, (step, phase)


@pytest.mark.slow
def test_stacked_ae_training_lowers_each_layer_loss_and_transfers(tiny_run):
    run = tiny_run("stacked-ae", QUICK, {"train.steps": 160, "model.greedy_steps": 40, "model.hidden": [64, 32],
                                         "model.latent_dim": 16})
    by_layer = {}
    for m in _metrics(run.dir):
        by_layer.setdefault(m["layer"], []).append(m["loss"])
    assert sorted(by_layer) == [0.0, 1.0, 2.0, 3.0]
    for layer, losses in by_layer.items():
        if layer < 3:  # each greedy phase lowers its own loss
            assert losses[-1] < losses[0], (layer, losses)

    result = finetune(genzoo.load_run(run.dir), labels=30, frozen_steps=20, unfrozen_steps=20)
    assert result.base_change["frozen"] == 0.0          # phase 1 leaves the encoder's weights alone
    assert result.base_change["unfrozen"] > 0.0         # phase 2 trains them
    for acc in (result.frozen_accuracy, result.finetuned_accuracy, result.scratch_accuracy):
        assert 0.0 <= acc <= 1.0
    assert "class-balanced" in result.protocol["labelled"]

    # the command line: both numbers printed, the result written beside the run
    assert main(["finetune", str(run.dir), "--labels", "20", "--frozen-steps", "5", "--unfrozen-steps", "5"]) == 0
    saved = json.loads((run.dir / "finetune-labels20-seed0.json").read_text())
    assert {"finetuned_accuracy", "scratch_accuracy", "frozen_accuracy"} <= set(saved)


def test_denoising_masking_noise_only_in_training():
    cfg = resolve("stacked-dae", overrides={"model.hidden": [16], "model.latent_dim": 4}).model
    model = get_algorithm("ae")(cfg, DataSpec("image", (1, 8, 8)))
    x = torch.rand(500, 1, 8, 8) + 0.1
    zeroed = (model.corrupt(x) == 0).float().mean().item()
    assert zeroed == pytest.approx(0.3, abs=0.02)
    model.eval()
    assert torch.equal(model.corrupt(x), x)


def test_finetune_reuses_only_the_lower_layers_when_asked():
    from genzoo.finetune import lower_layers
    cfg = resolve("stacked-ae", overrides={"model.hidden": [32, 16], "model.latent_dim": 8}).model
    model = get_algorithm("ae")(cfg, DataSpec("image", (1, 8, 8)))
    assert lower_layers(model.encoder, 1)(torch.rand(2, 1, 8, 8)).shape == (2, 32)
    assert lower_layers(model.encoder, 2)(torch.rand(2, 1, 8, 8)).shape == (2, 16)
    assert lower_layers(model.encoder, None) is model.encoder


def test_labelled_subset_is_class_balanced_and_seeded():
    y = torch.arange(1000) % 10
    a, b = labelled_subset(y, 100, seed=3), labelled_subset(y, 100, seed=3)
    assert torch.equal(a, b) and len(a) == 100
    assert torch.bincount(y[a]).tolist() == [10] * 10
    assert not torch.equal(a, labelled_subset(y, 100, seed=4))
    assert torch.bincount(y[labelled_subset(y, 13)]).tolist() == [2, 2, 2] + [1] * 7


@pytest.mark.parametrize("preset,sets", [
    ("ae", {"model.hidden": [32]}),
    ("conv-ae", {"model.width": 8}),
    ("linear-ae", {}),
])
@pytest.mark.slow
def test_presets_train_and_round_trip(tiny_run, preset, sets):
    run = tiny_run(preset, QUICK, {"train.steps": 40}, sets)
    m = _metrics(run.dir)
    assert m[-1]["loss"] < m[0]["loss"]
    loaded = genzoo.load(run.dir)
    for (n, a), (_, b) in zip(run.model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a.cpu(), b.cpu()), n
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    run.model.cpu().eval()   # load() reads onto the CPU; "auto" may have trained on a GPU
    assert torch.equal(run.model.sample(4, generator=g()), loaded.sample(4, generator=g()))
    # the sampling protocol
    x = load_dataset("digits", "test").x[:3].float().div(255)
    assert loaded.generate(torch.zeros(2, loaded.latent_dim)).shape == (2, 1, 8, 8)
    assert loaded.reconstruct(x).shape == x.shape
    path = loaded.interpolate(x[0], x[1], steps=5)
    assert path.shape == (5, 1, 8, 8)
    assert torch.allclose(path[0], loaded.reconstruct(x[:1])[0], atol=1e-5)


def test_the_frozen_phase_leaves_a_conv_encoders_batch_norm_statistics_alone():
    import copy

    from genzoo.finetune import Classifier, train_classifier
    model = get_algorithm("ae")(resolve("conv-ae", overrides={"model.width": 8}).model, DataSpec("image", (1, 16, 16)))
    base = copy.deepcopy(model.encoder)
    before = {k: v.clone() for k, v in base.state_dict().items()}
    assert any(k.endswith("running_mean") for k in before)
    clf = Classifier(base, model.cfg.latent_dim, 10)
    x, y = torch.rand(64, 1, 16, 16), torch.arange(64) % 10
    train_classifier(clf, x, y, steps=3, lr=1e-2, params=clf.head.parameters())   # frozen: the head alone
    for k, v in base.state_dict().items():
        assert torch.equal(v, before[k]), k
    train_classifier(clf, x, y, steps=1, lr=1e-2, params=clf.parameters())        # unfrozen: all of it
    assert not all(torch.equal(v, before[k]) for k, v in base.state_dict().items() if k.endswith("running_mean"))
