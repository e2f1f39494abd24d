"""Judging: verdicts, the per-case comparison of samples, the suite gate, exact statistics."""
