"""The one-page letter for the patient's physician (HTML rendered to PDF by WeasyPrint).

What a doctor asks for (USERS.md): who writes and what they ask, monthly migraine days in every
28-day block against the baseline, the current acute and preventive medication against the
ICHD-3 8.2 overuse thresholds, diagnoses by ICHD-3 with the evidence, HIT-6 and MIDAS with their
bands, the treatment given and any adverse events or open red flags. Everything comes from data
the clinic recorded; what is missing is called "not recorded" or "uncertain", and the letter
states what the diary shows and never claims a diagnosis or an effect. Only local assets: no
fonts or images are fetched (DESIGN.md known traps).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from acuhead.analytics.results import PatientOutcome, Questionnaires, SessionRelief, Window
from acuhead.domain.dayunits import day_units
from acuhead.domain.diagnosis import ICHD3_RULES, DiagnosisRules, overuse_groups
from acuhead.domain.diary import Diary, MedClass, RegimenKind
from acuhead.domain.ichd3 import in_patient_zone
from acuhead.domain.instruments import get as instrument
from acuhead.domain.outcomes import PER_DAYS, OutcomeConfig, block_label
from acuhead.domain.redflags import flag, normalise_code
from acuhead.present.charts import Block, migraine_days_chart
from acuhead.present.labels import uncertain_text

DEFAULT_RECIPIENT = "To the treating physician"
DEFAULT_QUESTION = (
    "For your information: how the headaches have been recorded during acupuncture care. "
    "No specific question is asked."
)
NOT_RECORDED = "not recorded"

# Words a physician reads for each acute-medication class (never the stored code).
CLASS_LABELS: dict[MedClass, str] = {
    MedClass.SIMPLE_ANALGESIC: "simple analgesic",
    MedClass.NSAID: "NSAID",
    MedClass.PARACETAMOL: "paracetamol",
    MedClass.TRIPTAN: "triptan",
    MedClass.ERGOT: "ergot",
    MedClass.OPIOID: "opioid",
    MedClass.COMBINATION_ANALGESIC: "combination analgesic",
    MedClass.GEPANT: "gepant",
    MedClass.DITAN: "ditan",
    MedClass.ANTIEMETIC: "antiemetic",
    MedClass.OTHER: "other",
}
RESOLVED_FLAGS_SHOWN = 2
ONE_COLUMN_PERIODS = 10  # baseline and nine blocks (36 weeks) in one table; more: two tables
ACUTE_SHOWN = 8
_NO_DETAILS = "a red flag whose details were not recorded"
REGIMEN_LABELS = {RegimenKind.DRUG: "preventive drug", RegimenKind.NON_DRUG: "non-drug preventive"}

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Headache summary</title>
<style>
@page { size: A4; margin: 9mm 12mm; }
body { font-family: sans-serif; font-size: 8pt; color: #111; line-height: 1.2; }
h1 { font-size: 12.5pt; margin: 0 0 1mm; } h2 { font-size: 9pt; margin: 1.8mm 0 0.5mm; }
p { margin: 0.4mm 0; }
table { border-collapse: collapse; width: 100%; } td, th { border-bottom: 1px solid #ccc;
padding: 0.25mm 1.2mm; text-align: left; vertical-align: top; }
.muted { color: #555; font-size: 7.5pt; } .flag { color: #8a1c1c; font-weight: bold; }
.question { border: 1px solid #999;
padding: 0.8mm 1.5mm; margin: 1mm 0; }
svg { width: 100%; height: 27mm; }
table.cols > tbody > tr > td.col, table.cols td.col { border: 0; padding: 0 1.5mm 0 0; width: 50%; }
table.compact td, table.compact th { padding: 0.2mm 0.8mm; font-size: 7.5pt; white-space: nowrap; }
</style></head><body>
<h1>Headache diary summary</h1>
<p><strong>From:</strong> {{ sender.clinic }} · practitioner: {{ sender.practitioner }} ·
<strong>Date:</strong> {{ today }}</p>
<p><strong>To:</strong> {{ recipient }}</p>
<p><strong>Patient:</strong> {{ p.external_id }}{% if p.name %} ({{ p.name }}){% endif %},
born {{ p.birth_year }} · diary days recorded: {{ recorded_days }}</p>
<p class="question"><strong>Question:</strong> {{ question }}</p>

<h2>Monthly migraine days (per 28 days)</h2>
{% if not periods %}<p>No acupuncture session is recorded yet: the baseline and the 28-day blocks
are counted from the first session.</p>
{% elif period_columns|length == 1 %}<table><tr><th>Period</th><th>Dates</th><th>Recorded days</th><th>Migraine days</th>
<th>Headache days</th><th>Acute-medication days</th></tr>
{% for b in periods %}<tr><td>{{ b.label }}</td><td>{{ b.start }} to {{ b.end }}</td>
{% if b.recorded_days %}<td>{{ b.recorded_days }}/{{ b.days }}{% if b.low_compliance %} (few entries){% endif %}</td>
<td>{{ b.migraine_days }}{% if b.migraine_days_uncertain %} (+{{ b.migraine_days_uncertain }} uncertain){% endif %}</td><td>{{ b.headache_days }}</td>
<td>{{ b.acute_medication_days }}</td>{% else %}<td>0/{{ b.days }}</td><td colspan="3">not recorded (no diary entries)</td>{% endif %}</tr>{% endfor %}
</table>
{% else %}<p class="muted">Each period runs 28 days from the date given. Migraine, headache and
acute-medication days are counted on the recorded days.</p>
<table class="cols"><tr>{% for column in period_columns %}<td class="col"><table class="compact">
<tr><th>Period</th><th>From</th><th>Recorded</th><th>Migraine</th><th>Headache</th><th>Acute med.</th></tr>
{% for b in column %}<tr><td>{{ b.label }}</td><td>{{ b.start }}</td>
{% if b.recorded_days %}<td>{{ b.recorded_days }}/{{ b.days }}{% if b.low_compliance %} (few){% endif %}</td>
<td>{{ b.migraine_days }}{% if b.migraine_days_uncertain %} (+{{ b.migraine_days_uncertain }} uncertain){% endif %}</td><td>{{ b.headache_days }}</td>
<td>{{ b.acute_medication_days }}</td>{% else %}<td>0/{{ b.days }}</td><td colspan="3">not recorded</td>{% endif %}</tr>{% endfor %}
</table></td>{% endfor %}</tr></table>{% endif %}
{% if periods %}<p class="muted">Weeks are counted from the first acupuncture session; days without an entry are
not counted as headache-free.{% if running %} {{ running }}{% endif %}</p>{% endif %}
{% if change %}<p>Change in migraine days per 28 days at {{ change.label }}:
<strong>{{ change.value }}</strong> against the baseline{% if responder %}; ≥50% responder:
<strong>{{ responder }}</strong>{% endif %}. This is what the diary shows; it does not say what
caused a change.{% if uncertain %} {{ uncertain }}{% endif %}</p>{% endif %}
{{ chart }}

<h2>Current medication</h2>
<table><tr><th>Medication</th><th>Class</th><th>Use</th></tr>
{% for m in medication.acute %}<tr><td>{{ m.name }}</td><td>acute: {{ m.cls }}</td>
<td>{% if m.days is none %}fewer days each{% else %}{{ m.days }} day(s) in the latest 28 days{% endif %}</td></tr>{% endfor %}
{% for m in medication.preventive %}<tr><td>{{ m.name }}</td><td>{{ m.cls }}</td>
<td>since {{ m.start }}{% if m.dose %}, {{ m.dose }}{% endif %}</td></tr>{% endfor %}
{% if not medication.acute %}<tr><td colspan="3">Acute medication: none recorded in the latest 28 days.</td></tr>{% endif %}
{% if not medication.preventive %}<tr><td colspan="3">Preventive medication: none recorded.</td></tr>{% endif %}
</table>

<h2>Medication overuse (ICHD-3 8.2)</h2>
<p>Latest 28 days ({{ medication.window }}): {{ medication.recorded }}/28 days recorded{% if medication.recorded < 28 %}; intake on the {{ 28 - medication.recorded }} day(s) without an entry is not known{% endif %}.
{% for g in medication.groups %}{{ g.label }}: {{ g.days }} day(s), threshold {{ g.threshold }}
days/month: <span{% if g.flag %} class="flag"{% endif %}>{{ g.status }}</span>. {% endfor %}
ICHD-3 needs the intake for more than 3 months. <span{% if overuse_flag %} class="flag"{% endif %}>{{ overuse }}</span></p>

<h2>Diagnoses suggested by the diary (ICHD-3)</h2>
{% if diagnoses %}<p>{% for d in diagnoses %}{{ d.code }} {{ d.label }} ({{ d.status }}){% if not loop.last %}; {% endif %}{% endfor %}.
<span class="muted">Derived from the diary by the ICHD-3 criteria; a clinician's diagnosis is needed.</span></p>
{% else %}<p>The diary does not yet meet the criteria for any ICHD-3 code.</p>{% endif %}

<h2>Questionnaires</h2>
<p>{% for q in questionnaires %}{{ q }}{% if not loop.last %}; {% endif %}{% endfor %}.</p>

<h2>Acupuncture given</h2>
<p>{{ sessions.count }} session(s){% if sessions.first %} from {{ sessions.first }} to
{{ sessions.last }}{% endif %}.{% if sessions.points %} Points used most: {{ sessions.points }}.{% endif %}
{% if relief %} Mean pain relief right after a session: {{ relief }}.{% endif %}
Adverse events: {% for e in adverse %}{{ e }}{% if not loop.last %}; {% endif %}{% else %}none recorded{% endfor %}.</p>

<h2>Red flags (SNNOOP10) and what was done</h2>
<p>{% for f in red_flags %}<span{% if f.open %} class="flag"{% endif %}>{{ f.text }}</span>{% if not loop.last %}<br>{% endif %}{% else %}None raised.{% endfor %}</p>
</body></html>
"""

_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))


def _yes_no(value: object) -> str:
    return "yes" if value is True else "no" if value is False else ""


class Period(TypedDict):
    """One row of the letter's period table: the baseline or a 28-day block, with its label.

    A block with no diary row at all carries only its dates and ``recorded_days == 0`` (the
    template prints "not recorded" then and reads none of the counts)."""

    label: str
    start: dt.date
    end: dt.date
    days: int
    recorded_days: int
    low_compliance: NotRequired[bool]
    migraine_days: NotRequired[int]
    migraine_days_uncertain: NotRequired[int]
    headache_days: NotRequired[int]
    acute_medication_days: NotRequired[int]


class AcuteRow(TypedDict):
    """An acute medication of the latest 28 days: its name, class in words and on how many
    days it was taken (None: the rare ones named together in one row)."""

    name: str
    cls: str
    days: int | None


class PreventiveRow(TypedDict):
    name: str
    cls: str
    start: str
    dose: str


class OveruseGroup(TypedDict):
    """One ICHD-3 8.2 drug group's days against its threshold (``flag``: at or above)."""

    code: str
    label: str
    days: int
    threshold: int
    status: str
    flag: bool


class MedicationSummary(TypedDict):
    window: str
    recorded: int
    acute: list[AcuteRow]
    preventive: list[PreventiveRow]
    groups: list[OveruseGroup]


class FlagLine(TypedDict):
    open: bool
    text: str


def _period(label: str, b: Window) -> Period:
    return Period(
        label=label,
        start=b.start,
        end=b.end,
        days=b.days,
        recorded_days=b.recorded_days,
        low_compliance=b.low_compliance,
        migraine_days=b.migraine_days,
        migraine_days_uncertain=b.migraine_days_uncertain,
        headache_days=b.headache_days,
        acute_medication_days=b.acute_medication_days,
    )


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def every_block(outcomes: PatientOutcome, today: dt.date) -> tuple[list[Period], str]:
    """The baseline and EVERY complete 28-day block from the first session up to ``today``, in
    order, and a sentence about the block still running ("" if none).

    A block with no diary entry at all is listed as not recorded rather than left out, so the
    periods a reader sees always run without gaps; a block still running is not counted (a part
    block would read as a drop, DESIGN.md glossary)."""
    periods: list[Period] = []
    if outcomes.baseline is not None:
        periods.append(_period("Baseline", outcomes.baseline))
    anchor = outcomes.anchor
    if anchor is None:
        return periods, ""
    block_days = outcomes.config.block_days or PER_DAYS
    labels = OutcomeConfig(block_days=block_days)
    known = {b.index: b for b in outcomes.blocks}
    running = ""
    index = 0
    while True:
        start = anchor + dt.timedelta(days=index * block_days)
        end = start + dt.timedelta(days=block_days - 1)
        if start > today:
            break
        label = _capital(block_label(index, labels))
        if end > today:
            running = f"{label} ({start} to {end}) is still running and is counted when complete."
            break
        block = known.get(index)
        if block is not None:
            periods.append(_period(label, block))
        else:
            periods.append(
                Period(label=label, start=start, end=end, days=block_days, recorded_days=0)
            )
        index += 1
    return periods, running


def medication_summary(
    diary: Diary, today: dt.date, *, rules: DiagnosisRules = ICHD3_RULES
) -> MedicationSummary:
    """Acute medication of the latest 28 days by name and class, the preventive courses running
    today, and the days of each ICHD-3 8.2 drug group against its threshold.

    The thresholds are the domain's (``domain.diagnosis.overuse_groups``). A day without an entry
    could have been a day with intake: when the recorded days stay under a threshold but the
    missing days could reach it, the status is "uncertain", never "below"."""
    first = today - dt.timedelta(days=PER_DAYS - 1)
    units = day_units(diary, first, today, has_migraine=False)
    recorded = sum(1 for u in units if u.recorded)
    missing = len(units) - recorded
    names: dict[tuple[str, MedClass], set[dt.date]] = {}
    for raw in diary.attacks:
        attack = in_patient_zone(raw, diary.patient)
        dates = attack.local_dates()
        for dose in attack.medications:
            day = dose.taken_at.date() if dose.taken_at is not None else dates[0]
            if first <= day <= today:
                key = (" ".join(dose.name.split()) or CLASS_LABELS[dose.med_class], dose.med_class)
                names.setdefault(key, set()).add(day)
    acute: list[AcuteRow] = [
        {"name": name, "cls": CLASS_LABELS[cls], "days": len(days)}
        for (name, cls), days in sorted(names.items(), key=lambda kv: (-len(kv[1]), kv[0][0]))
    ]
    if len(acute) > ACUTE_SHOWN:  # the rarest last, named together in one row (one page)
        rest = acute[ACUTE_SHOWN - 1 :]
        other: AcuteRow = {
            "name": f"{len(rest)} other medications",
            "cls": ", ".join(sorted({str(m["cls"]) for m in rest})),
            "days": None,
        }
        acute = [*acute[: ACUTE_SHOWN - 1], other]
    taken = frozenset(c for u in units for c in u.medication_classes)
    groups: list[OveruseGroup] = []
    for code, classes, threshold in overuse_groups(rules):
        used = classes & taken
        if not used:
            continue
        # A group of several classes says more than its single-class rows only when more than
        # one of its classes was taken (8.2.3 all non-opioid analgesics; 8.2.6 mixed classes).
        if len(classes) > 1 and len(used) < 2:
            continue
        days = sum(1 for u in units if u.medication_classes & classes)
        if days >= threshold:
            status, over = "at or above the threshold", True
        elif days + missing >= threshold:
            status, over = f"uncertain ({missing} day(s) without an entry)", False
        else:
            status, over = "below the threshold", False
        label = " + ".join(sorted(CLASS_LABELS[c] for c in used))
        if len(classes) > 1:
            label += " together" if code != "8.2.6" else " (several classes together)"
        groups.append(
            {"code": code, "label": _capital(label), "days": days, "threshold": threshold,
             "status": status, "flag": over}
        )  # fmt: skip
    preventive: list[PreventiveRow] = [
        {
            "name": r.name,
            "cls": REGIMEN_LABELS.get(r.kind, "preventive"),
            "start": r.start.isoformat(),
            "dose": r.dose or "",
        }
        for r in sorted(diary.regimens, key=lambda r: (r.start, r.name))
        if r.start <= today and (r.stop is None or r.stop >= today)
    ]
    return {
        "window": f"{first} to {today}",
        "recorded": recorded,
        "acute": acute,
        "preventive": preventive,
        "groups": groups,
    }


def _questionnaire_lines(questionnaires: Questionnaires) -> list[str]:
    """HIT-6 and MIDAS always (with their bands, or "not recorded"); others when recorded."""
    # The two a physician reads for headache burden (issue 15); bands from the registry.
    banded = {key: instrument(key) for key in ("hit6", "midas")}
    found = questionnaires.instruments
    lines = []
    for key in [*banded, *(k for k in found if k not in banded)]:
        q = found.get(key)
        latest = q.latest if q is not None else None
        if q is None or latest is None:
            if key in banded:
                lines.append(f"{q.label if q is not None else banded[key].label}: {NOT_RECORDED}")
            continue
        total = latest.total
        spec = banded.get(key)
        text = f"{q.label} {total}"
        if spec is not None:
            text += f" ({spec.band(int(total)).label})"
        text += f" on {latest.date}"
        first = getattr(q, "first", None)  # an instrument asking about change has no first
        if first is not None and q.n > 1:
            text += f"; first {first.total} on {first.date}"
        lines.append(text)
    return lines


def _relief(relief: SessionRelief) -> str:
    """Mean relief right after a session with its interval, or "" when none was scored."""
    if relief.mean_relief is None or relief.ci_low is None or relief.ci_high is None:
        return ""
    return (
        f"{relief.mean_relief:.1f} points on 0-10 (95% CI {relief.ci_low:.1f} to "
        f"{relief.ci_high:.1f})"
    )


def _finding_label(finding: Mapping[str, Any]) -> str:
    """A red-flag item in words: the catalogue's label, never the stored code."""
    code = normalise_code(str(finding.get("code") or ""))
    if code is not None:
        return flag(code).label
    text = str(finding.get("label") or "")
    return text or "a red flag whose details were not recorded"


def _columns(periods: list[Period]) -> list[list[Period]]:
    """The periods in one table, or side by side in two once a long course would push the
    letter past one page (every block is still listed)."""
    if len(periods) <= ONE_COLUMN_PERIODS:
        return [periods]
    half = (len(periods) + 1) // 2
    return [periods[:half], periods[half:]]


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _red_flags(alerts: Sequence[Mapping[str, Any]]) -> list[FlagLine]:
    """Every open alert, in words; the latest few resolved ones with what was done, and how many
    earlier ones the record holds (the page must stay one page). SNNOOP10 alerts only: a
    questionnaire's self-harm alert (``kind`` "self_harm") is no red flag, and whether a
    physician is told of it is the practitioner's call (the letter's question), not a default
    line of a letter the patient may download too."""
    out: list[FlagLine] = []
    resolved: list[Mapping[str, Any]] = []
    for alert in alerts:
        if alert.get("kind", "red_flag") != "red_flag":
            continue
        if not alert.get("open"):
            resolved.append(alert)
            continue
        items = ", ".join(_finding_label(f) for f in alert.get("findings", [])) or _NO_DETAILS
        out.append({"open": True, "text": f"Open: {items}. Needs medical review."})
    resolved.sort(key=lambda a: str((a.get("resolution") or {}).get("at") or ""), reverse=True)
    for alert in resolved[:RESOLVED_FLAGS_SHOWN]:
        items = ", ".join(_finding_label(f) for f in alert.get("findings", [])) or _NO_DETAILS
        res = alert.get("resolution") or {}
        reason = _shorten(str(res.get("reason") or NOT_RECORDED), 120)
        out.append(
            {
                "open": False,
                "text": f"{items}: {res.get('kind') or NOT_RECORDED} by "
                f"{res.get('by') or NOT_RECORDED} ({str(res.get('at') or '')[:10]}): {reason}",
            }
        )
    earlier = len(resolved) - RESOLVED_FLAGS_SHOWN
    if earlier > 0:
        out.append(
            {"open": False, "text": f"{earlier} earlier resolved red flag(s) are in the record."}
        )
    return out


def _adverse(events: Sequence[Mapping[str, Any]]) -> list[str]:
    """Adverse events by kind and severity with how often, so a long course stays one line."""
    counts = Counter(
        f"{e.get('type') or NOT_RECORDED} ({e.get('severity') or 'severity not recorded'}"
        f"{', serious' if e.get('serious') else ''})"
        for e in events
    )
    return [f"{text} ×{n}" if n > 1 else text for text, n in counts.most_common()]


def letter_html(
    *,
    patient: Mapping[str, Any],
    clinic: str,
    outcomes: PatientOutcome,
    readout: Mapping[str, Any],
    sessions: Sequence[Mapping[str, Any]],
    adverse_events: Sequence[Mapping[str, Any]],
    today: dt.date,
    medication: MedicationSummary | None = None,
    practitioner: str = "",
    recipient: str = "",
    question: str = "",
) -> str:
    """The letter as HTML; pure, so the content is testable without a PDF engine.

    ``outcomes`` is the typed result the outcome panel reads too (``services.outcomes``), so
    the letter cannot drift from it; ``medication`` is :func:`medication_summary` of the
    patient's diary; ``recipient`` and ``question`` as the sender typed them (empty: the
    defaults)."""
    periods, running = every_block(outcomes, today)
    blocks = [
        Block(
            b["start"],
            b["end"],
            b["recorded_days"],
            b.get("migraine_days", 0),
            b.get("headache_days", 0),
        )
        for b in periods
    ]
    session_dates = sorted(dt.date.fromisoformat(str(s["start"])[:10]) for s in sessions)
    chart = migraine_days_chart(blocks, sessions=session_dates) if blocks else Markup("")
    change = outcomes.change
    value = change.migraine_days_per_28
    diagnoses = list(readout.get("diagnoses", []))
    overuse_dx = [d for d in diagnoses if str(d.get("code", "")).startswith("8.2")]
    overuse = (
        "The diary meets the criteria for: "
        + "; ".join(f"{d['label']} ({d.get('status')})" for d in overuse_dx)
        + "."
        if overuse_dx
        else "Over whole calendar months, the diary does not show the 8.2 criteria as met."
    )
    points = Counter(p["code"] for s in sessions for p in s.get("points", []))
    flags = _red_flags(readout.get("red_flags", []))
    birth = patient.get("birth_date")
    med: MedicationSummary = medication or {
        "window": "",
        "recorded": 0,
        "acute": [],
        "preventive": [],
        "groups": [],
    }
    html = _env.from_string(_TEMPLATE).render(
        p={
            "external_id": patient["external_id"],
            "name": patient.get("display_name", ""),
            "birth_year": str(birth)[:4] if birth else "year not recorded",
        },
        sender={"clinic": clinic or NOT_RECORDED, "practitioner": practitioner or NOT_RECORDED},
        recipient=recipient.strip() or DEFAULT_RECIPIENT,
        question=question.strip() or DEFAULT_QUESTION,
        today=today.isoformat(),
        recorded_days=sum(b["recorded_days"] for b in periods),
        periods=periods,
        period_columns=_columns(periods),
        running=running,
        chart=chart,
        change={"label": change.label, "value": f"{value:+.1f}"} if value is not None else None,
        responder=_yes_no(outcomes.responder.get("50")),
        uncertain=uncertain_text(outcomes.responder_basis),
        medication=med,
        overuse=overuse,
        overuse_flag=bool(overuse_dx),
        diagnoses=[d for d in diagnoses if d not in overuse_dx],
        questionnaires=_questionnaire_lines(outcomes.questionnaires),
        sessions={
            "count": len(sessions),
            "first": session_dates[0].isoformat() if session_dates else "",
            "last": session_dates[-1].isoformat() if session_dates else "",
            "points": ", ".join(f"{c} ({n})" for c, n in points.most_common(6)),
        },
        relief=_relief(outcomes.session_relief),
        adverse=_adverse(adverse_events),
        red_flags=flags,
    )
    return html


def render_pdf(html: str) -> bytes:
    """HTML to PDF. Imported lazily: WeasyPrint needs Pango, which only this path uses."""
    from weasyprint import HTML

    pdf: bytes = HTML(string=html).write_pdf()
    return pdf
