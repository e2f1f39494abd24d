"""The plugin's version, importable without importing anything else of the package."""

__version__ = "0.1.0"
