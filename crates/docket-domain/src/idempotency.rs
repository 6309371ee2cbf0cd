//! Idempotency keys: a POST retried with the same `Idempotency-Key` and body gets the first
//! response again. The rule is here; each store keeps the keys and decides, inside its
//! transaction, with [`decide`].

use crate::Timestamp;

/// How long a finished key is remembered.
pub const TTL: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// How long an unfinished claim blocks a retry before it is presumed lost (the server
/// that took it crashed).
pub const IN_FLIGHT: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// What a stored key means for a new claim of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Forgotten or abandoned: the new claim takes it and runs the operation.
    Take,
    /// The same key with another request: refused.
    Mismatch,
    /// The first request is still running: the retry waits or gives up.
    InFlight,
    /// Finished: send its stored response again.
    Replay,
}

/// The decision for a claim of `fingerprint` at `now` on a stored key made at `created`
/// for `stored` (its request's fingerprint), finished (a response stored) or not.
pub fn decide(
    stored: &[u8],
    finished: bool,
    created: Timestamp,
    fingerprint: &[u8],
    now: Timestamp,
) -> Decision {
    let age = now - created;
    if age > TTL {
        Decision::Take
    } else if stored != fingerprint {
        Decision::Mismatch
    } else if finished {
        Decision::Replay
    } else if age > IN_FLIGHT {
        Decision::Take
    } else {
        Decision::InFlight
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn keys_replay_refuse_wait_and_expire() {
        let t0 = crate::now();
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let at = |s: i64| t0 + TimeDelta::seconds(s);
        assert_eq!(decide(&a, true, t0, &a, at(1)), Decision::Replay);
        assert_eq!(decide(&a, true, t0, &b, at(1)), Decision::Mismatch);
        assert_eq!(decide(&a, false, t0, &b, at(1)), Decision::Mismatch);
        assert_eq!(decide(&a, false, t0, &a, at(1)), Decision::InFlight);
        assert_eq!(
            decide(&a, false, t0, &a, at(61)),
            Decision::Take,
            "abandoned"
        );
        assert_eq!(
            decide(&a, true, t0, &a, at(61)),
            Decision::Replay,
            "finished stays"
        );
        let day = 24 * 3600;
        assert_eq!(
            decide(&a, true, t0, &a, at(day + 1)),
            Decision::Take,
            "expired"
        );
        assert_eq!(decide(&a, true, t0, &b, at(day + 1)), Decision::Take);
    }
}
