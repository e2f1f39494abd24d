"""How numbers read in every message and view: money, ratios, percentage points, p-values, plurals."""

from __future__ import annotations


def usd(value: float | None) -> str:
    if value is None:
        return "unknown"
    if value >= 100:
        return f"${value:,.2f}"
    if value >= 0.01:
        return f"${value:.4f}"
    return f"${value:.6f}"


def amount(value: float) -> str:
    """A number as typed on a command line: 0.00001, not 1e-05."""
    return f"{value:.8f}".rstrip("0").rstrip(".")


def ratio(value: float | None) -> str:
    """Candidate over current: ``x0.85 (-15.0%)``."""
    return "n/a" if value is None else f"x{value:.2f} ({(value - 1) * 100:+.1f}%)"


def rate(value: float | None) -> str:
    """A pass rate: ``85%``."""
    return "-" if value is None else f"{value * 100:.0f}%"


def signed_pp(value: float, digits: int = 0) -> str:
    """A difference in percentage points with a real minus sign: ``−55``, ``+3``."""
    return f"{value * 100:+.{digits}f}".replace("-", "−")


def fmt_level(value: float) -> str:
    """A significance level, to three digits (0.0125, 0.000833)."""
    return f"{value:.3g}"


def fmt_p(value: float) -> str:
    return f"{value:.2g}" if value >= 1e-3 else f"{value:.1e}"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
