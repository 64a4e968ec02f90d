//! Versioned, checksummed schema migrations shared by both stores.
//!
//! Each [`Migration`] carries the SQL for SQLite and for PostgreSQL. A store
//! records applied versions with a checksum of their SQL in
//! `schema_migrations`; on open it applies the missing ones in order, each
//! in its own transaction, and refuses to run when an applied migration's
//! SQL has changed since (the checksum differs).

/// One schema step.
pub struct Migration {
    /// Strictly increasing version.
    pub version: i64,
    /// Short name.
    pub name: &'static str,
    /// SQL for SQLite.
    pub sqlite: &'static str,
    /// SQL for PostgreSQL.
    pub postgres: &'static str,
}

/// FNV-1a 64 of the SQL: stable across builds, enough to notice an edited
/// migration (not a security measure).
pub fn checksum(sql: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in sql.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

/// The bookkeeping table, same SQL on both stores.
pub const BOOKKEEPING: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum BIGINT NOT NULL, applied_at TEXT NOT NULL)";

/// All migrations, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "hub records, links, history, runs, quarantine, fingerprints",
        sqlite: "
CREATE TABLE records (
    id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, entity TEXT NOT NULL, vals TEXT NOT NULL,
    merged_into INTEGER, deleted_at TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE links (
    id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, record_id INTEGER NOT NULL,
    connector TEXT NOT NULL, entity TEXT NOT NULL, external_id TEXT NOT NULL,
    base TEXT NOT NULL, version TEXT, content_hash BLOB NOT NULL,
    status TEXT NOT NULL DEFAULT 'clean', attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT, updated_at TEXT NOT NULL,
    UNIQUE (tenant, connector, entity, external_id));
CREATE INDEX links_record ON links (record_id);
CREATE TABLE history (
    id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, record_id INTEGER NOT NULL,
    run_id INTEGER NOT NULL, origin TEXT NOT NULL, initial INTEGER NOT NULL DEFAULT 0,
    changes TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX history_record ON history (record_id);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, job TEXT NOT NULL, source TEXT NOT NULL,
    triggered_by TEXT NOT NULL, status TEXT NOT NULL, counters TEXT NOT NULL DEFAULT '{}',
    errors TEXT NOT NULL DEFAULT '[]', started_at TEXT NOT NULL, finished_at TEXT);
CREATE TABLE quarantine (
    id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, run_id INTEGER NOT NULL,
    connector TEXT NOT NULL, entity TEXT NOT NULL, external_id TEXT, position TEXT NOT NULL,
    raw TEXT NOT NULL, reason TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX quarantine_run ON quarantine (tenant, run_id);
CREATE TABLE source_fingerprints (
    tenant TEXT NOT NULL, connector TEXT NOT NULL, entity TEXT NOT NULL,
    fingerprint TEXT NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant, connector, entity));
",
        postgres: "
CREATE TABLE records (
    id BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL, entity TEXT NOT NULL, vals JSONB NOT NULL,
    merged_into BIGINT, deleted_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(), updated_at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE TABLE links (
    id BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL, record_id BIGINT NOT NULL,
    connector TEXT NOT NULL, entity TEXT NOT NULL, external_id TEXT NOT NULL,
    base JSONB NOT NULL, version TEXT, content_hash BYTEA NOT NULL,
    status TEXT NOT NULL DEFAULT 'clean', attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT, updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tenant, connector, entity, external_id));
CREATE INDEX links_record ON links (record_id);
CREATE TABLE history (
    id BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL, record_id BIGINT NOT NULL,
    run_id BIGINT NOT NULL, origin TEXT NOT NULL, initial BOOLEAN NOT NULL DEFAULT false,
    changes JSONB NOT NULL,
    at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE INDEX history_record ON history (record_id);
CREATE TABLE runs (
    id BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL, job TEXT NOT NULL, source TEXT NOT NULL,
    triggered_by TEXT NOT NULL, status TEXT NOT NULL, counters JSONB NOT NULL DEFAULT '{}',
    errors JSONB NOT NULL DEFAULT '[]', started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at TIMESTAMPTZ);
CREATE TABLE quarantine (
    id BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL, run_id BIGINT NOT NULL,
    connector TEXT NOT NULL, entity TEXT NOT NULL, external_id TEXT, position TEXT NOT NULL,
    raw TEXT NOT NULL, reason TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE INDEX quarantine_run ON quarantine (tenant, run_id);
CREATE TABLE source_fingerprints (
    tenant TEXT NOT NULL, connector TEXT NOT NULL, entity TEXT NOT NULL,
    fingerprint TEXT NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, connector, entity));
",
    },
    Migration {
        version: 2,
        name: "two-way sync: record versions, retry times, outbox, conflicts, cursors",
        sqlite: "
ALTER TABLE records ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE links ADD COLUMN next_attempt_at TEXT;
CREATE INDEX links_work ON links (tenant, connector, entity, id) WHERE status <> 'clean';
CREATE INDEX records_entity ON records (tenant, entity, id);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, link_id INTEGER NOT NULL,
    record_id INTEGER NOT NULL, connector TEXT NOT NULL, entity TEXT NOT NULL,
    op TEXT NOT NULL, idem_key TEXT NOT NULL, payload TEXT NOT NULL, new_base TEXT NOT NULL,
    target TEXT NOT NULL, expected_version TEXT, state TEXT NOT NULL,
    run_id INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    UNIQUE (tenant, idem_key));
CREATE INDEX outbox_work ON outbox (tenant, connector, entity, id);
CREATE TABLE conflicts (
    id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, record_id INTEGER NOT NULL,
    entity TEXT NOT NULL, link_id INTEGER NOT NULL, connector TEXT NOT NULL,
    field TEXT NOT NULL, hub_value TEXT NOT NULL, remote_value TEXT NOT NULL,
    policy TEXT NOT NULL, resolution TEXT NOT NULL, status TEXT NOT NULL,
    run_id INTEGER NOT NULL, created_at TEXT NOT NULL, resolved_at TEXT, resolved_by TEXT);
CREATE UNIQUE INDEX conflicts_open ON conflicts (tenant, link_id, field) WHERE status = 'open';
CREATE INDEX conflicts_record ON conflicts (tenant, record_id);
CREATE TABLE cursors (
    tenant TEXT NOT NULL, connector TEXT NOT NULL, entity TEXT NOT NULL, name TEXT NOT NULL,
    value TEXT NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant, connector, entity, name));
",
        postgres: "
ALTER TABLE records ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE links ADD COLUMN next_attempt_at TIMESTAMPTZ;
ALTER TABLE links ALTER COLUMN external_id TYPE TEXT COLLATE \"C\";
ALTER TABLE links ALTER COLUMN base TYPE JSON USING base::json;
ALTER TABLE history ALTER COLUMN changes TYPE JSON USING changes::json;
CREATE INDEX links_work ON links (tenant, connector, entity, id) WHERE status <> 'clean';
CREATE INDEX records_entity ON records (tenant, entity, id);
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL, link_id BIGINT NOT NULL,
    record_id BIGINT NOT NULL, connector TEXT NOT NULL, entity TEXT NOT NULL,
    op TEXT NOT NULL, idem_key TEXT NOT NULL, payload JSON NOT NULL, new_base JSON NOT NULL,
    target TEXT NOT NULL, expected_version TEXT, state TEXT NOT NULL,
    run_id BIGINT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tenant, idem_key));
CREATE INDEX outbox_work ON outbox (tenant, connector, entity, id);
CREATE TABLE conflicts (
    id BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL, record_id BIGINT NOT NULL,
    entity TEXT NOT NULL, link_id BIGINT NOT NULL, connector TEXT NOT NULL,
    field TEXT NOT NULL, hub_value JSON NOT NULL, remote_value JSON NOT NULL,
    policy TEXT NOT NULL, resolution TEXT NOT NULL, status TEXT NOT NULL,
    run_id BIGINT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    resolved_at TIMESTAMPTZ, resolved_by TEXT);
CREATE UNIQUE INDEX conflicts_open ON conflicts (tenant, link_id, field) WHERE status = 'open';
CREATE INDEX conflicts_record ON conflicts (tenant, record_id);
CREATE TABLE cursors (
    tenant TEXT NOT NULL, connector TEXT NOT NULL, entity TEXT NOT NULL, name TEXT NOT NULL,
    value TEXT NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, connector, entity, name));
",
    },
    Migration {
        version: 3,
        name: "identity resolution: merges with their snapshots, review queue",
        sqlite: "
CREATE TABLE merges (
    id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, entity TEXT NOT NULL,
    survivor_id INTEGER NOT NULL, merged_id INTEGER NOT NULL, probability REAL NOT NULL,
    reason TEXT NOT NULL, status TEXT NOT NULL, run_id INTEGER NOT NULL,
    survivor_version INTEGER NOT NULL, snapshot TEXT NOT NULL, created_at TEXT NOT NULL,
    undone_run INTEGER, undone_at TEXT);
CREATE INDEX merges_survivor ON merges (tenant, survivor_id);
CREATE INDEX merges_merged ON merges (tenant, merged_id);
CREATE TABLE reviews (
    id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, entity TEXT NOT NULL,
    record_a INTEGER NOT NULL, record_b INTEGER NOT NULL, probability REAL NOT NULL,
    status TEXT NOT NULL, run_id INTEGER NOT NULL, created_at TEXT NOT NULL,
    decided_at TEXT, decided_by TEXT,
    UNIQUE (tenant, entity, record_a, record_b));
CREATE INDEX reviews_open ON reviews (tenant, status, id);
CREATE INDEX outbox_record ON outbox (tenant, record_id);
",
        postgres: "
CREATE TABLE merges (
    id BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL, entity TEXT NOT NULL,
    survivor_id BIGINT NOT NULL, merged_id BIGINT NOT NULL, probability DOUBLE PRECISION NOT NULL,
    reason TEXT NOT NULL, status TEXT NOT NULL, run_id BIGINT NOT NULL,
    survivor_version BIGINT NOT NULL, snapshot JSON NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(), undone_run BIGINT, undone_at TIMESTAMPTZ);
CREATE INDEX merges_survivor ON merges (tenant, survivor_id);
CREATE INDEX merges_merged ON merges (tenant, merged_id);
CREATE TABLE reviews (
    id BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL, entity TEXT NOT NULL,
    record_a BIGINT NOT NULL, record_b BIGINT NOT NULL, probability DOUBLE PRECISION NOT NULL,
    status TEXT NOT NULL, run_id BIGINT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    decided_at TIMESTAMPTZ, decided_by TEXT,
    UNIQUE (tenant, entity, record_a, record_b));
CREATE INDEX reviews_open ON reviews (tenant, status, id);
CREATE INDEX outbox_record ON outbox (tenant, record_id);
",
    },
    Migration {
        version: 4,
        name: "match keys: blocking keys of live records for matching on ingest",
        sqlite: "
CREATE TABLE match_keys (
    tenant TEXT NOT NULL, entity TEXT NOT NULL, key INTEGER NOT NULL, record_id INTEGER NOT NULL);
CREATE INDEX match_keys_key ON match_keys (tenant, entity, key);
CREATE INDEX match_keys_record ON match_keys (record_id);
CREATE TABLE match_state (
    tenant TEXT NOT NULL, entity TEXT NOT NULL, signature TEXT NOT NULL, cursor INTEGER NOT NULL,
    PRIMARY KEY (tenant, entity));
CREATE TABLE match_keyed (record_id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, version INTEGER NOT NULL);
",
        postgres: "
CREATE TABLE match_keys (
    tenant TEXT NOT NULL, entity TEXT NOT NULL, key BIGINT NOT NULL, record_id BIGINT NOT NULL);
CREATE INDEX match_keys_key ON match_keys (tenant, entity, key);
CREATE INDEX match_keys_record ON match_keys (record_id);
CREATE TABLE match_state (
    tenant TEXT NOT NULL, entity TEXT NOT NULL, signature TEXT NOT NULL, cursor BIGINT NOT NULL,
    PRIMARY KEY (tenant, entity));
CREATE TABLE match_keyed (record_id BIGINT PRIMARY KEY, tenant TEXT NOT NULL, version BIGINT NOT NULL);
",
    },
    Migration {
        version: 5,
        name: "leases: exclusive runs",
        sqlite: "
CREATE TABLE leases (
    tenant TEXT NOT NULL, name TEXT NOT NULL, holder TEXT NOT NULL, run_id INTEGER,
    job TEXT NOT NULL, triggered_by TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL,
    acquired_at TEXT NOT NULL, expires_at TEXT NOT NULL,
    PRIMARY KEY (tenant, name));
CREATE INDEX leases_holder ON leases (holder);
CREATE INDEX runs_running ON runs (tenant, status) WHERE status = 'running';
",
        postgres: "
CREATE TABLE leases (
    tenant TEXT NOT NULL, name TEXT NOT NULL, holder TEXT NOT NULL, run_id BIGINT,
    job TEXT NOT NULL, triggered_by TEXT NOT NULL, pid BIGINT NOT NULL, host TEXT NOT NULL,
    acquired_at TIMESTAMPTZ NOT NULL DEFAULT now(), expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant, name));
CREATE INDEX leases_holder ON leases (holder);
CREATE INDEX runs_running ON runs (tenant, status) WHERE status = 'running';
",
    },
    Migration {
        version: 6,
        name: "fields connectors do not keep as written",
        sqlite: "
CREATE TABLE ignored_fields (
    tenant TEXT NOT NULL, connector TEXT NOT NULL, entity TEXT NOT NULL, field TEXT NOT NULL,
    example TEXT NOT NULL, noticed_at TEXT NOT NULL,
    PRIMARY KEY (tenant, connector, entity, field));
",
        postgres: "
CREATE TABLE ignored_fields (
    tenant TEXT NOT NULL, connector TEXT NOT NULL, entity TEXT NOT NULL, field TEXT NOT NULL,
    example TEXT NOT NULL, noticed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, connector, entity, field));
",
    },
    Migration {
        version: 7,
        name: "the run queue of einklang serve, API tokens, links needing attention",
        sqlite: "
CREATE TABLE run_queue (
    run_id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, job TEXT NOT NULL, targets TEXT,
    dedupe_key TEXT UNIQUE, scheduled_for TEXT, state TEXT NOT NULL,
    not_before TEXT NOT NULL, claimed_by TEXT, claim_expires_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL);
CREATE INDEX run_queue_waiting ON run_queue (tenant, state, run_id);
CREATE INDEX run_queue_ticks ON run_queue (tenant, job, scheduled_for);
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL, role TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, last_used_at TEXT, revoked_at TEXT);
CREATE UNIQUE INDEX api_tokens_name ON api_tokens (tenant, name) WHERE revoked_at IS NULL;
CREATE INDEX links_attention ON links (tenant, status, id) WHERE status <> 'clean';
",
        postgres: "
CREATE TABLE run_queue (
    run_id BIGINT PRIMARY KEY, tenant TEXT NOT NULL, job TEXT NOT NULL, targets JSONB,
    dedupe_key TEXT UNIQUE, scheduled_for TIMESTAMPTZ, state TEXT NOT NULL,
    not_before TIMESTAMPTZ NOT NULL DEFAULT now(), claimed_by TEXT, claim_expires_at TIMESTAMPTZ,
    attempts INTEGER NOT NULL DEFAULT 0, created_at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE INDEX run_queue_waiting ON run_queue (tenant, state, run_id);
CREATE INDEX run_queue_ticks ON run_queue (tenant, job, scheduled_for);
CREATE TABLE api_tokens (
    id BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL, role TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE, created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at TIMESTAMPTZ, revoked_at TIMESTAMPTZ);
CREATE UNIQUE INDEX api_tokens_name ON api_tokens (tenant, name) WHERE revoked_at IS NULL;
CREATE INDEX links_attention ON links (tenant, status, id) WHERE status <> 'clean';
",
    },
    Migration {
        version: 8,
        name: "queued runs that compare every record (the daily re-check of the sweep)",
        sqlite: "
ALTER TABLE run_queue ADD COLUMN thorough INTEGER NOT NULL DEFAULT 0;
CREATE INDEX run_queue_thorough ON run_queue (tenant, job, created_at) WHERE thorough = 1;
",
        postgres: "
ALTER TABLE run_queue ADD COLUMN thorough BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX run_queue_thorough ON run_queue (tenant, job, created_at) WHERE thorough;
",
    },
    Migration {
        version: 9,
        name: "staged snapshots of refresh runs",
        sqlite: "
CREATE TABLE staged (
    tenant TEXT NOT NULL, run_id INTEGER NOT NULL, entity TEXT NOT NULL, external_id TEXT NOT NULL,
    vals TEXT NOT NULL, copies INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant, run_id, entity, external_id)) WITHOUT ROWID;
",
        postgres: "
CREATE TABLE staged (
    tenant TEXT NOT NULL, run_id BIGINT NOT NULL, entity TEXT NOT NULL,
    external_id TEXT COLLATE \"C\" NOT NULL, vals JSONB NOT NULL, copies INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant, run_id, entity, external_id));
",
    },
    Migration {
        version: 10,
        name: "each step's result of a run; queued approvals of held refreshes",
        sqlite: "
ALTER TABLE runs ADD COLUMN steps TEXT;
ALTER TABLE run_queue ADD COLUMN approves INTEGER;
",
        postgres: "
ALTER TABLE runs ADD COLUMN steps JSONB;
ALTER TABLE run_queue ADD COLUMN approves BIGINT;
",
    },
];

/// Check an applied migration against this build; `Err` when it was edited.
pub fn verify(
    version: i64,
    stored_checksum: i64,
    sql_of: fn(&Migration) -> &'static str,
) -> crate::Result<()> {
    match MIGRATIONS.iter().find(|m| m.version == version) {
        Some(m) if checksum(sql_of(m)) != stored_checksum => Err(crate::StoreError::Migration {
            version,
            name: m.name.to_string(),
            message: "applied with different SQL than this build has (checksum mismatch)".into(),
        }),
        Some(_) => Ok(()),
        None => Err(crate::StoreError::Migration {
            version,
            name: "?".into(),
            message: "the store was migrated by a newer einklang; upgrade this binary".into(),
        }),
    }
}

/// The migrations this build has that are not among `applied` (version,
/// stored checksum), in order — once every applied one is verified
/// ([`verify`]) against this build's SQL (`sql_of`).
pub fn pending(
    applied: &[(i64, i64)],
    sql_of: fn(&Migration) -> &'static str,
) -> crate::Result<Vec<&'static Migration>> {
    for (version, sum) in applied {
        verify(*version, *sum, sql_of)?;
    }
    Ok(MIGRATIONS
        .iter()
        .filter(|m| !applied.iter().any(|(v, _)| *v == m.version))
        .collect())
}

/// The error of migration `m` whose SQL failed with `error`.
pub fn failed(m: &Migration, error: impl std::fmt::Display) -> crate::StoreError {
    crate::StoreError::Migration {
        version: m.version,
        name: m.name.into(),
        message: error.to_string(),
    }
}

/// JSON text of any serialisable value (stores keep values as JSON).
pub(crate) fn json<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).expect("JSON of plain data")
}

/// Parse JSON text read back from a store column.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> crate::Result<T> {
    serde_json::from_str(text).map_err(|e| crate::StoreError::Corrupt {
        what: what.to_string(),
        message: e.to_string(),
    })
}

/// Whether `history` is the history of a new record: every field of
/// `values`, from null. Such history is stored compactly as the values
/// themselves with `initial` set (one JSON text shared with the record).
pub(crate) fn is_initial(history: &crate::FieldChanges, values: &einklang_core::Fields) -> bool {
    history.len() == values.len()
        && history
            .iter()
            .zip(values)
            .all(|((hk, c), (vk, v))| hk == vk && c.old.is_null() && c.new == *v)
}

/// History changes as read back: initial history expands to null → value.
pub(crate) fn expand(
    initial: bool,
    changes: serde_json::Value,
) -> crate::Result<crate::FieldChanges> {
    if !initial {
        return serde_json::from_value(changes).map_err(|e| crate::StoreError::Corrupt {
            what: "history changes".into(),
            message: e.to_string(),
        });
    }
    match changes {
        serde_json::Value::Object(values) => Ok(values
            .into_iter()
            .map(|(k, new)| {
                (
                    k,
                    crate::FieldChange {
                        old: serde_json::Value::Null,
                        new,
                    },
                )
            })
            .collect()),
        other => Err(crate::StoreError::Corrupt {
            what: "initial history".into(),
            message: other.to_string(),
        }),
    }
}
