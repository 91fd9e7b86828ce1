"""The report as a reader's browser shows it: headless Chromium loads
index.html, and every image must load, nothing may make the page wider
than the window and a table's first column stays in view as it scrolls.
The checker itself must catch each of these going wrong.

SHARPSWEEP_REPORT: the report directory (`.ci/suites/analyze.sh` sets it).
"""

import os
import struct
import zlib

import pytest

from report_browser import measure, problems

REPORT = os.environ.get("SHARPSWEEP_REPORT")


def png(path, width=4, height=3):
    """A valid white PNG."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    rows = b"".join(b"\x00" + b"\xff" * 3 * width for _ in range(height))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(rows)))
        f.write(chunk(b"IEND", b""))


def page(tmp_path, body):
    (tmp_path / "index.html").write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{body}</body></html>"
    )
    return tmp_path


def test_a_sound_page_passes(tmp_path):
    png(tmp_path / "a.png")
    d = page(tmp_path, "<p>text</p><img src='a.png' alt='a'>")
    assert problems(d) == []
    assert measure(d)["images"] == 1


def test_a_broken_image_is_caught(tmp_path):
    png(tmp_path / "a.png")
    d = page(tmp_path, "<img src='a.png' alt='a'><img src='missing.png' alt='b'>")
    found = problems(d)
    assert found and all("missing.png" in f for f in found), found


def test_an_overflowing_page_is_caught(tmp_path):
    d = page(tmp_path, "<table><tr><td style='white-space:nowrap'>" + "wide " * 400
             + "</td></tr></table>")
    found = problems(d)
    assert any("too wide" in f for f in found), found


def test_a_table_whose_first_column_scrolls_away_is_caught(tmp_path):
    wide = "<td style='white-space:nowrap'>" + "wide " * 400 + "</td>"
    table = "<table style='display:block;overflow-x:auto'><tr><td>label</td>{}</tr></table>"
    d = page(tmp_path, table.format(wide))
    found = problems(d)
    assert found and all("scrolls away" in f for f in found), found
    sticky = "<style>td:first-child{position:sticky;left:0;background:#fff}</style>"
    assert problems(page(tmp_path, sticky + table.format(wide))) == []


@pytest.mark.skipif(not REPORT, reason="SHARPSWEEP_REPORT not set")
def test_the_report_loads_every_image_and_fits_the_window():
    assert problems(REPORT) == []
    # Every figure the report lists is an image that loaded.
    with open(os.path.join(REPORT, "index.html"), encoding="utf-8") as f:
        figures = f.read().count("<figure>")
    assert figures > 0
    assert measure(REPORT)["images"] == figures
