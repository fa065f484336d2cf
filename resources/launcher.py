"""The bundled app's entry script: PyInstaller needs a file to start from, not a package's `__main__`."""

import sys

from buildrunner_gui.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
