"""The book's shared plotting style.

Every chapter calls :func:`use_book_style` once in its imports cell, so that all figures share one
look: a colour-blind-safe palette (Okabe–Ito), no top/right spines, a light grid, and sizes that
fit the page. Figures carry no titles (the caption is the title) and lowercase axis labels.
"""

from __future__ import annotations

from importlib import resources

import matplotlib.pyplot as plt

__all__ = ["PALETTE", "style_path", "use_book_style"]

STYLE_FILE = "mathguide.mplstyle"

# Okabe–Ito colours, in the order of the style's colour cycle, for code that names a colour.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")


def style_path() -> str:
    """Path of the book's matplotlib style file (shipped inside the package)."""
    return str(resources.files("mathguide").joinpath(STYLE_FILE))


def use_book_style() -> None:
    """Apply the book's matplotlib style globally (call once per chapter)."""
    plt.style.use(style_path())
