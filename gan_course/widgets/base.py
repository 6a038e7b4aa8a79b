"""The base every live dashboard stands on.

A dashboard is a model that can be advanced a step at a time (``advance``), put back to its start
(``reset_state``) and drawn (``draw``). The base turns that into a live widget made of core
ipywidgets only, so it works in JupyterLab, Notebook 7, VS Code and Colab:

- panels are drawn by Matplotlib's Agg backend into PNG bytes set on an ``ipywidgets.Image``;
  redraws are throttled to a few per second;
- Play/Pause is browser-clocked: an ``ipywidgets.Play`` ticks, each tick runs a few steps and at
  most one redraw, then returns, so the kernel stays free and Pause, Step and sliders act at the
  next tick (no threads, no asyncio tasks);
- ``run(steps)`` trains synchronously, updating the same display, and leaves the final frame:
  notebooks call it, so they execute top to bottom under nbval and nbconvert;
- every redraw is recorded, and a slider scrubs the recorded history afterwards.
"""

from __future__ import annotations

import html
import io
import math
import time
import traceback
from pathlib import Path
from typing import Sequence

import ipywidgets as W
import numpy as np
from IPython.display import display
from matplotlib.figure import Figure

from gan_course.plots import figure_to_png, new_figure
from gan_course.validate import require_choice, require_int, require_nonnegative_number, require_positive_int

# Colab's frontend renders ipywidgets 7's core widgets natively (8 only through its opt-in custom
# widget manager), so the dashboards run under both 7.7 and 8. Of what they use, only the Play
# widget differs: 8 renamed 7's ``_playing`` trait to ``playing``, and 7 calls its tooltip
# ``description_tooltip``. ``Play`` offers 8's names under both; observe ``PLAYING``.
IPYWIDGETS_MAJOR = int(W.__version__.split(".", 1)[0])
PLAYING = "playing" if IPYWIDGETS_MAJOR >= 8 else "_playing"  # the trait to observe for Play/Pause

if IPYWIDGETS_MAJOR >= 8:
    Play = W.Play
else:
    class Play(W.Play):  # ipywidgets 7.x
        """ipywidgets 7's Play with 8's names: ``playing`` (read and set) and ``tooltip``."""

        def __init__(self, *, tooltip: str | None = None, **kwargs) -> None:
            if tooltip is not None:
                kwargs["description_tooltip"] = tooltip
            super().__init__(**kwargs)

        @property
        def playing(self) -> bool:
            return self._playing

        @playing.setter
        def playing(self, value: bool) -> None:
            self._playing = value


def log_slider(value: float, low: int, high: int, **kw) -> W.FloatLogSlider:
    """A base-10 log slider over ``[10**low, 10**high]``, widened to hold ``value``: a slider
    never shows a value other than the one in force (ipywidgets would clamp it silently)."""
    exponent = math.log10(value)
    return W.FloatLogSlider(value=value, base=10, min=min(low, math.floor(exponent)),
                            max=max(high, math.ceil(exponent)), **kw)


def int_slider(value: int, low: int, high: int, **kw) -> W.IntSlider:
    """An int slider over ``[low, high]``, widened to hold ``value`` (see ``log_slider``)."""
    return W.IntSlider(value=value, min=min(low, value), max=max(high, value), **kw)


ACTION_LABELS = {"step": "Step", "step_d": "Step D", "step_g": "Step G", "e_step": "E-step", "m_step": "M-step"}


class Dashboard:
    """A live, steppable, headless-capable dashboard. Subclass it and fill in the hooks.

    Hooks:
        advance(action): do one unit of work for ``action`` (one of ``actions``).
        reset_state(): put the model back where it started.
        draw(fig): draw the current state into an empty figure.
        status(): an optional one-line read-out shown under the image.

    Args:
        title: shown above the controls.
        figsize, dpi: size of the rendered panel.
        controls: extra widgets (sliders, dropdowns) placed under the buttons.
        steps_per_tick: steps run per Play tick (the speed slider's start value).
        tick_ms: milliseconds between Play ticks.
        redraw_interval: at most one redraw per this many seconds while playing.
        max_frames: recorded frames kept; beyond it every other frame is dropped, so the history
            keeps spanning the whole run.
    """

    actions: tuple[str, ...] = ("step",)

    def __init__(self, *, title: str = "", figsize: tuple[float, float] = (9, 4), dpi: int = 80,
                 controls: Sequence[W.Widget] = (), steps_per_tick: int = 1, tick_ms: int = 150,
                 redraw_interval: float = 0.25, max_frames: int = 200) -> None:
        for name, value in (("steps_per_tick", steps_per_tick), ("tick_ms", tick_ms), ("max_frames", max_frames)):
            require_positive_int(name, value)
        require_nonnegative_number("redraw_interval", redraw_interval)  # seconds
        self.steps_done = 0
        self.frames: list[bytes] = []  # recorded PNGs, oldest first
        self.frame_steps: list[int] = []  # steps_done when each frame was drawn
        self.redraw_interval = redraw_interval
        self.max_frames = max_frames
        self._fig = new_figure(figsize, dpi)
        self._last_redraw = -math.inf
        self._last_tick_end = -math.inf
        self._displayed = False
        self._scrubbing = False  # True while the history slider is being set by code

        self.image = W.Image(format="png")
        self.play = Play(value=0, min=0, max=10**9, step=1, interval=tick_ms, show_repeat=False,
                         description="Play", tooltip="Play / Pause")
        self.buttons = {action: W.Button(description=ACTION_LABELS.get(action, action),
                                         layout=W.Layout(width="auto"))
                        for action in self.actions}
        self.reset_button = W.Button(description="Reset", icon="undo", layout=W.Layout(width="auto"))
        self.speed = int_slider(steps_per_tick, 1, 50, description="steps/tick",
                                 continuous_update=False)
        self.history = W.IntSlider(value=0, min=0, max=0, description="history", continuous_update=True,
                                   disabled=True)
        self.readout = W.HTML()

        self.play.observe(self._on_tick, names="value")
        self.play.observe(self._on_play_toggle, names=PLAYING)
        for action, button in self.buttons.items():
            button.on_click(lambda _button, action=action: self._guarded(self.step, action))
        self.reset_button.on_click(lambda _button: self._guarded(self.reset))
        self.history.observe(self._on_scrub, names="value")

        header = [W.HTML(f"<b>{html.escape(title)}</b>")] if title else []
        buttons = W.HBox([self.play, *self.buttons.values(), self.reset_button])
        self.widget = W.VBox([*header, buttons, W.HBox([self.speed, self.history]), *controls,
                              self.image, self.readout])
        self.redraw(force=True)

    # ---------------------------------------------------------------- hooks for subclasses
    def advance(self, action: str) -> None:
        """Do one unit of work for ``action``."""
        raise NotImplementedError

    def reset_state(self) -> None:
        """Put the model back where it started."""
        raise NotImplementedError

    def draw(self, fig: Figure) -> None:
        """Draw the current state into the (cleared) figure."""
        raise NotImplementedError

    def status(self) -> str:
        """A one-line read-out shown under the image."""
        return f"step {self.steps_done}"

    # ---------------------------------------------------------------- public API
    def step(self, action: str = "step", n: int = 1, redraw: bool = True) -> "Dashboard":
        """Advance ``n`` times with ``action``, then redraw (unthrottled: a click deserves a frame)."""
        require_choice("action", action, self.actions)
        for _ in range(n):
            self.advance(action)
            self.steps_done += 1
        if redraw:
            self.redraw(force=True)
        return self

    def reset(self) -> "Dashboard":
        """Stop playing, restore the initial state and clear the recorded history."""
        self.play.playing = False
        self.reset_state()
        self.steps_done = 0
        self.frames.clear()
        self.frame_steps.clear()
        self.redraw(force=True)
        return self

    def run(self, steps: int, redraw_every: int | None = None) -> None:
        """Train ``steps`` steps synchronously, updating the display, and leave the final frame.

        Shows the dashboard first if it is not on screen yet (and returns None, so that
        ``dash.run(500)`` as the last line of a cell does not show it a second time).
        Interrupting the kernel stops the run at a consistent point and keeps what was learned.

        Args:
            steps: number of ``advance("step")`` calls.
            redraw_every: steps between redraws (default: about 20 frames over the run).
        """
        steps = require_int("steps", steps, 0)
        if redraw_every is None:
            redraw_every = max(1, steps // 20)
        if not self._displayed:
            display(self)
        try:
            for i in range(1, steps + 1):
                self.step("step", redraw=False)
                if i % redraw_every == 0:
                    self.redraw(force=True)
        except KeyboardInterrupt:
            print(f"Interrupted at step {self.steps_done}; the dashboard keeps what it has learned.")
        self.redraw(force=True)

    def redraw(self, force: bool = False) -> bool:
        """Render the current state and show it; throttled unless ``force``. True if it drew."""
        now = time.perf_counter()
        if not force and now - self._last_redraw < self.redraw_interval:
            return False
        self._fig.clear()
        self.draw(self._fig)
        png = figure_to_png(self._fig)
        self._last_redraw = time.perf_counter()
        self._record(png)
        self._scrubbing = True
        try:
            # max goes in a message of its own, before value: a browser that got both at once could
            # clamp value to the old max and send that back, showing a stale frame
            self.history.max = len(self.frames) - 1
            with self.image.hold_sync(), self.history.hold_sync(), self.readout.hold_sync():
                self.image.value = png
                self.readout.value = html.escape(self.status())
                self.history.value = len(self.frames) - 1
                self.history.disabled = len(self.frames) < 2
        finally:
            self._scrubbing = False
        return True

    def show_frame(self, index: int) -> None:
        """Show recorded frame ``index`` (negative counts from the end)."""
        png = self.frames[index]
        step = self.frame_steps[index]
        self.image.value = png
        self.readout.value = html.escape(f"history: frame at step {step} (the model is at step {self.steps_done})")

    def export_gif(self, path: str | Path, duration_ms: int = 150) -> Path:
        """Write the recorded history as an animated GIF (for slides and the book); returns the path."""
        images = self._frame_images()
        path = Path(path)
        images[0].save(path, save_all=True, append_images=images[1:], duration=duration_ms, loop=0)
        return path

    def export_strip(self, path: str | Path, num_frames: int = 4) -> Path:
        """Write ``num_frames`` evenly spaced recorded frames, side by side, as one PNG."""
        from PIL import Image

        num_frames = require_positive_int("num_frames", num_frames)
        images = self._frame_images()
        picks = sorted({round(i) for i in np.linspace(0, len(images) - 1, min(num_frames, len(images)))})
        chosen = [images[i] for i in picks]
        strip = Image.new("RGB", (sum(im.width for im in chosen), max(im.height for im in chosen)), "white")
        left = 0
        for im in chosen:
            strip.paste(im, (left, 0))
            left += im.width
        path = Path(path)
        strip.save(path, format="PNG")
        return path

    def _frame_images(self):
        from PIL import Image

        if not self.frames:
            raise ValueError("there is no recorded history yet: press Step or Play, or call run(steps)")
        return [Image.open(io.BytesIO(png)).convert("RGB") for png in self.frames]

    # ---------------------------------------------------------------- internals
    def _record(self, png: bytes) -> None:
        if self.frame_steps and self.frame_steps[-1] == self.steps_done:
            self.frames[-1] = png  # same step drawn again (e.g. after a slider change): replace
            return
        self.frames.append(png)
        self.frame_steps.append(self.steps_done)
        if len(self.frames) > self.max_frames:
            # thin the history: keep every other frame, and always the newest
            keep = list(range(len(self.frames) - 1, -1, -2))[::-1]
            self.frames[:] = [self.frames[i] for i in keep]
            self.frame_steps[:] = [self.frame_steps[i] for i in keep]

    def _on_tick(self, change: dict) -> None:
        if change["new"] <= change["old"]:
            return  # the Play widget's stop button rewinds the counter: not a tick
        now = time.perf_counter()
        if now - self._last_tick_end < self.play.interval / 2000:
            return  # a backlog tick queued while the kernel was busy: skip it so Pause acts promptly
        if self._guarded(self.step, "step", self.speed.value, False):
            self.redraw()
        self._last_tick_end = time.perf_counter()

    def _on_play_toggle(self, change: dict) -> None:
        if not change["new"]:
            self.redraw(force=True)  # pausing always shows the latest state

    def _on_scrub(self, change: dict) -> None:
        if self._scrubbing or self.play.playing or not self.frames:
            return
        self.show_frame(change["new"])

    def _guarded(self, fn, *args) -> bool:
        """Run a callback; on error stop playing and show the error instead of losing it in a log.

        Returns True when the callback succeeded.
        """
        try:
            fn(*args)
            return True
        except Exception as error:  # a widget callback has no caller to raise to
            self.play.playing = False
            self.readout.value = (f'<span style="color:#cf222e"><b>{type(error).__name__}:</b> '
                                  f"{html.escape(str(error))}</span>")
            traceback.print_exc()
            return False

    def _ipython_display_(self) -> None:
        self._displayed = True
        display(self.widget)
