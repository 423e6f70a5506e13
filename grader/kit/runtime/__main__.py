"""``python -m rnn_check NOTEBOOK [ITEM ...]``."""
import sys

from .notebook import main

sys.exit(main(sys.argv[1:]))
