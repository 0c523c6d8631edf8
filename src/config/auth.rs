//! Which credential a tenant signs in with (reference §11): the `tenants[].auth` section, the
//! Azure SDKs' environment variables, and `mode: auto`, which picks in the order of the SDKs'
//! default credential chain: environment (secret, then certificate), workload identity, then
//! managed identity.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use url::Url;

use super::{invalid, ConfigError, Secret};
use crate::auth::certificate::{self, CertificateError};

/// The default IMDS token endpoint (reference §11.6).
pub const IMDS_ENDPOINT: &str = "http://169.254.169.254/metadata/identity/oauth2/token";

/// Variables that describe one app registration, so they fill in a single-tenant setup only.
pub const APP_ENV: [&str; 8] = [
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
];

/// Variables that describe the host's managed identity endpoint, so they apply to every tenant
/// that uses a managed identity. `AZURE_POD_IDENTITY_AUTHORITY_HOST` moves IMDS, as in the SDKs.
pub const HOST_ENV: [&str; 3] = [
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
];

/// `tenants[].auth.mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// The first credential whose settings are present, in the Azure SDKs' chain order.
    #[default]
    Auto,
    /// Client id and secret (§11.1).
    ClientSecret,
    /// Client id and a certificate with its private key (§11.2).
    ClientCertificate,
    /// A federated token file projected by the Azure Workload Identity webhook (§11.5).
    WorkloadIdentity,
    /// The host's managed identity, through IMDS or the App Service endpoint (§11.6–11.7).
    ManagedIdentity,
}

/// Which client assertion form a certificate credential sends (reference §11.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssertionForm {
    /// PS256 with the SHA-256 thumbprint in `x5t#S256`, as Microsoft documents today.
    #[default]
    Current,
    /// RS256 with the SHA-1 thumbprint in `x5t`, as older libraries send it.
    Legacy,
}

/// `tenants[].auth:` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAuth {
    /// Which credential; `auto` when absent.
    #[serde(default)]
    pub mode: AuthMode,
    /// Client secret value (prefer `client_secret_file`).
    pub client_secret: Option<String>,
    /// File holding the client secret, e.g. a mounted Kubernetes secret.
    pub client_secret_file: Option<PathBuf>,
    /// PEM file with the certificate and its RSA key, or a PKCS#12 (`.pfx`) bundle.
    pub certificate_file: Option<PathBuf>,
    /// Password of an encrypted key or of the PKCS#12 bundle (prefer the file form).
    pub certificate_password: Option<String>,
    /// File holding that password.
    pub certificate_password_file: Option<PathBuf>,
    /// `current` (PS256, `x5t#S256`) or `legacy` (RS256, `x5t`).
    pub assertion: Option<AssertionForm>,
    /// Send the certificate chain in `x5c`, for subject-name/issuer authentication.
    pub send_certificate_chain: Option<bool>,
    /// The projected service-account token for workload identity federation.
    pub federated_token_file: Option<PathBuf>,
    /// Managed identity settings.
    #[serde(default)]
    pub managed_identity: FileManagedIdentity,
}

/// `tenants[].auth.managed_identity:`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileManagedIdentity {
    /// Client id of a user-assigned identity.
    pub client_id: Option<String>,
    /// Object (principal) id of a user-assigned identity.
    pub object_id: Option<String>,
    /// Azure resource id of a user-assigned identity.
    pub resource_id: Option<String>,
    /// IMDS token endpoint, when not the link-local default.
    #[serde(default, deserialize_with = "super::url")]
    pub endpoint: Option<Url>,
}

/// A certificate credential's settings; the file is read again for every token.
#[derive(Clone, Debug)]
pub struct CertificateCredential {
    /// PEM or PKCS#12 file.
    pub path: PathBuf,
    /// Password of the key or bundle.
    pub password: Option<Secret>,
    /// Assertion form.
    pub form: AssertionForm,
    /// Whether to send `x5c`.
    pub send_chain: bool,
}

/// Which user-assigned identity to ask for; none means the system-assigned one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserAssignedIdentity {
    /// By client id.
    ClientId(String),
    /// By object (principal) id.
    ObjectId(String),
    /// By Azure resource id.
    ResourceId(String),
}

/// Where a managed identity's tokens come from.
#[derive(Clone, Debug)]
pub enum ManagedIdentityEndpoint {
    /// The Instance Metadata Service.
    Imds(Url),
    /// App Service, Functions or Container Apps: `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`.
    AppService {
        /// `IDENTITY_ENDPOINT`.
        endpoint: Url,
        /// `IDENTITY_HEADER`, sent as `X-IDENTITY-HEADER`; it rotates with the platform.
        header: Secret,
    },
}

/// A managed identity's settings.
#[derive(Clone, Debug)]
pub struct ManagedIdentity {
    /// The endpoint.
    pub endpoint: ManagedIdentityEndpoint,
    /// A user-assigned identity, or `None` for the system-assigned one.
    pub user_assigned: Option<UserAssignedIdentity>,
}

/// A tenant's resolved credential.
#[derive(Clone, Debug)]
pub enum Credential {
    /// Client secret.
    ClientSecret {
        /// Application (client) id.
        client_id: String,
        /// The secret.
        secret: Secret,
    },
    /// Certificate.
    ClientCertificate {
        /// Application (client) id.
        client_id: String,
        /// The certificate settings.
        certificate: CertificateCredential,
    },
    /// Workload identity federation.
    WorkloadIdentity {
        /// Application or user-assigned identity client id.
        client_id: String,
        /// The projected token file.
        token_file: PathBuf,
    },
    /// Managed identity.
    ManagedIdentity(ManagedIdentity),
}

impl Credential {
    /// The mode name, as in `auth.mode`.
    pub fn mode(&self) -> &'static str {
        match self {
            Credential::ClientSecret { .. } => "client_secret",
            Credential::ClientCertificate { .. } => "client_certificate",
            Credential::WorkloadIdentity { .. } => "workload_identity",
            Credential::ManagedIdentity(_) => "managed_identity",
        }
    }
}

/// Everything [`resolve`] reads besides the `auth:` section.
pub(super) struct Inputs<'a> {
    /// `tenants[i].client_id`, or `AZURE_CLIENT_ID` in a single-tenant setup.
    pub client_id: Option<String>,
    /// App variables; `None` for every name when there are several tenants.
    pub app_env: &'a dyn Fn(&str) -> Option<String>,
    /// Host variables.
    pub host_env: &'a dyn Fn(&str) -> Option<String>,
    /// `tenants[i].` prefixed to a key, for messages.
    pub prefix: String,
}

/// Resolves a tenant's credential and says why it was chosen.
pub(super) fn resolve(
    auth: FileAuth,
    inputs: &Inputs<'_>,
) -> Result<(Credential, String), ConfigError> {
    let key = |field: &str| format!("{}auth.{field}", inputs.prefix);
    let app_env = inputs.app_env;
    let host_env = inputs.host_env;

    let secret_source = if auth.client_secret.is_some() {
        "auth.client_secret"
    } else {
        "auth.client_secret_file"
    };
    let secret = one_of(
        auth.client_secret,
        auth.client_secret_file.as_deref(),
        &key("client_secret"),
        &key("client_secret_file"),
    )?;
    let secret = match secret {
        Some(s) => Some((s, secret_source)),
        None => app_env("AZURE_CLIENT_SECRET").map(|s| (Secret::new(s), "AZURE_CLIENT_SECRET")),
    };
    let certificate = match auth.certificate_file {
        Some(p) => Some((p, "auth.certificate_file")),
        None => app_env("AZURE_CLIENT_CERTIFICATE_PATH")
            .map(|p| (PathBuf::from(p), "AZURE_CLIENT_CERTIFICATE_PATH")),
    };
    let token_file = match auth.federated_token_file {
        Some(p) => Some((p, "auth.federated_token_file")),
        None => app_env("AZURE_FEDERATED_TOKEN_FILE")
            .map(|p| (PathBuf::from(p), "AZURE_FEDERATED_TOKEN_FILE")),
    };

    let mode = match auth.mode {
        AuthMode::Auto if secret.is_some() => AuthMode::ClientSecret,
        AuthMode::Auto if certificate.is_some() => AuthMode::ClientCertificate,
        AuthMode::Auto if token_file.is_some() => AuthMode::WorkloadIdentity,
        // Managed identity is the chain's last link: it needs no settings.
        other => other,
    };
    let chosen_by = |source: &str| {
        if auth.mode == AuthMode::Auto {
            format!("auto: {source} is set")
        } else {
            "auth.mode".to_owned()
        }
    };
    let client_id = |mode: &str| {
        inputs.client_id.clone().ok_or_else(|| {
            invalid(
                format!("{}client_id", inputs.prefix),
                format!("missing; {mode} needs the app registration's client id: set it in the config file or with AZURE_CLIENT_ID"),
            )
        })
    };

    match mode {
        AuthMode::ClientSecret => {
            let (secret, source) = secret.ok_or_else(|| {
                invalid(
                    key("client_secret_file"),
                    "missing; auth.mode client_secret needs auth.client_secret_file (or client_secret), or AZURE_CLIENT_SECRET",
                )
            })?;
            if secret.expose().trim().is_empty() {
                return Err(invalid(key("client_secret"), "is empty"));
            }
            let client_id = client_id("a client secret")?;
            Ok((
                Credential::ClientSecret { client_id, secret },
                chosen_by(source),
            ))
        }
        AuthMode::ClientCertificate => {
            let (path, source) = certificate.ok_or_else(|| {
                invalid(
                    key("certificate_file"),
                    "missing; auth.mode client_certificate needs auth.certificate_file, or AZURE_CLIENT_CERTIFICATE_PATH",
                )
            })?;
            let password = one_of(
                auth.certificate_password,
                auth.certificate_password_file.as_deref(),
                &key("certificate_password"),
                &key("certificate_password_file"),
            )?
            .or_else(|| app_env("AZURE_CLIENT_CERTIFICATE_PASSWORD").map(Secret::new));
            let send_chain = match auth.send_certificate_chain {
                Some(b) => b,
                None => match app_env("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN") {
                    Some(v) => parse_bool(&v).ok_or_else(|| {
                        invalid(
                            "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN",
                            format!("{v:?} is not true/false/1/0"),
                        )
                    })?,
                    None => false,
                },
            };
            // Refuse an unreadable file now, with the key that names it. An expired
            // certificate only warns: the mounted secret may be renewed while we run, and
            // until then the collectors report the error.
            match certificate::load(&path, password.as_ref()) {
                Ok(loaded) => tracing::info!(
                    thumbprint = %loaded.thumbprint_hex,
                    expires = %humantime::format_rfc3339_seconds(loaded.not_after),
                    "certificate credential loaded"
                ),
                Err(e @ CertificateError::Validity { .. }) => {
                    tracing::warn!(error = %e, "certificate credential is not valid now")
                }
                Err(e) => {
                    let field = if source.starts_with("AZURE") {
                        source.to_owned()
                    } else {
                        key("certificate_file")
                    };
                    return Err(invalid(field, e.to_string()));
                }
            }
            let client_id = client_id("a certificate")?;
            Ok((
                Credential::ClientCertificate {
                    client_id,
                    certificate: CertificateCredential {
                        path,
                        password,
                        form: auth.assertion.unwrap_or_default(),
                        send_chain,
                    },
                },
                chosen_by(source),
            ))
        }
        AuthMode::WorkloadIdentity => {
            let (token_file, source) = token_file.ok_or_else(|| {
                invalid(
                    key("federated_token_file"),
                    "missing; auth.mode workload_identity needs AZURE_FEDERATED_TOKEN_FILE (set by the Azure Workload Identity webhook) or auth.federated_token_file",
                )
            })?;
            let client_id = client_id("workload identity")?;
            Ok((
                Credential::WorkloadIdentity {
                    client_id,
                    token_file,
                },
                chosen_by(source),
            ))
        }
        AuthMode::ManagedIdentity | AuthMode::Auto => {
            let mi = auth.managed_identity;
            let named = [
                mi.client_id.map(UserAssignedIdentity::ClientId),
                mi.object_id.map(UserAssignedIdentity::ObjectId),
                mi.resource_id.map(UserAssignedIdentity::ResourceId),
            ];
            let mut named = named.into_iter().flatten();
            let user_assigned = named.next();
            if named.next().is_some() {
                return Err(invalid(
                    key("managed_identity"),
                    "give at most one of client_id, object_id and resource_id",
                ));
            }
            // As in the SDKs' default chain, the tenant's client id (or AZURE_CLIENT_ID)
            // selects a user-assigned identity when nothing more specific is given.
            let user_assigned = user_assigned
                .or_else(|| inputs.client_id.clone().map(UserAssignedIdentity::ClientId));
            let app_service = match (host_env("IDENTITY_ENDPOINT"), host_env("IDENTITY_HEADER")) {
                (Some(endpoint), Some(header)) => Some((endpoint, header)),
                _ => None,
            };
            let (endpoint, source) = match (mi.endpoint, app_service) {
                (Some(url), _) => (
                    ManagedIdentityEndpoint::Imds(url),
                    "auth.managed_identity.endpoint (IMDS)".to_owned(),
                ),
                (None, Some((endpoint, header))) => {
                    let endpoint = Url::parse(&endpoint).map_err(|e| {
                        invalid(
                            "IDENTITY_ENDPOINT",
                            format!("invalid URL {endpoint:?}: {e}"),
                        )
                    })?;
                    (
                        ManagedIdentityEndpoint::AppService {
                            endpoint,
                            header: Secret::new(header),
                        },
                        "IDENTITY_ENDPOINT and IDENTITY_HEADER (App Service)".to_owned(),
                    )
                }
                (None, None) => {
                    let text = match host_env("AZURE_POD_IDENTITY_AUTHORITY_HOST") {
                        Some(host) => format!(
                            "{}/metadata/identity/oauth2/token",
                            host.trim_end_matches('/')
                        ),
                        None => IMDS_ENDPOINT.to_owned(),
                    };
                    let url = Url::parse(&text).map_err(|e| {
                        invalid(
                            "AZURE_POD_IDENTITY_AUTHORITY_HOST",
                            format!("gives an invalid IMDS URL {text:?}: {e}"),
                        )
                    })?;
                    (ManagedIdentityEndpoint::Imds(url), "IMDS".to_owned())
                }
            };
            let why = if auth.mode == AuthMode::Auto {
                format!("auto: no secret, certificate or federated token is configured, so the managed identity through {source}")
            } else {
                format!("auth.mode, through {source}")
            };
            Ok((
                Credential::ManagedIdentity(ManagedIdentity {
                    endpoint,
                    user_assigned,
                }),
                why,
            ))
        }
    }
}

/// A secret given inline or as a file, but not both.
fn one_of(
    inline: Option<String>,
    file: Option<&Path>,
    inline_key: &str,
    file_key: &str,
) -> Result<Option<Secret>, ConfigError> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(invalid(
            inline_key,
            format!("given both inline and as {file_key}; keep one"),
        )),
        (Some(s), None) => Ok(Some(Secret::new(s))),
        (None, Some(path)) => super::read_secret_file(path)
            .map(Some)
            .map_err(|reason| invalid(file_key, reason)),
        (None, None) => Ok(None),
    }
}

/// The truthy and falsy spellings the Azure SDKs accept.
fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}
