"""The score and report stages: points, the typed results (schema), results.json, report.html, the terminal summary."""
