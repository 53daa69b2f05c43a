//! The one retry policy of the platform: exponential backoff with full jitter, bounded in attempts
//! and in the longest pause. Every loop that retries AWS work (unprocessed BatchGetItem and
//! BatchWriteItem keys, failed PutRecords entries, optimistic-concurrency conflicts) pauses
//! through [`Backoff::pause`] and stops after [`Backoff::attempts`].
//!
//! Full jitter (a pause drawn uniformly from zero to the exponential bound) spreads the retries of
//! concurrent writers that failed together, so they do not collide again on the same item.
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// The bound of the first pause; it doubles with each attempt.
    pub base: Duration,
    /// The longest pause.
    pub cap: Duration,
}

impl Backoff {
    /// Optimistic-concurrency conflicts on one item (a profile version, a ledger head): short
    /// pauses, since the competing writer is usually done within milliseconds.
    pub const CONFLICT: Backoff =
        Backoff { attempts: 8, base: Duration::from_millis(10), cap: Duration::from_millis(640) };
    /// What DynamoDB or Kinesis left unprocessed in a batch call (throttling, partial failures).
    pub const BATCH: Backoff = Backoff { attempts: 6, base: Duration::from_millis(25), cap: Duration::from_secs(1) };

    /// The bound of the pause after failed attempt `attempt` (0 for the first).
    pub fn bound(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A pause drawn uniformly from `0..=bound(attempt)`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let bound = self.bound(attempt).as_micros() as u64;
        Duration::from_micros(if bound == 0 { 0 } else { rand::random::<u64>() % (bound + 1) })
    }

    /// Sleeps the jittered pause after failed attempt `attempt`.
    pub async fn pause(&self, attempt: u32) {
        tokio::time::sleep(self.delay(attempt)).await;
    }

    /// Whether another try follows failed attempt `attempt` (0 for the first).
    pub fn again(&self, attempt: u32) -> bool {
        attempt + 1 < self.attempts
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::BATCH
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_double_up_to_the_cap_and_pauses_stay_within_them() {
        let b = Backoff { attempts: 5, base: Duration::from_millis(10), cap: Duration::from_millis(50) };
        let bounds: Vec<u128> = (0..5).map(|a| b.bound(a).as_millis()).collect();
        assert_eq!(bounds, vec![10, 20, 40, 50, 50]);
        for a in 0..5 {
            for _ in 0..200 {
                assert!(b.delay(a) <= b.bound(a));
            }
        }
        assert_eq!(b.bound(u32::MAX), b.cap, "no overflow on long runs");
    }

    #[test]
    fn pauses_are_jittered_not_fixed() {
        let b = Backoff::BATCH;
        let draws: std::collections::HashSet<Duration> = (0..50).map(|_| b.delay(3)).collect();
        assert!(draws.len() > 10, "full jitter spreads the pauses: {} distinct of 50", draws.len());
    }

    #[test]
    fn attempts_are_bounded() {
        let b = Backoff::CONFLICT;
        let tries = (0..).take_while(|a| *a == 0 || b.again(a - 1)).count();
        assert_eq!(tries as u32, b.attempts);
    }
}
