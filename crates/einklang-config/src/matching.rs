//! `[matching.ENTITY]`: how records of an entity are compared, blocked and
//! decided — the comparisons (field, kind, optional correlation group),
//! the blocking rules, the two thresholds — checked against the entity.
//!
//! ```toml
//! [matching.contact]
//! compare = [
//!   { field = "first_name", kind = "name" },
//!   { field = "last_name", kind = "name" },
//!   { field = "emails", kind = "email", m = [0.9, 0.0, 0.1] },
//!   { field = "phones", kind = "phone", group = "workplace" },
//!   { field = "company", kind = "company", group = "workplace" },
//! ]
//! block = [{ field = "emails", kind = "email" }, { phonetic = ["first_name", "last_name"] }]
//! auto_merge = 0.95
//! review = 0.6
//! ```

use crate::ctx::{hint, number, shown, Ctx, Val};
use einklang_core::identity::block::Rule;
use einklang_core::identity::compare::Kind;
use einklang_core::identity::model::{Comparison, Model};
use einklang_core::identity::survive::Survivorship;
use einklang_core::EntitySchema;
use std::collections::BTreeMap;
use toml::de::DeValue;

/// The matching of one entity.
#[derive(Clone, Debug, PartialEq)]
pub struct Matching {
    /// The comparisons with their starting probabilities.
    pub model: Model,
    /// How candidate pairs are found.
    pub block: Vec<Rule>,
    /// At or above: merge automatically.
    pub auto_merge: f64,
    /// At or above (below `auto_merge`): queue for review.
    pub review: f64,
    /// Estimate `u` from random pairs of the data before scoring.
    pub estimate: bool,
    /// Also estimate `m` by EM over a pass's candidate pairs, one session
    /// per blocking rule (`estimate = "em"`).
    pub em: bool,
    /// Blocks larger than this pair nothing.
    pub max_block: usize,
    /// Which values a merged record keeps.
    pub survive: Survivorship,
    /// Match every record a read creates against the hub (default true).
    pub ingest: bool,
}

const KEYS: [&str; 9] = [
    "ingest",
    "region_from",
    "survive",
    "compare",
    "block",
    "auto_merge",
    "review",
    "estimate",
    "max_block",
];
const KINDS: [(&str, Kind); 8] = [
    ("email", Kind::Email),
    ("phone", Kind::Phone),
    ("name", Kind::Name),
    ("company", Kind::Company),
    ("street", Kind::Street),
    ("postcode", Kind::Postcode),
    ("text", Kind::Text),
    ("date", Kind::Date),
];

/// Parse `[matching]`.
pub fn parse(
    ctx: &mut Ctx<'_>,
    v: &Val<'_>,
    entities: &BTreeMap<String, EntitySchema>,
    region: &str,
    connectors: &[String],
) -> BTreeMap<String, Matching> {
    let mut out = BTreeMap::new();
    let Some(table) = ctx.table(v, "`matching`") else {
        return out;
    };
    for (key, m_v) in table.iter() {
        let entity = key.get_ref().to_string();
        let Some(schema) = entities.get(&entity) else {
            let known: Vec<&str> = entities.keys().map(String::as_str).collect();
            let tip = hint(&entity, &known);
            ctx.error(
                key.span(),
                format!("matching.{entity}: unknown entity `{entity}`{tip}"),
            );
            continue;
        };
        if let Some(m) = entity_matching(ctx, schema, m_v, (region, connectors)) {
            out.insert(entity, m);
        }
    }
    out
}

fn entity_matching(
    ctx: &mut Ctx<'_>,
    schema: &EntitySchema,
    v: &Val<'_>,
    (region, connectors): (&str, &[String]),
) -> Option<Matching> {
    let what = format!("matching.{}", schema.name);
    let t = ctx.table(v, &what)?;
    ctx.unknown_keys(t, &KEYS, &format!("[{what}]"));
    // without `compare` the rest is still checked, so every problem shows
    let comparisons = match t.get("compare") {
        Some(compare_v) => list(ctx, compare_v, &format!("{what}.compare"))
            .into_iter()
            .filter_map(|item| comparison(ctx, schema, item, &what))
            .collect::<Vec<_>>(),
        None => {
            ctx.error(v.span(), format!("{what} needs `compare`: the fields to compare, such as [{{ field = \"emails\", kind = \"email\" }}]"));
            Vec::new()
        }
    };
    let block = match t.get("block") {
        Some(b) => list(ctx, b, &format!("{what}.block"))
            .into_iter()
            .filter_map(|item| rule(ctx, schema, item, &what))
            .collect(),
        None => default_block(&comparisons),
    };
    let auto_merge = threshold(
        ctx,
        t.get("auto_merge"),
        &format!("{what}.auto_merge"),
        0.95,
    );
    let review = threshold(ctx, t.get("review"), &format!("{what}.review"), 0.6);
    if review > auto_merge {
        let span = t.get("review").map(|r| r.span()).unwrap_or(v.span());
        ctx.error(
            span,
            format!("{what}: `review` ({review}) must not be above `auto_merge` ({auto_merge})"),
        );
    }
    let (estimate, em) = match t.get("estimate") {
        None => (true, false),
        Some(e) => match e.get_ref() {
            DeValue::Boolean(b) => (*b, false),
            DeValue::String(s) if s == "em" => (true, true),
            other => {
                ctx.error(
                    e.span(),
                    format!(
                        "`{what}.estimate` must be true, false or \"em\", found {}",
                        match other {
                            DeValue::String(s) => format!("\"{s}\""),
                            v => v.type_str().to_string(),
                        }
                    ),
                );
                (true, false)
            }
        },
    };
    let max_block = match t.get("max_block").map(|m| (m, number(m.get_ref()))) {
        None => 1000,
        Some((_, Some(n))) if n >= 2.0 && n.fract() == 0.0 => n as usize,
        Some((m, _)) => {
            ctx.error(
                m.span(),
                format!(
                    "`{what}.max_block` must be a whole number of at least 2, found {}",
                    shown(m.get_ref())
                ),
            );
            1000
        }
    };
    let ingest = t
        .get("ingest")
        .and_then(|e| ctx.boolean(e, &format!("`{what}.ingest`")))
        .unwrap_or(true);
    let survive = crate::survive::parse(ctx, t.get("survive"), schema, connectors, &what);
    let region_from = t
        .get("region_from")
        .and_then(|f| field(ctx, schema, f, &format!("`{what}.region_from`")));
    if comparisons.is_empty() {
        return None;
    }
    Some(Matching {
        model: Model {
            comparisons,
            prior: 0.01,
            region: region.to_string(),
            region_from,
            common: Vec::new(),
            frequencies: Vec::new(),
            population: 0,
        },
        block,
        auto_merge,
        review,
        estimate,
        em,
        max_block,
        survive,
        ingest,
    })
}

fn list<'v, 'i>(ctx: &mut Ctx<'_>, v: &'v Val<'i>, what: &str) -> Vec<&'v Val<'i>> {
    match v.get_ref() {
        DeValue::Array(items) => items.iter().collect(),
        other => {
            ctx.error(
                v.span(),
                format!(
                    "{what} must be a list of tables, found {}",
                    other.type_str()
                ),
            );
            Vec::new()
        }
    }
}

fn field(ctx: &mut Ctx<'_>, schema: &EntitySchema, v: &Val<'_>, what: &str) -> Option<String> {
    let name = ctx.text(v, what)?;
    if schema.fields.iter().any(|f| f.name == name) {
        return Some(name);
    }
    let known: Vec<&str> = schema.fields.iter().map(|f| f.name.as_str()).collect();
    let tip = hint(&name, &known);
    ctx.error(
        v.span(),
        format!(
            "{what}: entity `{}` has no field `{name}`{tip}",
            schema.name
        ),
    );
    None
}

fn comparison(
    ctx: &mut Ctx<'_>,
    schema: &EntitySchema,
    v: &Val<'_>,
    what: &str,
) -> Option<Comparison> {
    let t = ctx.table(v, &format!("an entry of {what}.compare"))?;
    ctx.unknown_keys(
        t,
        &["field", "kind", "group", "m", "u"],
        &format!("an entry of {what}.compare"),
    );
    let Some(f_v) = t.get("field") else {
        ctx.error(
            v.span(),
            format!("an entry of {what}.compare needs `field`"),
        );
        return None;
    };
    let f = field(ctx, schema, f_v, &format!("{what}.compare"));
    let kind = match t.get("kind") {
        Some(k) => kind(ctx, k, what),
        None => {
            ctx.error(
                v.span(),
                format!("an entry of {what}.compare needs `kind` ({})", kind_names()),
            );
            None
        }
    };
    let group = t
        .get("group")
        .and_then(|g| ctx.text(g, &format!("`group` in {what}.compare")));
    let mut c = Comparison::new(&f?, kind?, group.as_deref());
    for (key, target) in [("m", &mut c.m), ("u", &mut c.u)] {
        if let Some(p) = t.get(key).and_then(|p| levels(ctx, p, key, what)) {
            *target = p;
        }
    }
    Some(c)
}

/// `m` or `u` of a comparison: the probabilities of exact, close and
/// different agreement, three numbers from 0 to 1 that add up to 1.
fn levels(ctx: &mut Ctx<'_>, v: &Val<'_>, key: &str, what: &str) -> Option<[f64; 3]> {
    let numbers: Option<Vec<f64>> = match v.get_ref() {
        DeValue::Array(items) => items.iter().map(|i| number(i.get_ref())).collect(),
        _ => None,
    };
    match numbers.as_deref() {
        Some(&[e, c, d])
            if [e, c, d].iter().all(|p| (0.0..=1.0).contains(p))
                && (e + c + d - 1.0).abs() < 1e-6 =>
        {
            Some([e, c, d])
        }
        _ => {
            ctx.error(
                v.span(),
                format!(
                    "`{key}` in {what}.compare must be three probabilities for exact, close and different agreement that add up to 1, such as [0.9, 0.05, 0.05]; found {}",
                    shown(v.get_ref())
                ),
            );
            None
        }
    }
}

fn kind(ctx: &mut Ctx<'_>, v: &Val<'_>, what: &str) -> Option<Kind> {
    let name = ctx.text(v, &format!("`kind` in {what}"))?;
    let found = KINDS.iter().find(|(n, _)| *n == name).map(|(_, k)| *k);
    if found.is_none() {
        let names: Vec<&str> = KINDS.iter().map(|(n, _)| *n).collect();
        let tip = hint(&name, &names);
        ctx.error(
            v.span(),
            format!(
                "{what}: unknown kind `{name}`{tip} (one of {})",
                kind_names()
            ),
        );
    }
    found
}

fn kind_names() -> String {
    KINDS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

fn rule(ctx: &mut Ctx<'_>, schema: &EntitySchema, v: &Val<'_>, what: &str) -> Option<Rule> {
    let t = ctx.table(v, &format!("an entry of {what}.block"))?;
    if let Some(all) = t.get("all") {
        let parts: Vec<Rule> = list(ctx, all, &format!("`all` in {what}.block"))
            .into_iter()
            .filter_map(|p| rule(ctx, schema, p, what))
            .collect();
        if parts.len() < 2 {
            ctx.error(all.span(), format!("`all` in {what}.block combines two or more rules, such as [{{ phonetic = [\"first_name\", \"last_name\"] }}, {{ field = \"postcode\", kind = \"postcode\" }}]"));
            return None;
        }
        return Some(Rule::All(parts));
    }
    if let Some(e) = t.get("email_local") {
        let f = field(ctx, schema, e, &format!("{what}.block"))?;
        return Some(Rule::EmailLocal { field: f });
    }
    if let Some(p) = t.get("phonetic") {
        let names = ctx.texts(p, &format!("`phonetic` in {what}.block"))?;
        if names.len() != 2 {
            ctx.error(
                p.span(),
                format!("`phonetic` in {what}.block names two fields: [first name, last name]"),
            );
            return None;
        }
        for (n, span) in &names {
            if !schema.fields.iter().any(|f| &f.name == n) {
                ctx.error(
                    span.clone(),
                    format!("{what}.block: entity `{}` has no field `{n}`", schema.name),
                );
                return None;
            }
        }
        return Some(Rule::Phonetic {
            first: names[0].0.clone(),
            last: names[1].0.clone(),
        });
    }
    ctx.unknown_keys(
        t,
        &["field", "kind", "phonetic", "email_local", "all"],
        &format!("an entry of {what}.block"),
    );
    let (Some(f_v), Some(k_v)) = (t.get("field"), t.get("kind")) else {
        ctx.error(v.span(), format!("an entry of {what}.block is {{ field = …, kind = … }}, {{ phonetic = [first, last] }}, {{ email_local = FIELD }} or {{ all = [...] }}"));
        return None;
    };
    let f = field(ctx, schema, f_v, &format!("{what}.block"));
    let k = kind(ctx, k_v, what);
    Some(Rule::Field {
        field: f?,
        kind: k?,
    })
}

/// Without `block`: every compared e-mail and phone field, the local
/// part of each e-mail field, and the phonetic key of the first two name
/// fields — together with each compared postcode, street or date field
/// where there are such (a common name alone makes blocks of thousands:
/// 172 million candidate pairs for a million contacts), alone where there
/// are none.
fn default_block(comparisons: &[Comparison]) -> Vec<Rule> {
    let mut rules: Vec<Rule> = comparisons
        .iter()
        .filter(|c| matches!(c.kind, Kind::Email | Kind::Phone))
        .map(|c| Rule::Field {
            field: c.field.clone(),
            kind: c.kind,
        })
        .collect();
    rules.extend(
        comparisons
            .iter()
            .filter(|c| c.kind == Kind::Email)
            .map(|c| Rule::EmailLocal {
                field: c.field.clone(),
            }),
    );
    let names: Vec<&Comparison> = comparisons
        .iter()
        .filter(|c| c.kind == Kind::Name)
        .collect();
    if let [first, last, ..] = names[..] {
        let phonetic = Rule::Phonetic {
            first: first.field.clone(),
            last: last.field.clone(),
        };
        let narrowing: Vec<Rule> = comparisons
            .iter()
            .filter(|c| matches!(c.kind, Kind::Postcode | Kind::Street | Kind::Date))
            .map(|c| Rule::Field {
                field: c.field.clone(),
                kind: c.kind,
            })
            .collect();
        match narrowing.is_empty() {
            true => rules.push(phonetic),
            false => rules.extend(
                narrowing
                    .into_iter()
                    .map(|by| Rule::All(vec![phonetic.clone(), by])),
            ),
        }
    }
    rules
}

fn threshold(ctx: &mut Ctx<'_>, v: Option<&Val<'_>>, what: &str, default: f64) -> f64 {
    let Some(v) = v else { return default };
    match number(v.get_ref()) {
        Some(x) if (0.0..=1.0).contains(&x) => x,
        _ => {
            ctx.error(
                v.span(),
                format!(
                    "`{what}` must be a probability from 0 to 1, such as 0.9; found {}",
                    shown(v.get_ref())
                ),
            );
            default
        }
    }
}
