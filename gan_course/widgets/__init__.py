"""Live dashboards (the presentation layer): core ipywidgets, Agg-rendered panels.

Each dashboard lives in its own module and stands on ``base.Dashboard``.
"""

from gan_course.widgets.base import Dashboard
from gan_course.widgets.images import ImageGANDashboard

__all__ = ["Dashboard", "ImageGANDashboard"]
