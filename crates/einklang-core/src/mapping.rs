//! Mappings: how one connector's raw records become records of one entity.
//!
//! A [`Mapping`] names the external id field, an optional filter over the raw
//! record, and one [`FieldRule`] per entity field: where the value comes from
//! ([`Source`]), which [`Transform`]s apply, in order, and in which
//! [`Direction`] the field syncs. [`Mapping::pull`] applies it to a raw record.

use crate::filter::Filter;
use crate::record::{Fields, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a mapped field's value comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Source {
    /// One field of the raw record (a rename when no transform follows).
    /// Dotted paths (`address.city`) reach into nested JSON objects.
    Field(String),
    /// Several raw fields, as a JSON array of their values (for `join`, list
    /// fields like `phones` from `Telefon` + `Mobil`, or `person_or_company`).
    Fields(Vec<String>),
    /// A constant value.
    Constant(Value),
}

/// Which part of a full name [`Transform::SplitName`] keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NamePart {
    /// Everything before the last word ("Anna Maria" of "Anna Maria Huber").
    First,
    /// The last word, with particles such as "van der", "von" ("van der Berg").
    Last,
}

/// Unit of an epoch timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EpochUnit {
    /// Seconds since 1970-01-01T00:00:00Z.
    Seconds,
    /// Milliseconds since 1970-01-01T00:00:00Z.
    Millis,
}

/// One value transform of a field rule. Applied in the order listed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Transform {
    /// Trim surrounding white space of strings (in lists: of every element).
    Trim,
    /// Lower-case strings.
    Lowercase,
    /// Upper-case strings.
    Uppercase,
    /// Replace a value by its entry in `map` (keys compared as strings, so
    /// `143` and `"143"` both hit `"143"`). Unmapped: `default` if set, else
    /// the value is kept unchanged when `passthrough`, else it is an error.
    ValueMap {
        /// Source value (as string) to hub value.
        map: BTreeMap<String, Value>,
        /// Value for keys not in `map`.
        default: Option<Value>,
        /// Keep unmapped values as they are instead of failing.
        passthrough: bool,
    },
    /// Parse a date string in a chrono `strftime` format into `YYYY-MM-DD`.
    Date {
        /// e.g. `"%d.%m.%Y"`.
        format: String,
    },
    /// Parse a date-time string in a chrono format; when the format has no
    /// zone the value is taken in `tz` (IANA name). Output: RFC 3339 UTC.
    DateTime {
        /// e.g. `"%Y-%m-%d %H:%M:%S"` (EspoCRM).
        format: String,
        /// Zone for values without one, e.g. `"UTC"` or `"Europe/Berlin"`.
        tz: String,
    },
    /// An epoch number (or numeric string) into RFC 3339 UTC.
    Epoch {
        /// Seconds or milliseconds.
        unit: EpochUnit,
    },
    /// Keep one part of a full name.
    SplitName {
        /// First or last part.
        part: NamePart,
    },
    /// The first non-empty of a list of values (from [`Source::Fields`]):
    /// a fallback between fields (seed 003: a booking's delivery time,
    /// else its collection time). Read only: a write could not tell which
    /// field to set.
    First,
    /// Join a list of values (from [`Source::Fields`]) with `sep`, skipping empties.
    Join {
        /// Separator, e.g. `" "`.
        sep: String,
    },
    /// From `[company, first_name, last_name]` decide `"company"` or
    /// `"person"`: a person when a first or last name is present, a company
    /// when only the company is (or when the name carries a legal form like
    /// GmbH/AG/d.o.o. and no person name is given).
    PersonOrCompany,
    /// Phone number to E.164 with this default region.
    Phone {
        /// ISO 3166 alpha-2 default region (`"DE"`).
        region: String,
        /// A raw field naming each record's own region (a country code or
        /// name, see `transform::region`); `region` where it names none.
        #[serde(default)]
        region_from: Option<String>,
    },
    /// Use this value when the input is null or empty.
    Default(Value),
    /// A list of objects ↔ a list of values (see [`crate::transform`]'s
    /// `each`): first in a rule's transforms.
    Each(Each),
}

/// How a list of objects maps onto a hub list (`each = { … }`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Each {
    /// Path of the value within an element (`address`, `tlf`).
    pub value: String,
    /// Only elements whose keys hold one of these values
    /// (`kommKz = [4, 8]`); on write, the first is given.
    pub when: Vec<(String, Vec<Value>)>,
    /// Path of the element's primary flag: the primary one is read first,
    /// and the first hub value is written primary.
    pub primary: Option<String>,
    /// Constants every written element carries (`type = "mobile"`).
    pub set: serde_json::Map<String, Value>,
}

/// Sync direction of one field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// Remote → hub only.
    Pull,
    /// Hub → remote only.
    Push,
    /// Both ways (the default).
    #[default]
    Both,
    /// Read from the remote, never written back or changed by the hub.
    ReadOnly,
}

impl Direction {
    /// Does a pull read this field?
    pub fn pulls(self) -> bool {
        !matches!(self, Direction::Push)
    }
    /// Does a push write this field?
    pub fn pushes(self) -> bool {
        matches!(self, Direction::Push | Direction::Both)
    }
}

/// One entity field's rule within a mapping.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldRule {
    /// Entity field written.
    pub target: String,
    /// Where the value comes from.
    pub source: Source,
    /// Transforms in order.
    pub transforms: Vec<Transform>,
    /// Sync direction.
    pub direction: Direction,
}

/// What happens on the remote when its hub record is deleted.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum OnDelete {
    /// Delete the remote record (the default). A connector that cannot
    /// delete leaves it alone and the run says so.
    #[default]
    Delete,
    /// A soft delete: write these raw fields instead (`{ status = "deleted" }`,
    /// or nulls to empty a slot, as the seed's Advoware must).
    Set(serde_json::Map<String, Value>),
    /// Leave the remote record alone.
    Ignore,
}

/// How one connector's records map onto one entity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mapping {
    /// Connector name.
    pub connector: String,
    /// Entity name.
    pub entity: String,
    /// Raw field (dotted path allowed) holding the external id.
    pub id_field: String,
    /// Records for which the filter is false are skipped (counted as filtered).
    pub filter: Option<Filter>,
    /// Field rules.
    pub fields: Vec<FieldRule>,
    /// What a hub delete does on this connector.
    pub on_delete: OnDelete,
    /// Hub fields that identify a record on this connector (`find =
    /// ["email"]`): a create whose answer was lost is recognised on the
    /// next read by these values instead of by every written field.
    #[serde(default)]
    pub find: Vec<String>,
    /// What happens to a linked record the filter no longer takes.
    #[serde(default)]
    pub out_of_scope: OutOfScope,
    /// Which hub records a push creates on this connector.
    #[serde(default)]
    pub creates: Creates,
    /// Raw fields every create and update also writes, from templates of
    /// einklang's own values (`{now}`, `{link.status}`, see
    /// [`crate::mirror`]); never part of the record's values.
    #[serde(default)]
    pub mirror: serde_json::Map<String, Value>,
}

/// Which hub records a push creates on a connector (`creates = …`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum Creates {
    /// Every hub record of the entity it does not have (the default).
    #[default]
    All,
    /// None: only records it already has are updated.
    None,
    /// Those that came from (are linked to) one of these connectors.
    From(Vec<String>),
    /// Those whose hub values pass this filter (entity field names).
    Filter(Filter),
}

/// What happens to a linked record that the mapping's `filter` no longer
/// takes (a Kommo lead that became "lost", status 143).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum OutOfScope {
    /// As if the source had lost it: a delete, under the job's
    /// `max_deletes` guard (the default).
    #[default]
    Delete,
    /// Keep it in the hub as it was, and its link (it is read no more).
    Keep,
    /// Keep reading it, with these hub values set (`{ stage = "lost" }`).
    Set(Fields),
}

/// The result of applying a mapping to one raw record.
#[derive(Clone, Debug, PartialEq)]
pub enum Pulled {
    /// The record passed the filter: its external id and mapped fields
    /// (not yet normalised by the schema).
    Record {
        /// External id in the connector, as text.
        external_id: String,
        /// Mapped entity fields.
        fields: Fields,
    },
    /// The filter rejected the record.
    Filtered,
}

/// Why a raw record could not be mapped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// The id field is missing, null or empty.
    #[error("missing external id: field `{0}` is absent or empty")]
    MissingId(String),
    /// The id field holds something that is not a string or number.
    #[error("external id field `{field}` holds {found}, expected text or a number")]
    BadId {
        /// The id field.
        field: String,
        /// Short description of the value found.
        found: String,
    },
    /// The id holds a control character (NUL, a tab or line break inside).
    #[error(
        "external id field `{field}` holds a control character ({found}) at character {at}; \
         an id must be printable text"
    )]
    ControlInId {
        /// The id field.
        field: String,
        /// The character, as `U+0000`.
        found: String,
        /// Its place in the id (from 1).
        at: usize,
    },
    /// A transform failed on a field.
    #[error("field `{target}` (from {source_desc}): {message}")]
    Transform {
        /// Entity field being produced.
        target: String,
        /// Where it came from, for the message.
        source_desc: String,
        /// What went wrong, naming the value.
        message: String,
    },
    /// The filter could not be evaluated (e.g. comparing text with a date).
    #[error("filter: {0}")]
    Filter(String),
    /// The record cannot be kept ([`Mapping::pull_checked`]): a required
    /// field missing or invalid, or a value over the size limit.
    #[error("{}", errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid {
        /// The record's external id.
        external_id: String,
        /// Every problem.
        errors: Vec<crate::schema::FieldError>,
    },
}

impl Source {
    /// The raw fields (names or paths) it reads: none for a constant.
    pub fn paths(&self) -> Vec<&str> {
        match self {
            Source::Field(f) => vec![f.as_str()],
            Source::Fields(fs) => fs.iter().map(String::as_str).collect(),
            Source::Constant(_) => Vec::new(),
        }
    }

    /// The top-level raw keys a push of it writes into (`a.b[0]` → `a`).
    pub fn top_keys(&self) -> Vec<String> {
        self.paths()
            .into_iter()
            .map(crate::path::top_key_of)
            .collect()
    }
}

impl Mapping {
    /// Apply the mapping to one raw record (a JSON object of source fields):
    /// read the id, evaluate the filter, then run every pulled field rule.
    pub fn pull(&self, raw: &serde_json::Map<String, Value>) -> Result<Pulled, MapError> {
        crate::transform::pull_record(self, raw, true)
    }

    /// Apply the mapping the way the engine reads: [`Mapping::pull`] with
    /// each value also brought into its field type's canonical form
    /// ([`crate::EntitySchema::normalise`]), where a value of an optional
    /// field that a transform or the type rejects is kept as a flag
    /// ([`crate::transform::flag`]) holding the value as the source holds
    /// it. Only what the record cannot be kept without is an error: the
    /// id, the filter, a required field ([`MapError::Invalid`]).
    pub fn pull_checked(
        &self,
        schema: &crate::EntitySchema,
        ctx: &crate::NormaliseContext,
        raw: &serde_json::Map<String, Value>,
    ) -> Result<Pulled, MapError> {
        crate::transform::pull_checked(self, schema, ctx, raw, true)
    }

    /// [`Mapping::pull_checked`] without the filter (for a record out of
    /// scope that `out_of_scope = { set = … }` keeps reading).
    pub fn pull_checked_unfiltered(
        &self,
        schema: &crate::EntitySchema,
        ctx: &crate::NormaliseContext,
        raw: &serde_json::Map<String, Value>,
    ) -> Result<Pulled, MapError> {
        crate::transform::pull_checked(self, schema, ctx, raw, false)
    }

    /// The external id of a raw record, if it has a usable one (also for
    /// records the filter skips, so a skipped record is not taken for gone).
    pub fn external_id_of(&self, raw: &serde_json::Map<String, Value>) -> Option<String> {
        crate::transform::external_id_of(self, raw)
    }

    /// The raw fields to write for hub `values` (see [`crate::transform::push`]).
    pub fn push(&self, values: &Fields) -> serde_json::Map<String, Value> {
        crate::transform::push::push_record(self, values, None)
    }

    /// Write the lists of objects in `fields` onto `current`, the record
    /// as the remote holds it: unchanged elements kept verbatim, elements
    /// no rule maps left alone (see [`crate::transform::rebase`]).
    pub fn rebase_lists(
        &self,
        schema: &crate::EntitySchema,
        ctx: &crate::NormaliseContext,
        fields: &mut serde_json::Map<String, Value>,
        current: &serde_json::Map<String, Value>,
    ) {
        crate::transform::rebase::rebase_lists(self, schema, ctx, fields, current)
    }

    /// The entity fields `raw` (a record as the remote holds it, maybe
    /// only part of one: a write's answer) shows, read the way a pull reads
    /// them; a field whose raw field is there but empty is `null`, a field
    /// whose raw field is absent is left out (unknown, not empty).
    pub fn observed(
        &self,
        schema: &crate::EntitySchema,
        ctx: &crate::NormaliseContext,
        raw: &serde_json::Map<String, Value>,
    ) -> Fields {
        crate::transform::observed(self, schema, ctx, raw)
    }

    /// The pushed rules that write a list of objects (`each`), in rule
    /// order: (the raw path of the list, the rule, its `each`).
    pub fn pushed_lists(&self) -> impl Iterator<Item = (&str, &FieldRule, &Each)> {
        self.fields
            .iter()
            .filter_map(|r| match (&r.source, r.transforms.first()) {
                (Source::Field(path), Some(Transform::Each(e))) if r.direction.pushes() => {
                    Some((path.as_str(), r, e))
                }
                _ => None,
            })
    }

    /// Whether a push writes a list of objects (`each`) into `top_key`.
    pub fn writes_list_at(&self, top_key: &str) -> bool {
        self.pushed_lists()
            .any(|(path, _, _)| crate::path::top_key_of(path) == top_key)
    }

    /// The raw fields to write for the entity fields `only` of `values`:
    /// a partial update's body, or a create's without the empty fields.
    pub fn push_only(&self, values: &Fields, only: &[&str]) -> serde_json::Map<String, Value> {
        crate::transform::push::push_record(self, values, Some(only))
    }

    /// The hub record as this connector will hold it after a push.
    pub fn project(
        &self,
        schema: &crate::EntitySchema,
        ctx: &crate::NormaliseContext,
        values: &Fields,
    ) -> Fields {
        crate::transform::push::project(self, schema, ctx, values)
    }

    /// How each mapped entity field takes part in a sync.
    pub fn field_roles(
        &self,
        schema: &crate::EntitySchema,
    ) -> BTreeMap<String, crate::merge::FieldRole> {
        crate::transform::push::field_roles(self, schema)
    }
}
