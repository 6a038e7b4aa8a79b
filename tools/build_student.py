"""Write the student versions of the notebooks, without their solutions: ``make student``.

    python tools/build_student.py               # every notebook in notebooks/ -> build/student/
    python tools/build_student.py 03 05         # only these (a prefix, a stem or a path)
    python tools/build_student.py --check       # and run each one in FAST mode to prove it works

A student version is the notebook with

- every solution block removed: the ``<details><summary>Solution</summary> ... </details>`` part
  of a markdown cell (the whole cell when nothing else is left in it), and any cell tagged
  ``solution``;
- the outputs, execution counts and stored widget state cleared;
- everything else kept as it is: the exercise cells, their ``checks.*`` calls, hints, slide
  metadata.

``--check`` executes every student version top to bottom (FAST mode unless
``GAN_COURSE_FAST=0``) and requires each exercise check left unanswered to give the "fill in your
answer first" verdict, not an error; a notebook that fails stops with its name and the cell.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import course_build as cb  # noqa: E402

OUT_DIR = cb.BUILD_DIR / "student"
SOLUTION_TAG = "solution"
NOT_ANSWERED = "fill in your answer first"  # the verdict of gan_course.checks for an answer still None
_TAG = re.compile(r"<(/?)details\b[^>]*>", re.IGNORECASE)
_SOLUTION_SUMMARY = re.compile(r"\s*<summary\b[^>]*>(?:(?!</summary>).)*\bsolutions?\b", re.IGNORECASE | re.DOTALL)


def solution_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each outermost ``<details>`` block of ``text`` whose summary says "Solution".

    Nested ``<details>`` inside a solution are part of it; an unclosed one runs to the end.

    >>> text = "Try it.<details><summary>Solution</summary>x = 1</details> Done."
    >>> [text[a:b] for a, b in solution_spans(text)]
    ['<details><summary>Solution</summary>x = 1</details>']
    >>> solution_spans("<details><summary>Hint</summary>look at N_k</details>")
    []
    """
    spans, depth, start = [], 0, 0
    for match in _TAG.finditer(text):
        if not match.group(1):  # an opening tag
            if depth == 0:
                start = match.start()
            depth += 1
        elif depth > 0:
            depth -= 1
            if depth == 0 and _SOLUTION_SUMMARY.match(text, text.index(">", start) + 1):
                spans.append((start, match.end()))
    if depth > 0 and _SOLUTION_SUMMARY.match(text, text.index(">", start) + 1):
        spans.append((start, len(text)))
    return spans


def strip_solutions(text: str) -> str:
    """``text`` without its solution blocks (see :func:`solution_spans`)."""
    for start, end in reversed(solution_spans(text)):
        text = text[:start] + text[end:]
    return text


def is_solution_cell(cell) -> bool:
    """True for a cell tagged ``solution``."""
    return SOLUTION_TAG in cell.metadata.get("tags", [])


def student_notebook(nb):
    """A copy of ``nb`` without solutions, outputs or widget state (see the module's docstring)."""
    nb = cb.copy_notebook(nb)
    cells = []
    for cell in nb.cells:
        if is_solution_cell(cell):
            continue
        if cell.cell_type == "markdown" and solution_spans(cell.source):
            cell.source = strip_solutions(cell.source).strip()
            if not cell.source:
                continue
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("widgets", None)
    return nb


def check_cells(nb) -> list[int]:
    """Indices of the code cells whose last statement is a ``checks.<name>(...)`` call (shown)."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        try:
            body = ast.parse(cell.source).body
        except SyntaxError:  # IPython syntax (!pip, %magic): not an exercise cell
            continue
        last = body[-1] if body else None
        if (isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
                and isinstance(last.value.func, ast.Attribute) and isinstance(last.value.func.value, ast.Name)
                and last.value.func.value.id == "checks"):
            found.append(index)
    return found


def output_text(cell) -> str:
    """All the text a code cell's outputs show (streams, plain text and HTML)."""
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        data = out.get("data", {})
        parts.extend(str(data.get(mime, "")) for mime in ("text/plain", "text/html"))
    return "\n".join(parts)


def verify(path: Path, fast: bool, timeout: int = 900) -> int:
    """Execute student notebook ``path`` and check every unanswered exercise's verdict.

    Returns:
        The number of exercise checks that gave the "fill in your answer first" verdict.

    Raises:
        course_build.NotebookError: a cell raised, or a check gave another verdict.
    """
    nb = cb.execute_notebook(path, fast=fast, timeout=timeout)
    indices = check_cells(nb)
    for index in indices:
        if NOT_ANSWERED not in output_text(nb.cells[index]):
            first = nb.cells[index].source.strip().splitlines()[-1]
            raise cb.NotebookError(
                f"{cb.display_path(path)}: the exercise check in cell {index + 1} ({first}) did not say "
                f"\"{NOT_ANSWERED}\" for an unanswered exercise; it showed:\n{output_text(nb.cells[index])[:500]}")
    return len(indices)


def build(selection=(), out_dir: Path = OUT_DIR, check: bool = False, timeout: int = 900,
          log=print) -> list[Path]:
    """Write the student versions of the ``selection`` (default: every notebook) into ``out_dir``.

    Returns:
        The paths written.

    Raises:
        course_build.NotebookError: with ``check``, a student version failed to run or to give the
            unanswered verdict (names the notebook and the cell).
        ValueError: a name matches no notebook.
    """
    notebooks = cb.find_notebooks(selection)
    out_dir = Path(out_dir)
    written = []
    for path in notebooks:
        nb = cb.nbformat.read(path, as_version=4)
        student = student_notebook(nb)
        target = out_dir / path.name
        cb.write_notebook(student, target)
        removed = len(nb.cells) - len(student.cells)
        log(f"  wrote {cb.display_path(target)} ({removed} solution cell(s) removed)")
        written.append(target)
    if check:
        fast = cb.fast_flag()
        for target in written:
            start = time.perf_counter()
            count = verify(target, fast, timeout)
            log(f"  ran {cb.display_path(target)} ({'FAST' if fast else 'full'} mode) in "
                f"{time.perf_counter() - start:.0f} s: {count} unanswered check(s) said \"{NOT_ANSWERED}\"")
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: ``build_student.py [NOTEBOOK ...] [--out DIR] [--check] [--timeout S]``."""
    parser = argparse.ArgumentParser(prog="build_student.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="notebooks to convert (default: every one in notebooks/)")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder (default: build/student)")
    parser.add_argument("--check", action="store_true",
                        help="run each student version (FAST mode unless GAN_COURSE_FAST=0) and check its verdicts")
    parser.add_argument("--timeout", type=int, default=900, help="seconds one cell may run with --check")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        written = build(args.notebooks, args.out, check=args.check, timeout=args.timeout)
    except (cb.NotebookError, ValueError) as error:
        return cb.report_error("build_student", error)
    print(f"{len(written)} student notebook(s) in {cb.display_path(args.out)} ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
