"""Build a subpackage's public namespace from its modules' ``__all__`` lists.

Each subpackage lists its modules once; their public names are re-exported and the package's
``__all__`` is their union, so the two can never drift apart.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable


def reexport(package: str, modules: Iterable[str], namespace: dict) -> list[str]:
    """Import ``package.<module>`` for each module, copy its ``__all__`` names into ``namespace``.

    Returns the sorted union of the modules' ``__all__``; a name exported by two modules is an error.
    """
    names: dict[str, str] = {}
    for module_name in modules:
        module = importlib.import_module(f"{package}.{module_name}")
        for public in module.__all__:
            if public in names:
                raise ImportError(f"{package}: {public!r} is exported by both {names[public]} and {module_name}")
            names[public] = module_name
            namespace[public] = getattr(module, public)
    return sorted(names)
