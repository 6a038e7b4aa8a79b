"""gan_course.checks.core: the verdict every check returns, the comparison it makes, and the calls that
turn a student's error into a hint instead of a traceback."""

import math

import torch

from gan_course import checks
from gan_course.checks.core import (CheckResult, _allclose, _call, _not_answered, _unless_missing, compare, failed,
                                    passed)


# ---- the verdict ---------------------------------------------------------------------------------


def test_check_result_is_truthy_exactly_when_it_passed_and_shows_a_mark():
    good, bad = passed("the mean is right."), failed("look at the variance.")
    assert good and not bad and isinstance(good, CheckResult)
    assert (good.passed, good.message) == (True, "the mean is right.")
    assert repr(good) == "✓ the mean is right." and repr(bad) == "✗ look at the variance."
    assert "#1a7f37" in good._repr_html_() and "#cf222e" in bad._repr_html_()


def test_check_result_html_escapes_the_message():
    html = failed("use x < y & <b>not</b> x > y")._repr_html_()
    assert "x &lt; y &amp; &lt;b&gt;not&lt;/b&gt; x &gt; y" in html and "<b>not</b>" not in html


def test_checks_package_exports_the_core_names():
    assert checks.CheckResult is CheckResult and checks.compare is compare
    assert checks.passed is passed and checks.failed is failed


# ---- compare -------------------------------------------------------------------------------------


def test_compare_accepts_numbers_lists_and_tensors_within_tolerance():
    assert compare("the mean", 0.5, 0.5)
    assert compare("the mean", 0.50004, 0.5)  # rtol 1e-4
    assert compare("theta", [0.25, 0.75], torch.tensor([0.25, 0.75]))
    assert compare("theta", torch.tensor([0.25, 0.75], requires_grad=True), [0.25, 0.75])  # detached for them
    assert compare("theta", torch.tensor([1, 2]), torch.tensor([1.0, 2.0]))  # ints are numbers too
    result = compare("the mean", 0.5, 0.5)
    assert result.message == "the mean is right."


def test_compare_says_how_far_off_an_answer_is_and_adds_the_hint():
    result = compare("the mean", 0.6, 0.5, hint="Divide by N.")
    assert not result and result.message == "the mean is off by up to 0.1. Divide by N."
    result = compare("theta", [0.2, 0.9], [0.25, 0.75])
    assert not result and result.message == "theta is off by up to 0.15."


def test_compare_checks_the_shape_first():
    result = compare("theta", torch.zeros(3), torch.zeros(2, 3))
    assert not result and result.message == "theta: expected shape (2, 3), got (3,)"


def test_compare_refuses_nan_and_what_is_not_a_number():
    result = compare("the mean", math.nan, 0.5, hint="Look for a division by zero.")
    assert not result and result.message == "the mean: your answer contains NaN or inf. Look for a division by zero."
    result = compare("the mean", "0.5", 0.5)
    assert not result and result.message == "the mean: expected a number or tensor, got str"
    assert not compare("the mean", {"a": 1}, 0.5)


def test_compare_tolerances_can_be_tightened():
    assert compare("x", 1.0 + 1e-5, 1.0)
    assert not compare("x", 1.0 + 1e-5, 1.0, rtol=1e-7, atol=0.0)


# ---- the student-proof calls ---------------------------------------------------------------------


def test_not_answered_catches_none_and_ellipsis_only():
    assert _not_answered("x", None).message == "x: fill in your answer first (it is still None)."
    assert _not_answered("x", ...).message == "x: fill in your answer first (it is still None)."
    assert _not_answered("x", 0) is None and _not_answered("x", torch.zeros(1)) is None


def test_call_returns_the_value_or_a_verdict_never_an_exception():
    assert _call("f", lambda a, b: a + b, 2, 3) == (5, None)
    out, verdict = _call("f", lambda a: 1 / a, 0)
    assert out is None and not verdict
    assert verdict.message == "f: your function raised ZeroDivisionError: division by zero"
    out, verdict = _call("f", 3)
    assert out is None and verdict.message == "f: expected a function, got int"
    out, verdict = _call("f", None)
    assert verdict.message == "f: expected a function, got NoneType"
    out, verdict = _call("f", lambda: None)
    assert out is None and "fill in your answer first" in verdict.message


def test_unless_missing_runs_the_check_only_for_an_answer():
    calls = []

    def check():
        calls.append(1)
        return passed("ok")

    assert not _unless_missing("x", None, check) and calls == []
    assert _unless_missing("x", 0.0, check) and calls == [1]


def test_allclose_compares_shape_and_values_and_never_raises():
    b = torch.tensor([1.0, 2.0], dtype=torch.float64)
    assert _allclose([1.0, 2.0], b) and _allclose(torch.tensor([1.0, 2.0 + 1e-9]), b)
    assert not _allclose([1.0, 2.1], b)
    assert not _allclose([[1.0, 2.0]], b)  # another shape
    assert not _allclose("12", b) and not _allclose(None, b)
