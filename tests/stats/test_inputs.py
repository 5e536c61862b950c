import pytest

from lvsdctl.errors import InputError
from lvsdctl.stats.inputs import _model_names


def test_unique_model_names_are_kept():
    assert _model_names(["a/fcn-eval.h5", "b/x.h5"], ["fcn", "resnet"]) == ["fcn", "resnet"]


def test_repeated_names_fall_back_to_the_file_stem_without_its_suffix():
    files = ["d/ecgfm-scratch-eval.h5", "d/ecgfm-pretrained-eval.h5", "d/resnet_pred.h5"]
    assert _model_names(files, ["ecgfm-lvsd", "ecgfm-lvsd", ""]) == ["ecgfm-scratch", "ecgfm-pretrained", "resnet"]


def test_names_that_stay_ambiguous_are_refused():
    with pytest.raises(InputError, match="rename one file"):
        _model_names(["a/m-eval.h5", "b/m-eval.h5"], ["x", "x"])
