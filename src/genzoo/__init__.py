"""genzoo: the classic deep generative models, faithful to their papers, trainable on a laptop CPU.

    import genzoo
    run = genzoo.train("dcgan", steps=300)
    images = genzoo.load(run.dir).sample(64)     # (64, 1, 28, 28) in [0, 1]
"""
__version__ = "0.1.0"


def train(*args, **kwargs):
    from .api import train as _train
    return _train(*args, **kwargs)


def load(*args, **kwargs):
    from .api import load as _load
    return _load(*args, **kwargs)


train.__doc__ = "Train a named model; see genzoo.api.train."
load.__doc__ = "Load the trained model of a run directory; see genzoo.training.trainer.load."
