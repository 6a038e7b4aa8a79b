"""Settings for every test run, whatever path pytest is given (tests/, notebooks/, gan_course/).

FAST mode is on unless the caller set GAN_COURSE_FAST, and Matplotlib draws off-screen. Notebook
kernels started by nbval inherit both.
"""

import os

os.environ.setdefault("GAN_COURSE_FAST", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
