"""The app's icon as PNG files, generated from resources/buildrunner-gui.svg by scripts/make_icons.py.

No Qt here: `install-desktop` copies the files, the window loads them (ui/app_icon.py). Found from `__file__`,
so the same path works from source, from an installed package and inside the bundle."""

from __future__ import annotations

from pathlib import Path

ICON_NAME = "buildrunner-gui"  # the icon theme name, also the desktop entry's file name
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
FOLDER = Path(__file__).resolve().parent


def png(size: int) -> Path:
    return FOLDER / f"{ICON_NAME}-{size}.png"
