"""Reports: the JSON model, the terminal summary."""
