"""mupbook: the companion library of the course-book on feature learning in
infinite-width neural networks (muP, NNGP, NTK).

Import submodules directly (``from mupbook import runtime``); importing the
package itself imports nothing else, so ``import mupbook`` is instant.
"""

__version__ = "0.1.0"

#: The public repository; Colab install cells and launch buttons point here.
REPO_URL = "https://github.com/mupbook/mupbook"
