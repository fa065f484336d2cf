"""The desktop app's composition root: `DesktopApp` composes the parts; `run_window` runs it."""

from .desktop import DesktopApp
from .qt_application import follow_system_colour_scheme, make_application
from .run import run_window

__all__ = ["DesktopApp", "follow_system_colour_scheme", "make_application", "run_window"]
