"""What students receive (the assignment notebooks and the ``cs231n/`` starter package),
shipped with the grader, which supplies given files from it and compares against it."""
