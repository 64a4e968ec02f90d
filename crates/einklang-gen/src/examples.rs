//! The quickstart's example data: a German CRM export (CSV), a newsletter
//! dump (JSONL) and a phone book (vdir of vCards), with the same people
//! appearing in several sources and eight deliberately bad records (three
//! CSV rows, three JSONL lines, two vCards).

use crate::people::{ascii, epoch, iso_date, iso_datetime, write_phone, Country, Person};
use crate::rng::Rng;
use anyhow::Context;
use serde_json::json;
use std::path::Path;

/// People in the CRM export.
pub const CRM_ROWS: usize = 1500;
/// Lines in the newsletter dump.
pub const NEWSLETTER_LINES: usize = 900;
/// Cards in the phone book.
pub const PHONEBOOK_CARDS: usize = 600;

/// Write all three sources into `dir`.
pub fn write(dir: &Path, seed: u64) -> anyhow::Result<()> {
    let mut rng = Rng::new(seed);
    let crm: Vec<Person> = (0..CRM_ROWS).map(|_| Person::random(&mut rng)).collect();
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join("crm.csv"), crm_csv(&mut rng, &crm)?)?;
    std::fs::write(dir.join("newsletter.jsonl"), newsletter(&mut rng, &crm))?;
    let book = dir.join("phonebook");
    if book.exists() {
        std::fs::remove_dir_all(&book)?;
    }
    std::fs::create_dir_all(&book)?;
    for (name, card) in phonebook(&mut rng, &crm) {
        std::fs::write(book.join(name), card)?;
    }
    Ok(())
}

/// The CRM export: `;`-separated, German headers, German date formats.
pub fn crm_csv(rng: &mut Rng, people: &[Person]) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .flexible(true)
        .from_writer(Vec::new());
    w.write_record([
        "Kundennummer",
        "Anrede",
        "Vorname",
        "Nachname",
        "Firma",
        "E-Mail",
        "Telefon",
        "Mobil",
        "Straße",
        "PLZ",
        "Ort",
        "Geburtstag",
        "Angelegt am",
        "Status",
    ])?;
    for (i, p) in people.iter().enumerate() {
        let mut email = p.email.clone();
        if rng.chance(20) {
            email = capitalise_local(&email); // people type Anna.Novak@…
        }
        if i == 200 {
            email = email.replace('@', "(at)"); // bad: not an email
        }
        let status = *rng.pick(&[
            "Interessent",
            "Kunde",
            "Kunde",
            "Kunde",
            "Inaktiv",
            "Interessent",
            "Gelöscht",
        ]);
        let mobile = p
            .mobile
            .as_ref()
            .map(|m| write_phone(rng, m))
            .unwrap_or_default();
        let mut row: Vec<Vec<u8>> = [
            format!("K-{}", 10_000 + i),
            if p.female { "Frau" } else { "Herr" }.to_string(),
            p.first.clone(),
            p.last.clone(),
            p.company.clone(),
            email,
            write_phone(rng, &p.phone),
            mobile,
            p.street.clone(),
            p.postcode.to_string(),
            p.city.to_string(),
            p.birthday
                .map(|(y, m, d)| format!("{d:02}.{m:02}.{y}"))
                .unwrap_or_default(),
            iso_datetime(p.created),
            status.to_string(),
        ]
        .into_iter()
        .map(String::into_bytes)
        .collect();
        if i == 100 {
            row.push(b"Notiz ohne Spalte".to_vec()); // bad: one field too many
        }
        if i == 300 {
            row[2] = b"Ren\xe9".to_vec(); // bad: Latin-1, not UTF-8
        }
        w.write_record(&row)?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

fn capitalise_local(email: &str) -> String {
    email
        .split('.')
        .map(|part| {
            let mut c = part.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        })
        .collect::<Vec<String>>()
        .join(".")
}

/// The newsletter dump: 40% are CRM people (by email, in another case).
pub fn newsletter(rng: &mut Rng, crm: &[Person]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut last_id = String::new();
    for i in 0..NEWSLETTER_LINES {
        let p = if rng.chance(40) {
            crm[rng.below(crm.len() as u64) as usize].clone()
        } else {
            Person::random(rng)
        };
        let email = if rng.chance(30) {
            p.email.to_uppercase()
        } else {
            p.email.clone()
        };
        let name = if rng.chance(15) {
            format!("{}, {}", p.last, p.first)
        } else {
            p.full_name()
        };
        let lang = match p.country {
            Country::De => "de",
            Country::Gb => "en",
            Country::Si => "sl",
        };
        let mut id = format!("nl-{:05}", i + 1);
        if i == 200 {
            id = last_id.clone(); // bad: the same id twice in one dump
        }
        let mut line = json!({"id": id, "email": email, "name": name, "subscribed_at": epoch(p.created) + 86_400 * 30, "lang": lang});
        if i == 120 {
            line.as_object_mut().map(|o| o.remove("id")); // bad: no id
        }
        let mut text = line.to_string();
        if i == 50 {
            text.truncate(text.len() / 2); // bad: cut-off JSON
        }
        out.extend(text.as_bytes());
        out.push(b'\n');
        last_id = id;
    }
    out
}

/// The phone book: (file name, card) pairs; 30% are CRM people.
pub fn phonebook(rng: &mut Rng, crm: &[Person]) -> Vec<(String, String)> {
    let mut cards = Vec::new();
    for i in 0..PHONEBOOK_CARDS {
        let p = if rng.chance(30) {
            crm[rng.below(crm.len() as u64) as usize].clone()
        } else {
            Person::random(rng)
        };
        let uid = format!(
            "{:08x}-{:04x}-pb-{i}",
            rng.next_u64() as u32,
            rng.below(0xffff)
        );
        let mut lines = vec![
            "BEGIN:VCARD".to_string(),
            "VERSION:3.0".into(),
            format!("UID:{uid}"),
            format!("FN:{}", p.full_name()),
            format!("N:{};{};;;", p.last, p.first),
            format!("EMAIL;TYPE=INTERNET,HOME:{}", p.email),
        ];
        if rng.chance(25) {
            lines.push(format!(
                "EMAIL;TYPE=INTERNET,WORK:{}@example.{}",
                ascii(&p.last),
                p.country.code().to_lowercase()
            ));
        }
        lines.push(format!(
            "TEL;TYPE=WORK,VOICE:{}",
            write_phone(rng, &p.phone)
        ));
        if let Some(m) = &p.mobile {
            lines.push(format!("TEL;TYPE=CELL:{}", write_phone(rng, m)));
        }
        lines.push(format!(
            "ADR;TYPE=HOME:;;{};{};;{};{}",
            p.street,
            p.city,
            p.postcode,
            p.country.code()
        ));
        if !p.company.is_empty() {
            lines.push(format!("ORG:{}", p.company));
        }
        if let Some(b) = p.birthday {
            lines.push(format!("BDAY:{}", iso_date(b)));
        }
        if rng.chance(20) {
            lines.push(format!("NOTE:Kennengelernt auf der Messe in {}\\, Rückruf erbeten. Bevorzugt Kontakt per E-Mail\\; nicht vor 9 Uhr anrufen.", p.city));
        }
        if i == 42 {
            lines.push(format!("NOTE:{}", "Sehr lange Notiz. ".repeat(300))); // bad: over max_field_bytes
        }
        lines.push(format!("X-ABUID:{uid}:ABPerson"));
        lines.push("END:VCARD".into());
        let mut card = String::new();
        for l in &lines {
            fold(&mut card, l);
        }
        if i == 77 {
            card = card.replacen("BEGIN:VCARD\r\n", "", 1); // bad: not a vCard
        }
        cards.push((format!("{uid}.vcf"), card));
    }
    cards
}

/// Append a content line folded at 75 octets, CRLF-terminated.
fn fold(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}
