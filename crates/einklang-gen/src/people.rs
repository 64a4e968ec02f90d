//! Synthetic people: German, English and Slovenian names, companies,
//! addresses, phone numbers (valid for their country, written in the ways
//! people write them) and dates.

use crate::rng::Rng;

/// Where a person lives; decides names, cities and phone formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Country {
    /// Germany.
    De,
    /// United Kingdom.
    Gb,
    /// Slovenia.
    Si,
}

impl Country {
    /// ISO 3166 alpha-2.
    pub fn code(self) -> &'static str {
        match self {
            Country::De => "DE",
            Country::Gb => "GB",
            Country::Si => "SI",
        }
    }
}

const DE_FIRST_M: &[&str] = &[
    "Jürgen",
    "Thomas",
    "Michael",
    "Andreas",
    "Stefan",
    "Lukas",
    "Jörg",
    "Maximilian",
    "Björn",
    "Klaus",
    "Tobias",
    "Matthias",
];
const DE_FIRST_F: &[&str] = &[
    "Anna",
    "Julia",
    "Sabine",
    "Katharina",
    "Jördis",
    "Lena",
    "Ursula",
    "Sophie",
    "Bärbel",
    "Claudia",
    "Miriam",
    "Franziska",
];
const DE_LAST: &[&str] = &[
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weiß",
    "Köhler",
    "Groß",
    "Schäfer",
    "Hoffmann",
    "Wagner",
    "Becker",
    "Krüger",
    "Weißmüller",
    "von Bülow",
    "Zimmermann",
    "Braun",
];
const GB_FIRST_M: &[&str] = &[
    "James", "Oliver", "Harry", "George", "William", "Jack", "Thomas", "Daniel",
];
const GB_FIRST_F: &[&str] = &[
    "Olivia",
    "Emily",
    "Charlotte",
    "Amelia",
    "Sophie",
    "Grace",
    "Jessica",
    "Hannah",
];
const GB_LAST: &[&str] = &[
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "O'Brien",
    "Evans", "Thompson", "Wright",
];
const SI_FIRST_M: &[&str] = &[
    "Luka", "Matej", "Žiga", "Jure", "Blaž", "Nejc", "Rok", "Tomaž",
];
const SI_FIRST_F: &[&str] = &[
    "Ana", "Maja", "Nika", "Špela", "Urška", "Mojca", "Petra", "Tjaša",
];
const SI_LAST: &[&str] = &[
    "Novak",
    "Horvat",
    "Krajnc",
    "Kovačič",
    "Zupančič",
    "Potočnik",
    "Kos",
    "Golob",
    "Vidmar",
    "Mlakar",
    "Turk",
    "Žagar",
];

const DE_CITIES: &[(&str, &str, &str)] = &[
    ("10115", "Berlin", "30"),
    ("80331", "München", "89"),
    ("20095", "Hamburg", "40"),
    ("50667", "Köln", "221"),
    ("60311", "Frankfurt am Main", "69"),
    ("70173", "Stuttgart", "711"),
    ("04109", "Leipzig", "341"),
];
const GB_CITIES: &[(&str, &str, &str)] = &[
    ("SW1A 1AA", "London", "20"),
    ("M1 1AE", "Manchester", "161"),
    ("EH1 1YZ", "Edinburgh", "131"),
    ("B1 1BB", "Birmingham", "121"),
];
const SI_CITIES: &[(&str, &str, &str)] = &[
    ("1000", "Ljubljana", "1"),
    ("2000", "Maribor", "2"),
    ("4000", "Kranj", "4"),
    ("6000", "Koper", "5"),
];
const DE_STREETS: &[&str] = &[
    "Hauptstraße",
    "Bahnhofstraße",
    "Gartenweg",
    "Schillerstraße",
    "Goethestraße",
    "Am Mühlbach",
    "Lindenallee",
    "Kirchplatz",
];
const GB_STREETS: &[&str] = &[
    "High Street",
    "Station Road",
    "Church Lane",
    "Victoria Road",
    "Green Lane",
    "Mill Road",
];
const SI_STREETS: &[&str] = &[
    "Slovenska cesta",
    "Trubarjeva ulica",
    "Prešernova cesta",
    "Celovška cesta",
    "Čopova ulica",
    "Tržaška cesta",
];
const COMPANY_STEMS: &[&str] = &[
    "Nordlicht",
    "Alpenblick",
    "Kranjska",
    "Brightwater",
    "Sonnenhof",
    "Lipa",
    "Riverside",
    "Weinberg",
    "Triglav",
    "Oakridge",
];
const MAIL_HOSTS: &[&str] = &[
    "gmail.com",
    "web.de",
    "gmx.de",
    "outlook.com",
    "siol.net",
    "t-online.de",
    "yahoo.co.uk",
    "posteo.de",
];

/// One synthetic person.
#[derive(Clone, Debug)]
pub struct Person {
    /// Country of residence.
    pub country: Country,
    /// `Herr`/`Frau` or empty.
    pub female: bool,
    /// Given name.
    pub first: String,
    /// Family name.
    pub last: String,
    /// Employer, often empty.
    pub company: String,
    /// Lower-case email address.
    pub email: String,
    /// Landline: country calling code, area code, subscriber number.
    pub phone: (&'static str, &'static str, String),
    /// Mobile, when known (same shape).
    pub mobile: Option<(&'static str, &'static str, String)>,
    /// Street and number.
    pub street: String,
    /// Postcode.
    pub postcode: &'static str,
    /// City.
    pub city: &'static str,
    /// Birthday (y, m, d), when known.
    pub birthday: Option<(u64, u64, u64)>,
    /// Created in the CRM: (y, m, d, h, min, s).
    pub created: (u64, u64, u64, u64, u64, u64),
}

/// ASCII for an email local part: ä → ae, č → c, spaces and apostrophes dropped.
pub fn ascii(s: &str) -> String {
    let mut out = String::new();
    for c in s.to_lowercase().chars() {
        match c {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            'č' | 'ć' => out.push('c'),
            'š' => out.push('s'),
            'ž' => out.push('z'),
            'é' | 'è' => out.push('e'),
            c if c.is_ascii_alphanumeric() || c == '-' => out.push(c),
            _ => {}
        }
    }
    out
}

impl Person {
    /// A random person.
    pub fn random(rng: &mut Rng) -> Person {
        let country = match rng.below(10) {
            0..=5 => Country::De,
            6..=7 => Country::Si,
            _ => Country::Gb,
        };
        let female = rng.chance(50);
        let (first, last, cities, streets, cc) = match country {
            Country::De => (
                if female { DE_FIRST_F } else { DE_FIRST_M },
                DE_LAST,
                DE_CITIES,
                DE_STREETS,
                "49",
            ),
            Country::Gb => (
                if female { GB_FIRST_F } else { GB_FIRST_M },
                GB_LAST,
                GB_CITIES,
                GB_STREETS,
                "44",
            ),
            Country::Si => (
                if female { SI_FIRST_F } else { SI_FIRST_M },
                SI_LAST,
                SI_CITIES,
                SI_STREETS,
                "386",
            ),
        };
        let (first, last) = (rng.pick(first).to_string(), rng.pick(last).to_string());
        let &(postcode, city, area) = rng.pick(cities);
        let company = if rng.chance(35) {
            let suffix = match country {
                Country::De => "GmbH",
                Country::Gb => "Ltd",
                Country::Si => "d.o.o.",
            };
            format!("{} {}", rng.pick(COMPANY_STEMS), suffix)
        } else {
            String::new()
        };
        let host = if company.is_empty() {
            rng.pick(MAIL_HOSTS).to_string()
        } else {
            format!(
                "{}.{}",
                ascii(company.split(' ').next().unwrap_or("firma")),
                country.code().to_lowercase().replace("gb", "co.uk")
            )
        };
        let email = format!(
            "{}.{}{}@{host}",
            ascii(&first),
            ascii(&last),
            rng.below(100)
        );
        let phone = (cc, area, landline_digits(rng, country, area));
        let mobile = rng.chance(60).then(|| mobile(rng, country));
        let street = format!("{} {}", rng.pick(streets), rng.range(1, 120));
        let birthday = rng
            .chance(70)
            .then(|| (rng.range(1950, 2004), rng.range(1, 12), rng.range(1, 28)));
        let created = (
            rng.range(2019, 2025),
            rng.range(1, 12),
            rng.range(1, 28),
            rng.range(7, 19),
            rng.below(60),
            rng.below(60),
        );
        Person {
            country,
            female,
            first,
            last,
            company,
            email,
            phone,
            mobile,
            street,
            postcode,
            city,
            birthday,
            created,
        }
    }

    /// "First Last".
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first, self.last)
    }
}

fn landline_digits(rng: &mut Rng, country: Country, area: &str) -> String {
    match country {
        Country::De => rng
            .digits(if area.len() == 2 { 7 } else { 6 })
            .replacen('0', "1", 1),
        Country::Gb => format!("7{}", rng.digits(if area.len() == 2 { 7 } else { 6 })),
        Country::Si => format!("{}{}", rng.range(2, 5), rng.digits(6)),
    }
}

fn mobile(rng: &mut Rng, country: Country) -> (&'static str, &'static str, String) {
    match country {
        Country::De => (
            "49",
            *rng.pick(&["151", "160", "170", "171", "176"]),
            format!("{}{}", rng.range(2, 9), rng.digits(7)),
        ),
        Country::Gb => ("44", *rng.pick(&["7912", "7400", "7723"]), rng.digits(6)),
        Country::Si => (
            "386",
            *rng.pick(&["31", "41", "51", "40"]),
            format!("{}{}", rng.range(2, 9), rng.digits(5)),
        ),
    }
}

/// A phone number written one of the ways people write it. German numbers
/// also appear in national formats; others always carry their country code.
pub fn write_phone(rng: &mut Rng, (cc, area, number): &(&str, &str, String)) -> String {
    let (head, tail) = number.split_at(3);
    if *cc != "49" {
        return match rng.below(3) {
            0 => format!("+{cc} {area} {number}"),
            1 => format!("+{cc}{area}{number}"),
            _ => format!("00{cc} {area} {head} {tail}"),
        };
    }
    match rng.below(6) {
        0 => format!("0{area} {number}"),
        1 => format!("0{area}/{number}"),
        2 => format!("+49 {area} {number}"),
        3 => format!("0049 {area} {number}"),
        4 => format!("(0{area}) {head} {tail}"),
        _ => format!("+49 ({area}) {head}-{tail}"),
    }
}

/// `YYYY-MM-DD`.
pub fn iso_date((y, m, d): (u64, u64, u64)) -> String {
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD HH:MM:SS`.
pub fn iso_datetime((y, mo, d, h, mi, s): (u64, u64, u64, u64, u64, u64)) -> String {
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

/// Seconds since 1970 of a UTC date-time (proleptic Gregorian; days from civil).
pub fn epoch((y, mo, d, h, mi, s): (u64, u64, u64, u64, u64, u64)) -> i64 {
    let (y, mo, d) = (y as i64, mo as i64, d as i64);
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + (h * 3600 + mi * 60 + s) as i64
}
