//! Resource-unit throttling of the identity & access (directory) service, reference §7.
//!
//! Graph charges each directory request a number of resource units and keeps a token bucket
//! per application and tenant; the bucket holds the tier's limit and refills it over the
//! window (10 s). An empty bucket answers 429 with `Retry-After` and the `x-ms-throttle-*`
//! headers. Every knob is configurable so tests can use tiny limits.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Limits of the directory token bucket (§7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// When false nothing is throttled (responses still carry `x-ms-resource-unit`).
    pub enabled: bool,
    /// Refill window: the bucket refills its whole limit over this period (§7: 10 s).
    pub window: Duration,
    /// Limit for tenants with fewer than 50 users (§7: 3,500).
    pub small_tenant_limit: u32,
    /// Limit for tenants with 50 to 500 users (§7: 5,000).
    pub medium_tenant_limit: u32,
    /// Limit for tenants with more than 500 users (§7: 8,000).
    pub large_tenant_limit: u32,
    /// Overrides the tiers with one limit (tests use a handful of units).
    pub limit_override: Option<u32>,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window: Duration::from_secs(10),
            small_tenant_limit: 3_500,
            medium_tenant_limit: 5_000,
            large_tenant_limit: 8_000,
            limit_override: None,
        }
    }
}

impl ThrottleConfig {
    /// Throttling switched off.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// One fixed limit of `units` per `window`, whatever the tenant size.
    pub fn with_limit(units: u32, window: Duration) -> Self {
        Self {
            window,
            limit_override: Some(units),
            ..Self::default()
        }
    }

    /// The bucket size for a tenant of `users` users (§7 tiers).
    pub fn limit_for(&self, users: u64) -> u32 {
        if let Some(limit) = self.limit_override {
            return limit;
        }
        match users {
            0..50 => self.small_tenant_limit,
            50..=500 => self.medium_tenant_limit,
            _ => self.large_tenant_limit,
        }
    }
}

/// Resource units of a directory GET (§7): 2, minus 1 with `$select`, minus 1 with `$top`
/// below 20, at least 1.
pub fn directory_read_cost(has_select: bool, top: Option<i64>) -> u32 {
    let mut cost: u32 = 2;
    if has_select {
        cost -= 1;
    }
    if top.is_some_and(|t| t < 20) {
        cost = cost.saturating_sub(1);
    }
    cost.max(1)
}

/// Outcome of charging a request to its bucket.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// The request may proceed.
    Allowed {
        /// Units charged (`x-ms-resource-unit`).
        cost: u32,
        /// Share of the limit in use after this request; above 0.8 it is reported in
        /// `x-ms-throttle-limit-percentage` (§7).
        used_fraction: f64,
    },
    /// The bucket is empty: answer 429.
    Throttled {
        /// Units the request would have cost.
        cost: u32,
        /// Whole seconds until the bucket holds `cost` units again (`Retry-After`).
        retry_after_secs: u64,
    },
}

/// One client's bucket.
#[derive(Debug)]
struct Bucket {
    /// Units currently available.
    tokens: f64,
    /// When `tokens` was last brought up to date.
    updated: Instant,
}

/// The token buckets of one simulator, keyed by application and tenant.
#[derive(Debug)]
pub struct Throttler {
    /// The configured limits.
    config: ThrottleConfig,
    /// Bucket size for this tenant.
    limit: u32,
    /// Buckets by `"{appid}/{tenant}"`.
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Throttler {
    /// Buckets for a tenant of `users` users.
    pub fn new(config: ThrottleConfig, users: u64) -> Self {
        let limit = config.limit_for(users);
        Self {
            config,
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Charges `cost` units to `key`'s bucket.
    pub fn charge(&self, key: &str, cost: u32) -> Decision {
        if !self.config.enabled {
            return Decision::Allowed {
                cost,
                used_fraction: 0.0,
            };
        }
        let capacity = f64::from(self.limit.max(1));
        let window = self.config.window.as_secs_f64().max(1e-3);
        let rate = capacity / window;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.updated = now;
        let cost_f = f64::from(cost);
        if bucket.tokens >= cost_f {
            bucket.tokens -= cost_f;
            Decision::Allowed {
                cost,
                used_fraction: (capacity - bucket.tokens) / capacity,
            }
        } else {
            let wait = (cost_f.min(capacity) - bucket.tokens) / rate;
            Decision::Throttled {
                cost,
                retry_after_secs: (wait.ceil() as u64).max(1),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_follow_user_count() {
        let c = ThrottleConfig::default();
        assert_eq!(c.limit_for(49), 3_500);
        assert_eq!(c.limit_for(50), 5_000);
        assert_eq!(c.limit_for(500), 5_000);
        assert_eq!(c.limit_for(501), 8_000);
        assert_eq!(
            ThrottleConfig::with_limit(4, Duration::from_secs(1)).limit_for(9_999),
            4
        );
    }

    #[test]
    fn cost_rules() {
        assert_eq!(directory_read_cost(false, None), 2);
        assert_eq!(directory_read_cost(true, None), 1);
        assert_eq!(directory_read_cost(false, Some(10)), 1);
        assert_eq!(directory_read_cost(true, Some(10)), 1);
        assert_eq!(directory_read_cost(false, Some(999)), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn bucket_empties_and_refills() {
        let t = Throttler::new(ThrottleConfig::with_limit(4, Duration::from_secs(10)), 1);
        assert!(matches!(t.charge("a", 2), Decision::Allowed { .. }));
        match t.charge("a", 2) {
            Decision::Allowed { used_fraction, .. } => assert!((used_fraction - 1.0).abs() < 1e-9),
            other => panic!("{other:?}"),
        }
        match t.charge("a", 2) {
            // 2 units at 0.4 units/s: 5 s.
            Decision::Throttled {
                retry_after_secs, ..
            } => assert_eq!(retry_after_secs, 5),
            other => panic!("{other:?}"),
        }
        // Another client has its own bucket.
        assert!(matches!(t.charge("b", 2), Decision::Allowed { .. }));
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(matches!(t.charge("a", 2), Decision::Allowed { .. }));
    }
}
