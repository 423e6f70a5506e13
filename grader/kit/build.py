"""``grade --student-kit DIR``: write what a TA hands students, the public checks of an
assignment without its solution: ``DIR/<name>_check/``, a package importing NumPy only, with
its data and a README. A PyTorch assignment's kit (``rnn_pytorch_check``) imports PyTorch
too, and answers the grader's stand-in layers with autograd (``record_torch.py``).
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from .. import assignments
from ..assignments.items import groups
from ..check import compare
from ..check.kinds import kind_of
from ..check.kinds.base import H
from ..errors import UsageError
from ..grade.probe import probe_sources
from ..resources import NOTEBOOK, grader_path
from .record import Recorder, layer_cases, model_cases, sample_case, variants
from .runtime import slicing
from .runtime.data import Packer

RUNTIME = grader_path("kit", "runtime")  # the package's own modules, copied as they are
COMPARE_IMPORT = "from ..grade.kernel_probe import Opaque\n"


def package_name(settings):
    """``rnn_check``, ``lstm_check``, ``rnn_pytorch_check``: the assignment's name."""
    return settings.name.replace("-", "_") + "_check"


def build_kit(out, spec="rnn"):
    """Write the kit of assignment ``spec`` under ``out``; return the package's folder."""
    settings = assignments.load(spec).check_requirements()  # the PyTorch kit is recorded with torch
    items = [i for i in settings.items if i.kind != "manual" and kind_of(i).has_public(i)]
    unsupported = sorted({i.kind for i in items} - {"layer", "autograd_layer", "model_loss", "sample"})
    if unsupported or not items:
        raise UsageError("the student kit cannot check %s items (assignment %s)"
                         % (", ".join(unsupported) or "these", settings.name))
    package = package_name(settings)
    notebook = next((path.name for path in settings.templates.values()), NOTEBOOK)
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="kit-") as scratch:
        folder = Path(scratch) / package
        (folder / "data").mkdir(parents=True)
        for module in sorted(RUNTIME.glob("*.py")):
            if module.name in TORCH_ONLY and not uses_torch(settings):
                continue
            text = module.read_text().replace("rnn_check", package).replace("RNN_Captioning.ipynb", notebook)
            (folder / module.name).write_text(text)
        _copy_grader_modules(folder, settings)
        packer = Packer()
        packer.save(folder / "data" / "public.npz", _document(settings, items, packer, package))
        (folder / "README.md").write_text(README.format(package=package, title=settings.title, notebook=notebook,
                                                        first=items[0].name, needs="NumPy and PyTorch"
                                                        if uses_torch(settings) else "NumPy"))
        out.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(out / package, ignore_errors=True)
        shutil.copytree(folder, out / package)
    return out / package


def _copy_grader_modules(folder, settings):
    """The grader's comparisons and its probe (with the assignment's extensions), as they are."""
    source = Path(compare.__file__).read_text()
    if COMPARE_IMPORT not in source:
        raise RuntimeError("check/compare.py no longer imports Opaque as the kit expects")
    (folder / "_compare.py").write_text(COPIED % "check/compare.py" + source.replace(COMPARE_IMPORT,
                                                                                      "from ._probe import Opaque\n"))
    (folder / "_probe.py").write_text(COPIED % "grade/kernel_probe.py" + "\n".join(
        probe_sources(settings.probe_extensions)))


def uses_torch(settings):
    """Whether the assignment's functions work on PyTorch tensors (its probe has the torch operations)."""
    return "kernel_probe_torch" in settings.probe_extensions


def _document(settings, items, packer, package):
    """The kit's JSON: items with their public cases, and the recorded stand-in calls."""
    torch = uses_torch(settings)
    if torch:
        from .record_torch import TorchRecorder, autograd_cases
        recorder = TorchRecorder([f for i in settings.items if i.kind == "autograd_layer" for f in i.functions],
                                 packer)
    else:
        layers = [i for i in settings.items if i.kind == "layer"]
        recorder = Recorder([f for i in layers for f in i.functions], [i.backward for i in layers if i.backward],
                            [i.forward for i in layers if i.returns_cache], packer)
    entries = []
    for item in items:
        entry = {"name": item.name, "kind": item.kind, "forward": item.forward, "backward": item.backward,
                 "outputs": list(item.outputs), "wrt": list(item.wrt), "returns_cache": item.returns_cache,
                 "deps": list(item.deps), "functions": list(item.functions)}
        if item.kind == "layer":
            labels = list(item.outputs) + ([] if item.backward else ["dx"])
            entry["thresholds"] = {label: settings.threshold(item.name, label) for label in labels}
            cases = layer_cases(item, settings.items, recorder, packer)
        elif item.kind == "autograd_layer":
            entry["thresholds"] = {label: settings.threshold(item.name, label) for label in item.outputs}
            entry["tolerance"] = settings.tolerance("float64")
            entry["gradients"] = list(item.conf.get("gradients", ["d%d" % i for i in item.wrt]))
            cases = autograd_cases(item, settings.items, recorder, packer)
        elif item.kind == "model_loss":
            entry["thresholds"] = {label: settings.threshold(item.name, label) for label in ("loss", "grads")}
            cases = model_cases(item, settings.items, recorder, packer, settings.cell_type)
        else:
            cases = sample_case(item, settings.items, recorder, packer, settings.cell_type)
        entry["cases"] = [data for _, data in cases]
        entry.update(variants(settings, item, [case for case, _ in cases], packer))
        entries.append(entry)
    document = {"assignment": settings.name, "title": settings.title, "package": package, "h": H,
            "cell_type": settings.cell_type, "targets": slicing.targets(settings.graded_functions),
            "ops": {op: settings.op(op) for op in ("model_loss", "model_sample")},
            "groups": [list(g) for g in groups(settings.items)], "items": entries,
            "parameters": recorder.parameters, "backwards": sorted(recorder.backwards), "calls": recorder.table()}
    if torch:
        document["replay"] = "torch"  # the stand-ins are autograd Functions (runtime/torch_replay.py)
    return document


TORCH_ONLY = ("torch_replay.py",)  # runtime modules only a PyTorch kit holds
COPIED = "# Copied from the grader's grader/%s by `grade --student-kit`.\n"

README = """\
# {package}: the public checks of {title}

The checks your notebook shows, run on your own code, with the grader's messages and hints.
This folder holds no solution: only the notebook's inputs and the values they should give.
It needs {needs} only. Put this `{package}` folder next to `{notebook}`.

In the notebook, after defining your functions (no restart needed):

    from {package} import check
    check("{first}")   # one item (and, quietly, those before it)
    check()                     # every item

On the command line (runs only the cells that define your functions, no training):

    python -m {package} {notebook}

Exit status 0 when every check passes, 1 when one fails, 2 when the notebook cannot be read.
The sampling check uses a model of its own (the kit's seed); the grader's hidden checks
use other inputs, so passing here is necessary, not sufficient.
"""
