"""Generate the app's icons from their one source, resources/buildrunner-gui.svg:

- buildrunner_gui/icons/buildrunner-gui-N.png for N in SIZES (the window, the tray, the About box and
  `install-desktop` use these; committed, so the app never needs this script or an SVG renderer at run time);
- resources/buildrunner-gui.ico and resources/buildrunner-gui.icns (for Windows and macOS packagers; Pillow);
- the browser page's favicon, inlined as a data: URI in buildrunner_gui/server/static/index.html (no request).

Run after editing the SVG:   .venv/bin/python scripts/make_icons.py
Check the outputs are current (tests do):   .venv/bin/python scripts/make_icons.py --check
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script: the package beside it, not an installed copy
from buildrunner_gui.icons import SIZES, png  # noqa: E402

SOURCE = REPO / "resources" / "buildrunner-gui.svg"
PAGE = REPO / "buildrunner_gui" / "server" / "static" / "index.html"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)  # the .ico format stops at 256
FAVICON = re.compile(r'<link rel="icon" href="[^"]*">')


def render_pngs() -> dict[Path, bytes]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no display needed
    from PySide6.QtCore import QBuffer, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(SOURCE))
    if not renderer.isValid():
        raise SystemExit(f"make_icons: {SOURCE} is not a valid SVG")
    pngs: dict[Path, bytes] = {}
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        buffer = QBuffer()
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "PNG")
        pngs[png(size)] = bytes(buffer.data().data())
    return pngs


def favicon_link() -> str:
    # Percent-encoded SVG is smaller than base64 and every browser takes it; whitespace between tags is dropped.
    svg = re.sub(r">\s+<", "><", SOURCE.read_text(encoding="utf-8").strip())
    return f'<link rel="icon" href="data:image/svg+xml,{quote(svg, safe=" /=:,.-")}">'


def page_with_favicon() -> str:
    page = PAGE.read_text(encoding="utf-8")
    if not FAVICON.search(page):
        raise SystemExit(f'make_icons: no <link rel="icon"> in {PAGE}')
    return FAVICON.sub(lambda _match: favicon_link(), page, count=1)


def write_packager_icons(pngs: dict[Path, bytes]) -> list[Path]:
    from PIL import Image

    images = {size: Image.open(io.BytesIO(pngs[png(size)])) for size in SIZES}
    ico = REPO / "resources" / "buildrunner-gui.ico"
    largest_ico = images[max(ICO_SIZES)]
    largest_ico.save(ico, sizes=[(s, s) for s in ICO_SIZES], append_images=[images[s] for s in ICO_SIZES])
    icns = REPO / "resources" / "buildrunner-gui.icns"
    images[512].save(icns, append_images=[images[s] for s in (16, 32, 64, 128, 256)])
    return [ico, icns]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check that the PNGs and the favicon are current")
    check = parser.parse_args().check
    pngs = render_pngs()
    page = page_with_favicon()
    if check:
        stale = [path for path, data in pngs.items() if not path.exists() or path.read_bytes() != data]
        stale += [PAGE] if PAGE.read_text(encoding="utf-8") != page else []
        for path in stale:
            print(f"make_icons: {path.relative_to(REPO)} is not what {SOURCE.name} gives; run scripts/make_icons.py")
        return 1 if stale else 0
    for path, data in pngs.items():
        path.write_bytes(data)
    PAGE.write_text(page, encoding="utf-8")
    for path in [*pngs, *write_packager_icons(pngs), PAGE]:
        print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
