"""gan_course: the helper package of "Generative Modeling, from Likelihood to GANs".

Layers, each importing only those below it:

1. math — pure tensor functions (losses, divergences, metrics);
2. models and training — estimators, networks, the trainer, data;
3. presentation — plots and live widgets.

Import the module you need (``from gan_course import data``); importing the package itself
loads nothing heavy.
"""

__version__ = "0.1.0"
