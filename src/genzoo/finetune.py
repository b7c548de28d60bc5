"""Transfer learning from a trained autoencoder: reuse its encoder as the base of a classifier.

The lecture notes' recipe (stacked AE, "transfer learning"):
  1. train an autoencoder on all the (unlabelled) training data;
  2. reuse its encoder's layers as the base and add a classification head on top;
  3. train on the few labelled examples: first with the base frozen (only the head learns),
     then unfrozen, the whole network, with a smaller learning rate.
The baseline is the same network (same layers, same head) trained from scratch on the same
labelled examples for the same total number of steps. Both accuracies are measured on the
dataset's test split. No validation set is used: the step counts are fixed in advance.

    result = genzoo.finetune.finetune("runs/stacked-ae-mnist-...", labels=100)
    genzoo finetune RUN_DIR --labels 100
"""
from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from .errors import GenzooError
from .metrics.classifier import ClassifierFit, accuracy
from .models.capabilities import EncoderNetwork
from .safe_write import write_text


def labelled_subset(y: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """Indices of n labelled examples, class-balanced: n // K per class (the first n % K classes
    one more), each class's examples drawn uniformly with a fixed seed. Sorted."""
    y = torch.as_tensor(y).cpu()
    classes = torch.unique(y).tolist()
    k = len(classes)
    if n < 1 or n > len(y):
        raise GenzooError(f"cannot choose {n} labelled examples out of {len(y)}")
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    picked = []
    for i, c in enumerate(classes):
        quota = n // k + (i < n % k)
        members = perm[y[perm] == c]
        if len(members) < quota:
            raise GenzooError(f"class {c} has only {len(members)} examples; {quota} are needed for {n} "
                              "class-balanced labels")
        picked.append(members[:quota])
    return torch.cat(picked).sort().values


def encoder_of(model: nn.Module) -> nn.Module:
    """The network x -> features of a trained model (AE / VAE / AAE: `encoder`; ALAE: `E`)."""
    if not isinstance(model, EncoderNetwork):
        raise GenzooError(f"{type(model).__name__} has no encoder to reuse")
    return model.encoder_net()


def lower_layers(encoder: nn.Module, n: int | None) -> nn.Module:
    """The first n layers of an MLP encoder (each Linear with its activation), or all of it (n None)."""
    if n is None:
        return encoder
    from .nets.mlp import MLPEncoder, mlp_layers
    if not isinstance(encoder, MLPEncoder):
        raise GenzooError("reusing only some layers (--layers) needs an MLP encoder; omit it to reuse the whole encoder")
    layers = mlp_layers(encoder[1])
    if not 1 <= n <= len(layers):
        raise GenzooError(f"the encoder has {len(layers)} layers; --layers must be between 1 and {len(layers)}")
    return nn.Sequential(encoder[0], *layers[:n])


class Classifier(nn.Module):
    """base (reused encoder) -> head (Linear layers) -> class logits."""

    def __init__(self, base: nn.Module, feature_dim: int, num_classes: int, head_hidden=()):
        super().__init__()
        from .nets import mlp
        self.base = base
        self.head = mlp(feature_dim, tuple(head_hidden), num_classes)

    def forward(self, x):
        return self.head(self.base(x).flatten(1))


def reset_parameters_(module: nn.Module) -> nn.Module:
    """Re-initialize every layer that knows how (the 'from scratch' baseline)."""
    for m in module.modules():
        if hasattr(m, "reset_parameters") and m is not module:   # a layer, not a model: activations have none
            m.reset_parameters()
    return module


def train_classifier(clf: Classifier, x: torch.Tensor, y: torch.Tensor, *, steps: int, lr: float,
                     params, batch_size: int = 100, weight_decay: float = 0.0, seed: int = 0) -> list[float]:
    """genzoo's classifier recipe (metrics.classifier.ClassifierFit: Adam on the cross-entropy) over
    `params` only: the rest stays exactly as it is. Minibatches of batch_size drawn with `seed` (the
    whole set when it is smaller). Returns the losses."""
    fit = ClassifierFit(clf, lr=lr, params=params, weight_decay=weight_decay)
    g = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        if len(x) <= batch_size:
            losses.append(fit.step(x, y))
        else:
            idx = torch.randint(len(x), (batch_size,), generator=g).to(x.device)
            losses.append(fit.step(x[idx], y[idx]))
    return losses


@torch.no_grad()
def _state_distance(a: nn.Module, b_state: dict) -> float:
    """L2 distance between a's weights and floating-point buffers (batch-norm statistics) and b_state's."""
    return float(sum((t.detach().float() - b_state[n].float()).pow(2).sum()
                     for n, t in a.state_dict().items() if t.is_floating_point()).sqrt())


@dataclass
class FinetuneResult:
    labels: int
    seed: int
    frozen_accuracy: float      # after phase 1 (base frozen, head trained)
    finetuned_accuracy: float   # after phase 2 (whole network)
    scratch_accuracy: float     # same network, random init, same labels, same total steps
    base_change: dict = field(default_factory=dict)   # L2 distance of the base's weights and statistics from the encoder's
    protocol: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        p = self.protocol
        return "\n".join([
            f"transfer with {self.labels} labels (class-balanced, seed {self.seed}); test: {p.get('test')}",
            f"  phase 1, base frozen, head trained ({p['frozen_steps']} steps, lr {p['lr']:g}):   "
            f"{100 * self.frozen_accuracy:6.2f} % accuracy",
            f"  phase 2, unfrozen, whole network ({p['unfrozen_steps']} steps, lr {p['unfrozen_lr']:g}): "
            f"{100 * self.finetuned_accuracy:6.2f} % accuracy",
            f"  same network from scratch ({p['frozen_steps'] + p['unfrozen_steps']} steps, lr {p['lr']:g}):      "
            f"{100 * self.scratch_accuracy:6.2f} % accuracy",
        ])


def finetune(model, labels: int = 100, *, seed: int = 0, frozen_steps: int = 500, unfrozen_steps: int = 500,
             lr: float = 1e-3, unfrozen_lr: float = 1e-4, head_hidden=(), batch_size: int = 100,
             weight_decay: float = 0.0, layers: int | None = None, train_data=None, test_data=None,
             device: str | None = None) -> FinetuneResult:
    """Frozen-then-unfrozen transfer of `model`'s encoder vs from scratch.

    model: a run (a LoadedRun from genzoo.load_run, a RunDir, or a run directory's path: its latest checkpoint),
    or a model built in Python, which needs train_data and test_data.
    layers: reuse only the encoder's first `layers` layers (MLP encoders; default: all of them).
    train_data / test_data: genzoo Datasets (default: the run's dataset, its train and test splits).
    Phase 1 trains only the head, so the base's weights and batch-norm statistics do not move
    (base_change['frozen'] == 0);
    phase 2 trains everything. Returns a FinetuneResult (accuracies on the test split).
    """
    model, run, train_data, test_data = _model_and_splits(model, train_data, test_data, device)
    dev = model.device
    x_l, y_l = _examples(train_data, dev, labelled_subset(train_data.y, labels, seed))
    x_t, y_t = _examples(test_data, dev)
    num_classes = int(max(train_data.y.max(), test_data.y.max())) + 1

    base = copy.deepcopy(lower_layers(encoder_of(model), layers)).to(dev).float()
    with torch.no_grad():
        base.eval()
        feature_dim = base(x_l[:1]).flatten(1).shape[1]
    start = {n: t.detach().clone() for n, t in base.state_dict().items()}

    torch.manual_seed(seed)
    clf = Classifier(base, feature_dim, num_classes, head_hidden).to(dev)
    scratch = copy.deepcopy(clf)
    torch.manual_seed(seed + 1)
    reset_parameters_(scratch.base)

    # Phase 1: base frozen (not in the optimizer, no gradient), only the head learns
    for p in clf.base.parameters():
        p.requires_grad_(False)
    train_classifier(clf, x_l, y_l, steps=frozen_steps, lr=lr, params=clf.head.parameters(),
                     batch_size=batch_size, weight_decay=weight_decay, seed=seed)
    frozen_acc = accuracy(clf, x_t, y_t)
    change_frozen = _state_distance(clf.base, start)
    # Phase 2: unfrozen, the whole network with a smaller learning rate
    for p in clf.base.parameters():
        p.requires_grad_(True)
    train_classifier(clf, x_l, y_l, steps=unfrozen_steps, lr=unfrozen_lr, params=clf.parameters(),
                     batch_size=batch_size, weight_decay=weight_decay, seed=seed + 1)
    finetuned_acc = accuracy(clf, x_t, y_t)
    change_unfrozen = _state_distance(clf.base, start)
    # Baseline: the same network from scratch, same labels, same total steps
    train_classifier(scratch, x_l, y_l, steps=frozen_steps + unfrozen_steps, lr=lr, params=scratch.parameters(),
                     batch_size=batch_size, weight_decay=weight_decay, seed=seed)
    scratch_acc = accuracy(scratch, x_t, y_t)
    protocol = _protocol(train_data, test_data, labels=labels, seed=seed, layers=layers, head_hidden=head_hidden,
                         num_classes=num_classes, feature_dim=feature_dim, batch_size=batch_size,
                         weight_decay=weight_decay, frozen_steps=frozen_steps, unfrozen_steps=unfrozen_steps,
                         lr=lr, unfrozen_lr=unfrozen_lr)
    if run is not None:
        protocol["run"] = str(run.path)
    return FinetuneResult(labels=labels, seed=seed, frozen_accuracy=frozen_acc, finetuned_accuracy=finetuned_acc,
                          scratch_accuracy=scratch_acc,
                          base_change={"frozen": change_frozen, "unfrozen": change_unfrozen}, protocol=protocol)


def _model_and_splits(model, train_data, test_data, device):
    """The model (loaded when `model` is a run), its RunDir (None for a model built in Python), and the labelled
    train and test splits (given, or the run's dataset's, its n_samples subset as the run trained on it)."""
    from .runs import LoadedRun, RunDir, run_split

    run = None
    if isinstance(model, LoadedRun):
        run, model = model.run, model.model
    elif isinstance(model, (str, Path, RunDir)):
        run = RunDir.open(model)
        model = run.load_model(device=device or "cpu")
    if train_data is None or test_data is None:
        if run is None:
            raise GenzooError("pass train_data and test_data, or a run: genzoo.load_run(run_dir) or its path")
        train_data = train_data or run_split(run.config, "train")
        test_data = test_data or run_split(run.config, "test")
    if train_data.y is None or test_data.y is None:
        raise GenzooError(f"{train_data.name} has no labels: nothing to classify")
    return model, run, train_data, test_data


def _examples(ds, device, idx=None) -> tuple[torch.Tensor, torch.Tensor]:
    """A split's examples (images as floats in [0, 1]) and labels on `device`, or those at `idx`."""
    x = ds.x if idx is None else ds.x[idx]
    x = x.float().div(255) if ds.kind == "image" else x.float()
    return x.to(device), (ds.y if idx is None else ds.y[idx]).long().to(device)


def _protocol(train_data, test_data, *, labels, seed, layers, head_hidden, num_classes, feature_dim, batch_size,
              weight_decay, frozen_steps, unfrozen_steps, lr, unfrozen_lr) -> dict:
    """What a FinetuneResult's accuracies were measured under."""
    return {"train": f"{train_data.source} ({train_data.split}, {len(train_data)} examples)",
            "test": f"{test_data.source} ({test_data.split}, {len(test_data)} examples)",
            "labelled": f"{labels} examples of the train split, class-balanced, seed {seed}",
            "base": f"the encoder's {'first ' + str(layers) if layers else 'all'} layers",
            "head": f"Linear layers {list(head_hidden)} -> {num_classes} classes on the {feature_dim} encoder outputs",
            "optimizer": "Adam, cross-entropy", "batch_size": batch_size, "weight_decay": weight_decay,
            "frozen_steps": frozen_steps, "unfrozen_steps": unfrozen_steps, "lr": lr, "unfrozen_lr": unfrozen_lr,
            "scratch": "same network re-initialized (PyTorch defaults), all layers trained, "
                       f"{frozen_steps + unfrozen_steps} steps at lr {lr:g}",
            "selection": "fixed step counts, no validation set"}


def write_result(result: FinetuneResult, path: str | Path) -> Path:
    """The result as JSON at `path`, by the safe writer: never through a link nor over a run's own files."""
    return write_text(path, json.dumps(result.to_dict(), indent=2) + "\n")
