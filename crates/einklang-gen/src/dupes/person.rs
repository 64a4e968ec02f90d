//! The people and companies of the `dupes` generator. A company is a pure
//! function of the seed, its number and the knobs, so its employees,
//! generated far apart in the stream, share its name, address, mail
//! domain, switchboard and general address without the generator
//! remembering anything. Households (with the `households` knob) are
//! made with their first member and share a family address, a landline
//! or both.

use super::pools::Country;
use super::{maybe, names, Knobs};
use crate::people::ascii;
use crate::rng::Rng;

const MAIL_HOSTS: &[&str] = &[
    "gmail.com",
    "web.de",
    "gmx.de",
    "outlook.com",
    "siol.net",
    "t-online.de",
    "yahoo.co.uk",
    "posteo.de",
    "icloud.com",
    "gmx.net",
];

/// A phone number: country calling code, area code, subscriber number.
pub type Phone = (&'static str, &'static str, String);

/// An address.
#[derive(Clone, Debug)]
pub struct Address {
    /// Street and number.
    pub street: String,
    /// Postcode.
    pub postcode: String,
    /// City.
    pub city: &'static str,
}

/// One company.
#[derive(Clone, Debug)]
pub struct Company {
    /// Name with legal form.
    pub name: String,
    /// Where its people work.
    pub address: Address,
    /// Mail domain.
    pub domain: String,
    /// The switchboard: the number without its extension.
    pub switchboard: Phone,
    /// Digits of an extension: 2, at a large company 3.
    extension: usize,
    /// The general address (`info@…`, `kontakt@…`).
    pub general: String,
    /// Percent of its people recorded under the general address (and
    /// half as many under the main line): 0 unless the company is one
    /// of the `general_companies`.
    pub general_share: u64,
    country: Country,
}

impl Company {
    /// Company number `id` of the stream `seed`; a `large` one has
    /// three-digit extensions.
    pub fn nth(seed: u64, id: u64, large: bool, knobs: &Knobs) -> Company {
        let mut rng = Rng::new(seed ^ (id + 1).wrapping_mul(0xa24b_aed4_963e_e407));
        let country = Country::random(&mut rng);
        let name = country.company(&mut rng);
        let (city, postcode, area) = country.place(&mut rng);
        let street = country.street(&mut rng);
        let words: Vec<String> = name.split(' ').take(2).map(ascii).collect();
        let domain = format!("{}.{}", words.join("-"), country.tld());
        let number = landline(&mut rng, country, area, knobs.valid_ranges > 0);
        let extension = if large { 3 } else { 2 };
        let switchboard = (
            country.calling_code(),
            area,
            number[..number.len() - extension].to_string(),
        );
        // drawn after everything the classic preset draws
        let general = format!("{}@{domain}", rng.pick(general_locals(country)));
        let general_share = match maybe(&mut rng, knobs.general_companies) {
            true => rng.range(40, 90),
            false => 0,
        };
        Company {
            name,
            address: Address {
                street,
                postcode,
                city,
            },
            domain,
            switchboard,
            extension,
            general,
            general_share,
            country,
        }
    }

    /// The main line: the switchboard's `-0` in Germany, an extension of
    /// zeros elsewhere (where numbers have one length).
    pub fn main_line(&self) -> Phone {
        let (cc, area, prefix) = &self.switchboard;
        let zeros = if self.country == Country::De {
            1
        } else {
            self.extension
        };
        (cc, area, format!("{prefix}{}", "0".repeat(zeros)))
    }

    /// A direct line on the switchboard.
    fn direct_line(&self, rng: &mut Rng) -> Phone {
        let (cc, area, prefix) = &self.switchboard;
        let w = self.extension;
        let ext = rng.below(10u64.pow(w as u32));
        (cc, area, format!("{prefix}{ext:0w$}"))
    }
}

/// Local parts of a company's general address.
fn general_locals(country: Country) -> &'static [&'static str] {
    match country {
        Country::De => &["info", "kontakt", "office", "post", "mail"],
        Country::Gb => &["info", "office", "enquiries", "hello", "admin"],
        Country::Si => &["info", "pisarna", "tajnistvo", "info"],
    }
}

/// One person as a source system first records them.
#[derive(Clone, Debug)]
pub struct Person {
    /// Given name.
    pub first: String,
    /// Family name.
    pub last: String,
    /// E-mail address (lower case).
    pub email: String,
    /// A private address, when the person has one besides work.
    pub private_email: String,
    /// Phone.
    pub phone: Phone,
    /// Employer with legal form, or empty.
    pub company: String,
    /// Where they are reached.
    pub address: Address,
    /// Birthday, when known.
    pub birthday: Option<(u64, u64, u64)>,
    /// Where they live.
    pub country: Country,
    /// The landline area code of their address.
    pub area: &'static str,
}

impl Person {
    /// A private contact; `n` makes their mail address their own.
    pub fn private(rng: &mut Rng, n: u64, knobs: &Knobs) -> Person {
        let country = Country::random(rng);
        let (first, last) = draw_names(rng, country, knobs);
        let (city, postcode, area) = country.place(rng);
        let phone = match rng.chance(50) {
            true => (
                country.calling_code(),
                area,
                landline(rng, country, area, knobs.valid_ranges > 0),
            ),
            false => mobile(rng, country),
        };
        let email = private_email(rng, &first, &last, n);
        Person {
            private_email: email.clone(),
            email,
            first,
            last,
            phone,
            company: String::new(),
            address: Address {
                street: country.street(rng),
                postcode,
                city,
            },
            birthday: birthday(rng),
            country,
            area,
        }
    }

    /// An employee of `company`: its address, its domain, a direct line
    /// on its switchboard; at a company that records its people under
    /// its general address, that address (and sometimes the main line)
    /// instead.
    pub fn employee(rng: &mut Rng, company: &Company, n: u64, knobs: &Knobs) -> Person {
        let (first, last) = draw_names(rng, company.country, knobs);
        let phone = company.direct_line(rng);
        let area = phone.1;
        let mut p = Person {
            email: format!("{}.{}@{}", ascii(&first), ascii(&last), company.domain),
            private_email: private_email(rng, &first, &last, n),
            first,
            last,
            phone,
            company: company.name.clone(),
            address: company.address.clone(),
            birthday: birthday(rng),
            country: company.country,
            area,
        };
        if maybe(rng, company.general_share) {
            p.email = company.general.clone();
        }
        if maybe(rng, company.general_share / 2) {
            p.phone = company.main_line();
        }
        p
    }

    /// Someone living with `p`: the family name, address and landline,
    /// a first name and mail address of their own.
    pub fn housemate(rng: &mut Rng, p: &Person, n: u64) -> Person {
        let country = p.country;
        let female = rng.chance(50);
        let first = country.first_name(rng, female);
        Person {
            email: private_email(rng, &first, &p.last, n),
            private_email: String::new(),
            first,
            last: p.last.clone(),
            phone: p.phone.clone(),
            company: String::new(),
            address: p.address.clone(),
            birthday: birthday(rng),
            country,
            area: p.area,
        }
    }

    /// Whether their phone is the landline of their address.
    pub fn has_landline(&self) -> bool {
        self.phone.1 == self.area
    }
}

/// What the people of one household share: a family mail address, a
/// landline or both (never neither).
pub struct Household {
    /// How many live with the first member: 1–4, mostly 1.
    pub others: u64,
    /// The family address (`jansen17@outlook.com`), if they have one.
    email: Option<String>,
    /// The landline, if they have one.
    landline: Option<Phone>,
}

/// Percent of a household's people recorded under its family address or
/// its landline (the others under their own address or mobile).
const FAMILY_SHARE: u64 = 75;

impl Household {
    /// The household of `head` (a private contact, cluster `n`), who now
    /// carries its address or landline.
    pub fn new(rng: &mut Rng, head: &mut Person, n: u64, knobs: &Knobs) -> Household {
        let others = match rng.below(20) {
            0..=11 => 1,
            12..=16 => 2,
            17..=18 => 3,
            _ => 4,
        };
        let mut email = rng
            .chance(60)
            .then(|| family_email(rng, head.country, &head.last, n));
        let landline = match head.has_landline() {
            true => rng.chance(85).then(|| head.phone.clone()),
            false => rng.chance(40).then(|| {
                let cc = head.country.calling_code();
                let number = landline(rng, head.country, head.area, knobs.valid_ranges > 0);
                (cc, head.area, number)
            }),
        };
        if email.is_none() && landline.is_none() {
            email = Some(family_email(rng, head.country, &head.last, n));
        }
        let h = Household {
            others,
            email,
            landline,
        };
        h.share(rng, head);
        h
    }

    /// Another member of the household, cluster `n`: mostly the family
    /// name, always the address.
    pub fn member(&self, rng: &mut Rng, head: &Person, n: u64, knobs: &Knobs) -> Person {
        let (first, own_last) = draw_names(rng, head.country, knobs);
        let last = match rng.chance(85) {
            true => head.last.clone(),
            false => own_last,
        };
        let mut p = Person {
            email: private_email(rng, &first, &last, n),
            private_email: String::new(),
            first,
            last,
            phone: mobile(rng, head.country),
            company: String::new(),
            address: head.address.clone(),
            birthday: birthday(rng),
            country: head.country,
            area: head.area,
        };
        self.share(rng, &mut p);
        p
    }

    /// Give `p` the family address (keeping their own as the one other
    /// records may show) and the landline, each most of the time.
    fn share(&self, rng: &mut Rng, p: &mut Person) {
        if let Some(e) = &self.email {
            if rng.chance(FAMILY_SHARE) {
                p.private_email = std::mem::replace(&mut p.email, e.clone());
            }
        }
        if let Some(l) = &self.landline {
            if rng.chance(FAMILY_SHARE) {
                p.phone = l.clone();
            }
        }
    }
}

/// A family's shared mail address; `n` makes it theirs.
fn family_email(rng: &mut Rng, country: Country, last: &str, n: u64) -> String {
    let host = MAIL_HOSTS[rng.skewed(MAIL_HOSTS.len())];
    let last = ascii(last);
    match (rng.below(3), country) {
        (0, _) => format!("{last}{n}@{host}"),
        (1, Country::De) => format!("familie.{last}{n}@{host}"),
        (1, Country::Gb) => format!("the{last}s{n}@{host}"),
        (1, Country::Si) => format!("druzina.{last}{n}@{host}"),
        _ => format!("{last}.{n}@{host}"),
    }
}

/// First and family name; with the `formal_names` knob sometimes a formal
/// first name of the variant table (Johannes, Robert, Aleksandr).
fn draw_names(rng: &mut Rng, country: Country, knobs: &Knobs) -> (String, String) {
    let female = rng.chance(50);
    let mut first = country.first_name(rng, female);
    let last = country.last_name(rng);
    if maybe(rng, knobs.formal_names) {
        first = names::formal(rng, country);
    }
    (first, last)
}

fn private_email(rng: &mut Rng, first: &str, last: &str, n: u64) -> String {
    let host = MAIL_HOSTS[rng.skewed(MAIL_HOSTS.len())];
    match rng.below(3) {
        0 => format!("{}.{}{n}@{host}", ascii(first), ascii(last)),
        1 => format!("{}{}{n}@{host}", &ascii(first)[..1], ascii(last)),
        _ => format!("{}_{n}@{host}", ascii(last)),
    }
}

fn birthday(rng: &mut Rng) -> Option<(u64, u64, u64)> {
    rng.chance(70)
        .then(|| (rng.range(1950, 2004), rng.range(1, 12), rng.range(1, 28)))
}

/// A landline number (without area code). With `valid_ranges` its first
/// digit is one the numbering plan has given out for the area (classic
/// draws 2–8 in Britain and 1–9 elsewhere, and a share of those British
/// and Slovenian numbers are in ranges nobody has).
pub(super) fn landline(rng: &mut Rng, country: Country, area: &str, valid_ranges: bool) -> String {
    // valid lengths: GB ten digits after the 0 with the area code, DE
    // and SI seven after a short area code and six after a longer one
    let len = match country {
        Country::Gb => 10 - area.len(),
        _ if area.len() <= 2 => 7,
        _ => 6,
    };
    let first = match (valid_ranges, country) {
        (false, Country::Gb) => rng.range(2, 8),
        (false, _) => rng.range(1, 9),
        (true, Country::Gb) => *rng.pick(match area {
            "20" => &[3, 7, 8][..],
            "121" => &[2, 3, 4, 5, 6, 7],
            "113" => &[2, 3, 4, 5, 8],
            "117" => &[2, 3, 4, 9],
            _ => &[2, 3, 4, 5, 6, 7, 8],
        }),
        (true, Country::Si) => rng.range(2, 8),
        (true, Country::De) => rng.range(1, 9),
    };
    format!("{first}{}", rng.digits(len - 1))
}

pub(super) fn mobile(rng: &mut Rng, country: Country) -> Phone {
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
