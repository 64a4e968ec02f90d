//! The value pools of the `dupes` generator, large enough that different
//! people rarely share a name *and* an address at 1M rows: real first
//! names, family names composed from stems and endings (a few thousand per
//! country), about 150 street names per country with house numbers up to
//! 250, and a few hundred postcodes per city. Draws are skewed
//! ([`Rng::skewed`]) so common names are common, as in real data.

use crate::rng::Rng;

/// Where a person lives: names, streets, postcodes, phone formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Country {
    /// Germany.
    De,
    /// United Kingdom.
    Gb,
    /// Slovenia.
    Si,
}

impl Country {
    /// A country, weighted like the hub's contacts (60 % DE).
    pub fn random(rng: &mut Rng) -> Country {
        match rng.below(10) {
            0..=5 => Country::De,
            6..=7 => Country::Si,
            _ => Country::Gb,
        }
    }

    /// Country calling code.
    pub fn calling_code(self) -> &'static str {
        match self {
            Country::De => "49",
            Country::Gb => "44",
            Country::Si => "386",
        }
    }

    /// The legal form companies here carry.
    pub fn legal_form(self) -> &'static str {
        match self {
            Country::De => "GmbH",
            Country::Gb => "Ltd",
            Country::Si => "d.o.o.",
        }
    }

    /// Mail domain suffix.
    pub fn tld(self) -> &'static str {
        match self {
            Country::De => "de",
            Country::Gb => "co.uk",
            Country::Si => "si",
        }
    }
}

const DE_FIRST_M: &[&str] = &[
    "Thomas",
    "Michael",
    "Andreas",
    "Stefan",
    "Jürgen",
    "Klaus",
    "Peter",
    "Wolfgang",
    "Frank",
    "Markus",
    "Christian",
    "Matthias",
    "Uwe",
    "Martin",
    "Jörg",
    "Dirk",
    "Tobias",
    "Lukas",
    "Maximilian",
    "Björn",
    "Sebastian",
    "Florian",
    "Alexander",
    "Daniel",
    "Jan",
    "Tim",
    "Felix",
    "Jonas",
    "Leon",
    "Paul",
    "Günter",
    "Dieter",
    "Horst",
    "Ralf",
    "Holger",
    "Sven",
    "Kai",
    "Philipp",
    "Benedikt",
    "Moritz",
];
const DE_FIRST_F: &[&str] = &[
    "Sabine",
    "Claudia",
    "Anna",
    "Julia",
    "Katharina",
    "Ursula",
    "Monika",
    "Petra",
    "Andrea",
    "Susanne",
    "Birgit",
    "Stefanie",
    "Nicole",
    "Sandra",
    "Lena",
    "Sophie",
    "Miriam",
    "Franziska",
    "Jördis",
    "Bärbel",
    "Jutta",
    "Heike",
    "Karin",
    "Christine",
    "Laura",
    "Lea",
    "Hannah",
    "Marie",
    "Johanna",
    "Charlotte",
    "Greta",
    "Ilse",
    "Renate",
    "Gisela",
    "Anja",
    "Tanja",
    "Silke",
    "Maren",
    "Svenja",
    "Käthe",
];
const DE_STEMS: &[&str] = &[
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmer",
    "Braun",
    "Krüger",
    "Hof",
    "Hart",
    "Lang",
    "Weiß",
    "Groß",
    "Köhler",
    "Stein",
    "Berg",
    "Busch",
    "Brand",
    "Eich",
    "Feld",
    "Fuchs",
    "Holz",
    "Horn",
    "Kirch",
    "Kraus",
    "Linden",
    "Mohr",
    "Rosen",
    "Schön",
    "Sturm",
    "Wald",
    "Bach",
    "Baum",
    "Dorn",
    "Engel",
    "Frank",
    "Gärtner",
    "Haas",
    "Jung",
    "Kuhn",
    "Lorenz",
    "Maier",
    "Otto",
    "Pohl",
    "Roth",
    "Seidel",
    "Vogel",
    "Winkler",
];
const DE_ENDINGS: &[&str] = &[
    "", "", "", "er", "mann", "hoff", "berger", "müller", "ner", "inger", "bauer", "mayer",
    "hagen", "dorf", "reuter", "hauser", "bach", "le", "ke", "stätter", "huber", "wald", "feld",
    "meier", "brecht", "hold", "rath", "bichler", "ecker", "egger",
];
const GB_FIRST_M: &[&str] = &[
    "James", "Oliver", "Harry", "George", "William", "Jack", "Thomas", "Daniel", "Charlie",
    "Jacob", "Noah", "Alfie", "Joshua", "Henry", "Edward", "Samuel", "Joseph", "Arthur", "Leo",
    "Oscar", "David", "Richard", "Michael", "Andrew", "Paul", "Mark", "Stephen", "Peter",
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
    "Isla",
    "Ava",
    "Mia",
    "Lily",
    "Ella",
    "Chloe",
    "Lucy",
    "Ruby",
    "Evie",
    "Alice",
    "Florence",
    "Sarah",
    "Emma",
    "Rachel",
    "Rebecca",
    "Laura",
    "Helen",
    "Claire",
    "Karen",
    "Susan",
];
const GB_STEMS: &[&str] = &[
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Evans",
    "Thomas", "Roberts", "Walker", "Wright", "Robin", "Thomp", "White", "Hughes", "Edwards",
    "Green", "Hall", "Wood", "Harris", "Martin", "Jackson", "Clark", "Lewis", "Turner", "Hill",
    "Cooper", "Ward", "Morris", "King", "Baker", "Harri", "Ash", "Black", "Brad", "Carl", "Crom",
    "Dun", "Fair", "Gold", "Hawk", "Lang", "Mill", "North", "Pen", "Red", "Stan", "West",
];
const GB_ENDINGS: &[&str] = &[
    "", "", "", "son", "ton", "ley", "wood", "field", "er", "ford", "well", "worth", "ham",
    "ridge", "stone", "by", "more", "hurst", "combe", "dale",
];
const SI_FIRST_M: &[&str] = &[
    "Luka", "Matej", "Žiga", "Jure", "Blaž", "Nejc", "Rok", "Tomaž", "Anže", "Gregor", "Miha",
    "Jan", "Marko", "Andrej", "Aleš", "Boštjan", "Primož", "Janez", "Matjaž", "Uroš", "Tilen",
    "Gašper", "Klemen", "Domen",
];
const SI_FIRST_F: &[&str] = &[
    "Ana", "Maja", "Nika", "Špela", "Urška", "Mojca", "Petra", "Tjaša", "Eva", "Sara", "Lara",
    "Nina", "Mateja", "Katja", "Barbara", "Tina", "Mojca", "Alenka", "Polona", "Nataša", "Metka",
    "Živa", "Zala", "Neža",
];
const SI_STEMS: &[&str] = &[
    "Novak", "Horvat", "Krajnc", "Kovač", "Zupan", "Potoč", "Kos", "Golob", "Vidmar", "Mlakar",
    "Turk", "Žagar", "Kralj", "Bizjak", "Hribar", "Kavč", "Rozman", "Kastel", "Oblak", "Petek",
    "Kolar", "Žnidar", "Hočevar", "Košir", "Koren", "Jerman", "Medved", "Zajc", "Pirc", "Kern",
    "Babič", "Kuhar", "Zorko", "Sever", "Lesjak", "Rupnik", "Dolenc", "Vovk", "Kokalj", "Jereb",
];
const SI_ENDINGS: &[&str] = &[
    "", "", "", "ič", "čič", "nik", "ar", "šek", "ec", "ak", "elj", "ovič", "in", "ovec", "ica",
];

const DE_STREET_BASES: &[&str] = &[
    "Haupt",
    "Bahnhof",
    "Garten",
    "Schiller",
    "Goethe",
    "Linden",
    "Kirch",
    "Berg",
    "Wald",
    "Mühlen",
    "Rosen",
    "Tannen",
    "Buchen",
    "Ahorn",
    "Birken",
    "Eichen",
    "Mozart",
    "Beethoven",
    "Bismarck",
    "Kant",
    "Lessing",
    "Heine",
    "Uhland",
    "Post",
    "Markt",
    "Schul",
    "Feld",
    "Wiesen",
    "Sonnen",
    "Industrie",
    "Friedrich",
    "Wilhelm",
    "Luisen",
    "Park",
    "Brunnen",
    "Hafen",
    "Burg",
    "Kloster",
    "Rathaus",
    "Blumen",
];
const DE_STREET_TYPES: &[&str] = &["straße", "weg", "allee", "gasse"];
const GB_STREET_BASES: &[&str] = &[
    "High",
    "Station",
    "Church",
    "Victoria",
    "Green",
    "Mill",
    "Park",
    "King's",
    "Queen's",
    "London",
    "Manor",
    "School",
    "Chapel",
    "Bridge",
    "North",
    "South",
    "West",
    "Albert",
    "Grange",
    "Windsor",
    "Oak",
    "Elm",
    "Meadow",
    "Forest",
    "Springfield",
    "York",
    "Castle",
    "Market",
    "Orchard",
    "Rectory",
];
const GB_STREET_TYPES: &[&str] = &["Street", "Road", "Lane", "Avenue", "Close"];
const SI_STREET_BASES: &[&str] = &[
    "Slovenska",
    "Trubarjeva",
    "Prešernova",
    "Celovška",
    "Čopova",
    "Tržaška",
    "Dunajska",
    "Gosposvetska",
    "Cankarjeva",
    "Kidričeva",
    "Levstikova",
    "Vojkova",
    "Gregorčičeva",
    "Aškerčeva",
    "Jurčičeva",
    "Stritarjeva",
    "Tomšičeva",
    "Partizanska",
    "Kolodvorska",
    "Šolska",
    "Vrtna",
    "Sončna",
    "Cesta",
    "Ljubljanska",
    "Mariborska",
    "Koroška",
    "Planinska",
    "Lipova",
    "Brezova",
    "Kajuhova",
];
const SI_STREET_TYPES: &[&str] = &["cesta", "ulica", "pot"];

/// City, postcode prefix (a few hundred postcodes follow it), area code.
const DE_CITIES: &[(&str, &str, &str)] = &[
    ("Berlin", "1", "30"),
    ("München", "8", "89"),
    ("Hamburg", "2", "40"),
    ("Köln", "5", "221"),
    ("Frankfurt am Main", "6", "69"),
    ("Stuttgart", "7", "711"),
    ("Leipzig", "04", "341"),
    ("Düsseldorf", "4", "211"),
    ("Dresden", "01", "351"),
    ("Hannover", "3", "511"),
    ("Nürnberg", "9", "911"),
    ("Bremen", "28", "421"),
];
const GB_CITIES: &[(&str, &str, &str)] = &[
    ("London", "SW", "20"),
    ("Manchester", "M", "161"),
    ("Edinburgh", "EH", "131"),
    ("Birmingham", "B", "121"),
    ("Leeds", "LS", "113"),
    ("Bristol", "BS", "117"),
];
const SI_CITIES: &[(&str, &str, &str)] = &[
    ("Ljubljana", "1", "1"),
    ("Maribor", "2", "2"),
    ("Kranj", "4", "4"),
    ("Koper", "6", "5"),
    ("Celje", "3", "3"),
    ("Novo mesto", "8", "7"),
];

/// Company name stems (the trade or a made-up brand).
const TRADES: &[&str] = &[
    "Bau",
    "Logistik",
    "Consulting",
    "Elektro",
    "Immobilien",
    "Software",
    "Dental",
    "Design",
    "Holz",
    "Metall",
    "Reisen",
    "Druck",
    "Medien",
    "Technik",
    "Handel",
    "Gastro",
    "Solar",
    "Optik",
    "Pharma",
    "Textil",
    "Studio",
    "Partners",
    "Systems",
    "Group",
    "Services",
];
const BRANDS: &[&str] = &[
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
    "Blauwal",
    "Sava",
    "Greenfield",
    "Adler",
    "Bergkristall",
    "Soča",
    "Northstar",
    "Eisvogel",
    "Pohorje",
    "Silverline",
    "Donau",
    "Krka",
    "Redwood",
    "Falke",
    "Bled",
    "Harbour",
    "Isar",
    "Piran",
    "Summit",
    "Elbe",
];

impl Country {
    fn pools(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Country::De => (DE_STEMS, DE_ENDINGS),
            Country::Gb => (GB_STEMS, GB_ENDINGS),
            Country::Si => (SI_STEMS, SI_ENDINGS),
        }
    }

    /// A first name.
    pub fn first_name(self, rng: &mut Rng, female: bool) -> String {
        let pool = match (self, female) {
            (Country::De, false) => DE_FIRST_M,
            (Country::De, true) => DE_FIRST_F,
            (Country::Gb, false) => GB_FIRST_M,
            (Country::Gb, true) => GB_FIRST_F,
            (Country::Si, false) => SI_FIRST_M,
            (Country::Si, true) => SI_FIRST_F,
        };
        pool[rng.skewed(pool.len())].to_string()
    }

    /// A family name: a stem and an ending (Weber, Weberbauer, Novakovič).
    pub fn last_name(self, rng: &mut Rng) -> String {
        let (stems, endings) = self.pools();
        let stem = stems[rng.skewed(stems.len())];
        let ending = endings[rng.below(endings.len() as u64) as usize];
        match (stem.chars().last(), ending.chars().next()) {
            // Weber + er reads badly: keep the stem
            (Some(a), Some(b)) if a == b => stem.to_string(),
            _ => format!("{stem}{ending}"),
        }
    }

    /// Street and house number.
    pub fn street(self, rng: &mut Rng) -> String {
        let n = rng.range(1, 250);
        match self {
            Country::De => {
                let base = DE_STREET_BASES[rng.skewed(DE_STREET_BASES.len())];
                let kind = DE_STREET_TYPES[rng.below(4) as usize];
                format!("{base}{kind} {n}")
            }
            Country::Gb => {
                let base = GB_STREET_BASES[rng.skewed(GB_STREET_BASES.len())];
                let kind = GB_STREET_TYPES[rng.below(5) as usize];
                format!("{n} {base} {kind}")
            }
            Country::Si => {
                let base = SI_STREET_BASES[rng.skewed(SI_STREET_BASES.len())];
                let kind = SI_STREET_TYPES[rng.below(3) as usize];
                format!("{base} {kind} {n}")
            }
        }
    }

    /// The country a city of the pools is in.
    #[cfg(test)]
    pub fn of_city(city: &str) -> Option<Country> {
        [
            (Country::De, DE_CITIES),
            (Country::Gb, GB_CITIES),
            (Country::Si, SI_CITIES),
        ]
        .into_iter()
        .find(|(_, cities)| cities.iter().any(|c| c.0 == city))
        .map(|(country, _)| country)
    }

    /// The area codes of the pools' cities.
    #[cfg(test)]
    pub fn areas(self) -> Vec<&'static str> {
        let cities = match self {
            Country::De => DE_CITIES,
            Country::Gb => GB_CITIES,
            Country::Si => SI_CITIES,
        };
        cities.iter().map(|c| c.2).collect()
    }

    /// City, postcode and the landline area code.
    pub fn place(self, rng: &mut Rng) -> (&'static str, String, &'static str) {
        let cities = match self {
            Country::De => DE_CITIES,
            Country::Gb => GB_CITIES,
            Country::Si => SI_CITIES,
        };
        let &(city, prefix, area) = &cities[rng.skewed(cities.len())];
        let postcode = match self {
            Country::De => {
                let w = 5 - prefix.len();
                let span = 10u64.pow(w as u32);
                let code = rng.below(400) * (span / 400).max(1) % span;
                format!("{prefix}{code:0w$}")
            }
            Country::Gb => {
                let letters = b"ABDEFGHJLNPQRSTUWXYZ";
                let l =
                    |rng: &mut Rng| char::from(letters[rng.below(letters.len() as u64) as usize]);
                format!(
                    "{prefix}{} {}{}{}",
                    rng.range(1, 20),
                    rng.below(10),
                    l(rng),
                    l(rng)
                )
            }
            Country::Si => format!("{prefix}{:03}", rng.below(300)),
        };
        (city, postcode, area)
    }

    /// A company name with its legal form.
    pub fn company(self, rng: &mut Rng) -> String {
        let form = self.legal_form();
        match rng.below(3) {
            0 => format!("{} {} {form}", self.last_name(rng), rng.pick(TRADES)),
            1 => format!("{} {} {form}", rng.pick(BRANDS), rng.pick(TRADES)),
            _ => format!("{} {} {form}", rng.pick(BRANDS), self.last_name(rng)),
        }
    }
}
