"""End to end as people use it: the register's CLI over HTTP, the issued card in a virtual reader
through pcscd (`mynacard emulate`), the clerk check (`mynacard card check`) against the register's
application form and the CA service's OCSP responder, a 方法2 query, a portal login with the card
through pcscd that lists the clerk's query, then moves: the within-municipality move revokes the
signing certificate only (the check fails on the address, the auth certificate stays good), and
a move-in past the §2.1 deadline lapses the card (the check fails on revocation).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any


from mynacard.ca.era import era_yymmdd
from register_server import Services, portal_login, wait_delivered

MYNACARD = [sys.executable, "-m", "mynacard"]
BORN = date(1980, 2, 17)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MYNACARD, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def register(services: Services, *args: str, token: str = "register-admin", **env: str) -> Any:
    result = run("register", *args, "--url", f"{services.base}/register", "--data", str(services.data_dir),
                 "--token-name", token, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.lstrip().startswith(("{", "[")) else result.stdout


def emulate(card_dir: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([*MYNACARD, "emulate", "--card", str(card_dir)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("Ctrl-C"):
            break
    readers = re.findall(r"in reader '([^']+)'", "".join(lines))
    assert len(readers) == 1, "".join(lines)
    from mynacard.emulator.pcsc_state import wait_for_presence

    assert wait_for_presence(readers[0], True, 5)
    return process, readers[0]


def card_check(services: Services, reader: str, form: Path, code_b: str) -> dict[str, Any]:
    result = run("card", "check", "--reader", reader, "--application", str(form), "--trust-test-authority", "--ocsp",
                 f"{services.base}/ca/ocsp/auth", "--json", env={"MYNACARD_CODE_B": code_b})
    report = json.loads(result.stdout)
    report["returncode"] = result.returncode
    return dict(report)


def failed(report: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c.get("reason", "") for c in report["checks"] if c["status"] == "failed"}


def test_register_card_check_portal_and_moves_end_to_end(services: Services, virtual_reader: object,
                                                        tmp_path: Path) -> None:
    created = register(services, "birth", "--family-name", "見本", "--given-name", "次郎", "--birth-date",
                       BORN.isoformat(), "--sex", "male", "--address", "東京都千代田区見本町1-2-3",
                       "--municipality-code", "13101")
    code, number = created["resident_code"], created["my_number"]
    card_dir = tmp_path / "card"
    printed = register(services, "card", "issue", code, "--out", str(card_dir))
    expiry = re.search(r"expires (\d{4})-\d\d-\d\d, security code (\d{4})", printed)
    assert expiry, printed
    code_b = f"{era_yymmdd(BORN)}{expiry.group(1)}{expiry.group(2)}"
    form = tmp_path / "form.json"
    register(services, "application-form", code, "--out", str(form))
    assert form.stat().st_mode & 0o777 == 0o600

    process, reader = emulate(card_dir)
    try:
        report = card_check(services, reader, form, code_b)
        assert report["returncode"] == 0 and failed(report) == {}, report

        answer = register(services, "method2", "--name", "見本 次郎", "--birth-date", "昭和55年2月17日", "--sex", "男",
                          "--address", "千代田区見本町一丁目2番3号", "--purpose", "e2e 方法2", token="clerk",
                          MYNACARD_MY_NUMBER=number)
        assert answer == {"result": "match", "differs": []}
        me = portal_login(services, f"pcsc:{reader}")
        records = me.get("/v1/portal/me/access-records").json()
        assert any(r["action"] == "method2-query" and r["purpose"] == "e2e 方法2" for r in records), records
        me.close()

        moved = register(services, "event", code, "move-within", "--address", "東京都千代田区見本町7-7-7",
                         "--cause", "転居届")
        assert [r["ca"] for r in moved["revocations"]] == ["sign"]
        register(services, "application-form", code, "--out", str(form))
        report = card_check(services, reader, form, code_b)
        assert report["returncode"] != 0
        assert any("address" in check_id for check_id in failed(report)), report
        assert not any("revocation" in check_id for check_id in failed(report)), report

        out_day, in_day = date.today() - timedelta(days=40), date.today() - timedelta(days=38)
        register(services, "event", code, "move-out", "--planned-date", in_day.isoformat(), "--destination",
                 "大阪府大阪市北区1-1", "--date", out_day.isoformat())
        late = register(services, "event", code, "move-in", "--moved-in-on", in_day.isoformat(),
                        "--municipality-code", "27100", "--address", "大阪府大阪市北区1-1")
        assert late["summary"]["card_lapsed"]
        with services.register() as admin:
            wait_delivered(admin, late["id"])
        report = card_check(services, reader, form, code_b)
        assert report["returncode"] != 0
        assert any("revocation" in check_id for check_id in failed(report)), report
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)

    outbox = register(services, "outbox", "--status", "failed")
    assert outbox == []
