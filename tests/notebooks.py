"""Build submissions from student_template/: blank, solved with the reference, or with
chosen functions swapped for other code (a bug, a cheat); run them. Used by tests, demo,
benchmark.

Filling is structural: the template is parsed with ast and the lines of the named def
(a top-level function, or a method inside its class) are replaced by the new source,
re-indented to the def's column. Only fill='todo' reads the TODO markers, to find the
lines inside the def that a student writes.
"""
from __future__ import annotations

import ast
import inspect
import os
import re
import shutil
import sys
import textwrap
import time
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
TEMPLATE_DIR = REPO / 'student_template'
NOTEBOOK_NAME = 'RNN_Captioning.ipynb'
LSTM_NOTEBOOK_NAME = 'LSTM_Captioning.ipynb'
DATA_DIR = Path('cs231n', 'datasets', 'coco_captioning')
FORMS = ('notebook', 'module')

LAYER_ITEMS = (
    'rnn_step_forward', 'rnn_step_backward', 'rnn_forward', 'rnn_backward',
    'word_embedding_forward', 'word_embedding_backward',
    'temporal_affine_forward', 'temporal_affine_backward', 'temporal_softmax_loss',
)
MODEL_ITEMS = ('CaptioningRNN.loss', 'CaptioningRNN.sample')
GRADED = LAYER_ITEMS + MODEL_ITEMS
# TODOs of the template that the `rnn` assignment does not grade (CS231n's LSTM stubs).
LSTM_TODOS = ('lstm_step_forward', 'lstm_step_backward', 'lstm_forward', 'lstm_backward')
TODO_NAMES = GRADED + LSTM_TODOS
# The cs7353 course's own self-contained notebook (seed 002): the layers and CaptioningRNN.loss.
CS7353_TEMPLATE = TEMPLATE_DIR / 'cs7353' / 'CS7353_RNN_Captioning.ipynb'
CS7353_GRADED = LAYER_ITEMS + ('CaptioningRNN.loss',)
# CS231n's PyTorch notebook (seed 000), a module form: build_submission('module', ..., template=...).
PYTORCH_TEMPLATE = TEMPLATE_DIR / 'pytorch' / 'RNN_Captioning_pytorch.ipynb'

# The reference's CaptioningRNN.loss (cell_type 'rnn') with its affine layer written out, for
# templates that define no affine_forward (cs7353); test_cs7353 proves it gives the same values.
STANDALONE_LOSS = '''\
def loss(self, features, captions):
    """The reference's loss, the affine layer written out."""
    captions_in = captions[:, :-1]
    captions_out = captions[:, 1:]
    mask = captions_out != self._null

    p = self.params
    h0 = features.reshape(features.shape[0], -1).dot(p['W_proj']) + p['b_proj']
    x, cache_embed = word_embedding_forward(captions_in, p['W_embed'])
    h, cache_rnn = rnn_forward(x, h0, p['Wx'], p['Wh'], p['b'])
    scores, cache_vocab = temporal_affine_forward(h, p['W_vocab'], p['b_vocab'])
    loss, dscores = temporal_softmax_loss(scores, captions_out, mask)

    grads = {}
    dh, grads['W_vocab'], grads['b_vocab'] = temporal_affine_backward(dscores, cache_vocab)
    dx, dh0, grads['Wx'], grads['Wh'], grads['b'] = rnn_backward(dh, cache_rnn)
    grads['W_embed'] = word_embedding_backward(dx, cache_embed)
    grads['W_proj'] = features.reshape(features.shape[0], -1).T.dot(dh0)
    grads['b_proj'] = dh0.sum(axis=0)
    return loss, grads
'''

_DEF_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)

if str(REPO) not in sys.path:  # this checkout's `reference`, installed or not
    sys.path.append(str(REPO))


def reference_sources(names: Iterable[str] = GRADED) -> dict[str, str]:
    """Source of each named reference function or 'CaptioningRNN.method', dedented."""
    from reference import captioning_rnn, rnn_layers

    sources = {}
    for name in names:
        if '.' in name:
            cls_name, method = name.split('.')
            obj = getattr(getattr(captioning_rnn, cls_name), method)
        else:
            obj = getattr(rnn_layers, name)
        sources[name] = textwrap.dedent(inspect.getsource(obj))
    return sources


def template_sources(names: Iterable[str] = GRADED) -> dict[str, str]:
    """Source of each named function or 'CaptioningRNN.method' as the template has it, dedented."""
    folder = TEMPLATE_DIR / 'module' / 'cs231n'
    texts = [(folder / 'rnn_layers.py').read_text(), (folder / 'classifiers' / 'rnn.py').read_text()]
    sources = {}
    for name in names:
        for text in texts:
            node = _find_def(_parse(text), name)
            if node is not None:
                first, last = _span(node)
                sources[name] = textwrap.dedent(''.join(text.splitlines(keepends=True)[first - 1:last]))
                break
    return sources


def build_submission(form: str, dest, solutions=None, replace: Mapping[str, str] | None = None,
                     extra_cells=None, fill='def', template=None,
                     notebook: str = NOTEBOOK_NAME) -> Path:
    """
    Write a submission made from the template of `form` into the folder dest.

    - form: 'notebook' (returns dest/<notebook>) or 'module' (copies the notebook and
      cs231n/ into dest, returns dest)
    - solutions: None for the blank template; 'reference' to fill every TODO the template
      has with the reference's code (a template without affine_forward gets
      STANDALONE_LOSS); or a mapping {name: source}
    - replace: {name: source} applied after solutions, e.g. a buggy function; a name is
      a top-level function ('rnn_forward') or a method ('CaptioningRNN.loss')
    - extra_cells: [(position, source)], code cells inserted in order, after the
      replacements. position: an index into the cell list (list.insert), 'start',
      'end', 'after:NAME' or 'before:NAME' (the cell defining NAME at top level)
    - fill: 'def' replaces each whole def; 'todo' writes only the new def's body (without
      its docstring) inside the def's TODO region (START..END OF YOUR CODE markers, or a
      `# TODO` banner..END OF YOUR CODE banner), as a student who follows the rules does
    - template: another template notebook (e.g. CS7353_TEMPLATE) instead of the form's
      RNN_Captioning.ipynb; the notebook written keeps its file name
    - notebook: the form's template notebook to build from, NOTEBOOK_NAME or
      LSTM_NOTEBOOK_NAME; a module submission holds only that notebook
    """
    if form not in FORMS:
        raise ValueError('form must be one of %s, not %r' % (FORMS, form))
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    nb_template = Path(template) if template is not None else TEMPLATE_DIR / form / notebook
    nb = nbformat.read(nb_template, as_version=4)
    nb_path = dest / nb_template.name
    containers = {}  # .py file path or code-cell index -> text; each edited from one parse
    if form == 'module':
        other_notebooks = [p.name for p in nb_template.parent.glob('*.ipynb') if p != nb_template]
        shutil.copytree(nb_template.parent, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
            '__pycache__', '*.pyc', '.ipynb_checkpoints', *other_notebooks))
        containers = {p: p.read_text() for p in sorted((dest / 'cs231n').rglob('*.py'))}
    code_cells = [c for c in nb.cells if c.cell_type == 'code']
    for i, cell in enumerate(code_cells):
        containers[i] = cell.source
    trees = {key: _parse(text) for key, text in containers.items()}

    def defined(name):
        return any(_find_def(tree, name) is not None for tree in trees.values())

    if solutions is None:
        sources = {}
    elif solutions == 'reference':
        sources = reference_sources([name for name in TODO_NAMES if defined(name)])
        if 'CaptioningRNN.loss' in sources and not defined('affine_forward'):
            sources['CaptioningRNN.loss'] = STANDALONE_LOSS
    elif isinstance(solutions, Mapping):
        sources = dict(solutions)
    else:
        raise ValueError("solutions must be None, 'reference' or a mapping, not %r" % (solutions,))
    sources.update(replace or {})
    edits: dict[object, list] = {}
    for name, source in sources.items():
        hits = [(key, _find_def(tree, name)) for key, tree in trees.items()
                if _find_def(tree, name) is not None]
        if len(hits) != 1:
            raise KeyError('%r is defined %d times in the %s template' % (name, len(hits), form))
        key, node = hits[0]
        if fill == 'todo':
            (span, col), source = _todo_region(containers[key], node, name), _body(source)
        else:
            span, col = _span(node), node.col_offset
        edits.setdefault(key, []).append((span, col, source, name))
    for key, spans in edits.items():
        new_text = _splice(containers[key], spans)
        if isinstance(key, Path):
            key.write_text(new_text)
        else:
            code_cells[key].source = new_text

    for position, source in extra_cells or ():
        nb.cells.insert(_cell_index(nb.cells, position), _code_cell(nb, source))
    nbformat.write(nb, nb_path)
    return dest if form == 'module' else nb_path


def place_small_coco(folder, seed: int = 0) -> Path:
    """Write the reference's small COCO set where the notebooks look for the data.

    folder is the submission folder (or its notebook); returns the data folder."""
    from reference.coco_small import write_small_coco

    folder = Path(folder)
    if folder.suffix == '.ipynb':
        folder = folder.parent
    return Path(write_small_coco(str(folder / DATA_DIR), seed=seed))


def execute_notebook(path, timeout=120):
    """Run a notebook in its folder, errors allowed; return (notebook, seconds).

    One BLAS thread per kernel: on a busy machine OpenBLAS threads make the overfit
    cell several times slower."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    env = dict(os.environ, OPENBLAS_NUM_THREADS='1', OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    client = NotebookClient(nb, timeout=timeout, kernel_name='python3', allow_errors=True,
                            resources={'metadata': {'path': str(path.parent)}})
    start = time.monotonic()
    client.execute(env=env)
    return nb, time.monotonic() - start


def zip_submission(folder, zip_path, root: str | None = None, include_data: bool = True) -> Path:
    """
    Zip a built submission folder, as a student would hand in the module form.

    Entries sit at the top of the archive, or under root/ if given; caches are left out,
    and cs231n/datasets too unless include_data. Entries are sorted and time-stamped
    1980-01-01, so the same folder always gives the same bytes.
    """
    folder, zip_path = Path(folder), Path(zip_path)
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    skip = {'__pycache__', '.ipynb_checkpoints'}
    with zipfile.ZipFile(zip_path, 'w', zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob('*')):
            rel = path.relative_to(folder)
            if path.is_dir() or skip & set(rel.parts) or path.suffix == '.pyc':
                continue
            if not include_data and rel.parts[:2] == ('cs231n', 'datasets'):
                continue
            arcname = (Path(root) / rel if root else rel).as_posix()
            info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes())
    return zip_path


def _parse(text: str) -> ast.Module | None:
    """Parse code, blanking IPython magic and shell lines; None if it is not Python."""
    lines = ['' if line.lstrip().startswith(('%', '!')) else line for line in text.splitlines()]
    try:
        return ast.parse('\n'.join(lines))
    except SyntaxError:
        return None


def _find_def(tree: ast.Module | None, name: str):
    """The def/class node for 'func' or 'Class.method' at the top of tree, or None."""
    node, body = None, tree.body if tree is not None else []
    for part in name.split('.'):
        matches = [n for n in body if isinstance(n, _DEF_NODES) and n.name == part]
        if len(matches) != 1:
            return None
        node = matches[0]
        body = node.body
    return node


def _span(node) -> tuple[int, int]:
    """First and last line (1-based, inclusive) of a def, decorators included."""
    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
    return first, node.end_lineno


def _todo_region(text: str, node, name: str):
    """((first, last), indent) of the lines a student writes in a def: strictly between its
    START and END OF YOUR CODE markers or, in a template without START markers (seed 002),
    between the closing ruler of its `# TODO` banner and the banner of END OF YOUR CODE."""
    lines = text.splitlines()
    first, last = _span(node)
    span = range(first, last + 1)
    start = [i for i in span if 'START OF YOUR CODE' in lines[i - 1]]
    end = [i for i in span if 'END OF YOUR CODE' in lines[i - 1] and '*****' in lines[i - 1]]
    if not start:  # banner style
        todo = [i for i in span if re.match(r'\s*#\s*TODO\b', lines[i - 1])]
        rulers = [i for i in span if re.fullmatch(r'\s*#{10,}\s*', lines[i - 1])]
        end = [i - 1 for i in span if 'END OF YOUR CODE' in lines[i - 1] and i - 1 in rulers]
        start = [i for i in rulers if i > todo[0]][:1] if len(todo) == 1 else []
    if len(start) != 1 or len(end) != 1:
        raise KeyError('%r has no single TODO region (START/END OF YOUR CODE or banner) in the template' % name)
    marker = lines[start[0] - 1]
    return (start[0] + 1, end[0] - 1), len(marker) - len(marker.lstrip())


def _body(source: str) -> str:
    """The body of the one def in ``source``, without its docstring, dedented."""
    source = textwrap.dedent(source)
    node = ast.parse(source).body[0]
    body = node.body[1:] if isinstance(node.body[0], ast.Expr) and isinstance(
        getattr(node.body[0], 'value', None), ast.Constant) and isinstance(node.body[0].value.value, str) \
        else node.body
    lines = source.splitlines()
    return textwrap.dedent('\n'.join(lines[body[0].lineno - 1:node.end_lineno])) if body else 'pass'


def _splice(text: str, edits) -> str:
    """Replace each (span, col, source, name) of text, bottom-up so spans stay valid."""
    edits = sorted(edits, key=lambda e: e[0][0])
    for (a, b) in zip(edits, edits[1:]):
        if b[0][0] <= a[0][1]:
            raise ValueError('replacements of %r and %r overlap' % (a[3], b[3]))
    lines = text.splitlines(keepends=True)
    for (first, last), col, source, _ in reversed(edits):
        body = textwrap.indent(textwrap.dedent(source).strip('\n') + '\n', ' ' * col)
        if last == len(lines) and not lines[-1].endswith('\n'):
            body = body[:-1]
        lines[first - 1:last] = [body]
    return ''.join(lines)


def _cell_index(cells, position) -> int:
    """Index at which to insert a cell for an extra_cells position."""
    if position == 'start':
        return 0
    if position == 'end':
        return len(cells)
    if isinstance(position, int):
        return position
    where, _, name = str(position).partition(':')
    if where in ('after', 'before') and name:
        for i, cell in enumerate(cells):
            if cell.cell_type == 'code' and name in _top_level_names(cell.source):
                return i + 1 if where == 'after' else i
        raise KeyError('no code cell defines %r' % name)
    raise ValueError('bad extra_cells position %r' % (position,))


def _top_level_names(source: str) -> set[str]:
    """Names a cell defines at top level (defs, classes, simple assignments)."""
    tree = _parse(source)
    names = set()
    for node in tree.body if tree is not None else []:
        if isinstance(node, _DEF_NODES):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _code_cell(nb, source: str):
    """A new code cell matching the notebook's format version (no id before 4.5)."""
    cell = nbformat.v4.new_code_cell(textwrap.dedent(source).strip('\n'))
    if (nb.nbformat, nb.nbformat_minor) < (4, 5):
        cell.pop('id', None)
    return cell
