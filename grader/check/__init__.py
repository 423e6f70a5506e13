"""The check stage: inputs the grader chooses, probe requests, comparison with the reference."""
