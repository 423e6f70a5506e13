"""Public checks of this assignment, without its solution (a student kit).

In the notebook, after defining your functions::

    from rnn_check import check
    check("rnn_step_forward")   # one item
    check()                     # every item

On the command line: ``python -m rnn_check RNN_Captioning.ipynb`` (exit 0 when every public
check passes, 1 when one fails, 2 for bad input).
"""


def check(name=None):
    """Run the public checks of item ``name`` (all items when None) on the functions the calling
    notebook defined, or on those of its ``cs231n`` package; print a line per check."""
    import sys

    from .session import check_in
    return check_in(sys._getframe(1).f_globals, name)
