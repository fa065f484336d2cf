"""The app's own icon: generated files current with their SVG source, the window's and About box's icon, the
tray's status badge, and the browser page's inline favicon."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QMessageBox

from buildrunner_gui.icons import SIZES, png
from buildrunner_gui.ui.app_icon import app_icon, tray_icon
from buildrunner_gui.ui.main_window import MainWindow
from buildrunner_gui.ui.status_style import status_color

REPO = Path(__file__).resolve().parents[2]
BLUE = QColor("#0072B2")


def close(a: QColor, b: QColor, tolerance: int = 40) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a.getRgb()[:3], b.getRgb()[:3], strict=True))


def test_the_generated_icons_and_favicon_are_what_the_svg_gives():
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_icons.py"), "--check"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_size_from_16_to_512_is_there_and_used(qapp):
    assert SIZES[0] == 16 and SIZES[-1] == 512
    for size in SIZES:
        assert QImage(str(png(size))).size().width() == size
    sizes = {size.width() for size in app_icon().availableSizes()}
    assert sizes == set(SIZES)


def test_the_icon_reads_at_16_px(qapp):
    """Our mark, not a blank: the blue square with the white run arrow, at the smallest size."""
    image = QImage(str(png(16)))
    assert close(image.pixelColor(2, 8), BLUE)
    assert image.pixelColor(7, 6).lightness() > 200  # the arrow


def test_the_tray_shows_the_app_icon_with_the_status_on_it(qapp):
    for status in ("failed", "completed", "in_progress"):
        image = tray_icon(status, 32).pixmap(32, 32).toImage()
        assert close(image.pixelColor(4, 4), BLUE), status  # the app icon, top left
        corner = [image.pixelColor(x, y) for x in range(14, 32) for y in range(14, 32)]
        assert any(close(colour, status_color(status)) for colour in corner), status  # the badge, bottom right
    assert tray_icon("failed").cacheKey() != tray_icon("completed").cacheKey()


def test_the_about_box_shows_the_app_icon(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window._show_about()
    box = window.findChild(QMessageBox)
    assert box is not None and not box.iconPixmap().isNull()
    assert close(box.iconPixmap().toImage().pixelColor(6, 32), BLUE)
    box.close()
    window.allow_close()


def test_the_page_favicon_is_inline_and_is_the_svg():
    page = (REPO / "buildrunner_gui" / "server" / "static" / "index.html").read_text()
    link = next(line for line in page.splitlines() if line.startswith('<link rel="icon"'))
    href = link.split('href="', 1)[1].rsplit('"', 1)[0]
    assert href.startswith("data:image/svg+xml,")  # no request for a favicon
    assert "#" not in href  # a raw # would cut the data: URI short (a fragment)
    svg = unquote(href.removeprefix("data:image/svg+xml,"))
    assert svg.startswith("<svg") and 'fill="#0072B2"' in svg
