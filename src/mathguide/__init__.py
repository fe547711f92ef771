"""mathguide: the tested implementations behind the Math Guide book.

Each subpackage mirrors a part of the book (``montecarlo``, ``optimization``, ``linalg``, ``simplex``,
``gradients``); each module mirrors one chapter, ``src/mathguide/<part>/<topic>.py`` for
``chapters/<part>/<topic>.md``, and its docstrings point back to that chapter.
"""

__version__ = "0.1.0"
