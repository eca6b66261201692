"""`make bench`: performance figures as JSON, each a ratio against a same-run baseline."""
