//! Instants as clients write them, in every API: RFC 3339 timestamps, or plain dates.

use crate::error::ApiError;
use docket_domain::Timestamp;

/// Parses `2026-12-01T09:30:00Z` (any offset) or `2026-12-01`. A date alone means the end
/// of that day in UTC (`docket_domain::end_of_day`).
pub fn parse_instant(field: &str, s: &str) -> Result<Timestamp, ApiError> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(docket_domain::from_micros(t.timestamp_micros()));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(docket_domain::end_of_day(d));
    }
    Err(ApiError::invalid(
        field,
        "invalid_time",
        format!("{s:?} is not an RFC 3339 timestamp or a YYYY-MM-DD date"),
    ))
}
