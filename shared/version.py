"""The release this code is: the package's version (pyproject.toml), one number for the
three services, the CLI and the health endpoints."""

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("convene")
except PackageNotFoundError:  # run from a source tree that was never installed
    VERSION = "unknown"
