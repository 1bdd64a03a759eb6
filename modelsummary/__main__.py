"""``python -m modelsummary``: print the summary of the built-in demo model.

Example:
    >>> main(["--depth", "1", "--ascii"])  # doctest: +ELLIPSIS
    ===...
    DemoNet ...
    |-embed (Embedding) ...
    ...
    0
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._demo import DEMO_INPUT, DemoNet
from .summary import summary


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="modelsummary",
        description="Print the summary of the built-in demo model: a block called twice,"
        " a head tied to the embedding, and a module the forward never calls.",
    )
    parser.add_argument("--depth", type=int, default=3, help="deepest row to show (default 3)")
    parser.add_argument("--ascii", action="store_true", help="draw the tree with ASCII only")
    args = parser.parse_args(argv)
    settings = ["ascii_only"] if args.ascii else []
    result = summary(
        DemoNet(),
        **DEMO_INPUT,
        depth=args.depth,
        col_names=("output_size", "num_params", "calls"),
        col_width=12,
        row_settings=settings,
        verbose=0,
    )
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
