#!/usr/bin/env python3
"""Refreshes the graph_page_* seed corpora from the Graph simulator's answers.

Start a small simulated tenant first, for example:

    cargo run -p graph-sim -- --listen 127.0.0.1:18787 --no-throttle --no-reports-throttle \
        --applications 5 --extra-service-principals 2 --users 20 --relying-parties 3

then run `fuzz/seeds_from_simulator.py [http://127.0.0.1:18787]`. Each collector's endpoints
are read once; every page is cut to its first three rows (its nextLink kept) and written to
fuzz/corpus/graph_page_<collector>/sim-<name>. Hand-written seeds there are left alone.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:18787"
TENANT = "7f3c2a10-5b4e-4c1d-9e8f-0a1b2c3d4e5f"  # graph-sim's DEMO_TENANT_ID
CLIENT_ID = "5d3b1e0f-6a2c-4e8b-9f71-3c4d5e6f7a8b"  # DEMO_CLIENT_ID
CLIENT_SECRET = "sim~demo-secret-value"  # DEMO_CLIENT_SECRET, a public test value
CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def token():
    form = urllib.parse.urlencode({
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scope": "https://graph.microsoft.com/.default",
    }).encode()
    url = f"{BASE}/{TENANT}/oauth2/v2.0/token"
    return json.load(urllib.request.urlopen(urllib.request.Request(url, data=form)))["access_token"]


def window(prop):
    """The activity-log query the collectors send, over the last three days."""
    now = time.time()
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    flt = f"{prop} ge {iso(now - 3 * 86400)} and {prop} le {iso(now)}"
    return "$filter=" + urllib.parse.quote(flt) + "&$top=3"


ENDPOINTS = {
    "credentials": {
        "applications": "/v1.0/applications?$select=id,appId,displayName,passwordCredentials,keyCredentials&$top=2",
        "service-principals": "/v1.0/servicePrincipals?$select=id,appId,displayName,passwordCredentials,keyCredentials&$top=2",
    },
    "service_principal_sign_ins": {
        "activities": "/beta/reports/servicePrincipalSignInActivities",
        "service-principals": "/v1.0/servicePrincipals?$select=appId&$top=2",
    },
    "app_credential_sign_ins": {"activities": "/beta/reports/appCredentialSignInActivities"},
    "application_sign_in_summary": {
        "d7": "/beta/reports/getAzureADApplicationSignInSummary(period='D7')",
    },
    "adfs_relying_parties": {"d7": "/v1.0/reports/getRelyingPartyDetailedSummary(period='D7')"},
    "auth_methods_registration": {
        "details": "/beta/reports/authenticationMethods/userRegistrationDetails",
    },
    "auth_methods_usage": {
        "usage": "/beta/reports/getCredentialUsageSummary(period='D30')",
        "registration": "/beta/reports/getCredentialUserRegistrationCount",
        "mfa": "/beta/reports/authenticationMethods/userMfaSignInSummary",
    },
    "sign_ins": {
        "v1": "/v1.0/auditLogs/signIns?" + window("createdDateTime"),
        "beta": "/beta/auditLogs/signIns?" + window("createdDateTime"),
    },
    "directory_audits": {"page": "/v1.0/auditLogs/directoryAudits?" + window("activityDateTime")},
    "provisioning": {"page": "/v1.0/auditLogs/provisioning?" + window("activityDateTime")},
    "custom_security_attribute_audits": {
        "page": "/beta/auditLogs/customSecurityAttributeAudits?" + window("activityDateTime"),
    },
    "user_insights": {
        f"{period}-{metric}": f"/beta/reports/userInsights/{period}/{metric}"
        for period in ("daily", "monthly")
        for metric in ("activeUsers", "inactiveUsers", "inactiveUsersByApplication", "signUps",
                       "mfaCompletions", "authentications", "summary")
    } | {
        "daily-userCount": "/beta/reports/userInsights/daily/userCount",
        "monthly-requests": "/beta/reports/userInsights/monthly/requests",
    },
}


def main():
    bearer = {"Authorization": "Bearer " + token()}
    for collector, pages in ENDPOINTS.items():
        directory = os.path.join(CORPUS, "graph_page_" + collector)
        os.makedirs(directory, exist_ok=True)
        for name, path in pages.items():
            try:
                body = urllib.request.urlopen(urllib.request.Request(BASE + path, headers=bearer)).read()
            except urllib.error.HTTPError as e:
                print(f"skipped {collector}/{name}: HTTP {e.code}", file=sys.stderr)
                continue
            page = json.loads(body)
            page["value"] = page.get("value", [])[:3]
            with open(os.path.join(directory, "sim-" + name), "w") as f:
                json.dump(page, f, separators=(",", ":"))
            print(f"{collector}/sim-{name}")


if __name__ == "__main__":
    main()
