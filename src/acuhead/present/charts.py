"""Charts drawn on the server as SVG: the diary calendar heat map, the migraine-days chart and
the practice report's trend by window.

Why SVG from the server rather than Vega-Lite in the browser:

* nothing to vendor and keep patched (vega + vega-lite + vega-embed are about 1 MB of script);
* Vega compiles its expressions with ``new Function`` unless a separate interpreter is wired
  in, which our CSP (``script-src 'self'``, no ``unsafe-eval``) forbids;
* the same markup goes into the physician letter PDF (WeasyPrint renders SVG, not JavaScript);
* the page is readable before, and without, any script, and prints as it looks.

Every colour is a presentation attribute (CSP allows no inline ``style``) and every piece of
text goes through :func:`markupsafe.escape`. Each chart carries a ``<title>``/``<desc>`` and
the pages show the same figures in a table for screen-reader and keyboard users.

Pure functions of plain values: no I/O, no clock.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from acuhead.analytics.results import TrendRow

# Colours chosen to stay distinguishable in greyscale and for common colour-vision deficiencies
# (lightness rises with severity); missing days are hatched, not just a lighter tint.
FREE = "#cfe8d5"
MILD = "#f6c97f"
MODERATE = "#e0823a"
SEVERE = "#a3301d"
MISSING_STROKE = "#767676"
INK = "#1f2933"
GRID = "#d9dde3"
COURSE = "#dbe7f7"
COURSE_INK = "#1d4f91"


@dataclass(frozen=True, slots=True)
class DayMark:
    """What the calendar shows for one local date."""

    date: dt.date
    recorded: bool
    headache: bool = False
    migraine: bool = False
    peak: int | None = None  # highest attack intensity that day, 0-10


@dataclass(frozen=True, slots=True)
class Block:
    """A 28-day window: counts over recorded days only (a missing day is never a zero)."""

    start: dt.date
    end: dt.date
    recorded: int
    migraine_days: int
    headache_days: int
    min_compliance: float = 0.8

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def compliance(self) -> float:
        return self.recorded / self.days if self.days else 0.0

    @property
    def low_compliance(self) -> bool:
        return self.compliance < self.min_compliance


@dataclass(frozen=True, slots=True)
class Span:
    """A treatment course or regimen drawn behind the bars."""

    start: dt.date
    end: dt.date
    label: str
    kind: str = "course"  # course | drug | non_drug


def coord(x: float) -> str:
    """An SVG coordinate: one decimal at most, no trailing zeros."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


def severity(peak: int | None) -> str:
    if peak is None or peak <= 3:
        return "mild"
    if peak <= 6:
        return "moderate"
    return "severe"


_FILL = {"mild": MILD, "moderate": MODERATE, "severe": SEVERE}


def day_marks(
    units: Iterable[Mapping[str, Any]], peaks: Mapping[dt.date, int | None]
) -> dict[dt.date, DayMark]:
    """Calendar marks from read-out day units (``services.clinical.readout()['days']``)."""
    out: dict[dt.date, DayMark] = {}
    for u in units:
        day = dt.date.fromisoformat(str(u["date"]))
        out[day] = DayMark(
            date=day,
            recorded=bool(u.get("recorded")),
            headache=bool(u.get("headache_day")),
            migraine=bool(u.get("migraine_day")),
            peak=peaks.get(day),
        )
    return out


def _month_starts(start: dt.date, end: dt.date) -> list[dt.date]:
    months = []
    m = start.replace(day=1)
    while m <= end:
        months.append(m)
        m = (m.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return months


CELL = 18
GAP = 3


def calendar_month(
    first: dt.date,
    marks: Mapping[dt.date, DayMark],
    *,
    today: dt.date,
    first_recorded: dt.date | None = None,
) -> Markup:
    """One month as a 7-column grid (Monday first). Days after ``today`` are left blank."""
    step = CELL + GAP
    ndays = calendar.monthrange(first.year, first.month)[1]
    lead = first.weekday()
    rows = (lead + ndays + 6) // 7
    top = 34
    width = 7 * step + GAP
    height = top + rows * step + GAP
    pid = f"hatch-{first:%Y%m}"
    counts = {"headache": 0, "free": 0, "missing": 0}
    cells: list[str] = []
    for i in range(ndays):
        day = first + dt.timedelta(days=i)
        pos = lead + i
        x = GAP + (pos % 7) * step
        y = top + (pos // 7) * step
        if day > today:
            cells.append(
                f'<rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" rx="3" fill="none" '
                f'stroke="{GRID}" data-date="{day.isoformat()}" class="cal-future"/>'
            )
            continue
        mark = marks.get(day)
        before_diary = first_recorded is not None and day < first_recorded
        if mark is None or not mark.recorded:
            state = "missing"
            counts["missing"] += 0 if before_diary else 1
            title = f"{day:%a %d %b}: not recorded"
            cells.append(
                f'<rect x="{x + 0.5}" y="{y + 0.5}" width="{CELL - 1}" height="{CELL - 1}" '
                f'rx="3" fill="url(#{pid})" stroke="{MISSING_STROKE}" stroke-dasharray="2 2" '
                f'data-date="{day.isoformat()}" class="cal-day cal-missing">'
                f"<title>{escape(title)}</title></rect>"
            )
            continue
        if mark.headache:
            state = severity(mark.peak)
            counts["headache"] += 1
            kind = "migraine day" if mark.migraine else "headache day"
            peak = f", worst {mark.peak}/10" if mark.peak is not None else ""
            title = f"{day:%a %d %b}: {kind}{peak}"
            fill = _FILL[state]
            cls = f"cal-day cal-headache cal-{state}" + (" cal-migraine" if mark.migraine else "")
        else:
            state = "free"
            counts["free"] += 1
            title = f"{day:%a %d %b}: no headache"
            fill = FREE
            cls = "cal-day cal-free"
        extra = ""
        if mark.migraine:
            cx, cy = x + CELL / 2, y + CELL / 2
            dot = "#ffffff" if state == "severe" else INK
            extra = f'<circle cx="{coord(cx)}" cy="{coord(cy)}" r="3" fill="{dot}"/>'
        cells.append(
            f'<g data-date="{day.isoformat()}" class="{cls}"><title>{escape(title)}</title>'
            f'<rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" rx="3" fill="{fill}"/>'
            f"{extra}</g>"
        )
    if first <= today <= first.replace(day=ndays):
        pos = lead + today.day - 1
        tx = GAP + (pos % 7) * step - 1.5
        ty = top + (pos // 7) * step - 1.5
        cells.append(
            f'<rect x="{coord(tx)}" y="{coord(ty)}" width="{CELL + 3}" height="{CELL + 3}" rx="4" '
            f'fill="none" stroke="{INK}" stroke-width="2" class="cal-today"/>'
        )
    heads = "".join(
        f'<text x="{GAP + k * step + CELL / 2:.1f}" y="{top - 6}" text-anchor="middle" '
        f'font-size="10" fill="{INK}">{d}</text>'
        for k, d in enumerate("MTWTFSS")
    )
    label = f"{first:%B %Y}"
    summary = (
        f"{label}: {counts['headache']} headache days, {counts['free']} headache-free days, "
        f"{counts['missing']} days not recorded"
    )
    return Markup(  # noqa: S704 - every interpolated text goes through escape()
        f'<svg class="cal-month" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(summary)}" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(summary)}</title>"
        f'<defs><pattern id="{pid}" width="5" height="5" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="5" height="5" fill="#ffffff"/>'
        f'<line x1="0" y1="0" x2="0" y2="5" stroke="#b0b0b0" stroke-width="1.5"/></pattern>'
        f"</defs>"
        f'<text x="{GAP}" y="13" font-size="12" font-weight="600" fill="{INK}">'
        f"{escape(label)}</text>{heads}{''.join(cells)}</svg>"
    )


def calendar_heatmap(
    marks: Mapping[dt.date, DayMark], start: dt.date, today: dt.date
) -> list[Markup]:
    """One SVG per calendar month from ``start``'s month to ``today``'s."""
    recorded = [d for d, m in marks.items() if m.recorded]
    first_recorded = min(recorded) if recorded else None
    return [
        calendar_month(m, marks, today=today, first_recorded=first_recorded)
        for m in _month_starts(start, today)
    ]


def blocks_from_units(
    units: Iterable[Mapping[str, Any]],
    *,
    end: dt.date,
    count: int,
    block_days: int = 28,
    min_compliance: float = 0.8,
) -> list[Block]:
    """Consecutive ``block_days`` windows ending on ``end`` (oldest first)."""
    by_day = {dt.date.fromisoformat(str(u["date"])): u for u in units}
    blocks: list[Block] = []
    for k in range(count - 1, -1, -1):
        b_end = end - dt.timedelta(days=k * block_days)
        b_start = b_end - dt.timedelta(days=block_days - 1)
        rec = mig = hd = 0
        d = b_start
        while d <= b_end:
            u = by_day.get(d)
            if u is not None and u.get("recorded"):
                rec += 1
                mig += 1 if u.get("migraine_day") else 0
                hd += 1 if u.get("headache_day") else 0
            d += dt.timedelta(days=1)
        blocks.append(Block(b_start, b_end, rec, mig, hd, min_compliance))
    return blocks


def migraine_days_chart(
    blocks: Sequence[Block],
    *,
    spans: Sequence[Span] = (),
    sessions: Sequence[dt.date] = (),
    title: str = "Migraine days per 28 days",
) -> Markup:
    """Bars of headache days (light) and migraine days (dark) per 28-day block, with the
    treatment course shaded behind them and each treatment session ticked on the time axis.

    A block under the compliance threshold is hatched and labelled "few entries": its counts
    are shown as recorded, never scaled up (DESIGN.md glossary)."""
    if not blocks:
        return Markup("")
    width, height = 640, 260
    left, right, top, bottom = 34, 10, 40, 58
    plot_w = width - left - right
    plot_h = height - top - bottom
    first, last = blocks[0].start, blocks[-1].end
    total_days = (last - first).days + 1
    ymax = max([b.headache_days for b in blocks] + [8])
    ymax = ymax + (-ymax % 4)

    def x_of(day: dt.date) -> float:
        return left + plot_w * ((day - first).days / total_days)

    def y_of(v: float) -> float:
        return top + plot_h * (1 - v / ymax)

    parts: list[str] = [
        '<defs><pattern id="hatch-low" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{MISSING_STROKE}" stroke-width="2"/>'
        "</pattern></defs>"
    ]
    # Treatment spans behind everything else; their edges and labels over the bars.
    overlay: list[str] = []
    lane = 0
    course_lane = 0
    for span in spans:
        s = max(span.start, first)
        e = min(span.end, last)
        if e < s:
            continue
        x0, x1 = x_of(s), x_of(e + dt.timedelta(days=1))
        if span.kind == "drug":
            y = top - 14 - 10 * lane
            lane += 1
            parts.append(
                f'<g class="chart-regimen"><title>{escape(span.label)}: {s} to {e}</title>'
                f'<rect x="{coord(x0)}" y="{y}" width="{coord(max(x1 - x0, 2))}" height="6" '
                f'fill="#7a6fb0"/><text x="{coord(x0 + 2)}" y="{y - 2}" font-size="9" '
                f'fill="{INK}">{escape(span.label)}</text></g>'
            )
            continue
        parts.append(
            f'<g class="chart-course" data-start="{s.isoformat()}" data-end="{e.isoformat()}">'
            f"<title>{escape(span.label)}: {s} to {e}</title>"
            f'<rect x="{coord(x0)}" y="{top}" width="{coord(max(x1 - x0, 2))}" height="{plot_h}" '
            f'fill="{COURSE}"/></g>'
        )
        # Its edges and name go on top of the bars (drawn last), or tall bars would hide
        # where the course began and ended: a dashed line at each edge inside the chart.
        edges = [x for x, inside in ((x0, span.start >= first), (x1, span.end <= last)) if inside]
        overlay.append(
            f'<g class="chart-course-mark" data-start="{s.isoformat()}" '
            f'data-end="{e.isoformat()}">'
            + "".join(
                f'<line x1="{coord(x)}" y1="{top}" x2="{coord(x)}" y2="{top + plot_h}" '
                f'stroke="{COURSE_INK}" stroke-width="1.5" stroke-dasharray="4 3"/>'
                for x in edges
            )
            + f'<text x="{coord(x0 + 4)}" y="{top + 12 + 12 * course_lane}" font-size="10" '
            f'font-weight="600" fill="{COURSE_INK}" stroke="#ffffff" stroke-width="3" '
            f'paint-order="stroke">{escape(span.label)}</text></g>'
        )
        course_lane += 1
    # Grid and y axis.
    for v in range(0, ymax + 1, max(ymax // 4, 1)):
        gy = y_of(v)
        parts.append(
            f'<line x1="{left}" y1="{coord(gy)}" x2="{width - right}" y2="{coord(gy)}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{left - 5}" y="{coord(gy + 3)}" text-anchor="end" font-size="10" '
            f'fill="{INK}">{v}</text>'
        )
    slot = plot_w / len(blocks)
    for b in blocks:
        x0 = x_of(b.start)
        hd_w = slot * 0.7
        mg_w = slot * 0.4
        hx = x0 + (slot - hd_w) / 2
        mx = x0 + (slot - mg_w) / 2
        low = b.low_compliance
        hd_fill = "url(#hatch-low)" if low else MILD
        mg_fill = "#8c8c8c" if low else SEVERE
        note = f", only {b.recorded} of {b.days} days recorded" if low else ""
        count_label = str(b.migraine_days) if b.recorded else "–"
        desc = (
            f"{b.start:%d %b} to {b.end:%d %b %Y}: {b.migraine_days} migraine days, "
            f"{b.headache_days} headache days, {b.recorded} of {b.days} days recorded"
        )
        parts.append(
            f'<g class="chart-block{" chart-low" if low else ""}" '
            f'data-block-end="{b.end.isoformat()}" data-migraine-days="{b.migraine_days}" '
            f'data-headache-days="{b.headache_days}" data-recorded="{b.recorded}">'
            f"<title>{escape(desc)}</title>"
            f'<rect x="{coord(hx)}" y="{coord(y_of(b.headache_days))}" width="{coord(hd_w)}" '
            f'height="{coord(plot_h * b.headache_days / ymax)}" fill="{hd_fill}" '
            f'stroke="{MODERATE if not low else MISSING_STROKE}" stroke-width="1"/>'
            f'<rect x="{coord(mx)}" y="{coord(y_of(b.migraine_days))}" width="{coord(mg_w)}" '
            f'height="{coord(plot_h * b.migraine_days / ymax)}" fill="{mg_fill}"/>'
            f'<text x="{coord(x0 + slot / 2)}" y="{coord(y_of(b.migraine_days) - 4)}" '
            f'text-anchor="middle" font-size="11" font-weight="600" fill="{INK}">'
            f"{count_label}</text>"
            f'<text x="{coord(x0 + slot / 2)}" y="{height - bottom + 14}" text-anchor="middle" '
            f'font-size="9" fill="{INK}">{b.end:%d %b}</text>'
            + (
                f'<text x="{coord(x0 + slot / 2)}" y="{height - bottom + 25}" '
                f'text-anchor="middle" font-size="8" fill="{INK}">'
                f"{'few entries' if b.recorded else 'no entries'}</text>"
                if low
                else ""
            )
            + f"<desc>{escape(note)}</desc></g>"
        )
    parts.extend(overlay)
    # Session ticks along the time axis.
    axis_y = top + plot_h
    ticks = [d for d in sessions if first <= d <= last]
    for d in ticks:
        x = x_of(d) + plot_w / total_days / 2
        parts.append(
            f'<path class="chart-session" d="M{coord(x)} {axis_y + 2} l-3.5 6 h7 z" '
            f'fill="{COURSE_INK}"><title>treatment session {d.isoformat()}</title></path>'
        )
    parts.append(
        f'<line x1="{left}" y1="{axis_y}" x2="{width - right}" y2="{axis_y}" stroke="{INK}"/>'
    )
    # Legend.
    ly = height - 14
    legend = [
        (MILD, "headache days"),
        (SEVERE, "migraine days"),
        (COURSE, "treatment course"),
    ]
    lx = left
    for fill, text in legend:
        parts.append(
            f'<rect x="{lx}" y="{ly - 9}" width="12" height="10" fill="{fill}" '
            f'stroke="{GRID}"/><text x="{lx + 16}" y="{ly}" font-size="10" fill="{INK}">'
            f"{escape(text)}</text>"
        )
        lx += 24 + 6 * len(text)
    if ticks:
        parts.append(
            f'<path d="M{lx + 6} {ly - 9} l-5 9 h10 z" fill="{COURSE_INK}"/>'
            f'<text x="{lx + 16}" y="{ly}" font-size="10" fill="{INK}">session</text>'
        )
    summary = "; ".join(
        f"block ending {b.end:%d %b}: {b.migraine_days} migraine days" for b in blocks
    )
    return Markup(  # noqa: S704 - every interpolated text goes through escape()
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="chart-title chart-desc" preserveAspectRatio="xMidYMid meet" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="chart-title">{escape(title)}</title>'
        f'<desc id="chart-desc">{escape(summary)}</desc>'
        f"{''.join(parts)}</svg>"
    )


def trend_chart(trend: Sequence[TrendRow]) -> Markup:
    """Mean headache and migraine days per 28 days for each window, among the patients whose
    window was evaluable (the same figures are in the table beside it)."""
    shown = [t for t in trend if t.evaluable_patients]
    if not shown:
        return Markup("")
    width, height = 640, 240
    left, right, top, bottom = 34, 10, 16, 54
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [t.headache_days_per_28 for t in shown]
    values += [t.migraine_days_per_28 for t in shown]
    ymax = max([*values, 8.0])
    ymax = float(int(ymax) + (-int(ymax) % 4) + (4 if ymax > int(ymax) else 0))
    ymax = max(ymax, 4.0)
    slot = plot_w / len(shown)

    def y_of(v: float) -> float:
        return top + plot_h * (1 - v / ymax)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        'aria-labelledby="trend-title trend-desc" class="trend-chart">'
        '<title id="trend-title">Headache and migraine days per 28 days, by window</title>'
        '<desc id="trend-desc">Means among the patients whose window was evaluable; '
        "the table below gives the same figures.</desc>"
    ]
    step = max(int(ymax) // 4, 1)
    for v in range(0, int(ymax) + 1, step):
        gy = y_of(v)
        parts.append(
            f'<line x1="{left}" y1="{coord(gy)}" x2="{width - right}" y2="{coord(gy)}" '
            f'stroke="{GRID}" stroke-width="1"/><text x="{left - 5}" y="{coord(gy + 3)}" '
            f'text-anchor="end" font-size="10" fill="{INK}">{v}</text>'
        )
    for i, t in enumerate(shown):
        x0 = left + i * slot
        hd = t.headache_days_per_28
        mg = t.migraine_days_per_28
        hd_w, mg_w = slot * 0.7, slot * 0.4
        label = "baseline" if t.index == -1 else t.label
        desc = (
            f"{label}: {hd:.1f} headache days and {mg:.1f} migraine days per 28 days, "
            f"{t.evaluable_patients} patients"
        )
        parts.append(
            f'<g class="trend-window" data-index="{t.index}">'
            f"<title>{escape(desc)}</title>"
            f'<rect x="{coord(x0 + (slot - hd_w) / 2)}" y="{coord(y_of(hd))}" '
            f'width="{coord(hd_w)}" height="{coord(plot_h * hd / ymax)}" fill="{MILD}" '
            f'stroke="{MODERATE}" stroke-width="1"/>'
            f'<rect x="{coord(x0 + (slot - mg_w) / 2)}" y="{coord(y_of(mg))}" '
            f'width="{coord(mg_w)}" height="{coord(plot_h * mg / ymax)}" fill="{SEVERE}"/>'
            f'<text x="{coord(x0 + slot / 2)}" y="{coord(y_of(mg) - 4)}" text-anchor="middle" '
            f'font-size="10" font-weight="600" fill="{INK}">{mg:.1f}</text>'
            f'<text x="{coord(x0 + slot / 2)}" y="{height - bottom + 14}" text-anchor="middle" '
            f'font-size="9" fill="{INK}">{escape(label.replace("weeks ", "wk "))}</text></g>'
        )
    axis_y = top + plot_h
    parts.append(
        f'<line x1="{left}" y1="{axis_y}" x2="{width - right}" y2="{axis_y}" stroke="{INK}"/>'
    )
    lx, ly = left, height - 14
    for fill, text in ((MILD, "headache days"), (SEVERE, "migraine days")):
        parts.append(
            f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{fill}"/>'
            f'<text x="{lx + 14}" y="{ly}" font-size="10" fill="{INK}">{text}</text>'
        )
        lx += 110
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped
