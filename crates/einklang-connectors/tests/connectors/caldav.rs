//! `caldav` against the real Radicale started by scripts/test: the
//! compliance kit on events, what another client's event reads as (time
//! zones, all-day, durations, recurrence), what a write-back keeps (the
//! VTIMEZONE, alarms, overrides, unknown properties) and changes (SEQUENCE
//! on a new time), the change feed, objects that are not events, and the
//! iCalendar reader on its own.

use crate::carddav::Book;
use crate::{create, update_if};
use einklang_connectors::caldav::{ical::Calendar, write};
use einklang_connectors::{ReadItem, WriteErrorKind};
use serde_json::json;

/// An event as Thunderbird writes it: its zone's definition, an alarm, a
/// weekly rule with one moved occurrence, an X- property.
pub const MEETING: &str = "BEGIN:VCALENDAR\r
PRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN\r
VERSION:2.0\r
X-WR-CALNAME:Kanzlei\r
BEGIN:VTIMEZONE\r
TZID:Europe/Berlin\r
BEGIN:DAYLIGHT\r
TZOFFSETFROM:+0100\r
TZOFFSETTO:+0200\r
TZNAME:CEST\r
DTSTART:19700329T020000\r
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r
END:DAYLIGHT\r
BEGIN:STANDARD\r
TZOFFSETFROM:+0200\r
TZOFFSETTO:+0100\r
TZNAME:CET\r
DTSTART:19701025T030000\r
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r
END:STANDARD\r
END:VTIMEZONE\r
BEGIN:VEVENT\r
UID:meeting-4711@kanzlei.example\r
DTSTAMP:20261101T080000Z\r
CREATED:20261101T080000Z\r
LAST-MODIFIED:20261101T080000Z\r
SEQUENCE:2\r
SUMMARY:Mandantengespräch\\, Akte 12/26\r
LOCATION:Büro 3\r
DESCRIPTION:Unterlagen mitbringen\r
DTSTART;TZID=Europe/Berlin:20261201T100000\r
DURATION:PT1H30M\r
RRULE:FREQ=WEEKLY;COUNT=4\r
CATEGORIES:Mandat,Intern\r
ORGANIZER;CN=Anna:mailto:anna@kanzlei.example\r
ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.org\r
X-ADVOWARE-TERMIN:T-998\r
BEGIN:VALARM\r
ACTION:DISPLAY\r
TRIGGER:-PT15M\r
DESCRIPTION:Erinnerung\r
END:VALARM\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:meeting-4711@kanzlei.example\r
RECURRENCE-ID;TZID=Europe/Berlin:20261208T100000\r
DTSTAMP:20261101T080000Z\r
DTSTART;TZID=Europe/Berlin:20261209T140000\r
DTEND;TZID=Europe/Berlin:20261209T153000\r
SUMMARY:Mandantengespräch (verschoben)\r
END:VEVENT\r
END:VCALENDAR\r
";

fn holiday(uid: &str) -> String {
    format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261101T080000Z\r\nDTSTART;VALUE=DATE:20261224\r\nDTEND;VALUE=DATE:20261227\r\nSUMMARY:Betriebsferien\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
}

fn calendar(tag: &str) -> Option<Book> {
    Book::of_kind(tag, "caldav")
}

#[test]
fn an_event_reads_as_its_master_with_times_in_its_zone() {
    let f = Calendar::parse(MEETING).unwrap().fields().unwrap();
    let expect = json!({
        "uid": "meeting-4711@kanzlei.example",
        "summary": "Mandantengespräch, Akte 12/26",
        "location": "Büro 3",
        "description": "Unterlagen mitbringen",
        "start": "2026-12-01T10:00:00+01:00",
        "end": "2026-12-01T11:30:00+01:00",
        "all_day": false,
        "timezone": "Europe/Berlin",
        "rrule": "FREQ=WEEKLY;COUNT=4",
        "categories": ["Mandat", "Intern"],
        "organizer": "anna@kanzlei.example",
        "attendees": ["bob@example.org"],
        "sequence": 2,
        "created": "2026-11-01T08:00:00Z",
        "last_modified": "2026-11-01T08:00:00Z",
    });
    assert_eq!(serde_json::Value::Object(f), expect);
    let h = Calendar::parse(&holiday("h")).unwrap().fields().unwrap();
    assert_eq!(
        (&h["start"], &h["end"], &h["all_day"]),
        (&json!("2026-12-24"), &json!("2026-12-27"), &json!(true))
    );
}

#[test]
fn what_is_not_one_event_is_named() {
    let todo =
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID:t\r\nEND:VTODO\r\nEND:VCALENDAR\r\n";
    let cut = &MEETING[..MEETING.find("END:VALARM").unwrap()];
    let two = MEETING.replace("RECURRENCE-ID;TZID=Europe/Berlin:20261208T100000\r\n", "");
    let bad_time = MEETING.replace("20261201T100000", "20261301T100000");
    for (text, reason) in [
        (todo, "a VTODO, not an event"),
        (cut, "BEGIN:VALARM is never ended"),
        (&two, "2 events in one calendar object"),
        ("BEGIN:VCARD\r\nEND:VCARD\r\n", "expected BEGIN:VCALENDAR"),
        (&bad_time, "DTSTART: `20261301T100000` is not a date-time"),
    ] {
        let err = Calendar::parse(text).and_then(|c| c.fields()).unwrap_err();
        assert!(err.contains(reason), "{err} ≠ {reason}");
    }
}

#[test]
fn write_back_keeps_what_it_does_not_own_and_bumps_sequence_on_a_new_time() {
    // a new title only: the schedule is the same, SEQUENCE stays
    let text = write::rewrite(
        MEETING,
        &crate::obj(json!({"summary": "Neu; mit Komma, ja"})),
    )
    .unwrap();
    let f = Calendar::parse(&text).unwrap().fields().unwrap();
    assert_eq!(f["summary"], json!("Neu; mit Komma, ja"));
    assert_eq!(f["sequence"], json!(2));
    for kept in [
        "X-WR-CALNAME:Kanzlei",
        "TZID:Europe/Berlin",
        "TRIGGER:-PT15M",
        "X-ADVOWARE-TERMIN:T-998",
        "RECURRENCE-ID;TZID=Europe/Berlin:20261208T100000",
        "SUMMARY:Mandantengespräch (verschoben)",
        "DURATION:PT1H30M",
        "ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.org",
    ] {
        assert!(text.contains(kept), "{kept} missing in\n{text}");
    }
    assert!(!text.contains("DTSTAMP:20261101T080000Z\r\nDTSTART;TZID=Europe/Berlin:20261201"));
    // a new start (as a hub datetime field holds it, in UTC): written in
    // the event's own zone, DURATION becomes DTEND, SEQUENCE + 1
    let moved = crate::obj(json!({"start": "2026-12-01T13:00:00Z", "end": "2026-12-01T14:00:00Z"}));
    let text = write::rewrite(MEETING, &moved).unwrap();
    assert!(
        text.contains("DTSTART;TZID=Europe/Berlin:20261201T140000\r\n"),
        "{text}"
    );
    assert!(
        text.contains("DTEND;TZID=Europe/Berlin:20261201T150000\r\n"),
        "{text}"
    );
    let f = Calendar::parse(&text).unwrap().fields().unwrap();
    assert_eq!(
        (&f["start"], &f["sequence"]),
        (&json!("2026-12-01T14:00:00+01:00"), &json!(3))
    );
    assert!(!text.contains("DURATION:PT1H30M\r\nRRULE"));
    // the alarm's DESCRIPTION is not the event's
    let text = write::rewrite(MEETING, &crate::obj(json!({"description": null}))).unwrap();
    assert!(
        text.contains("DESCRIPTION:Erinnerung") && !text.contains("Unterlagen"),
        "{text}"
    );
    // an all-day event through a hub datetime field stays all-day
    let text = write::rewrite(
        &holiday("h"),
        &crate::obj(json!({"start": "2026-12-23T00:00:00Z"})),
    )
    .unwrap();
    assert!(
        text.contains("DTSTART;VALUE=DATE:20261223\r\n")
            && text.contains("DTEND;VALUE=DATE:20261227\r\n"),
        "{text}"
    );
    // what cannot be written is a reason, not a broken event
    for (fields, reason) in [
        (json!({"start": null}), "`start` cannot be emptied"),
        (json!({"start": "bald"}), "`start`: `bald` is not a date"),
        (
            json!({"end": "2026-12-20"}),
            "`end` 2026-12-20 is before `start` 2026-12-24",
        ),
    ] {
        let err = write::rewrite(&holiday("h"), &crate::obj(fields)).unwrap_err();
        assert!(err.contains(reason), "{err}");
    }
    // an end follows its start: the end of an all-day event is a date
    let end = crate::obj(json!({"end": "2026-12-28T10:00:00Z"}));
    let text = write::rewrite(&holiday("h"), &end).unwrap();
    assert!(text.contains("DTEND;VALUE=DATE:20261228\r\n"), "{text}");
    assert!(write::create("ek-1", &crate::obj(json!({"summary": "x"})))
        .unwrap_err()
        .contains("needs a `start`"));
}

#[test]
fn kit_caldav() {
    let Some(cal) = calendar("kit-cal") else {
        return;
    };
    cal.put("bestand.ics", &holiday("bestand"));
    let mut c = cal.connector();
    let shape = crate::kit::Shape {
        names: ["summary", "description", "location"],
        required: json!({"start": "2026-12-02T09:00:00Z", "end": "2026-12-02T10:00:00Z"}),
        ..crate::kit::Shape::default()
    };
    crate::kit::run_with(c.as_mut(), "href", shape);
    let caps = c.capabilities();
    assert!(caps.change_feed && caps.list_versions && caps.conditional_writes);
    let writable = caps.writable.unwrap();
    assert!(
        writable.contains(&"start".to_string()) && !writable.contains(&"attendees".to_string())
    );
}

#[test]
fn caldav_round_trip_through_radicale_keeps_zone_alarm_and_override() {
    let Some(cal) = calendar("keep-cal") else {
        return;
    };
    cal.put("meeting.ics", MEETING);
    let mut c = cal.connector();
    let read = crate::read_all(c.as_mut()).0;
    assert_eq!(read.len(), 1);
    let r = &read[0];
    assert_eq!(r.fields["href"], json!("meeting.ics"));
    assert_eq!(r.fields["start"], json!("2026-12-01T10:00:00+01:00"));
    let op = update_if(
        "meeting.ics",
        json!({"start": "2026-12-01T08:00:00Z", "end": "2026-12-01T09:00:00Z"}),
        r.version.clone(),
    );
    let outcome = c.write("href", &[op]).unwrap().remove(0).unwrap();
    let (status, etag, text) = cal.request("GET", "meeting.ics", &[], "");
    assert_eq!((status, etag), (200, outcome.version.clone()));
    let f = Calendar::parse(&text).unwrap().fields().unwrap();
    assert_eq!(
        (&f["start"], &f["end"], &f["sequence"]),
        (
            &json!("2026-12-01T09:00:00+01:00"),
            &json!("2026-12-01T10:00:00+01:00"),
            &json!(3)
        )
    );
    for kept in [
        "TRIGGER:-PT15M",
        "X-ADVOWARE-TERMIN:T-998",
        "RECURRENCE-ID",
        "BEGIN:VTIMEZONE",
    ] {
        assert!(text.contains(kept), "{kept} missing in\n{text}");
    }
    // a stale ETag is a conflict, and nothing is written
    let stale = update_if(
        "meeting.ics",
        json!({"summary": "stale"}),
        r.version.clone(),
    );
    let err = c.write("href", &[stale]).unwrap().remove(0).unwrap_err();
    assert_eq!(err.kind, WriteErrorKind::Conflict);
    assert!(!cal
        .request("GET", "meeting.ics", &[], "")
        .2
        .contains("stale"));
}

#[test]
fn caldav_feed_reports_other_clients_and_quarantines_a_todo() {
    let Some(cal) = calendar("feed-cal") else {
        return;
    };
    cal.put("h.ics", &holiday("h"));
    let mut c = cal.connector();
    let cursor = c.cursor().unwrap();
    cal.put("m.ics", MEETING);
    let todo = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nBEGIN:VTODO\r\nUID:todo-1\r\nDTSTAMP:20261101T080000Z\r\nSUMMARY:Akten\r\nEND:VTODO\r\nEND:VCALENDAR\r\n";
    cal.put("todo.ics", todo);
    let feed = c.changes(&cursor).unwrap().unwrap();
    let mut ids: Vec<String> = feed.changed.iter().map(|l| l.id.clone()).collect();
    ids.sort();
    assert_eq!(ids, ["m.ics", "todo.ics"]);
    let items = c.fetch(&ids).unwrap();
    let (mut records, mut rejects) = (vec![], vec![]);
    for item in items {
        match item {
            ReadItem::Record(r) => records.push(r.fields["uid"].clone()),
            ReadItem::Reject(r) | ReadItem::Broken(r) => {
                rejects.push(format!("{}: {}", r.position, r.reason))
            }
        }
    }
    assert_eq!(records, [json!("meeting-4711@kanzlei.example")]);
    assert_eq!(rejects.len(), 1);
    assert!(
        rejects[0].contains("todo.ics") && rejects[0].contains("a VTODO, not an event"),
        "{rejects:?}"
    );
    // a new event from einklang, found again by its marker
    let made = c
        .write(
            "href",
            &[create(
                "ek-3",
                json!({"summary": "Frist", "start": "2026-12-24", "all_day": true}),
            )],
        )
        .unwrap()
        .remove(0)
        .unwrap();
    assert_eq!(made.id, "ek-3.ics");
    let (_, _, text) = cal.request("GET", "ek-3.ics", &[], "");
    assert!(
        text.contains("UID:ek-3\r\n") && text.contains("DTSTART;VALUE=DATE:20261224"),
        "{text}"
    );
    assert_eq!(
        c.find_created("href", "ek-3")
            .unwrap()
            .found()
            .map(|o| o.id),
        Some("ek-3.ics".into())
    );
}
