//! Client-side pacing for Graph services that allow a fixed number of requests per window.
//!
//! The identity-and-access reports service allows 5 requests per 10 s per app per tenant
//! (reference §10.2), shared by every report that service backs. Retrying a 429 after
//! `Retry-After` keeps the data coming but still shows up as throttling on Graph's side and in
//! our own retry counters. Pacing every request of those endpoints through one sliding window
//! per tenant means a steady state never hits the limit at all.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::config::Budget;

/// A sliding-window pacer: at most `requests` requests in flight or finished within the last
/// `window`.
///
/// The window is measured from the **end** of each request, not its start. Graph counts a
/// request when it arrives, which is after we send it and before we have its response; so a
/// request sent `window` after the previous ones *finished* can never share Graph's window with
/// them, however slow the network or the first connection was.
pub struct Pacer {
    /// Requests per window.
    requests: usize,
    /// The window.
    window: Duration,
    /// Requests in flight and end times of recent ones.
    state: Mutex<State>,
    /// Woken whenever a request finishes.
    released: Notify,
    /// Makes waiters take turns in FIFO order, so collectors sharing the budget alternate.
    queue: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    /// Requests sent and not finished.
    in_flight: usize,
    /// End times of finished requests within the window, oldest first.
    finished: VecDeque<Instant>,
}

/// Slots in the window, held while the request runs; dropping it records the request's end
/// (once per slot: a JSON batch holds one slot per inner request of the budgeted service).
pub struct Permit<'a> {
    pacer: &'a Pacer,
    /// Slots held.
    slots: usize,
    /// How long the caller waited for the slot.
    pub waited: Duration,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        {
            let mut s = self.pacer.lock();
            s.in_flight = s.in_flight.saturating_sub(self.slots);
            let now = Instant::now();
            for _ in 0..self.slots {
                s.finished.push_back(now);
            }
        }
        self.pacer.released.notify_waiters();
    }
}

impl Pacer {
    /// A pacer for `budget`.
    pub fn new(budget: Budget) -> Self {
        Pacer {
            requests: budget.requests.max(1) as usize,
            window: budget.window,
            state: Mutex::new(State::default()),
            released: Notify::new(),
            queue: tokio::sync::Mutex::new(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Requests per window: the most slots [`Pacer::acquire_many`] hands out at once.
    pub fn capacity(&self) -> usize {
        self.requests
    }

    /// Waits until one more request fits into the window and returns its slot.
    pub async fn acquire(&self) -> Permit<'_> {
        self.acquire_many(1).await
    }

    /// Waits until `n` more requests fit into the window (`n` is capped at the budget) and
    /// returns their slots together: a JSON batch whose inner requests Graph counts one by
    /// one against the budget (reference §9, "each inner request is evaluated separately").
    /// Taking them at once, never a few at a time, keeps two batches from each holding part
    /// of the window while waiting for the rest.
    pub async fn acquire_many(&self, n: usize) -> Permit<'_> {
        let n = n.clamp(1, self.requests);
        let began = Instant::now();
        let _turn = self.queue.lock().await;
        loop {
            let notified = self.released.notified();
            tokio::pin!(notified);
            // Register before looking at the state, so a release in between is not missed.
            notified.as_mut().enable();
            let next_free = {
                let mut s = self.lock();
                let now = Instant::now();
                while s
                    .finished
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.window)
                {
                    s.finished.pop_front();
                }
                let used = s.in_flight + s.finished.len();
                if used + n <= self.requests {
                    s.in_flight += n;
                    return Permit {
                        pacer: self,
                        slots: n,
                        waited: now.duration_since(began),
                    };
                }
                // Enough slots are free once this many of the finished ones have left.
                let leaving = used + n - self.requests;
                s.finished.get(leaving - 1).map(|t| *t + self.window)
            };
            match next_free {
                Some(at) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {}
                        _ = &mut notified => {}
                    }
                }
                // Every slot is in flight: wait for one to finish.
                None => notified.await,
            }
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
            drop(pacer.acquire().await);
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
        // …and no slower than that: 17 requests take exactly three windows.
        assert_eq!(times[16], Duration::from_secs(30), "{times:?}");
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
                    drop(p.acquire().await);
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

    #[tokio::test(start_paused = true)]
    async fn many_slots_are_taken_together_and_released_together() {
        let budget = Budget {
            requests: 5,
            window: Duration::from_secs(10),
        };
        let pacer = Pacer::new(budget);
        let start = Instant::now();
        drop(pacer.acquire_many(3).await);
        drop(pacer.acquire_many(2).await);
        assert!(start.elapsed().is_zero());
        // Three more need the three oldest to leave: one window later, all at once.
        let three = pacer.acquire_many(3).await;
        assert_eq!(three.waited, Duration::from_secs(10));
        drop(three);
        // More than the budget is capped at the budget, not a wait forever.
        let all = pacer.acquire_many(50).await;
        assert_eq!(start.elapsed(), Duration::from_secs(20));
        assert_eq!(pacer.capacity(), 5);
        drop(all);
    }

    #[tokio::test(start_paused = true)]
    async fn the_window_runs_from_the_end_of_slow_requests() {
        let pacer = Pacer::new(Budget {
            requests: 1,
            window: Duration::from_secs(10),
        });
        let start = Instant::now();
        let slow = pacer.acquire().await;
        // The request takes 3 s; the next may only start 10 s after it ended.
        tokio::time::sleep(Duration::from_secs(3)).await;
        drop(slow);
        let next = pacer.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(13));
        assert_eq!(next.waited, Duration::from_secs(10));
    }
}
