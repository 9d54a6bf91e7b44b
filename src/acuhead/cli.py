"""The ``acuhead`` command: serve, migrate, demo data, clinics, users, import and export.

Errors from the service layer become one red line and a distinct exit code (see errors.py);
output meant for programs (``--format json``) goes to stdout, everything else to stderr.
"""

from __future__ import annotations

import json
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from acuhead.config import get_settings
from acuhead.errors import (
    AcuheadError,
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    SafetyBlock,
    ValidationError,
)
from acuhead.store.db import POOL_OVERFLOW, POOL_SIZE, Database, upgrade
from acuhead.store.models import Clinic

if TYPE_CHECKING:
    from acuhead.domain.readiness import Readiness

app = typer.Typer(
    help="acuhead: headache and migraine care for acupuncture practices.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
clinics_app = typer.Typer(help="Clinics (tenants).", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(clinics_app, name="clinics")
app.add_typer(users_app, name="users")
reminders_app = typer.Typer(help="E-mail reminders (diary, questionnaires).", no_args_is_help=True)
app.add_typer(reminders_app, name="reminders")

err = Console(stderr=True)
out = Console(soft_wrap=True)

EXIT_CODES: dict[type[AcuheadError], int] = {
    ValidationError: 2,
    NotFound: 3,
    Forbidden: 4,
    SafetyBlock: 6,
    Conflict: 5,
}


class OutFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


def fail(exc: AcuheadError) -> NoReturn:
    code = next((c for t, c in EXIT_CODES.items() if isinstance(exc, t)), 1)
    if isinstance(exc, ValidationError):
        err.print(f"[red]error:[/] {len(exc.errors)} problem(s); nothing was changed")
        for e in exc.errors:
            err.print(f"  [bold]{e.path or '(document)'}[/]: {e.message}", highlight=False)
    else:
        err.print(f"[red]error:[/] {exc}", highlight=False)
    raise typer.Exit(code)


def open_db(migrate: bool = True) -> Database:
    settings = get_settings()
    db = Database(settings.db_url)
    if migrate:
        upgrade(db)
        recount_day_units(db)
    return db


def recount_day_units(db: Database) -> None:
    """Recount the stored day units of patients a migration left stale (0065: the migraine
    diagnosis that decides probable-migraine days); nothing to do on an up-to-date database."""
    from acuhead.store.day_units import recount_stale

    with db.write() as session:
        recount_stale(session)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def resolve_clinic(db: Database, clinic: int | None) -> int:
    with db.read() as session:
        ids = list(session.scalars(select(Clinic.id).order_by(Clinic.id)))
    if clinic is not None:
        if clinic not in ids:
            fail(NotFound(f"clinic {clinic} not found"))
        return clinic
    if len(ids) == 1:
        return ids[0]
    fail(ValidationError(f"there are {len(ids)} clinics; name one with --clinic ID"))


def check_connection_budget(db: Database, processes: int) -> None:
    """Refuse several server processes where they cannot work: SQLite has one writer whatever
    the number of processes (they would queue on its lock), and PostgreSQL refuses
    connections past ``max_connections`` (each process may open ``POOL_SIZE + POOL_OVERFLOW``)."""
    if db.is_sqlite:
        fail(ValidationError(FieldError("workers", "several server processes need PostgreSQL")))
    with db.engine.connect() as conn:
        allowed = int(conn.exec_driver_sql("SHOW max_connections").scalar_one())
    needed = processes * (POOL_SIZE + POOL_OVERFLOW) + 10  # 10 for CLI jobs and backups
    if needed > allowed:
        fail(
            ValidationError(
                FieldError(
                    "workers",
                    f"{processes} processes may open {needed - 10} connections (+10 spare) but "
                    f"the server allows {allowed}; use fewer workers or raise max_connections",
                )
            )
        )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to bind")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="server processes (default ACUHEAD_WORKERS, 1)"),
    ] = None,
) -> None:
    """Serve the web app and API (upgrades the database first)."""
    import uvicorn

    from acuhead.web.app import create_app

    settings = get_settings()
    db = open_db()
    processes = workers or settings.workers
    if processes > 1:
        check_connection_budget(db, processes)
    common: dict[str, Any] = {
        "host": host or settings.host,
        "port": port or settings.port,
        "log_level": "info",
        "access_log": False,
    }
    if processes == 1:
        uvicorn.run(create_app(settings, db, warm_up=True), **common)
        return
    # Each process builds its own app and database pool from the same ACUHEAD_* settings;
    # the schema was brought up to date above, once. Sessions, login throttling and audit
    # live in the database, so any process may answer any request.
    db.dispose()
    uvicorn.run("acuhead.web.app:serve_app", factory=True, workers=processes, **common)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations (creates the SQLite file under ACUHEAD_DATA_DIR if needed)."""
    open_db(migrate=True)
    err.print("database is up to date")


@db_app.command("rebuild-aggregates")
def db_rebuild_aggregates() -> None:
    """Rebuild the per-patient outcome window sums (block_aggregates) from the day units.

    They are kept up to date on every write; this is for a database changed behind the
    application's back (a restore of a hand-edited dump, a bulk load)."""
    from acuhead.store.block_aggregates import rebuild_all

    db = open_db()
    t0 = time.perf_counter()

    def step(done: int, total: int) -> None:
        err.print(f"aggregates: {done} / {total} patients ({time.perf_counter() - t0:.1f} s)")

    with db.write() as session:
        total = rebuild_all(session, progress=step)
    err.print(f"aggregates rebuilt for {total} patients in {time.perf_counter() - t0:.1f} s")


@app.command()
def demo(
    patients: Annotated[int, typer.Option(min=1, help="number of patients")] = 40,
    days: Annotated[int, typer.Option(min=1, max=3660, help="diary days per patient")] = 180,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same clinic)")] = 1,
    if_empty: Annotated[bool, typer.Option(help="only if the database has no clinic")] = False,
) -> None:
    """Create the demo clinic with a synthetic cohort and print its logins."""
    from acuhead import demo as demo_mod

    db = open_db()
    if if_empty and not demo_mod.is_empty(db):
        err.print("database already has data; demo not loaded")
        return
    t0 = time.perf_counter()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as bar:
        task = bar.add_task("patients", total=patients)
        result = demo_mod.generate(
            db, patients=patients, days=days, seed=seed, progress=lambda n: bar.advance(task, n)
        )
    seconds = time.perf_counter() - t0
    err.print(
        f"demo clinic {result.clinic_id}: {result.patients} patients, {result.days} diary "
        f"days, {result.attacks} attacks in {seconds:.1f} s"
    )
    table = Table(title="Demo logins (development only)")
    table.add_column("e-mail")
    table.add_column("password")
    for email, password in result.logins.items():
        table.add_row(email, password)
    err.print(table)


@clinics_app.command("create")
def clinics_create(name: str) -> None:
    """Create a clinic and print its id."""
    from acuhead.services import accounts

    db = open_db()
    try:
        with db.write() as session:
            clinic = accounts.create_clinic(session, name=name)
            cid = clinic.id
    except AcuheadError as exc:
        fail(exc)
    out.print(cid)


@clinics_app.command("list")
def clinics_list(fmt: Annotated[OutFormat, typer.Option("--format")] = OutFormat.TABLE) -> None:
    """List clinics (id and name)."""
    from acuhead.services import accounts

    db = open_db()
    with db.read() as session:
        rows = [{"id": c.id, "name": c.name} for c in accounts.list_clinics(session)]
    if fmt == OutFormat.JSON:
        print_json(rows)
        return
    table = Table("id", "name")
    for r in rows:
        table.add_row(str(r["id"]), str(r["name"]))
    out.print(table)


@users_app.command("create")
def users_create(
    email: str,
    role: Annotated[str, typer.Option(help="admin, practitioner or patient")],
    name: Annotated[str, typer.Option()] = "",
    clinic: Annotated[int | None, typer.Option(help="clinic id (default: the only one)")] = None,
    password: Annotated[
        str | None,
        typer.Option(
            help="password (prompted when omitted)",
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
        ),
    ] = None,
) -> None:
    """Create a user account in a clinic."""
    from acuhead.services import accounts
    from acuhead.services.actors import Role

    db = open_db()
    clinic_id = resolve_clinic(db, clinic)
    try:
        r = Role(role)
    except ValueError:
        fail(ValidationError(f"role must be admin, practitioner or patient; got {role!r}"))
    try:
        with db.write() as session:
            user = accounts.create_user(
                session, clinic_id=clinic_id, email=email, name=name, role=r, password=password
            )
            uid = user.id
    except AcuheadError as exc:
        fail(exc)
    out.print(uid)


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    clinic: Annotated[int | None, typer.Option(help="clinic id (default: the only one)")] = None,
    patient: Annotated[
        str | None,
        typer.Option(
            help="patient id or external id (default: the document's external_id; required for CSV)"
        ),
    ] = None,
) -> None:
    """Import a diary document (acuhead.diary/1), a FHIR R4 Bundle, or (with --patient) a
    days or attacks CSV. All or nothing."""
    from acuhead.services import imports
    from acuhead.services.actors import Actor, find_patient

    db = open_db()
    clinic_id = resolve_clinic(db, clinic)
    actor = Actor.system(clinic_id)
    try:
        data = file.read_bytes()
        with db.read() as session:
            pid = find_patient(session, actor, patient).id if patient else None
        # Validated before the write transaction; written all or nothing.
        fmt, row_id, external_id, counts = imports.import_file(
            db, actor=actor, data=data, source=str(file), patient_id=pid
        )
        result = {"format": fmt, "patient_id": row_id, "external_id": external_id,
                  **counts}  # fmt: skip
    except AcuheadError as exc:
        fail(exc)
    err.print(
        f"imported {result.get('days', 0)} days, {result.get('attacks', 0)} attacks, "
        f"{result.get('regimens', 0)} regimens for patient {result['patient_id']}"
    )
    print_json(result)


@app.command("export")
def export_cmd(
    patient: Annotated[str, typer.Argument(help="patient id or external id")],
    fmt: Annotated[
        str, typer.Option("--format", help="json (diary document), fhir (R4 Bundle) or csv")
    ] = "json",
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            file_okay=False,
            help="directory to write into (required for csv: days.csv and attacks.csv)",
        ),
    ] = None,
    clinic: Annotated[int | None, typer.Option(help="clinic id (default: the only one)")] = None,
) -> None:
    """Export a patient's record: json or fhir to stdout (or a file in --out), csv as two
    files in --out."""
    from acuhead.services import interop
    from acuhead.services.actors import Actor, find_patient

    if fmt not in ("json", "fhir", "csv"):
        fail(ValidationError(f"--format must be json, fhir or csv; got {fmt!r}"))
    if fmt == "csv" and out_dir is None:
        fail(ValidationError("--format csv writes days.csv and attacks.csv; give --out DIR"))
    db = open_db()
    actor = Actor.system(resolve_clinic(db, clinic))
    files: dict[str, str] = {}
    try:
        with db.write() as session:
            pid = find_patient(session, actor, patient).id
            if fmt == "csv":
                days, attacks = interop.export_csv(session, actor=actor, patient_id=pid)
                files = {"days.csv": days, "attacks.csv": attacks}
            else:
                body, _media, name = interop.export_as(
                    session, actor=actor, patient_id=pid, fmt=fmt
                )
                files = {name: body}
    except AcuheadError as exc:
        fail(exc)
    if out_dir is None:
        sys.stdout.write(next(iter(files.values())))
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        (out_dir / name).write_text(body, "utf-8", newline="")
        err.print(f"wrote {out_dir / name}")


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    main()


def _document_red_flags(doc: Any) -> list[dict[str, Any]]:
    """Screen a document: each attack's warning signs and aura, plus an optional intake block
    ``"red_flags": {"answers": {...}, "first_headache_onset": "YYYY-MM-DD"}``."""
    import datetime as dt

    from acuhead.domain import redflags

    findings: list[tuple[str, redflags.RedFlagFinding]] = []
    diary = doc.diary
    block = doc.extras.get("red_flags") or {}
    if block:
        onset = block.get("first_headache_onset")
        try:
            found = redflags.screen_intake(
                block.get("answers", {}),
                patient=diary.patient,
                first_headache_onset=dt.date.fromisoformat(onset) if onset else None,
                notes=block.get("notes", ""),
            )
        except ValidationError as exc:
            raise ValidationError(
                [type(e)(f"red_flags.{e.path}", e.message) for e in exc.errors]
            ) from None
        findings += [("intake", f) for f in found]
    ordered = sorted(enumerate(diary.attacks), key=lambda p: p[1].start)
    for n, (index, attack) in enumerate(ordered):
        history = [a for _, a in ordered[:n]]
        try:
            found = redflags.screen_attack(attack, diary.patient, history=history)
        except ValidationError as exc:
            raise ValidationError(
                [type(e)(f"attacks[{index}].{e.path}", e.message) for e in exc.errors]
            ) from None
        findings += [(f"attacks[{index}]", f) for f in found]
    return [
        {
            "source": source,
            "code": f.code,
            "letter": f.flag.letter,
            "label": f.flag.label,
            "why": f.flag.why,
            "evidence": list(f.evidence),
            "action": "needs medical review",
        }
        for source, f in findings
    ]


@app.command()
def classify(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    policy: Annotated[str, typer.Option(help="diary-day unit policy")] = "vdArend2023",
) -> None:
    """Classify a diary document by ICHD-3 and screen it for red flags; prints JSON."""
    from acuhead.domain.classify import classify_diary
    from acuhead.domain.dayunits import policy_by_name
    from acuhead.interop import document

    try:
        units = policy_by_name(policy)
    except (KeyError, ValueError, ValidationError):
        fail(ValidationError(f"unknown --policy {policy!r}"))
    try:
        doc = document.parse(document.load_text(file.read_text("utf-8"), source=str(file)))
        result = classify_diary(doc.diary, policy=units)
        result["red_flags"] = _document_red_flags(doc)
    except AcuheadError as exc:
        fail(exc)
    print_json(result)


@app.command("backup")
def backup_cmd(path: Annotated[Path, typer.Argument(help="backup file to write")]) -> None:
    """Back up the database (SQLite online backup; pg_dump for PostgreSQL)."""
    from acuhead.store import backup

    db = open_db()
    try:
        written = backup.backup(db, path)
    except AcuheadError as exc:
        fail(exc)
    err.print(f"backup written to {written} ({written.stat().st_size} bytes)")


@app.command("restore")
def restore_cmd(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="backup file")],
    yes: Annotated[bool, typer.Option("--yes", help="confirm replacing all current data")] = False,
) -> None:
    """Replace the database's contents with a backup."""
    from acuhead.store import backup

    if not yes:
        fail(ValidationError("restore replaces every row in the database; add --yes to confirm"))
    db = open_db(migrate=False)
    try:
        backup.restore(db, path)
    except AcuheadError as exc:
        fail(exc)
    restored = Database(get_settings().db_url)
    upgrade(restored)
    recount_day_units(restored)
    err.print(f"restored from {path}")


# ---- acupuncture care (issue 4) ---------------------------------------------------------------


def _caution_text(cautions: list[str]) -> str:
    return ", ".join(cautions) if cautions else "-"


@app.command("points")
def points_cmd(
    query: Annotated[
        str, typer.Argument(help="code, legacy code or alias (lv3), name (Fengchi), region")
    ] = "",
    channel: Annotated[str | None, typer.Option(help="only this channel (GB, LR, EX ...)")] = None,
    region: Annotated[str | None, typer.Option(help="only this region (head, neck ...)")] = None,
    fmt: Annotated[OutFormat, typer.Option("--format")] = OutFormat.TABLE,
) -> None:
    """Search the acupuncture point catalogue (WHO codes, aliases, cautions)."""
    from acuhead.services import care

    try:
        found = [
            care.point_dict(p)
            for p in care.search_points(query=query, channel=channel, region=region)
        ]
    except AcuheadError as exc:
        fail(exc)
    if fmt == OutFormat.JSON:
        print_json(found)
        return
    if not found:
        err.print("no matching points")
        return
    table = Table("code", "pinyin", "hanzi", "channel", "region", "cautions", "location")
    for p in found:
        table.add_row(
            p["code"],
            p["pinyin"],
            p["hanzi"],
            p["channel"],
            p["region"],
            _caution_text(p["cautions"]),
            p["location"],
        )
    out.print(table)


@app.command("prescribe")
def prescribe_cmd(
    file: Annotated[Path | None, typer.Argument(exists=True, dir_okay=False, readable=True)] = None,
    headache_kind: Annotated[
        str | None,
        typer.Option(help="migraine, tension-type or an ICHD-3 code (picks the trial protocol)"),
    ] = None,
    patient: Annotated[
        str | None,
        typer.Option(help="plan for a stored patient (id or external id) instead of a file"),
    ] = None,
    clinic: Annotated[int | None, typer.Option(help="clinic id (default: the only one)")] = None,
) -> None:
    """Propose a point prescription for a diary document, or save one for a stored patient
    (``--patient``); prints JSON.

    Reads ``patient.safety`` and the ``assessment`` block. The safety gate runs first
    (docs/safety-gate.md; SNNOOP10, CLINICAL.md 2): without a current intake screen (the document's
    ``red_flags`` block with ``screened_on`` and all 15 ``answers``), with a red flag from the
    screen or the attacks, or with one the record shows (pregnancy, ICHD-3 8.2 medication
    overuse, thunderclap readings, a progressive pattern, onset after 65) not cleared with a
    reason, the plan stops with each reason (exit code 6).
    """
    from acuhead.domain.tcm.prescribe import prescribe_from_document
    from acuhead.interop import document

    if (file is None) == (patient is None):
        fail(ValidationError(FieldError("file", "give a diary document or --patient, not both")))
    if patient is not None:
        _prescribe_stored(patient, clinic, headache_kind)
        return
    assert file is not None
    try:
        raw = document.load_text(file.read_text("utf-8"), source=str(file))
        doc = document.parse(raw)
        readiness = _document_gate(doc)
        if not readiness.ready:
            raise SafetyBlock(readiness.message(), [b.as_dict() for b in readiness.blocking])
        result = prescribe_from_document(raw, headache_kind=headache_kind)
        result["gate"] = readiness.as_dict()
    except AcuheadError as exc:
        fail(exc)
    print_json(result)


def _prescribe_stored(patient: str, clinic: int | None, headache_kind: str | None) -> None:
    """Plan for a stored patient through the care service (the same gate as the API)."""
    from acuhead.services import care
    from acuhead.services.actors import Actor, find_patient

    db = open_db()
    actor = Actor.system(resolve_clinic(db, clinic))
    try:
        with db.write() as session:
            pid = find_patient(session, actor, patient).id
            row = care.create_prescription(
                session, actor=actor, patient_id=pid, headache_kind=headache_kind
            )
            result = care.prescription_dict(row)
    except AcuheadError as exc:
        fail(exc)
    print_json(result)


def _document_gate(doc: Any) -> Readiness:
    """The safety gate (domain/readiness.decide) on a diary document.

    The screen is the optional ``red_flags`` block: ``screened_on`` (its date; without it the
    document holds no screen), ``answers`` (all 15 SNNOOP10 items), ``first_headache_onset``,
    and ``cleared``: ``[{"code", "kind": "referral"|"clearance", "reason", "on"}]``, a review
    with a written reason that unblocks that item. Findings of the screen and of the attacks
    are open alerts unless cleared; the record's own flags (pregnancy, ICHD-3 8.2 overuse,
    thunderclap readings, progressive pattern, onset after 65) come from the document."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from acuhead.config import get_settings
    from acuhead.domain import readiness, redflags
    from acuhead.domain.classify import diary_span
    from acuhead.domain.diagnosis import diagnose

    diary = doc.diary
    today = dt.datetime.now(ZoneInfo(diary.patient.timezone)).date()
    block = doc.extras.get("red_flags") or {}
    errors: list[FieldError] = []

    def day(value: Any, path: str) -> dt.date | None:
        if value is None:
            return None
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            errors.append(FieldError(path, "use a date such as 2026-04-30"))
            return None

    screened_on = day(block.get("screened_on"), "red_flags.screened_on")
    onset = day(block.get("first_headache_onset"), "red_flags.first_headache_onset")
    answered = frozenset(
        code
        for key in (block.get("answers") or {})
        if (code := redflags.normalise_code(str(key))) is not None
    )
    cleared: list[readiness.KnownAlert] = []
    for i, c in enumerate(block.get("cleared") or []):
        path = f"red_flags.cleared[{i}]"
        if not isinstance(c, dict):
            errors.append(FieldError(path, "expected an object with code, kind, reason, on"))
            continue
        code = redflags.normalise_code(str(c.get("code", "")))
        on = day(c.get("on"), f"{path}.on") or screened_on or today
        if code is None:
            errors.append(FieldError(f"{path}.code", f"unknown red-flag code {c.get('code')!r}"))
            continue
        at = dt.datetime.combine(on, dt.time(), dt.UTC)
        try:
            alert = redflags.resolve(
                redflags.RedFlagAlert((redflags.RedFlagFinding(code, ("cleared",)),), at),
                kind=str(c.get("kind", "clearance")),
                by=str(c.get("by") or "document"),
                at=at,
                reason=str(c.get("reason") or ""),
            )
        except ValidationError as exc:
            errors.extend(FieldError(f"{path}.{e.path}", e.message) for e in exc.errors)
            continue
        cleared.append(readiness.KnownAlert(None, alert))
    if errors:
        raise ValidationError(errors)
    screen = readiness.IntakeScreen(screened_on, onset, answered) if screened_on else None
    covered = {f.code for k in cleared for f in k.alert.findings}
    opened = dt.datetime.combine(today, dt.time(), dt.UTC)
    found = [
        redflags.RedFlagFinding(f["code"], tuple(f["evidence"]))
        for f in _document_red_flags(doc)
        if f["code"] not in covered
    ]
    alerts = list(cleared)
    if found:
        alerts.append(readiness.KnownAlert(None, redflags.RedFlagAlert(tuple(found), opened)))
    span = diary_span(diary, today)
    diagnoses = diagnose(diary, span[0], span[1], today=today) if span else []
    derived = readiness.record_flags(
        patient=diary.patient, diary=diary, diagnoses=diagnoses, screen=screen, today=today
    )
    return readiness.decide(
        today=today,
        patient=diary.patient,
        screen=screen,
        alerts=alerts,
        derived=derived,
        valid_months=get_settings().screen_valid_months,
    )


# ---- interoperability and patients' rights (issue 7) ----------------------------------------


@app.command("research-export")
def research_export_cmd(
    out_dir: Annotated[Path, typer.Option("--out", file_okay=False, help="directory to write")],
    clinic: Annotated[int | None, typer.Option(help="clinic id (default: the only one)")] = None,
) -> None:
    """Write the clinic's de-identified research tables (Parquet) for consenting patients."""
    from acuhead.services import research
    from acuhead.services.actors import Actor

    db = open_db()
    actor = Actor.system(resolve_clinic(db, clinic))
    try:
        with db.write() as session:
            counts = research.research_export(
                session, actor=actor, out_dir=out_dir, secret_key=get_settings().secret_key
            )
    except AcuheadError as exc:
        fail(exc)
    err.print(f"wrote {counts['patients']} consenting patient(s) to {out_dir}")
    print_json(counts)


@app.command("consent")
def consent_cmd(
    patient: Annotated[str, typer.Argument(help="patient id or external id")],
    scope: Annotated[str, typer.Option(help="what the consent covers")] = "research",
    withdraw: Annotated[bool, typer.Option("--withdraw", help="record a withdrawal")] = False,
    on: Annotated[
        str | None, typer.Option(help="date given or withdrawn (YYYY-MM-DD; default today)")
    ] = None,
    clinic: Annotated[int | None, typer.Option(help="clinic id (default: the only one)")] = None,
) -> None:
    """Record a patient's research consent, or its withdrawal."""
    import datetime as dt

    from acuhead.services import research
    from acuhead.services.actors import Actor, find_patient

    try:
        when = dt.date.fromisoformat(on) if on else None
    except ValueError:
        fail(ValidationError(f"--on must be a date like 2026-02-02; got {on!r}"))
    db = open_db()
    actor = Actor.system(resolve_clinic(db, clinic))
    try:
        with db.write() as session:
            pid = find_patient(session, actor, patient).id
            if withdraw:
                rows = research.withdraw_consent(
                    session, actor=actor, patient_id=pid, scope=scope, on=when
                )
            else:
                rows = [
                    research.record_consent(
                        session, actor=actor, patient_id=pid, scope=scope, given_on=when
                    )
                ]
            result = [
                {"id": r.id, "patient_id": pid, "scope": r.scope,
                 "given_on": r.given_on.isoformat(),
                 "withdrawn_on": r.withdrawn_on.isoformat() if r.withdrawn_on else None}
                for r in rows
            ]  # fmt: skip
    except AcuheadError as exc:
        fail(exc)
    print_json(result)


@app.command("erase")
def erase_cmd(
    patient: Annotated[str, typer.Argument(help="patient id or external id")],
    yes: Annotated[bool, typer.Option("--yes", help="confirm: this cannot be undone")] = False,
    clinic: Annotated[int | None, typer.Option(help="clinic id (default: the only one)")] = None,
) -> None:
    """Erase a patient and every row of their record (irreversible; needs --yes)."""
    from acuhead.services import erasure
    from acuhead.services.actors import Actor, find_patient

    if not yes:
        fail(ValidationError("erasing a patient cannot be undone; repeat with --yes"))
    db = open_db()
    actor = Actor.system(resolve_clinic(db, clinic))
    try:
        with db.write() as session:
            pid = find_patient(session, actor, patient).id
            counts = erasure.erase_patient(session, actor=actor, patient_id=pid)
    except AcuheadError as exc:
        fail(exc)
    err.print(f"erased patient {pid} ({sum(counts.values())} rows)")
    print_json({"patient_id": pid, "rows": counts})


# ---- outcomes (issue 5) ---------------------------------------------------------------------


def _outcome_config(block: int, min_compliance: float, prorate: bool) -> Any:
    from acuhead.domain.outcomes import OutcomeConfig

    return OutcomeConfig(
        primary_block=block, min_compliance=min_compliance, prorate_low_compliance=prorate
    )


@app.command("outcomes")
def outcomes_cmd(
    patient: Annotated[str, typer.Argument(help="patient id or external id")],
    fmt: Annotated[str, typer.Option("--format", help="json")] = "json",
    clinic: Annotated[int | None, typer.Option(help="clinic id (default: the only one)")] = None,
    block: Annotated[int, typer.Option(help="primary 28-day block (2 = weeks 9-12)")] = 2,
    min_compliance: Annotated[float, typer.Option(help="diary compliance a window needs")] = 0.8,
    prorate_low_compliance: Annotated[
        bool, typer.Option(help="give rates for windows under the minimum compliance too")
    ] = False,
) -> None:
    """A patient's trial-grade outcomes as JSON (keys: README "Outcomes JSON")."""
    from acuhead.services import outcomes
    from acuhead.services.actors import Actor, find_patient

    if fmt != "json":
        fail(ValidationError(f"--format must be json; got {fmt!r}"))
    db = open_db()
    actor = Actor.system(resolve_clinic(db, clinic))
    try:
        config = _outcome_config(block, min_compliance, prorate_low_compliance)
        with db.write() as session:
            pid = find_patient(session, actor, patient).id
            data = outcomes.patient_outcomes(session, actor=actor, patient_id=pid, config=config)
    except AcuheadError as exc:
        fail(exc)
    print_json(data.to_json())


@app.command("report")
def report_cmd(
    clinic: Annotated[int | None, typer.Option(help="clinic id (default: the only one)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json or html")] = "json",
    practitioner: Annotated[
        int | None, typer.Option(help="only this practitioner's patients (user id)")
    ] = None,
    block: Annotated[int, typer.Option(help="primary 28-day block (2 = weeks 9-12)")] = 2,
    min_compliance: Annotated[float, typer.Option(help="diary compliance a window needs")] = 0.8,
    prorate_low_compliance: Annotated[
        bool, typer.Option(help="give rates for windows under the minimum compliance too")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write to this file, not stdout")
    ] = None,
) -> None:
    """The practice report of a clinic (or one practitioner) as JSON or a self-contained page."""
    from acuhead.analytics.report import REPORT_STEPS
    from acuhead.reports.practice_html import render
    from acuhead.services import outcomes
    from acuhead.services.actors import Actor

    if fmt not in ("json", "html"):
        fail(ValidationError(f"--format must be json or html; got {fmt!r}"))
    db = open_db()
    actor = Actor.system(resolve_clinic(db, clinic))
    try:
        config = _outcome_config(block, min_compliance, prorate_low_compliance)
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("practice report", total=len(REPORT_STEPS))

            def step(name: str) -> None:
                bar.update(task, advance=1, description=f"practice report: {name}")

            with db.write() as session:
                data = outcomes.practice_report(
                    session,
                    actor=actor,
                    practitioner_id=practitioner,
                    config=config,
                    progress=step,
                )
    except AcuheadError as exc:
        fail(exc)
    text_out = (
        render(data) if fmt == "html" else json.dumps(data.to_json(), indent=2, default=str) + "\n"
    )
    if output is not None:
        output.write_text(text_out, "utf-8")
        err.print(f"report written to {output}")
    else:
        sys.stdout.write(text_out)


@app.command("letter")
def letter_cmd(
    patient: Annotated[str, typer.Argument(help="patient id or external id")],
    out: Annotated[Path, typer.Option("--out", help="PDF file to write")],
    clinic: Annotated[int | None, typer.Option(help="clinic id (default: the only one)")] = None,
    recipient: Annotated[
        str | None, typer.Option(help="physician and practice (default: the treating physician)")
    ] = None,
    question: Annotated[str | None, typer.Option(help="the question asked, briefly")] = None,
) -> None:
    """Write the one-page physician letter (PDF) for a patient."""
    from acuhead.services.actors import Actor, find_patient
    from acuhead.services.letters import physician_letter_pdf

    db = open_db()
    actor = Actor.system(resolve_clinic(db, clinic))
    try:
        with db.write() as session:
            pid = find_patient(session, actor, patient).id
            pdf = physician_letter_pdf(
                session, actor=actor, patient_id=pid, recipient=recipient, question=question
            )
    except AcuheadError as exc:
        fail(exc)
    out.write_bytes(pdf)
    err.print(f"letter written to {out} ({len(pdf)} bytes)")


@reminders_app.command("send")
def reminders_send(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="count what would be sent; send and log nothing")
    ] = False,
) -> None:
    """Send due diary, questionnaire and appointment reminders (run daily from cron); prints
    counts only."""
    from acuhead.services.reminders import send_reminders

    settings = get_settings()
    result = send_reminders(open_db(), settings=settings, dry_run=dry_run)
    if not result.enabled and not dry_run:
        err.print("e-mail reminders are off (ACUHEAD_SMTP_HOST is empty); nothing was sent")
        return
    verb = "would send" if dry_run else "sent"
    out.print(
        f"{verb} {result.emails if dry_run else result.sent} e-mail(s): "
        f"diary={result.diary} questionnaire={result.questionnaire} "
        f"appointment={result.appointment} failed={result.failed}",
        highlight=False,
    )
    if result.failed:
        raise typer.Exit(1)
