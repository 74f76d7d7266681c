//! The store contract: the same behaviour from every adapter. Each function takes a
//! fresh, empty store.

use directory_usecases::prelude::*;

use directory_domain::ids::{ClaimId, OrganisationId, ResourceId, ServerId};
use directory_domain::model::*;
use directory_domain::validate::fields::FieldRule;
use directory_domain::validate::tables;
use directory_usecases::import::{self, ImportError};
use directory_usecases::ports::Store;
use directory_usecases::writes::ClaimWrite;
use std::sync::Arc;

/// The demo data, parsed and prepared (roles resolved), as the import writes it.
pub fn demo() -> (ReferenceData, Vec<OrganisationSnapshot>) {
    let file = import::parse(&crate::demo_bytes()).expect("demo parses");
    import::prepare(file, &ReferenceData::default()).expect("demo is valid")
}

async fn load_demo<S: Store>(store: &S) -> (ReferenceData, Vec<OrganisationSnapshot>) {
    import::import(store, &crate::demo_bytes(), |_, _| {})
        .await
        .expect("demo imports");
    demo()
}

fn sorted(mut r: ReferenceData) -> ReferenceData {
    r.authorities.sort_by(|a, b| a.authority_id.cmp(&b.authority_id));
    r.authorisation_domains
        .sort_by(|a, b| a.authorisation_domain_id.cmp(&b.authorisation_domain_id));
    r.authorisation_domain_roles.sort_by(|a, b| {
        a.authorisation_domain_role_identifier
            .cmp(&b.authorisation_domain_role_identifier)
    });
    r
}

/// Imported organisations read back exactly as written; reference data too.
pub async fn snapshots_round_trip<S: Store>(store: S) {
    let (reference, orgs) = load_demo(&store).await;
    assert!(orgs.len() >= 12);
    for org in &orgs {
        let back = store
            .snapshot(&OrganisationId::from(org.id()))
            .await
            .unwrap()
            .expect("imported org exists");
        assert_eq!(&back, org, "snapshot of {} differs from what was imported", org.id());
    }
    assert_eq!(sorted(store.reference().await.unwrap()), sorted(reference));
    assert_eq!(
        store.snapshot(&OrganisationId::from("no-such-org")).await.unwrap(),
        None
    );
}

/// Re-importing the same file changes nothing.
pub async fn reimport_is_idempotent<S: Store>(store: S) {
    let (_, orgs) = load_demo(&store).await;
    let before: Vec<_> = futures_join(&store, &orgs).await;
    import::import(&store, &crate::demo_bytes(), |_, _| {}).await.unwrap();
    let after: Vec<_> = futures_join(&store, &orgs).await;
    assert_eq!(before, after);
    let ids = store.organisation_ids(None, 1000).await.unwrap();
    assert_eq!(ids.len(), orgs.len());
}

async fn futures_join<S: Store>(store: &S, orgs: &[OrganisationSnapshot]) -> Vec<Option<OrganisationSnapshot>> {
    let mut out = Vec::new();
    for o in orgs {
        out.push(store.snapshot(&OrganisationId::from(o.id())).await.unwrap());
    }
    out
}

/// Replacing an organisation removes the items it no longer has.
pub async fn replace_removes_stale_items<S: Store>(store: S) {
    let (_, orgs) = load_demo(&store).await;
    let mut org = orgs
        .into_iter()
        .find(|o| o.contacts.len() > 1 && !o.authorisation_servers.is_empty())
        .unwrap();
    // Read first, so a store that remembers snapshots holds the old one.
    let old = store.snapshot(&OrganisationId::from(org.id())).await.unwrap().unwrap();
    org.contacts.truncate(1);
    org.authorisation_servers[0].api_resources.truncate(1);
    org.software_statements.clear();
    org.organisation_certificates.clear();
    assert_ne!(old, org);
    store.replace_organisation(&org).await.unwrap();
    assert_eq!(
        store.snapshot(&OrganisationId::from(org.id())).await.unwrap().unwrap(),
        org
    );
}

/// One API resource by its three ids; a resource under another server is not found.
pub async fn api_resource_lookup<S: Store>(store: S) {
    let (_, orgs) = load_demo(&store).await;
    let org = orgs
        .iter()
        .find(|o| o.authorisation_servers.len() > 1)
        .expect("an org with two servers");
    let (a, b) = (&org.authorisation_servers[0], &org.authorisation_servers[1]);
    let r = &a.api_resources[0];
    let got = store
        .api_resource(
            &OrganisationId::from(org.id()),
            &ServerId::from(&a.fields.authorisation_server_id),
            &ResourceId::from(&r.api_resource_id),
        )
        .await
        .unwrap();
    assert_eq!(got.as_ref(), Some(r));
    let wrong_server = store
        .api_resource(
            &OrganisationId::from(org.id()),
            &ServerId::from(&b.fields.authorisation_server_id),
            &ResourceId::from(&r.api_resource_id),
        )
        .await
        .unwrap();
    assert_eq!(wrong_server, None);
    assert_eq!(
        store
            .api_resource(
                &OrganisationId::from("nope"),
                &ServerId::from(&a.fields.authorisation_server_id),
                &ResourceId::from(&r.api_resource_id)
            )
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .api_resource(
                &OrganisationId::from(org.id()),
                &ServerId::from(&a.fields.authorisation_server_id),
                &ResourceId::from("nope")
            )
            .await
            .unwrap(),
        None
    );
}

/// Claims come in claim-id order; an unknown organisation is `None`, one without
/// claims is an empty list.
pub async fn authority_claims_listing<S: Store>(store: S) {
    let (_, orgs) = load_demo(&store).await;
    for org in &orgs {
        let claims = store
            .authority_claims(&OrganisationId::from(org.id()))
            .await
            .unwrap()
            .unwrap();
        let mut expected = org.org_domain_role_claims.clone();
        expected.sort_by(|a, b| {
            a.organisation_authority_claim_id
                .cmp(&b.organisation_authority_claim_id)
        });
        assert_eq!(claims, expected);
    }
    assert_eq!(
        store.authority_claims(&OrganisationId::from("nope")).await.unwrap(),
        None
    );
    let mut bare = orgs[0].clone();
    bare.organisation_details.organisation_id = "org-without-claims".into();
    bare.org_domain_role_claims.clear();
    bare.contacts.iter_mut().for_each(|c| c.organisation_id = None);
    bare.authorisation_servers
        .iter_mut()
        .for_each(|s| s.fields.organisation_id = None);
    store.replace_organisation(&bare).await.unwrap();
    assert_eq!(
        store
            .authority_claims(&OrganisationId::from("org-without-claims"))
            .await
            .unwrap(),
        Some(vec![])
    );
}

/// The public snapshot has no private items.
pub async fn public_snapshot_has_no_private_items<S: Store>(store: S) {
    let (_, orgs) = load_demo(&store).await;
    for org in &orgs {
        let public = store
            .public_snapshot(&OrganisationId::from(org.id()))
            .await
            .unwrap()
            .unwrap();
        assert!(public.contacts.is_empty());
        assert!(public.software_statements.is_empty());
        assert!(public.organisation_certificates.is_empty());
        assert_eq!(public.authorisation_servers, org.authorisation_servers);
        assert_eq!(public.org_domain_role_claims, org.org_domain_role_claims);
        assert_eq!(public.org_domain_claims, org.org_domain_claims);
    }
}

/// Organisation ids in byte order, paged with `after`.
pub async fn organisation_ids_in_order<S: Store>(store: S) {
    let (_, orgs) = load_demo(&store).await;
    let mut expected: Vec<String> = orgs.iter().map(|o| o.id().to_owned()).collect();
    expected.sort();
    assert_eq!(store.organisation_ids(None, 1000).await.unwrap(), expected);
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.organisation_ids(after.as_deref(), 5).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 5);
        after = page.last().cloned();
        paged.extend(page);
    }
    assert_eq!(paged, expected);
}

/// Ids containing the key separator and the escape character stay apart.
pub async fn ids_with_separators<S: Store>(store: S) {
    let (_, orgs) = load_demo(&store).await;
    let mut org = orgs.into_iter().find(|o| !o.authorisation_servers.is_empty()).unwrap();
    org.organisation_details.organisation_id = "weird#org%23id".into();
    org.contacts.clear();
    org.org_domain_role_claims.clear();
    org.software_statements.clear();
    org.organisation_certificates.clear();
    let mut server = org.authorisation_servers[0].clone();
    server.fields.organisation_id = None;
    server.fields.authorisation_server_id = "a#RES#b".into();
    let mut twin = server.clone();
    twin.fields.authorisation_server_id = "a".into();
    twin.api_resources[0].api_resource_id = "b".into();
    server.api_resources.truncate(1);
    twin.api_resources.truncate(1);
    org.authorisation_servers = vec![server.clone(), twin.clone()];
    org.authorisation_servers.sort_by(|x, y| {
        directory_domain::keys::server_sk(&x.fields.authorisation_server_id)
            .cmp(&directory_domain::keys::server_sk(&y.fields.authorisation_server_id))
    });
    store.replace_organisation(&org).await.unwrap();
    assert_eq!(
        store
            .snapshot(&OrganisationId::from("weird#org%23id"))
            .await
            .unwrap()
            .unwrap(),
        org
    );
    let r = store
        .api_resource(
            &OrganisationId::from("weird#org%23id"),
            &ServerId::from("a"),
            &ResourceId::from("b"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r, twin.api_resources[0]);
    assert!(
        store
            .snapshot(&OrganisationId::from("weird#org#id"))
            .await
            .unwrap()
            .is_none()
    );
}

/// An organisation larger than one DynamoDB transaction (100 items) is written whole.
pub async fn large_organisation<S: Store>(store: S) {
    let (_, orgs) = load_demo(&store).await;
    let mut org = orgs[0].clone();
    let template = org.contacts[0].clone();
    org.contacts = (0..180)
        .map(|i| Contact {
            contact_id: format!("contact-{i:04}"),
            ..template.clone()
        })
        .collect();
    store.replace_organisation(&org).await.unwrap();
    assert_eq!(
        store.snapshot(&OrganisationId::from(org.id())).await.unwrap().unwrap(),
        org
    );
    org.contacts.truncate(3);
    store.replace_organisation(&org).await.unwrap();
    assert_eq!(
        store.snapshot(&OrganisationId::from(org.id())).await.unwrap().unwrap(),
        org
    );
}

/// An import with one invalid record writes nothing at all.
pub async fn invalid_import_writes_nothing<S: Store>(store: S) {
    let mut file: serde_json::Value = serde_json::from_slice(&crate::demo_bytes()).unwrap();
    file["Organisations"][3]["OrganisationDetails"]["OrganisationName"] = "<script>".into();
    file["Organisations"][5]["Contacts"][0]["EmailAddress"] = "nobody".into();
    let bytes = serde_json::to_vec(&file).unwrap();
    let err = import::import(&store, &bytes, |_, _| {}).await.unwrap_err();
    let ImportError::Invalid(import::Problems { lines: problems, .. }) = err else {
        panic!("expected Invalid, got {err:?}")
    };
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(problems[0].starts_with("record 3 ("), "{}", problems[0]);
    assert!(problems[0].contains("OrganisationDetails.OrganisationName: must match ^[^<>]*$"));
    assert!(problems[1].contains("record 5 (") && problems[1].contains("Contacts[0].EmailAddress"));
    assert!(store.organisation_ids(None, 10).await.unwrap().is_empty());
    assert_eq!(store.reference().await.unwrap(), ReferenceData::default());
}

/// A file with problems of every kind across its records and reference data gets
/// every one of them in one run (tests/fixtures/import/many-problems.*), and nothing
/// is written.
pub async fn every_import_problem_in_one_run<S: Store>(store: S) {
    let dir = crate::repo_root().join("tests/fixtures/import");
    let bytes = std::fs::read(dir.join("many-problems.json")).unwrap();
    let expected = std::fs::read_to_string(dir.join("many-problems.expected")).unwrap();
    let err = import::import(&store, &bytes, |_, _| {}).await.unwrap_err();
    let ImportError::Invalid(problems) = err else {
        panic!("expected Invalid, got {err:?}")
    };
    assert_eq!(problems.lines, expected.lines().collect::<Vec<_>>());
    assert_eq!(problems.summary(), "16 problems in 4 records; nothing written");
    assert!(store.organisation_ids(None, 10).await.unwrap().is_empty());
    assert_eq!(store.reference().await.unwrap(), ReferenceData::default());
}

/// An item DynamoDB could not store (400 KB) is refused when the file is checked,
/// naming the record and the object, so no import can fail half-way on it.
pub async fn oversized_items_are_refused_before_writing<S: Store>(store: S) {
    let mut file: serde_json::Value = serde_json::from_slice(&crate::demo_bytes()).unwrap();
    file["Organisations"][2]["AuthorisationServers"][0]["ApiResources"][0]["ApiMetadata"] =
        serde_json::json!({ "blob": "x".repeat(410 * 1024) });
    let err = import::import(&store, &serde_json::to_vec(&file).unwrap(), |_, _| {})
        .await
        .unwrap_err();
    let ImportError::Invalid(problems) = err else {
        panic!("expected Invalid, got {err:?}")
    };
    assert_eq!(problems.lines.len(), 1, "{problems}");
    assert!(
        problems.lines[0].starts_with("record 2 (")
            && problems.lines[0].contains(
                "): AuthorisationServers[0].ApiResources[0]: is stored as an item of 410.8 KiB, over DynamoDB's 400.0 KiB item limit"
            ),
        "{problems}"
    );
    assert!(store.organisation_ids(None, 10).await.unwrap().is_empty());
}

/// Sets every optional field of `map` named in `table` to `null` (`remove`: takes it
/// out), recursing into nested objects.
fn blank_optional(map: &mut serde_json::Map<String, serde_json::Value>, table: &[(&str, FieldRule)], remove: bool) {
    use serde_json::Value;
    for (name, rule) in table {
        let Some(value) = map.get_mut(*name) else { continue };
        let (required, rule) = match rule {
            FieldRule::Required(inner) => (true, **inner),
            other => (false, *other),
        };
        match (rule, value) {
            (FieldRule::Object(t), Value::Object(inner)) if !t.is_empty() => blank_optional(inner, t, remove),
            (FieldRule::ObjectList(t), Value::Array(items)) => {
                for inner in items.iter_mut().filter_map(Value::as_object_mut) {
                    blank_optional(inner, t, remove);
                }
            }
            (FieldRule::ObjectMap(t), Value::Object(inner)) => {
                for item in inner.values_mut().filter_map(Value::as_object_mut) {
                    blank_optional(item, t, remove);
                }
            }
            _ if required => {}
            _ if remove => {
                map.remove(*name);
            }
            _ => *map.get_mut(*name).unwrap() = Value::Null,
        }
    }
}

/// What real files carry is read as meant: `null` for every optional field is absent,
/// an integer `ApiVersion` is its decimal string, a logo URL may have a query.
pub async fn real_file_quirks_are_accepted<S: Store>(store: S) {
    use serde_json::Value;
    let mut file: Value = serde_json::from_slice(&crate::demo_bytes()).unwrap();
    let org = file["Organisations"][1].as_object_mut().unwrap();
    let mut absent = org.clone();
    let (nulled, removed) = (org, &mut absent);
    for (map, remove) in [(nulled, false), (removed, true)] {
        blank_optional(map, tables::SNAPSHOT, remove);
        for claim in map["OrgDomainRoleClaims"].as_array_mut().unwrap() {
            // The writable fields name the claim's role: they stay.
            blank_optional(claim.as_object_mut().unwrap(), tables::CLAIM_DERIVED, remove);
        }
        map["AuthorisationServers"][0]["ApiResources"][0]["ApiVersion"] = 1.into();
        map["OrganisationDetails"]["LogoUri"] = "https://cdn.example.com/logo.jpg?MOD=AJPERES&CVID=x".into();
    }
    let nulls = serde_json::to_string(&file["Organisations"][1]).unwrap();
    assert!(nulls.matches(":null").count() > 100, "{nulls}");
    import::import(&store, &serde_json::to_vec(&file).unwrap(), |_, _| {})
        .await
        .expect("nulls, a numeric ApiVersion and a logo query are accepted");

    file["Organisations"][1] = Value::Object(absent);
    let (_, orgs) = import::prepare(
        import::parse(&serde_json::to_vec(&file).unwrap()).unwrap(),
        &ReferenceData::default(),
    )
    .unwrap();
    let stored = store
        .snapshot(&OrganisationId::from(orgs[1].id()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, orgs[1], "null must read exactly as absent");
    assert_eq!(
        stored.authorisation_servers[0].api_resources[0].api_version.as_deref(),
        Some("1")
    );
    assert_eq!(stored.organisation_details.organisation_name, None);
}

fn activate(_: &ReferenceData, claims: &[AuthorityClaim], current: &AuthorityClaim) -> Result<AuthorityClaim, String> {
    let mut updated = current.clone();
    updated.status = ResourceStatus::Active;
    match directory_domain::claims::exclusive_rule_after(claims, &updated) {
        Some(rule) => Err(rule),
        None => Ok(updated),
    }
}

/// An organisation with `n` Inactive claims, the first on the exclusive role.
pub fn exclusive_org(reference: &ReferenceData, n: usize) -> OrganisationSnapshot {
    let (_, orgs) = demo();
    let mut org = orgs.into_iter().find(|o| o.org_domain_role_claims.len() == 1).unwrap();
    org.organisation_details.organisation_id = "exclusive-org".into();
    org.contacts.clear();
    org.authorisation_servers.clear();
    org.software_statements.clear();
    org.organisation_certificates.clear();
    let exclusive = reference
        .authorisation_domain_roles
        .iter()
        .find(|r| r.exclusive)
        .unwrap();
    let plain = reference
        .authorisation_domain_roles
        .iter()
        .find(|r| !r.exclusive)
        .unwrap();
    let template = org.org_domain_role_claims[0].clone();
    org.org_domain_role_claims = (0..n)
        .map(|i| {
            let mut c = template.clone();
            c.organisation_id = Some("exclusive-org".into());
            c.organisation_authority_claim_id = format!("00000000-0000-4000-8000-{i:012}");
            c.status = ResourceStatus::Inactive;
            directory_domain::claims::apply_role(&mut c, reference, if i == 0 { exclusive } else { plain });
            c
        })
        .collect();
    org
}

/// A decision that refuses leaves the claim as it was; unknown claim or org → NotFound.
pub async fn claim_update_outcomes<S: Store>(store: S) {
    let (reference, _) = load_demo(&store).await;
    let org = exclusive_org(&reference, 3);
    store.replace_organisation(&org).await.unwrap();
    let [x, y, _] = [0, 1, 2].map(|i| org.org_domain_role_claims[i].organisation_authority_claim_id.clone());
    let status_of_y = |snapshot: &Option<OrganisationSnapshot>| {
        let claims = &snapshot.as_ref().unwrap().org_domain_role_claims;
        claims
            .iter()
            .find(|c| c.organisation_authority_claim_id == y)
            .map(|c| c.status)
    };
    // Read first, so a store that remembers snapshots holds the one before the write.
    let unchanged = store.snapshot(&OrganisationId::from("exclusive-org")).await.unwrap();
    assert_ne!(status_of_y(&unchanged), Some(ResourceStatus::Active));
    let updated = store
        .update_authority_claim(&OrganisationId::from("exclusive-org"), &ClaimId::from(&y), activate)
        .await
        .unwrap();
    assert!(matches!(updated, ClaimWrite::Updated(ref c) if c.status == ResourceStatus::Active));
    let before = store.snapshot(&OrganisationId::from("exclusive-org")).await.unwrap();
    assert_eq!(
        status_of_y(&before),
        Some(ResourceStatus::Active),
        "the snapshot shows the write"
    );
    let refused = store
        .update_authority_claim(&OrganisationId::from("exclusive-org"), &ClaimId::from(&x), activate)
        .await
        .unwrap();
    assert!(
        matches!(refused, ClaimWrite::Rejected(ref m) if m.contains("exclusive role rule")),
        "{refused:?}"
    );
    assert_eq!(
        store.snapshot(&OrganisationId::from("exclusive-org")).await.unwrap(),
        before,
        "a refused update changed data"
    );
    assert_eq!(
        store
            .update_authority_claim(&OrganisationId::from("exclusive-org"), &ClaimId::from("nope"), activate)
            .await
            .unwrap(),
        ClaimWrite::NotFound
    );
    assert_eq!(
        store
            .update_authority_claim(&OrganisationId::from("no-org"), &ClaimId::from(&x), activate)
            .await
            .unwrap(),
        ClaimWrite::NotFound
    );
}

/// Simultaneous updates that would jointly break the exclusive rule: the guard
/// serialises them, every one ends Updated or Rejected, and the invariant holds.
pub async fn concurrent_updates_keep_the_exclusive_rule<S: Store>(store: S) {
    let (reference, _) = load_demo(&store).await;
    let n = 24;
    let org = exclusive_org(&reference, n);
    store.replace_organisation(&org).await.unwrap();
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for claim in &org.org_domain_role_claims {
        let store = store.clone();
        let id = claim.organisation_authority_claim_id.clone();
        tasks.push(tokio::spawn(async move {
            store
                .update_authority_claim(&OrganisationId::from("exclusive-org"), &ClaimId::from(&id), activate)
                .await
        }));
    }
    let mut updated = 0;
    for t in tasks {
        match t.await.unwrap().expect("no store error under contention") {
            ClaimWrite::Updated(_) => updated += 1,
            ClaimWrite::Rejected(_) => {}
            ClaimWrite::NotFound => panic!("claim vanished"),
            ClaimWrite::Importing => panic!("no import is running"),
        }
    }
    let claims = store
        .authority_claims(&OrganisationId::from("exclusive-org"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        directory_domain::claims::exclusive_rule_violation(&claims),
        None,
        "invariant broken: {claims:#?}"
    );
    let active = claims.iter().filter(|c| c.is_active()).count();
    assert_eq!(active, updated, "every Updated answer is visible, nothing else changed");
    assert!(
        active == 1 || active == n - 1,
        "either the exclusive claim alone or all the others: {active}"
    );
}

/// Versioned documents: absent until written, written only on the version read, so
/// of concurrent writers on one version exactly one lands; and no organisation read
/// or export sees them.
pub async fn documents_are_written_on_the_version_read<S: Store>(store: S) {
    use directory_usecases::ports::Document;
    let doc = Document::KeyHistory("contract");
    assert_eq!(store.document(doc).await.unwrap(), None);
    assert!(
        !store.put_document(doc, "{\"a\":1}", Some(1)).await.unwrap(),
        "no version 1 yet"
    );
    assert!(store.put_document(doc, "{\"a\":1}", None).await.unwrap());
    assert!(
        !store.put_document(doc, "{\"a\":2}", None).await.unwrap(),
        "it exists now"
    );
    let v1 = store.document(doc).await.unwrap().unwrap();
    assert_eq!((v1.version, v1.body.as_str()), (1, "{\"a\":1}"));
    let store = Arc::new(store);
    let writers: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.put_document(doc, &format!("{{\"w\":{i}}}"), Some(1)).await })
        })
        .collect();
    let mut landed = 0;
    for w in writers {
        landed += usize::from(w.await.unwrap().unwrap());
    }
    assert_eq!(landed, 1, "one writer per version");
    let v2 = store.document(doc).await.unwrap().unwrap();
    assert_eq!(v2.version, 2);
    assert!(v2.body.starts_with("{\"w\":"));
    let other = Document::KeyHistory("other");
    assert_eq!(store.document(other).await.unwrap(), None, "documents are apart");
    assert!(store.organisation_ids(None, 10).await.unwrap().is_empty());
}

/// The write primitives themselves: a claim commit or an organisation replace on a
/// version another write has moved on is a conflict that writes nothing (neither the
/// change nor its audit record); on the version read it lands with its record.
pub async fn write_primitives_land_only_on_the_version_read<S: Store>(store: S) {
    use directory_domain::audit::{Actor, AuditRecord};
    use directory_usecases::ports::{ClaimContext, Commit, WriteEffects};
    let (_, orgs) = load_demo(&store).await;
    let org = orgs.iter().find(|o| !o.org_domain_role_claims.is_empty()).unwrap();
    let id = OrganisationId::from(org.id());
    let effects = |note: &str| WriteEffects {
        audit: AuditRecord::new(
            &Actor::system("contract", note),
            directory_domain::audit::target(&[("OrganisationId", org.id())]),
            Vec::new(),
            1,
        ),
    };
    let ClaimContext::Ready { claims, version, .. } = store.claim_context(&id).await.unwrap() else {
        panic!("the demo organisation is ready for claim writes");
    };
    let mut claim = claims[0].clone();
    claim.registration_id = Some("CONTRACT-1".into());
    let audit_before = store.audit_records(Some(&id), None).await.unwrap().len();
    // A stale version: nothing lands.
    assert_eq!(
        store
            .commit_claim(&id, &claim, version + 7, &effects("stale"))
            .await
            .unwrap(),
        Commit::Conflict
    );
    assert_eq!(store.authority_claims(&id).await.unwrap().unwrap(), claims);
    assert_eq!(store.audit_records(Some(&id), None).await.unwrap().len(), audit_before);
    // The version read: it lands with its record, and the version moves on.
    assert_eq!(
        store
            .commit_claim(&id, &claim, version, &effects("commit"))
            .await
            .unwrap(),
        Commit::Done
    );
    let after = store.authority_claims(&id).await.unwrap().unwrap();
    assert!(after.contains(&claim));
    assert_eq!(
        store.audit_records(Some(&id), None).await.unwrap().len(),
        audit_before + 1
    );
    let ClaimContext::Ready { version: moved, .. } = store.claim_context(&id).await.unwrap() else {
        panic!()
    };
    assert!(moved > version, "{moved} after {version}");
    // The same commit again on the old version: a conflict now.
    assert_eq!(
        store
            .commit_claim(&id, &claim, version, &effects("again"))
            .await
            .unwrap(),
        Commit::Conflict
    );
    // A replace read before a claim write cannot land over it.
    let read = store.read_for_replace(&id).await.unwrap();
    assert!(!read.pending);
    assert!(read.items.iter().any(|(sk, _)| sk == "ORG"));
    let mut claim2 = claim.clone();
    claim2.registration_id = Some("CONTRACT-2".into());
    assert_eq!(
        store
            .commit_claim(&id, &claim2, moved, &effects("between"))
            .await
            .unwrap(),
        Commit::Done
    );
    let items = directory_domain::items::organisation_items(org);
    assert_eq!(
        store
            .replace_items(&id, read.state, items.clone(), &effects("late"))
            .await
            .unwrap(),
        Commit::Conflict
    );
    assert!(
        store.authority_claims(&id).await.unwrap().unwrap().contains(&claim2),
        "the late replace wrote nothing"
    );
    let fresh = store.read_for_replace(&id).await.unwrap();
    assert_eq!(
        store
            .replace_items(&id, fresh.state, items, &effects("fresh"))
            .await
            .unwrap(),
        Commit::Done
    );
    assert_eq!(store.snapshot(&id).await.unwrap().as_ref(), Some(org));
    // No organisation: no context.
    assert_eq!(
        store.claim_context(&OrganisationId::from("no-such-org")).await.unwrap(),
        ClaimContext::NoOrganisation
    );
}
