#!/usr/bin/env python3
"""Checks that a credential-expiry alert travels Prometheus -> Alertmanager -> a webhook.

Starts (scripts/monitoring/stack.py, all on loopback) a webhook receiver, Debian's Alertmanager
routing every alert to it with a 1 s group_wait, the demo exporter, and Debian's Prometheus
scraping the demo with prometheus/rules loaded and sending to that Alertmanager. Passes when the
receiver gets a firing EntraCredentialExpiringCritical, EntraCredentialExpiringSoon or
EntraCredentialExpired alert whose payload names the app (label `app_name`) and the days left
(annotation `days_left`), and those days match what Prometheus has for that credential.

The rules are the rules helper's (monitoring/generate_rules.py); when the rules file does not
exist yet, this waits for it (--wait-rules) rather than using rules of its own.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stack  # noqa: E402  (scripts/monitoring/stack.py)

RULES = stack.RULES_DIR / "entra-exporter.rules.yaml"
ALERTS = ("EntraCredentialExpiringCritical", "EntraCredentialExpiringSoon", "EntraCredentialExpired")


def wait_for_rules(timeout: float) -> None:
    deadline = time.monotonic() + timeout
    announced = False
    while True:
        if RULES.exists() and any(f"alert: {a}" in RULES.read_text() for a in ALERTS):
            return
        if time.monotonic() > deadline:
            sys.exit(f"FAILED: {RULES.relative_to(stack.REPO)} with a credential-expiry alert did not appear within {timeout:.0f} s")
        if not announced:
            print(f"waiting for {RULES.relative_to(stack.REPO)} (written by monitoring/generate_rules.py) ...", flush=True)
            announced = True
        time.sleep(5)


def credential_alerts(payload: dict) -> list[dict]:
    return [
        a
        for a in payload.get("alerts", [])
        if a.get("status") == "firing" and a.get("labels", {}).get("alertname") in ALERTS
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wait-rules", type=float, default=600, help="seconds to wait for the rules file to appear")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for the alert once the demo is ready")
    args = parser.parse_args()
    wait_for_rules(args.wait_rules)

    try:
        with stack.webhook_receiver() as receiver, stack.alertmanager(receiver.url) as am, stack.demo_exporter() as demo, stack.prometheus(
            [demo.address], rule_files=stack.rule_files(), alertmanager_url=am.url
        ) as prom:
            started = time.monotonic()
            payload = receiver.wait_for(lambda p: bool(credential_alerts(p)), args.timeout)
            if payload is None:
                firing = prom.api("alerts").get("data", {}).get("alerts", [])
                names = sorted({a["labels"].get("alertname") for a in firing})
                print(
                    f"FAILED: no credential-expiry alert reached the webhook within {args.timeout:.0f} s "
                    f"({len(receiver.payloads)} payload(s) received; firing in Prometheus: {names or 'none'}).\n"
                    f"Alertmanager log:\n{stack.log_tail(am.log)}\nPrometheus log:\n{stack.log_tail(prom.log)}",
                    file=sys.stderr,
                )
                return 1
            took = time.monotonic() - started
            problems = []
            alerts = credential_alerts(payload)
            checked = 0
            for alert in alerts:
                labels, notes = alert.get("labels", {}), alert.get("annotations", {})
                name = labels.get("alertname")
                if not labels.get("app_name") and not notes.get("app_name"):
                    problems.append(f"{name} for key {labels.get('key_id')}: no app_name in the payload")
                try:
                    days = float(notes.get("days_left", ""))
                except ValueError:
                    problems.append(f"{name} for key {labels.get('key_id')}: annotation days_left is {notes.get('days_left')!r}, not a number")
                    continue
                if checked < 5:
                    # The annotation must be the credential's real countdown, not a template accident.
                    truth = prom.query(f'entra:app_credential_expiry_days{{key_id="{labels.get("key_id")}",object="{labels.get("object")}"}}')
                    result = truth.get("data", {}).get("result", [])
                    if result and abs(float(result[0]["value"][1]) - days) > 0.2:
                        problems.append(f"{name} for {labels.get('app_name')}: days_left {days} but Prometheus has {float(result[0]['value'][1]):.2f}")
                    checked += 1
            first = alerts[0]
            print(
                f"webhook received {first['labels']['alertname']} for app_name={first['labels'].get('app_name')!r} "
                f"days_left={first['annotations'].get('days_left')} ({len(alerts)} credential alert(s) in the payload) "
                f"{took:.0f} s after the demo was ready"
            )
            if problems:
                print("FAILED:\n" + "\n".join(f"- {p}" for p in problems[:20]), file=sys.stderr)
                return 1
    except stack.StackError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    print("alert delivery OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
