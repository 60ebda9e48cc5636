"""Where the shipped data directories live: boards/, hls_templates/, rtl/, sim/ and
deploy_templates/ are top-level folders of the source tree, force-included under
bnnfpga/_data/ in a wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The data directory ``name`` of a wheel install or of the source tree."""
    installed = _PACKAGE / "_data" / name
    return installed if installed.is_dir() else _PACKAGE.parent / name
