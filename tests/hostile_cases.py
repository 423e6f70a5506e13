"""Catalogue of hostile submissions for tests/test_hostile.py: notebooks that hang, kill or
flood their kernel, fork, escape, leak, sabotage the probe or hunt for the reference.

Each case is data: the functions it replaces and the cells it adds to the solved template,
what grading must give (the exact set of failing items, statuses, messages, flags) and under
which isolation levels it runs. Sources may hold placeholders the test fills in:

    @TA_HOME@      a fake TA HOME holding secrets (the grader's HOME while grading)
    @OUT_DIR@      the report folder, passed to grade() as hidden
    @GRADER_DIR@   the grader package; @REFERENCE_DIR@, @REFERENCE_FILE@ the reference
    @PORT@         a TCP port the test listens on (127.0.0.1)
    @TOKEN@        a number unique to the test, in the command line of processes it starts
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

from bugs import BY_NAME
from notebooks import GRADED, reference_sources

ALL_ITEMS = frozenset(GRADED)
BOTH = ("default", "rlimits")
DEFAULT = ("default",)
BUBBLEWRAP = ("bubblewrap",)  # only there may student code start programs


@dataclass(frozen=True)
class Case:
    name: str
    why: str
    replace: dict = field(default_factory=dict)
    extra_cells: tuple = ()  # (position, source); each source starts with "# hostile" (found again by that tag)
    bug: str | None = None  # a bugs.BY_NAME entry whose item must still fail
    fails: frozenset = frozenset()  # exactly these items fail...
    may_fail: frozenset = frozenset()  # ...and maybe these too (the notebook sabotaged the probe itself)
    status: dict = field(default_factory=dict)  # item -> status
    message: dict = field(default_factory=dict)  # item -> text its message must contain
    flagged: frozenset = frozenset()  # items whose grader-access flags must be set
    output: dict = field(default_factory=dict)  # item -> text the probe captured from student code
    cell: frozenset = frozenset()  # acceptable statuses of the tagged cells
    restarts: int = 0  # at least this many kernel restarts...
    max_restarts: int | None = None  # ...and at most this many (an interruptible hang needs none)
    timeouts: dict = field(default_factory=dict)  # {"cell": s, "probe": s} instead of tests/hostile.toml's
    isolation: tuple = DEFAULT
    subprocess: bool = False  # grade in a child process started with the secret in its environment
    dangerous: bool = False  # aims at the grader's own folders: back them up first
    expect: str | None = None  # name of an extra check in test_hostile.EXTRA_CHECKS

    def sources(self, fill):
        """(replace, extra_cells) with the bug merged in and placeholders filled by ``fill``."""
        replace, cells = {}, []
        if self.bug:
            replace.update(BY_NAME[self.bug].replace)
            cells += list(BY_NAME[self.bug].extra_cells)
        replace.update({k: fill(v) for k, v in self.replace.items()})
        cells += [(position, fill(source)) for position, source in self.extra_cells]
        return replace, cells

    @property
    def failing(self):
        return self.fails | ({BY_NAME[self.bug].item} if self.bug else frozenset())


def _cell(tag, source):
    return "# hostile: %s\n%s" % (tag, textwrap.dedent(source).strip("\n"))


def _end(tag, source):
    return (("end", _cell(tag, source)),)


def _reference(name, inject):
    """The reference's ``name`` with ``inject`` as the first lines of its body."""
    source = reference_sources([name])[name]
    head, _, body = source.partition(":\n")
    return "%s:\n%s%s" % (head, textwrap.indent(textwrap.dedent(inject).strip("\n") + "\n", "    "), body)


# ------------------------------------------------------------------ hangs and exits
LOOP_SAMPLE = '''
def sample(self, features, max_length=30):
    while True:
        pass
'''
STUBBORN_SAMPLE = '''
def sample(self, features, max_length=30):
    """Swallows the grader's interrupt: only a kernel restart stops it."""
    while True:
        try:
            while True:
                pass
        except KeyboardInterrupt:
            pass
'''
LOOP_ON_ONE_SEQUENCE = _reference("rnn_forward", """
while x.shape[0] == 1:  # correct on the notebook's inputs, never returns for N = 1
    pass
""")
EXIT_AFFINE_BACKWARD = '''
def temporal_affine_backward(dout, cache):
    import os
    os._exit(1)
'''
SYS_EXIT_EMBEDDING = '''
def word_embedding_forward(x, W):
    import sys
    sys.exit("word_embedding_forward gives up")
'''
SEGFAULT_SAMPLE = '''
def sample(self, features, max_length=30):
    import ctypes
    ctypes.string_at(0)
'''
ALLOCATING_SOFTMAX = _reference("temporal_softmax_loss", """
scratch = np.ones(10**10)  # 80 GB, and np.ones touches it
""")
RECURSIVE_SAMPLE = '''
def sample(self, features, max_length=30):
    return self.sample(features, max_length)
'''

# ------------------------------------------------------------------ processes
FORK_LOOP = '''
import os, time
children = 0
for _ in range(3000):  # bounded: the machine survives this even without limits
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        try:
            time.sleep(30)
        finally:
            os._exit(0)
    children += 1
print("forked", children)
time.sleep(1.5)  # the grader's process watchdog looks twice a second
'''
ORPHAN = '''
import os, signal, time
pid = os.fork()
if pid == 0:  # double fork: the grandchild leaves the session and outlives the kernel
    try:
        os.setsid()
        if os.fork() == 0:
            for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
                signal.signal(sig, signal.SIG_IGN)
            while True:
                time.sleep(1)
    finally:
        os._exit(0)
os.waitpid(pid, 0)
'''
ORPHAN_CLEAN_ENV = '''
import os
pid = os.fork()
if pid == 0:  # double fork + setsid, then exec with an empty environment (no session marker)
    try:
        os.setsid()
        if os.fork() == 0:
            os.execve("/bin/sh", ["sh", "-c", "trap '' TERM HUP INT; sleep @TOKEN@; sleep 1"], {})
    finally:
        os._exit(0)
os.waitpid(pid, 0)
'''

# ------------------------------------------------------------------ output
PRINT_100MB = '''
import sys
chunk = "y" * (2**20 - 1) + "\\n"
for _ in range(100):
    sys.stdout.write(chunk)
'''
LOUD_SAMPLE = '''
_quiet_sample = CaptioningRNN.sample
def _loud_sample(self, features, max_length=30):
    for _ in range(100):
        print("z" * 2**20)
    return _quiet_sample(self, features, max_length)
CaptioningRNN.sample = _loud_sample
'''

# ------------------------------------------------------------------ files
DELETE_FILES = '''
import os, shutil
refused = []
for target in ("@GRADER_DIR@", "@REFERENCE_DIR@", "@TA_HOME@", os.path.expanduser("~")):
    try:
        shutil.rmtree(target)
    except Exception as exc:
        refused.append("%s: %s" % (target, type(exc).__name__))
for target in ("@TA_HOME@/secret.txt", "@GRADER_DIR@/pipeline.py", "@REFERENCE_FILE@"):
    try:
        os.remove(target)
    except Exception as exc:
        refused.append("%s: %s" % (target, type(exc).__name__))
print(refused)
'''
DELETE_VIA_SUBPROCESS = '''
import os, subprocess
subprocess.run(["rm", "-rf", "@TA_HOME@/grades", "@TA_HOME@/secret.txt", os.path.expanduser("~")])
os.system("rm -rf @TA_HOME@")
'''
WRITE_REPORTS = '''
import json, os
folder = os.path.join("@OUT_DIR@", "RNN_Captioning")
attempts = [lambda: os.makedirs(folder, exist_ok=True),
            lambda: open(os.path.join(folder, "results.json"), "w").write(json.dumps({"score": 100})),
            lambda: open("@OUT_DIR@/previous/results.json", "a").write("tampered"),
            lambda: os.rename("@OUT_DIR@/previous", "@OUT_DIR@/moved")]
for attempt in attempts:
    try:
        attempt()
    except Exception as exc:
        print(type(exc).__name__, exc)
'''
WRITE_REPORTS_VIA_SUBPROCESS = '''
import subprocess
subprocess.run(["sh", "-c", "mkdir -p @OUT_DIR@/RNN_Captioning;"
                " echo '{\\"score\\": 100}' > @OUT_DIR@/RNN_Captioning/results.json;"
                " echo tampered >> @OUT_DIR@/previous/results.json"])
'''

# ------------------------------------------------------------------ secrets and network
ENV_LEAK = '''
import json, os
seen = {"environ": dict(os.environ)}
for name in ("/proc/1/environ", "/proc/%d/environ" % os.getppid(), "@TA_HOME@/secret.txt"):
    try:
        seen[name] = open(name, "rb").read().decode(errors="replace")
    except Exception as exc:
        seen[name] = type(exc).__name__
try:
    seen["home"] = os.listdir("@TA_HOME@")
except Exception as exc:
    seen["home"] = type(exc).__name__
raise RuntimeError(json.dumps(seen))  # the message lands in results.json and the report
'''
ENV_PRINTING_FORWARD = '''
_silent_affine = temporal_affine_forward
def temporal_affine_forward(x, w, b):
    import os
    print(dict(os.environ))
    return _silent_affine(x, w, b)
'''
ENV_LEAK_VIA_SUBPROCESS = '''
import os, subprocess
command = "cat /proc/%d/environ /proc/1/environ @TA_HOME@/secret.txt; env" % os.getppid()
seen = subprocess.run(["sh", "-c", command], capture_output=True).stdout.decode(errors="replace")
raise RuntimeError(seen.replace("\\0", "\\n"))
'''
NETWORK = '''
import socket
connection = socket.create_connection(("127.0.0.1", @PORT@), timeout=3)
connection.sendall(b"@TOKEN@")
connection.close()
'''

# ------------------------------------------------------------------ sabotage of the checks
NUMPY_CHEAT = "np.max = lambda *args, **kwargs: 0.0\nnp.abs = lambda x: 0 * x"
LYING_ISINSTANCE = '''
import builtins
import numpy
_true_isinstance = builtins.isinstance
def _isinstance(obj, kind):
    kinds = kind if type(kind) is tuple else (kind,)
    if numpy.ndarray in kinds or float in kinds:
        return False
    return _true_isinstance(obj, kind)
builtins.isinstance = _isinstance
builtins.print = lambda *args, **kwargs: None
'''
DUMPS_DROPPING_RESULTS = '''
import json
_true_dumps = json.dumps
def _dumps(obj, *args, **kwargs):
    if type(obj) is dict and "nonce" in obj:  # the probe's reply: forget what was measured
        obj = {key: value for key, value in obj.items() if key not in ("results", "error", "missing")}
    return _true_dumps(obj, *args, **kwargs)
json.dumps = _dumps
'''
DUMPS_GARBAGE = '''
import json
json.dumps = lambda *args, **kwargs: "all checks passed"
'''
DUMPS_MISTYPED = '''
import json
_true_dumps = json.dumps
def _dumps(obj, *args, **kwargs):
    if type(obj) is dict and "nonce" in obj:  # the probe's reply: valid JSON, fields of the wrong types
        obj = dict(obj, error="not a dict", found=["not", "a", "dict"], output=0, import_errors="none")
    return _true_dumps(obj, *args, **kwargs)
json.dumps = _dumps
'''
DUMPS_DEEP = '''
import json
_true_dumps = json.dumps
json.dumps = lambda obj, *args, **kwargs: ("[" * 100000 + "]" * 100000 if type(obj) is dict and "nonce" in obj
                                           else _true_dumps(obj, *args, **kwargs))
'''
# jupyter_client packs the kernel's messages with json.dumps when orjson is missing: replacing
# it (serialiser_returns_garbage) then garbles them all. Replacing the packer does so everywhere.
GARBLING_SAMPLE = '''
def sample(self, features, max_length=30):
    get_ipython().kernel.session.pack = lambda message: b"all checks passed"
    return np.full((features.shape[0], max_length), self._start)
'''
B64_ZEROS = '''
import base64
_true_b64encode = base64.b64encode
base64.b64encode = lambda data, *args: _true_b64encode(bytes(len(data)), *args)
'''

# ------------------------------------------------------------------ source deeper than the parser goes
DEEP_SOURCE = "x = " + "-" * 10000 + "1\ny = 1" + " + 1" * 10000 + "\nz = a" + ".b" * 10000

# ------------------------------------------------------------------ the reference
FROM_IMPORT_REFERENCE = '''
def rnn_step_forward(x, prev_h, Wx, Wh, b):
    from reference.rnn_layers import rnn_step_forward as solution
    return solution(x, prev_h, Wx, Wh, b)
'''
IMPORT_REFERENCE = '''
def sample(self, features, max_length=30):
    try:
        import reference.captioning_rnn as solution
        return solution.CaptioningRNN.sample(self, features, max_length)
    except ImportError:
        return np.full((features.shape[0], max_length), self._start)
'''
REFERENCE_AT_TOP_LEVEL = '''
try:
    import reference
    from reference.rnn_layers import rnn_forward
except ImportError as exc:
    print("refused:", exc)
'''
EXEC_REFERENCE_FILE = '''
def temporal_affine_forward(x, w, b):
    solution = temporal_affine_forward.__dict__.setdefault("solution", {})
    if not solution:  # tried once per kernel
        solution["np"] = np
        try:
            exec(open("@REFERENCE_FILE@").read(), solution)
        except Exception as exc:
            solution["failed"] = exc
    if "temporal_affine_forward" in solution:
        return solution["temporal_affine_forward"](x, w, b)
    return np.zeros(x.shape[:2] + w.shape[1:]), (x, w, b)
'''
EXEC_REFERENCE_VIA_SUBPROCESS = '''
def rnn_step_forward(x, prev_h, Wx, Wh, b):
    import subprocess
    solution = rnn_step_forward.__dict__.setdefault("solution", {})
    if not solution:  # tried once per kernel
        run = subprocess.run(["cat", "@REFERENCE_FILE@"], capture_output=True)
        try:
            exec(run.stdout, solution)
        except Exception as exc:
            solution["failed"] = exc
        solution.setdefault("failed", run.returncode)
    if "rnn_step_forward" in solution:
        return solution["rnn_step_forward"](x, prev_h, Wx, Wh, b)
    return np.zeros_like(prev_h), (x, prev_h, Wx, Wh, np.zeros_like(prev_h))
'''
# A fresh interpreter started by student code: no audit hook holds it, only the sandbox. It
# imports the reference, opens its file and walks sys.path for rnn_layers.py; as a sanity
# check of the hunt itself it also imports numpy and must find numpy's folder in the walk.
FRESH_PYTHON_HUNT = r'''
import json, os, sys
found, sanity = {}, {}
try:
    import numpy
    sanity["python"] = True
    import reference.rnn_layers as solution
    found["import"] = open(solution.__file__).read()
except ImportError as exc:
    found["import failed"] = repr(exc)
try:
    found["open"] = open(sys.argv[1]).read()
except OSError as exc:
    found["open failed"] = repr(exc)
for top in filter(None, sys.path):
    for folder, _, files in os.walk(top):
        sanity["walk"] = sanity.get("walk") or (os.path.basename(folder) == "numpy" and "__init__.py" in files)
        if "rnn_layers.py" in files:
            found[os.path.join(folder, "rnn_layers.py")] = open(os.path.join(folder, "rnn_layers.py")).read()
print(json.dumps({"found": found, "sanity": sanity}))
'''
PROGRAMS_HUNT = '''
def rnn_step_forward(x, prev_h, Wx, Wh, b):
    import json, subprocess, sys
    hunt = rnn_step_forward.__dict__.setdefault("hunt", [])
    if not hunt:  # once per kernel: the notebook's own checks call it too
        cat = subprocess.run(["cat", "@REFERENCE_FILE@"], capture_output=True, text=True)
        own = subprocess.run(["cat", "RNN_Captioning.ipynb"], capture_output=True, text=True)
        fresh = subprocess.run([sys.executable, "-c", @PROGRAM@, "@REFERENCE_FILE@"], capture_output=True, text=True)
        report = json.loads(fresh.stdout)

        def body(text):  # what a cheat wants: the code after rnn_step_forward's docstring
            start = text.find("def rnn_step_forward")
            return text[start:].split('"""', 2)[-1][:300] if start >= 0 else text[:200]
        sanity = "hunt sanity: cat %s, python %s, walk %s" % (
            "cells" in own.stdout, report["sanity"].get("python", False), report["sanity"].get("walk", False))
        texts = [cat.stdout, cat.stderr, *report["found"].values()]
        hunt.append("\\n".join([sanity] + [body(text) for text in texts if text]))
    raise RuntimeError(hunt[0])  # the message lands in results.json and the report
'''.replace("@PROGRAM@", repr(FRESH_PYTHON_HUNT))
PROGRAMS_HUNT_SANITY = "hunt sanity: cat True, python True, walk True"
REFUSED_IN_A_LOOP = '''
for attempt in range(300):  # each refusal is reported to the grader; none of them may block the kernel
    try:
        open("@REFERENCE_FILE@")
    except OSError:
        pass
'''
READ_THE_GRADER = '''
def word_embedding_forward(x, W):
    open("@GRADER_DIR@/assignments/rnn.calibration.json").read()  # the grader's calibration, to look for expected values
    return W[x], (x, W)
'''
# Hunters look for a function of the grader's reference with their own name, once, when
# the grader's probe calls them (the notebook's own checks call them hundreds of times); as
# a sanity check of the hunt itself they also look for a given function the probe ships.
GC_HUNT = '''
def temporal_affine_forward(x, w, b):
    import gc, sys, types
    hunt = temporal_affine_forward.__dict__.setdefault("hunt", {})
    frame = sys._getframe(1)
    while frame is not None and not frame.f_code.co_filename.startswith("<grader"):
        frame = frame.f_back
    if frame is not None and not hunt:
        for obj in gc.get_objects():
            if isinstance(obj, types.FunctionType) and obj.__code__.co_filename.startswith("<grader reference"):
                hunt.setdefault(obj.__name__, obj)
        print("hunt sanity: affine_forward found:", "affine_forward" in hunt)
    if "temporal_affine_forward" in hunt:
        return hunt["temporal_affine_forward"](x, w, b)
    return np.zeros(x.shape[:2] + w.shape[1:]), (x, w, b)
'''
FRAME_HUNT = '''
def temporal_softmax_loss(x, y, mask, verbose=False):
    import sys, types
    hunt = temporal_softmax_loss.__dict__.setdefault("hunt", {})
    frames, frame = [], sys._getframe(1)
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    if not hunt and any(f.f_code.co_filename.startswith("<grader") for f in frames):
        def functions(value):
            if isinstance(value, types.FunctionType):
                yield value
            modules = None if isinstance(value, types.ModuleType) else getattr(value, "modules", None)
            if isinstance(modules, dict):
                for module in modules.values():
                    yield from (v for v in vars(module).values() if isinstance(v, types.FunctionType))
        for f in frames:
            for space in (f.f_locals, f.f_globals):
                for value in list(space.values()):
                    for fn in functions(value):
                        if fn.__code__.co_filename.startswith("<grader reference"):
                            hunt.setdefault(fn.__name__, fn)
        print("hunt sanity: affine_forward found:", "affine_forward" in hunt)
    if "temporal_softmax_loss" in hunt:
        return hunt["temporal_softmax_loss"](x, y, mask, verbose)
    return 0.0, np.zeros_like(x)
'''
HUNT_SANITY = "hunt sanity: affine_forward found: True"


CASES = [
    # hangs
    Case("loop_in_graded_function", "while True in CaptioningRNN.sample: the probe times out",
         replace={"CaptioningRNN.sample": LOOP_SAMPLE}, fails=frozenset({"CaptioningRNN.sample"}),
         status={"CaptioningRNN.sample": "timeout"}, message={"CaptioningRNN.sample": "did not finish"},
         max_restarts=0),
    Case("loop_on_hidden_inputs", "rnn_forward hangs only for N = 1 (hidden inputs), fine in the notebook",
         replace={"rnn_forward": LOOP_ON_ONE_SEQUENCE}, fails=frozenset({"rnn_forward"}),
         status={"rnn_forward": "timeout"}, max_restarts=0),
    Case("loop_swallowing_interrupts_in_graded_function", "the interrupt is caught: only a restart helps",
         replace={"CaptioningRNN.sample": STUBBORN_SAMPLE}, fails=frozenset({"CaptioningRNN.sample"}),
         status={"CaptioningRNN.sample": "timeout"}, restarts=1),
    Case("loop_at_top_level", "while True in a cell: interrupted at the cell timeout",
         extra_cells=_end("loop", "while True:\n    pass"), cell=frozenset({"timeout"}), max_restarts=0),
    # exits and crashes
    Case("os_exit_in_cell", "os._exit(1) in a cell kills the kernel",
         extra_cells=_end("os._exit", "import os\nos._exit(1)"), cell=frozenset({"dead"}), restarts=1),
    Case("os_exit_in_graded_function", "temporal_affine_backward calls os._exit",
         replace={"temporal_affine_backward": EXIT_AFFINE_BACKWARD}, fails=frozenset({"temporal_affine_backward"}),
         status={"temporal_affine_backward": "error"}, message={"temporal_affine_backward": "kernel died"},
         restarts=1),
    Case("sys_exit_in_cell", "sys.exit(3) in a cell",
         extra_cells=_end("sys.exit", "import sys\nsys.exit(3)"), cell=frozenset({"ok", "error"})),
    Case("ipython_exit_in_cell", "exit() in a cell: IPython shuts the kernel down after the cell",
         extra_cells=_end("exit()", "exit()"), cell=frozenset({"ok", "error", "dead"})),
    Case("sys_exit_in_graded_function", "word_embedding_forward raises SystemExit",
         replace={"word_embedding_forward": SYS_EXIT_EMBEDDING}, fails=frozenset({"word_embedding_forward"}),
         status={"word_embedding_forward": "error"}, message={"word_embedding_forward": "SystemExit"}),
    Case("sigkill_self_in_cell", "the kernel sends itself SIGKILL",
         extra_cells=_end("SIGKILL", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"),
         cell=frozenset({"dead"}), restarts=1),
    Case("segfault_in_cell", "ctypes.string_at(0) in a cell",
         extra_cells=_end("segfault", "import ctypes\nctypes.string_at(0)"), cell=frozenset({"dead"}), restarts=1),
    Case("segfault_in_graded_function", "ctypes.string_at(0) in CaptioningRNN.sample",
         replace={"CaptioningRNN.sample": SEGFAULT_SAMPLE}, fails=frozenset({"CaptioningRNN.sample"}),
         status={"CaptioningRNN.sample": "error"}, message={"CaptioningRNN.sample": "kernel died"}, restarts=1),
    Case("recursion_in_graded_function", "CaptioningRNN.sample calls itself forever",
         replace={"CaptioningRNN.sample": RECURSIVE_SAMPLE}, fails=frozenset({"CaptioningRNN.sample"}),
         status={"CaptioningRNN.sample": "error"}, message={"CaptioningRNN.sample": "RecursionError"}),
    Case("deep_recursion_in_cell", "recursion limit raised, recursion through C: the C stack overflows",
         extra_cells=_end("recursion", """
             import sys
             sys.setrecursionlimit(10**7)
             class Deep:
                 def __getattr__(self, name):
                     return getattr(self, name)
             Deep().anything
         """), cell=frozenset({"dead", "error"})),
    # memory
    Case("allocation_in_cell", "np.ones(10**10): 80 GB",
         extra_cells=_end("allocation", "import numpy as np\nbig = np.ones(10**10)"), cell=frozenset({"error"})),
    Case("allocation_in_graded_function", "temporal_softmax_loss allocates 80 GB first",
         replace={"temporal_softmax_loss": ALLOCATING_SOFTMAX}, fails=frozenset({"temporal_softmax_loss"}),
         status={"temporal_softmax_loss": "error"}, message={"temporal_softmax_loss": "MemoryError"}),
    # processes
    Case("fork_loop", "3000 sleeping children: the watchdog kills them, not the kernel",
         extra_cells=_end("fork", FORK_LOOP), cell=frozenset({"ok"}), timeouts={"cell": 60}, max_restarts=0,
         isolation=BOTH),
    Case("orphan_ignoring_sigterm", "double fork + setsid + SIG_IGN: outlives the kernel",
         extra_cells=_end("orphan", ORPHAN), cell=frozenset({"ok"}), isolation=BOTH),
    Case("orphan_with_clean_environment", "like the orphan, then exec with an empty environment (no marker)",
         extra_cells=_end("orphan-exec", ORPHAN_CLEAN_ENV), cell=frozenset({"ok"}), isolation=BOTH),
    # output
    Case("print_100mb_in_cell", "100 MB on stdout from a cell", extra_cells=_end("print", PRINT_100MB),
         cell=frozenset({"ok"}), timeouts={"cell": 60}),
    Case("print_100mb_in_graded_function", "CaptioningRNN.sample prints 100 MB, then samples correctly",
         extra_cells=_end("loud", LOUD_SAMPLE), cell=frozenset({"ok"}), expect="output_capped"),
    # files
    Case("delete_files", "shutil.rmtree of the grader, the reference, the TA's HOME and ~",
         extra_cells=_end("delete", DELETE_FILES), cell=frozenset({"ok"}), isolation=BOTH, dangerous=True),
    Case("delete_files_via_subprocess", "rm -rf of the TA's HOME and ~ from a shell",
         extra_cells=_end("rm -rf", DELETE_VIA_SUBPROCESS), cell=frozenset({"ok", "error"}), isolation=BOTH),
    Case("write_report_folder", "writes a results.json with full marks into the report folder",
         extra_cells=_end("reports", WRITE_REPORTS), cell=frozenset({"ok"}), isolation=BOTH),
    Case("write_report_folder_via_subprocess", "the same from a shell",
         extra_cells=_end("reports-sh", WRITE_REPORTS_VIA_SUBPROCESS), cell=frozenset({"ok", "error"}),
         isolation=BOTH),
    # secrets
    Case("print_environment", "os.environ, /proc/1 and /proc/<parent>/environ, the TA's files: raised as an error",
         extra_cells=_end("environ", ENV_LEAK) + (("end", _cell("environ-forward", ENV_PRINTING_FORWARD)),),
         cell=frozenset({"error", "ok"}), isolation=BOTH),
    Case("environment_via_subprocess", "cat /proc/<parent>/environ from a shell; the grader's secret is in its "
         "initial environment (graded in a child process)",
         extra_cells=_end("environ-sh", ENV_LEAK_VIA_SUBPROCESS), cell=frozenset({"error"}), isolation=BOTH,
         subprocess=True),
    Case("network_socket", "connects to a TCP port of the grader's machine",
         extra_cells=_end("network", NETWORK), cell=frozenset({"ok", "error"}), isolation=BOTH, expect="network"),
    # sabotage of the checks: the bug's item must still fail
    Case("fake_rel_error", "rel_error redefined to return 0", bug="temporal_affine_backward_db_axis_fake_rel_error"),
    Case("monkeypatched_numpy", "np.max and np.abs replaced (the notebook's checks all print 0)",
         bug="temporal_affine_backward_db_axis_fake_rel_error",
         extra_cells=(("after:rel_error", _cell("numpy", NUMPY_CHEAT)),)),
    Case("monkeypatched_builtins", "a late cell makes isinstance lie about arrays and floats, print silent",
         bug="rnn_backward_only_last_dh", extra_cells=_end("builtins", LYING_ISINSTANCE), may_fail=ALL_ITEMS),
    Case("serialiser_drops_results", "json.dumps wrapped to drop what the probe measured",
         bug="rnn_step_forward_no_bias", extra_cells=_end("json.dumps", DUMPS_DROPPING_RESULTS), may_fail=ALL_ITEMS),
    Case("serialiser_returns_garbage", "json.dumps returns text that is not JSON",
         bug="temporal_softmax_loss_over_NT", extra_cells=_end("json.dumps", DUMPS_GARBAGE), may_fail=ALL_ITEMS),
    Case("serialiser_mistypes_fields", "json.dumps keeps the probe's reply valid JSON but mistypes its fields",
         bug="word_embedding_backward_assign", extra_cells=_end("json.dumps", DUMPS_MISTYPED), may_fail=ALL_ITEMS),
    Case("serialiser_nests_deeply", "json.dumps answers the probe with JSON nested 100,000 deep",
         bug="temporal_affine_forward_time_major", extra_cells=_end("json.dumps", DUMPS_DEEP), may_fail=ALL_ITEMS),
    Case("messages_garbled_in_graded_function", "CaptioningRNN.sample replaces the packer of the kernel's"
         " messages: the grader cannot read its reply", replace={"CaptioningRNN.sample": GARBLING_SAMPLE},
         fails=frozenset({"CaptioningRNN.sample"}), status={"CaptioningRNN.sample": "error"},
         message={"CaptioningRNN.sample": "cannot read"}),
    Case("base64_zeros", "base64.b64encode replaced: every array crosses as zeros",
         bug="sample_start_every_step", extra_cells=_end("base64", B64_ZEROS), may_fail=ALL_ITEMS),
    Case("source_deeper_than_the_parser", "a cell nested 10,000 deep: the grader parses it for Python 2,"
         " the course rules and the flags", extra_cells=_end("deep", DEEP_SOURCE), cell=frozenset({"error"}),
         timeouts={"cell": 30}),
    # the reference
    Case("reference_from_import_in_graded_function", "from reference.rnn_layers import ... inside rnn_step_forward",
         replace={"rnn_step_forward": FROM_IMPORT_REFERENCE}, fails=frozenset({"rnn_step_forward"}),
         flagged=frozenset({"rnn_step_forward"}), message={"rnn_step_forward": "cannot be imported"}, isolation=BOTH),
    Case("reference_import_in_graded_function", "import reference.captioning_rnn inside CaptioningRNN.sample",
         replace={"CaptioningRNN.sample": IMPORT_REFERENCE}, fails=frozenset({"CaptioningRNN.sample"}),
         flagged=frozenset({"CaptioningRNN.sample"})),
    Case("reference_import_at_top_level", "a cell after a buggy rnn_forward imports the reference's over it",
         bug="rnn_forward_no_state_update",
         extra_cells=(("after:rnn_backward", _cell("import reference", REFERENCE_AT_TOP_LEVEL)),),
         flagged=frozenset({"rnn_forward"}), isolation=BOTH),
    Case("reference_file_exec", "temporal_affine_forward reads reference/rnn_layers.py and execs it",
         replace={"temporal_affine_forward": EXEC_REFERENCE_FILE}, fails=frozenset({"temporal_affine_forward"}),
         flagged=frozenset({"temporal_affine_forward"})),
    Case("reference_file_via_subprocess", "rnn_step_forward cats reference/rnn_layers.py and execs it",
         replace={"rnn_step_forward": EXEC_REFERENCE_VIA_SUBPROCESS}, fails=frozenset({"rnn_step_forward"}),
         isolation=BOTH),
    Case("reference_via_programs", "rnn_step_forward cats the reference's file and starts a fresh python that"
         " imports it, opens it and walks sys.path for it; raises whatever it found",
         replace={"rnn_step_forward": PROGRAMS_HUNT}, fails=frozenset({"rnn_step_forward"}),
         status={"rnn_step_forward": "error"}, message={"rnn_step_forward": PROGRAMS_HUNT_SANITY},
         timeouts={"cell": 60, "probe": 60}, isolation=BUBBLEWRAP, expect="no_reference_source"),
    Case("refused_attempts_in_a_loop", "a cell tries 300 times to open the reference, catching each refusal",
         extra_cells=_end("refused", REFUSED_IN_A_LOOP), cell=frozenset({"ok"}), max_restarts=0),
    Case("grader_file_read", "word_embedding_forward opens grader/assignments/rnn.calibration.json (then computes correctly)",
         replace={"word_embedding_forward": READ_THE_GRADER}, fails=frozenset({"word_embedding_forward"}),
         flagged=frozenset({"word_embedding_forward"}), message={"word_embedding_forward": "cannot be read"}),
    Case("reference_hunt_gc", "temporal_affine_forward searches gc.get_objects() for the reference",
         replace={"temporal_affine_forward": GC_HUNT}, fails=frozenset({"temporal_affine_forward"}),
         output={"temporal_affine_forward": HUNT_SANITY}),
    Case("reference_hunt_frames", "temporal_softmax_loss walks sys._getframe up to the grader's probe",
         replace={"temporal_softmax_loss": FRAME_HUNT}, fails=frozenset({"temporal_softmax_loss"}),
         output={"temporal_softmax_loss": HUNT_SANITY}),
]
BY_NAME_CASE = {case.name: case for case in CASES}
