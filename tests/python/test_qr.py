"""deviceauth.qr: QR codes drawn by the core."""

import pytest

from deviceauth import InvalidArgumentError, qr

URL = "http://127.0.0.1:8790/_emulator/phone/8f6fa1ce3ef54f2f7f45f5ad553f8155"


def test_svg_is_a_standalone_scalable_element() -> None:
    svg = qr.svg(URL)
    assert "<svg" in svg and "viewBox" in svg and svg.rstrip().endswith("</svg>")
    assert qr.svg(URL + "/other") != svg


def test_terminal_rows_have_one_width_and_a_light_quiet_zone() -> None:
    rows = qr.terminal(URL).rstrip("\n").split("\n")
    assert len(rows) > 10
    assert len({len(row) for row in rows}) == 1
    assert set(rows[0]) == {"█"}


@pytest.mark.parametrize("bad", ["", "x" * 2000])
def test_bad_text_is_an_invalid_argument(bad: str) -> None:
    with pytest.raises(InvalidArgumentError):
        qr.svg(bad)
    with pytest.raises(ValueError):
        qr.terminal(bad)
