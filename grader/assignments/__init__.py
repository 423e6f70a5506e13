"""Assignment settings: points, thresholds, timeouts and which items count.

Read from the built-in TOML (``grader/assignments/NAME.toml``) or a TA's file,
which may ``extends`` a built-in one and override any key.
"""
from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from ..check import mistakes
from ..errors import UsageError
from ..resources import grader_path, template_file
from . import items as item_tables
from . import detect
from .detect import name_pattern
from ..sandbox.policy import ACTIONS, RULES
from ..sandbox.isolation import limits_from

BUILTIN = grader_path("assignments")


def calibration_path(name):
    """Where the calibration of the built-in assignment ``name`` is recorded."""
    return BUILTIN / ("%s.calibration.json" % name)


def curve_path(name):
    """Where the reference's overfitting loss curve of the built-in assignment ``name`` is recorded."""
    return BUILTIN / ("%s.overfit_curve.json" % name)


WHOLE = ("templates", "detect", "solver", "model")  # tables an extending TOML replaces, not merges


def _merge(base, override):
    out = dict(base)
    for key, value in override.items():
        merge = isinstance(value, dict) and isinstance(out.get(key), dict) and key not in WHOLE
        out[key] = _merge(out[key], value) if merge else value
    return out


def _read_toml(path):
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError("%s is not valid TOML: %s" % (path, exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError("cannot read %s: %s" % (path, exc)) from None


DEFAULTS = "defaults"  # defaults.toml: what every built-in assignment starts from


def builtin_names():
    return sorted(p.stem for p in BUILTIN.glob("*.toml") if p.stem != DEFAULTS)


@dataclass
class Settings:
    name: str
    title: str
    raw: dict
    calibration: dict
    reason: str = "given with --assignment"  # why this assignment grades the submission

    @property
    def notebook_pattern(self):
        """Names of this assignment's notebook (its templates' names, give or take _ - and case)."""
        return name_pattern(list(dict.fromkeys(path.stem for path in self.templates.values())))

    @property
    def items(self):
        """The items that count, in grading order."""
        return [item for item in item_tables.build(self.raw["items"]) if item.conf.get("enabled", True)]

    @property
    def cell_type(self):
        """The CaptioningRNN the model items build: ``rnn`` or ``lstm``."""
        return self.raw.get("cell_type", "rnn")

    def points(self, name):
        return float(self.raw["items"][name].get("points", 0))

    def threshold(self, name, key=None):
        """An item's threshold: a number, or a table by output (``"*"`` for the others)."""
        value = self.raw["items"][name].get("threshold")
        if isinstance(value, dict):
            value = value.get(key, value.get("*"))
        return float(value)

    @property
    def cell_timeout(self):
        return float(self.raw["timeouts"]["cell"])

    @property
    def probe_timeout(self):
        return float(self.raw["timeouts"]["probe"])

    @property
    def overfit_timeout(self):
        return float(self.raw["timeouts"]["overfit"])

    def tolerance(self, dtype):
        """Norm-error tolerance of hidden comparisons with the reference."""
        if dtype == "float64":
            return float(self.raw["tolerances"]["float64"])
        return float(self.raw["tolerances"].get("float32", self.calibration["float32"].get("threshold", 1e-3)))

    def calibrated(self, item, label, reference_error=0.0):
        """Threshold of a hidden numeric-gradient check: the calibrated one, or the calibration's
        margin times the reference's own error on the same input, whichever is larger."""
        threshold = float(self.calibration["numeric"].get(item, {}).get(label, {}).get("threshold", 0.0))
        return max(threshold, float(self.calibration.get("margin", 10.0)) * reference_error)

    def reference_curve(self, item):
        """The reference's recorded run of the overfit ``item`` (``reference_curve.py``): the one of the
        assignment its ``reference_curve`` names, else this one's when recorded with the item's settings;
        None otherwise."""
        named = item.conf.get("reference_curve")
        path = curve_path(named or self.name)
        if not path.is_file():
            return None
        curve = json.loads(path.read_text())
        same = {"model": item.conf.get("model", {}), "solver": item.conf.get("solver", {})}
        return curve if named or {k: curve[k] for k in same} == same else None

    @property
    def policy(self):
        """{rule: "off" | "warn" | "zero" | points}: the [policy] table; rules it leaves out are "off"."""
        conf = self.raw.get("policy", {})
        return {rule: conf.get(rule, "off") if isinstance(conf.get(rule, "off"), str) else float(conf[rule])
                for rule in RULES}

    def check_requirements(self):
        """UsageError, in one line, when a package the assignment's kernels need is missing."""
        missing = [name for name in self.raw.get("requires", []) if importlib.util.find_spec(name) is None]
        if missing:
            raise UsageError("the %s assignment needs %s in the grader's Python: pip install "
                             "'cs231n-rnn-grader[%s]' (a CPU build: pip install torch --index-url "
                             "https://download.pytorch.org/whl/cpu)" % (self.name, ", ".join(missing), missing[0]))
        return self

    @property
    def probe_extensions(self):
        """Modules added to the kernel probe for this assignment (``kernel_probe_torch``)."""
        return tuple(self.raw.get("probe", {}).get("extensions", ()))

    def op(self, name):
        """The probe operation that does ``name``'s job here (``torch_sample`` for ``model_sample``)."""
        return self.raw.get("probe", {}).get("ops", {}).get(name, name)

    @property
    def reference_layers(self):
        """The reference module whose functions stand in for a student's failed ones."""
        return self.raw.get("probe", {}).get("reference", "rnn_layers")

    def local_backend(self, namespace):
        """The in-process probe on ``namespace`` (the reference, tests, calibration)."""
        from ..grade.probe import LocalBackend
        return LocalBackend(namespace, self.probe_extensions, self.reference_layers)

    @property
    def graded_files(self):
        """Files of the module form that hold graded code (the rest is given)."""
        return tuple(self.raw.get("graded_files", ()))

    @property
    def given(self):
        """(the template's ``cs231n/`` package, its given modules in import order): what the
        grader supplies where a module-form submission's are missing or broken."""
        module = self.templates.get("module")
        return (module.parent / "cs231n" if module else None), tuple(self.raw.get("given", ()))

    @property
    def graded_functions(self):
        """Every student function the items call, as "name" or "Class.method"."""
        names = []
        for item in self.items:
            names += [*item.functions, *([item.name] if item.kind in ("model_loss", "sample") else [])]
        return tuple(dict.fromkeys(names))

    def form_of(self, files):
        """``module`` when the submission holds a graded file, else ``notebook``."""
        return "module" if set(self.graded_files) & set(files) and "module" in self.templates else "notebook"

    @property
    def templates(self):
        """{form: the template notebook students receive}."""
        return {form: template_file(path) for form, path in self.raw.get("templates", {}).items()}

    def template(self, form):
        """The notebook the course rules compare with: the TA's ``policy.template`` or the form's own."""
        return self.policy_template or self.templates.get(form) or next(iter(self.templates.values()))

    @property
    def policy_template(self):
        """The template notebook policy rules compare with, or None for the built-in one."""
        path = self.raw.get("policy", {}).get("template")
        return Path(path) if path else None

    @property
    def convert_python2(self):
        return bool(self.raw.get("python2", {}).get("convert", True))

    def with_timeouts(self, cell=None):
        if cell is not None:
            self.raw["timeouts"]["cell"] = cell
        return self


def load(spec="rnn", reason="given with --assignment"):
    """Settings from a built-in name or a TOML path; UsageError on anything wrong."""
    if spec.endswith(".toml") or Path(spec).exists():
        raw = _read_toml(spec)
        base = raw.pop("extends", None)
        raw = _merge(_builtin(base) if base is not None else _read_toml(BUILTIN / ("%s.toml" % DEFAULTS)), raw)
    else:
        raw = _builtin(spec)
    _validate(raw, spec)
    path = calibration_path(raw.get("calibration", raw.get("name", "")))
    calibration = json.loads(path.read_text()) if path.is_file() else {"numeric": {}, "float32": {}}
    return Settings(raw.get("name", Path(spec).stem), raw.get("title", spec), raw, calibration, reason)


def detect_for(path):
    """(built-in assignment, why) that the submission at ``path`` shows it is."""
    return detect.choose(path, {name: _builtin(name) for name in builtin_names()})


def detect_class(paths):
    """(built-in assignment, why) for a class: the one its submissions show; UsageError when
    they show several (submissions that show none are graded with the class's)."""
    found = {}
    for path in paths:
        try:
            name, _ = detect_for(path)
        except UsageError:
            continue
        found[name] = found.get(name, 0) + 1
    if len(found) != 1:
        raise UsageError("cannot tell which assignment this class is (%s); give --assignment" % (
            ", ".join("%d look like %s" % (n, name) for name, n in sorted(found.items())) or "none is recognised"))
    name, count = found.popitem()
    return name, "%d of %d submissions look like it" % (count, len(paths))


def listing():
    """Lines for ``grade --list-assignments``."""
    lines = []
    for name in builtin_names():
        settings = load(name)
        counted = [i for i in settings.items if i.kind != "manual"]
        lines.append("%-8s %s: %d items, %g points%s" % (
            name, settings.title, len(counted), sum(settings.points(i.name) for i in settings.items),
            " (%s)" % ", ".join(sorted(settings.templates)) if settings.templates else ""))
    return lines


def _builtin(name):
    path = BUILTIN / ("%s.toml" % name)
    if name == DEFAULTS or not path.exists():
        raise UsageError("unknown assignment %r (known: %s; or give a .toml file)" % (name, ", ".join(builtin_names())))
    raw = _read_toml(path)
    base = raw.pop("extends", None)  # a built-in may build on another
    return _merge(_builtin(base) if base else _read_toml(BUILTIN / ("%s.toml" % DEFAULTS)), raw)


def _validate(raw, spec):
    items = raw.get("items")
    if not isinstance(items, dict) or not items:
        raise UsageError("%s defines no [items]" % spec)
    for name, conf in items.items():
        if not isinstance(conf, dict) or not isinstance(conf.get("points", 0), (int, float)):
            raise UsageError("%s: items.%s.points must be a number" % (spec, name))
    try:
        item_tables.build(items)
    except (ValueError, TypeError) as exc:
        raise UsageError("%s: %s" % (spec, exc)) from None
    timeouts = raw.get("timeouts", {})
    for key in ("cell", "probe", "overfit"):
        if not isinstance(timeouts.get(key), (int, float)) or timeouts[key] <= 0:
            raise UsageError("%s: timeouts.%s must be a positive number of seconds" % (spec, key))
    if not isinstance(raw.get("tolerances", {}).get("float64"), (int, float)):
        raise UsageError("%s: tolerances.float64 must be a number" % spec)
    _validate_policy(raw, spec)
    unknown = [name for name in raw.get("mistakes", ()) if name not in mistakes.catalogue()]
    if unknown:
        raise UsageError("%s: unknown mistake catalogue %s (known: %s)" % (
            spec, ", ".join(map(repr, unknown)), ", ".join(sorted(mistakes.catalogue()))))
    try:
        limits_from(raw.get("sandbox", {}))
    except ValueError as exc:
        raise UsageError("%s: %s" % (spec, exc)) from None


def _validate_policy(raw, spec):
    """Check the [policy] table; a relative ``template`` is resolved here, against the TOML's folder."""
    policy = raw.get("policy", {})
    if not isinstance(policy, dict):
        raise UsageError("%s: [policy] must be a table of rule = action" % spec)
    for rule, action in policy.items():
        if rule == "template":
            continue
        if rule not in RULES:
            raise UsageError("%s: unknown policy rule %r (known: %s)" % (spec, rule, ", ".join(RULES)))
        number = isinstance(action, (int, float)) and not isinstance(action, bool)
        if not (action in ACTIONS or (number and action >= 0)):
            raise UsageError("%s: policy.%s must be \"off\", \"warn\", \"zero\" or a number of points >= 0, not %r"
                             % (spec, rule, action))
    if "template" in policy:
        if not isinstance(policy["template"], str) or not policy["template"]:
            raise UsageError("%s: policy.template must be the path of a template notebook" % spec)
        folder = Path(spec).resolve().parent if spec.endswith(".toml") or Path(spec).exists() else BUILTIN
        path = (folder / policy["template"]).resolve()
        if not path.is_file():
            raise UsageError("%s: policy.template %s does not exist" % (spec, path))
        policy["template"] = str(path)
