import pytest

from napari_sleap.io.frames import format_frames, parse_frames


def test_ranges_and_single_frames_sorted_unique():
    assert parse_frames("1000-1003,1600") == [1000, 1001, 1002, 1003, 1600]
    assert parse_frames(" 7 , 3-4 ,4") == [3, 4, 7]
    assert parse_frames("5-5") == [5]


def test_open_range_needs_video_length():
    assert parse_frames("1497-", n_frames=1500) == [1497, 1498, 1499]
    with pytest.raises(ValueError, match="needs the video length"):
        parse_frames("1497-")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty"),
        ("  ", "empty"),
        ("1,,2", "cannot read item ''"),
        ("a-b", "cannot read item 'a-b'"),
        ("-5", "cannot read item '-5'"),
        ("1.5", "cannot read item '1.5'"),
        ("10 20", "cannot read item '10 20'"),
        ("20-10", "runs backwards; write it as '10-20'"),
    ],
)
def test_bad_specs_name_the_item(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_frames(spec)


def test_bounds_checked_against_video_length():
    with pytest.raises(ValueError, match="past the last frame \\(1499\\)"):
        parse_frames("1490-1500", n_frames=1500)
    assert parse_frames("1499", n_frames=1500) == [1499]


def test_format_round_trip():
    frames = [0, 1, 2, 5, 7, 8, 1000]
    assert format_frames(frames) == "0-2,5,7-8,1000"
    assert parse_frames(format_frames(frames)) == frames
