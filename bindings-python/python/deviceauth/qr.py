"""QR codes for registration links and activation URLs, drawn locally (no network).

- :func:`svg`: an ``<svg>`` element for web pages.
- :func:`terminal`: Unicode half blocks for a terminal with a dark background.
"""

from ._native import svg, terminal

__all__ = ["svg", "terminal"]
