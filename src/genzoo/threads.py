"""How many threads genzoo computes with, and how they wait: a policy that holds up on a busy machine.

OpenMP's threads spin after each parallel region while they wait for the next one. On a machine
whose cores are taken by other work, a spinning thread steals the time slice of the thread that has
the work, and a step can take many times longer than the load explains. genzoo therefore asks
OpenMP to let waiting threads sleep (`OMP_WAIT_POLICY=PASSIVE`), before PyTorch is loaded, and uses
one thread per core this process may run on. Neither depends on the load of the moment: the thread
count changes how a sum is split, so a count chosen from the load would change what a run computes.

A user's own `OMP_WAIT_POLICY`, `GOMP_SPINCOUNT` or `OMP_NUM_THREADS` is left alone; `genzoo train
--threads N` (or `train.threads`) sets the count, and a run records it so that a resumed run keeps it. The measurements behind this policy are in the speed guide.
"""
from __future__ import annotations

import os

#: the environment variables through which a user chooses OpenMP's wait policy themselves
USER_WAIT_SETTINGS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def prefer_sleeping_threads() -> None:
    """Set OMP_WAIT_POLICY=PASSIVE unless the user chose a wait policy; OpenMP reads it when PyTorch loads,
    so this runs before `import torch` (in genzoo/__init__.py)."""
    if not any(name in os.environ for name in USER_WAIT_SETTINGS):
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which a container or `taskset` narrows)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def set_threads(threads: int | None = None) -> int:
    """Use `threads` intra-op threads; by default one per usable core, or the user's OMP_NUM_THREADS (which
    PyTorch has read). Returns the count in force."""
    import torch

    if threads is None and "OMP_NUM_THREADS" in os.environ:
        return torch.get_num_threads()
    count = threads if threads is not None else usable_cores()
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    return count
