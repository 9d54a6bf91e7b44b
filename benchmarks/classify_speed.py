"""CPU cost of the ICHD-3 attack classification and of the day units, against a reference commit.

The two costs behind issue 13 item 5 (the read step of a 100,000-attack import) and issue 17
(the demo registry build, one worker's count per patient-year), measured on fixed workloads:

* ``classify_us_per_attack``: every attack of a demo cohort (``--patients`` x 365 days, seed 1)
  classified once (`daycount.classify_placed`, as the demo and the import do), the remembered
  results forgotten first;
* ``day_units_ms_per_patient_year``: each patient's day-unit rows (`store.day_units.
  compute_rows`, day records and day units) from the attacks classified above;
* ``demo_count_ms_per_patient_year``: the whole count a demo worker does per patient
  (`store.day_units.rows_from_insert_dicts`: rows to domain values, classification, migraine
  status, day units);
* ``import_read_us_per_attack``: step 1 of an import (`services.imports.read_import`) of the
  document `benchmarks/import_scale.py` builds, ``--attacks`` attacks, on SQLite.

The reference is another commit's ``src/`` (``--ref``, default ``main``), exported with ``git
archive`` into a scratch directory. Each code runs in its own child process (two versions of one
package cannot share a process), the two alternating ``--rounds`` times; the best round of each
is printed with the ratio reference / this code, and the SHA-256 of every result each produced
(the classification records, reasons included, and the day-unit rows): equal hashes mean the
same answers.

    python benchmarks/classify_speed.py [--ref main] [--patients 200] [--attacks 20000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import json
import os
import random
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
END = dt.date(2026, 6, 30)


def _payload(patients: int, days: int) -> dict[str, list[dict[str, Any]]]:
    """The demo's insert dicts for ``patients`` patients (as one demo worker makes them)."""
    from acuhead import demo

    ids = {name: demo._Ids(0) for name in demo._COUNTED}
    out: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in demo._TABLES}
    for i in range(patients):
        demo._patient_rows(
            random.Random(1_000_003 + i + 1),
            index=i + 1,
            clinic_id=1,
            pid=i + 1,
            practitioner_ids=[1, 2],
            end=END,
            days=days,
            ids=ids,
            out=out,
        )
    return out


def _diaries(payload: dict[str, list[dict[str, Any]]]) -> list[Any]:
    """(patient id, diary, attack recorded times) per patient, as `rows_from_insert_dicts`
    builds them."""
    from collections import defaultdict
    from types import SimpleNamespace

    from acuhead.domain.diary import Diary
    from acuhead.store.mapping import attack_from_row, day_from_row, patient_facts

    def ns(row: dict[str, Any], **extra: Any) -> Any:
        return SimpleNamespace(**row, **extra)

    days: dict[int, list[Any]] = defaultdict(list)
    attacks: dict[int, list[Any]] = defaultdict(list)
    kids: dict[str, dict[int, list[Any]]] = {k: defaultdict(list) for k in ("readings", "aura")}
    kids["meds"] = defaultdict(list)
    for d in payload["days"]:
        days[d["patient_id"]].append(d)
    for a in payload["attacks"]:
        attacks[a["patient_id"]].append(a)
    for key, rows in kids.items():
        for c in payload[key]:
            rows[c["attack_id"]].append(ns(c))
    out = []
    for p in payload["patients"]:
        ordered = sorted(attacks[p["id"]], key=lambda a: (a["start_local"], a["id"]))
        diary = Diary(
            patient=patient_facts(ns(p)),
            days=tuple(day_from_row(ns(d)) for d in sorted(days[p["id"]], key=lambda d: d["day"])),
            attacks=tuple(
                attack_from_row(
                    ns(
                        a,
                        readings=sorted(kids["readings"][a["id"]], key=lambda r: r.at_local),
                        aura=kids["aura"][a["id"]],
                        medications=kids["meds"][a["id"]],
                    ),
                    tz=p["timezone"],
                )
                for a in ordered
            ),
        )
        out.append((p["id"], diary, [a["recorded_utc"] for a in ordered]))
    return out


def _forget() -> None:
    """Forget remembered classifications (whichever caches this version has)."""
    from acuhead.domain import ichd3

    for name in dir(ichd3):
        clear = getattr(getattr(ichd3, name), "cache_clear", None)
        if clear is not None and name not in ("_zone", "_flag"):
            clear()


def child(args: argparse.Namespace) -> None:
    """One measurement of the code on ``sys.path``; prints one JSON line."""
    import acuhead
    from acuhead.domain.daycount import attack_dates, classify_placed
    from acuhead.domain.dayunits import VD_AREND_2023
    from acuhead.store.day_units import compute_rows, rows_from_insert_dicts

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import import_scale

    from acuhead.services import accounts, imports
    from acuhead.services.actors import Actor
    from acuhead.store.db import Database, upgrade

    gc.disable()  # as the demo workers and the import run (less noise between rounds)
    out: dict[str, Any] = {"src": str(Path(acuhead.__file__).parents[1])}
    payload = _payload(args.patients, 365)
    diaries = _diaries(payload)
    cutoffs = VD_AREND_2023.cutoffs
    placed = [[attack_dates(a, d.patient) for a in d.attacks] for _pid, d, _r in diaries]
    n_attacks = sum(len(d.attacks) for _pid, d, _r in diaries)

    _forget()
    c0 = time.process_time()
    classified = [
        {i: classify_placed(a, d.patient, dates[i], cutoffs) for i, a in enumerate(d.attacks)}
        for (_pid, d, _r), dates in zip(diaries, placed, strict=True)
    ]
    out["classify_us_per_attack"] = (time.process_time() - c0) / n_attacks * 1e6

    c0 = time.process_time()
    rows = []
    for (pid, d, recorded), dates, found in zip(diaries, placed, classified, strict=True):
        rows += compute_rows(
            d,
            clinic_id=1,
            patient_id=pid,
            attack_recorded_utc=recorded,
            has_migraine=True,
            classifications=found,
            dates=dates,
        )
    out["day_units_ms_per_patient_year"] = (time.process_time() - c0) / args.patients * 1e3

    h = hashlib.sha256()
    for found in classified:
        for r in found.values():
            record = [r.code, r.label, r.status, r.criteria, r.reasons, r.missing, r.checks]
            record += [r.features.cd, r.features.aura, r.features.probable, r.has_headache]
            h.update(json.dumps(record).encode())
    out["classify_sha256"] = h.hexdigest()
    out["day_units_sha256"] = hashlib.sha256(repr(rows).encode()).hexdigest()

    _forget()
    c0 = time.process_time()
    units, statuses = rows_from_insert_dicts(payload)
    out["demo_count_ms_per_patient_year"] = (time.process_time() - c0) / args.patients * 1e3
    out["demo_sha256"] = hashlib.sha256(repr((units, statuses)).encode()).hexdigest()

    body = json.dumps(import_scale.document(args.attacks))
    with tempfile.TemporaryDirectory(prefix="classify_speed-") as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'import.sqlite3'}")
        try:
            upgrade(db)
            with db.write() as s:
                cid = accounts.create_clinic(s, name="Bench").id
            _forget()
            c0 = time.process_time()
            with db.read() as s:
                imports.read_import(s, actor=Actor.system(cid), data=body, source="bench")
            out["import_read_us_per_attack"] = (time.process_time() - c0) / args.attacks * 1e6
        finally:
            db.dispose()
    out["attacks_classified"] = n_attacks
    print(json.dumps(out))


def _export(ref: str, into: Path) -> Path:
    """``ref``'s ``src/`` tree under ``into``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", ref, "src"],
        check=True,
        capture_output=True,
    ).stdout
    tar_path = into / "src.tar"
    tar_path.write_bytes(archive)
    with tarfile.open(tar_path) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def _run(src: Path, args: argparse.Namespace) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONHASHSEED": "0"}
    cmd = [sys.executable, __file__, "--child", "--patients", str(args.patients)]
    cmd += ["--attacks", str(args.attacks)]
    done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True, cwd=ROOT)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if Path(result["src"]).resolve() != src.resolve():
        raise SystemExit(f"the child imported {result['src']}, not {src}")
    return result


METRICS = (
    "classify_us_per_attack",
    "day_units_ms_per_patient_year",
    "demo_count_ms_per_patient_year",
    "import_read_us_per_attack",
)
HASHES = ("classify_sha256", "day_units_sha256", "demo_sha256")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", default="main", help="the reference commit (default main)")
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--attacks", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory(prefix="classify_speed-ref-") as tmp:
        ref_src = _export(args.ref, Path(tmp))
        runs: dict[str, list[dict[str, Any]]] = {"ref": [], "new": []}
        for _ in range(args.rounds):
            for name, src in (("ref", ref_src), ("new", ROOT / "src")):
                runs[name].append(_run(src, args))
                load = os.getloadavg()[0]
                print(f"# round {name}: " + json.dumps(runs[name][-1]) + f" load1={load:.2f}")
    best = {name: {m: min(r[m] for r in rs) for m in METRICS} for name, rs in runs.items()}
    for m in METRICS:
        old, new = best["ref"][m], best["new"][m]
        print(f"{m}: ref={old:.2f} new={new:.2f} ratio={old / new:.2f}")
    same = all(len({r[k] for rs in runs.values() for r in rs}) == 1 for k in HASHES)
    print(
        f"ref={args.ref} patients={args.patients} attacks_classified="
        f"{runs['new'][0]['attacks_classified']} import_attacks={args.attacks} "
        f"same_results={same} load1={os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
