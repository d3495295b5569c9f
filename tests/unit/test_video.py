import numpy as np
import pytest

from difffake_core.errors import (
    CorruptVideoError,
    DecodeTimeoutError,
    EmptyFileError,
    FileTooLargeError,
    NotAVideoError,
    TooFewFramesError,
)
from difffake_core.video import probe_video, read_frames, sample_indices


@pytest.mark.parametrize("count,n", [(100, 8), (10, 32), (1, 4), (7, 7), (2, 1)])
def test_sample_indices_are_even_sorted_and_bounded(count, n):
    idx = sample_indices(count, n)
    assert len(idx) == min(count, n)
    assert np.all(np.diff(idx) > 0)
    assert idx[0] == 0 and idx[-1] <= count - 1
    if n >= 2 and count > n:
        assert idx[-1] == count - 1
        gaps = np.diff(idx)
        assert gaps.max() - gaps.min() <= 1


def test_probe_reports_stream_metadata(media):
    info = probe_video(media["talking_head"])
    assert (info.width, info.height) == (320, 240)
    assert info.frame_count == 40 and info.fps == pytest.approx(25)
    assert info.duration_s == pytest.approx(1.6, abs=0.05)
    assert info.codec == "h264"


def test_read_frames_records_indices_and_timestamps(media):
    s = read_frames(media["talking_head"], 8)
    assert s.backend == "decord"
    assert s.frames.shape == (8, 240, 320, 3) and s.frames.dtype == np.uint8
    assert list(s.indices) == list(sample_indices(40, 8))
    np.testing.assert_allclose(s.timestamps_s, s.indices / 25.0, atol=1e-3)


def test_pyav_gives_the_same_frames_as_decord(media):
    a = read_frames(media["talking_head"], 6, backend="decord")
    b = read_frames(media["talking_head"], 6, backend="pyav")
    assert list(a.indices) == list(b.indices)
    diff = np.abs(a.frames.astype(int) - b.frames.astype(int))
    assert diff.mean() < 1.0, diff.mean()


def test_pyav_fallback_for_streams_decord_cannot_decode(media):
    s = read_frames(media["mpegts"], 4)
    assert s.backend == "pyav" and any("decord failed" in w for w in s.warnings)
    assert list(s.indices) == [0, 6, 13, 19]
    np.testing.assert_allclose(s.timestamps_s, s.indices / 25.0, atol=1e-3)
    ref = read_frames(media["talking_head"], 40)  # same pictures, encoded as MP4

    def diff(idx):
        return np.abs(s.frames.astype(int) - ref.frames[idx].astype(int)).mean()

    # Same frames up to compression noise, and closer than the neighbouring frames.
    assert diff(s.indices) < 8.0
    assert diff(s.indices) < diff(np.minimum(s.indices + 2, 39))


def test_webm_vp9_is_decoded(media):
    s = read_frames(media["webm"], 5)
    assert len(s.indices) == 5 and s.frames.shape[1:] == (240, 320, 3)
    assert s.frames.std() > 10  # real picture content, not blank frames


@pytest.mark.parametrize(
    "key,error",
    [
        ("empty_file", EmptyFileError),
        ("corrupt_truncated", CorruptVideoError),
        ("corrupt_garbage", CorruptVideoError),
        ("not_a_video", NotAVideoError),
        ("audio_only", NotAVideoError),
        ("too_few_frames", TooFewFramesError),
    ],
)
def test_bad_files_raise_typed_errors(media, key, error):
    with pytest.raises(error) as info:
        read_frames(media[key], 8)
    assert str(media[key]) in str(info.value)
    assert info.value.status == error.status


def test_size_and_time_limits(media):
    with pytest.raises(FileTooLargeError):
        read_frames(media["talking_head"], 8, max_bytes=100)
    with pytest.raises(DecodeTimeoutError):
        read_frames(media["talking_head"], 8, time_limit_s=1e-9)


def test_with_neighbours_adds_the_next_frame_or_mirrors_at_the_end():
    from difffake_core.video import with_neighbours

    idx, anchors = with_neighbours(np.array([0, 5, 9]), 10, (1,))
    assert idx.tolist() == [0, 1, 5, 6, 8, 9] and anchors == {1: 0, 6: 5, 8: 9}
    idx, anchors = with_neighbours(np.array([0, 1, 2]), 3, (1,))  # no free neighbour
    assert idx.tolist() == [0, 1, 2] and anchors == {}
    assert with_neighbours(np.array([3]), 10)[1] == {}
