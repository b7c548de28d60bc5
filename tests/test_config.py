import pytest
import yaml

from genzoo.presets import list_presets, parse_override, preset_text, resolve
from genzoo.errors import ConfigError


@pytest.mark.parametrize("name", list_presets())
def test_every_preset_builds(name):
    cfg = resolve(name)
    assert cfg.name == name
    assert cfg.train.steps is None or cfg.train.steps > 0


def test_overrides_are_typed():
    cfg = resolve("dcgan", overrides=dict([parse_override("model.optim.lr=1e-4"),
                                           parse_override("model.optim.betas=[0.0, 0.9]"),
                                           parse_override("train.steps=7")]))
    assert cfg.model.optim.lr == pytest.approx(1e-4)
    assert cfg.model.optim.betas == (0.0, 0.9)
    assert cfg.train.steps == 7


def test_unknown_key_suggests_the_close_match():
    with pytest.raises(ConfigError, match="unknown config key 'model.latnt_dim'. Did you mean 'latent_dim'"):
        resolve("dcgan", overrides={"model.latnt_dim": 3})
    with pytest.raises(ConfigError, match="Did you mean 'train'"):
        resolve("dcgan", overrides={"trian.steps": 3})


def test_wrong_type_names_key_and_value():
    with pytest.raises(ConfigError, match=r"model.latent_dim: expected an integer, got 'abc'"):
        resolve("dcgan", overrides={"model.latent_dim": "abc"})
    with pytest.raises(ConfigError, match=r"model.optim.betas: expected 2 values"):
        resolve("dcgan", overrides={"model.optim.betas": [0.5]})
    with pytest.raises(ConfigError, match="expected true or false"):
        resolve("dcgan", overrides={"model.nets.spectral_norm": "yes please"})


def test_negative_steps_rejected():
    with pytest.raises(ConfigError, match="train.steps must be a positive integer, got -5"):
        resolve("vae", overrides={"train.steps": -5})


def test_unknown_model_suggests():
    with pytest.raises(ConfigError, match="unknown model 'dcgna'. Did you mean 'dcgan'"):
        resolve("dcgna")


def test_override_needs_equals():
    with pytest.raises(ConfigError, match="key=value"):
        parse_override("model.latent_dim")


def test_show_config_round_trips_through_a_file(tmp_path):
    text = preset_text("vae")
    raw = yaml.safe_load(text)
    raw["model"]["latent_dim"] = 7
    path = tmp_path / "my.yaml"
    path.write_text(yaml.safe_dump(raw))
    cfg = resolve(config_file=path)
    assert cfg.algorithm == "vae" and cfg.model.latent_dim == 7
    assert cfg.model.hidden == (500,)


def test_missing_config_file():
    with pytest.raises(ConfigError, match="does not exist"):
        resolve(config_file="/nonexistent/cfg.yaml")


def _toy_config(tmp_path, per_dataset):
    raw = yaml.safe_load(preset_text("gan-toy"))
    raw["per_dataset"] = per_dataset
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))  # the sections' order is meaningful
    return path


def test_per_dataset_values_follow_the_chosen_data(tmp_path):
    path = _toy_config(tmp_path, {"grid25": {"model.penalty.weight": 2.5, "train.steps": 7}})
    ring = resolve(config_file=path, overrides={"data.name": "ring8"})
    grid = resolve(config_file=path, overrides={"data.name": "grid25"})
    assert (ring.model.penalty.weight, ring.train.steps) == (0.1, 30000)
    assert (grid.model.penalty.weight, grid.train.steps) == (2.5, 7)
    # the user's --set wins over the preset's per-dataset value; the others still apply
    mine = resolve(config_file=path, overrides={"data.name": "grid25", "model.penalty.weight": 0.5})
    assert (mine.model.penalty.weight, mine.train.steps) == (0.5, 7)



def test_a_per_dataset_key_may_name_several_datasets_and_a_later_section_wins(tmp_path):
    path = _toy_config(tmp_path, {"ring8, grid25": {"train.steps": 7, "train.batch_size": 32},
                                  "grid25": {"train.steps": 9}})
    ring, grid, digits = (resolve(config_file=path, overrides={"data.name": name})
                          for name in ("ring8", "grid25", "mnist"))
    assert (ring.train.steps, ring.train.batch_size) == (7, 32)
    assert (grid.train.steps, grid.train.batch_size) == (9, 32)
    assert (digits.train.steps, digits.train.batch_size) == (30000, 100)  # gan-toy's own values


def test_per_dataset_values_apply_whatever_the_spelling_of_the_data_name():
    # 'MNIST' and 'Fashion_MNIST' load the same data as 'mnist' and 'fashion-mnist': so do their settings
    upper = resolve("dcgan", overrides={"data.name": "MNIST"})
    assert (upper.data.name, upper.model.optim.lr, upper.model.nets.fc_width) == ("mnist", 1e-3, 1024)
    fashion = resolve("wgan", overrides={"data.name": "Fashion_MNIST"})
    assert (fashion.data.name, fashion.model.d_steps) == ("fashion-mnist", 1)


def test_a_set_of_a_sub_key_wins_over_a_per_dataset_section():
    # dcgan's per-dataset value on MNIST is D's whole optimizer; --set model.d_optim.lr changes its rate only
    cfg = resolve("dcgan", overrides={"model.d_optim.lr": 4e-4, "model.optim.lr": 1e-4})
    assert (cfg.model.d_optim.lr, cfg.model.d_optim.betas, cfg.model.optim.lr) == (4e-4, (0.5, 0.999), 1e-4)
    assert resolve("dcgan").model.d_optim.lr == 2e-4  # the preset itself is untouched by the earlier call
    assert resolve("dcgan", overrides={"model.d_optim": None}).model.d_optim is None

def test_gan_toy_scales_its_r1_weight_with_the_toy():
    ring, grid = (resolve("gan-toy", overrides={"data.name": name}) for name in ("ring8", "grid25"))
    assert (ring.data.name, grid.data.name) == ("ring8", "grid25")
    assert ring.model.penalty.kind == grid.model.penalty.kind == "r1"
    assert grid.model.penalty.weight > ring.model.penalty.weight  # the grid's modes are 5x wider
    assert ring.model.nets == grid.model.nets
    # the grid trains twice as long, with batch 200 and a shorter decay (README: 5-seed runs on grid25)
    assert (ring.train.steps, ring.train.batch_size, ring.train.lr_decay) == (30_000, 100, 0.5)
    assert (grid.train.steps, grid.train.batch_size, grid.train.lr_decay) == (60_000, 200, 0.3)


def test_bad_per_dataset_section_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="per_dataset"):
        resolve(config_file=_toy_config(tmp_path, {"grid25": 1.0}))
    with pytest.raises(ConfigError, match="unknown"):  # a misspelt key inside it is caught like any other
        resolve(config_file=_toy_config(tmp_path, {"ring8": {"model.penalty.wieght": 1.0}}))
    with pytest.raises(ConfigError, match="'rng8'.*Did you mean 'ring8'"):  # a section that would never apply
        resolve(config_file=_toy_config(tmp_path, {"ring8, rng8": {"train.steps": 7}}))


def test_a_budget_in_steps_replaces_a_preset_budget_in_epochs_and_vice_versa():
    # pix2pix: 200 epochs for folders; 1,000 steps (per_dataset) on the digits
    folder = resolve("pix2pix", overrides={"data.name": "image-pairs", "train.steps": 5})
    assert (folder.train.steps, folder.train.epochs) == (5, None)
    digits = resolve("pix2pix", overrides={"train.epochs": 2})
    assert (digits.train.steps, digits.train.epochs) == (None, 2.0)
    with pytest.raises(ConfigError, match="not both"):
        resolve("pix2pix", overrides={"train.steps": 5, "train.epochs": 2})


def test_a_config_file_that_is_not_utf8_is_one_clear_error(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: gan\nalgorithm: gan\ndescription: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"is not UTF-8 text .* at byte 41"):
        resolve(config_file=path)


def test_yaml_alias_bombs_are_refused_without_expanding(tmp_path):
    """'Billion laughs': 9 levels of 10 aliases each would be 10**9 strings once expanded."""
    lines = ['a0: &a0 "lol"'] + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines + ["algorithm: gan", "description: *a9"]) + "\n")
    with pytest.raises(ConfigError, match=r"not valid YAML: aliases \(\*name\) are not accepted"):
        resolve(config_file=path)


def test_yaml_nested_thousands_of_levels_is_one_clear_error(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("algorithm: gan\ndescription: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match="nested more than 50 levels deep"):
        resolve(config_file=path)


@pytest.mark.parametrize("key, value, message", [
    ("model.optim.lr", "nan", "optim.lr is a learning rate"),
    ("model.optim.lr", "-1e-3", "optim.lr is a learning rate"),
    ("model.optim.lr", "0", "optim.lr is a learning rate"),
    ("model.optim.betas", "[.nan, 0.9]", r"optim.betas .* got \[nan, 0.9\]"),
    ("model.optim.betas", "[-0.5, 0.9]", "optim.betas"),
    ("model.optim.betas", "[0.5, 1.0]", "optim.betas"),
    ("model.d_optim", "{lr: .inf}", "optim.lr"),
    ("train.epochs", "nan", "train.epochs must be a positive finite number"),
    ("train.epochs", "inf", "train.epochs must be a positive finite number"),
    ("train.seed", str(2**64), r"train.seed must be an integer from 0 to 2\*\*32 - 1"),
    ("train.seed", "-1", "train.seed"),
    ("model.latent_dim", "0", "model.latent_dim is a layer width"),
    ("model.latent_dim", str(10**12), r"model.latent_dim is a layer width: whole numbers from 1 to 65,536, got 1000000000000"),
    ("model.nets.hidden", "[256, -4]", r"model.nets.hidden is a layer width: whole numbers from 1 to 65,536, got \(256, -4\)"),
    ("model.nets.width", "0", "model.nets.width is a layer width"),
])
def test_impossible_numbers_are_refused_with_the_key(key, value, message):
    with pytest.raises(ConfigError, match=message):
        resolve("gan", overrides=dict([parse_override(f"{key}={value}")]))


@pytest.mark.parametrize("name", ["../escape", "/tmp/elsewhere", "a/b", "..", ".hidden", ""])
def test_a_run_name_cannot_leave_the_runs_folder(name):
    with pytest.raises(ConfigError, match="names the run directory"):
        resolve("gan", overrides={"name": name})


def test_widths_of_every_model_are_checked():
    for preset, key in [("vae", "model.hidden"), ("rbm", "model.hidden"), ("alae", "model.mapping_hidden"),
                        ("aae", "model.disc_hidden"), ("gsgan", "model.nets.g_hidden")]:
        bad = 0 if key == "model.hidden" and preset == "rbm" else [8, 0]
        with pytest.raises(ConfigError, match=f"{key} is a layer width"):
            resolve(preset, overrides={key: bad})


@pytest.mark.parametrize("record, message", [
    ([1, 2], "holds a JSON list, not a genzoo run record"),
    ({"config": {}, "dataset": {}}, "lacks its 'data_spec' section"),
    ({"config": [], "dataset": {}, "data_spec": {}}, "lacks its 'config' section"),
    ({"config": {}, "dataset": {"source": "s", "size": 1}, "data_spec": {"kind": "points", "shape": [2**40]}},
     "has a data_spec that no genzoo run writes"),
    ({"config": {}, "dataset": {"size": 1}, "data_spec": {"kind": "points", "shape": [2]}}, "without its source"),
])
def test_a_run_record_that_is_not_genzoos_is_refused(record, message):
    from genzoo.runs.record import check_run_record
    with pytest.raises(ConfigError, match=message):
        check_run_record(record, "run/config.json")


def test_a_configuration_whose_algorithm_is_not_a_name_is_refused():
    from genzoo.presets import build_config
    with pytest.raises(ConfigError, match="names no model: give one, as in `genzoo train MODEL --config FILE`"):
        build_config({"algorithm": ["gan"]})


def test_a_partial_config_file_without_a_model_says_to_name_one(tmp_path):
    from genzoo.presets import resolve
    partial = tmp_path / "partial.yaml"
    partial.write_text("train:\n  steps: 5\n")
    with pytest.raises(ConfigError, match=r"genzoo train MODEL --config FILE.*overrides MODEL's preset"):
        resolve(config_file=partial)


def test_a_model_section_that_is_not_a_mapping_is_refused():
    from genzoo.presets import build_config
    with pytest.raises(ConfigError, match="model: expected a mapping of GANConfig fields, got \\[1, 'a'\\]"):
        build_config({"algorithm": "gan", "model": [1, "a"]})


@pytest.mark.parametrize("preset, key, value, allowed, close", [
    ("dcgan", "train.precision", "bf61", "'auto', 'fp32', 'bf16', 'fp16'", "bf16"),
    ("vae", "model.optim.name", "adma", "'adam', 'rmsprop', 'sgd'", "adam"),
    ("gan-toy", "model.nets.generator_norm", "btach", "'none', 'batch', 'layer'", "batch"),
    ("rbm", "model.binarize", "fixd", "'dynamic', 'fixed', 'none'", "fixed"),
    ("wgan-gp", "model.loss", "wasserstien", "'minimax', 'non-saturating', 'max-likelihood', 'least-squares', "
                                             "'wasserstein', 'hinge'", "wasserstein"),
])
def test_a_value_outside_a_choice_is_one_line_listing_the_allowed_values(preset, key, value, allowed, close):
    with pytest.raises(ConfigError) as e:
        resolve(preset, overrides={key: value})
    assert str(e.value) == f"{key} must be one of {allowed}; got '{value}'. Did you mean '{close}'?"


def test_the_allowed_values_come_from_the_fields_type():
    """One generic check reads the choices off the `Literal` type: a subclass that widens a field's type
    accepts the new value, and the message lists it; a config built in Python is checked the same way."""
    import dataclasses
    import typing
    from genzoo.typed import check_literals, from_dict
    from genzoo.losses import GAN_LOSSES, GanLossName
    from genzoo.models.gan import GANConfig, Penalty
    from genzoo.nets.layers import ACTIVATIONS, Activation

    assert typing.get_args(GanLossName) == tuple(GAN_LOSSES)     # the type and the table name the same losses
    assert typing.get_args(Activation) == tuple(ACTIVATIONS)

    @dataclasses.dataclass
    class WiderPenalty(Penalty):
        kind: typing.Literal["none", "gradient", "r1", "one-sided"] = "none"

    assert from_dict(WiderPenalty, {"kind": "one-sided"}, "model.penalty").kind == "one-sided"
    with pytest.raises(ConfigError, match=r"^model.penalty.kind must be one of 'none', 'gradient', 'r1', "
                                          r"'one-sided'; got 'one-sidd'. Did you mean 'one-sided'\?$"):
        from_dict(WiderPenalty, {"kind": "one-sidd"}, "model.penalty")
    with pytest.raises(ConfigError, match=r"^model.penalty.kind must be one of 'none', 'gradient', 'r1'; "
                                          r"got 'one-sided'.$"):
        from_dict(Penalty, {"kind": "one-sided"}, "model.penalty")
    built = GANConfig(penalty=Penalty(kind="gradiant"))   # not through from_dict: nothing checked yet
    with pytest.raises(ConfigError, match="model.penalty.kind must be one of .* Did you mean 'gradient'"):
        check_literals(built, "model")
