"""Whether the API's fast path may run.

The fast path (api/execution.py: a cached, validated JSON POST straight through graphql-core;
api/resolvers.py: plain fields without strawberry's wrappers) reaches into internals of
strawberry and graphql-core (`Schema._schema`, `Info._raw_info`, graphql-core's
`CollectedFields`, strawberry's execution context). It runs only on the exact versions it was
built and measured with, which pyproject.toml pins; on any other version, or with
AIDROP_FAST_PATH=0, every request takes strawberry's own path (slower, never wrong).
"""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version

BUILT_FOR = {"strawberry-graphql": "0.341.2", "graphql-core": "3.3.2"}
log = logging.getLogger("aidrop.api")


def mismatches(expected: dict[str, str] | None = None) -> list[str]:
    """What differs from the versions the fast path was built for, readable; empty if nothing."""
    out = []
    for package, wanted in (expected or BUILT_FOR).items():
        try:
            found = version(package)
        except PackageNotFoundError:
            found = "not installed"
        if found != wanted:
            out.append(f"{package} {found} (built for {wanted})")
    return out


def enabled(wanted: bool = True, expected: dict[str, str] | None = None) -> bool:
    """True when the fast path is wanted and the installed versions are the ones it was built for."""
    if not wanted:
        return False
    differ = mismatches(expected)
    if differ:
        log.warning("GraphQL fast path off, strawberry's path serves every request: %s", "; ".join(differ))
        return False
    return True
