"""`genzoo explore RUN`: a local web page (Gradio) to play with a trained model.

Latent models: sliders along the leading directions of the prior (PCA of its samples, or the raw
coordinates of z), a seed, truncation, the class of a conditional model, and an interpolation
between two seeds. Translation models: an upload box and the translated image. Text-to-image models: a
caption box with the vocabulary, a seed and the number of samples; a caption with a word outside the
vocabulary is refused with the one line `genzoo sample --text` gives. The page binds to
127.0.0.1 and needs no network (analytics off, system fonts); the run must pass the checkpoint
checks of genzoo.load.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import GenzooError
from ..models.capabilities import Translator
from .captions import CaptionExplorer
from .latent import LatentExplorer, translator

if TYPE_CHECKING:
    from ..runs import RunDir

__all__ = ["CaptionExplorer", "LatentExplorer", "build_app", "serve"]

EXAMPLE_CAPTION = "a big 2 is above a small 3"
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


def _caption_page(gr, explorer: CaptionExplorer):
    """Caption, seed and count -> a row of samples and what the caption asks for; a bad caption -> its one line."""
    gr.Markdown(f"**Vocabulary:** {explorer.vocabulary}", elem_id="vocabulary")
    with gr.Row():
        with gr.Column():
            caption = gr.Textbox(value=EXAMPLE_CAPTION, label="caption (Enter to draw)", elem_id="caption")
            seed = gr.Number(value=0, precision=0, label="seed", elem_id="seed")
            count = gr.Slider(1, 16, value=8, step=1, label="samples", elem_id="count")
        reading = gr.Markdown(elem_id="reading")
    image = gr.Image(label="samples", type="pil", elem_id="samples", format="png")
    inputs, outputs = [caption, seed, count], [image, reading]

    def draw(text, s, n):
        try:
            return explorer.images(text, int(s or 0), int(n)), explorer.reading(text)
        except GenzooError as e:
            raise gr.Error(str(e), print_exception=False) from None

    caption.submit(draw, inputs, outputs)
    for control in (seed, count):
        control.change(draw, inputs, outputs)
    return [(draw, inputs, outputs)]


def build_app(run, directions: str = "pca", k: int = 6):
    """The Gradio Blocks page for a run loaded with genzoo.load_run (titled with its preset and directory),
    or for a genzoo model alone."""
    from ..runs import LoadedRun

    gr = _gradio()
    model, name, where = (run.model, run.config.name, run.path) if isinstance(run, LoadedRun) else (run, run.name, "")
    title = f"genzoo explore: {name} ({where})"
    with gr.Blocks(title=title, analytics_enabled=False) as app:
        gr.Markdown(f"## {title}")
        if isinstance(model, Translator):
            src = gr.Image(label="image to translate", type="numpy", elem_id="upload")
            out = gr.Image(label="source and translation", type="pil", elem_id="translation", format="png")
            src.change(translator(model), src, out)
        elif model.data.kind == "captioned":
            for fn, inputs, output in _caption_page(gr, CaptionExplorer(model)):
                app.load(fn, inputs, output)
        else:
            explorer = LatentExplorer(model, directions=directions, k=k)
            for fn, inputs, output in _latent_page(gr, explorer, directions):
                app.load(fn, inputs, output)   # the first images, before any control moves
    return app


def serve(run_dir: "str | Path | RunDir", *, port: int = 7860, host: str = "127.0.0.1", directions: str = "pca",
          step: int | None = None, allow_remote: bool = False, log=print) -> None:
    """Check the address, load the run (the usual checkpoint checks), then serve its page until interrupted.
    An address beyond this machine (loopback) needs allow_remote: the page runs the model for anyone who
    reaches it, with no login."""
    if not 1 <= port <= 65535:
        raise GenzooError(f"--port must be from 1 to 65535, got {port}")
    if not _is_loopback(host):
        if not allow_remote:
            raise GenzooError(f"--host {host} would let other machines reach this page, which has no login; "
                              "add --allow-remote if that is what you want (default: 127.0.0.1, this machine only)")
        log(f"genzoo: warning: the page at http://{host}:{port} can be reached from other machines, with no login")
    _check_free(host, port)
    _launch(run_dir, port=port, host=host, directions=directions, step=step)


def _is_loopback(host: str) -> bool:
    import ipaddress
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _check_free(host: str, port: int) -> None:
    """One line, before the model loads, when `host:port` cannot be listened on (in use, or no such address)."""
    import socket
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.bind(infos[0][4])
    except OSError as e:
        raise GenzooError(f"cannot listen on {host}:{port} ({e.strerror or e}); choose another --port "
                          "(or --host)") from None


def _launch(run_dir: "str | Path | RunDir", *, port: int, host: str, directions: str, step: int | None) -> None:
    from ..runs import RunDir

    loaded = RunDir.open(run_dir).load(step)   # refuses a run whose checkpoint fails its checks
    gr = _gradio()
    app = build_app(loaded, directions=directions)
    theme = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["monospace"])  # no web fonts
    print(f"genzoo: exploring {run_dir} at http://{host}:{port} (Ctrl-C to stop)", flush=True)
    app.launch(server_name=host, server_port=port, share=False, inbrowser=False, theme=theme, quiet=True,
               footer_links=[], ssr_mode=False)
