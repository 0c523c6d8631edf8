//! Collector CPU per row, against the limit: serde_json deserialising the same bytes into
//! minimal borrowed structs with no other work (issue 10, item 3).
//!
//! Each group parses the same pages twice, in the same run:
//! - `limit`: `serde_json::from_slice` into `struct Page { value: Vec<Row> }`, where `Row`
//!   holds only the fields the collector reads, as `&str` borrowed from the body, and nothing
//!   else is done with them;
//! - `collector`: the collector's own code, `graph::parse_page` streaming each row into the
//!   collector's fold, exactly as a poll does after the HTTP body is in.
//!
//! The pages are shaped like Graph's answers to the collector's `$select` (reference §6.1, §7).
//! After criterion's own report, the ratios collector / limit and the time per 1,000,000 rows
//! are printed from criterion's estimates.
//!
//! Run: `cargo bench --bench parsing` (results go to docs/benchmarks.md by hand).

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput};
use serde::Deserialize;
use serde_json::json;

use entra_exporter::collectors::{
    auth_methods_registration as registration, credentials, sign_ins,
};
use entra_exporter::graph::parse_page;

/// Rows per page, as Graph serves both collections (1,000 and 999 at `$top=999`).
const PAGE_ROWS: usize = 1000;
/// Pages per iteration: enough rows that per-page costs show, few enough to stay in cache.
const PAGES: usize = 20;

/// A small deterministic generator (SplitMix64), so every run parses the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn guid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }
}

const METHODS: [&str; 9] = [
    "microsoftAuthenticatorPush",
    "softwareOneTimePasscode",
    "mobilePhone",
    "email",
    "passKeyDeviceBound",
    "windowsHelloForBusiness",
    "microsoftAuthenticatorPasswordless",
    "temporaryAccessPass",
    "securityQuestion",
];

/// `userRegistrationDetails` pages with the collector's `$select`.
fn registration_pages(rng: &mut Rng) -> Vec<Vec<u8>> {
    (0..PAGES)
        .map(|page| {
            let rows: Vec<_> = (0..PAGE_ROWS)
                .map(|_| {
                    let methods: Vec<&str> = METHODS
                        .iter()
                        .filter(|_| rng.chance(0.3))
                        .copied()
                        .collect();
                    let mfa = !methods.is_empty();
                    json!({
                        "isAdmin": rng.chance(0.02),
                        "isMfaCapable": mfa,
                        "isMfaRegistered": mfa,
                        "isPasswordlessCapable": rng.chance(0.2),
                        "isSsprCapable": rng.chance(0.6),
                        "isSsprEnabled": rng.chance(0.8),
                        "isSsprRegistered": rng.chance(0.6),
                        "isSystemPreferredAuthenticationMethodEnabled": rng.chance(0.9),
                        "methodsRegistered": methods,
                        "systemPreferredAuthenticationMethods":
                            if mfa { vec!["push"] } else { vec![] },
                        "userPreferredMethodForSecondaryAuthentication":
                            if mfa { "push" } else { "none" },
                        "defaultMfaMethod": if mfa { json!("microsoftAuthenticatorPush") } else { json!(null) },
                    })
                })
                .collect();
            page_bytes(rows, page, "reports/authenticationMethods/userRegistrationDetails")
        })
        .collect()
}

/// `applications` pages with the collector's `$select`: 0 to 5 credentials per app, about
/// three per app on average, as in a tenant of 100,000 apps and 300,000 credentials.
fn application_pages(rng: &mut Rng) -> Vec<Vec<u8>> {
    (0..PAGES)
        .map(|page| {
            let rows: Vec<_> = (0..PAGE_ROWS)
                .map(|i| {
                    let secrets: Vec<_> = (0..rng.below(4))
                        .map(|_| {
                            json!({
                                "customKeyIdentifier": null,
                                "displayName": format!("secret-{}", rng.below(100)),
                                "endDateTime": format!("2027-{:02}-{:02}T09:12:00Z", 1 + rng.below(12), 1 + rng.below(28)),
                                "hint": "Q~8",
                                "keyId": rng.guid(),
                                "secretText": null,
                                "startDateTime": "2025-01-15T09:12:00Z",
                            })
                        })
                        .collect();
                    let certificates: Vec<_> = (0..rng.below(3))
                        .map(|_| {
                            json!({
                                "customKeyIdentifier": "7Jx3A1B2C3D4E5F6",
                                "displayName": format!("CN=app-{i}"),
                                "endDateTime": format!("2026-{:02}-{:02}T00:00:00.6195833Z", 1 + rng.below(12), 1 + rng.below(28)),
                                "key": null,
                                "keyId": rng.guid(),
                                "startDateTime": "2025-01-10T00:00:00Z",
                                "type": "AsymmetricX509Cert",
                                "usage": "Verify",
                            })
                        })
                        .collect();
                    json!({
                        "id": rng.guid(),
                        "appId": rng.guid(),
                        "displayName": format!("contoso-app-{page}-{i}"),
                        "passwordCredentials": secrets,
                        "keyCredentials": certificates,
                    })
                })
                .collect();
            page_bytes(rows, page, "applications")
        })
        .collect()
}

/// Sign-in pages (`auditLogs/signIns`, reference §8) as Graph serves them to the collector's
/// `$filter` on time, every documented property the collector does not read included.
fn sign_in_pages(rng: &mut Rng) -> Vec<Vec<u8>> {
    const APPS: [&str; 4] = [
        "Office 365 Exchange Online",
        "Azure Portal",
        "Contoso HR",
        "Teams",
    ];
    const OS: [&str; 4] = ["Windows10", "MacOs", "Ios", "Android"];
    const COUNTRIES: [&str; 4] = ["US", "DE", "GB", "IN"];
    let mut second = 0u64;
    (0..PAGES)
        .map(|page| {
            let rows: Vec<_> = (0..PAGE_ROWS)
                .map(|_| {
                    second += 1;
                    let app = rng.below(4) as usize;
                    let failed = rng.chance(0.1);
                    json!({
                        "id": rng.guid(),
                        "createdDateTime": format!("2026-11-23T{:02}:{:02}:{:02}Z", second / 3600 % 24, second / 60 % 60, second % 60),
                        "userDisplayName": "Lena Example",
                        "userPrincipalName": "lena@contoso.com",
                        "userId": rng.guid(),
                        "appId": format!("00000002-0000-0ff1-ce00-00000000000{app}"),
                        "appDisplayName": APPS[app],
                        "ipAddress": "203.0.113.7",
                        "clientAppUsed": "Browser",
                        "correlationId": rng.guid(),
                        "conditionalAccessStatus": if rng.chance(0.5) { "success" } else { "notApplied" },
                        "isInteractive": true,
                        "riskDetail": "none",
                        "riskLevelAggregated": "none",
                        "riskLevelDuringSignIn": if rng.chance(0.02) { "medium" } else { "none" },
                        "riskState": "none",
                        "riskEventTypes_v2": [],
                        "resourceDisplayName": "Microsoft Graph",
                        "resourceId": "00000003-0000-0000-c000-000000000000",
                        "status": {
                            "errorCode": if failed { 50126 } else { 0 },
                            "failureReason": if failed { "Invalid username or password." } else { "Other." },
                            "additionalDetails": null,
                        },
                        "deviceDetail": {
                            "deviceId": "",
                            "displayName": "",
                            "operatingSystem": OS[rng.below(4) as usize],
                            "browser": "Edge 120.0.0",
                            "isCompliant": false,
                            "isManaged": false,
                            "trustType": "",
                        },
                        "location": {
                            "city": "Redmond",
                            "state": "Washington",
                            "countryOrRegion": COUNTRIES[rng.below(4) as usize],
                            "geoCoordinates": {"altitude": null, "latitude": 47.68, "longitude": -122.12},
                        },
                        "appliedConditionalAccessPolicies": [],
                    })
                })
                .collect();
            page_bytes(rows, page, "auditLogs/signIns")
        })
        .collect()
}

/// A page in Graph's envelope, with a nextLink on every page but the last.
fn page_bytes(rows: Vec<serde_json::Value>, page: usize, set: &str) -> Vec<u8> {
    let mut body = json!({
        "@odata.context": format!("https://graph.microsoft.com/beta/$metadata#{set}"),
        "value": rows,
    });
    if page + 1 < PAGES {
        body["@odata.nextLink"] =
            format!("https://graph.microsoft.com/beta/{set}?$skiptoken=page{page}").into();
    }
    serde_json::to_vec(&body).unwrap()
}

/// The limit's page: rows gathered in a `Vec`, as serde does it.
#[derive(Deserialize)]
#[allow(dead_code)]
struct LimitPage<T> {
    value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

/// The registration fields the collector reads, borrowed.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct LimitDetails<'a> {
    is_admin: Option<bool>,
    is_mfa_capable: Option<bool>,
    is_mfa_registered: Option<bool>,
    is_passwordless_capable: Option<bool>,
    is_sspr_capable: Option<bool>,
    is_sspr_enabled: Option<bool>,
    is_sspr_registered: Option<bool>,
    is_system_preferred_authentication_method_enabled: Option<bool>,
    #[serde(borrow)]
    methods_registered: Option<Vec<&'a str>>,
    #[serde(borrow)]
    system_preferred_authentication_methods: Option<Vec<&'a str>>,
    user_preferred_method_for_secondary_authentication: Option<&'a str>,
    default_mfa_method: Option<&'a str>,
}

/// The application fields the collector reads, borrowed.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct LimitObject<'a> {
    app_id: Option<&'a str>,
    display_name: Option<&'a str>,
    #[serde(borrow)]
    password_credentials: Option<Vec<LimitCredential<'a>>>,
    #[serde(borrow)]
    key_credentials: Option<Vec<LimitCredential<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct LimitCredential<'a> {
    key_id: Option<&'a str>,
    display_name: Option<&'a str>,
    end_date_time: Option<&'a str>,
}

/// The sign-in fields the collector reads, borrowed.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct LimitSignIn<'a> {
    id: Option<&'a str>,
    created_date_time: Option<&'a str>,
    app_id: Option<&'a str>,
    app_display_name: Option<&'a str>,
    user_id: Option<&'a str>,
    status: Option<LimitStatus>,
    conditional_access_status: Option<&'a str>,
    client_app_used: Option<&'a str>,
    #[serde(borrow)]
    device_detail: Option<LimitDevice<'a>>,
    #[serde(borrow)]
    location: Option<LimitLocation<'a>>,
    risk_level_during_sign_in: Option<&'a str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct LimitStatus {
    error_code: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct LimitDevice<'a> {
    operating_system: Option<&'a str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct LimitLocation<'a> {
    country_or_region: Option<&'a str>,
}

fn bench(c: &mut Criterion) {
    let mut rng = Rng(0x5eed_2025);
    let rows = (PAGES * PAGE_ROWS) as u64;

    let pages = registration_pages(&mut rng);
    let mut group = c.benchmark_group("userRegistrationDetails");
    group.throughput(Throughput::Elements(rows));
    group.bench_function("limit", |b| {
        b.iter(|| {
            for body in &pages {
                let page: LimitPage<LimitDetails> = serde_json::from_slice(body).unwrap();
                black_box(page);
            }
        })
    });
    group.bench_function("collector", |b| {
        b.iter(|| {
            let mut tally = registration::Tally::default();
            for body in &pages {
                parse_page::<registration::Details<'static>>(body, &mut |d| tally.add(d)).unwrap();
            }
            black_box(tally.families("bench", 20))
        })
    });
    group.finish();

    let pages = application_pages(&mut rng);
    let mut group = c.benchmark_group("applications");
    group.throughput(Throughput::Elements(rows));
    group.bench_function("limit", |b| {
        b.iter(|| {
            for body in &pages {
                let page: LimitPage<LimitObject> = serde_json::from_slice(body).unwrap();
                black_box(page);
            }
        })
    });
    group.bench_function("collector", |b| {
        b.iter(|| {
            let mut builder = credentials::Builder::new("bench");
            for body in &pages {
                parse_page::<credentials::DirectoryObject<'static>>(body, &mut |o| {
                    builder.add(false, o)
                })
                .unwrap();
            }
            black_box(builder.finish())
        })
    });
    group.finish();

    let pages = sign_in_pages(&mut rng);
    let mut group = c.benchmark_group("signIns");
    group.throughput(Throughput::Elements(rows));
    group.bench_function("limit", |b| {
        b.iter(|| {
            for body in &pages {
                let page: LimitPage<LimitSignIn> = serde_json::from_slice(body).unwrap();
                black_box(page);
            }
        })
    });
    // The whole day is one window, as a catch-up after a day reads it.
    let window = (1_795_392_000.0, 1_795_478_400.0);
    // Every row is counted, so the comparison is with the collector's full per-row work.
    assert_eq!(sign_ins::fold_page(&pages[0], window).unwrap(), PAGE_ROWS);
    group.bench_function("collector", |b| {
        b.iter(|| {
            for body in &pages {
                black_box(sign_ins::fold_page(body, window).unwrap());
            }
        })
    });
    group.finish();
}

/// Criterion's mean estimate of `group/function`, in nanoseconds per iteration.
fn mean_ns(group: &str, function: &str) -> Option<f64> {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let path = dir
        .join("criterion")
        .join(group)
        .join(function)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
    let rows = (PAGES * PAGE_ROWS) as f64;
    println!();
    println!("| Rows | Limit, s per 1,000,000 rows | Collector, s per 1,000,000 rows | Ratio |");
    println!("|---|---|---|---|");
    for group in ["userRegistrationDetails", "applications", "signIns"] {
        let (Some(limit), Some(collector)) = (mean_ns(group, "limit"), mean_ns(group, "collector"))
        else {
            continue;
        };
        let per_million = |ns: f64| ns / rows * 1e6 / 1e9;
        println!(
            "| {group} | {:.3} | {:.3} | {:.2} |",
            per_million(limit),
            per_million(collector),
            collector / limit
        );
    }
}
