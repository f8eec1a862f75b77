"""The texts of the workspace's pages, one module per page, each a ``MESSAGES`` dict of
``key: (zh-CN, en)``. :func:`collect` merges them for :data:`rapport.web.i18n.MESSAGES`; a
key defined twice is an error at import, so two pages never silently share or override a
text.
"""

from __future__ import annotations

import importlib
import pkgutil


def collect(base: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """``base`` and every text module's ``MESSAGES``, merged; a key twice raises."""
    merged = dict(base)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for key, pair in module.MESSAGES.items():
            if key in merged:
                raise RuntimeError(f"web text {key!r} is defined twice ({info.name})")
            merged[key] = pair
    return merged
