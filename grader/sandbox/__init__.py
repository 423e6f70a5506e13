"""Containment: where student code runs, what it may touch, and the rules it is held to."""
