import os

import pytest
import torch

# The suite runs on 2 cores next to other work: keep torch from oversubscribing them.
torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory, monkeypatch):
    """Runs and caches go to temporary folders, never into the user's home."""
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("GENZOO_DATA", str(base / "genzoo-data"))
    monkeypatch.setenv("GENZOO_CACHE", str(base / "genzoo-cache"))


@pytest.fixture
def one_thread():
    """Tiny nets: one thread is fastest, and spares a shared CPU the cost of oversubscription."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
