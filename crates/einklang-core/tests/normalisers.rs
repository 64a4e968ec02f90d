//! Snapshot of every identity normaliser over the forms real contact data
//! has: German, Slovenian, Dutch and English names (titles, umlauts,
//! accents, either order), e-mails, phones in national and international
//! forms, companies with legal forms, streets and postcodes, and the
//! placeholders that must never count as evidence. One line per input,
//! `input → output` (`—` when the value is no evidence), pinned with insta.

use einklang_core::identity::normalise::{company, email, name, person, phone, postcode, street};

fn table(rows: &[(&str, Option<String>)]) -> String {
    rows.iter()
        .map(|(input, out)| format!("{input:<40} → {}", out.as_deref().unwrap_or("—")))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn names() {
    let inputs = [
        "Dr. Jürgen Weißmüller",
        "Prof. Dr. med. Hans-Peter Groß",
        "Herr Dipl.-Ing. Thomas Schäfer",
        "Mag. Anna Novák",
        "Špela Žagar",
        "Matjaž Kovačič",
        "dhr. Jan van der Berg",
        "mevr. drs. Els de Vries-Jansen",
        "Mr. John O'Brien Jr.",
        "Ms Sarah-Jane Smith",
        "  MÜLLER  ",
        "Mueller",
        "n/a",
        "",
    ];
    let rows: Vec<(&str, Option<String>)> = inputs.iter().map(|i| (*i, name(i))).collect();
    insta::assert_snapshot!(table(&rows));
}

#[test]
fn swapped_names_give_one_key() {
    let pairs = [
        ("Anna", "Novak"),
        ("Novak", "Anna"),
        ("Jürgen", "Müller"),
        ("Mueller", "Juergen"),
    ];
    let rows: Vec<(String, Option<String>)> = pairs
        .iter()
        .map(|(f, l)| (format!("{f} / {l}"), person(f, l)))
        .collect();
    let rows: Vec<(&str, Option<String>)> =
        rows.iter().map(|(i, o)| (i.as_str(), o.clone())).collect();
    insta::assert_snapshot!(table(&rows));
}

#[test]
fn emails() {
    let inputs = [
        " Anna.Novak@Example.SI ",
        "mailto:jan@berg.nl",
        "test@test.de",
        "noreply@firma.de",
        "keine",
        "not an email",
        "a@b",
    ];
    let rows: Vec<(&str, Option<String>)> = inputs.iter().map(|i| (*i, email(i))).collect();
    insta::assert_snapshot!(table(&rows));
}

#[test]
fn phones_in_region_de() {
    let inputs = [
        "+49 30 1234567",
        "0049 30 1234567",
        "030 1234567",
        "(030) 123 45 67",
        "030/1234567",
        "+49 (0)30 1234567",
        "0171 2345678",
        "+386 41 123 456",
        "00386 1 234 56 78",
        "+31 20 123 4567",
        "+44 20 7946 0958",
        "0000000",
        "-",
    ];
    let rows: Vec<(&str, Option<String>)> = inputs.iter().map(|i| (*i, phone(i, "DE"))).collect();
    insta::assert_snapshot!(table(&rows));
}

#[test]
fn companies() {
    let inputs = [
        "Huber Bau GmbH",
        "Huber Bau GmbH & Co. KG",
        "HUBER BAU",
        "Siemens AG",
        "Start-up UG (haftungsbeschränkt)",
        "Blumen Maier e.K.",
        "Novak d.o.o.",
        "Kovač s.p.",
        "De Vries B.V.",
        "Smith & Sons Ltd",
        "Acme Inc.",
        "Widgets LLC",
    ];
    let rows: Vec<(&str, Option<String>)> = inputs.iter().map(|i| (*i, company(i))).collect();
    insta::assert_snapshot!(table(&rows));
}

#[test]
fn streets_and_postcodes() {
    let streets = [
        "Hauptstraße 12a",
        "Hauptstrasse 12 a",
        "Hauptstr. 12-A",
        "Slovenska cesta 5",
        "Keizersgracht 123",
        "221B Baker Street",
    ];
    let mut rows: Vec<(&str, Option<String>)> = streets.iter().map(|i| (*i, street(i))).collect();
    let codes = ["80331", "D-80331", "1000", "SI-1000", "1012 AB", "SW1A 1AA"];
    rows.extend(codes.iter().map(|i| (*i, postcode(i))));
    insta::assert_snapshot!(table(&rows));
}
