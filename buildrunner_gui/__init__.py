"""BuildRunner Desktop: a live monitor for BuildRunner builds."""

__version__ = "0.1.0"
