"""Export a trained generator, decoder or translator alone, as TorchScript or ONNX, with a JSON sidecar.

The exported file runs without genzoo's training code: `torch.jit.load(FILE)` or an onnxruntime
`InferenceSession(FILE)` is enough. A TorchScript file is code (loading it runs what it holds): load only
your own or trusted ones; ONNX is the format for files from others. The sidecar `FILE.json` says what goes in and comes out:

    sampler     z (N, latent_dim) float32 [, y (N,) int64 class labels]  ->  x (N, *shape)
    translator  x (N, C, H, W) float32 in [0, 1]                        ->  x (N, C, H, W) in [0, 1]

and how to draw z (the model's prior), the classes, the image shape and the value range.
`load_exported(FILE)` reads both back and samples: `load_exported("g.onnx").sample(16, seed=0)`
(a TorchScript file only with `trusted=True`).
"""
from __future__ import annotations

import copy
import io
import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import torch
from torch import nn

from .errors import GenzooError
from .models.base import IMAGE_KINDS
from .models.capabilities import LatentPrior, class_count
from .models import capabilities
from .safe_write import check_writable_file, read_regular_file, write_bytes, write_text

if TYPE_CHECKING:
    from .runs import RunDir

Format = Literal["torchscript", "onnx"]
SUFFIXES: dict[str, str] = {"torchscript": ".pt", "onnx": ".onnx"}
SIDECAR_FORMAT = "genzoo-export"
SIDECAR_VERSION = 1
ONNX_OPSET = 17
MAX_SIDECAR_BYTES = 1 << 20


class LatentSampler(nn.Module):
    """x = model.generate(z [, y]): the generator (GANs, ALAE) or decoder mean (VAEs, AEs) in data space."""

    def __init__(self, model: nn.Module, conditional: bool):
        super().__init__()
        self.model, self.conditional = model, conditional

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.model.generate(z, cond=y) if self.conditional else self.model.generate(z)


class Translator(nn.Module):
    """x in [0, 1] -> net(2x - 1) mapped back to [0, 1]: a translation model's generator, as `translate` runs it."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((self.net(x * 2 - 1) + 1) / 2).clamp(0, 1)


class BatchStatisticsNorm(nn.Module):
    """Batch norm from the current batch's statistics, as plain ops: the legacy ONNX exporter cannot
    export nn.BatchNorm2d(track_running_stats=False) (pix2pix's G) for a batch size left open."""

    def __init__(self, bn: nn.BatchNorm2d):
        super().__init__()
        self.eps, self.weight, self.bias = bn.eps, bn.weight, bn.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean((0, 2, 3), keepdim=True)
        var = (x - mean).pow(2).mean((0, 2, 3), keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        if self.weight is not None:
            x = x * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)
        return x


def batch_statistics_as_ops(module: nn.Module) -> nn.Module:
    """A copy of `module` whose batch norms without running statistics are BatchStatisticsNorm."""
    module = copy.deepcopy(module)
    for parent in list(module.modules()):
        for name, child in parent.named_children():
            if isinstance(child, nn.BatchNorm2d) and not child.track_running_stats:
                setattr(parent, name, BatchStatisticsNorm(child))
    return module


def export_spec(model, preset: str | None = None) -> tuple[nn.Module, tuple[torch.Tensor, ...], dict]:
    """(the module to export, example inputs, sidecar) for a genzoo model, trained as the named `preset` (the
    sidecar's "model"; default: the algorithm's name); GenzooError if it has no feed-forward sampler."""
    data = model.data
    base = {"format": SIDECAR_FORMAT, "version": SIDECAR_VERSION, "algorithm": model.name,
            "model": preset or model.name}
    if isinstance(model, capabilities.Translator):
        net = model.translation_net()
        shape = list(data.shape[1:])
        side = {**base, "role": "translator", "inputs": [{"name": "x", "shape": ["N", *shape], "dtype": "float32"}],
                "outputs": [{"name": "x_out", "shape": ["N", *shape], "dtype": "float32"}],
                "image_shape": shape, "value_range": [0.0, 1.0], "direction": model.cfg.direction,
                "preprocessing": "images as float32 (N, C, H, W) in [0, 1] (uint8 / 255), the size of the "
                                 "training images; the output is in [0, 1]",
                "dropout": "off (genzoo's translate keeps pix2pix's dropout on at test time when "
                           "model.test_dropout=true; the export is deterministic)"}
        return Translator(net).eval(), (torch.rand(2, *shape),), side
    if not isinstance(model, LatentPrior) or data.kind not in IMAGE_KINDS + ("points",):
        raise GenzooError(f"{model.name} has no feed-forward sampler to export (a generator or decoder from a "
                          "latent z to images or points); RBMs and DBMs sample by Gibbs chains and token models "
                          "by discrete steps. Use `genzoo sample` instead")
    k = class_count(model)
    z = model.describe_prior()
    inputs = [{"name": "z", "shape": ["N", model.latent_dim], "dtype": "float32", "prior": z}]
    example: tuple[torch.Tensor, ...] = (torch.randn(2, model.latent_dim),)
    if k:
        inputs.append({"name": "y", "shape": ["N"], "dtype": "int64", "classes": k})
        example = example + (torch.tensor([0, k - 1]),)
    image = data.kind == "image"
    side = {**base, "role": "sampler", "inputs": inputs,
            "outputs": [{"name": "x", "shape": ["N", *data.shape], "dtype": "float32"}],
            "latent_dim": model.latent_dim, "num_classes": k, "data_kind": data.kind,
            "image_shape": list(data.shape) if image else None,
            "value_range": [0.0, 1.0] if image else None,
            "preprocessing": "draw z from inputs[0].prior; y: class labels 0..num_classes-1; images come out "
                             "in [0, 1] as (N, C, H, W)" if image else "draw z from inputs[0].prior"}
    return LatentSampler(model, conditional=bool(k)).eval(), example, side


def default_path(run_dir: str | Path, fmt: str) -> Path:
    return Path(run_dir) / "export" / f"model{SUFFIXES[fmt]}"


def export_run(run_dir: "str | Path | RunDir", fmt: Format = "torchscript", out: str | Path | None = None,
               step: int | None = None) -> Path:
    """Export the sampler of a run (a RunDir or its path; its latest checkpoint, or `step`) to `out`;
    write `out`.json."""
    from .runs import RunDir

    if fmt not in SUFFIXES:
        raise GenzooError(f"unknown export format '{fmt}'; choose torchscript or onnx")
    loaded = RunDir.open(run_dir).load(step)
    module, example, side = export_spec(loaded.model, loaded.config.name)
    path, inside = (Path(out), None) if out else (default_path(loaded.path, fmt), loaded.path)
    sidecar = Path(str(path) + ".json")
    for file in (path, sidecar):   # before the work: a run's own file, a link, a folder
        check_writable_file(file, inside=inside, results=True)
    names = [i["name"] for i in side["inputs"]]
    buffer = io.BytesIO()   # made in memory, then written by Python: a full disk is an OSError, not an abort
    with torch.no_grad(), warnings.catch_warnings():
        # tracing warns that Python checks on tensor values are frozen: the checks of genzoo's own API, which
        # the exported graph does not need; and torch marks both exporters deprecated in favour of torch.export
        warnings.simplefilter("ignore")
        if fmt == "torchscript":
            torch.jit.save(torch.jit.trace(module, example, check_trace=False), buffer)
        else:
            _export_onnx(module, example, names, [o["name"] for o in side["outputs"]], buffer)
    side["file"] = path.name
    side["format_of_file"] = fmt
    write_bytes(path, buffer.getvalue(), inside=inside)
    write_text(sidecar, json.dumps(side, indent=2) + "\n", inside=inside)
    return path


def _export_onnx(module, example, input_names, output_names, f) -> None:
    try:
        import onnx  # noqa: F401  (the exporter needs it)
    except ImportError:
        raise GenzooError("ONNX export needs the onnx package: pip install 'genzoo[export]' "
                          "(onnx and onnxruntime)") from None
    axes = {name: {0: "N"} for name in (*input_names, *output_names)}
    torch.onnx.export(batch_statistics_as_ops(module), example, f, dynamo=False, input_names=input_names, output_names=output_names,
                      dynamic_axes=axes, opset_version=ONNX_OPSET)


class ExportedModel:
    """An exported genzoo sampler or translator, run by TorchScript or onnxruntime (no training code).

    model(z[, y]) / model(x): the raw call, tensors or arrays in, a torch tensor out.
    model.sample(n, cond=None, seed=0): z from the sidecar's prior (samplers only).
    model.meta: the sidecar.
    """

    def __init__(self, path: Path, meta: dict):
        self.path, self.meta = path, meta
        if meta["format_of_file"] == "onnx":
            try:
                import onnxruntime
            except ImportError:
                raise GenzooError("running an ONNX export needs onnxruntime: pip install onnxruntime") from None
            self._session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            self._module = None
        else:
            self._module = torch.jit.load(str(path), map_location="cpu").eval()   # load_exported asked trusted=True

    def __call__(self, *inputs) -> torch.Tensor:
        if len(inputs) != len(self.meta["inputs"]):
            names = ", ".join(i["name"] for i in self.meta["inputs"])
            raise GenzooError(f"{self.path.name} takes {len(self.meta['inputs'])} inputs ({names}), got {len(inputs)}")
        tensors = [torch.as_tensor(x, dtype=torch.float32 if i["dtype"] == "float32" else torch.int64)
                   for x, i in zip(inputs, self.meta["inputs"])]
        if self._module is not None:
            with torch.no_grad():
                return self._module(*tensors)
        feed = {i["name"]: t.numpy() for i, t in zip(self.meta["inputs"], tensors)}
        return torch.from_numpy(self._session.run(None, feed)[0])

    def sample(self, n: int, cond=None, seed: int = 0) -> torch.Tensor:
        """n samples with z drawn from the sidecar's prior (a normal or one-hot categories); cond: a class
        or n classes for a conditional model (default: the classes in turn)."""
        if self.meta["role"] != "sampler":
            raise GenzooError(f"{self.path.name} is a translator: call it on images (N, C, H, W) in [0, 1]")
        g = torch.Generator().manual_seed(seed)
        z = draw_prior(self.meta["inputs"][0]["prior"], n, g)
        k = self.meta["num_classes"]
        if not k:
            if cond is not None:
                raise GenzooError(f"{self.path.name} is unconditional; drop cond")
            return self(z)
        y = torch.arange(n) % k if cond is None else torch.as_tensor(cond, dtype=torch.int64).expand(n)
        if (y < 0).any() or (y >= k).any():
            raise GenzooError(f"cond must be classes in 0..{k - 1}")
        return self(z, y)


def draw_prior(prior: dict, n: int, generator: torch.Generator) -> torch.Tensor:
    if prior["kind"] == "normal":
        mean, std = torch.tensor(prior["mean"]), torch.tensor(prior["std"])
        return mean + std * torch.randn(n, len(mean), generator=generator)
    if prior["kind"] == "categorical":
        c = torch.randint(prior["categories"], (n, prior["variables"]), generator=generator)
        return torch.nn.functional.one_hot(c, prior["categories"]).float().flatten(1)
    raise GenzooError(f"the exported model's prior ({prior['kind']}) has no closed form here; "
                      "draw z yourself and call the model on it")


def load_exported(path: str | Path, *, trusted: bool = False) -> ExportedModel:
    """An exported model and its sidecar (FILE.json beside FILE).

    A TorchScript file is code: loading and calling it runs whatever it holds, with the user's rights
    (write files, for one). It is loaded only with trusted=True, for a file you exported yourself or got
    from a source you trust. For files from others, use an ONNX export (run by onnxruntime, whose graph
    cannot reach the file system) or a run's safetensors checkpoint with its config.json (genzoo.load)."""
    path = Path(path)
    side = Path(str(path) + ".json")
    if not path.exists():
        raise GenzooError(f"exported model '{path}' does not exist; write one with `genzoo export RUN`")
    if not path.is_file():   # a folder, FIFO or device (perhaps through a link): nothing genzoo wrote
        raise GenzooError(f"exported model '{path}' is not a regular file; give the FILE `genzoo export` wrote")
    if not side.exists():
        raise GenzooError(f"'{side}' is missing: an exported model needs its JSON sidecar to say what it takes")
    meta = _read_sidecar(side)
    if meta["format_of_file"] == "torchscript" and not trusted:
        raise GenzooError(f"'{path}' is a TorchScript file, and TorchScript is code: loading it runs what it holds. "
                          "Load it with load_exported(FILE, trusted=True) only if you made it or trust its source; "
                          "for files from others use an ONNX export (genzoo export RUN --format onnx)")
    return ExportedModel(path, meta)


def _read_sidecar(side: Path) -> dict:
    """The sidecar as a dict with the fields ExportedModel uses, checked; GenzooError otherwise."""
    data, why = read_regular_file(side, MAX_SIDECAR_BYTES, follow_links=True)   # not /dev/zero, not a FIFO
    if why:
        raise GenzooError(f"'{side}' cannot be read as a genzoo export sidecar ({why}); it must be the regular "
                          "JSON file `genzoo export` wrote beside the model: write it again with genzoo export")
    try:
        meta = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise GenzooError(f"'{side}' is not valid JSON ({e})") from None
    fields = isinstance(meta, dict) and meta.get("format") == SIDECAR_FORMAT and meta.get("version") == SIDECAR_VERSION
    inputs = meta.get("inputs") if fields else None
    if not (fields and meta.get("format_of_file") in SUFFIXES and meta.get("role") in ("sampler", "translator")
            and isinstance(inputs, list) and inputs and all(isinstance(i, dict) and isinstance(i.get("name"), str)
                                                          and i.get("dtype") in ("float32", "int64") for i in inputs)):
        raise GenzooError(f"'{side}' is not a genzoo export sidecar (format "
                          f"{meta.get('format') if isinstance(meta, dict) else type(meta).__name__}, or its "
                          "format_of_file, role or inputs are missing or unknown); write it again with genzoo export")
    return meta
