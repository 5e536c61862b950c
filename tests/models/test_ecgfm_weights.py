"""ECG-FM loading: the reference's own checkpoints reproduce its outputs layer by layer; other sizes,
refusals and the weights directory."""

from __future__ import annotations

import argparse
import logging
import shutil
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

from lvsdctl.errors import InputError, MismatchError, MissingResourceError
from lvsdctl.models.ecgfm import ECGFMClassifier, ECGFMConfig, ECGFMEncoder, config_for_size
from lvsdctl.models.ecgfm_pretrain import ECGFMPretrainModel
from lvsdctl.models.ecgfm_weights import (
    PRETRAINED_FILE,
    SEQUENTIAL_FILE,
    WEIGHTS_DIR_ENV,
    load_classifier,
    load_encoder,
    load_pretrain_model,
    official_cfg,
    read_weights,
    resolve_weights,
    save_official,
    to_official_state_dict,
)


@pytest.fixture(scope="module")
def ecgfm_fixtures(fixtures_dir) -> Path:
    """The reference implementation's tiny checkpoints and outputs (../shared/fixtures/ecgfm)."""
    return fixtures_dir / "ecgfm"


FILES = ["tiny_pretrained.pt", "tiny_pretrained_legacy_keys.pt", "tiny_finetuned.pt", "tiny_finetuned_legacy_keys.pt"]
INTERMEDIATES = [
    "conv_block0_2500", "conv_block1_2500", "conv_block2_2500", "conv_block3_2500", "conv_feats2500",
    "feat_layer_norm2500", "post_extract_proj2500", "pos_conv_out2500", "after_posconv2500",
    "encoder_in_ln2500", "layer0_out2500", "layer1_out2500",
]
ATOL = 1e-5


@pytest.fixture(scope="module")
def reference(ecgfm_fixtures):
    with np.load(ecgfm_fixtures / "tiny_reference.npz") as z:
        return {k: z[k] for k in z.files}


def _trace_name(ref_key: str) -> str:
    return ref_key.removesuffix("2500").removesuffix("_")


def _close(ours: torch.Tensor, ref: np.ndarray, what: str) -> None:
    assert ours.shape == ref.shape, what
    diff = float(np.abs(ours.detach().numpy() - ref).max())
    assert diff <= ATOL, f"{what}: max abs difference {diff:.2e}"


@pytest.mark.parametrize("name", FILES)
def test_every_intermediate_output_matches_the_reference(ecgfm_fixtures, name, reference):
    encoder, weights = load_encoder(ecgfm_fixtures / name)  # the users' path: torch.load(weights_only) + strict
    assert weights.config.num_layers == 2 and weights.config.embed_dim == 64
    encoder.eval()
    trace: dict = {}
    with torch.no_grad():
        feat = encoder(torch.from_numpy(reference["x2500"]), trace)
        feat5000 = encoder(torch.from_numpy(reference["x5000"]))
    for key in INTERMEDIATES:
        _close(trace[_trace_name(key)], reference[key], f"{name}:{key}")
    _close(feat, reference["feat2500"], f"{name}:feat2500")
    _close(feat5000, reference["feat5000"], f"{name}:feat5000")
    _close(feat.mean(1), reference["mean2500"], f"{name}:mean2500")
    _close(feat5000.mean(1), reference["mean5000"], f"{name}:mean5000")


@pytest.mark.parametrize("name", ["tiny_finetuned.pt", "tiny_finetuned_legacy_keys.pt"])
def test_finetuned_classifier_logits_match_the_reference(ecgfm_fixtures, name, reference):
    model = load_classifier(ecgfm_fixtures / name).eval()
    assert model.proj.out_features == 5
    with torch.no_grad():
        _close(model(torch.from_numpy(reference["x2500"])), reference["logits2500"], f"{name}:logits2500")
        _close(model(torch.from_numpy(reference["x5000"])), reference["logits5000"], f"{name}:logits5000")


def test_both_weight_norm_styles_give_identical_tensors_and_map_back(ecgfm_fixtures):
    new, old = read_weights(ecgfm_fixtures / FILES[0]), read_weights(ecgfm_fixtures / FILES[1])
    assert list(new.encoder) == list(old.encoder)
    for key in new.encoder:
        assert torch.equal(new.encoder[key], old.encoder[key]), key
    raw_legacy = torch.load(ecgfm_fixtures / FILES[1], map_location="cpu", weights_only=True)["model"]
    back = to_official_state_dict(new.encoder, pretraining=new.pretraining, legacy=True)
    assert set(back) == set(raw_legacy)
    raw_new = torch.load(ecgfm_fixtures / FILES[0], map_location="cpu", weights_only=True)["model"]
    assert set(to_official_state_dict(new.encoder, pretraining=new.pretraining, legacy=False)) == set(raw_new)


def test_pretraining_model_loads_strictly_with_its_quantizer(ecgfm_fixtures):
    model = load_pretrain_model(ecgfm_fixtures / FILES[1])
    raw = torch.load(ecgfm_fixtures / FILES[0], map_location="cpu", weights_only=True)["model"]
    assert torch.equal(model.quantizer.vars, raw["quantizer.vars"])
    assert torch.equal(model.mask_emb, raw["mask_emb"])
    with pytest.raises(InputError, match="no pretraining modules"):
        load_pretrain_model(ecgfm_fixtures / "tiny_finetuned.pt")


def test_dataparallel_module_prefix_is_stripped(ecgfm_fixtures, tmp_path, reference):
    ckpt = torch.load(ecgfm_fixtures / "tiny_finetuned_legacy_keys.pt", map_location="cpu", weights_only=True)
    ckpt["model"] = OrderedDict((f"module.{k}", v) for k, v in ckpt["model"].items())
    torch.save(ckpt, tmp_path / "dp.pt")
    model = load_classifier(tmp_path / "dp.pt").eval()
    with torch.no_grad():
        _close(model(torch.from_numpy(reference["x2500"])), reference["logits2500"], "module.-prefixed")


ODD = ECGFMConfig(conv_layers=((16, 3, 2), (16, 2, 2), (16, 2, 2)), embed_dim=48, ffn_dim=80, num_layers=3,
                  num_heads=6, conv_pos=10, conv_pos_groups=3, latent_vars=5, latent_groups=2, final_dim=24)


@pytest.mark.parametrize("legacy", [True, False])
def test_other_sizes_load_with_sizes_from_cfg(tmp_path, legacy):
    torch.manual_seed(3)
    original = ECGFMPretrainModel(ODD).eval()
    save_official(tmp_path / "odd.pt", original, legacy=legacy)
    loaded = load_pretrain_model(tmp_path / "odd.pt").eval()
    assert loaded.cfg.conv_layers == ODD.conv_layers and loaded.cfg.num_heads == 6
    assert (loaded.cfg.num_layers, loaded.cfg.embed_dim, loaded.cfg.ffn_dim) == (3, 48, 80)
    x = torch.randn(2, 12, 640)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), original(x), rtol=0, atol=0)


def test_finetuned_layout_of_another_size_loads(tmp_path):
    torch.manual_seed(4)
    original = ECGFMClassifier(ODD, num_labels=7).eval()
    save_official(tmp_path / "odd_ft.pt", original, legacy=True)
    raw = torch.load(tmp_path / "odd_ft.pt", weights_only=True)
    assert "encoder.conv_pos.pos_conv.0.weight_g" in raw["model"] and "proj.weight" in raw["model"]
    loaded = load_classifier(tmp_path / "odd_ft.pt").eval()
    x = torch.randn(1, 12, 640)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), original(x), rtol=0, atol=0)


def test_tensors_win_over_a_stale_cfg(tmp_path, caplog):
    model = ECGFMEncoder(ODD)
    state = to_official_state_dict(model.state_dict(), legacy=True)
    stale = official_cfg(ODD)
    stale.update(encoder_layers=12, encoder_embed_dim=768)
    torch.save({"args": None, "cfg": {"model": stale}, "model": state}, tmp_path / "stale.pt")
    with caplog.at_level(logging.WARNING):
        encoder, weights = load_encoder(tmp_path / "stale.pt")
    assert (weights.config.num_layers, weights.config.embed_dim) == (3, 48)
    assert "encoder_layers" not in caplog.text and "num_layers=12" in caplog.text


def test_shape_mismatch_with_the_codes_config_names_key_and_shapes(tmp_path):
    save_official(tmp_path / "odd.pt", ECGFMEncoder(ODD))
    with pytest.raises(MismatchError) as err:
        load_encoder(tmp_path / "odd.pt", config=config_for_size("tiny"))
    msg = str(err.value)
    assert "odd.pt" in msg and "feature_extractor.conv_layers.0.0.weight" in msg
    assert "(16, 12, 3)" in msg and "(32, 12, 2)" in msg


def test_a_pickle_needing_a_foreign_global_is_refused(ecgfm_fixtures, tmp_path):
    ckpt = torch.load(ecgfm_fixtures / "tiny_pretrained.pt", map_location="cpu", weights_only=True)
    ckpt["args"] = argparse.Namespace(arch="wav2vec2")  # what old fairseq checkpoints carry
    torch.save(ckpt, tmp_path / "old.pt")
    with pytest.raises(InputError, match=r"refused.*'argparse\.Namespace'"):
        load_encoder(tmp_path / "old.pt")


def test_not_a_checkpoint_is_an_input_error(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"not a zip file at all")
    with pytest.raises(InputError, match="junk.pt"):
        load_encoder(tmp_path / "junk.pt")
    torch.save({"model": {"foo.weight": torch.zeros(2)}}, tmp_path / "other.pt")
    with pytest.raises(InputError, match="no ECG-FM encoder"):
        load_encoder(tmp_path / "other.pt")


def test_weights_directory_and_missing_files(ecgfm_fixtures, tmp_path, monkeypatch):
    monkeypatch.setenv(WEIGHTS_DIR_ENV, str(tmp_path))
    with pytest.raises(MissingResourceError) as err:
        resolve_weights(sequential=True)
    msg = str(err.value)
    assert SEQUENTIAL_FILE in msg and "wanglab/ecg-fm-preprint" in msg and WEIGHTS_DIR_ENV in msg
    assert "lvsdctl weights fetch ecgfm-physionet-finetuned" in msg and "--weights PATH" in msg
    with pytest.raises(MissingResourceError, match=PRETRAINED_FILE):
        load_encoder()
    with pytest.raises(MissingResourceError, match="nowhere.pt"):
        resolve_weights(tmp_path / "nowhere.pt")
    shutil.copy(ecgfm_fixtures / "tiny_pretrained_legacy_keys.pt", tmp_path / PRETRAINED_FILE)
    shutil.copy(ecgfm_fixtures / "tiny_finetuned_legacy_keys.pt", tmp_path / SEQUENTIAL_FILE)
    assert resolve_weights() == tmp_path / PRETRAINED_FILE
    assert resolve_weights(sequential=True) == tmp_path / SEQUENTIAL_FILE
    assert load_encoder(sequential=True)[1].origin == "official-finetuned"
    assert load_encoder()[1].origin == "official-pretrained"


def test_default_weights_directory_is_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv(WEIGHTS_DIR_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(MissingResourceError, match=r"\.cache/lvsdctl/weights"):
        resolve_weights()


def test_lvsdctl_hdf5_checkpoints_hold_loadable_backbones(ecgfm_fixtures, tmp_path):
    from lvsdctl.models.checkpoint import save_checkpoint
    from lvsdctl.models.ecgfm_lvsd import build_lvsd_model
    from lvsdctl.models.registry import create_model

    model, _ = build_lvsd_model(ecgfm_fixtures / "tiny_finetuned.pt", freeze=0, seed=0)
    save_checkpoint(tmp_path / "ft.h5", model)
    encoder, weights = load_encoder(tmp_path / "ft.h5")
    assert weights.origin == "lvsdctl:ecgfm-lvsd" and set(weights.other) == {"input_proj.weight", "input_proj.bias"}
    for key, value in model.encoder.state_dict().items():
        assert torch.equal(encoder.state_dict()[key], value), key

    save_checkpoint(tmp_path / "fcn.h5", create_model("fcn"))
    with pytest.raises(InputError, match="'fcn' model, not an ECG-FM backbone"):
        load_encoder(tmp_path / "fcn.h5")


def test_unsupported_reference_variants_are_refused(tmp_path):
    state = to_official_state_dict(ECGFMEncoder(ODD).state_dict())
    for change, reason in (({"layer_norm_first": True}, "layer_norm_first"),
                           ({"extractor_mode": "layer_norm"}, "extractor_mode"),
                           ({"conv_feature_layers": "open('x')"}, "conv_feature_layers")):
        torch.save({"cfg": {"model": {**official_cfg(ODD), **change}}, "model": state}, tmp_path / "v.pt")
        with pytest.raises(InputError, match=rf"v\.pt: .*{reason}"):
            load_encoder(tmp_path / "v.pt")
