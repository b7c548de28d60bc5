"""Token sequences from a small context-free grammar: arithmetic expressions (dataset "arith").

The grammar of Kusner & Hernández-Lobato 2016 (GANs for sequences of discrete elements with
the Gumbel-softmax distribution), also used by the Grammar VAE:

    S -> S + S | S - S | S * S | S / S | ( S ) | x

Strings are at most MAX_LEN tokens long and padded at the end with the pad token "_", so every
example is int64 (MAX_LEN,) over the vocabulary VOCAB (pad = id 0). Examples: "x+x*(x-x)",
"(x/x)-x", "x". The language is recognized by an unambiguous equivalent grammar,

    E -> T (op T)*        T -> x | ( E )        op -> + | - | * | /

with a recursive-descent parser (`accepts`): a sequence is grammatical when, after removing the
trailing pads, it is non-empty, has no pad inside, and parses as E.

Training data: each string is derived top-down from S. The start symbol expands to S op S
(so every example has an operator); every deeper S becomes x with probability P_STOP = 0.5,
else (S) with probability P_PAREN = 0.2, else S op S, the operator uniform over + - * /.
Derivations longer than MAX_LEN tokens are redrawn. Generated exactly from a seed; 20,000
examples hold about 2,500 distinct strings (40% of them are the four "x op x").
"""
from __future__ import annotations

import random

import torch

from .base import Dataset, DatasetInfo, Request, register

PAD = "_"
VOCAB = (PAD, "x", "+", "-", "*", "/", "(", ")")
TOKEN_ID = {t: i for i, t in enumerate(VOCAB)}
OPERATORS = ("+", "-", "*", "/")
MAX_LEN = 12
P_STOP = 0.5    # a non-start S becomes x
P_PAREN = 0.2   # otherwise (S) with this probability, else S op S
DEFAULT_N = 20_000


class _TooLong(Exception):
    pass


def _derive(rng: random.Random, out: list[str], max_len: int, top: bool = True) -> None:
    """Expand S into `out` (a list of tokens), giving up (_TooLong) as soon as it exceeds max_len."""
    if len(out) > max_len:
        raise _TooLong
    if not top and rng.random() < P_STOP:
        out.append("x")
    elif not top and rng.random() < P_PAREN:
        out.append("(")
        _derive(rng, out, max_len, False)
        out.append(")")
    else:
        _derive(rng, out, max_len, False)
        out.append(rng.choice(OPERATORS))
        _derive(rng, out, max_len, False)


def sample_expressions(n: int, seed: int = 0, max_len: int = MAX_LEN) -> list[str]:
    """n random expressions of at most max_len tokens, derived from the grammar (see the module docstring)."""
    rng = random.Random(seed)
    result: list[str] = []
    while len(result) < n:
        tokens: list[str] = []
        try:
            _derive(rng, tokens, max_len)
        except _TooLong:
            continue
        if len(tokens) <= max_len:
            result.append("".join(tokens))
    return result


def encode(expr: str, max_len: int = MAX_LEN) -> torch.Tensor:
    """A string of tokens -> int64 (max_len,) ids, padded at the end with PAD (id 0)."""
    if len(expr) > max_len:
        raise ValueError(f"'{expr}' has {len(expr)} tokens, more than max_len={max_len}")
    try:
        ids = [TOKEN_ID[c] for c in expr]
    except KeyError as e:
        raise ValueError(f"'{expr}' has a token outside the vocabulary {''.join(VOCAB)}: {e}") from None
    return torch.tensor(ids + [0] * (max_len - len(ids)), dtype=torch.long)


def decode(ids) -> list[str]:
    """int ids (N, L) or (L,) -> strings with the trailing pads removed (a pad inside stays visible as '_')."""
    t = torch.as_tensor(ids).long()  # (the trainer hands samples over as float)
    rows = t.view(1, -1) if t.dim() == 1 else t
    return ["".join(VOCAB[i] for i in row.tolist()).rstrip(PAD) for row in rows]


class _Parser:
    def __init__(self, s: str):
        self.s, self.i = s, 0

    def term(self) -> bool:
        if self.i < len(self.s) and self.s[self.i] == "x":
            self.i += 1
            return True
        if self.i < len(self.s) and self.s[self.i] == "(":
            self.i += 1
            if not self.expr() or self.i >= len(self.s) or self.s[self.i] != ")":
                return False
            self.i += 1
            return True
        return False

    def expr(self) -> bool:
        if not self.term():
            return False
        while self.i < len(self.s) and self.s[self.i] in OPERATORS:
            self.i += 1
            if not self.term():
                return False
        return True


def accepts(expr) -> bool:
    """Whether a string (or a sequence of token ids) is a sentence of the grammar (trailing pads allowed)."""
    s = expr if isinstance(expr, str) else decode(expr)[0]
    s = s.rstrip(PAD)
    if not s or PAD in s:
        return False
    p = _Parser(s)
    return p.expr() and p.i == len(s)


def grammar_metrics(samples, reference: set[str] | None = None) -> dict:
    """Share of grammatical sequences and how many distinct ones: samples are strings or ids (N, L).

    reference: the training strings; then also the number of distinct valid strings not in it.
    """
    strings = list(samples) if isinstance(samples, (list, tuple)) and (not samples or isinstance(samples[0], str)) \
        else decode(samples)
    valid = [s for s in strings if accepts(s)]
    out = {"n": len(strings), "valid_fraction": len(valid) / max(len(strings), 1),
           "distinct_valid": len(set(valid)), "distinct": len(set(strings))}
    if reference is not None:
        out["novel_valid"] = len(set(valid) - set(reference))
    return out


def load_arith(req: Request) -> Dataset:
    if req.image_size is not None or req.channels is not None:
        from ..errors import DataError
        raise DataError("'arith' is a set of token sequences, so data.image_size and data.channels do not apply")
    n = req.n_samples or DEFAULT_N
    seed = req.seed if req.split == "train" else req.seed + 1_000_003
    exprs = sample_expressions(n, seed)
    x = torch.stack([encode(e) for e in exprs])
    ds = Dataset(name=req.name, source=f"arith: {n:,} arithmetic expressions (<= {MAX_LEN} tokens) "
                 f"derived with seed {seed}", split=req.split, kind="tokens", x=x, y=None, num_classes=None)
    ds.vocab_size = len(VOCAB)
    return ds


register(DatasetInfo("arith", f"arithmetic expressions from S -> S+S | S-S | S*S | S/S | (S) | x, "
                     f"<= {MAX_LEN} tokens, padded (token sequences; Gumbel-softmax GAN)",
                     "Kusner & Hernández-Lobato 2016"), load_arith, aliases=("arithmetic", "grammar"))
