//! When two different spellings of a person's name are alike in the way a
//! person reading them would say "that is probably the same name":
//!
//! - **initials**: `G.` and `Glen`, `H. P.` and `Hans Peter` (word by word,
//!   each word equal or one the initial of the other or of one of its
//!   variants: `J.` and `Hans`, for Johannes);
//! - **one edit** in a short name: a letter dropped, added, changed or two
//!   swapped (`Dean`/`Dwan`, `Mia`/`Maia`) — Jaro-Winkler rates short
//!   names too low for that (`dean`/`dwan` 0.83), so words of three to six
//!   letters get it on their own;
//! - **given-name variants**: nicknames, short forms and transliterations
//!   that share no spelling (`Hans`/`Johannes`, `Sepp`/`Josef`,
//!   `Bob`/`Robert`, `Sascha`/`Aleksandr`), from a small table
//!   ([`VARIANTS`]) of the names of the regions einklang's users write
//!   (German, Dutch, Slovenian, English, Russian in Latin letters). No
//!   maintained crate carries such a table for Rust; it is data, kept here,
//!   and a name missing from it only loses this one shortcut.
//!
//! All of these are *close*, never exact: they are evidence, weighed by
//! the model like any close agreement. Inputs are comparison forms
//! ([`super::normalise::name`]: folded, lower case, words split by one
//! space).

use std::collections::HashMap;
use std::sync::OnceLock;

/// Groups of given names that are one name (folded forms). A name may be
/// in several groups (`jan`: Johannes and Jan as a name of its own).
pub const VARIANTS: &[&[&str]] = &[
    // German, Dutch, Scandinavian
    &[
        "johannes", "hans", "johann", "jan", "jannes", "hannes", "john", "jo", "joop",
    ],
    &[
        "josef", "joseph", "sepp", "seppl", "jupp", "joe", "jozef", "joze", "jose",
    ],
    &[
        "elisabeth",
        "elizabeth",
        "lisa",
        "liesl",
        "lise",
        "elise",
        "betty",
        "liz",
        "beth",
        "els",
        "elsbeth",
        "ilse",
        "lisbeth",
        "elsa",
    ],
    &[
        "katharina",
        "katarina",
        "katja",
        "kathrin",
        "katrin",
        "kathi",
        "käthe",
        "kathe",
        "katinka",
        "kati",
        "catherine",
        "katherine",
        "kate",
        "katie",
        "kathy",
        "katka",
        "ekaterina",
        "jekaterina",
        "katya",
    ],
    &[
        "margarete",
        "margaret",
        "margarethe",
        "grete",
        "gretel",
        "greta",
        "peggy",
        "maggie",
        "meg",
        "margit",
        "marga",
    ],
    &[
        "wilhelm", "william", "willi", "willy", "will", "bill", "billy", "wim", "willem", "vilim",
    ],
    &[
        "friedrich",
        "fritz",
        "frederick",
        "fred",
        "freddy",
        "frits",
        "frederik",
    ],
    &[
        "heinrich", "heinz", "henry", "harry", "hendrik", "henk", "hinrich", "heiner",
    ],
    &["robert", "bob", "bobby", "rob", "robbie", "bert", "rupert"],
    &["richard", "dick", "rick", "ricky", "rich", "rikard"],
    &[
        "alexander",
        "aleksandr",
        "aleksander",
        "alex",
        "sascha",
        "sasha",
        "sandro",
        "aleks",
        "xander",
        "sasa",
    ],
    &[
        "alexandra",
        "aleksandra",
        "alexa",
        "sandra",
        "sascha",
        "sasha",
        "sanja",
    ],
    &[
        "michael", "mikhail", "michail", "mihael", "micha", "mike", "michi", "miha", "misha",
        "mischa", "miguel",
    ],
    &[
        "nikolaus", "nikolai", "nikolaj", "nicholas", "nick", "niko", "nico", "klaus", "claus",
        "niklas", "nils", "miklavz",
    ],
    &[
        "christian",
        "chris",
        "christoph",
        "christopher",
        "kristijan",
        "krister",
    ],
    &[
        "christine",
        "christina",
        "kristina",
        "tina",
        "chris",
        "kristin",
        "stina",
    ],
    &[
        "stefan", "stephan", "steffen", "stephen", "steven", "steve", "stevo", "stepan", "stjepan",
    ],
    &["thomas", "tom", "tommy", "tomas", "tomaz", "thommy", "foma"],
    &[
        "andreas", "andi", "andrew", "andy", "andrej", "andrei", "andrey", "andre", "andraz",
        "dries",
    ],
    &[
        "peter", "pete", "piet", "pieter", "petr", "pjotr", "pyotr", "peer",
    ],
    &[
        "jakob", "jacob", "jakub", "jacques", "jim", "jimmy", "james", "jaap", "koos", "jascha",
    ],
    &["gerhard", "gerd", "gert", "gerrit", "gerard", "gerry"],
    &["bernhard", "bernd", "bernard", "bernie", "ben"],
    &["benjamin", "ben", "benny", "benji"],
    &["eduard", "edward", "ed", "eddie", "ted", "edi", "edo"],
    &["ludwig", "lutz", "louis", "lodewijk", "lou", "ludvik"],
    &["walter", "walther", "walt", "wally", "wouter"],
    &["wolfgang", "wolf", "wolfi"],
    &[
        "jürgen", "juergen", "jurgen", "jörg", "joerg", "jorg", "georg", "george", "juri", "yuri",
        "jure", "jurij", "georgij", "gyorgy",
    ],
    &[
        "matthias", "mathias", "matze", "matz", "hias", "matthew", "matt", "matija", "matej",
        "matteo", "mats", "thijs", "matvey", "matvei",
    ],
    &["maximilian", "max", "maxim", "maksim", "maks", "maxi"],
    &["daniel", "dan", "danny", "danijel", "dani", "daan"],
    &[
        "gabriel",
        "gabi",
        "gaby",
        "gabriele",
        "gabriela",
        "gabrijela",
    ],
    &[
        "anna", "anne", "anja", "ana", "ann", "annie", "hanna", "hannah", "anke", "anika",
        "annika", "anouk", "anka",
    ],
    &[
        "maria", "marie", "mary", "mia", "mitzi", "mizzi", "marija", "mariya", "masha", "mascha",
        "maja", "marijke", "ria", "mieke",
    ],
    &[
        "johanna", "jana", "hanne", "joanna", "joan", "jo", "janne", "hanni", "ivana",
    ],
    &[
        "susanne", "susanna", "susan", "sue", "susi", "suzanne", "suzana", "sanne", "zuzana",
    ],
    &["barbara", "babs", "barbie", "barb", "varvara", "barbka"],
    &[
        "dorothea", "dorothee", "dorothy", "dora", "doris", "thea", "dot", "dottie",
    ],
    &[
        "franziska",
        "frances",
        "franzi",
        "fanny",
        "francesca",
        "franciska",
    ],
    &[
        "franz",
        "frank",
        "francis",
        "frans",
        "franc",
        "frane",
        "frantisek",
        "ferenc",
    ],
    &[
        "theodor", "theodore", "theo", "ted", "teddy", "fedor", "fyodor", "teo",
    ],
    &[
        "konstantin",
        "constantin",
        "konstantine",
        "kostja",
        "kostya",
        "tino",
        "stanko",
    ],
    &["ekkehard", "ekke"],
    &["rudolf", "rudolph", "rudi", "rudy", "ruud", "dolf"],
    &["leonhard", "leonard", "leo", "lenny", "leon", "lenart"],
    &[
        "vladimir",
        "volodymyr",
        "wladimir",
        "vlado",
        "volodya",
        "vova",
        "vlad",
    ],
    &["dmitri", "dmitrij", "dmitry", "dimitri", "dima", "mitja"],
    &["ivan", "iwan", "vanja", "vanya", "johann", "janez", "ivo"],
    &["sergei", "sergey", "sergej", "serge", "sergio", "serezha"],
    &[
        "evgeni", "evgeny", "jewgeni", "yevgeny", "eugen", "eugene", "zhenya", "gene",
    ],
    &[
        "natalia", "natalja", "natalya", "natalie", "nathalie", "natascha", "natasha", "nata",
    ],
    &[
        "elena", "jelena", "yelena", "helena", "helene", "lena", "hella", "ellen", "ella", "alena",
    ],
    &["olga", "olja", "olya"],
    &["tatjana", "tatiana", "tatyana", "tanja", "tanya", "tania"],
    &["irina", "irena", "irene", "ira"],
    &["ekaterina", "catherine", "katja"],
    &[
        "patrick", "patrik", "pat", "paddy", "patricia", "patty", "trish",
    ],
    &[
        "anton", "antonius", "anthony", "tony", "toni", "antoine", "antonio", "tone", "antun",
    ],
    &["joachim", "jochen", "achim", "jo"],
    &["ulrich", "ulli", "uli", "ulf"],
    &["reinhard", "reinhold", "reiner", "rainer", "reini"],
    &[
        "gottfried",
        "friedel",
        "godfrey",
        "geoffrey",
        "geoff",
        "jeff",
    ],
    &["samuel", "sam", "sammy", "semjon"],
    &["joshua", "josh"],
    &["jonathan", "jon", "johnny", "jonny", "nathan", "nate"],
    &["nathaniel", "nathan", "nat", "nate"],
    &["zachary", "zach", "zack"],
    &["benedikt", "benedict", "bene", "benno"],
    &["lukas", "lucas", "luke", "luka", "luca"],
    &["emanuel", "emmanuel", "manuel", "manu", "immanuel"],
    &["sebastian", "basti", "seb", "bastian", "sebastjan"],
    &["tobias", "tobi", "toby"],
    &["timotheus", "timothy", "tim", "timo", "timmy"],
    &["kornelia", "cornelia", "conny", "nele", "corry"],
    &["cornelis", "cornelius", "kees", "cees", "neels"],
    &["gijsbert", "gijs"],
    &["hendrika", "riek", "rika", "henny"],
    &["wilhelmina", "mina", "willemijn", "wilma", "minnie"],
    &["jozefa", "josefine", "josephine", "josie", "fini", "pepi"],
    &["abraham", "bram", "abe"],
    &["willemien", "wil"],
    &["ignatius", "ignaz", "naz"],
    &["rosalia", "rosa", "rosi", "rosie", "rose"],
    &["veronika", "veronica", "vroni", "nika"],
    &[
        "stefanie",
        "stephanie",
        "steffi",
        "steffie",
        "stefi",
        "stevie",
    ],
    &[
        "charlotte",
        "lotte",
        "lotti",
        "lottie",
        "charly",
        "carlota",
        "sarlota",
    ],
    &["monika", "monica", "moni"],
    &["ursula", "uschi", "ulla", "urszula", "uršula"],
    &["theresa", "therese", "teresa", "resi", "tessa", "terezija"],
    &[
        "magdalena",
        "magdalene",
        "leni",
        "madlen",
        "madeleine",
        "magda",
    ],
    &["friederike", "frederike", "rike", "fritzi"],
    &["ulrike", "ulli", "uli", "rike"],
    &["florian", "flo", "florijan"],
    &["dominik", "dominic", "domi"],
    &["manfred", "manni", "fred"],
    &["siegfried", "siggi", "sigi"],
    &["angelika", "angelica", "angela", "geli", "angie"],
    &["sabine", "bine", "sabina"],
    &["christiane", "christa", "christel"],
    &["regina", "gina"],
];

/// A name of the table: its groups in [`VARIANTS`], and the first
/// letters of every variant in them (for [`initial_of`]).
struct Entry {
    groups: Vec<u16>,
    initials: String,
}

/// For each name (folded, so `jürgen` in the table is `juergen`), its
/// groups in [`VARIANTS`] and their initials, folded once.
fn index() -> &'static HashMap<String, Entry> {
    static INDEX: OnceLock<HashMap<String, Entry>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let folded: Vec<Vec<String>> = VARIANTS
            .iter()
            .map(|g| g.iter().map(|n| super::normalise::fold(n)).collect())
            .collect();
        let mut map: HashMap<String, Entry> = HashMap::new();
        for (i, group) in folded.iter().enumerate() {
            for name in group {
                let entry = map.entry(name.clone()).or_insert_with(|| Entry {
                    groups: Vec::new(),
                    initials: String::new(),
                });
                if !entry.groups.contains(&(i as u16)) {
                    entry.groups.push(i as u16);
                    entry
                        .initials
                        .extend(group.iter().filter_map(|v| v.chars().next()));
                }
            }
        }
        map
    })
}

/// Are two given names (comparison forms) variants of one name: in one
/// group of [`VARIANTS`]?
pub fn variants(x: &str, y: &str) -> bool {
    if x == y {
        return false;
    }
    let idx = index();
    match (idx.get(x), idx.get(y)) {
        (Some(ex), Some(ey)) => ey.groups.iter().any(|g| ex.groups.contains(g)),
        _ => false,
    }
}

/// Does one name write the other's words as initials (`g` ~ `glen`,
/// `h p` ~ `hans peter`, `hans p` ~ `hans peter`)? Word by word, the
/// same number of words, at least one an initial.
pub fn initials(x: &str, y: &str) -> bool {
    let (a, b): (Vec<&str>, Vec<&str>) = (x.split(' ').collect(), y.split(' ').collect());
    if a.len() != b.len() {
        return false;
    }
    let mut any = false;
    for (p, q) in a.iter().zip(&b) {
        let initial = |i: &str, w: &str| i.chars().count() == 1 && w.len() > 1 && initial_of(i, w);
        if initial(p, q) || initial(q, p) {
            any = true;
        } else if p != q {
            return false;
        }
    }
    any
}

/// Longest word for which one edit counts on its own: in longer words
/// one edit already keeps Jaro-Winkler at 0.92 or more.
pub const SHORT: usize = 6;

/// Is `i` the initial of `name` or of one of its variants (`J.` for
/// `Hans`, whose formal name is Johannes)?
fn initial_of(i: &str, name: &str) -> bool {
    if name.starts_with(i) {
        return true;
    }
    index().get(name).is_some_and(|e| e.initials.contains(i))
}

/// One edit apart (a letter dropped, added or changed, or two neighbours
/// swapped), both three to [`SHORT`] letters long.
pub fn one_edit(x: &str, y: &str) -> bool {
    let short = |s: &str| (3..=SHORT).contains(&s.chars().count());
    x != y && short(x) && short(y) && strsim::osa_distance(x, y) == 1
}

/// Any of the above, word by word where both have the same number of
/// words (`hans peter` ~ `johannes peter`).
pub fn alike(x: &str, y: &str) -> bool {
    if initials(x, y) {
        return true;
    }
    let (a, b): (Vec<&str>, Vec<&str>) = (x.split(' ').collect(), y.split(' ').collect());
    if a.len() != b.len() {
        return false;
    }
    let mut differs = false;
    for (p, q) in a.iter().zip(&b) {
        if p == q {
            continue;
        }
        if !(one_edit(p, q) || variants(p, q)) {
            return false;
        }
        differs = true;
    }
    differs
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn initials_fit_their_names_word_by_word() {
        assert!(initials("g", "glen"));
        assert!(initials("glen", "g"));
        assert!(initials("j", "hans"), "J. for Johannes, called Hans");
        assert!(initials("h p", "hans peter"));
        assert!(initials("hans p", "hans peter"));
        assert!(!initials("k", "glen"));
        assert!(!initials("h", "hans peter"), "a word missing");
        assert!(!initials("glen", "glen"), "equal is not an initial");
        assert!(!initials("g", "g"));
    }

    #[test]
    fn one_edit_in_short_names_is_close() {
        assert!(one_edit("dean", "dwan"));
        assert!(one_edit("mia", "maia"));
        assert!(!one_edit("anna", "naan"));
        assert!(one_edit("jens", "jnes"), "two neighbours swapped");
        assert!(!one_edit("al", "el"), "too short to tell");
        assert!(!one_edit("dean", "dean"));
        assert!(!one_edit("dean", "sven"));
    }

    #[test]
    fn given_name_variants_meet_in_the_table() {
        for (x, y) in [
            ("hans", "johannes"),
            ("sepp", "josef"),
            ("bob", "robert"),
            ("aleksandr", "alexander"),
            ("sascha", "aleksandr"),
            ("juergen", "jurgen"),
            ("bill", "william"),
            ("peggy", "margaret"),
            ("lisa", "elisabeth"),
            ("katja", "katharina"),
            ("steffi", "stefanie"),
            ("matze", "matthias"),
            ("kaethe", "katrin"),
        ] {
            assert!(variants(x, y), "{x} ~ {y}");
            assert!(variants(y, x), "{y} ~ {x}");
        }
        assert!(!variants("hans", "peter"));
        assert!(!variants("hans", "hans"), "equal is exact, not a variant");
        assert!(!variants("zoltan", "zoltan2"));
    }

    #[test]
    fn alike_word_by_word() {
        assert!(alike("hans peter", "johannes peter"));
        assert!(alike("dean", "dwan"));
        assert!(alike("g", "glen"));
        assert!(!alike("hans peter", "hans"));
        assert!(!alike("anna", "peter"));
        assert!(!alike("anna", "anna"));
    }

    proptest! {
        /// Each relation is symmetric.
        #[test]
        fn symmetric(x in "[a-e]{1,6}( [a-e]{1,5})?", y in "[a-e]{1,6}( [a-e]{1,5})?") {
            prop_assert_eq!(alike(&x, &y), alike(&y, &x));
            prop_assert_eq!(initials(&x, &y), initials(&y, &x));
            prop_assert_eq!(one_edit(&x, &y), one_edit(&y, &x));
        }

        /// Nothing is alike to itself (equal is exact, not close).
        #[test]
        fn never_alike_to_itself(x in "[a-z]{1,8}( [a-z]{1,8})?") {
            prop_assert!(!alike(&x, &x));
        }
    }
}
