//! The list of subordinates (list and trust mark list endpoints): kept in memory per
//! Trust Anchor and process, built once from the changes feed's current records and
//! moved on by the revisions after it, so a list at 100,000 organisations reads only
//! what changed since the last one. It follows the feed (a withdrawn organisation
//! leaves the list with its revision); fetch, resolve and the trust mark endpoints
//! read the organisation's record itself.

use super::{Anchor, AnchorStore, FedError};
use directory_domain::federation::{self as fed, Subordinate};
use directory_domain::feed::Revision;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::{LazyLock, Mutex};

/// The list endpoint's filters (§8.2.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only entities of any of these types (none: every type).
    pub entity_types: Vec<String>,
    /// Only entities with (`true`) or without (`false`) a trust mark.
    pub trust_marked: Option<bool>,
    /// Only entities holding this trust mark type.
    pub trust_mark_type: Option<String>,
    /// Only intermediates (`true`: none here, the federation is flat) or leaves.
    pub intermediate: Option<bool>,
}

/// One listed entity: what the filters look at.
#[derive(Debug, Clone)]
struct Listed {
    entity_id: String,
    marks: Vec<String>,
}

struct State {
    head: Revision,
    inputs: String,
    by_org: BTreeMap<String, Vec<Listed>>,
}

static INDEXES: LazyLock<Mutex<HashMap<String, State>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// Revisions read per page while catching up.
const PAGE: usize = 1000;

fn listed(anchor: &str, subs: Vec<Subordinate>) -> Vec<Listed> {
    subs.into_iter()
        .map(|s| Listed {
            marks: s.trust_mark_types(anchor),
            entity_id: s.entity_id,
        })
        .collect()
}

fn passes(l: &Listed, f: &ListFilter) -> bool {
    if f.intermediate == Some(true) {
        return false;
    }
    if !f.entity_types.is_empty()
        && !f
            .entity_types
            .iter()
            .any(|t| fed::LEAF_ENTITY_TYPES.contains(&t.as_str()))
    {
        return false;
    }
    if let Some(marked) = f.trust_marked
        && marked == l.marks.is_empty()
    {
        return false;
    }
    f.trust_mark_type.as_ref().is_none_or(|t| l.marks.contains(t))
}

fn select(state: &State, filter: &ListFilter) -> Vec<String> {
    let mut out: Vec<String> = state
        .by_org
        .values()
        .flatten()
        .filter(|l| passes(l, filter))
        .map(|l| l.entity_id.clone())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The subordinates passing `filter`, in entity identifier order.
pub(super) async fn list<S: AnchorStore>(a: &Anchor<'_, S>, filter: &ListFilter) -> Result<Vec<String>, FedError> {
    let head = a.store.feed_head().await?.map_or(0, |h| h.revision);
    let pins = a.pin_map().await?;
    let scopes = a.scopes().await?;
    // What every entry depends on besides its record: the pins and the role rules.
    let inputs = hex::encode(Sha256::digest(
        format!(
            "{}\n{}",
            pins.values()
                .map(|p| format!("{}@{}", p.entity_id, p.version))
                .collect::<Vec<_>>()
                .join(","),
            serde_json::to_string(&scopes).unwrap_or_default()
        )
        .as_bytes(),
    ));
    let known = {
        let indexes = INDEXES.lock().unwrap_or_else(|p| p.into_inner());
        match indexes.get(a.entity_id) {
            Some(state) if state.inputs == inputs && state.head == head => return Ok(select(state, filter)),
            Some(state) if state.inputs == inputs && state.head < head => Some(state.head),
            _ => None,
        }
    };
    let derive = |record: &str| -> Result<Vec<Listed>, FedError> {
        let org = super::org_of(record)?;
        Ok(listed(
            a.entity_id,
            fed::subordinates(a.entity_id, &org, &pins, &scopes, a.loopback),
        ))
    };
    let mut changed: BTreeMap<String, Option<Vec<Listed>>> = BTreeMap::new();
    let mut reached = known.unwrap_or(0);
    if known.is_some() {
        while reached < head {
            let (entries, _) = a.store.entries_after(reached, PAGE, a.now).await?;
            let Some(last) = entries.last() else { break };
            reached = last.revision;
            for e in &entries {
                let subs = match &e.record {
                    Some(r) => Some(derive(&r.0)?),
                    None => None,
                };
                changed.insert(e.organisation_id.clone(), subs);
            }
        }
    } else {
        let mut after: Option<String> = None;
        loop {
            let page = a.store.current_page(after.as_deref(), PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.organisation_id.clone());
            for c in &page {
                let subs = match &c.record {
                    Some(r) => Some(derive(&r.0)?),
                    None => None,
                };
                changed.insert(c.organisation_id.clone(), subs);
            }
            if page.len() < PAGE {
                break;
            }
        }
        reached = head;
    }
    let mut indexes = INDEXES.lock().unwrap_or_else(|p| p.into_inner());
    let state = indexes.entry(a.entity_id.to_owned()).or_insert_with(|| State {
        head: 0,
        inputs: String::new(),
        by_org: BTreeMap::new(),
    });
    // Another request got further meanwhile: its index is newer than this one's.
    if state.inputs == inputs && state.head >= reached.max(head) && !state.by_org.is_empty() {
        return Ok(select(state, filter));
    }
    if known.is_none() || state.inputs != inputs {
        state.by_org.clear();
    }
    for (org, subs) in changed {
        match subs {
            Some(list) if !list.is_empty() => {
                state.by_org.insert(org, list);
            }
            _ => {
                state.by_org.remove(&org);
            }
        }
    }
    state.head = reached.max(head);
    state.inputs = inputs;
    Ok(select(state, filter))
}
