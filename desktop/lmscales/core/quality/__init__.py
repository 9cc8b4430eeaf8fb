"""Quality: checks, scores, statistics, the judge, evaluation sets and the report."""
