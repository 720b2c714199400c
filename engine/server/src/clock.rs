//! The date of an act: today in the institution's time zone, from the
//! server's clock. The only place the server reads the clock for a
//! business decision; a request can never set it.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use integritas_core::date::Date;
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::error::ApiError;

/// Whether `name` is an IANA zone the bundled database knows.
pub fn known_zone(name: &str) -> bool {
    TimeZone::get(name).is_ok()
}

/// Today in `zone` (UTC when `None`). A zone the database does not know
/// (a pack's typo: institutions' zones are checked when they are added)
/// falls back to UTC, with a warning in the log.
pub fn today(zone: Option<&str>) -> Result<Date, ApiError> {
    let tz = match zone.map(|name| (name, cached_zone(name))) {
        Some((_, Ok(tz))) => tz,
        Some((name, Err(e))) => {
            tracing::warn!("unknown time zone `{name}` ({e}); using UTC");
            TimeZone::UTC
        }
        None => TimeZone::UTC,
    };
    let date = Timestamp::now().to_zoned(tz).date();
    Date::new(i32::from(date.year()), date.month() as u32, date.day() as u32)
        .ok_or_else(|| ApiError::Internal(format!("the clock gave a date out of range: {date}")))
}

/// Zones read from the database once each (reading one parses its rules).
fn cached_zone(name: &str) -> Result<TimeZone, jiff::Error> {
    static ZONES: OnceLock<Mutex<HashMap<String, TimeZone>>> = OnceLock::new();
    let zones = ZONES.get_or_init(Default::default);
    if let Some(tz) = zones.lock().unwrap_or_else(|p| p.into_inner()).get(name) {
        return Ok(tz.clone());
    }
    let tz = TimeZone::get(name)?;
    zones.lock().unwrap_or_else(|p| p.into_inner()).insert(name.to_string(), tz.clone());
    Ok(tz)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_come_from_the_bundled_database() {
        for (zone, known) in
            [("Europe/Vienna", true), ("Pacific/Kiritimati", true), ("UTC", true), ("Mars/Olympus", false)]
        {
            assert_eq!(known_zone(zone), known, "{zone}");
        }
        // Kiritimati (UTC+14) is 25 hours ahead of Pago Pago (UTC-11): never on the same date.
        let ahead = today(Some("Pacific/Kiritimati")).expect("date");
        let behind = today(Some("Pacific/Pago_Pago")).expect("date");
        assert!((1..=2).contains(&behind.days_until(ahead)), "{behind} {ahead}");
    }
}
