"""Races: concurrent bursts against a real server process, on SQLite and PostgreSQL (issue 13).

Three bursts, each fired from many threads released at the same moment:

- 40 wrong-password logins to one account (the API, then the login page, each its own
  account) with a limit of 5 failures per 300 s: how many passwords were checked (answers 401;
  the rest must be 429), and whether the right password, sent next, is refused (429);
- 50 new attacks, all different, on one day of one patient: how many were refused (409);
- 50 creators of one new diary day without a version: how many succeeded (must be 1).

Each engine line: login_api_checked=<n>/40 login_page_checked=<n>/40 attacks_409=<n>/50
day_creators_ok=<n>/50. Exit status 1 when a target is missed (checked <= 5, no 409, one
creator). Measured on the code before issue 13: 40/40 (SQLite) and 30/40 (PostgreSQL) API
guesses checked, 23 of 50 attacks refused on PostgreSQL, all 50 day creators answered 200.
Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import PASSWORD, prepare, start_server

LIMIT = 5


def burst(n: int, call: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    start = threading.Barrier(n)

    def one(i: int) -> httpx.Response:
        start.wait()
        return call(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def run(engine: str, pg_url: str) -> bool:
    work = Path(tempfile.mkdtemp(prefix="acuhead-races-"))
    if engine == "sqlite":
        url = f"sqlite:///{work / 'races.sqlite3'}"
    else:
        url = pg_url
        admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        name = url.rsplit("/", 1)[1]
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            c.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    first, _prac, emails = prepare(url, 3, patient_logins=True)
    os.environ["ACUHEAD_LOGIN_MAX_FAILURES"] = str(LIMIT)
    os.environ["ACUHEAD_LOGIN_WINDOW_SECONDS"] = "300"
    port = 19000 + os.getpid() % 1000
    proc = start_server(url, port, work / "server.log", 1)
    base = f"http://127.0.0.1:{port}"
    try:
        checked: dict[str, int] = {}
        refused_after: dict[str, int] = {}
        for via, email in (("api", emails[1]), ("page", emails[2])):

            def attempt(password: str, via: str = via, email: str = email) -> httpx.Response:
                if via == "api":
                    body = {"email": email, "password": password}
                    return httpx.post(f"{base}/api/v1/auth/login", json=body, timeout=120)
                return httpx.post(
                    f"{base}/login",
                    data={"email": email, "password": password},
                    headers={"Origin": base},
                    timeout=120,
                )

            codes = Counter(r.status_code for r in burst(40, lambda i: attempt(f"guess-{i}")))
            checked[via] = codes[401]
            refused_after[via] = attempt(PASSWORD).status_code
        login = {"email": emails[0], "password": PASSWORD}
        token = httpx.post(f"{base}/api/v1/auth/login", json=login).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}

        def attack(i: int) -> httpx.Response:
            start = dt.datetime(2026, 2, 4, 8, 0) + dt.timedelta(minutes=7 * i)
            body = {"start": start.isoformat(), "duration_min": 30, "peak_intensity": 5}
            url = f"{base}/api/v1/patients/{first}/attacks"
            return httpx.post(url, json=body, headers=headers, timeout=120)

        def create_day(i: int) -> httpx.Response:
            url = f"{base}/api/v1/patients/{first}/days/2026-02-03"
            body = {"headache": True, "notes": f"writer {i}"}
            return httpx.put(url, json=body, headers=headers, timeout=120)

        attacks = Counter(r.status_code for r in burst(50, attack))
        creators = Counter(r.status_code for r in burst(50, create_day))
    finally:
        proc.terminate()
        proc.wait(10)
    print(
        f"engine={engine} login_api_checked={checked['api']}/40 "
        f"login_page_checked={checked['page']}/40 "
        f"right_password_after={refused_after['api']},{refused_after['page']} "
        f"attacks_409={attacks[409]}/50 day_creators_ok={creators[200]}/50 "
        f"day_creators_refused={dict((k, v) for k, v in creators.items() if k != 200)}"
    )
    return (
        max(checked.values()) <= LIMIT
        and set(refused_after.values()) == {429}
        and attacks == Counter({201: 50})
        and creators[200] == 1
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument(
        "--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/acuhead_races"
    )
    args = ap.parse_args()
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    ok = [run(engine, args.pg_url) for engine in engines]
    sys.exit(0 if all(ok) else 1)


if __name__ == "__main__":
    main()
