"""``python -m gan_course``: the command line (see :mod:`gan_course.cli`)."""

import sys

from gan_course.cli import main

if __name__ == "__main__":
    sys.exit(main())
