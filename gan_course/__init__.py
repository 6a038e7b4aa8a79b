"""gan_course: the helper package of "Generative Modeling, from Likelihood to GANs".

Layers, each importing only those below it:

1. math — pure tensor functions (losses, divergences, metrics);
2. models and training — estimators, networks, the trainer, data;
3. presentation — plots and live widgets.

Import the module you need (``from gan_course import data``); importing the package itself
loads nothing heavy.
"""

# The one place the course's version is written: the build reads it (pyproject.toml, dynamic
# version), and so do `--version`, `doctor`, CITATION.cff and CHANGELOG.md (tests/test_install.py).
__version__ = "0.2.0"
