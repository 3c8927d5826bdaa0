//! The arithmetic behind usage limits: API Gateway's token bucket (aws-behaviour §5) and the
//! calendar periods quotas count in.

use super::Period;

/// A token bucket's state: tokens left and when they were counted (epoch seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bucket {
    pub tokens: f64,
    pub at: f64,
}

/// Take one token at `now`: refill at `rate` per second up to `burst`, then spend one.
/// Returns whether the request is admitted and the new state. A new bucket starts full.
pub(crate) fn take_token(state: Option<Bucket>, now: f64, rate: f64, burst: u64) -> (bool, Bucket) {
    let burst = burst as f64;
    let mut b = state.unwrap_or(Bucket {
        tokens: burst,
        at: now,
    });
    let elapsed = (now - b.at).max(0.0);
    b.tokens = (b.tokens + elapsed * rate).min(burst);
    b.at = now;
    if b.tokens >= 1.0 {
        b.tokens -= 1.0;
        (true, b)
    } else {
        (false, b)
    }
}

/// The UTC period containing `now` (epoch seconds): `[start, end)`. Weeks start on Monday. [?]
/// (`offset` reduces the first period's limit, per the API reference; it does not move periods.)
pub fn period_bounds(now: i64, period: Period) -> (i64, i64) {
    let dt =
        time::OffsetDateTime::from_unix_timestamp(now).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let day_start = dt.replace_time(time::Time::MIDNIGHT);
    let (start, end) = match period {
        Period::Day => (day_start, day_start + time::Duration::days(1)),
        Period::Week => {
            let s =
                day_start - time::Duration::days(i64::from(dt.weekday().number_days_from_monday()));
            (s, s + time::Duration::weeks(1))
        }
        Period::Month => {
            let s = day_start.replace_day(1).unwrap_or(day_start);
            let (y, m) = if s.month() == time::Month::December {
                (s.year() + 1, time::Month::January)
            } else {
                (s.year(), s.month().next())
            };
            let e = s
                .replace_year(y)
                .and_then(|x| x.replace_month(m))
                .unwrap_or(s + time::Duration::days(31));
            (s, e)
        }
    };
    (start.unix_timestamp(), end.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_bucket_allows_bursts_then_the_rate() {
        let (mut state, mut admitted) = (None, 0);
        // 5 requests at the same instant with burst 3: three pass.
        for _ in 0..5 {
            let (ok, s) = take_token(state, 100.0, 1.0, 3);
            state = Some(s);
            admitted += usize::from(ok);
        }
        assert_eq!(admitted, 3);
        // Half a second later at 1 rps: not yet a whole token.
        let (ok, s) = take_token(state, 100.5, 1.0, 3);
        assert!(!ok);
        // One second after the burst: one token back.
        let (ok, s) = take_token(Some(s), 101.0, 1.0, 3);
        assert!(ok);
        // Long idle: the bucket refills to burst, never beyond.
        let (_, s) = take_token(Some(s), 10_000.0, 1.0, 3);
        assert!((s.tokens - 2.0).abs() < 1e-9);
    }

    #[test]
    fn quota_periods_are_utc_calendar_units() {
        // 2026-11-28 (a Saturday) 17:35:20 UTC.
        let t = 1_795_887_320;
        let (ds, de) = period_bounds(t, Period::Day);
        assert_eq!((ds, de - ds), (1_795_824_000, 86_400));
        let (ws, we) = period_bounds(t, Period::Week);
        assert_eq!(we - ws, 7 * 86_400);
        assert_eq!(
            ws,
            1_795_824_000 - 5 * 86_400,
            "weeks start on Monday 2026-11-23"
        );
        let (ms, me) = period_bounds(t, Period::Month);
        assert_eq!(ms, 1_795_824_000 - 27 * 86_400, "2026-11-01");
        assert_eq!(me - ms, 30 * 86_400, "November has 30 days");
        let (dec, jan) = period_bounds(1_796_083_200 + 86_400 * 30, Period::Month);
        assert!(jan > dec);
    }
}
