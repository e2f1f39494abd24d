"""Small inline-SVG charts for the HTML report: the score change per case, and cost and latency of the
current model against the candidate. Drawn here, in Python, so the page needs no chart library; each chart
is a few kilobytes whatever the number of cases (past ``BARS`` cases, the sorted changes are sampled)."""

from __future__ import annotations

import html

from pytest_llmversion.report.format import usd
from pytest_llmversion.report.governance import CostReport
from pytest_llmversion.report.schema import ItemResult, short_name

#: Cases drawn one bar each (with the case's name on hover); more are drawn as this many sampled bars.
BARS = 240
WIDTH, HEIGHT = 720, 170


def _e(text: object) -> str:
    return html.escape(str(text))


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def score_change_chart(items: list[ItemResult]) -> str:
    """Candidate minus baseline score per case, sorted: bars below the line lost score, above gained."""
    changed = sorted(((i.delta, short_name(i)) for i in items if i.delta is not None), key=lambda d: d[0])
    if not changed:
        return ""
    count = len(changed)
    sampled = count > BARS
    if sampled:  # evenly spaced ranks keep the curve's shape, and the worst and best case
        changed = [changed[round(n * (count - 1) / (BARS - 1))] for n in range(BARS)]
    top, bottom = 14, HEIGHT - 22
    middle = (top + bottom) / 2
    scale = (bottom - top) / 2  # a change of ±1 fills half the height
    left, right = 44, WIDTH - 8
    step = (right - left) / len(changed)
    bars = []
    for n, (delta, name) in enumerate(changed):
        x = left + n * step
        height = max(abs(delta) * scale, 0.8)
        y = middle - height if delta > 0 else middle
        css = "up" if delta > 1e-9 else "down" if delta < -1e-9 else "flat"
        title = "" if sampled else f"<title>{_e(name)}: {delta:+.2f}</title>"
        bars.append(
            f'<rect class="{css}" x="{_num(x)}" y="{_num(y)}" width="{_num(max(step - 1, 0.6))}" '
            f'height="{_num(height)}">{title}</rect>'
        )
    note = f"{count} cases, sampled to {BARS} bars" if sampled else f"{count} case{'s' if count != 1 else ''}"
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="score change per case">'
        f'<text x="{left}" y="10" class="label">score change per case, candidate − baseline ({note})</text>'
        f'<line x1="{left}" x2="{right}" y1="{_num(middle)}" y2="{_num(middle)}" class="axis"/>'
        f'<text x="{left - 6}" y="{top + 4}" class="tick">+1</text>'
        f'<text x="{left - 6}" y="{_num(middle + 4)}" class="tick">0</text>'
        f'<text x="{left - 6}" y="{bottom + 4}" class="tick">−1</text>' + "".join(bars) + "</svg>"
    )


def cost_latency_chart(cost: CostReport | None) -> str:
    """Tokens, cost and latency (p50, p95) per role, each pair of bars scaled to its larger value."""
    if cost is None or not cost.roles:
        return ""
    current, candidate = cost.roles.get("current"), cost.roles.get("candidate")
    if current is None or candidate is None:
        return ""
    metrics: list[tuple[str, float | None, float | None, str, str]] = [
        ("tokens", current.tokens, candidate.tokens, f"{current.tokens:,}", f"{candidate.tokens:,}"),
        ("cost", current.cost_usd, candidate.cost_usd, usd(current.cost_usd), usd(candidate.cost_usd)),
    ]
    for name, a, b in (
        ("latency p50", current.latency_p50_ms, candidate.latency_p50_ms),
        ("latency p95", current.latency_p95_ms, candidate.latency_p95_ms),
    ):
        metrics.append((name, a, b, _ms(a), _ms(b)))
    row, label_width, bar_left = 44, 92, 100
    bar_width = WIDTH - bar_left - 150
    height = 26 + row * len(metrics)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="cost and latency">',
        '<text x="0" y="12" class="label">current (grey) against candidate (blue)</text>',
    ]
    for n, (name, a, b, shown_a, shown_b) in enumerate(metrics):
        y = 24 + n * row
        parts.append(f'<text x="{label_width}" y="{y + 17}" class="tick">{_e(name)}</text>')
        largest = max(a or 0.0, b or 0.0)
        for offset, value, shown, css in ((0, a, shown_a, "current"), (18, b, shown_b, "candidate")):
            width = 0.0 if value is None or largest <= 0 else value / largest * bar_width
            parts.append(
                f'<rect class="{css}" x="{bar_left}" y="{y + offset}" width="{_num(max(width, 0.6))}" height="14"/>'
            )
            parts.append(
                f'<text x="{_num(bar_left + width + 6)}" y="{y + offset + 11}" class="value">{_e(shown)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _ms(value: float | None) -> str:
    return "no live calls" if value is None else f"{value:,.0f} ms"
