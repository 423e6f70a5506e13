"""Re-run differences the grading machine causes, which never count against the student: no
network, a missing module or file, and our small COCO set instead of the student's data.
(Cells the grader neutralised are left out by the rules themselves.)"""
from __future__ import annotations

import ast
import re

from .common import code_cells, parse

NETWORK_ERRORS = ("URLError", "HTTPError", "ConnectionError", "ConnectionRefusedError", "ConnectionResetError",
                  "gaierror", "RemoteDisconnected", "NewConnectionError", "MaxRetryError", "SSLError")
ENVIRONMENT_ERRORS = ("ImportError", "ModuleNotFoundError", "FileNotFoundError") + NETWORK_ERRORS
# What a failed download leaves in a cell's output or traceback, whatever caught it first
# (CS231n's image_from_url prints "URL Error: ..." and returns None; plt.imshow(None) raises).
NETWORK_TEXT = re.compile(r"(?i)\burlopen error|\bURL Error\b|\bURLError\b|\bHTTP Error\b|\bgaierror\b|\bConnectionError\b"
                          r"|Temporary failure in name resolution|Name or service not known|nodename nor servname"
                          r"|Network is unreachable|No route to host|Could not read image from")
DATA_SOURCES = frozenset({"load_coco_data", "sample_coco_minibatch"})


def failed_by_machine(outcome):
    """Did this re-run fail for want of the network, a module or a file?"""
    if outcome.ename in ENVIRONMENT_ERRORS:
        return True
    printed = [output.get("text", "") for output in outcome.outputs if output.get("output_type") == "stream"]
    texts = [outcome.evalue, outcome.traceback] + ["".join(t) if isinstance(t, list) else str(t) for t in printed]
    return any(NETWORK_TEXT.search(text) for text in texts)


def data_cells(nb):
    """Indexes of the code cells whose values come from the data set: they call a loader, or
    use a name bound from the data earlier in the notebook or the cell (a name bound again
    from other values no longer counts)."""
    tainted, found = set(), set()
    for index, source in code_cells(nb):
        tree = parse(source)
        if tree is None:
            if any(re.search(r"\b%s\b" % re.escape(name), source) for name in DATA_SOURCES | tainted):
                found.add(index)
            continue
        for statement in tree.body:
            nodes = list(ast.walk(statement))
            loaders = {n.attr for n in nodes if isinstance(n, ast.Attribute)} & DATA_SOURCES  # coco_utils.load...
            bound = _names(nodes, ast.Store)
            if loaders or _reads(nodes) & (DATA_SOURCES | tainted):
                found.add(index)
                tainted |= bound
            else:
                tainted -= bound
    return found


def _names(nodes, context):
    return {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, context)}


def _reads(nodes):
    """Names a statement reads from before it: loop and comprehension targets and
    parameters are its own."""
    own = set()
    for node in nodes:
        if isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            own |= _names(ast.walk(node.target), ast.Store)
        elif isinstance(node, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef)):
            arguments = node.args
            own |= {a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs}
            own |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a}
    return _names(nodes, ast.Load) - own
