//! The checks: each invariant's title, its messages, what its repair
//! does, and the SQL that finds the rows breaking it (the same on both
//! stores; `$1` is the tenant).

use serde::Serialize;

/// One invariant of the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// Every link points at a hub record that exists.
    LinksWithoutRecord,
    /// No link points at a merged-away record (a merge moves them).
    LinksOnMergedRecord,
    /// A tombstone's clean links were marked for their delete.
    TombstonesOwingDelete,
    /// Every outbox entry has its link.
    OutboxWithoutLink,
    /// Every outbox entry is of its link's record.
    OutboxOtherRecord,
    /// Creates held `unknown` until a read settles them (information).
    OutboxUnknown,
    /// Every active merge's record is merged into its survivor.
    MergesNotInPlace,
    /// Every merged-away record has its active merge.
    MergedWithoutMerge,
    /// Match keys belong to records that exist and are not deleted (a
    /// record merged away keeps its e-mail and phone keys: they count how
    /// common a value is, and the store never offers it as a candidate).
    MatchKeysOfGone,
    /// `match_keyed` rows belong to existing records.
    MatchKeyedOfMissing,
    /// Every lease is held by a live process.
    StaleLeases,
    /// Every `running` run is protected by a live lease.
    RunsWithoutLease,
    /// Every open conflict has its link and record.
    ConflictsAdrift,
}

/// What a check says and does.
pub(super) struct Spec {
    /// Short title.
    pub title: &'static str,
    /// The invariant, as said when it holds.
    pub holds: &'static str,
    /// What was found, after the count.
    pub found: &'static str,
    /// What `--repair` does; `None`: report only.
    pub repair: Option<&'static str>,
    /// Information, not a problem.
    pub info: bool,
}

impl Check {
    /// Every check, in the order they are run and printed.
    pub const ALL: [Check; 13] = [
        Check::LinksWithoutRecord,
        Check::LinksOnMergedRecord,
        Check::TombstonesOwingDelete,
        Check::OutboxWithoutLink,
        Check::OutboxOtherRecord,
        Check::OutboxUnknown,
        Check::MergesNotInPlace,
        Check::MergedWithoutMerge,
        Check::MatchKeysOfGone,
        Check::MatchKeyedOfMissing,
        Check::StaleLeases,
        Check::RunsWithoutLease,
        Check::ConflictsAdrift,
    ];

    /// Its name as serialised (`tombstones_owing_delete`).
    pub fn name(self) -> &'static str {
        match self {
            Check::LinksWithoutRecord => "links_without_record",
            Check::LinksOnMergedRecord => "links_on_merged_record",
            Check::TombstonesOwingDelete => "tombstones_owing_delete",
            Check::OutboxWithoutLink => "outbox_without_link",
            Check::OutboxOtherRecord => "outbox_other_record",
            Check::OutboxUnknown => "outbox_unknown",
            Check::MergesNotInPlace => "merges_not_in_place",
            Check::MergedWithoutMerge => "merged_without_merge",
            Check::MatchKeysOfGone => "match_keys_of_gone",
            Check::MatchKeyedOfMissing => "match_keyed_of_missing",
            Check::StaleLeases => "stale_leases",
            Check::RunsWithoutLease => "runs_without_lease",
            Check::ConflictsAdrift => "conflicts_adrift",
        }
    }

    /// What a finding's examples are (`link ids`).
    pub fn examples_are(self) -> &'static str {
        match self {
            Check::LinksWithoutRecord
            | Check::LinksOnMergedRecord
            | Check::TombstonesOwingDelete => "link ids",
            Check::OutboxWithoutLink | Check::OutboxOtherRecord | Check::OutboxUnknown => {
                "outbox ids"
            }
            Check::MergesNotInPlace => "merge ids",
            Check::MergedWithoutMerge | Check::MatchKeysOfGone | Check::MatchKeyedOfMissing => {
                "record ids"
            }
            Check::StaleLeases => "leases",
            Check::RunsWithoutLease => "run ids",
            Check::ConflictsAdrift => "conflict ids",
        }
    }

    /// A short title (`links → records`).
    pub fn title(self) -> &'static str {
        self.spec().title
    }

    /// What `--repair` does for this check; `None`: it reports only.
    pub fn repair(self) -> Option<&'static str> {
        self.spec().repair
    }

    /// Whether a finding of this check is information rather than a problem.
    pub fn is_info(self) -> bool {
        self.spec().info
    }

    pub(super) fn spec(self) -> Spec {
        let (title, holds, found, repair, info) = match self {
            Check::LinksWithoutRecord => (
                "links → records",
                "every link points at a hub record that exists",
                "link(s) point at a hub record that does not exist",
                None,
                false,
            ),
            Check::LinksOnMergedRecord => (
                "links of merged records",
                "no link points at a merged-away record",
                "link(s) still point at a merged-away record (a merge moves them to the survivor); \
                 not moved, because the merge's snapshot would not know them and `unmerge` could not give them back",
                None,
                false,
            ),
            Check::TombstonesOwingDelete => (
                "deletes owed",
                "every deleted record's clean links had their delete planned",
                "clean link(s) of deleted records never had their delete planned",
                Some("marks them dirty: the next push deletes (or soft-deletes, or settles them as the mapping's on_delete says)"),
                false,
            ),
            Check::OutboxWithoutLink => (
                "outbox → links",
                "every outbox entry has its link",
                "outbox row(s) belong to a link that does not exist; nothing can settle them",
                Some("removes them"),
                false,
            ),
            Check::OutboxOtherRecord => (
                "outbox records",
                "every outbox entry is of its link's record",
                "outbox row(s) were made for another record than their link's (a merge or unmerge since?); \
                 not removed, because their write may have reached the remote and the read that follows needs them",
                None,
                false,
            ),
            Check::OutboxUnknown => (
                "held creates",
                "no create is held `unknown`",
                "create(s) held `unknown`: their answer was lost and the connector cannot look them up; \
                 they are never sent again until a complete read of the connector settles them",
                None,
                true,
            ),
            Check::MergesNotInPlace => (
                "merges → records",
                "every active merge's record is merged into its survivor",
                "active merge(s) whose merged record is not (or no longer) merged into the survivor, or whose records are gone",
                None,
                false,
            ),
            Check::MergedWithoutMerge => (
                "merged records → merges",
                "every merged-away record has its active merge",
                "merged-away record(s) without an active merge into their survivor (`unmerge` cannot give them back)",
                None,
                false,
            ),
            Check::MatchKeysOfGone => (
                "match keys",
                "match keys belong to records not deleted",
                "record(s) deleted or gone still carry match keys the matcher considers current",
                Some("deletes those keys (the matcher re-keys a record when it changes)"),
                false,
            ),
            Check::MatchKeyedOfMissing => (
                "match key versions",
                "every keyed record exists",
                "match key version row(s) of records that do not exist",
                Some("deletes them"),
                false,
            ),
            Check::StaleLeases => (
                "leases",
                "every lease is held by a live process",
                "lease(s) expired or held by a process that is gone",
                Some("marks their runs abandoned and removes the leases"),
                false,
            ),
            Check::RunsWithoutLease => (
                "running runs",
                "every running run is held by a live process",
                "run(s) still `running` without a live lease: their process stopped without finishing",
                Some("marks them abandoned"),
                false,
            ),
            Check::ConflictsAdrift => (
                "conflicts → links",
                "every open conflict has its link and record",
                "open conflict(s) whose link or record is gone, or whose link now belongs to another record; \
                 there is no status to retire them, decide them with `einklang resolve`",
                None,
                false,
            ),
        };
        Spec {
            title,
            holds,
            found,
            repair,
            info,
        }
    }

    /// The ids of the rows that break the invariant (`$1`: the tenant),
    /// as column `id`; `None` for the checks computed otherwise.
    pub(super) fn query(self) -> Option<&'static str> {
        Some(match self {
            Check::LinksWithoutRecord => {
                "SELECT l.id AS id FROM links l WHERE l.tenant = $1
                   AND NOT EXISTS (SELECT 1 FROM records r WHERE r.id = l.record_id AND r.tenant = l.tenant)"
            }
            Check::LinksOnMergedRecord => {
                "SELECT l.id AS id FROM links l JOIN records r ON r.id = l.record_id AND r.tenant = l.tenant
                 WHERE l.tenant = $1 AND r.merged_into IS NOT NULL"
            }
            // untouched since the tombstone: a planned delete leaves the
            // link dirty, deleted_remote, or settled clean later
            Check::TombstonesOwingDelete => {
                "SELECT l.id AS id FROM links l JOIN records r ON r.id = l.record_id AND r.tenant = l.tenant
                 WHERE l.tenant = $1 AND r.deleted_at IS NOT NULL AND l.status = 'clean'
                   AND l.updated_at <= r.deleted_at"
            }
            Check::OutboxWithoutLink => {
                "SELECT o.id AS id FROM outbox o WHERE o.tenant = $1
                   AND NOT EXISTS (SELECT 1 FROM links l WHERE l.id = o.link_id AND l.tenant = o.tenant)"
            }
            Check::OutboxOtherRecord => {
                "SELECT o.id AS id FROM outbox o JOIN links l ON l.id = o.link_id AND l.tenant = o.tenant
                 WHERE o.tenant = $1 AND l.record_id <> o.record_id"
            }
            Check::OutboxUnknown => {
                "SELECT o.id AS id FROM outbox o WHERE o.tenant = $1 AND o.state = 'unknown'"
            }
            Check::MergesNotInPlace => {
                "SELECT m.id AS id FROM merges m
                 LEFT JOIN records r ON r.id = m.merged_id AND r.tenant = m.tenant
                 WHERE m.tenant = $1 AND m.status = 'active'
                   AND (r.merged_into IS NULL OR r.merged_into <> m.survivor_id
                     OR NOT EXISTS (SELECT 1 FROM records s WHERE s.id = m.survivor_id AND s.tenant = m.tenant))"
            }
            Check::MergedWithoutMerge => {
                "SELECT r.id AS id FROM records r WHERE r.tenant = $1 AND r.merged_into IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM merges m WHERE m.tenant = r.tenant AND m.merged_id = r.id
                     AND m.survivor_id = r.merged_into AND m.status = 'active')"
            }
            // keys of a record that changed after the keys' cursor are
            // merely waiting for the matcher's next refresh
            Check::MatchKeysOfGone => {
                "SELECT DISTINCT k.record_id AS id FROM match_keys k
                 JOIN match_state s ON s.tenant = k.tenant AND s.entity = k.entity
                 LEFT JOIN records r ON r.id = k.record_id AND r.tenant = k.tenant
                 WHERE k.tenant = $1
                   AND (r.id IS NULL OR r.deleted_at IS NOT NULL)
                   AND NOT EXISTS (SELECT 1 FROM history h WHERE h.record_id = k.record_id AND h.id > s.cursor)"
            }
            Check::MatchKeyedOfMissing => {
                "SELECT k.record_id AS id FROM match_keyed k WHERE k.tenant = $1
                   AND NOT EXISTS (SELECT 1 FROM records r WHERE r.id = k.record_id AND r.tenant = k.tenant)"
            }
            Check::ConflictsAdrift => {
                "SELECT c.id AS id FROM conflicts c
                 LEFT JOIN links l ON l.id = c.link_id AND l.tenant = c.tenant
                 LEFT JOIN records r ON r.id = c.record_id AND r.tenant = c.tenant
                 WHERE c.tenant = $1 AND c.status = 'open'
                   AND (l.id IS NULL OR r.id IS NULL OR l.record_id <> c.record_id)"
            }
            Check::StaleLeases | Check::RunsWithoutLease => return None,
        })
    }

    /// The statement that removes the rows `query` selects, for the
    /// repairs that delete.
    pub(super) fn delete(self) -> Option<String> {
        let (table, column) = match self {
            Check::OutboxWithoutLink => ("outbox", "id"),
            Check::MatchKeysOfGone => ("match_keys", "record_id"),
            Check::MatchKeyedOfMissing => ("match_keyed", "record_id"),
            _ => return None,
        };
        let query = self.query()?;
        Some(format!(
            "DELETE FROM {table} WHERE tenant = $1 AND {column} IN (SELECT id FROM ({query}) found)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::Check;

    #[test]
    fn names_are_the_serialised_ones_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for c in Check::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.name(), "{c:?}");
            assert!(seen.insert(c.name()));
            assert!(
                c.query().is_some() || matches!(c, Check::StaleLeases | Check::RunsWithoutLease)
            );
        }
    }
}
