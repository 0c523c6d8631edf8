//! Client assertions at the token endpoint (reference §11.2, §11.5): a JWT in
//! `client_assertion` instead of a secret, either signed by the app itself with the private key
//! of a registered certificate, or issued by an external identity provider the app trusts
//! through a federated identity credential.
//!
//! The two are told apart the way the claims say: an assertion whose header names a registered
//! certificate, or whose `iss` is the client id, is a certificate assertion; anything else is
//! a federated token. Every check answers with the AADSTS code Entra uses for it, and each
//! description names what to fix, as Entra's do.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::engine::general_purpose::{STANDARD as BASE64, URL_SAFE_NO_PAD as BASE64URL};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::Deserialize;

use crate::cert::{hex_upper, SimCertificate};
use crate::config::{FederatedMismatch, SimClient};
use crate::server::Ctx;
use crate::time::UtcTime;
use crate::token::{AuthMethod, TokenError};

/// `client_assertion_type` of a JWT client assertion (§11.2).
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Documentation link Entra appends to certificate-credential errors.
const CERT_DOCS: &str =
    "https://learn.microsoft.com/entra/identity-platform/certificate-credentials";

/// Documentation link Entra appends to federated-credential errors.
const FEDERATION_DOCS: &str =
    "https://learn.microsoft.com/entra/workload-id/workload-identity-federation";

/// The claims of an assertion the checks look at. Every field is optional so that a missing
/// claim gets its own error instead of a parse failure.
#[derive(Debug, Default, Deserialize)]
struct AssertionClaims {
    /// Issuer: the client id (certificate) or the external issuer (federated).
    #[serde(default)]
    iss: Option<String>,
    /// Subject: the client id (certificate) or the external workload (federated).
    #[serde(default)]
    sub: Option<String>,
    /// Audience: one value or a list.
    #[serde(default)]
    aud: Option<Audience>,
    /// Expiry (NumericDate, possibly fractional).
    #[serde(default)]
    exp: Option<f64>,
    /// Not before (NumericDate).
    #[serde(default)]
    nbf: Option<f64>,
    /// Unique assertion id, for replay detection.
    #[serde(default)]
    jti: Option<String>,
}

/// The `aud` claim, which JWTs may write as a string or an array.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    /// A single audience.
    One(String),
    /// A list of audiences.
    Many(Vec<String>),
}

impl Audience {
    /// The values as a slice-like list.
    fn values(&self) -> Vec<&str> {
        match self {
            Self::One(a) => vec![a.as_str()],
            Self::Many(list) => list.iter().map(String::as_str).collect(),
        }
    }
}

/// Certificate assertions already accepted, so that a replayed `jti` is refused (§11.2).
#[derive(Debug, Default)]
pub(crate) struct ReplayCache {
    /// `(client id, jti)` → Unix second after which the assertion is dead anyway.
    seen: Mutex<HashMap<(String, String), u64>>,
}

impl ReplayCache {
    /// Records `jti` for `client_id` until `until`; false if it is already recorded and alive.
    fn first_use(&self, client_id: &str, jti: &str, until: u64, now: u64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        // Dead entries can never collide again: dropping them keeps the map as small as the
        // number of assertions within their lifetime.
        seen.retain(|_, dead_after| *dead_after >= now);
        let key = (client_id.to_ascii_lowercase(), jti.to_owned());
        if seen.contains_key(&key) {
            return false;
        }
        seen.insert(key, until);
        true
    }
}

/// Authenticates `client` with `assertion`, returning how it authenticated.
pub(crate) fn authenticate(
    ctx: &Ctx<'_>,
    client: &SimClient,
    assertion: &str,
) -> Result<AuthMethod, TokenError> {
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| malformed(ctx))?;
    let claims: AssertionClaims =
        jsonwebtoken::dangerous::insecure_decode_claims(assertion).map_err(|_| malformed(ctx))?;
    let thumbprint = Thumbprint::of(&header);
    let registered = thumbprint
        .as_ref()
        .and_then(|t| client.certificates.iter().find(|c| t.names(c)));
    let self_issued = claims
        .iss
        .as_deref()
        .is_some_and(|iss| iss.eq_ignore_ascii_case(&client.client_id));
    if registered.is_some() || self_issued {
        certificate(
            ctx,
            client,
            assertion,
            &header,
            &claims,
            thumbprint.as_ref(),
            registered,
        )?;
        Ok(AuthMethod::Certificate)
    } else {
        federated(ctx, client, assertion, &header, &claims)?;
        Ok(AuthMethod::Federated)
    }
}

/// The thumbprint a certificate assertion's header names.
#[derive(Debug)]
struct Thumbprint {
    /// The header value as sent.
    raw: String,
    /// The decoded digest, if the value was base64url (or base64).
    digest: Option<Vec<u8>>,
    /// `x5t#S256` (true) or `x5t`.
    sha256: bool,
}

impl Thumbprint {
    /// `x5t#S256` if present (the current form), else `x5t` (the legacy form).
    fn of(header: &Header) -> Option<Self> {
        let (raw, sha256) = match (&header.x5t_s256, &header.x5t) {
            (Some(t), _) => (t, true),
            (None, Some(t)) => (t, false),
            (None, None) => return None,
        };
        // Libraries send base64url without padding (RFC 7515); tolerate padding and the
        // standard alphabet too, which some older ones produce.
        let trimmed = raw.trim_end_matches('=');
        let digest = BASE64URL
            .decode(trimmed)
            .or_else(|_| BASE64.decode(raw))
            .ok();
        Some(Self {
            raw: raw.clone(),
            digest,
            sha256,
        })
    }

    /// Whether this names `cert`.
    fn names(&self, cert: &SimCertificate) -> bool {
        self.digest
            .as_deref()
            .is_some_and(|d| cert.has_thumbprint(d, self.sha256))
    }

    /// Upper-case hex, as Entra prints the thumbprint; the raw value if it did not decode.
    fn display(&self) -> String {
        self.digest
            .as_deref()
            .map(hex_upper)
            .unwrap_or_else(|| self.raw.clone())
    }
}

/// AADSTS50027 for an assertion that is not a readable JWT.
fn malformed(ctx: &Ctx<'_>) -> TokenError {
    TokenError::other(
        ctx,
        "invalid_request",
        50_027,
        "JWT token is invalid or malformed.",
    )
}

/// `MM/dd/yyyy HH:mm:ss`, as Entra prints a key's validity in `Found key 'Start=…, End=…'`.
fn key_date(unix: u64) -> String {
    let t = UtcTime::from_unix(i64::try_from(unix).unwrap_or(i64::MAX), 0);
    let (y, m, d) = t.date();
    let s = t.unix_seconds().rem_euclid(86_400);
    format!(
        "{m:02}/{d:02}/{y:04} {:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// The tail of Entra's key errors, telling where to look up the app's registered keys.
fn see_keys(client_id: &str) -> String {
    format!(
        "Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/{client_id}'"
    )
}

/// The current time in whole seconds and as an instant for messages.
fn now() -> (u64, UtcTime) {
    let t = UtcTime::now();
    (u64::try_from(t.unix_seconds()).unwrap_or(0), t)
}

/// A NumericDate as an instant (fractions kept to 100 ns).
fn instant(value: f64) -> UtcTime {
    let secs = value.floor();
    let ticks = ((value - secs) * f64::from(crate::time::TICKS_PER_SECOND)) as u32;
    UtcTime::from_unix(secs as i64, ticks)
}

/// AADSTS700024 unless `now` is within `[nbf - skew, exp + skew]` (§11.4; the description is
/// Entra's, community-observed).
fn check_lifetime(ctx: &Ctx<'_>, claims: &AssertionClaims) -> Result<u64, TokenError> {
    let Some(exp) = claims.exp else {
        return Err(malformed(ctx));
    };
    let skew = ctx.sim.config.quirks.assertion_clock_skew.as_secs_f64();
    let (_, current) = now();
    let at = current.as_f64();
    let nbf = claims.nbf.unwrap_or(0.0);
    if at > exp + skew || at + skew < nbf {
        return Err(TokenError::invalid_client(
            ctx,
            700_024,
            format!(
                "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. Review the documentation at {CERT_DOCS} .",
                current.to_fixed7_string(),
                instant(nbf).to_fixed7_string(),
                instant(exp).to_fixed7_string(),
            ),
        ));
    }
    Ok((exp + skew).max(0.0).ceil() as u64)
}

/// Verifies the signature only: the claims are checked one by one for their own errors.
fn signature_holds(assertion: &str, key: &jsonwebtoken::DecodingKey, algorithm: Algorithm) -> bool {
    let mut validation = Validation::new(algorithm);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    jsonwebtoken::decode::<serde_json::Value>(assertion, key, &validation).is_ok()
}

/// The token endpoint URLs an assertion may name as `aud`: this endpoint, by tenant id or
/// domain, under the simulator's base URL or the host the request came in on (a proxy may
/// present the simulator as `login.microsoftonline.us`, §12).
fn accepted_audiences(ctx: &Ctx<'_>) -> Vec<String> {
    let sim = ctx.sim;
    let mut origins = vec![sim.base_url.clone()];
    let origin = ctx.origin();
    if !origins.contains(&origin) {
        origins.push(origin);
    }
    let tenants = [&sim.tenant.tenant_id, &sim.tenant.tenant_domain];
    origins
        .iter()
        .flat_map(|o| {
            tenants
                .iter()
                .map(move |t| format!("{o}/{t}/oauth2/v2.0/token"))
        })
        .collect()
}

/// The checks of a certificate assertion (§11.2), in the order Entra reports them: key
/// lookup, key validity, signature, audience, issuer and subject, lifetime, replay.
fn certificate(
    ctx: &Ctx<'_>,
    client: &SimClient,
    assertion: &str,
    header: &Header,
    claims: &AssertionClaims,
    thumbprint: Option<&Thumbprint>,
    registered: Option<&SimCertificate>,
) -> Result<(), TokenError> {
    let client_id = &client.client_id;
    let quirks = &ctx.sim.config.quirks;
    let shown = thumbprint.map(Thumbprint::display).unwrap_or_default();
    let Some(cert) = registered else {
        return Err(TokenError::invalid_client(
            ctx,
            700_027,
            format!(
                "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{shown}', {}]",
                see_keys(client_id)
            ),
        ));
    };
    let found = format!(
        "Found key 'Start={}, End={}'",
        key_date(cert.not_before_secs()),
        key_date(cert.not_after_secs())
    );
    let (now_secs, _) = now();
    if now_secs > cert.not_after_secs() {
        return Err(TokenError::invalid_client(
            ctx,
            700_027,
            format!(
                "The certificate with identifier used to sign the client assertion is expired on application. [Reason - The key used is expired., Thumbprint of key used by client: '{shown}', {found}, {}]",
                see_keys(client_id)
            ),
        ));
    }
    if now_secs < cert.not_before_secs() {
        return Err(TokenError::invalid_client(
            ctx,
            700_027,
            format!(
                "The certificate with identifier used to sign the client assertion is not yet valid on application. [Reason - The key used is not yet valid., Thumbprint of key used by client: '{shown}', {found}, {}]",
                see_keys(client_id)
            ),
        ));
    }
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::PS256) {
        return Err(TokenError::invalid_client(
            ctx,
            700_027,
            format!(
                "Client assertion contains an invalid signature. [Reason - The signing algorithm '{:?}' is not supported; use PS256 with x5t#S256, or RS256 with x5t., Thumbprint of key used by client: '{shown}', {found}]",
                header.alg
            ),
        ));
    }
    if quirks.x5c_must_match {
        if let Some(first) = header.x5c.as_ref().and_then(|chain| chain.first()) {
            let same = BASE64
                .decode(first)
                .is_ok_and(|der| der.as_slice() == cert.der());
            if !same {
                return Err(TokenError::invalid_client(
                    ctx,
                    700_027,
                    format!(
                        "Client assertion contains an invalid signature. [Reason - The first certificate of the x5c header is not the certificate the thumbprint names., Thumbprint of key used by client: '{shown}', {found}]"
                    ),
                ));
            }
        }
    }
    if !signature_holds(assertion, &cert.decoding_key(), header.alg) {
        return Err(TokenError::invalid_client(
            ctx,
            700_027,
            format!(
                "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '{shown}', {found}, {}]",
                see_keys(client_id)
            ),
        ));
    }

    let accepted = accepted_audiences(ctx);
    let audiences = claims
        .aud
        .as_ref()
        .map(Audience::values)
        .unwrap_or_default();
    if audiences.len() > 1 {
        return Err(TokenError::invalid_client(
            ctx,
            5_002_741,
            format!(
                "Number of audience values in the provided client credential exceed maximum allowed. {} audience values provided, maximum allowed is 1.",
                audiences.len()
            ),
        ));
    }
    let audience_ok = audiences
        .first()
        .is_some_and(|a| accepted.iter().any(|ok| ok.eq_ignore_ascii_case(a)));
    if !audience_ok {
        let expected = format!("{}/{}/oauth2/v2.0/token", ctx.origin(), ctx.param("tenant"));
        return Err(TokenError::invalid_client(
            ctx,
            quirks.assertion_audience_error_code,
            format!(
                "Client assertion audience claim does not match Realm issuer. Audience in the assertion: '{}'; expected the token endpoint '{expected}'. Review the documentation at {CERT_DOCS} .",
                audiences.first().copied().unwrap_or_default()
            ),
        ));
    }
    let names_client = |v: &Option<String>| {
        v.as_deref()
            .is_some_and(|v| v.eq_ignore_ascii_case(client_id))
    };
    if !names_client(&claims.iss) || !names_client(&claims.sub) {
        return Err(TokenError::invalid_client(
            ctx,
            700_021,
            format!(
                "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at {CERT_DOCS} ."
            ),
        ));
    }
    let dead_after = check_lifetime(ctx, claims)?;
    let Some(jti) = claims.jti.as_deref().filter(|j| !j.is_empty()) else {
        return Err(malformed(ctx));
    };
    if let Some(code) = quirks.assertion_replay_error_code {
        if !ctx
            .sim
            .replay
            .first_use(client_id, jti, dead_after, now_secs)
        {
            return Err(TokenError::invalid_client(
                ctx,
                code,
                format!(
                    "The client assertion with jti '{jti}' was already used. Build a new assertion, with a fresh jti, for every token request. Review the documentation at {CERT_DOCS} ."
                ),
            ));
        }
    }
    Ok(())
}

/// The checks of a federated token (§11.5): a matching federated identity credential, the
/// issuer's signature, the lifetime.
fn federated(
    ctx: &Ctx<'_>,
    client: &SimClient,
    assertion: &str,
    header: &Header,
    claims: &AssertionClaims,
) -> Result<(), TokenError> {
    let iss = claims.iss.as_deref().unwrap_or_default();
    let sub = claims.sub.as_deref().unwrap_or_default();
    let audiences = claims
        .aud
        .as_ref()
        .map(Audience::values)
        .unwrap_or_default();
    // Entra matches federated identity credentials case-sensitively.
    let by_issuer: Vec<_> = client
        .federated
        .iter()
        .filter(|f| f.issuer == iss)
        .collect();
    let by_subject: Vec<_> = by_issuer.iter().filter(|f| f.subject == sub).collect();
    let matched = by_subject
        .iter()
        .any(|f| f.audiences.iter().any(|a| audiences.contains(&a.as_str())));
    if !matched {
        let audience = audiences.join(", ");
        return Err(match ctx.sim.config.quirks.federated_mismatch {
            FederatedMismatch::Combined => TokenError::other(
                ctx,
                "invalid_request",
                70_021,
                format!(
                    "No matching federated identity record found for presented assertion. Assertion Issuer: '{iss}'. Assertion Subject: '{sub}'. Assertion Audience: '{audience}'. {FEDERATION_DOCS}"
                ),
            ),
            FederatedMismatch::PerClaim => {
                let (code, claim, value) = if by_issuer.is_empty() {
                    (700_211, "issuer", iss)
                } else if by_subject.is_empty() {
                    (700_213, "subject", sub)
                } else {
                    (700_212, "audience", audience.as_str())
                };
                TokenError::invalid_client(
                    ctx,
                    code,
                    format!(
                        "No matching federated identity record found for presented assertion {claim} '{value}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. {FEDERATION_DOCS}"
                    ),
                )
            }
        });
    }
    let issuer = &ctx.sim.federation;
    let verified = if iss == issuer.url() {
        issuer.verify_signature(assertion, header).map_err(|e| {
            tracing::error!(error = %e, "the federated issuer's key is unavailable");
            TokenError::for_status(500)
        })?
    } else {
        // The simulator can only fetch keys from its own issuer.
        false
    };
    if !verified {
        return Err(TokenError::invalid_client(
            ctx,
            700_027,
            format!(
                "Client assertion failed signature validation. [Reason - The key was not found or the signature did not match. The simulator verifies tokens of its own issuer '{}' only.]",
                issuer.url()
            ),
        ));
    }
    check_lifetime(ctx, claims)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_are_refused_until_the_assertion_is_dead() {
        let cache = ReplayCache::default();
        assert!(cache.first_use("App", "j1", 100, 50));
        assert!(!cache.first_use("app", "j1", 100, 60));
        assert!(cache.first_use("app", "j2", 100, 60));
        // After j1's lifetime it is forgotten, and may be used again.
        assert!(cache.first_use("app", "j1", 300, 101));
    }

    #[test]
    fn key_dates_use_entras_format() {
        assert_eq!(key_date(1_748_936_472), "06/03/2025 07:41:12");
    }

    #[test]
    fn audiences_may_be_strings_or_lists() {
        let one: AssertionClaims = serde_json::from_str(r#"{"aud":"a"}"#).expect("json");
        assert_eq!(one.aud.map(|a| a.values().len()), Some(1));
        let many: AssertionClaims = serde_json::from_str(r#"{"aud":["a","b"]}"#).expect("json");
        assert_eq!(many.aud.map(|a| a.values().len()), Some(2));
        assert!(instant(1.5).to_fixed7_string().ends_with("01.5000000Z"));
    }
}
