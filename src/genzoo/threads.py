"""How many threads genzoo computes with, and how they wait: a policy that holds up on a busy machine.

OpenMP's threads spin after each parallel region while they wait for the next one (libgomp's
default: about 3 ms). On a machine whose cores other work keeps busy, a spinning thread steals the
time slice of the thread that has the work, and a step can take many times longer than the load
explains. Sleeping at once (`OMP_WAIT_POLICY=PASSIVE`) holds up under load, but on an idle machine
every wake-up costs time. So genzoo chooses, before PyTorch loads OpenMP: on a busy machine (other
tasks running or waiting for a core as genzoo starts) waiting threads sleep at once; otherwise they
spin for about 0.1 ms first (`GOMP_SPINCOUNT=10000`), as fast as the default when idle and wasting
little if load comes later. How threads wait never changes what is computed, only how fast.

The thread count does change what is computed: it changes how sums are split over threads, and
so the last bits of a result. genzoo therefore uses one thread per core this process may run on,
never a count chosen from the load; `genzoo train --threads N` (or `train.threads`) sets another,
and a run records its count so that a resumed run keeps it. A user's own `OMP_WAIT_POLICY`,
`GOMP_SPINCOUNT` or `OMP_NUM_THREADS` is left alone. The measurements behind this policy are in
the speed guide.
"""
from __future__ import annotations

import os
import time

#: the environment variables through which a user chooses OpenMP's wait policy themselves
USER_WAIT_SETTINGS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
#: set beside genzoo's own choice, so that a genzoo process started by another chooses anew
CHOSEN_BY_GENZOO = "GENZOO_CHOSE_WAIT_POLICY"
#: libgomp's spin count before a waiting thread sleeps, on an idle machine (about 0.1 ms)
SHORT_SPIN = "10000"
#: the run queue is read SAMPLES times, SAMPLE_GAP_S apart; other work counts if QUORUM readings show it, so
#: that a short-lived process (a shell prompt, `ps`) passing by does not
SAMPLES, SAMPLE_GAP_S, QUORUM = 7, 0.005, 5


def others_running() -> float:
    """How many other tasks hold or wait for a core as genzoo starts: the count that at least QUORUM of
    SAMPLES readings of /proc/loadavg's run queue reach, less this process; elsewhere the 1-minute load
    average."""
    if not os.path.exists("/proc/loadavg"):
        return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    counts = []
    for i in range(SAMPLES):
        with open("/proc/loadavg") as f:
            counts.append(int(f.read().split()[3].split("/")[0]) - 1)
        if i + 1 < SAMPLES:
            time.sleep(SAMPLE_GAP_S)
    return float(sorted(counts)[SAMPLES - QUORUM])


def machine_is_busy() -> bool:
    """Whether other work holds at least one core as genzoo starts."""
    return others_running() >= 1


def choose_wait_policy() -> str:
    """Set OpenMP's wait policy for this process unless the user chose one: PASSIVE on a busy machine, a short
    spin otherwise. OpenMP reads it when PyTorch loads, so this runs before `import torch` (genzoo/__init__.py).
    Returns the setting in force, e.g. 'OMP_WAIT_POLICY=PASSIVE'."""
    if os.environ.get(CHOSEN_BY_GENZOO) == "1":
        for name in USER_WAIT_SETTINGS:
            os.environ.pop(name, None)
    elif any(name in os.environ for name in USER_WAIT_SETTINGS):
        return thread_wait()
    name, value = ("OMP_WAIT_POLICY", "PASSIVE") if machine_is_busy() else ("GOMP_SPINCOUNT", SHORT_SPIN)
    os.environ[name], os.environ[CHOSEN_BY_GENZOO] = value, "1"
    return f"{name}={value}"


def thread_wait() -> str:
    """How OpenMP's waiting threads wait in this process, as set in its environment (for the run record)."""
    return " ".join(f"{n}={os.environ[n]}" for n in USER_WAIT_SETTINGS if n in os.environ) or "OpenMP's default"


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
