//! The probabilistic match model (Fellegi–Sunter): each comparison's
//! agreement level has a probability among true matches (`m`) and among
//! non-matches (`u`); a pair's score is the prior log-odds plus
//! `log2(m/u)` per compared field, turned into a match probability.
//! Every score comes with its parts, field by field (`einklang explain`).
//!
//! **Correlated fields.** Colleagues share company, address and the phone
//! switchboard; counting those as independent evidence chains a whole
//! company into one cluster. Comparisons in one `group` therefore add only
//! their strongest agreement (and all their disagreements).

use super::batch::parallel;
use super::compare::{self, Kind, Level};
use super::packed::Side;
use crate::record::Fields;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// A record's normalised forms, one list per comparison.
pub type Forms = Vec<Vec<String>>;

/// One comparison of the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The hub field compared.
    pub field: String,
    /// How.
    pub kind: Kind,
    /// Correlated comparisons share a group (`workplace`).
    #[serde(default)]
    pub group: Option<String>,
    /// P(level | match) for Exact, Close, Different.
    pub m: [f64; 3],
    /// P(level | non-match) for Exact, Close, Different.
    pub u: [f64; 3],
}

impl Comparison {
    /// A comparison with default probabilities for its kind (set from
    /// experience; [`Model::estimate`] refines them from the data).
    pub fn new(field: &str, kind: Kind, group: Option<&str>) -> Comparison {
        let (m, u) = match kind {
            Kind::Email => ([0.85, 0.0, 0.15], [0.001, 0.0, 0.999]),
            Kind::Phone => ([0.7, 0.05, 0.25], [0.002, 0.01, 0.988]),
            Kind::Name => ([0.8, 0.15, 0.05], [0.005, 0.02, 0.975]),
            Kind::Company => ([0.7, 0.15, 0.15], [0.01, 0.02, 0.97]),
            Kind::Street => ([0.7, 0.1, 0.2], [0.005, 0.01, 0.985]),
            Kind::Postcode => ([0.85, 0.0, 0.15], [0.02, 0.0, 0.98]),
            Kind::Text => ([0.7, 0.1, 0.2], [0.05, 0.05, 0.9]),
            Kind::Date => ([0.9, 0.07, 0.03], [0.001, 0.005, 0.994]),
        };
        Comparison {
            field: field.into(),
            kind,
            group: group.map(str::to_string),
            m,
            u,
        }
    }

    /// The weight of a level: log2(m/u), 0 for missing evidence.
    pub fn weight(&self, level: Level) -> f64 {
        match level.index() {
            None => 0.0,
            Some(i) => (clamp(self.m[i]) / clamp(self.u[i])).log2(),
        }
    }
}

fn clamp(p: f64) -> f64 {
    p.clamp(1e-6, 1.0 - 1e-6)
}

/// A match model for one entity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// The comparisons.
    pub comparisons: Vec<Comparison>,
    /// Prior probability that a candidate pair is a match.
    pub prior: f64,
    /// Default region for phone numbers.
    pub region: String,
    /// A field naming each record's country (`region_from = "country"`):
    /// its phone numbers are read in that country's numbering plan
    /// ([`Self::region_of`]), the default `region` where it names none.
    #[serde(default)]
    pub region_from: Option<String>,
    /// Per comparison, identifier values so many records carry (`info@`,
    /// a family address, a switchboard) that they are not one person's:
    /// agreeing only on such a value counts as close, not exact (the
    /// frequency adjustment of record linkage in its simplest form; filled
    /// by `batch::prepare`).
    #[serde(default)]
    pub common: Vec<HashSet<String>>,
    /// Per comparison, how many records carry each value that three or
    /// more carry (the term frequencies; filled with [`Self::population`]
    /// by `batch::prepare` and the index's `prepare`): agreeing on a
    /// common value is weaker evidence than agreeing on a rare one
    /// ([`Self::adjustment`]).
    #[serde(default)]
    pub frequencies: Vec<HashMap<String, u32>>,
    /// How many records the frequencies were counted over (0: none).
    #[serde(default)]
    pub population: u64,
}

/// Fewer records than this: no term-frequency adjustment (in a few
/// hundred records, one person's duplicates make their own values look
/// common).
pub const TF_POPULATION: u64 = 1_000;

/// One field's part of a score.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Part {
    /// Field.
    pub field: String,
    /// Agreement level.
    pub level: Level,
    /// Its weight (log2 of the likelihood ratio), the term-frequency
    /// adjustment included.
    pub weight: f64,
    /// The term-frequency adjustment in it (≤ 0: the shared value is
    /// common among the records).
    pub tf: f64,
    /// Whether it counted (a weaker agreement in its group does not).
    pub counted: bool,
}

/// A scored pair, with its explanation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Score {
    /// Sum of the counted weights and the prior's log-odds.
    pub log2_odds: f64,
    /// Match probability.
    pub probability: f64,
    /// Field by field.
    pub parts: Vec<Part>,
}

impl Model {
    /// The agreement levels of a pair, one per comparison. The first two
    /// name comparisons (first and last name) are also tried crosswise, and
    /// the better reading is taken: `Novak, Anna` in the wrong columns is
    /// still Anna Novak.
    pub fn levels(&self, a: &Fields, b: &Fields) -> Vec<Level> {
        self.levels_of(&self.forms(a), &self.forms(b))
    }

    /// A record's normalised forms, one list per comparison: computed
    /// once per record, compared for every pair it is in.
    pub fn forms(&self, r: &Fields) -> Forms {
        let region = self.region_of(r);
        self.comparisons
            .iter()
            .map(|c| compare::forms(c.kind, r.get(&c.field), &region))
            .collect()
    }

    /// The region a record's phone numbers are read in: the country its
    /// `region_from` field names (an ISO code, a car code or a country's
    /// name, as [`crate::transform::region`] reads them), else `region`.
    pub fn region_of(&self, r: &Fields) -> std::borrow::Cow<'_, str> {
        self.region_from
            .as_ref()
            .and_then(|f| r.get(f))
            .and_then(crate::transform::region::region_of)
            .map_or(
                std::borrow::Cow::Borrowed(self.region.as_str()),
                std::borrow::Cow::Owned,
            )
    }

    /// [`Self::levels`] from prepared forms.
    pub fn levels_of(&self, a: &Forms, b: &Forms) -> Vec<Level> {
        self.levels_in(a, b)
    }

    /// [`Self::levels_of`] from forms however they are stored.
    pub fn levels_in(&self, a: &(impl Side + ?Sized), b: &(impl Side + ?Sized)) -> Vec<Level> {
        let (mut levels, swapped) = self.read(a, b);
        if self.clearly_different::<Forms, Forms>(&levels, swapped, None) {
            // a family's address, an office's landline: shared, so no
            // evidence either way (as close it would count against a
            // person's own address on two records with mistyped names)
            for (level, c) in levels.iter_mut().zip(&self.comparisons) {
                if *level == Level::Exact && matches!(c.kind, Kind::Email | Kind::Phone) {
                    *level = Level::Missing;
                }
            }
        }
        levels
    }

    /// Are the two records clearly two different people, whatever they
    /// share: their first names are not even near each other (initials,
    /// nicknames and one slip are close; two slips, `frank`/`rfsnk`, are
    /// near: [`compare::unlike_names`]; a pair read crosswise — first and
    /// last name swapped — agrees better that way and never counts) or
    /// their birthdays disagree. A pass never puts two such records into
    /// one cluster unless the pair itself scores as a merge
    /// ([`super::batch`]).
    ///
    /// Stricter, for scoring: first names that compare different (even if
    /// near) make an e-mail address or phone number both carry one they
    /// share (a household's, an office's), not evidence that they are one
    /// person — [`Self::levels_in`] counts it as no evidence (missing), so
    /// `Bruno` and `Brunhilde` on a family's address are not merged on it.
    pub fn different_people(&self, a: &(impl Side + ?Sized), b: &(impl Side + ?Sized)) -> bool {
        let (levels, swapped) = self.read(a, b);
        self.clearly_different(&levels, swapped, Some((a, b)))
    }

    /// The levels as compared, and whether the first two name comparisons
    /// were taken crosswise.
    fn read(&self, a: &(impl Side + ?Sized), b: &(impl Side + ?Sized)) -> (Vec<Level>, bool) {
        let mut levels: Vec<Level> = self
            .comparisons
            .iter()
            .enumerate()
            .map(
                |(k, c)| match compare::level_in(c.kind, a.values(k), b.values(k)) {
                    Level::Exact if self.only_common(k, a, b) => Level::Close,
                    level => level,
                },
            )
            .collect();
        self.streets_in_their_postcode(&mut levels);
        let mut swapped = false;
        if let Some((i, j)) = self.name_pair() {
            let cross_i = compare::level_in(Kind::Name, a.values(i), b.values(j));
            let cross_j = compare::level_in(Kind::Name, a.values(j), b.values(i));
            let rank = |l: Level| match l {
                Level::Exact => 3,
                Level::Close => 2,
                Level::Missing => 1,
                Level::Different => 0,
            };
            if rank(cross_i) + rank(cross_j) > rank(levels[i]) + rank(levels[j]) {
                levels[i] = cross_i;
                levels[j] = cross_j;
                swapped = true;
            }
        }
        (levels, swapped)
    }

    /// A street is an address only in its postcode: when the two records
    /// name different postcodes, one street name and number — `57 Park
    /// Road` in two towns — is no more than close.
    fn streets_in_their_postcode(&self, levels: &mut [Level]) {
        let postcode_differs = self
            .comparisons
            .iter()
            .zip(levels.iter())
            .any(|(c, l)| c.kind == Kind::Postcode && *l == Level::Different);
        if !postcode_differs {
            return;
        }
        for (c, l) in self.comparisons.iter().zip(levels.iter_mut()) {
            if c.kind == Kind::Street && *l == Level::Exact {
                *l = Level::Close;
            }
        }
    }

    /// The first two name comparisons (first and last name).
    fn name_pair(&self) -> Option<(usize, usize)> {
        let mut names =
            (0..self.comparisons.len()).filter(|&i| self.comparisons[i].kind == Kind::Name);
        Some((names.next()?, names.next()?))
    }

    /// See [`Self::different_people`]: with the two records (`unlike`),
    /// first names must also not be near; without, comparing different
    /// is enough.
    fn clearly_different<A: Side + ?Sized, B: Side + ?Sized>(
        &self,
        levels: &[Level],
        swapped: bool,
        unlike: Option<(&A, &B)>,
    ) -> bool {
        let first_names = !swapped
            && self.name_pair().is_some_and(|(i, _)| {
                levels[i] == Level::Different
                    && unlike.is_none_or(|(a, b)| compare::unlike_names(a.values(i), b.values(i)))
            });
        first_names
            || (self.comparisons.iter().zip(levels))
                .any(|(c, l)| c.kind == Kind::Date && *l == Level::Different)
    }

    /// Whether every value two forms share is a common one.
    fn only_common(&self, k: usize, a: &(impl Side + ?Sized), b: &(impl Side + ?Sized)) -> bool {
        let Some(common) = self.common.get(k).filter(|c| !c.is_empty()) else {
            return false;
        };
        a.values(k)
            .filter(|x| b.values(k).any(|y| y == *x))
            .all(|x| common.contains(x))
    }

    /// Each comparison's weight for its level and whether it counts (in a
    /// group only the strongest agreement does).
    fn weights(&self, levels: &[Level], tf: &[f64]) -> Vec<(f64, bool)> {
        let w: Vec<f64> = self
            .comparisons
            .iter()
            .zip(levels)
            .enumerate()
            .map(|(k, (c, &level))| c.weight(level) + tf.get(k).copied().unwrap_or(0.0))
            .collect();
        self.comparisons
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let stronger = c.group.as_ref().is_some_and(|g| {
                    self.comparisons.iter().enumerate().any(|(j, d)| {
                        j != i
                            && d.group.as_ref() == Some(g)
                            && w[j] > 0.0
                            && (w[j] > w[i] || (w[j] == w[i] && j < i))
                    })
                });
                (w[i], !(w[i] > 0.0 && stronger))
            })
            .collect()
    }

    /// The log2 odds and the probability of a pair from its levels.
    fn odds(&self, weights: &[(f64, bool)]) -> (f64, f64) {
        let prior = (clamp(self.prior) / (1.0 - clamp(self.prior))).log2();
        let log2_odds = prior
            + weights
                .iter()
                .filter(|(_, counted)| *counted)
                .map(|(w, _)| w)
                .sum::<f64>();
        let odds = log2_odds.exp2();
        (log2_odds, odds / (1.0 + odds))
    }

    /// The match probability of a pair from its levels alone (no
    /// term-frequency adjustment: what estimation works with).
    pub fn probability(&self, levels: &[Level]) -> f64 {
        self.odds(&self.weights(levels, &[])).1
    }

    /// The match probability of two records' forms, each exact agreement
    /// adjusted for how common the shared value is: what a pass, the
    /// index and matching on ingest decide by ([`Self::score_in`]
    /// explains it).
    pub fn probability_in(&self, a: &(impl Side + ?Sized), b: &(impl Side + ?Sized)) -> f64 {
        self.probability_with(a, b, &self.levels_in(a, b))
    }

    /// [`Self::probability_in`] with the pair's levels already compared
    /// ([`Self::levels_in`]).
    pub fn probability_with(
        &self,
        a: &(impl Side + ?Sized),
        b: &(impl Side + ?Sized),
        levels: &[Level],
    ) -> f64 {
        let tf = self.adjustments(a, b, levels);
        self.odds(&self.weights(levels, &tf)).1
    }

    /// Score a pair from its levels (no term-frequency adjustment).
    pub fn score_levels(&self, levels: &[Level]) -> Score {
        self.explained(levels, &[])
    }

    fn explained(&self, levels: &[Level], tf: &[f64]) -> Score {
        let weights = self.weights(levels, tf);
        let (log2_odds, probability) = self.odds(&weights);
        let parts = self
            .comparisons
            .iter()
            .zip(levels)
            .zip(&weights)
            .enumerate()
            .map(|(k, ((c, &level), &(weight, counted)))| Part {
                field: c.field.clone(),
                level,
                weight,
                tf: tf.get(k).copied().unwrap_or(0.0),
                counted,
            })
            .collect();
        Score {
            log2_odds,
            probability,
            parts,
        }
    }

    /// Score two records' forms as [`Self::probability_in`] does, field
    /// by field.
    pub fn score_in(&self, a: &(impl Side + ?Sized), b: &(impl Side + ?Sized)) -> Score {
        let levels = self.levels_in(a, b);
        let tf = self.adjustments(a, b, &levels);
        self.explained(&levels, &tf)
    }

    /// Score a pair of records.
    pub fn score(&self, a: &Fields, b: &Fields) -> Score {
        self.score_in(&self.forms(a), &self.forms(b))
    }

    /// Per comparison, the term-frequency adjustment of an exact
    /// agreement (0 for other levels): by the rarest value the two share.
    pub fn adjustments(
        &self,
        a: &(impl Side + ?Sized),
        b: &(impl Side + ?Sized),
        levels: &[Level],
    ) -> Vec<f64> {
        if self.population < TF_POPULATION {
            return Vec::new();
        }
        (0..self.comparisons.len())
            .map(|k| {
                if levels[k] != Level::Exact {
                    return 0.0;
                }
                let counts = self.frequencies.get(k);
                let rarest = a
                    .values(k)
                    .filter(|x| b.values(k).any(|y| y == *x))
                    .map(|x| counts.and_then(|c| c.get(x)).copied().unwrap_or(0))
                    .min()
                    .unwrap_or(0);
                self.adjustment(k, rarest)
            })
            .collect()
    }

    /// The term-frequency adjustment of agreeing exactly, at comparison
    /// `k`, on a value `carriers` people carry (the pair's among them):
    /// `log2(u / u_v)` where `u_v`, the chance that two records agree on
    /// that value by chance, is the share of the *other* people carrying
    /// it, `(carriers − 2) / population`. Never positive (a value rarer
    /// than the comparison's `u` keeps its weight) and never stronger for
    /// a commoner value. Below [`TF_POPULATION`] records a share says too
    /// little and nothing is adjusted.
    pub fn adjustment(&self, k: usize, carriers: u32) -> f64 {
        let Some(c) = self.comparisons.get(k) else {
            return 0.0;
        };
        if self.population < TF_POPULATION {
            return 0.0;
        }
        let u_value = f64::from(carriers.saturating_sub(2)) / self.population as f64;
        let u = clamp(c.u[0]);
        match u_value > u {
            true => (u / u_value).log2(),
            false => 0.0,
        }
    }

    /// Estimate `m` and the prior by expectation maximisation over the
    /// levels of candidate pairs (`u` stays as given: estimate it from
    /// random pairs with [`u_from_random`], which blocking does not bias).
    pub fn estimate(&mut self, pairs: &[Vec<Level>], rounds: usize) {
        if pairs.is_empty() {
            return;
        }
        for _ in 0..rounds {
            let p: Vec<f64> = pairs.iter().map(|l| self.probability(l)).collect();
            let total: f64 = p.iter().sum();
            self.prior = (total / pairs.len() as f64).clamp(1e-4, 0.9999);
            for (k, c) in self.comparisons.iter_mut().enumerate() {
                let mut counts = [0.0; 3];
                for (levels, pm) in pairs.iter().zip(&p) {
                    if let Some(i) = levels[k].index() {
                        counts[i] += pm;
                    }
                }
                let n: f64 = counts.iter().sum();
                if n > 0.0 {
                    c.m = counts.map(|x| (x / n).clamp(1e-4, 1.0));
                }
            }
        }
    }
}

/// `u` of each comparison from pairs of records drawn at random (nearly
/// all non-matches): the share of each level among them. The draws come
/// in eight fixed streams, spread over the cores; the result depends on
/// the seed only.
pub fn u_from_random(model: &mut Model, forms: &[impl Side + Sync], samples: usize, seed: u64) {
    if forms.len() < 2 {
        return;
    }
    const STREAMS: usize = 8;
    let per = samples.div_ceil(STREAMS);
    let m = &*model;
    let streams = parallel(STREAMS, 1, |range| {
        range
            .map(|s| level_counts(m, forms, per, seed.wrapping_add(s as u64)))
            .collect()
    });
    let mut counts = vec![[1.0f64; 3]; model.comparisons.len()]; // Laplace
    for stream in streams {
        for (total, c) in counts.iter_mut().zip(stream) {
            for x in 0..3 {
                total[x] += c[x];
            }
        }
    }
    for (c, cnt) in model.comparisons.iter_mut().zip(counts) {
        let total: f64 = cnt.iter().sum();
        c.u = cnt.map(|x| x / total);
    }
}

/// How often each level comes up among `samples` random pairs.
fn level_counts(model: &Model, forms: &[impl Side], samples: usize, seed: u64) -> Vec<[f64; 3]> {
    let mut state = seed | 1;
    let mut next = || {
        // xorshift64: deterministic sampling without a dependency
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let n = forms.len() as u64;
    let mut counts = vec![[0.0f64; 3]; model.comparisons.len()];
    for _ in 0..samples {
        let (i, j) = ((next() % n) as usize, (next() % n) as usize);
        if i == j {
            continue;
        }
        for (k, level) in model
            .levels_in(&forms[i], &forms[j])
            .into_iter()
            .enumerate()
        {
            if let Some(x) = level.index() {
                counts[k][x] += 1.0;
            }
        }
    }
    counts
}

/// What to do with a pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Merge automatically.
    Merge,
    /// Queue for a person.
    Review,
    /// Keep apart.
    Apart,
}

/// The decision for a probability under the two thresholds.
pub fn decide(probability: f64, auto_merge: f64, review: f64) -> Decision {
    if probability >= auto_merge {
        Decision::Merge
    } else if probability >= review {
        Decision::Review
    } else {
        Decision::Apart
    }
}
