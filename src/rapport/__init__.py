"""Rapport (客情): customer relationship intelligence."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rapport")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
