"""One channel-layout helper (issue 21 duplicates): library.audio_io.as_channels_first serves the store
(float32) and the descriptors (float64) with the same shapes and the same actionable error."""

from __future__ import annotations

import numpy as np
import pytest

from lstmabar.library.audio_io import as_channels_first
from lstmabar.library.descriptors._signal import channels_first, to_mono
from lstmabar.library.errors import AudioInputError


def test_layouts_and_dtypes():
    mono = np.linspace(-1, 1, 7)
    assert as_channels_first(mono).shape == (1, 7) and as_channels_first(mono).dtype == np.float32
    assert channels_first(mono).shape == (1, 7) and channels_first(mono).dtype == np.float64
    stereo = np.stack([mono, -mono])
    assert np.array_equal(channels_first(stereo), stereo)
    assert np.array_equal(to_mono(stereo), np.zeros(7))


@pytest.mark.parametrize("fn", [as_channels_first, channels_first])
def test_other_shapes_are_refused_with_what_is_allowed(fn):
    with pytest.raises(AudioInputError, match=r"1-D \(mono\) or 2-D \(channels, samples\)"):
        fn(np.zeros((2, 3, 4)))
