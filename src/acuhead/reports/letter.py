"""The one-page letter for the patient's physician (HTML rendered to PDF by WeasyPrint).

What a doctor asks for (USERS.md): monthly migraine days against the baseline, acute-medication
days against the overuse thresholds, diagnoses by ICHD-3 with the evidence, questionnaire scores,
the treatment given and any adverse events or red flags. Everything comes from data the clinic
recorded; the letter states what the diary shows and never claims a diagnosis or an effect.
Only local assets: no fonts or images are fetched (DESIGN.md known traps).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from acuhead.domain.diagnosis import ICHD3_RULES
from acuhead.present.charts import Block, migraine_days_chart
from acuhead.present.labels import uncertain_text

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Headache summary</title>
<style>
@page { size: A4; margin: 11mm 14mm; }
body { font-family: sans-serif; font-size: 9pt; color: #111; line-height: 1.25; }
h1 { font-size: 14pt; margin: 0 0 2mm; } h2 { font-size: 10pt; margin: 2.5mm 0 0.8mm; }
table { border-collapse: collapse; width: 100%; } td, th { border-bottom: 1px solid #ccc;
padding: 0.6mm 1.5mm; text-align: left; vertical-align: top; }
.muted { color: #555; font-size: 8.5pt; } .flag { color: #8a1c1c; font-weight: bold; }
svg { width: 100%; height: 46mm; }
</style></head><body>
<h1>Headache diary summary for the treating physician</h1>
<p class="muted">Weeks are counted from the first acupuncture session. Patient {{ p.external_id }}{% if p.name %} ({{ p.name }}){% endif %}{% if p.birth_year %},
born {{ p.birth_year }}{% endif %} · prepared {{ today }} by {{ clinic }} · diary days recorded:
{{ recorded_days }}</p>

<h2>Monthly migraine days (per 28 days)</h2>
<table><tr><th>Period</th><th>Dates</th><th>Recorded days</th><th>Migraine days</th>
<th>Headache days</th><th>Acute-medication days</th></tr>
{% for b in periods %}<tr><td>{{ b.label }}</td><td>{{ b.start }} to {{ b.end }}</td>
<td>{{ b.recorded_days }}/{{ b.days }}{% if b.low_compliance %} (few entries){% endif %}</td>
<td>{{ b.migraine_days }}{% if b.migraine_days_uncertain %} (+{{ b.migraine_days_uncertain }} uncertain){% endif %}</td><td>{{ b.headache_days }}</td>
<td>{{ b.acute_medication_days }}</td></tr>{% endfor %}
</table>
{% if change %}<p>Change in migraine days per 28 days at {{ change.label }}:
<strong>{{ change.value }}</strong> against the baseline{% if responder %}; ≥50% responder:
<strong>{{ responder }}</strong>{% endif %}. Counts are from the diary; days without an entry are
not counted as headache-free.{% if uncertain %} {{ uncertain }}{% endif %}</p>{% endif %}
{{ chart }}

<h2>Acute medication against the overuse thresholds (ICHD-3 8.2)</h2>
<p>Latest 28 days: {{ latest_med_days }} acute-medication days, of which {{ latest_specific_days }}
with a triptan, ergot, gepant or ditan. Thresholds: {{ overuse_days }} days/month for triptans, ergots, opioids or
combinations; {{ overuse_days_non_opioid }} days/month for simple analgesics or NSAIDs (for more than 3 months).
{% if overuse %}<span class="flag">{{ overuse }}</span>{% endif %}</p>

<h2>Diagnoses suggested by the diary (ICHD-3)</h2>
{% if diagnoses %}<table>{% for d in diagnoses %}<tr><td>{{ d.code }}</td><td>{{ d.label }}</td>
<td>{{ d.status }}</td></tr>{% endfor %}</table>
<p class="muted">Derived from the diary by the ICHD-3 criteria; a clinician's diagnosis is needed.</p>
{% else %}<p>The diary does not yet meet the criteria for any ICHD-3 code.</p>{% endif %}

<h2>Questionnaires</h2>
<p>{% for q in questionnaires %}{{ q }}{% if not loop.last %}; {% endif %}{% else %}None recorded.{% endfor %}</p>

<h2>Acupuncture given</h2>
<p>{{ sessions.count }} session(s){% if sessions.first %} from {{ sessions.first }} to
{{ sessions.last }}{% endif %}.{% if sessions.points %} Points used most: {{ sessions.points }}.{% endif %}
{% if relief %} Mean pain relief right after a session: {{ relief }}.{% endif %}</p>

<h2>Adverse events</h2>
<p>{% for e in adverse %}{{ e }}{% if not loop.last %}; {% endif %}{% else %}None recorded.{% endfor %}</p>

<h2>Red flags (SNNOOP10) and what was done</h2>
<p>{% for f in red_flags %}<span{% if f.open %} class="flag"{% endif %}>{{ f.text }}</span>{% if not loop.last %}<br>{% endif %}{% else %}None raised.{% endfor %}</p>
</body></html>
"""

_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))


def _yes_no(value: object) -> str:
    return "yes" if value is True else "no" if value is False else ""


def _period(label: str, b: Mapping[str, Any]) -> dict[str, Any]:
    return {**b, "label": label}


def letter_html(
    *,
    patient: Mapping[str, Any],
    clinic: str,
    outcomes: Mapping[str, Any],
    readout: Mapping[str, Any],
    sessions: Sequence[Mapping[str, Any]],
    adverse_events: Sequence[Mapping[str, Any]],
    today: dt.date,
) -> str:
    """The letter as HTML; pure, so the content is testable without a PDF engine."""
    periods = []
    if outcomes.get("baseline"):
        periods.append(_period("Baseline", outcomes["baseline"]))
    # Complete 28-day blocks only (a block still running would read as a drop), the latest four
    # of them, so the letter stays on one page.
    complete = [b for b in outcomes.get("blocks", []) if str(b["end"]) <= today.isoformat()]
    for b in complete[-4:]:
        periods.append(_period(f"Weeks {4 * b['index'] + 1}-{4 * b['index'] + 4}", b))
    blocks = [
        Block(
            dt.date.fromisoformat(str(b["start"])),
            dt.date.fromisoformat(str(b["end"])),
            int(b["recorded_days"]),
            int(b["migraine_days"]),
            int(b["headache_days"]),
        )
        for b in periods
    ]
    session_dates = sorted(dt.date.fromisoformat(str(s["start"])[:10]) for s in sessions)
    chart = migraine_days_chart(blocks, sessions=session_dates) if blocks else Markup("")
    change = outcomes.get("change") or {}
    value = change.get("migraine_days_per_28")
    latest = periods[-1] if periods else {}
    diagnoses = list(readout.get("diagnoses", []))
    overuse = ", ".join(d["label"] for d in diagnoses if str(d.get("code", "")).startswith("8.2"))
    q_lines = []
    for key, q in (outcomes.get("questionnaires") or {}).items():
        if key == "note" or not isinstance(q, Mapping) or not q.get("latest"):
            continue
        latest_q = q["latest"]
        total = latest_q.get("total") if isinstance(latest_q, Mapping) else latest_q
        q_lines.append(
            f"{q.get('label', key)} {total}"
            + (
                f" (first {q['first'].get('total')})"
                if isinstance(q.get("first"), Mapping) and q.get("n", 0) > 1
                else ""
            )
        )
    points = Counter(p["code"] for s in sessions for p in s.get("points", []))
    relief = outcomes.get("session_relief") or {}
    flags = []
    for alert in readout.get("red_flags", []):
        items = ", ".join(f["label"] for f in alert.get("findings", []))
        if alert.get("open"):
            flags.append({"open": True, "text": f"Open: {items} — needs medical review."})
        else:
            res = alert.get("resolution") or {}
            flags.append(
                {
                    "open": False,
                    "text": f"{items}: {res.get('kind')} by {res.get('by')} "
                    f"({str(res.get('at'))[:10]}): {res.get('reason')}",
                }
            )
    birth = patient.get("birth_date")
    html = _env.from_string(_TEMPLATE).render(
        p={
            "external_id": patient["external_id"],
            "name": patient.get("display_name", ""),
            "birth_year": str(birth)[:4] if birth else "",
        },
        clinic=clinic,
        today=today.isoformat(),
        recorded_days=sum(int(b["recorded_days"]) for b in periods),
        periods=periods,
        chart=chart,
        change={"label": change.get("label", ""), "value": f"{value:+.1f}"}
        if isinstance(value, int | float)
        else None,
        responder=_yes_no((outcomes.get("responder") or {}).get("50")),
        uncertain=uncertain_text(outcomes.get("responder_basis")),
        latest_med_days=latest.get("acute_medication_days", 0),
        latest_specific_days=latest.get("migraine_specific_medication_days", 0),
        # ICHD-3 8.2 thresholds, from the rules the diagnosis itself applies (one place).
        overuse_days=ICHD3_RULES.overuse_days,
        overuse_days_non_opioid=ICHD3_RULES.overuse_days_non_opioid,
        overuse=f"The diary meets the criteria for: {overuse}." if overuse else "",
        diagnoses=[d for d in diagnoses if not str(d.get("code", "")).startswith("8.2")]
        + [d for d in diagnoses if str(d.get("code", "")).startswith("8.2")],
        questionnaires=q_lines,
        sessions={
            "count": len(sessions),
            "first": session_dates[0].isoformat() if session_dates else "",
            "last": session_dates[-1].isoformat() if session_dates else "",
            "points": ", ".join(f"{c} ({n})" for c, n in points.most_common(6)),
        },
        relief=(
            f"{relief['mean_relief']:.1f} points on 0-10 (95% CI {relief['ci_low']:.1f} to "
            f"{relief['ci_high']:.1f})"
        )
        if relief.get("mean_relief") is not None and relief.get("ci_low") is not None
        else "",
        adverse=[
            f"{e.get('type')} ({e.get('severity')}{', serious' if e.get('serious') else ''})"
            for e in adverse_events
        ],
        red_flags=flags,
    )
    return html


def render_pdf(html: str) -> bytes:
    """HTML to PDF. Imported lazily: WeasyPrint needs Pango, which only this path uses."""
    from weasyprint import HTML

    pdf: bytes = HTML(string=html).write_pdf()
    return pdf
