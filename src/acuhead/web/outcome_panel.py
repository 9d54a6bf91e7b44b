"""The outcome panel of the practitioner's patient page, as rows ready to print.

Input is the typed result of :func:`acuhead.services.outcomes.patient_outcomes`
(:class:`acuhead.analytics.results.PatientOutcomes`), the same figures as ``acuhead outcomes``
and the practice report, so the page cannot disagree with either. This module only words and
formats them, the within-patient association of a diary measure with headache days included
(:func:`association_text`): that figure is computed in :mod:`acuhead.domain.mechanisms` and
carried by the result, because a bare pair of trends invites reading one as the cause of the
other, and the page and the JSON must not disagree about it. Nothing here recomputes a domain
result.

Pure: no I/O, no clock. Numbers are formatted by :mod:`acuhead.present.format` (compact style),
the words shared with the letter come from :mod:`acuhead.present.labels`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from acuhead.analytics.results import (
    Association,
    BlockWindow,
    NotMeasurable,
    PatientMechanisms,
    PatientOutcomes,
    QuestionnaireLatest,
    Questionnaires,
    QuestionnaireTrend,
    Score,
    SessionRelief,
    Triggers,
    Window,
)

# Re-exported: the fewest blocks an association needs is the domain's, named here as before.
from acuhead.domain.instruments import REGISTRY
from acuhead.domain.mechanisms import MIN_ASSOCIATION_BLOCKS as MIN_ASSOCIATION_BLOCKS
from acuhead.domain.mechanisms import BlockVerdict, get_mechanism
from acuhead.domain.triggers import NOTE_ASSOCIATION, NOTE_DEPENDENCE, NOTE_MULTIPLE, Verdict
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
# From the registry: instruments with a baseline get a first/latest/change line; the one that
# asks about change since treatment began (a global impression) gets its latest answer.
INSTRUMENTS = tuple(s.id for s in REGISTRY if not s.since_treatment)
GLOBAL_CHANGE = next(s.id for s in REGISTRY if s.since_treatment)

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
    not_measurable: tuple[NotMeasurable, ...]
    triggers: tuple[TriggerLine, ...]
    trigger_minimum: str
    trigger_notes: tuple[str, ...]
    trigger_window_days: int
    level: str


def _cells(window: Window) -> tuple[Cell, ...]:
    change = window.change if isinstance(window, BlockWindow) else None
    return tuple(
        Cell(
            rate=num(window.rate(key)),
            count=int(getattr(window, key)),
            change="" if change is None else signed(getattr(change, f"{key}_per_28")),
            uncertain=window.migraine_days_uncertain if key == "migraine_days" else 0,
        )
        for key, _ in MEASURES
    )


def window_row(window: Window, primary_index: int, today: dt.date | None = None) -> WindowRow:
    recorded = window.recorded_days
    responder = window.responder if isinstance(window, BlockWindow) else None
    return WindowRow(
        index=window.index,
        label=window.label,
        start=window.start,
        end=window.end,
        days=window.days,
        recorded=recorded,
        compliance=percent(window.compliance),
        low_compliance=window.low_compliance,
        evaluable=window.evaluable,
        late=f"{window.late_days} ({percent(window.late_share)})" if recorded else DASH,
        cells=_cells(window),
        responder="" if window.index < 0 else responder_text(responder),
        primary=window.index == primary_index,
        in_progress=today is not None and window.start <= today < window.end,
    )


def _endpoint(out: PatientOutcomes) -> Endpoint:
    change = out.change
    index = change.block
    start = end = None
    if out.anchor is not None:
        start = out.anchor + dt.timedelta(days=index * out.config.block_days)
        end = start + dt.timedelta(days=out.config.block_days - 1)
    base = out.baseline
    block = out.block(index) if index >= 0 else None

    def rate(window: Window | None, key: str) -> float | None:
        return window.rate(key) if window is not None else None

    extra = tuple(
        (label, num(rate(base, key)), num(rate(block, key)), signed(change.rate(key)))
        for key, label in MEASURES[1:]
    )
    return Endpoint(
        label=change.label,
        start=start,
        end=end,
        baseline_rate=num(rate(base, "migraine_days")),
        block_rate=num(rate(block, "migraine_days")),
        change=signed(change.migraine_days_per_28),
        change_percent=signed(change.migraine_days_percent, 0),
        evaluable=change.evaluable,
        reason=change.reason,
        responders=tuple(out.responder.items()),
        extra=extra,
        uncertain=uncertain_text(out.responder_basis),
    )


def _score(entry: Score | None) -> str:
    if entry is None:
        return DASH
    band = f", {entry.band.replace('_', ' ')}" if entry.band else ""
    return f"{num(entry.total, 0)}{band} ({entry.date:%d %b %Y})"


def _questionnaires(q: Questionnaires) -> tuple[tuple[QuestionnaireLine, ...], str]:
    found = q.instruments
    lines = tuple(
        QuestionnaireLine(
            label=entry.label,
            n=entry.n,
            first=_score(entry.first),
            latest=_score(entry.latest) if entry.n > 1 else DASH,
            change=signed(entry.change, 0),
            first_before_treatment=entry.first_before_treatment,
        )
        for key in INSTRUMENTS
        if isinstance(entry := found.get(key), QuestionnaireTrend)
    )
    pgic = found.get(GLOBAL_CHANGE)
    latest = pgic.latest if isinstance(pgic, QuestionnaireLatest) else None
    pgic_text = (
        f"{str(latest.band or num(latest.total, 0)).replace('_', ' ')} "
        f"({latest.date:%d %b %Y}; {pgic.n} answered)"
        if pgic is not None and latest is not None
        else "not answered yet"
    )
    return lines, pgic_text


def _relief(r: SessionRelief) -> str:
    n = r.sessions_with_scores
    if not n:
        return "No session has pain scored before and after."
    ci = interval(r.ci_low, r.ci_high, r.level, 1)
    tail = f" ({ci})" if ci else " (too few sessions for an interval)"
    plural = "s" if n != 1 else ""
    return f"{num(r.mean_relief)} points lower after than before{tail}, {n} session{plural}"


def association_text(assoc: Association) -> tuple[str, bool]:
    """The sentence for one measure's within-patient association as the outcomes give it
    (``mechanisms.observable[].association``, computed by
    :func:`acuhead.domain.mechanisms.within_patient_association`), and whether a coefficient
    was computed. Only words: the figures are the result's own."""
    verdict = assoc.verdict
    n = assoc.n_blocks
    if verdict is BlockVerdict.NO_BASELINE:
        return ("No association can be given: the baseline has no usable figure.", False)
    if verdict is BlockVerdict.TOO_FEW_BLOCKS:
        return (
            f"Not enough data for an association: {n} block{'s' if n != 1 else ''} with both "
            f"figures (need {assoc.min_blocks}).",
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
    ci = interval(assoc.ci_low, assoc.ci_high, assoc.level)
    return (
        f"Across {n} blocks its change from baseline {how} "
        f"(Spearman \u03c1 {num(assoc.rho, 2)}, {ci}): an association, not a cause.",
        True,
    )


def _mechanisms(
    m: PatientMechanisms, primary: int, labels: Mapping[int, str]
) -> tuple[MechanismLine, ...]:
    lines = []
    for entry in m.observable:
        base = next((b for b in entry.by_block if b.index < 0), None)
        target = next((b for b in entry.by_block if b.index == primary), None)
        hd_base = base.headache_days_per_28 if base is not None else None
        hd_now = target.headache_days_per_28 if target is not None else None
        hd_change = None if hd_base is None or hd_now is None else hd_now - hd_base
        sentence, found = association_text(entry.association)
        lines.append(
            MechanismLine(
                measure=entry.measure,
                label=MECHANISM_MEASURES.get(entry.measure, entry.measure),
                mechanism_claim=get_mechanism(entry.mechanism).claim if entry.mechanism else "",
                grade=entry.grade,
                baseline=num(entry.baseline_mean),
                at_primary=num(target.mean if target is not None else None),
                change=signed(entry.change_at_primary),
                headache_change=signed(hd_change),
                association=sentence,
                association_found=found,
                trend=tuple(
                    TrendPoint(
                        label=labels.get(b.index, f"block {b.index}"),
                        mean=num(b.mean),
                        days=b.days,
                        headache_days=num(b.headache_days_per_28),
                    )
                    for b in entry.by_block
                ),
            )
        )
    return tuple(lines)


def _triggers(t: Triggers) -> tuple[TriggerLine, ...]:
    lines = []
    for f in t.factors:
        # The service may compute a ratio and still judge the data too thin (e.g. a factor
        # named only on attack records): then no ratio is shown.
        enough = f.verdict is not Verdict.NOT_ENOUGH_DATA and f.odds_ratio is not None
        lines.append(
            TriggerLine(
                factor=f.factor,
                label=f.label,
                exposed_days=f.exposed_days,
                unexposed_days=f.unexposed_days,
                exposed_risk=percent(f.exposed_risk),
                unexposed_risk=percent(f.unexposed_risk),
                odds_ratio=num(f.odds_ratio, 2) if enough else "not enough data",
                ci=interval(f.ci_low, f.ci_high, f.level) if enough else "",
                verdict=str(f.verdict),
                reason=f.reason,
                enough=enough,
                notes=tuple(n for n in f.notes if n not in GENERAL_TRIGGER_NOTES),
            )
        )
    # Factors with a result first; within each group the service's order is kept.
    lines.sort(key=lambda x: not x.enough)
    return tuple(lines)


def build_panel(
    out: PatientOutcomes,
    *,
    session_days: Sequence[dt.date] = (),
    today: dt.date | None = None,
) -> OutcomePanel:
    """The panel for one patient's outcomes; ``session_days`` marks the course, and the block
    holding ``today`` is shown as in progress."""
    config = out.config
    level = config.level
    primary = config.primary_block
    anchor = out.anchor
    windows: list[Window] = ([out.baseline] if out.baseline is not None else []) + list(out.blocks)
    rows = tuple(window_row(w, primary, today) for w in windows)
    labels = {r.index: "baseline" if r.index < 0 else r.label for r in rows}
    min_c = config.min_compliance
    needed = -(-round(min_c * 1_000_000) * config.baseline_days // 1_000_000)  # ceil, as make_block
    questionnaires, pgic = _questionnaires(out.questionnaires)
    mech = out.mechanisms
    trig = out.triggers
    minimum = trig.minimum
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
        sessions=out.sessions.count,
        adverse_events=out.sessions.adverse_events,
        serious_adverse_events=out.sessions.serious_adverse_events,
        rows=rows,
        endpoint=_endpoint(out),
        min_compliance=f"{round(min_c * 100)} %",
        questionnaires=questionnaires,
        questionnaire_note=out.questionnaires.note,
        pgic=pgic,
        relief=_relief(out.session_relief),
        relief_note=out.session_relief.note,
        mechanisms=_mechanisms(mech, primary, labels),
        mechanism_label=mech.label,
        mechanism_context=mech.context,
        mechanism_note=mech.note,
        association_caveat=ASSOCIATION_CAVEAT,
        not_measurable=tuple(mech.not_measurable),
        triggers=_triggers(trig),
        trigger_minimum=(
            f"A factor is compared once the diary has at least {minimum.exposed_days} "
            f"days with it and {minimum.unexposed_days} without, and at least "
            f"{minimum.attack_windows} windows with an attack and "
            f"{minimum.attack_free_windows} without."
        ),
        trigger_notes=GENERAL_TRIGGER_NOTES if trig.factors else (),
        trigger_window_days=trig.window_days,
        level=f"{round(level * 100)} %",
    )
