//! The people and companies of the `dupes` generator. A company is a pure
//! function of the seed and its number, so its employees, generated far
//! apart in the stream, share its name, address, mail domain and
//! switchboard without the generator remembering anything.

use super::pools::Country;
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
    /// The switchboard: the number without its two last digits.
    pub switchboard: Phone,
    country: Country,
}

impl Company {
    /// Company number `id` of the stream `seed`.
    pub fn nth(seed: u64, id: u64) -> Company {
        let mut rng = Rng::new(seed ^ (id + 1).wrapping_mul(0xa24b_aed4_963e_e407));
        let country = Country::random(&mut rng);
        let name = country.company(&mut rng);
        let (city, postcode, area) = country.place(&mut rng);
        let street = country.street(&mut rng);
        let words: Vec<String> = name.split(' ').take(2).map(ascii).collect();
        let domain = format!("{}.{}", words.join("-"), country.tld());
        let number = landline(&mut rng, country, area);
        let switchboard = (
            country.calling_code(),
            area,
            number[..number.len() - 2].to_string(),
        );
        Company {
            name,
            address: Address {
                street,
                postcode,
                city,
            },
            domain,
            switchboard,
            country,
        }
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
}

impl Person {
    /// A private contact; `n` makes their mail address their own.
    pub fn private(rng: &mut Rng, n: u64) -> Person {
        let country = Country::random(rng);
        let (first, last) = names(rng, country);
        let (city, postcode, area) = country.place(rng);
        let phone = match rng.chance(50) {
            true => (country.calling_code(), area, landline(rng, country, area)),
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
        }
    }

    /// An employee of `company`: its address, its domain, a direct line
    /// on its switchboard.
    pub fn employee(rng: &mut Rng, company: &Company, n: u64) -> Person {
        let (first, last) = names(rng, company.country);
        let (cc, area, prefix) = &company.switchboard;
        let phone = (*cc, *area, format!("{prefix}{:02}", rng.below(100)));
        Person {
            email: format!("{}.{}@{}", ascii(&first), ascii(&last), company.domain),
            private_email: private_email(rng, &first, &last, n),
            first,
            last,
            phone,
            company: company.name.clone(),
            address: company.address.clone(),
            birthday: birthday(rng),
        }
    }

    /// Someone living with `p`: the family name, address and landline,
    /// a first name and mail address of their own.
    pub fn housemate(rng: &mut Rng, p: &Person, n: u64) -> Person {
        let country = match p.phone.0 {
            "44" => Country::Gb,
            "386" => Country::Si,
            _ => Country::De,
        };
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
        }
    }
}

fn names(rng: &mut Rng, country: Country) -> (String, String) {
    let female = rng.chance(50);
    (country.first_name(rng, female), country.last_name(rng))
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

fn landline(rng: &mut Rng, country: Country, area: &str) -> String {
    // valid lengths: GB ten digits after the 0 with the area code, DE
    // and SI seven after a short area code and six after a longer one
    let len = match country {
        Country::Gb => 10 - area.len(),
        _ if area.len() <= 2 => 7,
        _ => 6,
    };
    match country {
        Country::Gb => format!("{}{}", rng.range(2, 8), rng.digits(len - 1)),
        _ => format!("{}{}", rng.range(1, 9), rng.digits(len - 1)),
    }
}

fn mobile(rng: &mut Rng, country: Country) -> Phone {
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
