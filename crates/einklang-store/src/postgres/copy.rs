//! Bulk writes for the PostgreSQL store: record ids reserved from the
//! sequence in one round trip, then one `COPY ... FROM STDIN` (text format)
//! per table for the whole batch.

use crate::migrate::json;
use crate::model::{FieldChanges, LinkWrite, RecordId, RunId};
use crate::Result;
use einklang_core::Fields;
use postgres::Client;
use std::fmt::Write as _;
use std::io::Write as _;

/// `n` fresh record ids.
pub(super) fn reserve_ids(tx: &mut Client, n: i64) -> Result<Vec<RecordId>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let rows = tx.query(
        "SELECT nextval('records_id_seq') FROM generate_series(1, $1::bigint)",
        &[&n],
    )?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Rows of one batch, already in COPY text format.
#[derive(Default)]
pub(super) struct Batch {
    records: String,
    links: String,
    history: String,
}

/// Append one COPY text field (escaped) and its separator.
fn field(out: &mut String, value: Option<&str>, last: bool) {
    match value {
        None => out.push_str("\\N"),
        Some(v) => {
            for c in v.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    '\0' => out.push('\u{fffd}'),
                    c => out.push(c),
                }
            }
        }
    }
    out.push(if last { '\n' } else { '\t' });
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 + bytes.len() * 2);
    s.push_str("\\x");
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

impl Batch {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn create(
        &mut self,
        tenant: &str,
        run: RunId,
        id: RecordId,
        entity: &str,
        values: &Fields,
        link: &LinkWrite,
        history: &FieldChanges,
    ) {
        let id_text = id.to_string();
        let vals = json(values);
        let r = &mut self.records;
        field(r, Some(&id_text), false);
        field(r, Some(tenant), false);
        field(r, Some(entity), false);
        field(r, Some(&vals), true);
        let base = if link.base == *values {
            vals.clone()
        } else {
            json(&link.base)
        };
        let l = &mut self.links;
        field(l, Some(tenant), false);
        field(l, Some(&id_text), false);
        field(l, Some(&link.connector), false);
        field(l, Some(entity), false);
        field(l, Some(&link.external_id), false);
        field(l, Some(&base), false);
        field(l, link.version.as_deref(), false);
        field(l, Some(&hex(&link.content_hash.to_bytes())), true);
        if crate::migrate::is_initial(history, values) {
            self.history_row(tenant, run, id, &link.connector, true, &vals);
        } else {
            self.history(tenant, run, id, &link.connector, history);
        }
    }

    /// History of an update (nothing when no field changed).
    pub(super) fn history(
        &mut self,
        tenant: &str,
        run: RunId,
        record: RecordId,
        origin: &str,
        changes: &FieldChanges,
    ) {
        if !changes.is_empty() {
            self.history_row(tenant, run, record, origin, false, &json(changes));
        }
    }

    fn history_row(
        &mut self,
        tenant: &str,
        run: RunId,
        record: RecordId,
        origin: &str,
        initial: bool,
        changes: &str,
    ) {
        let h = &mut self.history;
        field(h, Some(tenant), false);
        field(h, Some(&record.to_string()), false);
        field(h, Some(&run.to_string()), false);
        field(h, Some(origin), false);
        field(h, Some(if initial { "t" } else { "f" }), false);
        field(h, Some(changes), true);
    }

    pub(super) fn write(self, tx: &mut Client) -> Result<()> {
        for (sql, data) in [
            ("COPY records (id, tenant, entity, vals) FROM STDIN", self.records),
            ("COPY links (tenant, record_id, connector, entity, external_id, base, version, content_hash) FROM STDIN", self.links),
            ("COPY history (tenant, record_id, run_id, origin, initial, changes) FROM STDIN", self.history),
        ] {
            if data.is_empty() {
                continue;
            }
            let mut writer = tx.copy_in(sql)?;
            writer.write_all(data.as_bytes()).map_err(|e| crate::StoreError::Corrupt { what: "COPY stream".into(), message: e.to_string() })?;
            writer.finish()?;
        }
        Ok(())
    }
}
