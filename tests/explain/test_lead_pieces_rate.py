"""Lead pieces of the 4-channel printout layout at any sampling rate (cohort mode on 50 Hz data)."""

import numpy as np

from lvsdctl.explain.api import lead_pieces


def test_four_channel_layout_at_50_hz_gives_the_printout_pieces():
    x = np.arange(4 * 500, dtype=np.float32).reshape(4, 500)
    pieces = lead_pieces(x, "4x500", 50.0)
    assert len(pieces) == 13
    t0, v1 = pieces["V1"]
    assert t0 == 5.0 and v1.shape == (125,) and v1[0] == x[0, 250]
    assert pieces["II (rhythm)"][1].shape == (500,)
