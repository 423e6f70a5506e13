"""The student kit (``grade --student-kit DIR``): the public checks of an assignment without
its solution.

``build.py`` writes the kit: a package named after the assignment (``rnn_check``), whose code
is ``runtime/`` plus two of the grader's own modules copied in (``check/compare.py`` and
``grade/kernel_probe.py``), and its data: the public cases' inputs, the reference's outputs on
them, and the reference's calls that stand in for a student's failing functions
(``record.py``). ``runtime/`` imports those copies, so most of it runs only in a built kit;
``runtime/slicing.py`` and ``runtime/data.py`` use the standard library and NumPy alone, and
the grader imports them too. A PyTorch assignment's kit also holds ``runtime/torch_replay.py``
(its stand-ins, autograd Functions answered from records) and its records come from
``record_torch.py``.
"""
