"""A class at once: LMS downloads to jobs, parallel workers, cache, manual items, summary."""
