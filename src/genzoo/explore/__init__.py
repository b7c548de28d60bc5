"""`genzoo explore RUN`: a local web page (Gradio) to play with a trained model.

Latent models: sliders along the leading directions of the prior (PCA of its samples, or the raw
coordinates of z), a seed, truncation, the class of a conditional model, and an interpolation
between two seeds. Translation models: an upload box and the translated image. The page binds to
127.0.0.1 and needs no network (analytics off, system fonts); the run must pass the checkpoint
checks of genzoo.load.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import GenzooError
from .latent import LatentExplorer, translator

__all__ = ["LatentExplorer", "build_app", "serve"]

OFFLINE_ENV = {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "GRADIO_SERVER_NAME": "127.0.0.1"}


def _gradio():
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    try:
        import gradio as gr
    except ImportError:
        raise GenzooError("genzoo explore needs Gradio: pip install 'genzoo[explore]'") from None
    return gr


def _latent_page(gr, explorer: LatentExplorer, directions: str):
    """Seed, truncation, class and direction sliders -> one sample; two seeds -> an interpolation."""
    with gr.Row():
        with gr.Column():
            seed = gr.Number(value=0, precision=0, label="seed", elem_id="seed")
            truncation = gr.Slider(0.0, 3.0, value=0.0, step=0.1, label="truncation (0: off; else the prior within this bound)",
                                   elem_id="truncation")
            label = gr.Dropdown(list(range(max(1, explorer.num_classes))), value=0, label="class", elem_id="label",
                                visible=explorer.num_classes > 0)
            what = "principal direction" if directions == "pca" else "coordinate"
            sliders = [gr.Slider(-3.0, 3.0, value=0.0, step=0.1, label=f"{what} {i + 1} (in std)",
                                 elem_id=f"direction-{i}") for i in range(explorer.k)]
        image = gr.Image(label="sample", type="pil", elem_id="sample", format="png")
    inputs = [seed, truncation, label, *sliders]

    def draw(s, t, y, *offsets):
        return explorer.image(int(s or 0), float(t), y, offsets)

    for control in inputs:
        control.change(draw, inputs, image)
    gr.Markdown("### Interpolation between two seeds")
    with gr.Row():
        seed_b = gr.Number(value=1, precision=0, label="second seed", elem_id="seed-b")
        steps = gr.Slider(3, 12, value=8, step=1, label="steps")
        spherical = gr.Checkbox(value=True, label="spherical (slerp)")
    path = gr.Image(label="interpolation", type="pil", elem_id="interpolation", format="png")
    path_inputs = [seed, seed_b, steps, truncation, label, spherical]

    def interpolate(a, b, n, t, y, sph):
        return explorer.interpolation(int(a or 0), int(b or 0), int(n), float(t), y, sph)

    for control in path_inputs:
        control.change(interpolate, path_inputs, path)
    return [(draw, inputs, image), (interpolate, path_inputs, path)]


def build_app(model, directions: str = "pca", k: int = 6):
    """The Gradio Blocks page for a loaded genzoo model."""
    gr = _gradio()
    run_config = getattr(model, "run_config", None)
    name = run_config.name if run_config is not None else model.name
    title = f"genzoo explore: {name} ({getattr(model, 'run_dir', '')})"
    with gr.Blocks(title=title, analytics_enabled=False) as app:
        gr.Markdown(f"## {title}")
        if hasattr(model, "translate"):
            src = gr.Image(label="image to translate", type="numpy", elem_id="upload")
            out = gr.Image(label="source and translation", type="pil", elem_id="translation", format="png")
            src.change(translator(model), src, out)
        else:
            explorer = LatentExplorer(model, directions=directions, k=k)
            for fn, inputs, output in _latent_page(gr, explorer, directions):
                app.load(fn, inputs, output)   # the first images, before any control moves
    return app


def serve(run_dir: str | Path, *, port: int = 7860, host: str = "127.0.0.1", directions: str = "pca",
          step: int | None = None) -> None:
    """Load the run (the usual checkpoint checks), then serve its page until interrupted."""
    from ..api import load

    model = load(run_dir, step=step)   # refuses a run whose checkpoint fails its checks
    gr = _gradio()
    app = build_app(model, directions=directions)
    theme = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["monospace"])  # no web fonts
    print(f"genzoo: exploring {run_dir} at http://{host}:{port} (Ctrl-C to stop)", flush=True)
    app.launch(server_name=host, server_port=port, share=False, inbrowser=False, theme=theme, quiet=True,
               footer_links=[], ssr_mode=False)
