"""What the rules share: a notebook's code cells, parsing a cell, and the wording of places."""
from __future__ import annotations

import re

from ..untrusted import parse_untrusted

MAGIC = re.compile(r"^(\s*)[%!]")
# Python 2/3 compatibility modules of the course's starter code over the years: no packages.
COMPATIBILITY = ("__future__", "builtins", "future", "past", "six")


def code_cells(nb):
    """[(index in nb.cells, source)] of the code cells."""
    return [(i, "".join(cell.get("source", ""))) for i, cell in enumerate(nb.cells) if cell.get("cell_type") == "code"]


def parse(source):
    """The ast of a cell with IPython magic and shell lines made ``pass``; None if it is not Python 3."""
    lines = [MAGIC.sub(r"\1pass  # ", line) if MAGIC.match(line) else line for line in source.splitlines()]
    return parse_untrusted("\n".join(lines))


def cell_label(nb, index):
    count = nb.cells[index].get("execution_count") if 0 <= index < len(nb.cells) else None
    return "cell %d (In [%s])" % (index, count) if count is not None else "cell %d" % index


def cells(indexes, shown=10):
    """'cell 9', 'cells 9, 13 and 21', 'cells 2, 4, ... 19 and 17 more'."""
    words = ["%d" % i for i in indexes[:shown]]
    if len(indexes) > shown:
        words.append("%d more" % (len(indexes) - shown))
    return ("cell " if len(indexes) == 1 else "cells ") + listing(words)


def listing(words):
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def quote(line, width=80):
    return "`%s`" % shorten(line.strip(), width)


def shorten(text, width=120):
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 3] + "..."


def number(value):
    return "%.3g" % value


def sentence(text):
    return text[:1].upper() + text[1:] + "."
