"""ECGFounder: the reference implementation's own outputs, the published model's keys and size, and
loading official-layout checkpoints (strict but for the head, refusals, the weights directory)."""

from __future__ import annotations

import json
import pickle
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

from lvsdctl.errors import InputError, MismatchError, MissingResourceError
from lvsdctl.models.ecgfounder import ECGFounder, ECGFounderConfig, config_for_size, unused_modules
from lvsdctl.models.ecgfounder_weights import (
    config_from_state,
    load_backbone,
    read_state,
    resolve_weights,
)
from lvsdctl.models.registry import create_model

ATOL = 1e-5


@pytest.fixture(scope="module")
def founder_fixtures(fixtures_dir) -> Path:
    """The reference implementation's tiny checkpoints and outputs (../shared/fixtures/ecgfounder)."""
    return fixtures_dir / "ecgfounder"


def _reference(founder_fixtures, leads: str):
    config = json.loads((founder_fixtures / f"tiny_{leads}_config.json").read_text())
    ckpt = torch.load(founder_fixtures / f"tiny_{leads}.pth", map_location="cpu", weights_only=True)
    with np.load(founder_fixtures / f"tiny_{leads}_reference.npz") as z:
        ref = {k: z[k] for k in z.files}
    return config, ckpt, ref


@pytest.mark.parametrize("leads", ["12lead", "1lead"])
def test_reproduces_the_reference_logits_and_features(founder_fixtures, leads):
    config, ckpt, ref = _reference(founder_fixtures, leads)
    # The reference constructor's own arguments (verbose included) build the model through the registry.
    model = create_model("ecgfounder", **config, return_features=True).eval()
    model.load_state_dict(ckpt["state_dict"], strict=True)
    with torch.no_grad():
        logits, features = model(torch.from_numpy(ref["input"]))
    assert logits.shape == ref["logits"].shape and features.shape == ref["features"].shape
    np.testing.assert_allclose(logits.numpy(), ref["logits"], atol=ATOL, rtol=0)
    np.testing.assert_allclose(features.numpy(), ref["features"], atol=ATOL, rtol=0)


@pytest.mark.parametrize("leads", ["12lead", "1lead"])
def test_load_backbone_reads_sizes_from_the_file_and_keeps_the_head_if_asked(founder_fixtures, leads):
    config, _, ref = _reference(founder_fixtures, leads)
    model, info = load_backbone(founder_fixtures / f"tiny_{leads}.pth", keep_head=True)
    assert info["origin"] == "official" and info["head"] == "kept"
    expected = ECGFounderConfig(**config)
    for field in ("in_channels", "base_filters", "filter_list", "m_blocks_list", "kernel_size", "groups_width",
                  "n_classes"):
        assert getattr(model.config, field) == getattr(expected, field), field
    with torch.no_grad():
        logits = model.eval()(torch.from_numpy(ref["input"]))
    np.testing.assert_allclose(logits.numpy(), ref["logits"], atol=ATOL, rtol=0)


def test_the_published_model_has_its_keys_and_size(founder_fixtures):
    lines = (founder_fixtures / "full_12lead_keys.txt").read_text().splitlines()
    expected = [(line.split(" ", 1)[0], tuple(json.loads(line.split(" ", 1)[1].replace("(", "[").replace(")", "]")
                                                         .replace(",]", "]"))))
                for line in lines if line.strip()]
    with torch.device("meta"):
        model = ECGFounder(config_for_size("full"))
        one_lead = ECGFounder(ECGFounderConfig(in_channels=1))
    state = model.state_dict()
    assert len(state) == 509 == len(expected)
    assert [(k, tuple(v.shape)) for k, v in state.items()] == expected
    assert sum(p.numel() for p in model.parameters()) == 30_819_014
    assert sum(p.numel() for p in one_lead.parameters()) == 30_807_750


def test_head_is_replaced_and_every_other_key_is_strict(founder_fixtures, tmp_path):
    _, ckpt, _ = _reference(founder_fixtures, "12lead")
    model, info = load_backbone(founder_fixtures / "tiny_12lead.pth", n_classes=2)
    assert info["head"] == "new" and model.dense.out_features == 2
    for key, value in ckpt["state_dict"].items():
        if not key.startswith("dense."):
            assert torch.equal(model.state_dict()[key], value), key

    state = OrderedDict(ckpt["state_dict"])
    missing = OrderedDict((k, v) for k, v in state.items() if k != "stage_list.1.block_list.0.se_fc1.bias")
    torch.save({"state_dict": missing}, tmp_path / "missing.pth")
    with pytest.raises(MismatchError, match="missing 1 key"):
        load_backbone(tmp_path / "missing.pth")
    torch.save({"state_dict": {**state, "extra.weight": torch.zeros(1)}}, tmp_path / "extra.pth")
    with pytest.raises(MismatchError, match="unexpected key"):
        load_backbone(tmp_path / "extra.pth")
    # DataParallel prefixes and a bare state dict are fine.
    torch.save({f"module.{k}": v for k, v in state.items()}, tmp_path / "dp.pth")
    assert load_backbone(tmp_path / "dp.pth")[0].config.filter_list == (16, 24, 24, 32)


def test_a_named_size_refuses_a_file_of_another_size(founder_fixtures):
    with pytest.raises(MismatchError, match="first_conv.conv.weight.*another size"):
        load_backbone(founder_fixtures / "tiny_12lead.pth", size="full")
    assert load_backbone(founder_fixtures / "tiny_1lead.pth", size="tiny")[0].config.in_channels == 1


def test_config_from_state_recovers_other_architectures():
    cfg = ECGFounderConfig(in_channels=3, base_filters=8, ratio=0.5, filter_list=(8, 16, 32),
                           m_blocks_list=(1, 3, 2), kernel_size=7, groups_width=4, n_classes=6)
    with torch.device("meta"):
        state = ECGFounder(cfg).state_dict()
    assert config_from_state(state) == cfg


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_unsafe_or_foreign_files_are_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("never run",))

    bad = tmp_path / "bad.pth"
    with open(bad, "wb") as fh:
        pickle.dump({"state_dict": {}, "x": Payload()}, fh)
    with pytest.raises(InputError, match="refused|not a readable"):
        read_state(bad)
    torch.save({"model": {"encoder.x": torch.zeros(1)}}, tmp_path / "other.pth")
    with pytest.raises(InputError, match="not an ECGFounder checkpoint"):
        read_state(tmp_path / "other.pth")
    torch.save({"state_dict": {"encoder.x": torch.zeros(1)}}, tmp_path / "other2.pth")
    with pytest.raises(InputError, match="no ECGFounder network"):
        read_state(tmp_path / "other2.pth")
    torch.save({"state_dict": {"first_conv.conv.weight": torch.zeros(4, 12, 3)}}, tmp_path / "stem.pth")
    with pytest.raises(InputError, match="not a complete ECGFounder network"):
        load_backbone(tmp_path / "stem.pth")


def test_weights_by_name_come_from_the_weights_directory(tmp_path, monkeypatch):
    """The catalog's names (lvsdctl.weights): the file `lvsdctl weights fetch NAME` writes, and its fetch line."""
    monkeypatch.setenv("LVSDCTL_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(MissingResourceError, match="12_lead_ECGFounder.pth") as missing:
        resolve_weights("ecgfounder-12lead")
    assert "lvsdctl weights fetch ecgfounder-12lead" in str(missing.value)
    assert "PKUDigitalHealth/ECGFounder" in str(missing.value) and str(tmp_path) in str(missing.value)
    with pytest.raises(MissingResourceError, match="lvsdctl weights fetch ecgfounder-1lead"):
        resolve_weights(None, leads=1)
    with pytest.raises(MissingResourceError, match="not found"):
        resolve_weights(tmp_path / "nowhere.pth")
    with pytest.raises(InputError, match="ecgfm checkpoint mimic_iv_ecg_physionet_pretrained.pt, not ECGFounder's"):
        resolve_weights("ecgfm-pretrained")
    (tmp_path / "12_lead_ECGFounder.pth").write_bytes(b"")
    assert resolve_weights(None, leads=4) == tmp_path / "12_lead_ECGFounder.pth"
    assert resolve_weights("ecgfounder-12lead") == tmp_path / "12_lead_ECGFounder.pth"


def test_shapes_for_odd_lengths_and_other_strides():
    cfg = ECGFounderConfig(base_filters=8, filter_list=(8, 16, 16), m_blocks_list=(2, 1, 1), kernel_size=5, stride=3,
                           groups_width=4, n_classes=3, use_bn=True, use_do=True)
    model = ECGFounder(cfg).eval()
    for t in (1, 7, 101, 1000):
        with torch.no_grad():
            assert model(torch.randn(2, 12, t)).shape == (2, 3)
            assert model.features(torch.randn(1, 12, t)).shape == (1, 16)
    assert unused_modules(model) == [model.stage_list[0].block_list[0].bn1]
    assert len(unused_modules(ECGFounder(config_for_size("tiny")))) == 1 + 3 * 6  # use_bn=False: every BN


def test_bad_configs_are_refused():
    with pytest.raises(ValueError, match="equal length"):
        ECGFounderConfig(filter_list=(16, 32), m_blocks_list=(1,))
    with pytest.raises(ValueError, match="Conv1d cannot split"):
        ECGFounderConfig(filter_list=(20,), m_blocks_list=(1,), groups_width=8, ratio=0.25)
