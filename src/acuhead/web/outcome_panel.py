"""The outcome panel of the practitioner's patient page, as rows ready to print.

Input is the outcomes JSON of :func:`acuhead.services.outcomes.patient_outcomes`, the same
figures as ``acuhead outcomes`` and the practice report, so the page cannot disagree with
either. This module only words and formats them, the within-patient association of a diary
measure with headache days included (:func:`association_text`): that figure is computed in
:mod:`acuhead.domain.mechanisms` and carried by the JSON, because a bare pair of trends invites
reading one as the cause of the other, and the page and the JSON must not disagree about it.

Pure: no I/O, no clock. Numbers are formatted by :mod:`acuhead.present.format` (compact style),
the words shared with the letter come from :mod:`acuhead.present.labels`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Re-exported: the fewest blocks an association needs is the domain's, named here as before.
from acuhead.domain.mechanisms import MIN_ASSOCIATION_BLOCKS as MIN_ASSOCIATION_BLOCKS
from acuhead.domain.mechanisms import BlockVerdict, get_mechanism
from acuhead.domain.mechanisms import block_association as compute_association
from acuhead.domain.triggers import NOTE_ASSOCIATION, NOTE_DEPENDENCE, NOTE_MULTIPLE
from acuhead.present.format import DASH, interval, num, percent, signed
from acuhead.present.labels import responder_text, uncertain_text

GENERAL_TRIGGER_NOTES = (NOTE_DEPENDENCE, NOTE_ASSOCIATION, NOTE_MULTIPLE)

# The window measures of the panel: key in the outcomes JSON, label.
MEASURES: tuple[tuple[str, str], ...] = (
    ("migraine_days", "Migraine days"),
    ("headache_days", "Headache days"),
    ("moderate_severe_days", "Moderate or severe days"),
    ("acute_medication_days", "Acute-medication days"),
    ("attacks", "Attacks"),
)
MECHANISM_MEASURES: dict[str, str] = {
    "stress": "Stress (0-10)",
    "neck_tension": "Neck tension (0-10)",
    "sleep_hours": "Sleep (hours a night)",
}
INSTRUMENTS = ("hit6", "midas", "pss10")

NO_COURSE = (
    "No treatment session is recorded yet, so there is nothing to compare. Outcomes are "
    "measured the way preventive-treatment trials measure them: the baseline starts 28 days "
    "before the first session, and each later 28-day block is compared with it. For a usable "
    "baseline the diary must be kept on at least {needed} of those 28 days ({percent} %)."
)
ASSOCIATION_CAVEAT = (
    "Blocks of one patient's diary are not independent and nothing here has a control: the "
    "interval is approximate, and a measure moving with headache days may follow the headaches, "
    "or both may follow something else (expectation, season, other treatment)."
)


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(str(value)) if value else None


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True, slots=True)
class Cell:
    """One measure in one window: the rate per 28 days, the raw count, the change."""

    rate: str  # per 28 recorded days; "–" when the window gets no rate (low compliance)
    count: int  # as recorded, always shown
    change: str  # block minus baseline; "" on the baseline row
    uncertain: int = 0  # migraine days only: recorded days whose migraine status is unknown


@dataclass(frozen=True, slots=True)
class WindowRow:
    index: int  # -1 baseline, 0.. blocks
    label: str
    start: dt.date
    end: dt.date
    days: int
    recorded: int
    compliance: str
    low_compliance: bool
    evaluable: bool
    late: str
    cells: tuple[Cell, ...]
    responder: str
    primary: bool
    in_progress: bool  # today falls inside it: few days recorded is expected, not a lapse

    @property
    def is_baseline(self) -> bool:
        return self.index < 0


@dataclass(frozen=True, slots=True)
class Endpoint:
    """The change at the primary block (default weeks 9-12), the trial endpoint."""

    label: str
    start: dt.date | None
    end: dt.date | None
    baseline_rate: str
    block_rate: str
    change: str
    change_percent: str
    evaluable: bool
    reason: str
    responders: tuple[tuple[str, bool | None], ...]
    extra: tuple[tuple[str, str, str, str], ...]  # label, baseline, block, change
    uncertain: str = ""  # uncertain days left out of the responder count (issue 12 item 8)


@dataclass(frozen=True, slots=True)
class QuestionnaireLine:
    label: str
    n: int
    first: str
    latest: str
    change: str
    first_before_treatment: bool | None


@dataclass(frozen=True, slots=True)
class TrendPoint:
    label: str
    mean: str
    days: int
    headache_days: str


@dataclass(frozen=True, slots=True)
class MechanismLine:
    measure: str
    label: str
    mechanism_claim: str
    grade: str | None
    baseline: str
    at_primary: str
    change: str
    headache_change: str
    association: str
    association_found: bool  # a coefficient was computed (enough blocks, both vary)
    trend: tuple[TrendPoint, ...]


@dataclass(frozen=True, slots=True)
class TriggerLine:
    factor: str
    label: str
    exposed_days: int
    unexposed_days: int
    exposed_risk: str
    unexposed_risk: str
    odds_ratio: str
    ci: str
    verdict: str
    reason: str
    enough: bool
    notes: tuple[str, ...]  # what applies to this factor only (the general notes come once)


@dataclass(frozen=True, slots=True)
class OutcomePanel:
    has_course: bool
    needs: str  # what is missing before outcomes can be computed ("" when there is a course)
    anchor: dt.date | None
    baseline_start: dt.date | None
    baseline_end: dt.date | None
    first_session: dt.date | None
    last_session: dt.date | None
    sessions: int
    adverse_events: int
    serious_adverse_events: int
    rows: tuple[WindowRow, ...]
    endpoint: Endpoint
    min_compliance: str
    questionnaires: tuple[QuestionnaireLine, ...]
    questionnaire_note: str
    pgic: str
    relief: str
    relief_note: str
    mechanisms: tuple[MechanismLine, ...]
    mechanism_label: str
    mechanism_context: str
    mechanism_note: str
    association_caveat: str
    not_measurable: tuple[dict[str, Any], ...]
    triggers: tuple[TriggerLine, ...]
    trigger_minimum: str
    trigger_notes: tuple[str, ...]
    trigger_window_days: int
    level: str


def _cells(window: Mapping[str, Any], baseline: bool) -> tuple[Cell, ...]:
    change = window.get("change") or {}
    return tuple(
        Cell(
            rate=num(window.get(f"{key}_per_28")),
            count=int(window.get(key) or 0),
            change="" if baseline else signed(change.get(f"{key}_per_28")),
            uncertain=int(window.get("migraine_days_uncertain") or 0)
            if key == "migraine_days"
            else 0,
        )
        for key, _ in MEASURES
    )


def window_row(
    window: Mapping[str, Any], primary_index: int, today: dt.date | None = None
) -> WindowRow:
    index = int(window["index"])
    late_days = int(window.get("late_days") or 0)
    recorded = int(window.get("recorded_days") or 0)
    start = dt.date.fromisoformat(str(window["start"]))
    end = dt.date.fromisoformat(str(window["end"]))
    return WindowRow(
        index=index,
        label=str(window["label"]),
        start=start,
        end=end,
        days=int(window["days"]),
        recorded=recorded,
        compliance=percent(window.get("compliance")),
        low_compliance=bool(window.get("low_compliance")),
        evaluable=bool(window.get("evaluable")),
        late=f"{late_days} ({percent(window.get('late_share'))})" if recorded else DASH,
        cells=_cells(window, index < 0),
        responder="" if index < 0 else responder_text(window.get("responder")),
        primary=index == primary_index,
        in_progress=today is not None and start <= today < end,
    )


def _endpoint(out: Mapping[str, Any]) -> Endpoint:
    config = out["config"]
    change = out["change"]
    index = int(change["block"])
    anchor = _date(out.get("anchor"))
    start = end = None
    if anchor is not None:
        start = anchor + dt.timedelta(days=index * int(config["block_days"]))
        end = start + dt.timedelta(days=int(config["block_days"]) - 1)
    base: Mapping[str, Any] = out.get("baseline") or {}
    block: Mapping[str, Any] = next(
        (b for b in out.get("blocks", []) if int(b["index"]) == index), {}
    )
    extra = tuple(
        (
            label,
            num(base.get(f"{key}_per_28")),
            num(block.get(f"{key}_per_28")),
            signed(change.get(f"{key}_per_28")),
        )
        for key, label in MEASURES[1:]
    )
    flags = out.get("responder") or {}
    return Endpoint(
        label=str(change["label"]),
        start=start,
        end=end,
        baseline_rate=num(base.get("migraine_days_per_28")),
        block_rate=num(block.get("migraine_days_per_28")),
        change=signed(change.get("migraine_days_per_28")),
        change_percent=signed(change.get("migraine_days_percent"), 0),
        evaluable=bool(change.get("evaluable")),
        reason=str(change.get("reason") or ""),
        responders=tuple((k, v) for k, v in flags.items()),
        extra=extra,
        uncertain=uncertain_text(out.get("responder_basis")),
    )


def _score(entry: Mapping[str, Any] | None) -> str:
    if not entry:
        return DASH
    band = f", {str(entry['band']).replace('_', ' ')}" if entry.get("band") else ""
    day = dt.date.fromisoformat(str(entry["date"]))
    return f"{num(entry['total'], 0)}{band} ({day:%d %b %Y})"


def _questionnaires(q: Mapping[str, Any]) -> tuple[tuple[QuestionnaireLine, ...], str]:
    lines = tuple(
        QuestionnaireLine(
            label=str(q[key]["label"]),
            n=int(q[key]["n"]),
            first=_score(q[key].get("first")),
            latest=_score(q[key].get("latest")) if int(q[key]["n"]) > 1 else DASH,
            change=signed(q[key].get("change"), 0),
            first_before_treatment=q[key].get("first_before_treatment"),
        )
        for key in INSTRUMENTS
        if key in q
    )
    pgic = q.get("pgic") or {}
    latest = pgic.get("latest")
    pgic_text = (
        f"{str(latest['band'] or num(latest['total'], 0)).replace('_', ' ')} "
        f"({dt.date.fromisoformat(str(latest['date'])):%d %b %Y}; {pgic['n']} answered)"
        if latest
        else "not answered yet"
    )
    return lines, pgic_text


def _relief(r: Mapping[str, Any]) -> str:
    n = int(r.get("sessions_with_scores") or 0)
    if not n:
        return "No session has pain scored before and after."
    ci = interval(r.get("ci_low"), r.get("ci_high"), float(r.get("level") or 0.95), 1)
    tail = f" ({ci})" if ci else " (too few sessions for an interval)"
    plural = "s" if n != 1 else ""
    return f"{num(r.get('mean_relief'))} points lower after than before{tail}, {n} session{plural}"


def association_text(assoc: Mapping[str, Any]) -> tuple[str, bool]:
    """The sentence for one measure's within-patient association as the outcomes JSON gives
    it (``mechanisms.observable[].association``, computed by
    :func:`acuhead.domain.mechanisms.within_patient_association`), and whether a coefficient
    was computed. Only words: the figures are the JSON's own."""
    verdict = BlockVerdict(str(assoc["verdict"]))
    n = int(assoc["n_blocks"])
    if verdict is BlockVerdict.NO_BASELINE:
        return ("No association can be given: the baseline has no usable figure.", False)
    if verdict is BlockVerdict.TOO_FEW_BLOCKS:
        return (
            f"Not enough data for an association: {n} block{'s' if n != 1 else ''} with both "
            f"figures (need {int(assoc['min_blocks'])}).",
            False,
        )
    if verdict is BlockVerdict.NO_VARIATION:
        return ("Not enough data for an association: one of the two did not vary.", False)
    how = {
        BlockVerdict.SAME_DIRECTION: "tended to change in the same direction as headache days",
        BlockVerdict.OPPOSITE_DIRECTION: (
            "tended to change in the opposite direction to headache days"
        ),
    }.get(verdict, "showed no clear association with headache days")
    ci = interval(assoc["ci_low"], assoc["ci_high"], float(assoc["level"]))
    return (
        f"Across {n} blocks its change from baseline {how} "
        f"(Spearman \u03c1 {num(assoc['rho'], 2)}, {ci}): an association, not a cause.",
        True,
    )


def block_association(
    by_block: Sequence[Mapping[str, Any]], *, level: float = 0.95
) -> tuple[str, bool]:
    """How a measure's change from baseline went with the change in headache days per 28,
    across this patient's blocks, worded; for a ``by_block`` list without the JSON's
    ``association`` beside it. Same computation as the outcomes JSON."""
    return association_text(compute_association(by_block, level=level).as_dict())


def _mechanisms(
    m: Mapping[str, Any], primary: int, level: float, labels: Mapping[int, str]
) -> tuple[MechanismLine, ...]:
    lines = []
    for entry in m.get("observable", []):
        measure = str(entry["measure"])
        by_block = list(entry.get("by_block") or [])
        base: Mapping[str, Any] = next((b for b in by_block if int(b["index"]) < 0), {})
        target: Mapping[str, Any] = next((b for b in by_block if int(b["index"]) == primary), {})
        hd_base = base.get("headache_days_per_28")
        hd_now = target.get("headache_days_per_28")
        hd_change = None if hd_base is None or hd_now is None else hd_now - hd_base
        key = entry.get("mechanism")
        assoc = entry.get("association")
        sentence, found = (
            association_text(assoc) if assoc else block_association(by_block, level=level)
        )
        lines.append(
            MechanismLine(
                measure=measure,
                label=MECHANISM_MEASURES.get(measure, measure),
                mechanism_claim=get_mechanism(str(key)).claim if key else "",
                grade=entry.get("grade"),
                baseline=num(entry.get("baseline_mean")),
                at_primary=num(target.get("mean") if target else None),
                change=signed(entry.get("change_at_primary")),
                headache_change=signed(hd_change),
                association=sentence,
                association_found=found,
                trend=tuple(
                    TrendPoint(
                        label=labels.get(int(b["index"]), f"block {int(b['index'])}"),
                        mean=num(b.get("mean")),
                        days=int(b.get("days") or 0),
                        headache_days=num(b.get("headache_days_per_28")),
                    )
                    for b in by_block
                ),
            )
        )
    return tuple(lines)


def _triggers(t: Mapping[str, Any]) -> tuple[TriggerLine, ...]:
    lines = []
    for f in t.get("factors", []):
        # The service may compute a ratio and still judge the data too thin (e.g. a factor
        # named only on attack records): then no ratio is shown.
        enough = f.get("verdict") != "not enough data" and f.get("odds_ratio") is not None
        lines.append(
            TriggerLine(
                factor=str(f["factor"]),
                label=str(f["label"]),
                exposed_days=int(f["exposed_days"]),
                unexposed_days=int(f["unexposed_days"]),
                exposed_risk=percent(f.get("exposed_risk")),
                unexposed_risk=percent(f.get("unexposed_risk")),
                odds_ratio=num(f.get("odds_ratio"), 2) if enough else "not enough data",
                ci=interval(f.get("ci_low"), f.get("ci_high"), float(f.get("level") or 0.95))
                if enough
                else "",
                verdict=str(f["verdict"]),
                reason=str(f.get("reason") or ""),
                enough=enough,
                notes=tuple(str(n) for n in f.get("notes") or () if n not in GENERAL_TRIGGER_NOTES),
            )
        )
    # Factors with a result first; within each group the service's order is kept.
    lines.sort(key=lambda x: not x.enough)
    return tuple(lines)


def build_panel(
    out: Mapping[str, Any],
    *,
    session_days: Sequence[dt.date] = (),
    today: dt.date | None = None,
) -> OutcomePanel:
    """The panel for one patient's outcomes JSON; ``session_days`` marks the course, and the
    block holding ``today`` is shown as in progress."""
    config = out["config"]
    level = float(config.get("level", 0.95))
    primary = int(config["primary_block"])
    anchor = _date(out.get("anchor"))
    windows = ([out["baseline"]] if out.get("baseline") else []) + list(out.get("blocks") or [])
    rows = tuple(window_row(w, primary, today) for w in windows)
    labels = {r.index: "baseline" if r.index < 0 else r.label for r in rows}
    min_c = float(config["min_compliance"])
    baseline_days = int(config["baseline_days"])
    needed = -(-round(min_c * 1_000_000) * baseline_days // 1_000_000)  # ceil, as make_block
    questionnaires, pgic = _questionnaires(out.get("questionnaires") or {})
    relief = out.get("session_relief") or {}
    mech = out.get("mechanisms") or {}
    trig = out.get("triggers") or {}
    minimum = trig.get("minimum") or {}
    sessions = out.get("sessions") or {}
    return OutcomePanel(
        has_course=anchor is not None,
        needs=""
        if anchor is not None
        else NO_COURSE.format(needed=needed, percent=round(min_c * 100)),
        anchor=anchor,
        baseline_start=rows[0].start if rows else None,
        baseline_end=rows[0].end if rows else None,
        first_session=min(session_days) if session_days else anchor,
        last_session=max(session_days) if session_days else anchor,
        sessions=int(sessions.get("count") or 0),
        adverse_events=int(sessions.get("adverse_events") or 0),
        serious_adverse_events=int(sessions.get("serious_adverse_events") or 0),
        rows=rows,
        endpoint=_endpoint(out),
        min_compliance=f"{round(min_c * 100)} %",
        questionnaires=questionnaires,
        questionnaire_note=str((out.get("questionnaires") or {}).get("note", "")),
        pgic=pgic,
        relief=_relief(relief),
        relief_note=str(relief.get("note", "")),
        mechanisms=_mechanisms(mech, primary, level, labels),
        mechanism_label=str(mech.get("label", "")),
        mechanism_context=str(mech.get("context", "")),
        mechanism_note=str(mech.get("note", "")),
        association_caveat=ASSOCIATION_CAVEAT,
        not_measurable=tuple(mech.get("not_measurable") or ()),
        triggers=_triggers(trig),
        trigger_minimum=(
            f"A factor is compared once the diary has at least {minimum.get('exposed_days')} "
            f"days with it and {minimum.get('unexposed_days')} without, and at least "
            f"{minimum.get('attack_windows')} windows with an attack and "
            f"{minimum.get('attack_free_windows')} without."
            if minimum
            else ""
        ),
        trigger_notes=GENERAL_TRIGGER_NOTES if trig.get("factors") else (),
        trigger_window_days=int(trig.get("window_days") or 0),
        level=f"{round(level * 100)} %",
    )
