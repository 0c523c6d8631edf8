//! The per-tenant handle on the usage-and-insights models ([`super::usage`]) and the user
//! registration model ([`super::registration`]): what the report handlers and the ground
//! truth read, so that both derive their numbers from the same functions.

use std::sync::OnceLock;

use super::registration::{RegistrationTotals, UserModel};
use super::usage::{self, AppDay, AppProfile, DayPiece, RelyingParty, RelyingPartyWindow};
use crate::config::SimConfig;
use crate::time::UtcTime;

/// The report models of one tenant.
#[derive(Clone, Debug)]
pub struct ReportsModel {
    /// Seed of the tenant.
    pub seed: u64,
    /// Usage profile of each application, same order as [`super::Tenant::applications`].
    pub app_profiles: Vec<AppProfile>,
    /// AD FS relying parties (§3).
    pub relying_parties: Vec<RelyingParty>,
    /// The users (§6).
    pub users: UserModel,
    /// Aggregates over the users, computed on first use (a pass over up to millions of users).
    totals: OnceLock<RegistrationTotals>,
    /// Page-token fingerprint of the user collection: the tenant's, mixed with the user count.
    pub users_fingerprint: u32,
    /// Whether `getCredentialUsageSummary` lists the evolvable methods too
    /// ([`crate::Quirks::credential_usage_include_evolvable`]).
    pub credential_usage_include_evolvable: bool,
}

/// One `userMfaSignInSummary` row (§6.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MfaDay {
    /// `id`.
    pub id: String,
    /// Days since the epoch (`createdDateTime` is its midnight).
    pub day: i64,
    /// `singleFactorSignIns`.
    pub single_factor: u64,
    /// `multiFactorSignIns`.
    pub multi_factor: u64,
}

impl MfaDay {
    /// `totalSignIns`.
    pub fn total(&self) -> u64 {
        self.single_factor + self.multi_factor
    }
}

/// One `credentialUsageSummary` row (§6.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialUsageRow {
    /// `feature` (`registration` or `reset`).
    pub feature: &'static str,
    /// `authMethod`.
    pub auth_method: &'static str,
    /// `successfulActivityCount`.
    pub successes: u64,
    /// `failureActivityCount`.
    pub failures: u64,
}

impl CredentialUsageRow {
    /// `id`, as in the reference example: `registration-email`.
    pub fn id(&self) -> String {
        format!("{}-{}", self.feature, self.auth_method)
    }
}

impl ReportsModel {
    /// The models of the tenant `config` describes, with `applications` app registrations.
    pub fn new(config: &SimConfig, applications: usize, now: UtcTime, fingerprint: u32) -> Self {
        let seed = config.seed;
        // The activity rate scales the usage model itself, so the §2 summaries and the
        // sign-in log (which lists exactly these events) stay equal at any rate.
        let rate = config.effective_activity_rate();
        Self {
            seed,
            app_profiles: (0..applications as u64)
                .map(|i| {
                    let mut p = AppProfile::of(seed, i);
                    p.daily_mean *= rate;
                    p
                })
                .collect(),
            relying_parties: usage::relying_parties(seed, config.relying_parties),
            users: UserModel::new(seed, config.users, &config.tenant_domain, now),
            totals: OnceLock::new(),
            users_fingerprint: fingerprint ^ (config.users as u32).rotate_left(13) ^ 0x5a5a_0606,
            credential_usage_include_evolvable: config.quirks.credential_usage_include_evolvable,
        }
    }

    /// Application `index`'s sign-ins on `day`.
    pub fn app_day(&self, index: usize, day: i64) -> AppDay {
        match self.app_profiles.get(index) {
            Some(p) => usage::app_day(self.seed, index as u64, p, day),
            None => AppDay::default(),
        }
    }

    /// Application `index`'s sign-ins over `pieces`.
    pub fn app_window(&self, index: usize, pieces: &[DayPiece]) -> AppDay {
        match self.app_profiles.get(index) {
            Some(p) => usage::app_window(self.seed, index as u64, p, pieces),
            None => AppDay::default(),
        }
    }

    /// Relying party `index`'s totals over `pieces`.
    pub fn relying_party_window(&self, index: usize, pieces: &[DayPiece]) -> RelyingPartyWindow {
        match self.relying_parties.get(index) {
            Some(rp) => usage::relying_party_window(self.seed, index as u64, rp, pieces),
            None => RelyingPartyWindow::default(),
        }
    }

    /// `[successful, failed]` activities of (feature, method) over `pieces` (§6.3).
    pub fn credential_usage_window(
        &self,
        feature: usize,
        method: usize,
        pieces: &[DayPiece],
    ) -> [u64; 2] {
        let mut sum = [0u64; 2];
        for piece in pieces {
            let day = usage::credential_usage_day(
                self.seed,
                self.users.slots,
                feature,
                method,
                piece.day,
            );
            sum[0] += piece.count(day[0]);
            sum[1] += piece.count(day[1]);
        }
        sum
    }

    /// The `credentialUsageSummary` rows over `pieces`: each (feature, method) the feature
    /// offers, evolvable methods only when enabled, rows without activity left out (§6.3).
    pub fn credential_usage(&self, pieces: &[DayPiece]) -> Vec<CredentialUsageRow> {
        let mut rows = Vec::new();
        for (f, feature) in usage::USAGE_FEATURES.iter().enumerate() {
            for (m, method) in usage::USAGE_METHODS.iter().enumerate() {
                let offered = method.rate.get(f).is_some_and(|r| *r > 0.0);
                if !offered || (method.evolvable && !self.credential_usage_include_evolvable) {
                    continue;
                }
                let [successes, failures] = self.credential_usage_window(f, m, pieces);
                if successes + failures > 0 {
                    rows.push(CredentialUsageRow {
                        feature,
                        auth_method: method.name,
                        successes,
                        failures,
                    });
                }
            }
        }
        rows
    }

    /// The MFA row of `piece`'s day (§6.5): the day's successful application sign-ins
    /// ([`Self::app_day`], summed over every app, restricted to the piece), split into single-
    /// and multi-factor by the day's MFA share.
    pub fn mfa_day(&self, piece: &DayPiece) -> MfaDay {
        let total: u64 = (0..self.app_profiles.len())
            .map(|i| piece.count(self.app_day(i, piece.day).successes))
            .sum();
        let (share, id) = usage::mfa_day(self.seed, piece.day);
        let [single_factor, multi_factor] = usage::mfa_split(total, share);
        MfaDay {
            id,
            day: piece.day,
            single_factor,
            multi_factor,
        }
    }

    /// Aggregates over every user (computed once per tenant, then cached).
    pub fn registration_totals(&self) -> &RegistrationTotals {
        self.totals
            .get_or_init(|| RegistrationTotals::compute(&self.users))
    }
}
