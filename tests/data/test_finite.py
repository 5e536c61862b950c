"""The one non-finite check every stage that reads signals uses: it names the row."""

from __future__ import annotations

import numpy as np
import pytest

from lvsdctl.data.finite import nonfinite_rows, refuse_nonfinite, require_finite
from lvsdctl.errors import InputError


def test_finite_batches_pass_and_bad_rows_are_named():
    x = np.zeros((4, 3, 10), np.float32)
    require_finite("d.h5", x, [10, 11, 12, 13])
    x[1, 2, 5] = np.nan
    x[3, 0, 0] = -np.inf
    assert nonfinite_rows(x, [10, 11, 12, 13]).tolist() == [11, 13]
    with pytest.raises(InputError, match=r"d\.h5: the ECG at /signals row 11 holds NaN or infinite samples "
                                         r"\(and 1 more ECG\)") as err:
        require_finite("d.h5", x, np.array([10, 11, 12, 13]))
    assert err.value.exit_code == 3


def test_refusing_collected_rows_names_the_first():
    refuse_nonfinite("d.h5", [])
    with pytest.raises(InputError, match=r"row 4 holds .* \(and 2 more ECGs\)"):
        refuse_nonfinite("d.h5", [9, 4, 7])
