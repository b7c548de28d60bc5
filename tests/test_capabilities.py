"""What a model can do beyond the Algorithm contract is declared by protocols (genzoo.models.capabilities); the
metrics, export and sampling read them, and a metric applies exactly where the model has what it needs."""
from types import SimpleNamespace

import pytest
import torch

from genzoo.data.captions import VOCAB as CAPTION_VOCAB
from genzoo.data.grammar import VOCAB, encode
from genzoo.metrics import METRICS
from genzoo.metrics.grammar import grammar
from genzoo.metrics.registry import image_metrics, register_metric
from genzoo.models import capabilities as C, get_algorithm
from genzoo.models.base import DataSpec
from genzoo.presets import resolve

DIGITS = DataSpec("image", (1, 8, 8), num_classes=10)
SPECS = {"pair": DataSpec("pair", (2, 1, 16, 16)), "tokens": DataSpec("tokens", (12,), vocab_size=len(VOCAB)),
         "captioned": DataSpec("captioned", (1, 32, 32), vocab_size=len(CAPTION_VOCAB))}


def _model(preset, spec=DIGITS, **sets):
    torch.manual_seed(0)
    cfg = resolve(preset, overrides=sets)
    return get_algorithm(cfg.algorithm)(cfg.model, spec)


def _capabilities(model) -> set[str]:
    return {name for name in C.__all__ if name[0].isupper() and isinstance(model, getattr(C, name))}


@pytest.mark.parametrize("preset, spec, has, lacks", [
    ("dcgan", DIGITS, {"LatentPrior", "FeatureEncoder", "DensityRatio"}, {"Translator", "ImportanceWeighted"}),
    ("vae", DIGITS, {"LatentPrior", "FeatureEncoder", "EncoderNetwork", "ImportanceWeighted"}, {"AISModel"}),
    ("rbm", DIGITS, {"FeatureEncoder", "AISModel"}, {"LatentModel", "ImportanceWeighted"}),
    ("dbm", DIGITS, {"FeatureEncoder", "AISModel"}, {"LatentModel"}),
    ("pix2pix", SPECS["pair"], {"Translator"}, {"LatentModel", "FeatureEncoder"}),
    ("gsgan", SPECS["tokens"], {"LatentPrior", "Detokenizer"}, {"Translator"}),
    ("stackgan", SPECS["captioned"], {"StagedSampler"}, {"LatentModel", "Detokenizer"}),
    ("gan-int-cls", SPECS["captioned"], set(), {"StagedSampler", "LatentModel"}),
])
def test_each_model_declares_what_it_can_do(preset, spec, has, lacks):
    found = _capabilities(_model(preset, spec))
    assert has <= found and not lacks & found


def test_instance_flags_say_which_instances_have_a_capability_their_class_defines():
    assert _model("dcgan").has_features and not _model("gan").has_features   # a conv D has a feature layer
    assert _model("aae-semi").classifies and not _model("aae").classifies
    assert not _model("rbm").likelihood_bound and _model("dbm").likelihood_bound


def test_export_writes_down_each_prior():
    ae = _model("ae", **{"model.hidden": [16], "model.latent_dim": 2})
    ae.code_mean.copy_(torch.tensor([1.0, -2.0]))
    ae.code_var.copy_(torch.tensor([4.0, 9.0]))
    assert ae.describe_prior() == {"kind": "normal", "mean": [1.0, -2.0], "std": [2.0, 3.0]}
    gumbel = _model("gumbel-vae", **{"model.latent_dim": 3, "model.categories": 4})
    assert gumbel.describe_prior() == {"kind": "categorical", "variables": 3, "categories": 4}
    assert _model("aae-mixture").describe_prior() == {"kind": "mixture"}
    aae = _model("aae", **{"model.latent_dim": 2, "model.prior_std": 5.0})
    assert aae.describe_prior() == {"kind": "normal", "mean": [0.0, 0.0], "std": [5.0, 5.0]}


def test_a_metric_applies_only_to_models_with_the_capabilities_it_needs():
    @register_metric("code_size", kinds=("image",), protocol="the size of z", needs=(C.LatentModel,),
                     lacking="code_size reads z")
    def code_size(ev):
        return {"value": ev.model.latent_dim}
    try:
        run = SimpleNamespace(config=None)
        assert METRICS["code_size"].refusal(SimpleNamespace(model=_model("vae"), run=run)) is None
        assert METRICS["code_size"].refusal(SimpleNamespace(model=_model("rbm"), run=run)) == "code_size reads z"
    finally:
        del METRICS["code_size"]


def test_the_image_metrics_come_from_the_registry():
    assert image_metrics() == ("fd", "kid", "prdc", "cs", "classes", "inception_fid")
    assert image_metrics(defaults=True) == ("fd", "kid", "prdc", "cs", "classes")


def test_the_grammar_metric_counts_grammatical_distinct_and_novel_sequences():
    # sampled: x+x, x+, x, x+x -> grammatical 3 of 4, distinct grammatical {x+x, x}, of which x+x not in training
    drawn = torch.stack([encode(s) for s in ("x+x", "x+", "x", "x+x")])
    model = SimpleNamespace(device=torch.device("cpu"), data=SimpleNamespace(kind="tokens", vocab_size=len(VOCAB)),
                            sample=lambda n, generator=None: drawn[:n])
    train = _Split(torch.stack([encode("x"), encode("x*x")]), "two expressions")
    ev = SimpleNamespace(model=model, n=4, seed=0, split=lambda name: train,
                         config=SimpleNamespace(data=SimpleNamespace(name="arith")))
    r = grammar(ev)
    assert (r["n"], r["valid_fraction"], r["distinct_valid"], r["novel_valid"]) == (4, 0.75, 2, 1)
    assert METRICS["grammar"].refusal(ev) is None


class _Split:
    def __init__(self, x, source):
        self.x, self.source = x, source

    def __len__(self):
        return len(self.x)
