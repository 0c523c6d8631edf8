//! Generation of the tenant model from a seed.
//!
//! Every object draws from its own random stream ([`Rng::derive`]), so object `i` depends only
//! on the seed and `i` (and, for names, on the names before it). Credential end dates are
//! spread over the categories an expiry exporter must handle: already expired, within 7 days,
//! 8–30 days, 31–90 days, later this year, 1–2 years, decades, and never (null).

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use super::{activity, words};
use super::{Application, KeyCredential, PasswordCredential, ServicePrincipal, Tenant};
use crate::config::SimConfig;
use crate::rng::Rng;
use crate::time::{UtcTime, DAY};

/// Random stream of the application at index `i`.
const STREAM_APPLICATION: u64 = 1;
/// Random stream of the service principal backing application `i`.
const STREAM_APP_SERVICE_PRINCIPAL: u64 = 2;
/// Random stream of extra service principal `j`.
const STREAM_EXTRA_SERVICE_PRINCIPAL: u64 = 3;

/// Share of applications whose display name repeats an earlier one.
const DUPLICATE_NAME_SHARE: f64 = 0.05;
/// Share of applications that get a service principal in this tenant.
const APP_WITH_SERVICE_PRINCIPAL_SHARE: f64 = 0.9;
/// Share of credentials whose dates carry 7 fractional digits (portal- and Graph-created ones
/// do; PowerShell- and certificate-derived ones usually do not).
const FRACTIONAL_SHARE: f64 = 0.3;
/// Share of application credentials that are secrets rather than certificates.
const SECRET_SHARE: f64 = 0.6;
/// Subject of the certificates Entra creates for SAML single sign-on.
pub(super) const SAML_CERT_NAME: &str = "CN=Microsoft Azure Federated SSO Certificate";

/// Where a credential's end date falls relative to the tenant's "now".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expiry {
    /// 1 hour to 2 years ago.
    Expired,
    /// 1 hour to 7 days from now.
    Within7Days,
    /// 8 to 30 days.
    Days8To30,
    /// 31 to 90 days.
    Days31To90,
    /// 91 to 364 days.
    Days91To364,
    /// 1 to 2 years: the usual secret and certificate lifetime.
    Years1To2,
    /// 10 to 80 years: "never expires" secrets made with scripts.
    Decades,
    /// No end date at all (`endDateTime: null`).
    Never,
}

/// End-date mix of application secrets.
const SECRET_EXPIRY: &[(Expiry, u32)] = &[
    (Expiry::Expired, 18),
    (Expiry::Within7Days, 6),
    (Expiry::Days8To30, 8),
    (Expiry::Days31To90, 12),
    (Expiry::Days91To364, 20),
    (Expiry::Years1To2, 22),
    (Expiry::Decades, 4),
    (Expiry::Never, 10),
];

/// End-date mix of application certificates.
const CERT_EXPIRY: &[(Expiry, u32)] = &[
    (Expiry::Expired, 15),
    (Expiry::Within7Days, 5),
    (Expiry::Days8To30, 8),
    (Expiry::Days31To90, 12),
    (Expiry::Days91To364, 25),
    (Expiry::Years1To2, 30),
    (Expiry::Decades, 2),
    (Expiry::Never, 3),
];

/// End-date mix of SAML signing certificates (3-year certificates, often left to expire).
const SAML_EXPIRY: &[(Expiry, u32)] = &[
    (Expiry::Expired, 15),
    (Expiry::Within7Days, 4),
    (Expiry::Days8To30, 8),
    (Expiry::Days31To90, 10),
    (Expiry::Days91To364, 25),
    (Expiry::Years1To2, 38),
];

/// End-date mix of the secrets legacy service principals carry.
const LEGACY_EXPIRY: &[(Expiry, u32)] = &[
    (Expiry::Expired, 2),
    (Expiry::Decades, 1),
    (Expiry::Never, 2),
];

/// Inputs shared by every generator function.
struct Gen<'a> {
    /// The tenant's "now", whole seconds.
    now: UtcTime,
    /// Credentials per object are capped at this.
    max_credentials: usize,
    /// Tenant id.
    tenant_id: &'a str,
    /// Tenant domain.
    domain: &'a str,
    /// `type` of SAML signing keys.
    saml_key_type: &'a str,
}

/// Generates the tenant for `config`.
pub(super) fn generate(config: &SimConfig) -> Tenant {
    // Whole seconds: a fractional "now" would leak its fraction into every end date.
    let now = UtcTime::from_system_time(config.now).whole_seconds();
    let g = Gen {
        now,
        max_credentials: config.max_credentials_per_app,
        tenant_id: &config.tenant_id,
        domain: &config.tenant_domain,
        saml_key_type: &config.quirks.saml_signing_key_type,
    };
    let mut names = NameBook::default();
    let mut applications: Vec<Application> = Vec::with_capacity(config.applications);
    for i in 0..config.applications {
        let mut rng = Rng::derive(config.seed, STREAM_APPLICATION, i as u64);
        let name = if i > 0 && rng.chance(DUPLICATE_NAME_SHARE) {
            let j = rng.below(i as u64) as usize;
            applications
                .get(j)
                .map(|a| a.display_name.clone())
                .unwrap_or_else(|| names.unique(app_name(&mut rng)))
        } else {
            names.unique(app_name(&mut rng))
        };
        applications.push(application(&mut rng, &g, name));
    }

    let mut service_principals =
        Vec::with_capacity(applications.len() + config.extra_service_principals);
    for (i, app) in applications.iter().enumerate() {
        let mut rng = Rng::derive(config.seed, STREAM_APP_SERVICE_PRINCIPAL, i as u64);
        if rng.chance(APP_WITH_SERVICE_PRINCIPAL_SHARE) {
            service_principals.push(app_service_principal(&mut rng, &g, app));
        }
    }
    for j in 0..config.extra_service_principals {
        let mut rng = Rng::derive(config.seed, STREAM_EXTRA_SERVICE_PRINCIPAL, j as u64);
        service_principals.push(extra_service_principal(&mut rng, &g, j));
    }

    let (service_principal_activity, app_credential_activity) = activity::generate(
        config.seed,
        now,
        &config.tenant_id,
        &applications,
        &service_principals,
    );
    let user_insights = super::insights::UserInsights::new(config, &applications);
    let reports = super::reports::ReportsModel::new(
        config,
        applications.len(),
        now,
        fingerprint(config, now),
    );
    Tenant {
        tenant_id: config.tenant_id.clone(),
        tenant_domain: config.tenant_domain.clone(),
        now,
        users: config.users,
        applications,
        service_principals,
        service_principal_activity,
        app_credential_activity,
        fingerprint: fingerprint(config, now),
        reports,
        user_insights,
    }
}

/// FNV-1a over the generation inputs.
fn fingerprint(config: &SimConfig, now: UtcTime) -> u32 {
    let key = format!(
        "{}|{}|{}|{}|{}|{}|{}",
        config.seed,
        config.applications,
        config.extra_service_principals,
        config.max_credentials_per_app,
        config.tenant_id,
        now.unix_seconds(),
        config.quirks.saml_signing_key_type
    );
    key.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// Hands out display names, numbering repeats so only deliberate duplicates share a name.
#[derive(Default)]
struct NameBook {
    /// How often each base name was handed out.
    seen: HashMap<String, u32>,
}

impl NameBook {
    /// `base`, or `base N` when `base` was used before.
    fn unique(&mut self, base: String) -> String {
        let count = self.seen.entry(base.clone()).or_insert(0);
        *count += 1;
        if *count == 1 {
            base
        } else {
            format!("{base} {count}")
        }
    }
}

/// A plausible app registration name, e.g. "Contoso Payroll API (prod)".
fn app_name(rng: &mut Rng) -> String {
    let prefix = if rng.chance(0.2) { "Contoso " } else { "" };
    let system = rng.pick(words::SYSTEMS).copied().unwrap_or("App");
    let component = rng.pick(words::COMPONENTS).copied().unwrap_or("API");
    let env = rng.pick(words::ENVIRONMENTS).copied().unwrap_or("");
    format!("{prefix}{system} {component}{env}")
}

/// A certificate subject derived from a display name: lower case, dashes, no punctuation.
fn subject_slug(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}

/// One app registration with its credentials.
fn application(rng: &mut Rng, g: &Gen<'_>, display_name: String) -> Application {
    let id = rng.guid();
    let app_id = rng.guid();
    let created_date_time = g.now.plus_secs(-rng.range(DAY, 6 * 365 * DAY));
    let sign_in_audience = rng
        .weighted(&[
            ("AzureADMyOrg", 75),
            ("AzureADMultipleOrgs", 15),
            ("AzureADandPersonalMicrosoftAccount", 7),
            ("PersonalMicrosoftAccount", 3),
        ])
        .unwrap_or("AzureADMyOrg")
        .to_owned();
    let publisher_domain = if rng.chance(0.9) {
        g.domain.to_owned()
    } else {
        "contoso.com".to_owned()
    };
    let description = rng.chance(0.15).then(|| "Managed by Terraform".to_owned());
    let subject = subject_slug(&display_name);
    let mut password_credentials = Vec::new();
    let mut key_credentials = Vec::new();
    let count = rng.below(g.max_credentials as u64 + 1);
    for _ in 0..count {
        if rng.chance(SECRET_SHARE) {
            password_credentials.push(secret(rng, g, SECRET_EXPIRY));
        } else {
            key_credentials.push(certificate(rng, g, CERT_EXPIRY, &subject));
        }
    }
    Application {
        id,
        app_id,
        display_name,
        description,
        created_date_time,
        sign_in_audience,
        publisher_domain,
        password_credentials,
        key_credentials,
    }
}

/// The service principal of one of the tenant's own apps.
fn app_service_principal(rng: &mut Rng, g: &Gen<'_>, app: &Application) -> ServicePrincipal {
    let mut password_credentials = Vec::new();
    let mut key_credentials = Vec::new();
    match rng.weighted(&[(0u8, 75), (1, 15), (2, 10)]) {
        Some(1) => saml_certificates(rng, g, &mut password_credentials, &mut key_credentials),
        Some(2) => {
            for _ in 0..rng.range(1, 2) {
                password_credentials.push(secret(rng, g, SECRET_EXPIRY));
            }
        }
        _ => {}
    }
    cap_credentials(g, &mut password_credentials, &mut key_credentials);
    ServicePrincipal {
        id: rng.guid(),
        app_id: app.app_id.clone(),
        display_name: app.display_name.clone(),
        app_display_name: Some(app.display_name.clone()),
        account_enabled: rng.chance(0.95),
        service_principal_type: "Application".to_owned(),
        app_owner_organization_id: Some(g.tenant_id.to_owned()),
        sign_in_audience: Some(app.sign_in_audience.clone()),
        tags: vec!["WindowsAzureActiveDirectoryIntegratedApp".to_owned()],
        password_credentials,
        key_credentials,
    }
}

/// Extra service principal `j`: Microsoft first-party apps first, then a mix of SAML gallery
/// apps, other organisations' apps, managed identities and legacy principals.
fn extra_service_principal(rng: &mut Rng, g: &Gen<'_>, j: usize) -> ServicePrincipal {
    let id = rng.guid();
    if let Some((app_id, name)) = words::FIRST_PARTY.get(j) {
        return ServicePrincipal {
            id,
            app_id: (*app_id).to_owned(),
            display_name: (*name).to_owned(),
            app_display_name: Some((*name).to_owned()),
            account_enabled: true,
            service_principal_type: "Application".to_owned(),
            app_owner_organization_id: Some(words::MICROSOFT_TENANT_ID.to_owned()),
            sign_in_audience: Some("AzureADMultipleOrgs".to_owned()),
            tags: Vec::new(),
            password_credentials: Vec::new(),
            key_credentials: Vec::new(),
        };
    }
    let app_id = rng.guid();
    let mut password_credentials = Vec::new();
    let mut key_credentials = Vec::new();
    let mut sp = match rng.weighted(&[(0u8, 45), (1, 25), (2, 20), (3, 10)]) {
        Some(0) => {
            let base = rng.pick(words::GALLERY_APPS).copied().unwrap_or("SAML App");
            let name = match rng.weighted(&[("", 6), (" - Sandbox", 2), (" (EU)", 1)]) {
                Some(suffix) => format!("{base}{suffix}"),
                None => base.to_owned(),
            };
            if rng.chance(0.8) {
                saml_certificates(rng, g, &mut password_credentials, &mut key_credentials);
                if rng.chance(0.3) {
                    // A rotated-in second certificate next to the old one.
                    saml_certificates(rng, g, &mut password_credentials, &mut key_credentials);
                }
            }
            ServicePrincipal {
                id,
                app_id,
                display_name: name.clone(),
                app_display_name: Some(name),
                account_enabled: rng.chance(0.9),
                service_principal_type: "Application".to_owned(),
                app_owner_organization_id: Some(g.tenant_id.to_owned()),
                sign_in_audience: Some("AzureADMyOrg".to_owned()),
                tags: vec![
                    "WindowsAzureActiveDirectoryCustomSingleSignOnApplication".to_owned(),
                    "WindowsAzureActiveDirectoryIntegratedApp".to_owned(),
                ],
                password_credentials: Vec::new(),
                key_credentials: Vec::new(),
            }
        }
        Some(1) => {
            let name = rng
                .pick(words::THIRD_PARTY_APPS)
                .copied()
                .unwrap_or("Partner App");
            ServicePrincipal {
                id,
                app_id,
                display_name: name.to_owned(),
                app_display_name: Some(name.to_owned()),
                account_enabled: true,
                service_principal_type: "Application".to_owned(),
                app_owner_organization_id: Some(rng.guid()),
                sign_in_audience: Some("AzureADMultipleOrgs".to_owned()),
                tags: vec!["WindowsAzureActiveDirectoryIntegratedApp".to_owned()],
                password_credentials: Vec::new(),
                key_credentials: Vec::new(),
            }
        }
        Some(2) => {
            let resource = rng
                .pick(words::MANAGED_IDENTITY_RESOURCES)
                .copied()
                .unwrap_or("mi");
            let name = format!("{resource}-{:02}", rng.range(1, 99));
            // Azure keeps a short-lived certificate on every managed identity and rotates it
            // itself: a credential an exporter sees but nobody needs to renew.
            key_credentials.push(managed_identity_certificate(rng, g, &app_id));
            ServicePrincipal {
                id,
                app_id,
                display_name: name,
                app_display_name: None,
                account_enabled: true,
                service_principal_type: "ManagedIdentity".to_owned(),
                app_owner_organization_id: None,
                sign_in_audience: Some("AzureADMyOrg".to_owned()),
                tags: Vec::new(),
                password_credentials: Vec::new(),
                key_credentials: Vec::new(),
            }
        }
        _ => {
            let name = format!("Legacy Integration {}", rng.range(1, 999));
            if rng.chance(0.5) {
                password_credentials.push(secret(rng, g, LEGACY_EXPIRY));
            }
            ServicePrincipal {
                id,
                app_id,
                display_name: name,
                app_display_name: None,
                account_enabled: rng.chance(0.7),
                service_principal_type: "Legacy".to_owned(),
                app_owner_organization_id: None,
                sign_in_audience: None,
                tags: Vec::new(),
                password_credentials: Vec::new(),
                key_credentials: Vec::new(),
            }
        }
    };
    cap_credentials(g, &mut password_credentials, &mut key_credentials);
    sp.password_credentials = password_credentials;
    sp.key_credentials = key_credentials;
    sp
}

/// Trims an object's credentials to the configured maximum (certificates first).
fn cap_credentials(
    g: &Gen<'_>,
    passwords: &mut Vec<PasswordCredential>,
    keys: &mut Vec<KeyCredential>,
) {
    while passwords.len() + keys.len() > g.max_credentials {
        if keys.len() >= passwords.len() {
            keys.pop();
        } else {
            passwords.pop();
        }
    }
}

/// The end date of a credential in `category`, with `ticks` as its sub-second part.
fn end_date(rng: &mut Rng, now: UtcTime, category: Expiry, ticks: u32) -> Option<UtcTime> {
    let offset = match category {
        Expiry::Expired => -rng.range(3_600, 730 * DAY),
        Expiry::Within7Days => rng.range(3_600, 7 * DAY),
        Expiry::Days8To30 => rng.range(8 * DAY, 30 * DAY),
        Expiry::Days31To90 => rng.range(31 * DAY, 90 * DAY),
        Expiry::Days91To364 => rng.range(91 * DAY, 364 * DAY),
        Expiry::Years1To2 => rng.range(365 * DAY, 730 * DAY),
        Expiry::Decades => rng.range(10 * 365 * DAY, 80 * 365 * DAY),
        Expiry::Never => return None,
    };
    Some(UtcTime::from_unix(now.unix_seconds() + offset, ticks))
}

/// The start date that goes with `end`: a standard validity period (90 days to 2 years)
/// before it, far enough back that the credential started before "now". Same sub-second
/// part as the end, as when the portal computes end = start + duration.
fn start_date(rng: &mut Rng, now: UtcTime, end: Option<UtcTime>, ticks: u32) -> UtcTime {
    let Some(end) = end else {
        return UtcTime::from_unix(now.unix_seconds() - rng.range(DAY, 3 * 365 * DAY), ticks);
    };
    let remaining = end.unix_seconds() - now.unix_seconds();
    let min_validity = (remaining + 3_600).max(DAY);
    let candidates: Vec<i64> = [90, 180, 365, 730, 1095]
        .iter()
        .map(|d| d * DAY)
        .filter(|v| *v >= min_validity)
        .collect();
    let validity = match rng.pick(&candidates) {
        Some(v) => *v,
        None => min_validity + rng.range(DAY, 3 * 365 * DAY),
    };
    UtcTime::from_unix(end.unix_seconds() - validity, ticks)
}

/// Sub-second ticks for a credential: 0 (whole seconds) or 7 significant digits.
pub(super) fn fraction(rng: &mut Rng) -> u32 {
    if !rng.chance(FRACTIONAL_SHARE) {
        return 0;
    }
    let t = rng.range(1, 9_999_999) as u32;
    // A trailing zero would make the 7-digit form look padded; real values rarely have one.
    if t % 10 == 0 {
        t + 1
    } else {
        t
    }
}

/// `n` random alphanumeric characters.
fn alphanumeric(rng: &mut Rng, n: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..n)
        .map(|_| char::from(*rng.pick(CHARS).unwrap_or(&b'x')))
        .collect()
}

/// The portal's default secret description, e.g. "Password uploaded on Tue Mar 14 2023".
fn portal_secret_name(start: UtcTime) -> String {
    let days = start.unix_seconds().div_euclid(DAY);
    let weekday = words::WEEKDAYS
        .get(days.rem_euclid(7) as usize)
        .copied()
        .unwrap_or("Mon");
    let (y, m, d) = start.date();
    let month = words::MONTHS
        .get(m.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("Jan");
    format!("Password uploaded on {weekday} {month} {d:02} {y}")
}

/// A client secret with an end date drawn from `mix`.
fn secret(rng: &mut Rng, g: &Gen<'_>, mix: &[(Expiry, u32)]) -> PasswordCredential {
    let key_id = rng.guid();
    let category = rng.weighted(mix).unwrap_or(Expiry::Years1To2);
    let ticks = fraction(rng);
    let end = end_date(rng, g.now, category, ticks);
    let start = start_date(rng, g.now, end, ticks);
    let display_name = match rng.weighted(&[(0u8, 20), (1, 20), (2, 60)]) {
        Some(0) => None,
        Some(1) => Some(portal_secret_name(start)),
        _ => rng.pick(words::SECRET_NAMES).map(|s| (*s).to_owned()),
    };
    // Older PowerShell modules stored the description, UTF-16LE encoded, in this field.
    let custom_key_identifier = match &display_name {
        Some(name) if rng.chance(0.15) => {
            let utf16: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
            Some(BASE64.encode(utf16))
        }
        _ => None,
    };
    PasswordCredential {
        key_id,
        display_name,
        start_date_time: Some(start),
        end_date_time: end,
        hint: Some(alphanumeric(rng, 3)),
        custom_key_identifier,
    }
}

/// An app-authentication certificate (`usage: Verify`) with an end date drawn from `mix`.
fn certificate(rng: &mut Rng, g: &Gen<'_>, mix: &[(Expiry, u32)], subject: &str) -> KeyCredential {
    let key_id = rng.guid();
    let category = rng.weighted(mix).unwrap_or(Expiry::Years1To2);
    let ticks = fraction(rng);
    let end = end_date(rng, g.now, category, ticks);
    let start = start_date(rng, g.now, end, ticks);
    let display_name = if rng.chance(0.1) {
        None
    } else if rng.chance(0.3) {
        Some(format!("CN={subject}.{}", g.domain))
    } else {
        Some(format!("CN={subject}"))
    };
    KeyCredential {
        key_id,
        display_name,
        start_date_time: Some(start),
        end_date_time: end,
        key_type: "AsymmetricX509Cert".to_owned(),
        usage: "Verify".to_owned(),
        custom_key_identifier: Some(BASE64.encode(rng.bytes(20))),
    }
}

/// The certificate Azure keeps on a managed identity: 90 days, rotated before it expires.
fn managed_identity_certificate(rng: &mut Rng, g: &Gen<'_>, app_id: &str) -> KeyCredential {
    let end = g.now.plus_secs(rng.range(10 * DAY, 90 * DAY));
    KeyCredential {
        key_id: rng.guid(),
        display_name: Some(format!("CN={app_id}")),
        start_date_time: Some(end.plus_secs(-90 * DAY)),
        end_date_time: Some(end),
        key_type: "AsymmetricX509Cert".to_owned(),
        usage: "Verify".to_owned(),
        custom_key_identifier: Some(BASE64.encode(rng.bytes(20))),
    }
}

/// A SAML token-signing certificate as Entra stores it on a service principal: a `Sign` key,
/// usually its `Verify` twin and sometimes a password credential for the private key, all
/// with the same name, thumbprint and dates but distinct key ids.
fn saml_certificates(
    rng: &mut Rng,
    g: &Gen<'_>,
    passwords: &mut Vec<PasswordCredential>,
    keys: &mut Vec<KeyCredential>,
) {
    let category = rng.weighted(SAML_EXPIRY).unwrap_or(Expiry::Years1To2);
    let ticks = fraction(rng);
    let end = end_date(rng, g.now, category, ticks);
    let start = start_date(rng, g.now, end, ticks);
    let thumbprint = BASE64.encode(rng.bytes(20));
    let sign = KeyCredential {
        key_id: rng.guid(),
        display_name: Some(SAML_CERT_NAME.to_owned()),
        start_date_time: Some(start),
        end_date_time: end,
        key_type: g.saml_key_type.to_owned(),
        usage: "Sign".to_owned(),
        custom_key_identifier: Some(thumbprint.clone()),
    };
    if rng.chance(0.8) {
        keys.push(KeyCredential {
            key_id: rng.guid(),
            key_type: "AsymmetricX509Cert".to_owned(),
            usage: "Verify".to_owned(),
            ..sign.clone()
        });
    }
    keys.push(sign);
    if rng.chance(0.5) {
        passwords.push(PasswordCredential {
            key_id: rng.guid(),
            display_name: Some(SAML_CERT_NAME.to_owned()),
            start_date_time: Some(start),
            end_date_time: end,
            hint: None,
            custom_key_identifier: Some(thumbprint),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::ObjectKind;
    use std::time::{Duration, UNIX_EPOCH};

    fn config() -> SimConfig {
        SimConfig {
            now: UNIX_EPOCH + Duration::from_secs(1_748_936_472),
            ..SimConfig::default()
        }
    }

    #[test]
    fn same_inputs_same_tenant_and_prefix_stability() {
        let a = Tenant::generate(&config());
        let b = Tenant::generate(&config());
        assert_eq!(a.applications, b.applications);
        assert_eq!(a.service_principals, b.service_principals);
        let c = Tenant::generate(&SimConfig {
            seed: 1,
            ..config()
        });
        assert_ne!(a.applications, c.applications);
        // A smaller tenant is a prefix of a larger one (apart from names de-duplicated later).
        let small = Tenant::generate(&SimConfig {
            applications: 50,
            ..config()
        });
        assert_eq!(small.applications[..], a.applications[..50]);
        assert_ne!(small.fingerprint, a.fingerprint);
    }

    #[test]
    fn demo_tenant_covers_every_credential_category() {
        let t = Tenant::generate(&config());
        let now = t.now.unix_seconds();
        let mut ends = Vec::new();
        let mut never = 0;
        let mut fractional = 0;
        let mut whole = 0;
        for h in t.credential_holders() {
            let dates = h
                .password_credentials
                .iter()
                .map(|c| c.end_date_time)
                .chain(h.key_credentials.iter().map(|c| c.end_date_time));
            for end in dates {
                match end {
                    None => never += 1,
                    Some(e) => {
                        if e.ticks() == 0 {
                            whole += 1
                        } else {
                            fractional += 1
                        }
                        ends.push((e.unix_seconds() - now) as f64 / DAY as f64);
                    }
                }
            }
        }
        let count = |lo: f64, hi: f64| ends.iter().filter(|d| **d > lo && **d <= hi).count();
        assert!(count(f64::NEG_INFINITY, 0.0) > 5, "expired");
        assert!(count(0.0, 7.0) > 3, "within 7 days");
        assert!(count(7.0, 30.0) > 3, "8-30 days");
        assert!(count(30.0, 90.0) > 3, "31-90 days");
        assert!(count(365.0, 730.0) > 3, "1-2 years");
        assert!(never > 3, "no expiry");
        assert!(
            fractional > 3 && whole > fractional,
            "{fractional} / {whole}"
        );

        let mut names: Vec<&str> = t
            .applications
            .iter()
            .map(|a| a.display_name.as_str())
            .collect();
        names.sort_unstable();
        let dups = names.windows(2).filter(|w| w[0] == w[1]).count();
        assert!(dups >= 3, "shared display names: {dups}");

        let sps = &t.service_principals;
        assert!(sps
            .iter()
            .any(|s| s.key_credentials.iter().any(|k| k.usage == "Sign")));
        assert!(sps.iter().any(|s| {
            let sign = s.key_credentials.iter().find(|k| k.usage == "Sign");
            sign.is_some_and(|sign| {
                s.key_credentials.iter().any(|k| {
                    k.usage == "Verify"
                        && k.display_name == sign.display_name
                        && k.key_id != sign.key_id
                })
            })
        }));
        assert!(sps.iter().any(|s| !s.password_credentials.is_empty()));
        assert!(
            sps.iter()
                .filter(|s| s.password_credentials.is_empty() && s.key_credentials.is_empty())
                .count()
                > sps.len() / 2
        );
        assert!(sps
            .iter()
            .any(|s| s.service_principal_type == "ManagedIdentity"));
        assert!(t
            .applications
            .iter()
            .any(|a| a.key_credentials.iter().any(|k| k.display_name.is_none())));
        assert!(t.applications.iter().any(|a| a
            .password_credentials
            .iter()
            .any(|k| k.display_name.is_none())));
        assert_eq!(
            t.credential_holders()
                .filter(|h| h.kind == ObjectKind::Application)
                .count(),
            300
        );
    }

    #[test]
    fn credential_caps_and_dates_are_sane() {
        let t = Tenant::generate(&SimConfig {
            max_credentials_per_app: 2,
            ..config()
        });
        for h in t.credential_holders() {
            assert!(h.password_credentials.len() + h.key_credentials.len() <= 2);
            for c in h.password_credentials {
                if let (Some(s), Some(e)) = (c.start_date_time, c.end_date_time) {
                    assert!(s < e);
                    assert!(s.unix_seconds() < t.now.unix_seconds());
                }
            }
        }
        let none = Tenant::generate(&SimConfig {
            max_credentials_per_app: 0,
            ..config()
        });
        assert!(none
            .credential_holders()
            .all(|h| h.password_credentials.is_empty() && h.key_credentials.is_empty()));
    }

    #[test]
    fn large_tenants_generate() {
        let t = Tenant::generate(&SimConfig {
            applications: 20_000,
            ..config()
        });
        assert_eq!(t.applications.len(), 20_000);
        let mut app_ids: Vec<&str> = t.applications.iter().map(|a| a.app_id.as_str()).collect();
        app_ids.sort_unstable();
        app_ids.dedup();
        assert_eq!(app_ids.len(), 20_000);
    }
}
