//! The audit trail: one record per accepted write (claim PUT, import of an
//! organisation, export publish), stored by the store in the same transaction as the
//! change and logged as one JSON line. Records live in their own partitions
//! (`AUDIT#{OrganisationId}`, `AUDIT` for directory-wide writes), so snapshot,
//! claims and export reads never see them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Default retention of audit records (the template's `AuditRetentionDays`).
pub const DEFAULT_RETENTION_DAYS: u32 = 400;
/// The environment variable that overrides the retention in the Lambda functions.
pub const RETENTION_ENV: &str = "AUDIT_RETENTION_DAYS";
/// A stored record is kept under this size (DynamoDB items stop at 400 KB); past it
/// the before/after values are dropped and the field names kept.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

/// Who is writing and through what: taken from the verified caller (routes) or the
/// operator's command (CLI), carried to the store with the write.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    /// The token's `sub`, or the operator / scheduler name.
    pub sub: Option<String>,
    /// The caller's own organisation (`organisation_id` claim).
    pub organisation_id: Option<String>,
    /// The route name or the command (`import`, `export`, …).
    pub action: String,
    /// The request's `x-fapi-interaction-id`.
    pub interaction_id: Option<String>,
}

impl Actor {
    /// An operator command or an internal trigger (no token involved).
    pub fn system(sub: &str, action: &str) -> Self {
        Self {
            sub: Some(sub.to_owned()),
            action: action.to_owned(),
            ..Self::default()
        }
    }
}

/// One changed field (or item, for imports) with its value before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub field: String,
    pub before: Value,
    pub after: Value,
}

/// One audit record as stored and printed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// UTC time of the write, fixed-width RFC 3339 (sorts as text).
    pub at: String,
    /// Unique id of the record (keeps two records of the same microsecond apart).
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisation_id: Option<String>,
    pub action: String,
    /// The ids the write targeted (`OrganisationId`, `OrganisationAuthorityClaimId`, …).
    pub target: BTreeMap<String, String>,
    pub changes: Vec<Change>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interaction_id: Option<String>,
    /// When the table may drop the record (epoch seconds; DynamoDB TTL).
    pub expires_at: i64,
    /// The before/after values were dropped to keep the record small.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub values_omitted: bool,
}

/// Fixed-width UTC RFC 3339 with microseconds: `2026-11-28T19:30:00.123456Z`.
pub fn format_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// Parses an RFC 3339 time (any offset) into the stored fixed-width form, so it can
/// bound a range of records.
pub fn parse_time(text: &str) -> Result<String, String> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(format_time)
        .map_err(|e| format!("{text:?} is not an RFC 3339 time: {e}"))
}

impl AuditRecord {
    /// A record of `actor` changing `target` now, kept for `retention_days`.
    pub fn new(actor: &Actor, target: BTreeMap<String, String>, mut changes: Vec<Change>, retention_days: u32) -> Self {
        // A secret's change is recorded, its value never (stored data from before
        // secrets were dropped at import may still hold one).
        for c in &mut changes {
            crate::model::visibility::mask_secrets(&mut c.before);
            crate::model::visibility::mask_secrets(&mut c.after);
        }
        let now = OffsetDateTime::now_utc();
        let mut record = Self {
            at: format_time(now),
            id: uuid::Uuid::new_v4().simple().to_string(),
            sub: actor.sub.clone(),
            organisation_id: actor.organisation_id.clone(),
            action: actor.action.clone(),
            target,
            changes,
            interaction_id: actor.interaction_id.clone(),
            expires_at: now.unix_timestamp() + i64::from(retention_days) * 86_400,
            values_omitted: false,
        };
        if record.to_json().len() > MAX_RECORD_BYTES {
            record.values_omitted = true;
            for c in &mut record.changes {
                c.before = Value::Null;
                c.after = Value::Null;
            }
            // Field names alone can still be many (a huge import): keep the first ones.
            while record.to_json().len() > MAX_RECORD_BYTES && record.changes.len() > 1 {
                let keep = record.changes.len() / 2;
                record.changes.truncate(keep);
            }
        }
        record
    }

    /// Its partition: the target organisation's (`AUDIT#{OrganisationId}`), or the
    /// directory's (`AUDIT`) for writes that target no organisation.
    pub fn partition_key(&self) -> String {
        crate::keys::audit_partition(self.target.get("OrganisationId").map(String::as_str))
    }

    /// The sort key inside its partition: time first, so a range is a time window.
    pub fn sort_key(&self) -> String {
        format!("{}#{}", self.at, self.id)
    }

    /// The stored JSON body.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Whether the table may already have dropped it (reads hide such records, as
    /// DynamoDB's TTL deletes lazily).
    pub fn is_expired(&self) -> bool {
        self.expires_at <= OffsetDateTime::now_utc().unix_timestamp()
    }

    /// Emits the record as one JSON log line (`"event":"audit"`), field names only:
    /// values stay in the table, out of the logs.
    pub fn log(&self) {
        let fields: Vec<&str> = self.changes.iter().map(|c| c.field.as_str()).collect();
        tracing::info!(
            event = "audit",
            at = %self.at,
            sub = self.sub.as_deref().unwrap_or(""),
            organisation_id = self.organisation_id.as_deref().unwrap_or(""),
            action = %self.action,
            target = %serde_json::to_string(&self.target).unwrap_or_default(),
            changed = %fields.join(","),
            interaction_id = self.interaction_id.as_deref().unwrap_or(""),
            "audit"
        );
    }
}

/// Logs a refused write (no record is stored for it).
pub fn log_rejected(actor: &Actor, target: &BTreeMap<String, String>, status: u16, reason: &str) {
    tracing::warn!(
        event = "audit_rejected",
        sub = actor.sub.as_deref().unwrap_or(""),
        organisation_id = actor.organisation_id.as_deref().unwrap_or(""),
        action = %actor.action,
        target = %serde_json::to_string(target).unwrap_or_default(),
        status,
        reason,
        interaction_id = actor.interaction_id.as_deref().unwrap_or(""),
        "write rejected"
    );
}

/// The top-level fields whose values differ between two JSON objects, prefixed by
/// `prefix` (an item key for imports, empty for a single entity).
pub fn diff(prefix: &str, before: &Value, after: &Value) -> Vec<Change> {
    static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
    let b = before.as_object().unwrap_or(&EMPTY);
    let a = after.as_object().unwrap_or(&EMPTY);
    let mut fields: Vec<&String> = b.keys().chain(a.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter(|f| b.get(*f) != a.get(*f))
        .map(|f| Change {
            field: if prefix.is_empty() {
                f.clone()
            } else {
                format!("{prefix}.{f}")
            },
            before: b.get(f).cloned().unwrap_or(Value::Null),
            after: a.get(f).cloned().unwrap_or(Value::Null),
        })
        .collect()
}

/// The changes of replacing an organisation's items: `before` and `after` are
/// (sort key, JSON body) pairs. Changed items list their changed fields; added and
/// removed items are one change each.
pub fn item_changes(before: &[(String, String)], after: &[(String, String)]) -> Vec<Change> {
    let parse = |body: &str| serde_json::from_str::<Value>(body).unwrap_or(Value::Null);
    let old: BTreeMap<&str, &str> = before.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let new: BTreeMap<&str, &str> = after.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut changes = Vec::new();
    for (sk, body) in &new {
        match old.get(sk) {
            None => changes.push(Change {
                field: (*sk).to_owned(),
                before: Value::Null,
                after: parse(body),
            }),
            Some(prev) if prev != body => changes.extend(diff(sk, &parse(prev), &parse(body))),
            Some(_) => {}
        }
    }
    for (sk, body) in &old {
        if !new.contains_key(sk) {
            changes.push(Change {
                field: (*sk).to_owned(),
                before: parse(body),
                after: Value::Null,
            });
        }
    }
    changes
}

/// A record's target: named ids.
pub fn target(ids: &[(&str, &str)]) -> BTreeMap<String, String> {
    ids.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// The record of a claim update: every field whose value changed.
pub fn claim_update<T: Serialize>(
    actor: &Actor,
    org_id: &str,
    claim_id: &str,
    before: &T,
    after: &T,
    retention_days: u32,
) -> AuditRecord {
    let json = |v: &T| serde_json::to_value(v).unwrap_or(Value::Null);
    AuditRecord::new(
        actor,
        target(&[("OrganisationId", org_id), ("OrganisationAuthorityClaimId", claim_id)]),
        diff("", &json(before), &json(after)),
        retention_days,
    )
}

/// The record of replacing an organisation's items, `None` when nothing changes.
pub fn organisation_replace(
    actor: &Actor,
    org_id: &str,
    before: &[(String, String)],
    after: &[(String, String)],
    retention_days: u32,
) -> Option<AuditRecord> {
    let changes = item_changes(before, after);
    (!changes.is_empty())
        .then(|| AuditRecord::new(actor, target(&[("OrganisationId", org_id)]), changes, retention_days))
}

/// The retention from [`RETENTION_ENV`], or the default.
pub fn retention_from_env() -> u32 {
    crate::days_from_env(RETENTION_ENV, DEFAULT_RETENTION_DAYS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times_are_fixed_width_and_sort_as_text() {
        let t = parse_time("2026-11-28T19:30:00+01:00").unwrap();
        assert_eq!(t, "2026-11-28T18:30:00.000000Z");
        assert!(parse_time("2026-11-28T18:30:00.5Z").unwrap() > t);
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn diff_lists_changed_fields_only() {
        let d = diff(
            "",
            &json!({"Status": "Inactive", "AuthorityId": "a", "X": 1}),
            &json!({"Status": "Active", "AuthorityId": "a", "Y": 2}),
        );
        let fields: Vec<&str> = d.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["Status", "X", "Y"]);
        assert_eq!(d[0].before, json!("Inactive"));
        assert_eq!(d[2].before, Value::Null);
    }

    #[test]
    fn item_changes_cover_added_changed_removed() {
        let before = vec![
            ("ORG".to_owned(), r#"{"Name":"a"}"#.to_owned()),
            ("CONTACT#1".to_owned(), "{}".to_owned()),
        ];
        let after = vec![
            ("ORG".to_owned(), r#"{"Name":"b"}"#.to_owned()),
            ("CLAIM#1".to_owned(), "{}".to_owned()),
        ];
        let fields: Vec<String> = item_changes(&before, &after).into_iter().map(|c| c.field).collect();
        assert_eq!(fields, ["CLAIM#1", "ORG.Name", "CONTACT#1"]);
        assert!(item_changes(&before, &before).is_empty());
    }

    #[test]
    fn a_secret_is_never_an_audit_value() {
        let before = json!({"SoftwareDetails": {"ClientSecret": "old-secret", "ClientName": "a"}});
        let after = json!({"SoftwareDetails": {"ClientName": "b"}});
        let r = AuditRecord::new(
            &Actor::system("t", "import"),
            BTreeMap::new(),
            diff("PRIVATE#SS#1", &before, &after),
            1,
        );
        assert_eq!(r.changes.len(), 1);
        assert!(!r.to_json().contains("old-secret"), "{}", r.to_json());
        assert_eq!(r.changes[0].before["ClientSecret"], "(secret)");
    }

    #[test]
    fn large_records_keep_field_names_within_the_cap() {
        let big = Value::String("x".repeat(10_000));
        let changes = (0..50)
            .map(|i| Change {
                field: format!("F{i}"),
                before: big.clone(),
                after: big.clone(),
            })
            .collect();
        let r = AuditRecord::new(&Actor::system("t", "import"), BTreeMap::new(), changes, 1);
        assert!(r.values_omitted);
        assert_eq!(r.changes.len(), 50);
        assert!(r.to_json().len() <= MAX_RECORD_BYTES);
        assert!(!r.is_expired());
    }
}
