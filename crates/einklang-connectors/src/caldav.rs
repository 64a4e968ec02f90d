//! `caldav`: a calendar on a CalDAV server (Radicale, Xandikos, Nextcloud,
//! iCloud…) as a two-way peer of `event` records. The protocol is shared
//! with `carddav` in [`crate::dav`]; this module says what an event is.
//!
//! A record is one calendar object resource: its master `VEVENT` read into
//! raw fields (`uid`, `summary`, `description`, `location`, `start`, `end`,
//! `all_day`, `timezone`, `status`, `url`, `class`, `categories`, `rrule`,
//! `organizer`, `attendees`, `sequence`, `created`, `last_modified`) plus
//! `href`. Times are `YYYY-MM-DD` for all-day events and RFC 3339 with the
//! offset of their `TZID` otherwise ([`time`]). Writing keeps time zones,
//! overrides, alarms and unknown properties ([`write`]). Objects that are
//! not events (`VTODO`, `VJOURNAL`) go to quarantine with that reason.
//! `einklang connector install NAME` makes the calendar (`MKCALENDAR`,
//! events only) when it does not exist.

pub mod ical;
pub mod time;
pub mod write;

use crate::dav::collection::{Collection, ItemFormat};
use crate::RawFields;

/// The `caldav` connector.
pub type CalDav = Collection<Events>;

/// Events in a calendar.
pub struct Events;

impl ItemFormat for Events {
    const KIND: &'static str = "caldav";
    const ITEM: &'static str = "event";
    const COLLECTION: &'static str = "calendar";
    const RESOURCE_TYPE: &'static str = "calendar";
    const EXT: &'static str = ".ics";
    const MEDIA: &'static str = "text/calendar; charset=utf-8";
    const MULTIGET: &'static str = "C:calendar-multiget";
    const DATA: &'static str = "C:calendar-data";
    const NS: &'static str = "urn:ietf:params:xml:ns:caldav";
    const HOME_SET: &'static str = "calendar-home-set";

    fn make_collection() -> (&'static str, String) {
        let body = r#"<?xml version="1.0" encoding="utf-8"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>"#;
        ("MKCALENDAR", body.into())
    }

    fn read(text: &str) -> Result<RawFields, String> {
        ical::Calendar::parse(text)?.fields()
    }

    fn create(uid: &str, fields: &RawFields) -> Result<String, String> {
        write::create(uid, fields)
    }

    fn rewrite(text: &str, fields: &RawFields) -> Result<String, String> {
        write::rewrite(text, fields)
    }

    fn uid(text: &str) -> Option<String> {
        let cal = ical::Calendar::parse(text).ok()?;
        let uid = cal.prop("UID")?;
        Some(crate::file::vcard::parse::unescape(&uid.value))
    }

    fn writable() -> Option<Vec<String>> {
        Some(write::WRITABLE.iter().map(|s| s.to_string()).collect())
    }
}
