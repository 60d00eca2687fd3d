"""The package version, written into every model file and checked when loading one."""

__version__ = '0.1.0'
