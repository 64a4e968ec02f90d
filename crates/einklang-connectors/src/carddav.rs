//! `carddav`: an address book on a CardDAV server (Radicale, Xandikos,
//! Nextcloud, iCloud…) as a two-way peer. The protocol is shared with
//! `caldav` in [`crate::dav`]; this module says what a card is.
//!
//! A record has the raw fields of the `vcard` folder kind (`fn`,
//! `n.given`, `email`, `tel`, `adr`, …) plus `href`, the card's name in
//! the address book. vCard 3.0 and 4.0 are read; a card written back keeps
//! its version and every line whose value did not change, byte for byte
//! (see `file::vcard::parse::update`); a new card is
//! 3.0 with the marker as UID. `einklang connector install NAME` makes the
//! address book (an extended `MKCOL`) when it does not exist.

use crate::dav::collection::{Collection, ItemFormat};
use crate::file::vcard::parse;
use crate::RawFields;

pub use crate::dav::collection::KEY;

/// The `carddav` connector.
pub type CardDav = Collection<Cards>;

/// vCards in an address book.
pub struct Cards;

impl ItemFormat for Cards {
    const KIND: &'static str = "carddav";
    const ITEM: &'static str = "card";
    const COLLECTION: &'static str = "address book";
    const RESOURCE_TYPE: &'static str = "addressbook";
    const EXT: &'static str = ".vcf";
    const MEDIA: &'static str = "text/vcard; charset=utf-8";
    const MULTIGET: &'static str = "C:addressbook-multiget";
    const DATA: &'static str = "C:address-data";
    const NS: &'static str = "urn:ietf:params:xml:ns:carddav";
    const HOME_SET: &'static str = "addressbook-home-set";

    fn make_collection() -> (&'static str, String) {
        let body = r#"<?xml version="1.0" encoding="utf-8"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>"#;
        ("MKCOL", body.into())
    }

    fn read(text: &str) -> Result<RawFields, String> {
        let lines = parse::lines(text).map_err(|e| format!("not a vCard: {e}"))?;
        let begins = lines
            .first()
            .is_some_and(|l| l.name == "BEGIN" && l.value.eq_ignore_ascii_case("VCARD"));
        let ends = lines.last().is_some_and(|l| l.name == "END");
        if !begins || !ends {
            return Err("not a vCard: expected BEGIN:VCARD … END:VCARD".into());
        }
        Ok(parse::fields(&lines))
    }

    fn create(uid: &str, fields: &RawFields) -> Result<String, String> {
        Ok(parse::render(uid, fields))
    }

    fn rewrite(text: &str, fields: &RawFields) -> Result<String, String> {
        let lines = parse::lines(text)?;
        let uid = Self::uid(text).ok_or("the card on the server has no UID")?;
        Ok(parse::rewrite(lines, &uid, fields))
    }

    fn uid(text: &str) -> Option<String> {
        let lines = parse::lines(text).ok()?;
        let uid = lines.into_iter().find(|l| l.name == "UID")?;
        Some(parse::unescape(&uid.value))
    }

    fn writable() -> Option<Vec<String>> {
        None
    }
}
