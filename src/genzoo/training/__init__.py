"""The trainer, checkpoints and run directories."""
