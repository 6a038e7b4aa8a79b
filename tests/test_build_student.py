"""``make student`` (tools/build_student.py): the notebooks without their solutions.

Every notebook in notebooks/ is checked statically (no solution text survives, every exercise
and its check does, the code is untouched); the student versions of the cheapest real notebook and
of a small one made here are executed in FAST mode, where each unanswered exercise must give the
"fill in your answer first" verdict, never an error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import build_student  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def solution_lines(nb) -> set[str]:
    """The lines that only solutions hold: in a solution block or a tagged cell, and nowhere else."""
    inside, outside = set(), set()
    for cell in nb.cells:
        text = cell.source
        spans = [] if build_student.is_solution_cell(cell) else build_student.solution_spans(text)
        solution = text if build_student.is_solution_cell(cell) else "".join(text[a:b] for a, b in spans)
        inside.update(line.strip() for line in solution.splitlines())
        outside.update(line.strip() for line in build_student.strip_solutions(text).splitlines()
                       if not build_student.is_solution_cell(cell))
    return {line for line in inside - outside
            if len(line) > 12 and not line.startswith(("<details", "</details", "<summary", "```"))}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_no_solution_survives_and_every_check_does(path):
    nb = nbformat.read(path, as_version=4)
    student = build_student.student_notebook(nb)
    text = "\n".join(c.source for c in student.cells)
    assert "<summary>Solution" not in text and "summary>solution" not in text.lower()
    assert not any(build_student.is_solution_cell(c) for c in student.cells)
    hidden = solution_lines(nb)
    assert hidden, "a notebook of the course has solutions to hide"
    student_lines = {line.strip() for line in text.splitlines()}
    assert sorted(hidden & student_lines) == []  # no line that only a solution had
    # the code is the original code, in order: the student version runs exactly as the notebook does
    original_code = [c.source for c in nb.cells if c.cell_type == "code" and not build_student.is_solution_cell(c)]
    assert [c.source for c in student.cells if c.cell_type == "code"] == original_code
    assert len(build_student.check_cells(student)) == len(build_student.check_cells(nb)) >= 1
    assert all(c.outputs == [] and c.execution_count is None for c in student.cells if c.cell_type == "code")
    assert all("slideshow" in c.metadata for c in student.cells)  # the slide metadata is kept
    assert student.cells[0].source == nb.cells[0].source  # title, badge and goal


def test_the_build_writes_every_notebook_of_the_folder(tmp_path):
    written = build_student.build(out_dir=tmp_path, log=lambda *a: None)
    assert [p.name for p in written] == [p.name for p in NOTEBOOKS]
    for path in written:
        nb = nbformat.read(path, as_version=4)  # valid notebooks
        nbformat.validate(nb)
        assert "widgets" not in nb.metadata


def test_solution_blocks_are_found_wherever_they_sit():
    spans = build_student.solution_spans
    strip = build_student.strip_solutions
    assert strip("Exercise.\n<details><summary>Solution</summary>\n\nx = 1\n\n</details>\nAfter.") == "Exercise.\n\nAfter."
    assert strip("<details>\n<summary><b>Solution</b> (one way)</summary>x</details>") == ""
    assert strip("<DETAILS><Summary>solutions</Summary>x</DETAILS>") == ""
    hint = "<details><summary>Hint</summary>use log-sum-exp</details>"
    assert spans(hint) == [] and strip(hint) == hint  # hints stay
    nested = "<details><summary>Solution</summary>a<details><summary>Why</summary>b</details>c</details>d"
    assert strip(nested) == "d"  # a block inside a solution goes with it
    assert strip("text <details><summary>Solution</summary>never closed") == "text "
    assert strip("<details><summary>Hint</summary>h</details><details><summary>Solution</summary>s</details>") == \
        "<details><summary>Hint</summary>h</details>"


def test_tagged_cells_go_and_text_around_a_solution_stays():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# T"),
        nbformat.v4.new_code_cell("answer = None  # your code here\nchecks.thing(answer)",
                                  outputs=[nbformat.v4.new_output("stream", text="✗")], execution_count=3),
        nbformat.v4.new_code_cell("answer = 42", metadata={"tags": ["solution"]}),
        nbformat.v4.new_markdown_cell("Why 42?\n<details><summary>Solution</summary>\n\nBecause.\n</details>\nMore."),
        nbformat.v4.new_markdown_cell("<details><summary>Solution</summary>only this</details>"),
    ])
    student = build_student.student_notebook(nb)
    assert [c.source for c in student.cells] == ["# T", "answer = None  # your code here\nchecks.thing(answer)",
                                                 "Why 42?\n\nMore."]
    assert student.cells[1].outputs == [] and student.cells[1].execution_count is None
    assert nb.cells[1].outputs  # the original is left alone
    assert build_student.check_cells(student) == [1]


def exercise_notebook(answer: str = "None") -> nbformat.NotebookNode:
    """A value exercise and a function exercise, each with its check and a solution."""
    md = nbformat.v4.new_markdown_cell
    code = nbformat.v4.new_code_cell
    return nbformat.v4.new_notebook(cells=[
        md("# Exercises"),
        code("import torch\ntorch.set_num_threads(1)\nfrom gan_course import checks\n"
             "flips = torch.tensor([1.0, 0.0, 1.0, 1.0])"),
        code(f"theta_hat = {answer}  # your code here\nchecks.bernoulli_mle(theta_hat, flips)"),
        md("<details><summary>Solution</summary>\n\n```python\ntheta_hat = flips.mean()\n```\n</details>"),
        code("def log_likelihood(x, mean, std):\n    return None  # your code here\n\n"
             "checks.gaussian_log_likelihood(log_likelihood)"),
        md("<details><summary>Solution</summary>\n\n```python\nreturn torch.distributions.Normal(mean, std)"
           ".log_prob(x).sum()\n```\n</details>"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


@pytest.mark.slow  # executes notebook 00 (~20-30 s) and a small one in FAST mode
def test_student_versions_run_and_say_fill_in_your_answer_first(tmp_path, monkeypatch):
    nbformat.write(exercise_notebook(), tmp_path / "exercises.ipynb")
    monkeypatch.setenv("GAN_COURSE_FAST", "1")
    lines = []
    written = build_student.build(["00", str(tmp_path / "exercises.ipynb")], tmp_path / "student", check=True,
                                  log=lines.append)
    assert [p.name for p in written] == ["00_setup_and_tour.ipynb", "exercises.ipynb"]
    ran = [line for line in lines if line.strip().startswith("ran ")]
    assert len(ran) == 2
    assert '2 unanswered check(s) said "fill in your answer first"' in ran[1]  # a value and a function
    assert "unanswered check(s)" in ran[0] and " 0 unanswered" not in ran[0]


@pytest.mark.slow  # starts a kernel
def test_a_check_that_does_not_say_fill_in_stops_the_check_naming_the_cell(tmp_path, capsys):
    nbformat.write(exercise_notebook(answer="0.25"), tmp_path / "answered.ipynb")  # a wrong answer, given
    status = build_student.main([str(tmp_path / "answered.ipynb"), "--out", str(tmp_path / "student"), "--check"])
    err = capsys.readouterr().err
    assert status == 1
    assert "answered.ipynb" in err and "cell 3" in err and "checks.bernoulli_mle(theta_hat, flips)" in err
    assert "fill in your answer first" in err
