"""widgets.base.Dashboard, driven programmatically the way the browser would drive it."""

import pytest

from gan_course.widgets.base import Dashboard
from helpers import tick

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class Counter(Dashboard):
    """A minimal dashboard: two 'players' that count their own steps."""

    actions = ("step", "step_d", "step_g")

    def __init__(self, **kwargs):
        self.d = 0
        self.g = 0
        kwargs.setdefault("redraw_interval", 0.0)
        kwargs.setdefault("tick_ms", 1)
        super().__init__(title="counter", figsize=(2, 1), dpi=40, **kwargs)

    def advance(self, action):
        if action in ("step", "step_d"):
            self.d += 1
        if action in ("step", "step_g"):
            self.g += 1

    def reset_state(self):
        self.d = self.g = 0

    def draw(self, fig):
        ax = fig.add_subplot()
        ax.bar(["d", "g"], [self.d, self.g])

    def status(self):
        return f"d={self.d} g={self.g}"


def test_initial_frame_is_a_png():
    dash = Counter()
    assert bytes(dash.image.value).startswith(PNG_MAGIC)
    assert len(dash.frames) == 1 and dash.steps_done == 0


def test_play_ticks_advance_and_pause_stops():
    dash = Counter(steps_per_tick=3)
    dash.play.playing = True
    tick(dash, 4)
    assert dash.steps_done == 12 and dash.d == 12
    dash.play.playing = False
    dash.play.value = 0  # the Play widget's stop button rewinds: not a tick
    assert dash.steps_done == 12


def test_backlog_ticks_are_skipped():
    dash = Counter(tick_ms=10_000)
    dash.play.value += 1
    dash.play.value += 1  # arrives right after the first: a queued backlog tick
    assert dash.steps_done == 1


def test_step_d_and_step_g_buttons_advance_only_their_side():
    dash = Counter()
    dash.buttons["step_d"].click()
    dash.buttons["step_d"].click()
    dash.buttons["step_g"].click()
    assert (dash.d, dash.g, dash.steps_done) == (2, 1, 3)
    assert dash.readout.value == "d=2 g=1"


def test_reset_restores_the_start_and_clears_history():
    dash = Counter()
    dash.run(10)
    dash.reset_button.click()
    assert (dash.d, dash.g, dash.steps_done) == (0, 0, 0)
    assert len(dash.frames) == 1


def test_run_is_synchronous_records_frames_and_leaves_the_last(capsys):
    dash = Counter()
    dash.run(40, redraw_every=10)
    assert dash.steps_done == 40
    assert dash.frame_steps == [0, 10, 20, 30, 40]
    assert dash.image.value == dash.frames[-1]
    assert dash.history.max == 4 and not dash.history.disabled


def test_history_slider_scrubs_recorded_frames():
    dash = Counter()
    dash.run(30, redraw_every=10)
    dash.history.value = 1
    assert dash.image.value == dash.frames[1]
    assert "step 10" in dash.readout.value


def test_throttle_limits_redraws_while_playing():
    dash = Counter(redraw_interval=3600.0)
    dash.play.playing = True
    tick(dash, 5)
    assert dash.steps_done == 5 and len(dash.frames) == 1  # only the initial frame
    dash.play.playing = False  # pausing forces a frame of the latest state
    assert dash.frame_steps[-1] == 5


def test_history_is_thinned_but_keeps_the_newest():
    dash = Counter(max_frames=8)
    dash.run(50, redraw_every=1)
    assert len(dash.frames) <= 8
    assert dash.frame_steps[-1] == 50
    assert dash.frame_steps == sorted(dash.frame_steps)


def test_errors_in_callbacks_stop_play_and_are_shown(capsys):
    class Broken(Counter):
        def advance(self, action):
            raise RuntimeError("loss became NaN")

    dash = Broken()
    dash.play.playing = True
    tick(dash)
    assert dash.play.playing is False
    assert "loss became NaN" in dash.readout.value


def test_run_interrupt_keeps_state(capsys):
    class Interrupted(Counter):
        def advance(self, action):
            super().advance(action)
            if self.d == 7:
                raise KeyboardInterrupt

    dash = Interrupted()
    dash.run(100)
    assert dash.steps_done == 6 and dash.d == 7
    assert "Interrupted at step 6" in capsys.readouterr().out


@pytest.mark.parametrize("kwargs, message", [
    ({"steps_per_tick": 0}, "steps_per_tick must be a positive int"),
    ({"tick_ms": -5}, "tick_ms must be a positive int"),
    ({"redraw_interval": -1.0}, "redraw_interval must be a finite number >= 0"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Counter(**kwargs)


def test_unknown_action_and_negative_steps_are_refused():
    dash = Counter()
    with pytest.raises(ValueError, match="action must be one of"):
        dash.step("jump")
    with pytest.raises(ValueError, match="steps must be a non-negative int, got -1"):
        dash.run(-1)
