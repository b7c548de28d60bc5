"""Random corruptions of a real checkpoint and config.json: each loads correctly or is one clear error.

Every case runs in this process: the loaders check each tensor against the model before anything
reaches a kernel, so no corruption can crash or hang the interpreter (each case has an alarm)."""
import copy
import json
import random
import shutil
import signal
import struct

import pytest
import torch
from safetensors.torch import save_file

from genzoo.presets import build_config, resolve
from genzoo.errors import GenzooError
from genzoo.models import Batch, DataSpec, Optimizers
from genzoo.runs.checkpoint import list_checkpoints, read_checkpoint
from genzoo.training.checkpoint import restore
from genzoo.training.trainer import build_model, load, train

from fuzzing import mutate_json

CHECKPOINT_CASES = 400
CONFIG_CASES = 150


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A 2-step GAN with 8-unit nets on the ring of 8 Gaussians (fused Adam for G and D)."""
    cfg = resolve("gan", overrides={"data.name": "ring8", "data.n_samples": 256, "train.steps": 2,
                                    "train.sample_every": 0, "train.batch_size": 32, "model.latent_dim": 4,
                                    "model.nets.hidden": [8, 8]})
    return train(cfg, out=tmp_path_factory.mktemp("fuzz") / "run", progress=False, log=lambda *_: None).dir


class _Hang(Exception):
    pass


def _alarm(*_):
    raise _Hang()


def _outcome(action):
    """'ok' or 'error' (a GenzooError); anything else fails the test, a hang after 10 s included."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(10)
    try:
        action()
        return "ok"
    except GenzooError as e:
        assert "\n" not in str(e) or str(e).startswith("no checkpoint"), str(e)
        return "error"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _header(data: bytes) -> tuple[dict, bytes]:
    n = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8:8 + n]), data[8 + n:]


def _with_header(header: dict, body: bytes) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + body


def _corrupt_bytes(data: bytes, rng) -> bytes:
    kind = rng.choice(["flip", "flip", "truncate", "swap", "shape", "dtype", "meta"])
    if kind == "flip":
        out = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out)
    if kind == "truncate":
        return data[:rng.randrange(len(data))]
    header, body = _header(data)
    names = [k for k in header if k != "__metadata__"]
    a, b = rng.sample(names, 2)
    if kind == "swap":        # two tensors trade places (names keep their positions)
        header[a], header[b] = header[b], header[a]
    elif kind == "shape":     # the same bytes read with another shape (or an inconsistent one)
        shape = header[a]["shape"]
        header[a]["shape"] = rng.choice([shape[::-1], [sum(shape)], shape + [1], [], [0], [2**40]])
    elif kind == "dtype":     # the same bytes read as another type (same width or not)
        header[a]["dtype"] = rng.choice(["I32", "F16", "BF16", "F64", "U8", "BOOL", "I64", "F8_E4M3", "Q4"])
    else:
        meta = json.loads(header["__metadata__"]["genzoo"])
        header["__metadata__"]["genzoo"] = json.dumps(mutate_json(meta, rng))
    return _with_header(header, body)


def _corrupt_tensors(path, rng) -> bytes:
    """Tensors replaced, removed or added with a valid file around them: wrong sizes, types and names."""
    tensors, meta = read_checkpoint(path)
    name = rng.choice(sorted(tensors))
    kind = rng.choice(["replace", "remove", "add", "scalar"])
    like = tensors[name]
    if kind == "replace":
        shape = rng.choice([(like.numel() + 1,), tuple(like.shape[::-1]), (3, 3), (like.numel() * 64,)])
        tensors[name] = torch.randn(shape).to(rng.choice([torch.float32, torch.float64, torch.int32, torch.uint8]))
    elif kind == "remove":
        del tensors[name]
    elif kind == "add":
        tensors[name.rsplit("/", 1)[0] + "/" + rng.choice(["extra", "99", "exp_avg", "step"])] = torch.zeros(5)
    else:
        tensors[name] = torch.tensor(rng.choice([float("nan"), -1.0, 1e30]))
    out = path.with_name("crafted.tmp")
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(out), metadata={"genzoo": json.dumps(meta)})
    data = out.read_bytes()
    out.unlink()
    return data


def _model_and_optimizers(run_dir):
    saved = json.loads((run_dir / "config.json").read_text())
    model = build_model(build_config(saved["config"]), DataSpec.from_dict(saved["data_spec"]), torch.device("cpu"))
    return model, model.configure_optimizers()


def _assert_loaded_as_saved(path, model, optimizers):
    """A load that succeeds holds exactly the file's tensors, and they are of a state a run can reach."""
    tensors, _ = read_checkpoint(path)
    for k, v in model.state_dict().items():
        assert torch.equal(v, tensors[f"model/{k}"]), k
    for name, opt in optimizers.items():
        for idx, entries in opt.state_dict()["state"].items():
            for entry, value in entries.items():
                if not torch.is_tensor(value):
                    continue
                assert torch.equal(value, tensors[f"optim/{name}/{idx}/{entry}"]), (name, idx, entry)
                assert torch.isfinite(value).all(), (name, idx, entry)
                if entry == "step":
                    assert 0 <= value.item() == int(value.item()), value
                if entry == "exp_avg_sq":
                    assert (value >= 0).all(), (name, idx)


def _resume_one_step(path, model, optimizers):
    """What `genzoo train --resume` does with a checkpoint, then one training step on the loaded state
    (the same model for every case: a load replaces all of its weights and optimizer state)."""
    restore(path, model, optimizers)
    _assert_loaded_as_saved(path, model, optimizers)
    model.train_step(Batch(torch.randn(32, 2)), Optimizers(optimizers), 2)


@pytest.mark.slow
def test_500_random_checkpoint_and_config_corruptions_each_load_or_fail_in_one_line(run, tmp_path, one_thread):
    rng = random.Random(0)
    ckpt = list_checkpoints(run / "checkpoints")[-1][1]
    original = ckpt.read_bytes()
    target = tmp_path / "step-0000002.safetensors"
    rng_before = torch.get_rng_state()
    model, optimizers = _model_and_optimizers(run)
    outcomes = []
    for i in range(CHECKPOINT_CASES):
        target.write_bytes(_corrupt_tensors(ckpt, rng) if i % 4 == 3 else _corrupt_bytes(original, rng))
        outcomes.append(_outcome(lambda: _resume_one_step(target, model, optimizers)))
    copy_dir = tmp_path / "run"
    shutil.copytree(run, copy_dir)
    record = json.loads((run / "config.json").read_text())
    for _ in range(CONFIG_CASES):
        (copy_dir / "config.json").write_text(json.dumps(mutate_json(copy.deepcopy(record), rng)))
        outcomes.append(_outcome(lambda: load(copy_dir).sample(4)))
    torch.set_rng_state(rng_before)
    assert len(outcomes) == CHECKPOINT_CASES + CONFIG_CASES >= 500
    # both kinds of outcome happen: the fuzzing reaches the loaders and is not refused wholesale
    assert outcomes.count("error") > 100 and outcomes.count("ok") > 20, (outcomes.count("ok"), outcomes.count("error"))
