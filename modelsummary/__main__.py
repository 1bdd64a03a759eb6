"""``python -m modelsummary``: the command line (see `modelsummary._cli`).

Examples:
    >>> from modelsummary._cli import main
    >>> main(["--depth", "0"])  # doctest: +ELLIPSIS
    ===...
    DemoNet ...
    0
"""

from __future__ import annotations

import sys

from ._cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
