"""The safety gate: one rule decides whether a patient is ready for a treatment plan.

Every path that plans (the prescription builder page, the API, ``acuhead prescribe`` and
imports) asks :func:`decide` and refuses while the answer is "not ready". The rule, with its
sources:

1. **A current SNNOOP10 intake screen** (Do et al., Neurology 2019; CLINICAL.md section 2: 15
   yes/no items, any "yes" asks for medical review). No screen is not the same as no red flags,
   so a missing screen, or one older than the validity period (default 12 months, a product
   choice: ``ACUHEAD_SCREEN_VALID_MONTHS``), answers "screen needed" and blocks like a flag.
2. **Every open red-flag alert** blocks (SNNOOP10, CLINICAL.md 2).
3. **Every SNNOOP10 item the record itself shows** blocks, even when the intake answer was
   missing or "no" (:func:`record_flags`):

   * P6 pregnancy or puerperium: the safety profile says pregnant or puerperium (after
     childbirth) (CLINICAL.md 2 item 11);
   * P10 painkiller overuse: any ICHD-3 8.2 medication-overuse diagnosis, definite or probable,
     from the diary (CLINICAL.md 1 "8.2" and 2 item 15), with the class and intake days shown;
   * O sudden onset: an attack whose intensity readings reach 9 or 10 within one minute of its
     start (thunderclap; CLINICAL.md 2 item 4);
   * P5 progressive: headache days rising over at least 3 consecutive 28-day windows to at least
     double the first (CLINICAL.md 2 item 10), for review;
   * O older age: the screen's first-headache date is on or after the 65th birthday
     (CLINICAL.md 0.3 and 2 item 5). A patient aged 65 or more whose onset date is unknown
     gets "screen needed: onset date", and a patient whose birth date is unknown gets "screen
     needed: birth date" (onset known or not), since the rule cannot be checked.

A record-derived flag stops blocking once a referral or clearance with a written reason covers
its item (an alert with the same code, resolved within the validity period): the same
mechanism as an intake alert. Pure: no clock, no I/O; the caller passes ``today``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from acuhead.domain.diagnosis import Diagnosis
from acuhead.domain.diary import Attack, Diary, PatientFacts
from acuhead.domain.ichd3 import in_patient_zone
from acuhead.domain.redflags import (
    CATALOGUE,
    OLDER_AGE_ONSET_AFTER_YEARS,
    RedFlagAlert,
    RedFlagFinding,
    birthday,
    flag,
    older_age_onset,
)

# Product choice (not from a source): how long a completed SNNOOP10 screen stays current.
SCREEN_VALID_MONTHS = 12

# CLINICAL.md 2 item 4 (thunderclap: full strength "within a minute"): a reading of 9 or 10
# on the 0-10 scale no later than 60 s after the attack's start.
THUNDERCLAP_MIN_INTENSITY = 9
THUNDERCLAP_WITHIN = dt.timedelta(minutes=1)

# Flags raised by single events (one line of evidence per attack): a referral or clearance
# covers the events it was shown, and a new event blocks again. The other record flags are
# states (pregnant, overuse, a rising pattern): a clearance covers the state for the period.
PER_EVENT_CODES = frozenset({"O_onset_sudden"})

# CLINICAL.md 2 item 10 (progressive headache), made countable for a diary: headache days per
# 28-day window rising in at least 3 consecutive windows, up to the latest, to at least twice the
# first. Product choice; a flag for review, never a diagnosis. At most the last 12 windows.
PROGRESSIVE_WINDOW_DAYS = 28
PROGRESSIVE_MIN_WINDOWS = 3
PROGRESSIVE_FACTOR = 2
PROGRESSIVE_LOOKBACK_WINDOWS = 12
PROGRESSIVE_MIN_RECORDED_DAYS = 14  # half a window: fewer recorded days cannot show a rise

SCREEN_NEEDED = "screen_needed"


class ScreenStatus(StrEnum):
    CURRENT = "current"
    MISSING = "missing"
    INCOMPLETE = "incomplete"
    EXPIRED = "expired"
    ONSET_NEEDED = "onset_date_needed"
    BIRTH_DATE_NEEDED = "birth_date_needed"


ALL_ITEMS = frozenset(f.code for f in CATALOGUE)


@dataclass(frozen=True, slots=True)
class IntakeScreen:
    """A SNNOOP10 intake screen: when, the first-headache date if known, and which of the 15
    items were answered (catalogue codes). Only a screen that asked all 15 is complete
    (CLINICAL.md 2: "15 yes/no items")."""

    screened_on: dt.date
    first_headache_onset: dt.date | None = None
    answered: frozenset[str] = ALL_ITEMS


@dataclass(frozen=True, slots=True)
class KnownAlert:
    """A stored alert with its id (None for one that only lives in a document)."""

    id: int | None
    alert: RedFlagAlert


@dataclass(frozen=True, slots=True)
class ScreenState:
    status: ScreenStatus
    screened_on: dt.date | None
    valid_until: dt.date | None  # first day the screen no longer counts
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {
            "status": self.status.value,
            "screened_on": self.screened_on.isoformat() if self.screened_on else None,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class BlockingReason:
    """Why planning is refused. ``code`` is a SNNOOP10 catalogue code or ``screen_needed``;
    ``source`` is "screen", "alert" (an open alert, ``alert_id``) or "record" (derived from the
    record and not yet covered by a referral or clearance)."""

    code: str
    label: str
    reason: str
    evidence: tuple[str, ...]
    source: str
    alert_id: int | None = None

    def line(self) -> str:
        evidence = f" ({'; '.join(self.evidence)})" if self.evidence else ""
        return f"{self.label}: {self.reason}{evidence}"

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "label": self.label,
            "reason": self.reason,
            "evidence": list(self.evidence),
            "source": self.source,
            "alert_id": self.alert_id,
        }


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    screen: ScreenState
    blocking: tuple[BlockingReason, ...] = field(default_factory=tuple)

    @property
    def screen_needed(self) -> bool:
        return self.screen.status is not ScreenStatus.CURRENT

    def message(self) -> str:
        """The refusal text for a 409 or CLI exit 6: each reason on its own line."""
        if self.ready:
            return "ready to plan"
        flags = any(b.code != SCREEN_NEEDED for b in self.blocking)
        lines = [
            "Not ready to plan: this patient needs medical review before treatment is planned "
            "(SNNOOP10, Do et al. 2019)."
            if flags
            else "Not ready to plan: screen needed before treatment is planned."
        ]
        lines += [f"- {b.line()}" for b in self.blocking]
        if flags:
            lines.append("Record a referral or a clearance with a reason to continue.")
        if self.screen_needed:
            lines.append("Record a complete SNNOOP10 intake screen to continue.")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, object]:
        return {
            "ready": self.ready,
            "screen": self.screen.as_dict(),
            "blocking": [b.as_dict() for b in self.blocking],
        }


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole calendar months; the day is clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    last = (nxt - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


def screen_state(
    screen: IntakeScreen | None,
    *,
    patient: PatientFacts,
    today: dt.date,
    valid_months: int = SCREEN_VALID_MONTHS,
) -> ScreenState:
    """Is the latest completed screen current? (CLINICAL.md 2; validity is a product choice.)"""
    if screen is None:
        return ScreenState(
            ScreenStatus.MISSING,
            None,
            None,
            "no SNNOOP10 intake screen is recorded; no screen is not the same as no red flags",
        )
    until = add_months(screen.screened_on, valid_months)
    missing = [f.letter for f in CATALOGUE if f.code not in screen.answered]
    if missing:
        return ScreenState(
            ScreenStatus.INCOMPLETE,
            screen.screened_on,
            until,
            f"the last SNNOOP10 intake screen ({screen.screened_on.isoformat()}) did not ask "
            f"every item (unanswered: {', '.join(missing)}); all 15 must be asked",
        )
    if today >= until:
        return ScreenState(
            ScreenStatus.EXPIRED,
            screen.screened_on,
            until,
            f"the last SNNOOP10 intake screen ({screen.screened_on.isoformat()}) is older than "
            f"{valid_months} months",
        )
    if patient.birth_date is None:
        # CLINICAL.md 2 item 5: "onset after 65" needs the age at onset, so an unknown birth
        # date is not "under 65"; the rule cannot be checked with or without the onset date.
        return ScreenState(
            ScreenStatus.BIRTH_DATE_NEEDED,
            screen.screened_on,
            until,
            # CLINICAL.md 2 item 5
            "screen needed: birth date. The patient's birth date is unknown, so SNNOOP10 O "
            "(onset after 65) cannot be checked; record it on the intake screen or in the "
            "patient record",
        )
    if screen.first_headache_onset is None and today >= birthday(
        patient.birth_date, OLDER_AGE_ONSET_AFTER_YEARS
    ):
        return ScreenState(
            ScreenStatus.ONSET_NEEDED,
            screen.screened_on,
            until,
            # CLINICAL.md 2 item 5
            f"screen needed: onset date. The patient is {patient.age_on(today)} and the date of "
            "the first headache is unknown, so SNNOOP10 O (onset after 65) cannot be checked",
        )
    return ScreenState(
        ScreenStatus.CURRENT,
        screen.screened_on,
        until,
        f"SNNOOP10 intake screen of {screen.screened_on.isoformat()} is current",
    )


# --- flags the record itself shows ----------------------------------------------------------


def thunderclap_evidence(attacks: Iterable[Attack]) -> list[str]:
    """Attacks whose readings reach 9-10 within one minute of the start (CLINICAL.md 2 item 4).

    Pass attacks through `in_patient_zone` first: every time is then aware, so the gap is
    absolute time and no reading is ever skipped for being written on another clock."""
    out = []
    for attack in attacks:
        for reading in attack.readings:
            after = reading.at - attack.start
            if (
                reading.intensity >= THUNDERCLAP_MIN_INTENSITY
                and dt.timedelta(0) <= after <= THUNDERCLAP_WITHIN
            ):
                out.append(
                    f"attack of {attack.start.isoformat(timespec='minutes')} reached "
                    f"{reading.intensity}/10 {int(after.total_seconds())} s after onset "
                    "(thunderclap: peak within 1 min)"
                )
                break
    return out


def progressive_evidence(
    headache_dates: Iterable[dt.date], recorded_dates: Iterable[dt.date], *, end: dt.date
) -> str | None:
    """Evidence of a progressive pattern, or None: 28-day windows ending on ``end`` going back,
    the share of recorded days with headache rising from window to window over at least 3
    consecutive windows up to the latest, the latest at least twice the first of the run.

    Progressive means getting worse now, so the run must reach the latest window. A day with no
    diary entry is missing, not headache-free (CLINICAL.md 0.4): each window counts headache
    days per recorded day, and a window recorded on fewer than half its days ends the run (too
    few days to say it rose). Product choices beside CLINICAL.md 2 item 10, named above.
    """
    headache = set(headache_dates)
    recorded = set(recorded_dates) | headache
    windows: list[tuple[dt.date, dt.date, int, int]] = []  # newest first
    last = end
    for _ in range(PROGRESSIVE_LOOKBACK_WINDOWS):
        first = last - dt.timedelta(days=PROGRESSIVE_WINDOW_DAYS - 1)
        days = [first + dt.timedelta(days=k) for k in range(PROGRESSIVE_WINDOW_DAYS)]
        windows.append(
            (first, last, sum(d in headache for d in days), sum(d in recorded for d in days))
        )
        last = first - dt.timedelta(days=1)

    def rate(w: tuple[dt.date, dt.date, int, int]) -> float | None:
        return w[2] / w[3] if w[3] >= PROGRESSIVE_MIN_RECORDED_DAYS else None

    latest = rate(windows[0])
    if latest is None or latest == 0:
        return None
    run = [windows[0]]
    for w in windows[1:]:
        r, later = rate(w), rate(run[-1])
        if r is None or later is None or not r < later:
            break
        run.append(w)
    # The longest prefix (going back) whose oldest window is at most half the latest, > 0.
    best: list[tuple[dt.date, dt.date, int, int]] = []
    for k in range(PROGRESSIVE_MIN_WINDOWS, len(run) + 1):
        oldest = rate(run[k - 1])
        if oldest is not None and oldest > 0 and latest >= PROGRESSIVE_FACTOR * oldest:
            best = run[:k]
    if not best:
        return None
    best.reverse()
    counts = ", ".join(f"{w[2]}/{w[3]} ({w[0].isoformat()} to {w[1].isoformat()})" for w in best)
    return (
        f"headache days per recorded days rose over {len(best)} consecutive "
        f"{PROGRESSIVE_WINDOW_DAYS}-day windows to at least {PROGRESSIVE_FACTOR}x: {counts} "
        "(SNNOOP10 P5, progressive headache)"
    )


def overuse_evidence(diagnoses: Iterable[Diagnosis]) -> list[str]:
    """P10 evidence from ICHD-3 8.2 diagnoses, definite or probable (CLINICAL.md 1 "8.2"):
    the code, the drug class and the intake days of each qualifying month."""
    out = []
    for dx in diagnoses:
        if dx.code != "8.2" and not dx.code.startswith("8.2."):
            continue
        ev = dx.evidence
        classes = ", ".join(str(c) for c in _list(ev.get("drug_classes"))) or "acute medication"
        need = ev.get("intake_days_required")
        qualifying = {str(m) for m in _list(ev.get("qualifying_months"))}
        per_month = [
            f"{m.get('month')}: {m.get(f'{dx.code}_days')} days"
            for m in _list(ev.get("months"))
            if isinstance(m, dict)
            and m.get("month") in qualifying
            and m.get(f"{dx.code}_days") is not None
        ]
        days = f"; intake {', '.join(per_month)}" if per_month else ""
        threshold = f", threshold {need} days/month" if need is not None else ""
        out.append(f"ICHD-3 {dx.code} {dx.label} ({dx.status}): {classes}{threshold}{days}")
    return out


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


def record_flags(
    *,
    patient: PatientFacts,
    diary: Diary | None,
    diagnoses: Sequence[Diagnosis],
    screen: IntakeScreen | None,
    today: dt.date,
) -> list[RedFlagFinding]:
    """SNNOOP10 items the record shows without an intake answer (see the module docstring)."""
    found: list[RedFlagFinding] = []
    # P6 is "pregnancy or puerperium" (CLINICAL.md 2 item 11): either fact raises it, once.
    p6 = [
        f"safety profile: {fact} (SNNOOP10 P6)"
        for fact, on in (
            ("pregnant", patient.safety.pregnant),
            ("puerperium (after childbirth)", patient.safety.puerperium),
        )
        if on
    ]
    if p6:
        found.append(RedFlagFinding("P6_pregnancy_puerperium", tuple(p6)))
    overuse = overuse_evidence(diagnoses)
    if overuse:
        found.append(RedFlagFinding("P10_painkiller_or_new_drug", tuple(overuse)))
    if diary is not None:
        sudden = thunderclap_evidence(in_patient_zone(a, patient) for a in diary.attacks)
        if sudden:
            found.append(RedFlagFinding("O_onset_sudden", tuple(sudden)))
        headache = {d.date for d in diary.days if d.headache}
        recorded = {d.date for d in diary.days}
        for attack in diary.attacks:
            headache.update(in_patient_zone(attack, patient).local_dates())
        if recorded or headache:
            last = min(max(recorded | headache), today)
            progressive = progressive_evidence(headache, recorded, end=last)
            if progressive:
                found.append(RedFlagFinding("P5_progressive_atypical", (progressive,)))
    if screen is not None and screen.first_headache_onset and patient.birth_date is not None:
        older = older_age_onset(patient.birth_date, screen.first_headache_onset)
        if older is not None:
            found.append(RedFlagFinding("O_older_age", (older,)))
    return found


# --- the decision ----------------------------------------------------------------------------


def decide(
    *,
    today: dt.date,
    patient: PatientFacts,
    screen: IntakeScreen | None,
    alerts: Sequence[KnownAlert],
    derived: Sequence[RedFlagFinding],
    valid_months: int = SCREEN_VALID_MONTHS,
) -> Readiness:
    """Ready to plan only with a current screen, no open alert and every record-derived flag
    covered by a referral or clearance made within ``valid_months`` (module docstring)."""
    state = screen_state(screen, patient=patient, today=today, valid_months=valid_months)
    blocking: list[BlockingReason] = []
    if state.status is not ScreenStatus.CURRENT:
        blocking.append(
            BlockingReason(
                SCREEN_NEEDED,
                "Screen needed",
                state.reason,
                ("SNNOOP10 intake screen, Do et al. 2019",),  # CLINICAL.md 2
                "screen",
            )
        )
    open_codes: set[str] = set()
    for known in alerts:
        if not known.alert.is_open:
            continue
        for finding in known.alert.findings:
            open_codes.add(finding.code)
            f = finding.flag
            blocking.append(
                BlockingReason(
                    finding.code,
                    f"{f.letter}: {f.label}",
                    f.why,
                    finding.evidence,
                    "alert",
                    known.id,
                )
            )
    since = add_months(today, -valid_months)
    covered: dict[str, set[str]] = {}
    for known in alerts:
        if known.alert.resolution is not None and known.alert.resolution.at.date() >= since:
            for finding in known.alert.findings:
                covered.setdefault(finding.code, set()).update(finding.evidence)
    for finding in derived:
        if finding.code in open_codes:
            continue
        evidence = finding.evidence
        if finding.code in PER_EVENT_CODES:
            # A clearance covers the attacks it was given, not the next thunderclap.
            evidence = tuple(e for e in evidence if e not in covered.get(finding.code, set()))
            if not evidence:
                continue
        elif finding.code in covered:
            continue
        f = flag(finding.code)
        blocking.append(
            BlockingReason(finding.code, f"{f.letter}: {f.label}", f.why, evidence, "record")
        )
    return Readiness(not blocking, state, tuple(blocking))
