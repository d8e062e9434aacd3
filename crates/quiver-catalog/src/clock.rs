//! The time a repository goes by: the system's, or one a test sets.
//!
//! Backup ids, retention and schedules all read the time through a [`Clock`], so that
//! tests can run weeks of schedules in a second on a [`FakeClock`].

use std::fmt;
use std::sync::{Arc, Mutex};

use time::{Duration, OffsetDateTime};

/// A source of the current time (UTC). Cheap to clone; the system's by default.
#[derive(Clone, Default)]
pub struct Clock {
    fake: Option<FakeClock>,
}

impl Clock {
    /// The system's clock.
    #[must_use]
    pub fn system() -> Clock {
        Clock::default()
    }

    /// The current time, in UTC.
    #[must_use]
    pub fn now(&self) -> OffsetDateTime {
        match &self.fake {
            Some(fake) => fake.now(),
            None => OffsetDateTime::now_utc(),
        }
    }

    /// True for a [`FakeClock`]'s clock.
    #[must_use]
    pub fn is_fake(&self) -> bool {
        self.fake.is_some()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.fake {
            Some(fake) => write!(f, "Clock::fake({})", fake.now()),
            None => f.write_str("Clock::system"),
        }
    }
}

/// A clock that only moves when told to, for tests.
///
/// ```
/// use quiver_catalog::FakeClock;
/// use time::{Duration, macros::datetime};
///
/// let fake = FakeClock::at(datetime!(2026-01-05 00:00 UTC));
/// let clock = fake.clock();
/// fake.advance(Duration::hours(1));
/// assert_eq!(clock.now(), datetime!(2026-01-05 01:00 UTC));
/// ```
#[derive(Debug, Clone)]
pub struct FakeClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

impl FakeClock {
    /// A clock standing at `now`.
    #[must_use]
    pub fn at(now: OffsetDateTime) -> FakeClock {
        FakeClock {
            now: Arc::new(Mutex::new(now)),
        }
    }

    /// The [`Clock`] that reads this one.
    #[must_use]
    pub fn clock(&self) -> Clock {
        Clock {
            fake: Some(self.clone()),
        }
    }

    /// The time it stands at.
    #[must_use]
    pub fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets it to `now`.
    pub fn set(&self, now: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = now;
    }

    /// Moves it on by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }
}
