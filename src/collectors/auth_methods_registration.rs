//! Authentication methods registration: how many users registered each method, how many are
//! MFA, SSPR and passwordless capable, which admins cannot do MFA, and the default and
//! system-preferred methods — always aggregated, never per user.
//!
//! Reads `/beta/reports/authenticationMethods/userRegistrationDetails` (reference §6.1;
//! `AuditLog.Read.All`, Entra ID P1/P2) through the tenant's reports budget. Beta, because
//! `defaultMfaMethod` exists only there. The collection has one row per user, so it is folded
//! into counts page by page: memory depends on the page size and the number of distinct
//! methods, not on the number of users. `usersRegisteredByFeature` / `usersRegisteredByMethod`
//! would be cheaper but refuse application permissions (§6.2).

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;

use super::breakdown::{self, top_n_counts};
use super::{CollectError, Collector, CollectorInfo};
use crate::auth::BoxFuture;
use crate::config::Config;
use crate::exposition::{Family, MetricKind, MetricSpec};
use crate::graph::{Endpoint, GraphClient, Row, Service};

/// Registration of this collector.
pub static INFO: CollectorInfo = CollectorInfo {
    name: "auth_methods_registration",
    description: "Authentication methods registration, aggregated over every user: methods, MFA/SSPR/passwordless capability, admins without MFA",
    default_enabled: true,
    default_interval: Duration::from_secs(6 * 3600),
    metrics: METRICS,
    build: |config: &Config| {
        Box::new(AuthMethodsRegistration {
            max_methods: config.breakdowns.methods,
        })
    },
};

const SOURCE: &str = "/beta/reports/authenticationMethods/userRegistrationDetails";
const PERMISSION: &str = "AuditLog.Read.All";

static DETAILS: Endpoint = Endpoint {
    path: SOURCE,
    permission: PERMISSION,
    service: Service::Reports,
};

/// Only the properties that are counted; ids and names never leave Graph.
const QUERY: &str = "$select=isAdmin,isMfaCapable,isMfaRegistered,isPasswordlessCapable,isSsprCapable,isSsprEnabled,isSsprRegistered,isSystemPreferredAuthenticationMethodEnabled,methodsRegistered,systemPreferredAuthenticationMethods,userPreferredMethodForSecondaryAuthentication,defaultMfaMethod";

macro_rules! spec {
    ($name:ident, $metric:literal, [$($label:literal),*], $help:literal) => {
        #[doc = concat!("`", $metric, "`.")]
        pub static $name: MetricSpec = MetricSpec {
            name: $metric,
            kind: MetricKind::Gauge,
            help: concat!($help, " Aggregated over Graph beta authenticationMethods/userRegistrationDetails."),
            labels: &["tenant", $($label),*],
            source: SOURCE,
            permission: PERMISSION,
        };
    };
}

spec!(
    USERS,
    "entra_auth_methods_users",
    [],
    "Users in the registration report."
);
spec!(
    REGISTERED,
    "entra_auth_methods_registered_users",
    ["method"],
    "Users who registered the method (methodsRegistered), capped by breakdowns.methods."
);
spec!(
    FEATURES,
    "entra_auth_methods_feature_users",
    ["feature"],
    "Users with the feature: mfa_capable, mfa_registered, passwordless_capable, sspr_capable, sspr_enabled, sspr_registered, system_preferred_enabled."
);
spec!(
    ADMINS,
    "entra_auth_methods_admins",
    [],
    "Users holding an admin role (isAdmin)."
);
spec!(
    ADMINS_WITHOUT_MFA,
    "entra_auth_methods_admins_without_mfa",
    [],
    "Admins who are not MFA capable (isAdmin and not isMfaCapable)."
);
spec!(
    DEFAULT_MFA_METHOD,
    "entra_auth_methods_default_mfa_method_users",
    ["method"],
    "Users per default MFA method (defaultMfaMethod, beta; `unset` when null)."
);
spec!(
    SYSTEM_PREFERRED,
    "entra_auth_methods_system_preferred_method_users",
    ["method"],
    "Users per system-preferred method (systemPreferredAuthenticationMethods; `none` when empty)."
);
spec!(
    USER_PREFERRED,
    "entra_auth_methods_user_preferred_method_users",
    ["method"],
    "Users per preferred secondary method (userPreferredMethodForSecondaryAuthentication; `none` when null or empty)."
);

/// Every family this collector emits.
pub static METRICS: &[&MetricSpec] = &[
    &USERS,
    &REGISTERED,
    &FEATURES,
    &ADMINS,
    &ADMINS_WITHOUT_MFA,
    &DEFAULT_MFA_METHOD,
    &SYSTEM_PREFERRED,
    &USER_PREFERRED,
];

/// The `feature` label values, in [`Tally::features`] order.
const FEATURE_LABELS: [&str; 7] = [
    "mfa_capable",
    "mfa_registered",
    "passwordless_capable",
    "sspr_capable",
    "sspr_enabled",
    "sspr_registered",
    "system_preferred_enabled",
];

/// `userRegistrationDetails` (§6.1); only the counted properties. Strings borrow from the
/// page body: a row costs no allocation beyond its two method lists.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[doc(hidden)]
pub struct Details<'a> {
    #[serde(default)]
    is_admin: Option<bool>,
    #[serde(default)]
    is_mfa_capable: Option<bool>,
    #[serde(default)]
    is_mfa_registered: Option<bool>,
    #[serde(default)]
    is_passwordless_capable: Option<bool>,
    #[serde(default)]
    is_sspr_capable: Option<bool>,
    #[serde(default)]
    is_sspr_enabled: Option<bool>,
    #[serde(default)]
    is_sspr_registered: Option<bool>,
    #[serde(default)]
    is_system_preferred_authentication_method_enabled: Option<bool>,
    #[serde(default, borrow)]
    methods_registered: Option<Vec<Cow<'a, str>>>,
    #[serde(default, borrow)]
    system_preferred_authentication_methods: Option<Vec<Cow<'a, str>>>,
    #[serde(default, borrow)]
    user_preferred_method_for_secondary_authentication: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    default_mfa_method: Option<Cow<'a, str>>,
}

impl Row for Details<'static> {
    type Of<'de> = Details<'de>;
}

/// Running counts over the users seen so far.
#[derive(Default)]
#[doc(hidden)]
pub struct Tally {
    users: u64,
    admins: u64,
    admins_without_mfa: u64,
    features: [u64; 7],
    registered: HashMap<String, u64>,
    default_method: HashMap<String, u64>,
    system_preferred: HashMap<String, u64>,
    user_preferred: HashMap<String, u64>,
}

/// Counts one under `key`, allocating only for a key not seen before.
fn bump(map: &mut HashMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_owned(), 1);
        }
    }
}

impl Tally {
    /// Counts one user.
    pub fn add(&mut self, d: Details<'_>) {
        self.users += 1;
        let yes = |b: Option<bool>| b == Some(true);
        if yes(d.is_admin) {
            self.admins += 1;
            if !yes(d.is_mfa_capable) {
                self.admins_without_mfa += 1;
            }
        }
        let flags = [
            d.is_mfa_capable,
            d.is_mfa_registered,
            d.is_passwordless_capable,
            d.is_sspr_capable,
            d.is_sspr_enabled,
            d.is_sspr_registered,
            d.is_system_preferred_authentication_method_enabled,
        ];
        for (count, flag) in self.features.iter_mut().zip(flags) {
            *count += u64::from(yes(flag));
        }
        for m in d.methods_registered.iter().flatten() {
            bump(&mut self.registered, breakdown::label(Some(m.as_ref())));
        }
        let default = match d.default_mfa_method.as_deref() {
            Some(m) if !m.is_empty() => m,
            _ => "unset",
        };
        bump(&mut self.default_method, default);
        match d.system_preferred_authentication_methods.as_deref() {
            Some(list) if !list.is_empty() => {
                for m in list {
                    bump(
                        &mut self.system_preferred,
                        breakdown::label(Some(m.as_ref())),
                    );
                }
            }
            _ => bump(&mut self.system_preferred, "none"),
        }
        let preferred = match d
            .user_preferred_method_for_secondary_authentication
            .as_deref()
        {
            Some(m) if !m.is_empty() => m,
            _ => "none",
        };
        bump(&mut self.user_preferred, preferred);
    }

    /// The metric families of the users counted, keeping `max_methods` method labels.
    pub fn families(self, tenant: &str, max_methods: usize) -> Vec<Family> {
        let mut users = Family::new(&USERS);
        users.gauge([tenant], self.users as f64);
        let mut features = Family::new(&FEATURES);
        for (label, n) in FEATURE_LABELS.iter().zip(self.features) {
            features.gauge([tenant, label], n as f64);
        }
        let mut admins = Family::new(&ADMINS);
        admins.gauge([tenant], self.admins as f64);
        let mut without = Family::new(&ADMINS_WITHOUT_MFA);
        without.gauge([tenant], self.admins_without_mfa as f64);
        let per_method = |spec: &'static MetricSpec, map: HashMap<String, u64>| {
            let mut f = Family::new(spec);
            let map = map.into_iter().map(|(k, v)| (k, v as f64)).collect();
            for (method, n) in top_n_counts(map, max_methods) {
                f.gauge([tenant, method.as_str()], n);
            }
            f
        };
        vec![
            users,
            per_method(&REGISTERED, self.registered),
            features,
            admins,
            without,
            per_method(&DEFAULT_MFA_METHOD, self.default_method),
            per_method(&SYSTEM_PREFERRED, self.system_preferred),
            per_method(&USER_PREFERRED, self.user_preferred),
        ]
    }
}

/// The registration collector.
pub struct AuthMethodsRegistration {
    /// Method label values kept per family; the rest fold into `other`.
    max_methods: usize,
}

impl Collector for AuthMethodsRegistration {
    fn collect<'a>(
        &'a self,
        graph: &'a GraphClient,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let mut tally = Tally::default();
            graph
                .for_each_row::<Details<'static>>(&DETAILS, QUERY, |d| tally.add(d))
                .await?;
            Ok(tally.families(graph.tenant(), self.max_methods))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_the_reference_example_and_nulls() {
        let rows: Vec<Details> = serde_json::from_str(
            r#"[{"id":"8e1d","userPrincipalName":"lena@contoso.com","isAdmin":true,
                 "isMfaCapable":true,"isMfaRegistered":true,"isPasswordlessCapable":true,
                 "isSsprCapable":true,"isSsprEnabled":true,"isSsprRegistered":true,
                 "isSystemPreferredAuthenticationMethodEnabled":true,
                 "methodsRegistered":["microsoftAuthenticatorPush","passKeyDeviceBoundAuthenticator","email"],
                 "systemPreferredAuthenticationMethods":["push"],
                 "userPreferredMethodForSecondaryAuthentication":"push"},
                {"isAdmin":true,"isMfaCapable":false,"isMfaRegistered":false,
                 "isPasswordlessCapable":false,"isSsprCapable":false,"isSsprEnabled":true,
                 "isSsprRegistered":false,"isSystemPreferredAuthenticationMethodEnabled":null,
                 "methodsRegistered":null,"systemPreferredAuthenticationMethods":[],
                 "userPreferredMethodForSecondaryAuthentication":"","defaultMfaMethod":null}]"#,
        )
        .unwrap();
        let mut t = Tally::default();
        for r in rows {
            t.add(r);
        }
        assert_eq!((t.users, t.admins, t.admins_without_mfa), (2, 2, 1));
        assert_eq!(t.features, [1, 1, 1, 1, 2, 1, 1]);
        assert_eq!(t.registered.get("email"), Some(&1));
        assert_eq!(t.system_preferred.get("none"), Some(&1));
        assert_eq!(t.user_preferred.get("none"), Some(&1));
        assert_eq!(t.default_method.get("unset"), Some(&2));
    }
}
