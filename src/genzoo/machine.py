"""The machine a number was measured on, as records (an experiment's, a benchmark's result file) state it."""
from __future__ import annotations

import os
import platform

import torch

from .threads import usable_cores


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware(device: torch.device | str = "cpu") -> dict:
    """The machine a number was measured on: CPU model and cores, torch threads, GPU, load."""
    device = torch.device(device)
    return {"cpu": cpu_name(), "cores": usable_cores(), "torch_threads": torch.get_num_threads(),
            "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
            "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None}
