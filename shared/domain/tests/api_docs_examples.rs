//! Every example JSON of api-docs (checked in under tests/fixtures/api-docs)
//! deserialises into our models and serialises back to the same JSON.

use directory_domain::model::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!("{}/../../tests/fixtures/api-docs/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn round_trips<T: DeserializeOwned + Serialize>(name: &str) {
    let original = fixture(name);
    let model: T = serde_json::from_value(original.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let back = serde_json::to_value(&model).unwrap();
    assert_eq!(back, original, "{name} did not round-trip");
}

#[test]
fn organisation_snapshot() {
    round_trips::<OrganisationSnapshot>("organisation-snapshot.json");
}

#[test]
fn open_data_export() {
    round_trips::<Vec<ExportOrganisation>>("open-data-export.json");
}

#[test]
fn api_resource() {
    round_trips::<ApiResourceResponse>("api-resource.json");
}

#[test]
fn authority_claims_list() {
    round_trips::<Vec<AuthorityClaim>>("authority-claims.json");
}

#[test]
fn put_authority_claim_request_and_response() {
    round_trips::<AuthorityClaimUpdate>("put-authority-claim.request.json");
    round_trips::<AuthorityClaim>("put-authority-claim.response.json");
}

#[test]
fn error_body() {
    round_trips::<ErrorBody>("error-body.json");
}

#[test]
fn odd_spellings_are_kept() {
    let snapshot = serde_json::to_string(&fixture("organisation-snapshot.json")).unwrap();
    for name in [
        "\"CertificationURI\"",
        "\"ApiCertificationUri\"",
        "\"OpenIDDiscoveryDocument\"",
        "\"SupportsDCR\"",
        "\"x5thashS256\"",
        "\"keyType\"",
    ] {
        assert!(snapshot.contains(name), "{name}");
    }
    let claims = serde_json::to_string(&fixture("authority-claims.json")).unwrap();
    assert!(claims.contains("\"AuthorisationDomainID\""));
}

#[test]
fn the_export_projection_of_the_snapshot_example_matches_the_export_shape() {
    let snapshot: OrganisationSnapshot = serde_json::from_value(fixture("organisation-snapshot.json")).unwrap();
    let export = serde_json::to_value(ExportOrganisation::from(snapshot)).unwrap();
    let documented = &fixture("open-data-export.json")[0];
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&export), keys(documented));
    assert_eq!(
        keys(&export["AuthorisationServers"][0]),
        keys(&documented["AuthorisationServers"][0])
    );
    assert_eq!(
        keys(&export["OrgDomainRoleClaims"][0]),
        keys(&documented["OrgDomainRoleClaims"][0])
    );
    // The example flag is Active with AccessLevel 0, so it is public.
    assert_eq!(export["Flags"], serde_json::json!({"string": ["string"]}));
}
