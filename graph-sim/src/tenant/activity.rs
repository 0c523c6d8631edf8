//! Generation of the last sign-ins of service principals (reference §4) and credentials (§5).
//!
//! Each service principal and each credential draws from its own random stream, keyed by its
//! object id or key id, so adding objects never changes the activity of existing ones. The
//! kinds of sign-in follow the kind of service principal: managed identities and daemons sign
//! in app-only, web apps on behalf of users, APIs and Microsoft's resource apps are the
//! resource of other apps' tokens, SAML apps are the resource of users' sign-ins.
//!
//! No timestamp falls within one day of `now − 30 days` or `now − 90 days`, so counts of
//! "no sign-in within 30/90 days" taken near `now` do not change while a test runs.

use std::collections::HashMap;

use super::generate::{fraction, SAML_CERT_NAME};
use super::words;
use super::{
    AppCredentialActivity, Application, CredentialType, ObjectKind, ServicePrincipal,
    ServicePrincipalActivity, SignIn,
};
use crate::rng::Rng;
use crate::time::{UtcTime, DAY};

/// Random stream of a service principal's sign-in activity.
const STREAM_SERVICE_PRINCIPAL_ACTIVITY: u64 = 4;
/// Random stream of a credential's sign-in activity.
const STREAM_CREDENTIAL_ACTIVITY: u64 = 5;

/// Windows whose boundaries (`now − N days`) no timestamp comes near.
const GUARDED_WINDOW_DAYS: [i64; 2] = [30, 90];
/// Distance every timestamp keeps from a guarded boundary.
const GUARD: i64 = DAY;
/// Attempts at drawing an unguarded timestamp before giving up (and reporting no sign-in).
const DRAW_ATTEMPTS: usize = 16;

/// Oldest sign-in the reports keep (§4 does not say; 180 days is the report's look-back in
/// the Entra portal's usage-and-insights blade).
const MAX_AGE: i64 = 180 * DAY;
/// Age mix of last sign-ins: `(youngest, oldest, weight)`; most active apps signed in lately.
const AGE_MIX: &[((i64, i64), u32)] = &[
    ((60, 7 * DAY), 55),
    ((7 * DAY, 60 * DAY), 25),
    ((60 * DAY, MAX_AGE), 20),
];

/// Share of enabled service principals that never signed in.
const NEVER_SIGNED_IN_ENABLED: f64 = 0.13;
/// Share of disabled service principals that never signed in.
const NEVER_SIGNED_IN_DISABLED: f64 = 0.5;
/// Share of unexpired credentials never used.
const NEVER_USED_VALID: f64 = 0.25;
/// Share of expired credentials never used.
const NEVER_USED_EXPIRED: f64 = 0.35;

/// Resources credentials are used for, weighted: Microsoft Graph, Azure Resource Manager,
/// Azure Key Vault.
const RESOURCES: &[(&str, u32)] = &[
    ("00000003-0000-0000-c000-000000000000", 70),
    ("797f4846-ba00-4fd7-ba43-dac1f8f63013", 20),
    ("cfa8b339-82a2-471a-a3c9-0fc0be7a4093", 10),
];

/// Likelihood of each sign-in kind for one kind of service principal: delegated client,
/// delegated resource, app-only client, app-only resource.
type Profile = [f64; 4];

/// Managed identities and legacy principals: app-only clients.
const APP_ONLY_CLIENT: Profile = [0.0, 0.0, 1.0, 0.0];
/// Microsoft's resource apps: the audience of users' and daemons' tokens.
const FIRST_PARTY: Profile = [0.4, 1.0, 0.0, 0.6];
/// SAML apps: the resource of users' sign-ins.
const SAML_APP: Profile = [0.0, 1.0, 0.0, 0.0];
/// Other organisations' apps: mostly users signing in, sometimes a daemon.
const THIRD_PARTY: Profile = [1.0, 0.0, 0.3, 0.0];
/// The tenant's own daemons.
const OWN_DAEMON: Profile = [0.0, 0.0, 1.0, 0.0];
/// The tenant's own web apps.
const OWN_WEB_APP: Profile = [1.0, 0.0, 0.3, 0.0];
/// The tenant's own APIs.
const OWN_API: Profile = [0.3, 1.0, 0.2, 0.5];

/// Tag of SAML enterprise apps.
const SAML_TAG: &str = "WindowsAzureActiveDirectoryCustomSingleSignOnApplication";

/// FNV-1a, 64 bits: the stream index of an object, from its id.
fn stream_index(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Whether `t` keeps its distance from every guarded boundary.
fn unguarded(now: i64, t: i64) -> bool {
    GUARDED_WINDOW_DAYS
        .iter()
        .all(|days| (t - (now - days * DAY)).abs() > GUARD)
}

/// A sign-in at a random instant of `lo..=hi` (Unix seconds) outside the guard bands, or
/// `None` when none was found.
fn sign_in_between(rng: &mut Rng, now: i64, lo: i64, hi: i64) -> Option<SignIn> {
    if hi < lo {
        return None;
    }
    let t = (0..DRAW_ATTEMPTS)
        .map(|_| rng.range(lo, hi))
        .find(|t| unguarded(now, *t))?;
    Some(SignIn {
        date_time: UtcTime::from_unix(t, fraction(rng)),
        request_id: rng.guid(),
    })
}

/// A sign-in no earlier than `not_before`, its age drawn from [`AGE_MIX`].
fn recent_sign_in(rng: &mut Rng, now: i64, not_before: i64) -> Option<SignIn> {
    let (youngest, oldest) = rng.weighted(AGE_MIX).unwrap_or((60, MAX_AGE));
    let hi = now - youngest;
    let lo = (now - oldest).max(not_before);
    if lo <= hi {
        sign_in_between(rng, now, lo, hi)
    } else {
        sign_in_between(rng, now, not_before, now - 60)
    }
}

/// The sign-in profile of a service principal.
fn profile(rng: &mut Rng, sp: &ServicePrincipal, tenant_id: &str) -> Profile {
    let owner = sp.app_owner_organization_id.as_deref();
    if sp.service_principal_type != "Application" {
        APP_ONLY_CLIENT
    } else if owner == Some(words::MICROSOFT_TENANT_ID) {
        FIRST_PARTY
    } else if sp.tags.iter().any(|t| t == SAML_TAG) {
        SAML_APP
    } else if owner == Some(tenant_id) {
        rng.weighted(&[(OWN_DAEMON, 45), (OWN_WEB_APP, 35), (OWN_API, 20)])
            .unwrap_or(OWN_DAEMON)
    } else {
        THIRD_PARTY
    }
}

/// The last sign-ins of one service principal.
fn service_principal_activity(
    seed: u64,
    now: i64,
    tenant_id: &str,
    sp: &ServicePrincipal,
) -> ServicePrincipalActivity {
    let mut rng = Rng::derive(
        seed,
        STREAM_SERVICE_PRINCIPAL_ACTIVITY,
        stream_index(&sp.id),
    );
    let never = if sp.account_enabled {
        NEVER_SIGNED_IN_ENABLED
    } else {
        NEVER_SIGNED_IN_DISABLED
    };
    let mut kinds: [Option<SignIn>; 4] = Default::default();
    if !rng.chance(never) {
        let profile = profile(&mut rng, sp, tenant_id);
        for (slot, p) in kinds.iter_mut().zip(profile) {
            if rng.chance(p) {
                *slot = recent_sign_in(&mut rng, now, now - MAX_AGE);
            }
        }
    }
    let [delegated_client, delegated_resource, app_only_client, app_only_resource] = kinds;
    ServicePrincipalActivity {
        app_id: sp.app_id.clone(),
        delegated_client,
        delegated_resource,
        app_only_client,
        app_only_resource,
    }
}

/// What the credential generator needs to know about one credential.
struct CredentialFacts<'a> {
    /// Credential id.
    key_id: &'a str,
    /// Friendly name.
    display_name: Option<&'a str>,
    /// Start of validity.
    start: Option<UtcTime>,
    /// Expiry.
    end: Option<UtcTime>,
}

/// The last use of one credential: never for SAML signing material (it signs tokens, it does
/// not authenticate the app); for expired credentials before they expired.
fn credential_sign_in(seed: u64, now: i64, c: &CredentialFacts<'_>) -> Option<SignIn> {
    if c.display_name == Some(SAML_CERT_NAME) {
        return None;
    }
    let mut rng = Rng::derive(seed, STREAM_CREDENTIAL_ACTIVITY, stream_index(c.key_id));
    let start = c.start.map_or(now - 365 * DAY, UtcTime::unix_seconds);
    match c.end.map(UtcTime::unix_seconds) {
        Some(end) if end <= now => {
            if rng.chance(NEVER_USED_EXPIRED) {
                return None;
            }
            let lo = start.max(end - MAX_AGE);
            sign_in_between(&mut rng, now, lo, end - 60)
        }
        _ => {
            if rng.chance(NEVER_USED_VALID) {
                return None;
            }
            recent_sign_in(&mut rng, now, start)
        }
    }
}

/// A resource for a credential that was used, drawn from the credential's own stream.
fn resource_for(seed: u64, key_id: &str) -> Option<String> {
    let mut rng = Rng::derive(seed, STREAM_CREDENTIAL_ACTIVITY, !stream_index(key_id));
    rng.weighted(RESOURCES).map(str::to_owned)
}

/// Builds a report entry for one credential.
struct CredentialReport<'a> {
    /// Seed of the tenant.
    seed: u64,
    /// The tenant's "now", Unix seconds.
    now: i64,
    /// Application object id by `appId`.
    app_objects: &'a HashMap<&'a str, &'a str>,
    /// Service principal object id by `appId`.
    sp_objects: &'a HashMap<&'a str, &'a str>,
}

impl CredentialReport<'_> {
    /// The entry of credential `c` held by an object of kind `origin` with `app_id`.
    fn entry(
        &self,
        origin: ObjectKind,
        app_id: &str,
        credential_type: CredentialType,
        key_usage: Option<&str>,
        c: &CredentialFacts<'_>,
    ) -> AppCredentialActivity {
        let last_sign_in = credential_sign_in(self.seed, self.now, c);
        let resource_id = last_sign_in
            .as_ref()
            .and_then(|_| resource_for(self.seed, c.key_id));
        AppCredentialActivity {
            key_id: c.key_id.to_owned(),
            origin,
            credential_type,
            app_id: app_id.to_owned(),
            app_object_id: self.app_objects.get(app_id).map(|s| (*s).to_owned()),
            service_principal_object_id: self.sp_objects.get(app_id).map(|s| (*s).to_owned()),
            key_usage: key_usage.map(str::to_owned),
            created_date_time: c.start,
            expiration_date_time: c.end,
            resource_id,
            last_sign_in,
        }
    }
}

/// Generates the activity of every service principal (in their order) and every credential
/// (in report order).
pub(super) fn generate(
    seed: u64,
    now: UtcTime,
    tenant_id: &str,
    applications: &[Application],
    service_principals: &[ServicePrincipal],
) -> (Vec<ServicePrincipalActivity>, Vec<AppCredentialActivity>) {
    let now = now.unix_seconds();
    let sp_activity = service_principals
        .iter()
        .map(|sp| service_principal_activity(seed, now, tenant_id, sp))
        .collect();

    let app_objects: HashMap<&str, &str> = applications
        .iter()
        .map(|a| (a.app_id.as_str(), a.id.as_str()))
        .collect();
    let sp_objects: HashMap<&str, &str> = service_principals
        .iter()
        .map(|s| (s.app_id.as_str(), s.id.as_str()))
        .collect();
    let report = CredentialReport {
        seed,
        now,
        app_objects: &app_objects,
        sp_objects: &sp_objects,
    };
    let holders = applications
        .iter()
        .map(|a| {
            (
                ObjectKind::Application,
                &a.app_id,
                &a.password_credentials,
                &a.key_credentials,
            )
        })
        .chain(service_principals.iter().map(|s| {
            (
                ObjectKind::ServicePrincipal,
                &s.app_id,
                &s.password_credentials,
                &s.key_credentials,
            )
        }));
    let mut credentials = Vec::new();
    for (origin, app_id, passwords, keys) in holders {
        for p in passwords {
            let facts = CredentialFacts {
                key_id: &p.key_id,
                display_name: p.display_name.as_deref(),
                start: p.start_date_time,
                end: p.end_date_time,
            };
            credentials.push(report.entry(
                origin,
                app_id,
                CredentialType::ClientSecret,
                None,
                &facts,
            ));
        }
        for k in keys {
            let facts = CredentialFacts {
                key_id: &k.key_id,
                display_name: k.display_name.as_deref(),
                start: k.start_date_time,
                end: k.end_date_time,
            };
            credentials.push(report.entry(
                origin,
                app_id,
                CredentialType::Certificate,
                Some(&k.usage),
                &facts,
            ));
        }
    }
    (sp_activity, credentials)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimConfig;
    use crate::tenant::Tenant;
    use std::time::{Duration, UNIX_EPOCH};

    fn tenant() -> Tenant {
        Tenant::generate(&SimConfig {
            now: UNIX_EPOCH + Duration::from_secs(1_748_936_472),
            applications: 1_000,
            extra_service_principals: 300,
            ..SimConfig::default()
        })
    }

    #[test]
    fn activity_lines_up_with_the_directory() {
        let t = tenant();
        assert_eq!(
            t.service_principal_activity.len(),
            t.service_principals.len()
        );
        for (sp, a) in t
            .service_principals
            .iter()
            .zip(&t.service_principal_activity)
        {
            assert_eq!(sp.app_id, a.app_id);
        }
        let credentials: usize = t
            .credential_holders()
            .map(|h| h.password_credentials.len() + h.key_credentials.len())
            .sum();
        assert_eq!(t.app_credential_activity.len(), credentials);
        for c in &t.app_credential_activity {
            if c.origin == ObjectKind::Application {
                assert!(c.app_object_id.is_some());
            }
            assert_eq!(c.resource_id.is_some(), c.last_sign_in.is_some());
        }
    }

    #[test]
    fn timestamps_are_plausible_and_avoid_the_window_boundaries() {
        let t = tenant();
        let now = t.now.unix_seconds();
        let sp_times = t.service_principal_activity.iter().flat_map(|a| {
            [
                &a.delegated_client,
                &a.delegated_resource,
                &a.app_only_client,
                &a.app_only_resource,
            ]
            .into_iter()
            .flatten()
        });
        let cred_times = t
            .app_credential_activity
            .iter()
            .filter_map(|c| c.last_sign_in.as_ref());
        for s in sp_times.chain(cred_times) {
            let secs = s.date_time.unix_seconds();
            assert!(secs < now, "{s:?} is in the future");
            for days in [30, 90] {
                assert!(
                    (secs - (now - days * DAY)).abs() > DAY,
                    "{s:?} near {days}d"
                );
            }
        }
        for c in &t.app_credential_activity {
            let Some(s) = &c.last_sign_in else { continue };
            if let Some(start) = c.created_date_time {
                assert!(s.date_time >= start, "{c:?} used before it existed");
            }
            if let Some(end) = c.expiration_date_time {
                assert!(s.date_time < end, "{c:?} used after it expired");
            }
        }
    }

    #[test]
    fn shares_and_kinds_are_realistic() {
        let t = tenant();
        let n = t.service_principal_activity.len() as f64;
        let never = t
            .service_principal_activity
            .iter()
            .filter(|a| a.last().is_none())
            .count() as f64;
        assert!(
            (0.08..0.3).contains(&(never / n)),
            "never signed in: {never}/{n}"
        );
        for (sp, a) in t
            .service_principals
            .iter()
            .zip(&t.service_principal_activity)
        {
            if sp.service_principal_type == "ManagedIdentity" {
                assert!(a.delegated_client.is_none() && a.delegated_resource.is_none());
            }
        }
        let now = t.now.unix_seconds();
        let last: Vec<i64> = t
            .service_principal_activity
            .iter()
            .filter_map(|a| a.last().map(|s| now - s.date_time.unix_seconds()))
            .collect();
        assert!(last.iter().any(|age| *age < 30 * DAY));
        assert!(last.iter().any(|age| (30 * DAY..90 * DAY).contains(age)));
        assert!(last.iter().any(|age| *age > 90 * DAY));
        let used = |expired: bool| {
            t.app_credential_activity
                .iter()
                .filter(|c| {
                    c.expiration_date_time
                        .is_some_and(|e| e.unix_seconds() <= now)
                        == expired
                })
                .map(|c| c.last_sign_in.is_some())
                .fold((0, 0), |(u, n), x| (u + usize::from(x), n + 1))
        };
        let (used_valid, valid) = used(false);
        let (used_expired, expired) = used(true);
        assert!(used_valid > 0 && used_valid < valid);
        assert!(used_expired > 0 && used_expired < expired);
        assert!(t.app_credential_activity.iter().any(|c| c
            .last_sign_in
            .as_ref()
            .is_some_and(|s| s.date_time.ticks() != 0)));
    }
}
