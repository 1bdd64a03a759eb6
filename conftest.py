"""Names the package's docstring examples use without importing them each time."""

import pytest
import torch
from torch import nn

from modelsummary import summary


@pytest.fixture(autouse=True)
def _no_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """Printed tables fit ``COLUMNS`` when it is set: examples and goldens must not
    depend on the shell that runs them."""
    monkeypatch.delenv("COLUMNS", raising=False)


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace: dict[str, object]) -> None:
    doctest_namespace.update(torch=torch, nn=nn, summary=summary)
