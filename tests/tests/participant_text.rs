//! Participant-written text is safe for every consumer of the file: URIs are URIs
//! (no script scheme behind the logo rule's typo, no quotes, `<>` or spaces), and no
//! text field anywhere in a record (named or free-form) holds control, bidi-override
//! or separator characters. `import`, `import --participants` and the claim PUT report
//! each with its field path, and nothing is written. On both stores.

use directory_domain::ids::OrganisationId;
use directory_tests::{both_stores, demo_bytes, event_fixture};
use directory_usecases::import::{self, ImportError};
use directory_usecases::ports::Store;
use directory_usecases::prelude::*;
use serde_json::{Value, json};

const AURORA: &str = "c5de3366-d2fb-5b13-9457-76244d8fd242";

fn actor() -> directory_domain::audit::Actor {
    directory_domain::audit::Actor::system("test", "import")
}

/// The problems of an import that must fail, as one text.
fn refused(outcome: Result<impl std::fmt::Debug, ImportError>) -> String {
    match outcome {
        Err(ImportError::Invalid(problems)) => problems.lines.join("\n"),
        other => panic!("expected an invalid import, got {other:?}"),
    }
}

/// Each poisoned field of Banco Aurora, by its path in the import format.
fn poisoned() -> (Value, Vec<&'static str>) {
    let mut file: Value = serde_json::from_slice(&demo_bytes()).unwrap();
    let org = file["Organisations"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|o| o["OrganisationDetails"]["OrganisationId"] == AURORA)
        .unwrap();
    org["OrganisationDetails"]["LegalEntityName"] = json!("Banco Aurora\u{1b}[2J");
    org["OrganisationDetails"]["RegistrationId"] = json!("BR\u{200b}1009");
    org["OrganisationDetails"]["City"] = json!("S\u{202e}o Paulo");
    org["OrganisationDetails"]["Undocumented"] = json!("line\r\nbreak");
    org["AuthorisationServers"][0]["CustomerFriendlyLogoUri"] = json!("javascript:alert(1)//data:image/png,AAAA");
    org["AuthorisationServers"][0]["DeveloperPortalUri"] = json!("https://dev.example.com/\"onmouseover=\"x");
    org["AuthorisationServers"][0]["ApiResources"][0]["ApiMetadata"] = json!({"note": "a\u{2028}b"});
    org["OrgDomainRoleClaims"][0]["RegistrationId"] = json!("BR-\u{0}1");
    org["OrgDomainRoleClaims"][0]["UniqueTechnicalIdentifiers"] = json!([" leading-space"]);
    let paths = vec![
        "OrganisationDetails.LegalEntityName: must not contain control",
        "OrganisationDetails.RegistrationId: must be an identifier",
        "OrganisationDetails.City: must not contain control",
        "OrganisationDetails.Undocumented: must not contain control",
        "AuthorisationServers[0].CustomerFriendlyLogoUri: must be an http(s) URL",
        "AuthorisationServers[0].DeveloperPortalUri: must be an http:// or https:// URL",
        "AuthorisationServers[0].ApiResources[0].ApiMetadata.note: must not contain control",
        "OrgDomainRoleClaims[0].RegistrationId: must be an identifier",
        "OrgDomainRoleClaims[0].UniqueTechnicalIdentifiers[0]: must be an identifier",
    ];
    (file, paths)
}

async fn import_reports_every_poisoned_field_and_writes_nothing<S: Store>(store: S) {
    let (file, paths) = poisoned();
    let text = refused(import::import_as(&store, &serde_json::to_vec(&file).unwrap(), &actor(), |_, _| {}).await);
    for path in paths {
        assert!(
            text.contains(&format!("record 1 ({AURORA}): {path}")) || text.contains(path),
            "{path} not reported:\n{text}"
        );
    }
    // The output itself is safe to print: no raw control or bidi characters.
    assert!(
        !text
            .chars()
            .any(|c| c.is_control() && c != '\n' || ('\u{202a}'..='\u{202e}').contains(&c))
    );
    assert!(
        store.organisation_ids(None, 10).await.unwrap().is_empty(),
        "something was written"
    );
}

async fn a_participants_file_is_held_to_the_same_rules<S: Store>(store: S) {
    import::import(&store, &demo_bytes(), |_, _| {}).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = directory_embedded::LocalDirTarget::new(dir.path(), directory_tests::signer());
    directory_usecases::export::run(&store, &target, &mut |_| {})
        .await
        .unwrap();
    let mut participants: Value = serde_json::from_slice(&std::fs::read(target.path()).unwrap()).unwrap();
    let entry = &mut participants.as_array_mut().unwrap()[0];
    let id = entry["OrganisationId"].as_str().unwrap().to_owned();
    entry["LegalEntityName"] = json!("Evil\u{202e}gnp.exe");
    entry["AuthorisationServers"][0]["CustomerFriendlyLogoUri"] = json!("https://x.example/<img src=x>.png");
    let before = store.snapshot(&OrganisationId::from(id.as_str())).await.unwrap();
    let (other, _) = directory_tests::embedded_store();
    let text = refused(
        import::import_participants_as(&other, &serde_json::to_vec(&participants).unwrap(), &actor(), |_, _| {}).await,
    );
    assert!(
        text.contains("OrganisationDetails.LegalEntityName: must not contain control"),
        "{text}"
    );
    assert!(
        text.contains("AuthorisationServers[0].CustomerFriendlyLogoUri: must be an http(s) URL"),
        "{text}"
    );
    assert!(other.organisation_ids(None, 10).await.unwrap().is_empty());
    // The same file into the store that published it: refused, the stored data kept.
    refused(
        import::import_participants_as(&store, &serde_json::to_vec(&participants).unwrap(), &actor(), |_, _| {}).await,
    );
    assert_eq!(
        store.snapshot(&OrganisationId::from(id.as_str())).await.unwrap(),
        before
    );
}

async fn a_claim_put_refuses_poisoned_identifiers<S: Store>(store: S) {
    import::import(&store, &demo_bytes(), |_, _| {}).await.unwrap();
    let before = store.snapshot(&OrganisationId::from(AURORA)).await.unwrap();
    for (field, value, expected) in [
        (
            "RegistrationId",
            json!("BR\u{202e}1003"),
            "RegistrationId: must be an identifier",
        ),
        (
            "RegistrationId",
            json!("BR-1003\r\nX-Injected: 1"),
            "RegistrationId: must be an identifier",
        ),
        (
            "UniqueTechnicalIdentifiers",
            json!(["ok", "a\u{2028}b"]),
            "UniqueTechnicalIdentifiers[1]: must be an identifier",
        ),
    ] {
        let mut e = event_fixture("put-authority-claim", "200-update");
        let mut body: Value = serde_json::from_str(e["body"].as_str().unwrap()).unwrap();
        body[field] = value;
        e["body"] = json!(body.to_string());
        let r = directory_http::handlers::put_authority_claim::handle(
            &store,
            lambda_http::request::from_str(&e.to_string()).unwrap(),
        )
        .await;
        let text = String::from_utf8(r.body().to_vec()).unwrap();
        assert_eq!(r.status(), 400, "{field}: {text}");
        assert!(text.contains(expected), "{field}: {text}");
    }
    assert_eq!(store.snapshot(&OrganisationId::from(AURORA)).await.unwrap(), before);
}

both_stores!(
    import_reports_every_poisoned_field_and_writes_nothing,
    a_participants_file_is_held_to_the_same_rules,
    a_claim_put_refuses_poisoned_identifiers,
);
