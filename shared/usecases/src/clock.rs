//! The wall clock, read in one place (seconds since the Unix epoch).

/// Now, in whole seconds since the Unix epoch.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
