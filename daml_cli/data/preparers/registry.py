"""Dataset name -> preparer factory, for `daml prepare NAME`.

Factories import their module only when called, so listing the names (for `--help` and completion) stays
cheap and a preparer's heavy dependencies (scikit-learn, scipy) load only when that dataset is prepared.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from daml_cli.data.preparers.base import Preparer


def _lazy(module: str, attribute: str) -> Callable[[], Preparer]:
    """A factory that imports `module` and calls `attribute()` from it on first use."""

    def factory() -> Preparer:
        return getattr(importlib.import_module(module), attribute)()

    factory.__qualname__ = f"{module}.{attribute}"
    return factory


PREPARERS: dict[str, Callable[[], Preparer]] = {
    "digits": _lazy("daml_cli.data.preparers.digits", "DigitsPreparer"),
    "folder": _lazy("daml_cli.data.preparers.folder", "FolderPreparer"),
    "omniglot": _lazy("daml_cli.data.preparers.omniglot", "OmniglotPreparer"),
    # Benchmark datasets (cub, cars, sop, inshop) are registered here, one line each.
    "cub": _lazy("daml_cli.data.preparers.cub", "CubPreparer"),
    "cars": _lazy("daml_cli.data.preparers.cars", "CarsPreparer"),
    "sop": _lazy("daml_cli.data.preparers.sop", "SopPreparer"),
    "inshop": _lazy("daml_cli.data.preparers.inshop", "InShopPreparer"),
}
