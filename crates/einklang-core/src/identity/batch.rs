//! Deduplicating a set of records in one pass (`einklang dedupe`): block,
//! compare the candidate pairs, estimate the model from the data when
//! asked, score, decide, and cluster the pairs to merge, strongest first,
//! never joining two records that are clearly different people
//! ([`Model::different_people`]) and do not score as a merge themselves:
//! the pair that would join them goes to review instead.
//! Pure: the records come in, the plan goes out.
//!
//! A million records fit: each record is normalised once into packed
//! forms and hashed block keys ([`Prepared`], fed in chunks so the caller
//! need not hold every record), and the work is spread over the machine's
//! cores in fixed chunks, so the plan does not depend on their number.

use super::block::{self, Rule};
use super::compare::{self, Kind, Level};
use super::em;
use super::model::{decide, u_from_random, Decision, Forms, Model};
use super::packed::{Packed, Side};
use crate::record::{Fields, Value};
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use xxhash_rust::xxh3::xxh3_64;

/// The settings of one pass.
pub struct Settings<'a> {
    /// Blocking rules.
    pub block: &'a [Rule],
    /// Blocks larger than this pair nothing.
    pub max_block: usize,
    /// Refine the model from these records first: `u` from random pairs.
    pub estimate: bool,
    /// And `m` by expectation maximisation over the candidate pairs, one
    /// session per blocking rule ([`em`]; `estimate = "em"`).
    pub em: bool,
    /// Merge at or above.
    pub auto_merge: f64,
    /// Review at or above.
    pub review: f64,
}

/// One scored candidate pair (indices into the records).
#[derive(Clone, Debug)]
pub struct Pair {
    /// First record.
    pub a: usize,
    /// Second record.
    pub b: usize,
    /// Its match probability (`Model::score` explains it; the plan keeps
    /// only the number: millions of pairs must fit in memory).
    pub probability: f64,
    /// What to do.
    pub decision: Decision,
}

/// The outcome of a pass.
pub struct Plan {
    /// Every candidate pair, scored, highest probability first.
    pub pairs: Vec<Pair>,
    /// Groups of records joined by pairs to merge.
    pub clusters: Vec<Vec<usize>>,
    /// With `em`: each comparison's field and the `m` the pass scored
    /// with, as EM left it (what a config can pin with `m = [...]`).
    pub trained_m: Vec<(String, [f64; 3])>,
}

/// An identifier value carried by more records than this is not one
/// person's own (one person appears once per source, rarely more than ten
/// times). Fewer people sharing one (a family, a small office) are told
/// apart by their first names ([`Model::different_people`]), so this
/// stays high enough that a person with many records keeps their
/// address as evidence.
pub const COMMON: usize = 10;

/// Make `model` ready for `records`: their normalised forms (returned,
/// one per record), the identifier values too common to be evidence, and
/// with `estimate` the `u` probabilities from random pairs. `einklang
/// explain` calls this too, so it scores a pair as the pass does.
pub fn prepare(model: &mut Model, estimate: bool, records: &[Fields]) -> Vec<Forms> {
    let forms: Vec<Forms> = records.iter().map(|r| model.forms(r)).collect();
    fit(model, estimate, &forms);
    forms
}

/// The part of [`prepare`] that needs only the forms.
fn fit(model: &mut Model, estimate: bool, forms: &[impl Side + Sync]) {
    model.common = common_values(model, forms.iter());
    model.frequencies = frequencies(model, forms.iter());
    model.population = forms.len() as u64;
    if estimate && forms.len() >= 10 {
        let samples = (forms.len() * 20).clamp(1_000, 200_000);
        u_from_random(model, forms, samples, 42);
    }
}

/// Per comparison, the e-mail and phone values that more than a few of
/// these records carry (what [`Model::common`] holds); other kinds get an
/// empty set.
pub fn common_values<'a, S: Side + Sync + 'a>(
    model: &Model,
    forms: impl Iterator<Item = &'a S> + Clone + Sync,
) -> Vec<HashSet<String>> {
    per_comparison(model, |k, kind| {
        if !matches!(kind, Kind::Email | Kind::Phone) {
            return HashSet::new();
        }
        // hashed and sorted: no map of a million strings
        let mut hashes: Vec<u64> = (forms.clone())
            .flat_map(|r| r.values(k).map(|f| xxh3_64(f.as_bytes())))
            .collect();
        hashes.sort_unstable();
        let common: HashSet<u64> = hashes
            .chunk_by(|x, y| x == y)
            .filter(|run| run.len() > COMMON)
            .map(|run| run[0])
            .collect();
        drop(hashes);
        match common.is_empty() {
            true => HashSet::new(),
            false => (forms.clone())
                .flat_map(|r| r.values(k))
                .filter(|f| common.contains(&xxh3_64(f.as_bytes())))
                .map(str::to_string)
                .collect(),
        }
    })
}

/// `f(k, kind)` for each comparison, the comparisons spread over the
/// cores, results in order.
fn per_comparison<T: Send>(model: &Model, f: impl Fn(usize, Kind) -> T + Sync) -> Vec<T> {
    let kinds: Vec<Kind> = model.comparisons.iter().map(|c| c.kind).collect();
    parallel(kinds.len(), 2, |range| {
        range.map(|k| f(k, kinds[k])).collect()
    })
}

/// Per comparison, how many different people among these records carry
/// each value that three or more carry (what [`Model::frequencies`]
/// holds). People are told apart by the other name comparisons' values
/// (a surname's carriers by their first names, an e-mail's by first and
/// last name): one person's six records with one address count as one
/// carrier, not six. A value two carry is as rare as a value can be for a
/// pair, and leaving such values out keeps the table small.
pub fn frequencies<'a, S: Side + Sync + 'a>(
    model: &Model,
    forms: impl Iterator<Item = &'a S> + Clone + Sync,
) -> Vec<HashMap<String, u32>> {
    let names: Vec<usize> = (0..model.comparisons.len())
        .filter(|&k| model.comparisons[k].kind == Kind::Name)
        .collect();
    // who each record is, once: slot 0 hashes all its names (the person
    // carrying an e-mail), slot 1 + i all but name comparison i (the
    // person carrying that surname)
    let stride = names.len() + 1;
    let mut persons: Vec<u64> = Vec::new();
    let mut who = String::new();
    for r in forms.clone() {
        for leave in 0..stride {
            who.clear();
            let kept = names.iter().enumerate().filter(|&(i, _)| i + 1 != leave);
            for (_, &n) in kept {
                who.push_str(r.values(n).next().unwrap_or(""));
                who.push('|');
            }
            persons.push(xxh3_64(who.as_bytes()));
        }
    }
    per_comparison(model, |k, _| {
        let slot = names.iter().position(|&n| n == k).map_or(0, |i| i + 1);
        // (value, person) hashed, sorted and made unique: no map of a
        // million values with a list each
        let mut seen: Vec<(u64, u64)> = Vec::new();
        for (x, r) in forms.clone().enumerate() {
            let person = persons[x * stride + slot];
            seen.extend(r.values(k).map(|f| (xxh3_64(f.as_bytes()), person)));
        }
        seen.sort_unstable();
        seen.dedup();
        let common: HashMap<u64, u32> = seen
            .chunk_by(|x, y| x.0 == y.0)
            .filter(|people| people.len() >= 3)
            .map(|people| (people[0].0, people.len() as u32))
            .collect();
        drop(seen);
        let mut out = HashMap::new();
        if common.is_empty() {
            return out;
        }
        for r in forms.clone() {
            for f in r.values(k) {
                if let Some(&n) = common.get(&xxh3_64(f.as_bytes())) {
                    out.entry(f.to_string()).or_insert(n);
                }
            }
        }
        out
    })
}

/// Records normalised for a pass: packed forms and hashed block keys.
#[derive(Default)]
pub struct Prepared {
    pub(crate) forms: Vec<Packed>,
    pub(crate) keys: Vec<(u64, u32, u8)>,
}

impl Prepared {
    /// Nothing yet.
    pub fn new() -> Prepared {
        Prepared::default()
    }

    /// Add records (normalised on every core).
    pub fn extend(&mut self, model: &Model, rules: &[Rule], records: &[Fields]) {
        let base = self.forms.len();
        let done = parallel(records.len(), 256, |range| {
            let mut memo = Memo::default();
            range
                .map(|i| normalise(model, rules, &records[i], &mut memo))
                .collect()
        });
        self.push(base, done);
    }

    /// Add records as an iterator yields them: this thread reads them, a
    /// batch at a time, while threads that live for the whole stream (so
    /// their caches do: the phone patterns, the memo of recurring values)
    /// normalise them on every core. The caller need not hold the records.
    /// Returns the time spent inside the iterator.
    pub fn extend_from(
        &mut self,
        model: &Model,
        rules: &[Rule],
        records: impl Iterator<Item = Fields>,
    ) -> std::time::Duration {
        use std::sync::{mpsc, Mutex};
        const BATCH: usize = 512;
        let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
        let (send, receive) = mpsc::sync_channel::<(usize, Vec<Fields>)>(threads * 4);
        let receive = Mutex::new(receive);
        let work = || {
            let mut memo = Memo::default();
            let mut out = Vec::new();
            loop {
                let next = receive.lock().expect("a pass thread panicked").recv();
                let Ok((n, batch)) = next else { return out };
                let done: Vec<_> = batch
                    .iter()
                    .map(|r| normalise(model, rules, r, &mut memo))
                    .collect();
                out.push((n, done));
            }
        };
        let mut reading = std::time::Duration::ZERO;
        let mut batches: Vec<(usize, Vec<Normalised>)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
            let mut records = records.fuse();
            for n in 0.. {
                let started = std::time::Instant::now();
                let batch: Vec<Fields> = records.by_ref().take(BATCH).collect();
                reading += started.elapsed();
                if batch.is_empty() || send.send((n, batch)).is_err() {
                    break;
                }
            }
            drop(send);
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("a pass thread panicked"))
                .collect()
        });
        batches.sort_unstable_by_key(|b| b.0);
        let base = self.forms.len();
        self.push(base, batches.into_iter().flat_map(|b| b.1).collect());
        reading
    }

    fn push(&mut self, base: usize, done: Vec<Normalised>) {
        for (i, (forms, keys)) in done.into_iter().enumerate() {
            let id = (base + i) as u32;
            self.keys
                .extend(keys.into_iter().map(|(k, rule)| (k, id, rule)));
            self.forms.push(forms);
        }
    }

    /// Fit `model` to these records exactly as [`run_prepared`] would
    /// before scoring (with `settings.em` that needs their candidate
    /// pairs), without scoring them: what `explain` scores with when the
    /// pass trains `m`.
    pub fn fit_as_pass(self, model: &mut Model, settings: &Settings<'_>) {
        match settings.em {
            true => drop(compared(model, settings, &self.forms, self.keys)),
            false => fit(model, settings.estimate, &self.forms),
        }
    }

    /// How many records.
    pub fn len(&self) -> usize {
        self.forms.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// Record `i`'s forms.
    pub fn forms(&self, i: usize) -> &Packed {
        &self.forms[i]
    }
}

/// The forms of values that recur (names, streets, companies,
/// postcodes), normalised once per thread and chunk; identifiers are
/// nearly all distinct and are not remembered.
#[derive(Default)]
struct Memo([HashMap<String, Vec<String>>; 8]);

impl Memo {
    fn forms(&mut self, kind: Kind, value: Option<&Value>, region: &str) -> Vec<String> {
        let text = match value {
            Some(Value::String(t)) if !matches!(kind, Kind::Email | Kind::Phone | Kind::Date) => t,
            _ => return compare::forms(kind, value, region),
        };
        let memo = &mut self.0[kind as usize];
        if let Some(f) = memo.get(text.as_str()) {
            return f.clone();
        }
        let f = compare::forms(kind, value, region);
        if memo.len() >= 50_000 {
            memo.clear();
        }
        memo.insert(text.clone(), f.clone());
        f
    }
}

/// A record's packed forms and hashed block keys, each with its rule.
type Normalised = (Packed, Vec<(u64, u8)>);

/// One record's packed forms and hashed keys, each field normalised once
/// for both.
fn normalise(model: &Model, rules: &[Rule], record: &Fields, memo: &mut Memo) -> Normalised {
    let region = &*model.region_of(record);
    let forms: Forms = model
        .comparisons
        .iter()
        .map(|c| memo.forms(c.kind, record.get(&c.field), region))
        .collect();
    let mut forms_of = |field: &str, kind: Kind| match model
        .comparisons
        .iter()
        .position(|c| c.field == field && c.kind == kind)
    {
        Some(k) => forms[k].clone(),
        None => memo.forms(kind, record.get(field), region),
    };
    let mut keys: Vec<(u64, u8)> = block::keys_by_rule(rules, &mut forms_of)
        .iter()
        .map(|(rule, k)| (xxh3_64(k.as_bytes()), (*rule).min(255) as u8))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    (Packed::new(&forms), keys)
}

/// Run a pass over `records`; `model` is refined in place when
/// `settings.estimate`.
pub fn run(model: &mut Model, settings: &Settings<'_>, records: &[Fields]) -> Plan {
    let mut prepared = Prepared::new();
    prepared.extend(model, settings.block, records);
    run_prepared(model, settings, prepared)
}

/// [`run`] over records already normalised (with the same model and
/// `settings.block`).
pub fn run_prepared(model: &mut Model, settings: &Settings<'_>, prepared: Prepared) -> Plan {
    let Prepared { forms, keys } = prepared;
    let (candidates, levels) = compared(model, settings, &forms, keys);
    let n = model.comparisons.len();
    let model = &*model;
    let mut pairs: Vec<Pair> = parallel(candidates.len(), 1024, |range| {
        range
            .map(|p| {
                let (a, b) = (candidates[p].0 as usize, candidates[p].1 as usize);
                let levels = &levels[p * n..(p + 1) * n];
                let probability = model.probability_with(&forms[a], &forms[b], levels);
                let decision = decide(probability, settings.auto_merge, settings.review);
                Pair {
                    a,
                    b,
                    probability,
                    decision,
                }
            })
            .collect()
    });
    pairs.sort_by(|x, y| {
        y.probability
            .total_cmp(&x.probability)
            .then((x.a, x.b).cmp(&(y.a, y.b)))
    });
    let merging: Vec<usize> = (0..pairs.len())
        .filter(|&i| pairs[i].decision == Decision::Merge)
        .collect();
    let merges: Vec<(usize, usize)> = merging.iter().map(|&i| (pairs[i].a, pairs[i].b)).collect();
    // two records are kept apart when they are clearly different people
    // and do not score as a merge themselves (a replaced first name with
    // everything else agreeing still merges)
    let (clusters, refused) = block::coherent_clusters(forms.len(), &merges, |x, y| {
        model.different_people(&forms[x], &forms[y])
            && model.probability_in(&forms[x], &forms[y]) < settings.auto_merge
    });
    for r in refused {
        // it would join two different people: a person decides
        pairs[merging[r]].decision = Decision::Review;
    }
    let trained_m = match settings.em {
        true => (model.comparisons.iter())
            .map(|c| (c.field.clone(), c.m))
            .collect(),
        false => Vec::new(),
    };
    Plan {
        pairs,
        clusters,
        trained_m,
    }
}

/// Fit `model` as a pass does (`u`, frequencies, with `em` the `m` from
/// the candidate pairs) and return the candidate pairs `(a, b, rules)`
/// with their levels, one after the other.
fn compared(
    model: &mut Model,
    settings: &Settings<'_>,
    forms: &[Packed],
    keys: Vec<(u64, u32, u8)>,
) -> (Vec<(u32, u32, u32)>, Vec<Level>) {
    let candidates = block::hashed_pairs(keys, settings.max_block);
    fit(model, settings.estimate, forms);
    let levels: Vec<Level> = {
        let model = &*model;
        parallel(candidates.len(), 1024, |range| {
            candidates[range]
                .iter()
                .flat_map(|&(a, b, _)| model.levels_in(&forms[a as usize], &forms[b as usize]))
                .collect()
        })
    };
    if settings.em {
        let rules_of: Vec<u32> = candidates.iter().map(|c| c.2).collect();
        em::estimate_by_rule(model, settings.block, &levels, &rules_of);
    }
    (candidates, levels)
}

/// `f` over `0..n` split into one range per core (all in this thread
/// when `n < serial_below`), results in order.
pub(crate) fn parallel<T: Send>(
    n: usize,
    serial_below: usize,
    f: impl Fn(Range<usize>) -> Vec<T> + Sync,
) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    if threads < 2 || n < serial_below.max(2) {
        return f(0..n);
    }
    let step = n.div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .step_by(step)
            .map(|from| {
                let f = &f;
                s.spawn(move || f(from..(from + step).min(n)))
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a pass thread panicked"))
            .collect()
    })
}
