"""A one-time cost says what it does and that its result is cached, with a progress bar; the cached
result then comes back silently."""
from genzoo.metrics import features


def test_the_classifier_says_it_trains_once_with_a_bar_then_loads_silently(tmp_path, capsys, monkeypatch, one_thread):
    monkeypatch.setattr(features, "_MEMO", {})
    kw = dict(cache_dir=tmp_path, epochs=1, min_steps=1, progress=True)
    first = features.get_feature_extractor("digits", **kw)
    err = capsys.readouterr().err
    assert f"training genzoo's classifier for digits (1 epoch of {first.meta['n_train']:,} images); " \
           f"done once, then cached in {tmp_path}" in err
    steps = -(-first.meta["n_train"] // features.RECIPE["batch_size"])   # one epoch of batches, rounded up
    assert f"classifier:   0%|          | 0/{steps} [00:00<?, ?step/s]" in err   # the bar, with the time left
    assert f"cached as {tmp_path / f'digits-{first.id}.safetensors'}" in err
    monkeypatch.setattr(features, "_MEMO", {})                            # a new process: only the files remain
    second = features.get_feature_extractor("digits", **kw)
    assert capsys.readouterr().err == "" and second.id == first.id
