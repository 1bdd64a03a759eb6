"""The figure `plot()` returns; imported by `plot()` only, as it imports matplotlib.

A figure built outside pyplot shows in a notebook as ``<Figure size ...>`` text
unless ``%matplotlib inline`` registered a display hook for figures. This one
renders itself as a PNG image whenever it is a cell's value.

Examples:
    >>> fig = SummaryFigure(figsize=(2, 1))
    >>> fig._repr_png_()[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure


class SummaryFigure(Figure):
    """A ``matplotlib.figure.Figure`` that a notebook displays as an image.

    Examples:
        >>> isinstance(SummaryFigure(), Figure)
        True
    """

    def _repr_png_(self) -> bytes:
        """The figure as PNG bytes, at the figure's own size and resolution."""
        buffer = io.BytesIO()
        self.savefig(buffer, format="png")
        return buffer.getvalue()
