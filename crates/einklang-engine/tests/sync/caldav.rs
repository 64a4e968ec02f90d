//! A calendar on a real Radicale as a two-way peer of a practice
//! software's appointments (seed 002: Advoware appointments ↔ a calendar),
//! through the hub's `event` entity with UTC date-times: an event another
//! client wrote in Europe/Berlin comes into the CRM, a time moved in the
//! CRM goes back in the event's own zone with its alarm and a higher
//! SEQUENCE, an edit in the calendar comes back through the change feed,
//! and syncs in between write nothing.

use crate::carddav::{dav_base, Other};
use crate::harness::*;
use einklang_connectors::memory::MemoryOptions;
use serde_json::json;
use std::path::Path;

fn config(calendar: &str) -> String {
    format!(
        r#"
[entities.event]
title = "text"
starts = "datetime"
ends = "datetime"
place = "text"

[connectors.advo]
kind = "jsonl"
path = "memory-advo.jsonl"

[connectors.calendar]
kind = "caldav"
url = "{calendar}"
username = "alice"
password = "alicepw"

[map.advo.event]
id = "id"
fields = {{ title = "betreff", starts = "beginn", ends = "ende", place = "ort" }}

[map.calendar.event]
id = "href"
fields = {{ title = "summary", starts = "start", ends = "end", place = "location" }}

[jobs.termine]
sync = ["advo", "calendar"]

[conflicts.event]
default = {{ authority = "advo" }}
"#
    )
}

const MEETING: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN\r\nBEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:meeting-1\r\nDTSTAMP:20261101T080000Z\r\nSEQUENCE:0\r\nSUMMARY:Mandantengespräch\r\nDTSTART;TZID=Europe/Berlin:20261201T100000\r\nDTEND;TZID=Europe/Berlin:20261201T113000\r\nLOCATION:Büro 3\r\nX-ADVOWARE-TERMIN:T-998\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nDESCRIPTION:Erinnerung\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

#[test]
fn a_calendar_syncs_both_ways_with_appointments() {
    let Some(base) = dav_base() else { return };
    let url = format!("{base}termine-{}/", std::process::id());
    let other = Other::with_media(&url, "text/calendar; charset=utf-8");
    other.send("DELETE", "", "");
    let mut hub = Hub::new(&config(&url), &[("advo", MemoryOptions::default())]);
    let settings = &hub.config.connectors["calendar"].settings;
    einklang_connectors::open("calendar", "caldav", settings, Path::new("."))
        .unwrap()
        .install()
        .unwrap();
    other.put("meeting-1.ics", MEETING);
    let frist = hub.remote("advo").insert(raw(json!({
        "betreff": "Frist Berufung", "beginn": "2026-12-03 09:00:00",
        "ende": "2026-12-03T09:30:00Z", "ort": null
    })));
    let r = hub.sync("termine");
    assert_eq!(count(&r, "created"), 2, "{:#?}", r.counters);
    let (meeting, fields) = hub.find("advo", "betreff", "Mandantengespräch");
    assert_eq!(
        (&fields["beginn"], &fields["ende"], &fields["ort"]),
        (
            &json!("2026-12-01T09:00:00Z"),
            &json!("2026-12-01T10:30:00Z"),
            &json!("Büro 3")
        )
    );
    let ics = other.get("ek-1.ics");
    assert!(
        ics.contains("SUMMARY:Frist Berufung") && ics.contains("DTSTART:20261203T090000Z"),
        "{ics}"
    );
    assert_quiet(&hub.sync("termine"));

    // moved in the practice software: the event keeps its zone and alarm
    hub.remote("advo").update(
        &meeting,
        raw(json!({"beginn": "2026-12-01T12:00:00Z", "ende": "2026-12-01T13:00:00Z"})),
    );
    let r = hub.sync("termine");
    assert_eq!(count(&r, "pushed_update"), 1, "{:#?}", r.counters);
    let ics = other.get("meeting-1.ics");
    for want in [
        "DTSTART;TZID=Europe/Berlin:20261201T130000",
        "DTEND;TZID=Europe/Berlin:20261201T140000",
        "SEQUENCE:1",
        "TRIGGER:-PT15M",
        "X-ADVOWARE-TERMIN:T-998",
    ] {
        assert!(ics.contains(want), "{want} missing in\n{ics}");
    }
    assert_quiet(&hub.sync("termine"));

    // edited in the calendar: read through the change feed, one change
    let edited = other
        .get("ek-1.ics")
        .replace("SUMMARY:Frist Berufung", "SUMMARY:Frist Berufung (LG)");
    other.put("ek-1.ics", &edited);
    let r = hub.sync("termine");
    assert_eq!(count(&r, "changes"), 1, "{:#?}", r.counters);
    assert_eq!(
        hub.remote("advo").get(&frist).unwrap()["betreff"],
        json!("Frist Berufung (LG)")
    );
    assert_quiet(&hub.sync("termine"));

    // deleted in the calendar: deleted in the practice software
    let (status, _) = other.send("DELETE", "meeting-1.ics", "");
    assert_eq!(status, 200);
    let r = hub.sync("termine");
    assert_eq!(count(&r, "deleted"), 1, "{:#?}", r.counters);
    assert!(hub.remote("advo").get(&meeting).is_none());
    assert_quiet(&hub.sync("termine"));
}
