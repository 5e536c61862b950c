"""Scoring a split file with a checkpoint; the predictions file; the preprocessing check."""

import h5py
import numpy as np
import pytest
import torch

from lvsdctl.errors import MismatchError
from lvsdctl.evaluate.api import predict, score_file
from lvsdctl.evaluate.store import load_predictions


def test_scores_are_softmax_of_the_models_logits(tiny_study):
    d = tiny_study["dir"]
    scored = score_file(str(d / "model.h5"), str(d / "split.h5"), batch_size=7, device="cpu")
    model = tiny_study["model"].eval()  # BatchNorm with running statistics, as inference uses
    with torch.no_grad():
        expected = torch.softmax(model(torch.from_numpy(tiny_study["signals"])), 1)[:, 1].numpy()
    np.testing.assert_allclose(scored.score, expected, rtol=1e-5, atol=1e-6)


def test_sparse_set_selection_reads_the_right_rows(tiny_study):
    d = tiny_study["dir"]
    full = score_file(str(d / "model.h5"), str(d / "split.h5"), device="cpu")
    part = score_file(str(d / "model.h5"), str(d / "split.h5"), sets=["external1"], batch_size=4, device="cpu")
    mask = (tiny_study["records"]["split"] == "external1").to_numpy()
    np.testing.assert_allclose(part.score, full.score[mask], rtol=1e-6)


def test_preprocessing_mismatch_is_refused(tiny_study):
    d = tiny_study["dir"]
    with pytest.raises(MismatchError, match="fs"):
        score_file(str(d / "model-500hz.h5"), str(d / "split.h5"), device="cpu")


def test_predict_writes_a_predictions_file(tiny_study, tmp_path):
    d = tiny_study["dir"]
    out = tmp_path / "pred.h5"
    s = predict(str(d / "model.h5"), str(d / "split.h5"), str(out), threshold="0.5", device="cpu")
    df, meta = load_predictions(str(out))
    assert s.ecgs == len(df) == 90 and meta.threshold == 0.5 and meta.model_name == "fcn"
    assert len(meta.model_sha256) == 64
    assert ((df["score"] >= 0.5).astype(int) == df["pred"]).all()
    with h5py.File(out) as f:
        assert f.attrs["lvsdctl_kind"] == "predictions"
        assert set(f["records"]) >= {"record_id", "patient", "site", "split", "label", "sex", "age", "qrs_ms",
                                     "acquired", "source_sha256", "source_format", "fs", "file", "warnings"}
        # what finds the ECG again is kept; the echo's LVEF is not (the label is)
        assert set(f["records/acquired"].asstr()[()]) == {"2024-03-01T10:00:00"}
        assert np.isnan(f["records/lvef"][()]).all()
        assert f.attrs["threshold_source"] == "command line"
