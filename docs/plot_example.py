"""Draw docs/images/plot_example.png: ``python docs/plot_example.py`` from the repository root.

A torchvision ResNet-18 (built from its constructor, no weights) with an extra
head the forward never calls, plotted at depth 2 on a log scale.
"""

from __future__ import annotations

from pathlib import Path


def main() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's package
    from torch import nn
    from torchvision.models import resnet18

    from modelsummary import summary

    model = resnet18(num_classes=10)
    model.aux_classifier = nn.Linear(512, 10)  # registered, never called: drawn as unused
    s = summary(model, (1, 3, 64, 64), verbose=0)
    s.plot(depth=2, log=True, path=Path(__file__).parent / "images" / "plot_example.png")


if __name__ == "__main__":
    main()
