"""genzoo: the classic deep generative models, faithful to their papers."""
__version__ = "0.1.0"
