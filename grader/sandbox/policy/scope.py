"""What the rules judge: what the student wrote. That is the TODO regions and the bodies of
the graded functions, in the notebook's code cells and in the graded files; given files
(whatever year of the course they come from) are never looked at."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from .common import code_cells, parse

START = re.compile(r"^\s*#.*\bSTART (OF )?(YOUR )?CODE\b")
END = re.compile(r"^\s*#.*\bEND (OF )?(YOUR )?CODE\b")
TODO = re.compile(r"^\s*#.*\bTODO\b")
RULER = re.compile(r"^\s*#{3,}\s*$")
DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+(\w+)\s*\(")
# A check cell compares a graded function's result with an expected value.
COMPARES = re.compile(r"\brel_error\s*\(|\bexpected\w*")


@dataclass(frozen=True)
class Scope:
    """The graded files (paths in the submission), the graded functions ('f' or
    'Class.method') and the template's TODO style: 'start' (START/END OF YOUR CODE marker
    lines) if it has any START marker, else 'banner' (a # TODO banner, then code up to END
    OF YOUR CODE)."""

    graded_files: tuple
    graded: tuple
    mode: str

    @classmethod
    def of(cls, template, template_files, graded_files, graded):
        texts = [s for _, s in code_cells(template)] + list(template_files.values())
        mode = "start" if any(START.match(line) for text in texts for line in text.splitlines()) else "banner"
        return cls(tuple(graded_files), tuple(graded), mode)

    def places(self, nb, files):
        """[(label, source)]: the notebook's code cells, then the graded files handed in."""
        return ([("cell %d" % i, s) for i, s in code_cells(nb)]
                + [(path, files[path]) for path in self.graded_files if path in files])

    def regions(self, lines):
        """[(first, last)] 0-based inclusive line ranges inside TODO regions. A region whose
        end marker is missing (another START comes first, or none follows) is not a region."""
        opener = START if self.mode == "start" else TODO
        regions, i = [], 0
        while i < len(lines):
            if not opener.match(lines[i]):
                i += 1
                continue
            first = i + 1
            if self.mode == "banner":  # the region starts after the banner's closing ##### line
                while first < len(lines) and lines[first].lstrip().startswith("#") and not END.match(lines[first]):
                    first += 1
                    if RULER.match(lines[first - 1]):
                        break
            end = next((k for k in range(first, len(lines))
                        if END.match(lines[k]) or (self.mode == "start" and START.match(lines[k]))), None)
            if end is None:
                break
            if END.match(lines[end]):
                regions.append((first, end - 1))
                end += 1
            i = end
        return regions

    def own_lines(self, source):
        """1-based numbers of the lines the student wrote: TODO regions and graded bodies."""
        spans = [(a + 1, b + 1) for a, b in self.regions(source.splitlines())] + self.graded_bodies(source)
        return {k for first, last in spans for k in range(first, last + 1)}

    def graded_bodies(self, source):
        """[(first, last)] 1-based lines of the bodies of the graded functions source defines."""
        tree = parse(source)
        if tree is None:
            return self._graded_bodies_by_indent(source)
        spans = []
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in self.graded:
                spans.append((node.lineno + 1, node.end_lineno))
            elif isinstance(node, ast.ClassDef):
                spans += [(m.lineno + 1, m.end_lineno) for m in node.body
                          if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))
                          and "%s.%s" % (node.name, m.name) in self.graded]
        return spans

    def _graded_bodies_by_indent(self, source):
        """For code that does not parse: a graded def runs until a line indented no deeper."""
        functions = {n for n in self.graded if "." not in n}
        methods = {n.split(".")[1] for n in self.graded if "." in n}
        lines, spans = source.splitlines(), []
        for k, line in enumerate(lines):
            found = DEF.match(line)
            if not found or found.group(2) not in (methods if found.group(1) else functions):
                continue
            depth = len(found.group(1))
            last = k
            for j in range(k + 1, len(lines)):
                text = lines[j]
                if text.strip() and not text.lstrip().startswith("#") and len(text) - len(text.lstrip()) <= depth:
                    break
                last = j
            spans.append((k + 2, last + 1))
        return spans

    def holds_graded_code(self, source):
        """A TODO region, or a graded function defined."""
        return bool(self.regions(source.splitlines()) or self.graded_bodies(source))

    def is_check(self, source):
        """A cell that calls a graded function and compares with an expected value."""
        if not COMPARES.search(source):
            return False
        functions = {n for n in self.graded if "." not in n}
        methods = {n.split(".")[1] for n in self.graded if "." in n}
        tree = parse(source)
        if tree is None:
            return (any(re.search(r"(?<![\w.])%s\s*\(" % re.escape(name), source) for name in functions)
                    or any(re.search(r"\.%s\s*\(" % re.escape(name), source) for name in methods))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                if (isinstance(func, ast.Name) and func.id in functions
                        or isinstance(func, ast.Attribute) and func.attr in methods):
                    return True
        return False
