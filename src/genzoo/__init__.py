"""genzoo: the classic deep generative models, faithful to their papers, trainable on a laptop CPU.

    import genzoo
    run = genzoo.train("dcgan", steps=300)
    images = genzoo.load(run.dir).sample(64)     # (64, 1, 28, 28) in [0, 1]
"""
from .threads import choose_wait_policy

choose_wait_policy()   # before PyTorch loads OpenMP: how waiting threads wait, for a busy or an idle machine

__version__ = "0.1.0"
__all__ = ["train", "load", "load_run", "load_exported", "__version__"]


def __getattr__(name: str):
    """genzoo.train, genzoo.load, genzoo.load_run and genzoo.load_exported are the API's own functions (their
    signatures and docstrings show in help()), imported on first use so that `import genzoo` and `genzoo --version` do not
    load PyTorch."""
    if name in ("train", "load", "load_run"):
        from . import api
        return getattr(api, name)
    if name == "load_exported":
        from .export import load_exported
        return load_exported
    raise AttributeError(f"module 'genzoo' has no attribute '{name}'")
