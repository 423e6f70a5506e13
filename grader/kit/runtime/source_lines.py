"""The lines of a student's function a hint may quote: shared by the grader's hints and the
student kit's (standard library only, so the kit can carry it)."""
from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize

QUOTED = 160  # characters of the student's line a hint quotes


def code_lines(source):
    """{line number: code} of ``source`` without comments, docstrings or blank lines; {} if it
    does not parse."""
    source = textwrap.dedent(source)
    try:
        tree = ast.parse(source)
        comments = [t.start for t in tokenize.generate_tokens(io.StringIO(source).readline)
                    if t.type == tokenize.COMMENT]
    except (SyntaxError, tokenize.TokenError):
        return {}
    lines = source.splitlines()
    for row, column in comments:
        lines[row - 1] = lines[row - 1][:column]
    docstrings = {n for node in ast.walk(tree) if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                  and isinstance(node.value.value, str) for n in range(node.lineno, node.end_lineno + 1)}
    return {n: text for n, text in enumerate(lines, 1) if n not in docstrings and text.strip()}


def quoted(source, pattern, function):
    """' (line N of your FUNCTION: `...`)' for the first code line of ``source`` that ``pattern``
    finds; '' when none does."""
    for number, text in code_lines(source or "").items():
        if re.search(pattern, text):
            return " (line %d of your %s: `%s`)" % (number, function, text.strip()[:QUOTED])
    return ""
