//! Client-side pacing for Graph services that allow a fixed number of requests per window.
//!
//! The identity-and-access reports service allows 5 requests per 10 s per app per tenant
//! (reference §10.2), shared by every report that service backs. Retrying a 429 after
//! `Retry-After` keeps the data coming but still shows up as throttling on Graph's side and in
//! our own retry counters. Pacing every request of those endpoints through one sliding window
//! per tenant means a steady state never hits the limit at all.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::config::Budget;

/// A sliding-window pacer: at most `requests` starts in any `window` (plus a small margin).
pub struct Pacer {
    /// Requests per window.
    requests: usize,
    /// The window, widened by a margin so that network jitter between our clock and Graph's
    /// cannot squeeze one request too many into Graph's window.
    window: Duration,
    /// Start times of the requests in the current window, oldest first. A tokio mutex queues
    /// waiters in FIFO order, so collectors sharing the budget take turns.
    starts: Mutex<VecDeque<Instant>>,
}

impl Pacer {
    /// A pacer for `budget`.
    pub fn new(budget: Budget) -> Self {
        let margin = (budget.window / 20).max(Duration::from_millis(50));
        Pacer {
            requests: budget.requests.max(1) as usize,
            window: budget.window + margin,
            starts: Mutex::new(VecDeque::new()),
        }
    }

    /// Waits until one more request fits into the window, records it, and returns how long
    /// the caller waited.
    pub async fn acquire(&self) -> Duration {
        let began = Instant::now();
        let mut starts = self.starts.lock().await;
        loop {
            let now = Instant::now();
            while starts
                .front()
                .is_some_and(|t| now.duration_since(*t) >= self.window)
            {
                starts.pop_front();
            }
            if starts.len() < self.requests {
                starts.push_back(now);
                return now.duration_since(began);
            }
            // Full: sleep until the oldest start leaves the window. Holding the lock while
            // sleeping is deliberate; later callers queue behind this one.
            let oldest = starts.front().copied().unwrap_or(now);
            tokio::time::sleep_until(oldest + self.window).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_budget_in_any_window() {
        let budget = Budget {
            requests: 5,
            window: Duration::from_secs(10),
        };
        let pacer = Pacer::new(budget);
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..17 {
            pacer.acquire().await;
            times.push(start.elapsed());
        }
        // The first five go at once; then one more each time the oldest leaves the window.
        assert!(times[..5].iter().all(|t| t.is_zero()), "{times:?}");
        for (i, t) in times.iter().enumerate().skip(5) {
            let earlier = times[i - 5];
            assert!(
                *t - earlier >= budget.window,
                "request {i} at {t:?} is within {:?} of request {} at {earlier:?}",
                budget.window,
                i - 5
            );
        }
        // …and not much slower than that: 17 requests fit into three windows plus margins.
        assert!(times[16] < Duration::from_secs(33), "{times:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_window() {
        let pacer = std::sync::Arc::new(Pacer::new(Budget {
            requests: 2,
            window: Duration::from_secs(1),
        }));
        let start = Instant::now();
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let p = pacer.clone();
                tokio::spawn(async move {
                    p.acquire().await;
                    start.elapsed()
                })
            })
            .collect();
        let mut times = Vec::new();
        for t in tasks {
            times.push(t.await.unwrap());
        }
        times.sort();
        for i in 2..times.len() {
            assert!(
                times[i] - times[i - 2] >= Duration::from_secs(1),
                "{times:?}"
            );
        }
    }
}
