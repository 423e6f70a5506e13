"""The score and report stages: points, results.json, report.html, the terminal summary."""
