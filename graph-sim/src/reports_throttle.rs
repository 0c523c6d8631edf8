//! The request budget of the identity and access reports service, reference §10.2: "5
//! requests per 10 seconds per app per tenant", shared by the application sign-in summaries,
//! the AD FS relying-party summary, the authentication-methods reports, the credential usage
//! reports and the audit logs.
//!
//! Unlike the directory's resource-unit bucket (§7, [`crate::throttle`]) this is a plain
//! request count, kept here as a sliding window: a request is admitted when fewer than
//! `requests` admitted requests of the same (application, tenant) fall within the last
//! `window`. Refused requests do not enter the window, so a client that waits `Retry-After`
//! seconds is admitted again.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Limits of the identity and access reports budget (§10.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportsThrottleConfig {
    /// When false no report request is refused.
    pub enabled: bool,
    /// Requests admitted per `window` and (application, tenant) (§10.2: 5).
    pub requests: u32,
    /// Length of the sliding window (§10.2: 10 s).
    pub window: Duration,
}

impl Default for ReportsThrottleConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            requests: 5,
            window: Duration::from_secs(10),
        }
    }
}

impl ReportsThrottleConfig {
    /// The budget switched off.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// A budget of `requests` per `window` (tests use short windows).
    pub fn with_limit(requests: u32, window: Duration) -> Self {
        Self {
            enabled: true,
            requests,
            window,
        }
    }
}

/// Outcome of counting one request against its budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BudgetDecision {
    /// Within budget: serve the request.
    Allowed,
    /// Over budget: answer 429.
    Throttled {
        /// Whole seconds until the oldest admitted request leaves the window (at least 1).
        retry_after_secs: u64,
    },
}

/// The sliding windows of one simulator, keyed by application and tenant.
#[derive(Debug)]
pub struct ReportsThrottler {
    /// The configured budget.
    config: ReportsThrottleConfig,
    /// Admission times of the requests still inside the window, oldest first, by
    /// `"{appid}/{tenant}"`.
    windows: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl ReportsThrottler {
    /// Windows for the given budget.
    pub fn new(config: ReportsThrottleConfig) -> Self {
        Self {
            config,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request of `key` (`"{appid}/{tenant}"`).
    pub fn admit(&self, key: &str) -> BudgetDecision {
        if !self.config.enabled {
            return BudgetDecision::Allowed;
        }
        let now = Instant::now();
        let window = self.config.window;
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let admitted = windows.entry(key.to_owned()).or_default();
        while admitted
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= window)
        {
            admitted.pop_front();
        }
        if admitted.len() < self.config.requests as usize {
            admitted.push_back(now);
            return BudgetDecision::Allowed;
        }
        // With a zero budget nothing ever leaves the window: ask for a whole window.
        let wait = admitted.front().map_or(window, |oldest| {
            (*oldest + window).saturating_duration_since(now)
        });
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        BudgetDecision::Throttled {
            retry_after_secs: secs.max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn sixth_request_waits_for_the_oldest_to_leave() {
        let t = ReportsThrottler::new(ReportsThrottleConfig::default());
        for _ in 0..5 {
            assert_eq!(t.admit("a/t"), BudgetDecision::Allowed);
            tokio::time::advance(Duration::from_millis(500)).await;
        }
        // The oldest was admitted 2.5 s ago: it leaves the window in 7.5 s → 8.
        assert_eq!(
            t.admit("a/t"),
            BudgetDecision::Throttled {
                retry_after_secs: 8
            }
        );
        // Another app, or the same app in another tenant, has its own budget.
        assert_eq!(t.admit("b/t"), BudgetDecision::Allowed);
        assert_eq!(t.admit("a/u"), BudgetDecision::Allowed);
        tokio::time::advance(Duration::from_millis(7_500)).await;
        assert_eq!(t.admit("a/t"), BudgetDecision::Allowed);
        // The next slot frees 0.5 s later; Retry-After never says 0.
        assert_eq!(
            t.admit("a/t"),
            BudgetDecision::Throttled {
                retry_after_secs: 1
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn disabled_and_zero_budgets() {
        let off = ReportsThrottler::new(ReportsThrottleConfig::disabled());
        for _ in 0..100 {
            assert_eq!(off.admit("a/t"), BudgetDecision::Allowed);
        }
        let zero =
            ReportsThrottler::new(ReportsThrottleConfig::with_limit(0, Duration::from_secs(3)));
        assert_eq!(
            zero.admit("a/t"),
            BudgetDecision::Throttled {
                retry_after_secs: 3
            }
        );
    }
}
