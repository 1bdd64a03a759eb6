"""Names the package's docstring examples use without importing them each time."""

import pytest
import torch
from torch import nn

from modelsummary import summary


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace: dict[str, object]) -> None:
    doctest_namespace.update(torch=torch, nn=nn, summary=summary)
