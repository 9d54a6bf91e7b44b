"""The practice report as one self-contained HTML page (inline style, no scripts, no network
assets: DESIGN.md, reports reference only local assets). Every text value is escaped."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from acuhead.analytics.results import PgicSummary, PracticeReport, QuestionnaireChange
from acuhead.present.format import ci_of as _ci
from acuhead.present.format import fixed as _num
from acuhead.present.format import percent1 as _pct

STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;
max-width:72rem;padding:0 1rem;color:#1b1f24}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccd}
table{border-collapse:collapse;margin:.5rem 0 1rem;width:100%}
th,td{border:1px solid #ccd;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f4f7}td.n{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#555;font-size:.9rem}.tag{font-size:.8rem;padding:0 .3rem;border:1px solid #999;
border-radius:3px}
"""


def _table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Cells are already-escaped HTML strings."""
    out = ["<table><thead><tr>", *(f"<th>{escape(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def render(report: PracticeReport) -> str:
    """The practice report (analytics.report.practice_report) as an HTML document."""
    block = report.block.label
    who = f"clinic {report.clinic_id}"
    if report.practitioner_id is not None:
        who += f", practitioner {report.practitioner_id}"
    change = report.migraine_days_change
    follow = report.follow_up_completeness
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>acuhead practice report, {escape(who)}</title><style>{STYLE}</style></head>",
        f"<body><main><h1>Practice report, {escape(who)}</h1>",
        f"<p class='note'>Generated {escape(report.generated_utc)} (UTC). Migraine days by "
        f"the {escape(report.policy)} day rule; monthly figures are per 28 days; endpoint "
        f"window: {escape(block)} after the first session; a window needs at least "
        f"{_pct(report.config.min_compliance)} diary compliance to be evaluated.</p>",
        "<h2>Endpoints</h2>",
        _table(
            ("measure", "value", "95 % interval", "patients"),
            [
                (
                    "patients treated (at least one session)",
                    _num(report.patients_treated),
                    "",
                    "",
                ),
                (
                    "with a complete baseline diary",
                    _num(report.with_complete_baseline),
                    "",
                    "",
                ),
                (
                    f"follow-up completeness ({escape(block)} evaluable)",
                    _pct(follow.rate),
                    _ci(follow, percent=True),
                    _num(follow.n),
                ),
                (
                    "mean change in monthly migraine days",
                    _num(change.mean),
                    _ci(change),
                    _num(change.n),
                ),
                (
                    "monthly migraine days, baseline → block (same patients)",
                    f"{_num(change.baseline_mean)} → {_num(change.block_mean)}",
                    "",
                    _num(change.n),
                ),
                *(
                    (
                        f"≥ {escape(key)} % responders (complete cases)",
                        _pct(r.rate),
                        _ci(r, percent=True),
                        _num(r.n),
                    )
                    for key, r in report.responders.items()
                ),
                *(
                    (
                        f"≥ {escape(key)} % responders, missing counted as non-responders",
                        _pct(r.missing_as_non_responder.rate),
                        _ci(r.missing_as_non_responder, percent=True),
                        _num(r.missing_as_non_responder.n),
                    )
                    for key, r in report.responders.items()
                ),
            ],
        ),
        "<h2>Published benchmarks</h2>",
        _table(
            ("source", "comparison", "acupuncture", "control", "this clinic", "status"),
            [
                (
                    f"{escape(b.citation)} <span class='note'>({escape(b.window)})</span>",
                    f"{escape(b.comparison)}<br><span class='note'>{escape(b.unit)}</span>",
                    _num(b.acupuncture, 1),
                    _num(b.control, 1),
                    f"{_num(b.clinic, 1)}<br><span class='note'>"
                    f"{escape(b.clinic_unit)}, {escape(b.clinic_block)}</span>",
                    f"<span class='tag'>[{escape(b.marker)}]</span> {escape(b.status)}"
                    + "".join(f"<br><span class='note'>{escape(n)}</span>" for n in b.notes),
                )
                for b in report.benchmarks
            ],
        ),
        "<h2>Why a clinic cohort is not a trial</h2><ul>",
        *(f"<li>{escape(c)}</li>" for c in report.cohort_vs_trial),
        "</ul>",
    ]
    ae = report.adverse_events
    changes = [q for _, q in report.questionnaires.items() if isinstance(q, QuestionnaireChange)]
    relief = report.session_relief
    parts += [
        "<h2>Sessions and safety</h2>",
        _table(
            ("measure", "value", "95 % interval"),
            [
                ("sessions", _num(ae.sessions), ""),
                ("adverse events (serious)", f"{_num(ae.events)} ({_num(ae.serious)})", ""),
                ("adverse events per session", _num(ae.events_per_session, 3), ""),
                (
                    "sessions with an adverse event",
                    _pct(ae.sessions_with_event.rate),
                    _ci(ae.sessions_with_event, percent=True),
                ),
                (
                    "immediate relief per session (mean of patient means, 0-10)",
                    _num(relief.patients.mean),
                    _ci(relief.patients),
                ),
            ],
        ),
        f"<p class='note'>{escape(relief.note)}</p>",
        "<h2>Questionnaires (first to latest)</h2>",
        _table(
            ("instrument", "patients", "mean change", "95 % interval"),
            [
                (
                    escape(q.label),
                    _num(q.change_first_to_latest.n),
                    _num(q.change_first_to_latest.mean),
                    _ci(q.change_first_to_latest),
                )
                for q in changes
            ],
        ),
    ]
    found = report.questionnaires.get("pgic")
    if isinstance(found, PgicSummary):
        pgic = found.much_or_very_much_improved
        parts.append(
            f"<p>PGIC much or very much improved: {_pct(pgic.rate)} of {_num(pgic.n)} "
            f"(95 % interval {_ci(pgic, percent=True)}).</p>"
        )
    parts += [
        "<h2>Trend by window (evaluable patients)</h2>",
        _table(
            (
                "window",
                "patients",
                "migraine days / 28",
                "headache days / 28",
                "acute-medication days / 28",
                "stress",
                "neck tension",
                "sleep (h)",
            ),
            [
                (
                    escape(t.label),
                    _num(t.evaluable_patients),
                    _num(t.migraine_days_per_28),
                    _num(t.headache_days_per_28),
                    _num(t.acute_medication_days_per_28),
                    _num(t.stress_mean),
                    _num(t.neck_tension_mean),
                    _num(t.sleep_hours_mean),
                )
                for t in report.trend
            ],
        ),
    ]
    mech = report.mechanisms
    parts += [
        "<h2>Mechanisms</h2>",
        f"<p>{escape(mech.context)}</p>",
        f"<p class='note'>Change from baseline to {escape(block)} in each diary measure "
        f"against the change in headache days, across patients ({escape(mech.label)}).</p>",
        _table(
            ("measure", "proposed mechanism (grade)", "patients", "r", "95 % interval", "verdict"),
            [
                (
                    escape(o.measure),
                    escape(f"{o.mechanism or '–'} ({o.grade or 'no graded claim'})"),
                    _num(o.n),
                    _num(o.r),
                    _ci(o),
                    escape(o.verdict),
                )
                for o in mech.observable
            ],
        ),
        "<p>Not measurable in a clinic (evidence grade):</p>",  # CLINICAL.md 8
        _table(
            ("claim", "grade"),
            [
                (
                    escape(m.claim),
                    escape(m.grade)
                    + (
                        f"<br><span class='note'>{escape(m.grade_note)}</span>"
                        if m.grade_note
                        else ""
                    ),
                )
                for m in mech.not_measurable
            ],
        ),
    ]
    if report.by_practitioner:
        parts += [
            "<h2>By practitioner</h2>",
            "<p class='note'>Small groups give wide intervals; differences between "
            "practitioners also reflect who they treat.</p>",
            _table(
                ("practitioner", "treated", "evaluable", "mean change", "95 % interval", "≥ 50 %"),
                [
                    (
                        escape(p.name or str(p.practitioner_id)),
                        _num(p.patients_treated),
                        _num(p.evaluable_at_block),
                        _num(p.migraine_days_change.mean),
                        _ci(p.migraine_days_change),
                        _pct(p.responders_50.rate if p.responders_50 else None),
                    )
                    for p in report.by_practitioner
                ],
            ),
        ]
    parts.append("</main></body></html>\n")
    return "".join(parts)
