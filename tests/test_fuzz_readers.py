"""Fixed and random corruptions of a run's config.json, metrics.jsonl and eval.json, as `genzoo report`, `genzoo
eval` and `genzoo export` read them: each command succeeds, or exits with status 2 and one `genzoo: error:` line;
never a traceback, a crash or a hang (each case has an alarm). A command that succeeds on a corrupted config.json
has loaded exactly the checkpoint's weights.

The random cases are drawn from a seed the test prints (fixed by default); GENZOO_FUZZ_SEED=N replays seed N,
GENZOO_FUZZ_SEED=new draws fresh ones."""
import json
import os
import random
import shutil
import signal

import pytest
import torch

from genzoo.cli import main
from genzoo.runs.checkpoint import list_checkpoints, read_checkpoint
from genzoo.training.trainer import load

from fuzzing import fuzz_seed, mutate_json, random_value

SEED = fuzz_seed()
FILES = ("config.json", "metrics.jsonl", "eval.json")
#: what reads each file (report reads all three; eval its config and earlier results; export the config)
READERS = {"config.json": ("report", "eval", "export"), "metrics.jsonl": ("report",), "eval.json": ("report", "eval")}
CASE_SECONDS = 300   # a case still running after this is a hang (report draws its curves in about a second)

#: any of the files as bytes of every kind, or a path that is not a regular file
ANY_FILE = [b"", b"\xff\xfe\x00\x01", b"[1, 2]", b"null", b"3", b'"text"', b"{", b"{}", b"[" * 100_000,
            b'{"a": ' * 100_000, b"1e400", b"NaN", b'{"step": Infinity}', b"\x00" * 64, " ".encode() * 2_000_000,
            "folder", "fifo", "link to /dev/zero", "link outside", "missing"]


def _config_cases(record: dict) -> list:
    def edited(**changes):
        r = json.loads(json.dumps(record))
        for dotted, value in changes.items():
            *parents, last = dotted.split("__")
            node = r
            for key in parents:
                node = node[key]
            node[last] = value
        return json.dumps(r).encode()
    return [edited(total_steps="abc"), edited(total_steps=1e300), edited(total_steps=-5), edited(config=[]),
            edited(config__model__nets__hidden="x"), edited(config__model__nets__hidden=[8, 9]),
            edited(config__model__latent_dim=0), edited(config__model__algorithm="dcgan"),
            edited(config__model__algorithm="../../etc"), edited(data_spec__shape=[-1]), edited(data_spec=None),
            edited(dataset__name=7), edited(config__train__seed=2**70), edited(config__model__optim__lr="fast"),
            edited(threads=10**9), edited(processes=-1), json.dumps({"config": record["config"]}).encode()]


def _metrics_cases(rows: list[dict]) -> list:
    good = [json.dumps(r) for r in rows]
    many = {"step": 1, **{f"k{i}": float(i) for i in range(3000)}}
    return [b"[1, 2]\n3\n" + "\n".join(good).encode(), b'{"loss": 1.0}\n{"step": "x"}\n{"step": 1e400}\n',
            b'{"step": -1, "loss": 1}\n{"step": 2, "$\\\\frac{": 0.1}\n{"step": 3, "_{x}^": NaN}\n',
            json.dumps(many).encode(), "\n".join(good[:1] * 50_000).encode(),
            b'{"step": 1, "loss": "' + b"x" * 1_000_000 + b'"}\n', good[0].encode()[:-5],
            b"\xff" + "\n".join(good).encode(), b"\n\n\n" + "\n".join(good).encode(),
            b'{"step": 1, "loss": {"a": [1, 2]}}\n{"step": 2, "loss": true}\n']


def _eval_cases() -> list:
    metric = {"value": 0.5, "n": 100, "protocol": "quick"}
    return [json.dumps(x).encode() for x in (
        {"fd": {"value": 3.0, "n_real": "many"}}, {"fd": {"value": 1e300, "n_real": 1e300}}, {"fd": [1]},
        {"$\\frac{": metric}, {"toy": {"value": None}}, {"toy": {"value": True, "n": -3}},
        {f"m{i}": metric for i in range(3000)}, {"toy": {"value": "0.5"}}, {"": metric}, [metric],
        {"toy": {"value": 0.5, "step": "x", "checkpoint": {"a": [None]}}})] + [b'{"fd": {"value": 1e400}}']


def _drawn(file: str, original: bytes, rng: random.Random):
    """One random corruption of `file`: a JSON node of another type, flipped bytes, a cut, or junk rows."""
    kind = rng.choice(["node", "node", "node", "flip", "cut", "rows"])
    if kind == "flip":
        out = bytearray(original)
        for _ in range(rng.randint(1, 6)):
            out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out)
    if kind == "cut":
        return original[:rng.randrange(len(original))]
    if file == "metrics.jsonl":
        rows = [json.loads(line) for line in original.decode().splitlines()]
        if kind == "rows":
            rows.insert(rng.randrange(len(rows) + 1), random_value(rng))
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(rows))
            rows[i] = mutate_json(rows[i], rng)
        return "\n".join(json.dumps(r) for r in rows).encode()
    tree = json.loads(original)
    for _ in range(rng.randint(1, 3)):
        tree = mutate_json(tree, rng)
    return json.dumps(tree).encode()


def _put(path, content, outside) -> None:
    """Replace `path` with `content`: bytes, or a folder, a FIFO, a link, nothing."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "folder":
        path.mkdir()
    elif content == "fifo":
        os.mkfifo(path)
    elif content == "link to /dev/zero":
        path.symlink_to("/dev/zero")
    elif content == "link outside":
        path.symlink_to(outside)


class _Hang(BaseException):   # not an Exception: no handler in genzoo may turn it into an error line
    pass


def _expire(signum, frame):
    raise _Hang()


def _command(argv: list[str], capsys, label: str) -> int:
    """main(argv)'s exit status, after checking that it succeeded or said one error line."""
    previous = signal.signal(signal.SIGALRM, _expire)
    signal.alarm(CASE_SECONDS)
    try:
        code = main(argv)
    except _Hang:
        pytest.fail(f"{label}: still running after {CASE_SECONDS} s (replay: GENZOO_FUZZ_SEED={SEED})")
    except BaseException as e:   # a traceback the user would see
        pytest.fail(f"{label}: {type(e).__name__}: {str(e)[:300]} (replay: GENZOO_FUZZ_SEED={SEED})")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("genzoo: error:")]
    assert "Traceback" not in err, f"{label}: {err[-2000:]}"
    assert (code, len(errors)) in ((0, 0), (2, 1)), f"{label}: exit status {code}, said:\n{err[-2000:]}"
    return code


def _loads_the_checkpoint(run) -> None:
    """A config.json that still loads gives the checkpoint's weights, unchanged."""
    tensors, _ = read_checkpoint(list_checkpoints(run / "checkpoints")[-1][1])
    for key, value in load(run).state_dict().items():
        assert torch.equal(value, tensors[f"model/{key}"]), key


class Fuzzer:
    """A copy of a toy run whose files are corrupted one case at a time, and the readers run on each case."""

    def __init__(self, toy_run, tmp_path, capsys):
        self.run = tmp_path / "run"
        shutil.copytree(toy_run, self.run)
        main(["eval", str(self.run), "--n", "200"])   # an eval.json of the run's own
        capsys.readouterr()
        self.original = {f: (self.run / f).read_bytes() for f in FILES}
        self.outside = tmp_path / "elsewhere.json"
        self.outside.write_text('{"private": "not for the page"}')
        self.tmp_path, self.capsys = tmp_path, capsys
        self.outcomes: dict[str, list[int]] = {"report": [], "eval": [], "export": []}

    def case(self, file: str, content, label: str, readers=None) -> None:
        for f in FILES:
            _put(self.run / f, self.original[f], self.outside)
        _put(self.run / file, content, self.outside)
        for reader in readers or READERS[file]:
            argv = {"report": ["report", str(self.run), "--out", str(self.tmp_path / "r.html"), "--no-floor"],
                    "eval": ["eval", str(self.run), "--n", "200"],
                    "export": ["export", str(self.run), "--out", str(self.tmp_path / "m.pt")]}[reader]
            code = _command(argv, self.capsys, f"{reader} with {file} {label}")
            if code == 0 and file == "config.json" and reader != "report":
                _loads_the_checkpoint(self.run)
            self.outcomes[reader].append(code)

    def fixed(self, file: str) -> list:
        record = json.loads(self.original["config.json"])
        own = {"config.json": _config_cases(record), "eval.json": _eval_cases(),
               "metrics.jsonl": _metrics_cases([json.loads(x) for x in self.original["metrics.jsonl"].splitlines()])}
        return ANY_FILE + own[file]


FAST = {"config.json": (b"[1, 2]", "fifo"), "metrics.jsonl": (b"\xff{", "link to /dev/zero"),
        "eval.json": (b"1e400", "folder")}


def test_a_few_fixed_corruptions_of_each_file_are_read_or_refused_in_one_line(toy_run, tmp_path, capsys, one_thread):
    fuzz = Fuzzer(toy_run, tmp_path, capsys)
    for file, contents in FAST.items():
        for i, content in enumerate(contents):
            fuzz.case(file, content, f"fast case {i}", readers=[r for r in READERS[file] if r != "report"] or None)
    assert 2 in fuzz.outcomes["export"] and 2 in fuzz.outcomes["eval"]


@pytest.mark.slow
def test_300_fixed_and_random_corruptions_of_the_run_files_are_read_or_refused_in_one_line(toy_run, tmp_path, capsys,
                                                                                         one_thread):
    print(f"fuzz seed {SEED} (replay: GENZOO_FUZZ_SEED={SEED})")
    rng = random.Random(SEED)
    fuzz = Fuzzer(toy_run, tmp_path, capsys)
    for file in FILES:
        for i, content in enumerate(fuzz.fixed(file)):
            fuzz.case(file, content, f"fixed case {i}")
    for i in range(40):   # config.json and eval.json go through eval (and export) too: more of those are drawn
        file = FILES[i % 3]
        fuzz.case(file, _drawn(file, fuzz.original[file], rng), f"random case {i} of seed {SEED}")
    for i in range(60):
        file = ("config.json", "eval.json")[i % 2]
        fuzz.case(file, _drawn(file, fuzz.original[file], rng), f"random case {40 + i} of seed {SEED}",
                  readers=[r for r in READERS[file] if r != "report"])
    total = sum(map(len, fuzz.outcomes.values()))
    assert total >= 300, total
    # both outcomes happen for each command that can refuse: the cases reach the readers and are not all refused
    for reader in ("eval", "export"):
        assert fuzz.outcomes[reader].count(0) > 5 and fuzz.outcomes[reader].count(2) > 5, (reader, fuzz.outcomes)
    assert fuzz.outcomes["report"].count(0) > 50, fuzz.outcomes["report"]
