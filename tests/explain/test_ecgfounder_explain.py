"""explain with an ECGFounder model: its recorded chain is applied to the export, and DeepLIFT is exact."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lvsdctl.explain.api import explain, load_export
from lvsdctl.models.checkpoint import save_checkpoint
from lvsdctl.models.registry import create_model
from lvsdctl.signal.chain import ChainConfig, process_batch

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:captum.*")


@pytest.fixture
def founder_checkpoint(tmp_path):
    """A tiny ECGFounder LVSD model that expects the ECGFounder chain at 12 x 5000, as finetune records it."""
    torch.manual_seed(0)
    model = create_model("ecgfounder-lvsd", size="tiny", in_channels=12)
    pre = ChainConfig.make(layout="12x5000", chain="ecgfounder").attrs()
    path = tmp_path / "founder.h5"
    save_checkpoint(path, model, preprocessing={**pre, "shape": [12, 5000]})
    return path, pre


def test_the_recorded_chain_is_rebuilt_exactly(founder_checkpoint):
    _, pre = founder_checkpoint
    assert ChainConfig.from_attrs(json.loads(json.dumps(pre))) == ChainConfig.make(layout="12x5000", chain="ecgfounder")


def test_explain_a_wfdb_export_with_exact_deeplift(founder_checkpoint, fixtures_dir, tmp_path):
    from lvsdctl.io.detect import read_ecg

    path, pre = founder_checkpoint
    src = fixtures_dir / "ecg" / "wfdb" / "torch_ecg_cinc2021" / "HR06000.hea"
    x, _ = load_export(src, pre)
    expected = process_batch([read_ecg(src).segments], ChainConfig.make(layout="12x5000", chain="ecgfounder"))
    np.testing.assert_array_equal(x, expected.signals[0])
    summary = explain(str(src), model_path=str(path), output=tmp_path / "map.png")
    assert summary.model_name == "ecgfounder-lvsd" and summary.caveat is None
    assert abs(summary.convergence_delta) < 1e-5 * max(1.0, abs(summary.log_odds))
    assert (tmp_path / "map.png").exists() and (tmp_path / "map.waves.csv").exists()
