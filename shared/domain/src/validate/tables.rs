//! The documented field rules of every API object, as data (see `fields` for the engine).

use super::fields::FieldRule::{self, *};
use super::rules::*;

use crate::model::{
    CertificationStatus, FlagType, NotificationWebhookStatus, OrganisationStatus, ResourceStatus,
    ServerCertificationRecordStatus,
};

/// Status values of resources (from the enum).
pub const ACTIVE_INACTIVE: &[&str] = ResourceStatus::VALUES;
/// Certification status values (from the enum).
pub const CERTIFICATION_STATUSES: &[&str] = CertificationStatus::VALUES;

/// Flag rules (shared by organisation, server and software statement flags).
pub const FLAG: &[(&str, FieldRule)] = &[
    ("Id", Str(TEXT40)),
    ("CreatedAt", Str(DATE30)),
    ("UpdatedAt", Str(DATE30)),
    ("Name", Str(TEXT255)),
    ("Description", Str(TEXT255)),
    ("Type", OneOf(FlagType::VALUES)),
    ("Value", Str(TEXT255)),
    ("Status", OneOf(ACTIVE_INACTIVE)),
    ("AccessLevel", Number),
];

/// Certificate rules (organisation and software certificates).
pub const CERTIFICATE: &[(&str, FieldRule)] = &[
    ("OrganisationId", Str(ID40)),
    ("SoftwareStatementIds", StrList(TEXT40, None)),
    ("x5c", StrList(NO_LIMIT, None)),
    ("ClientName", Str(PLAIN40)),
    ("Status", Str(PLAIN40)),
    ("ValidFromDateTime", Str(PLAIN30)),
    ("RevokedDateTime", Str(PLAIN30)),
    ("ExpiryDateTime", Str(PLAIN30)),
    ("e", Str(PLAIN255)),
    ("keyType", Str(PLAIN255)),
    ("kid", Str(PLAIN255)),
    ("kty", Str(PLAIN255)),
    ("n", Str(PLAIN255)),
    ("use", Str(PLAIN255)),
    ("x5t", Str(PLAIN255)),
    ("x5thashS256", Str(PLAIN255)),
    ("x5u", Str(PLAIN255)),
    ("SignedCertPath", Str(PLAIN255)),
    ("JwkPath", Str(PLAIN255)),
    ("OrgJwkPath", Str(PLAIN255)),
];

const SOFTWARE_CERTIFICATION: &[(&str, FieldRule)] = &[
    ("CertificationStartDate", Str(CERT_DATE)),
    ("CertificationExpirationDate", Str(NO_ANGLE)),
    ("CertificationId", Str(ID40)),
    ("SoftwareStatementId", Str(TEXT40)),
    ("Status", OneOf(ACTIVE_INACTIVE)),
    ("ProfileVariant", Str(NO_ANGLE)),
    ("ProfileType", Str(NO_ANGLE)),
    ("ProfileVersion", Number),
    ("CertificationURI", Str(HTTPS_URI500)),
    ("CertificationStatus", OneOf(CERTIFICATION_STATUSES)),
];

const SOFTWARE_DETAILS: &[(&str, FieldRule)] = &[
    ("SoftwareStatementCertifications", ObjectList(SOFTWARE_CERTIFICATION)),
    ("Status", OneOf(&["Active", "Suspended", "Inactive"])),
    ("ClientId", Str(TEXT255)),
    ("ClientName", Str(TEXT255)),
    ("Description", Str(TEXT255)),
    ("Environment", Str(TEXT40)),
    ("OrganisationId", Str(ID40)),
    ("SoftwareStatementId", Str(TEXT40)),
    ("Mode", OneOf(&["Live", "Test"])),
    ("RtsClientCreated", Bool),
    ("OnBehalfOf", Str(TEXT255)),
    ("PolicyUri", Str(HTTP_URI255)),
    ("ClientUri", Str(HTTP_URI255)),
    ("LogoUri", Str(LOGO)),
    ("TermsOfServiceUri", Str(HTTP_URI255)),
    ("NotificationWebhook", Str(HTTP_URI255)),
    ("NotificationWebhookStatus", OneOf(NotificationWebhookStatus::VALUES)),
    ("Version", StrOrNumber(PLAIN40)),
    ("AdditionalSoftwareMetadata", Str(TEXT255)),
    ("FederationEnabled", Bool),
    (
        "FederationEntityManagementType",
        OneOf(&["openid_entity_federation_managed", "openid_entity_self_managed"]),
    ),
    ("RequireSignedRequestObject", Bool),
    ("IdTokenSignedResponseAlg", OneOf(&["PS256", "RS256"])),
    (
        "TokenEndpointAuthMethod",
        TextOneOf(TEXT1_60, &["private_key_jwt", "tls_client_auth", "client_secret_basic"]),
    ),
    ("ClientSecret", Str(PLAIN255)),
    ("TlsClientCertificateBoundAccessTokens", Bool),
    ("Flags", ObjectList(FLAG)),
    ("ApplicationUri", Str(HTTP_URI255)),
];

const SOFTWARE_AUTHORITY_CLAIM: &[(&str, FieldRule)] = &[
    ("SoftwareStatementId", Str(TEXT40)),
    ("SoftwareAuthorityClaimId", Str(ID40)),
    ("Status", OneOf(ACTIVE_INACTIVE)),
    ("AuthorisationDomain", Str(PLAIN30)),
    ("Role", Str(TEXT1_60)),
];

/// One software statement (the value under its id in `SoftwareStatements`).
pub const SOFTWARE_STATEMENT: &[(&str, FieldRule)] = &[
    ("SoftwareDetails", Object(SOFTWARE_DETAILS)),
    ("SoftwareAuthorityClaims", ObjectList(SOFTWARE_AUTHORITY_CLAIM)),
    ("SoftwareCertificates", ObjectList(CERTIFICATE)),
];

/// Organisation details.
pub const ORGANISATION_DETAILS: &[(&str, FieldRule)] = &[
    ("OrganisationId", Required(&Str(ID40))),
    ("Status", OneOf(OrganisationStatus::VALUES)),
    ("OrganisationName", Str(TEXT255)),
    ("CreatedOn", Str(DATE30)),
    ("LegalEntityName", Str(TEXT255)),
    ("CountryOfRegistration", Str(TEXT255)),
    ("CompanyRegister", Str(TEXT255)),
    ("Tags", StrList(TEXT255, None)),
    ("Size", Str(TEXT255)),
    ("RegistrationNumber", Str(TEXT255)),
    ("RegistrationId", Str(IDENT40)),
    ("RegisteredName", Str(TEXT255)),
    ("AddressLine1", Str(TEXT255)),
    ("AddressLine2", Str(TEXT255)),
    ("City", Str(TEXT255)),
    ("Postcode", Str(TEXT40)),
    ("Country", Str(TEXT255)),
    ("ParentOrganisationReference", Str(TEXT65535)),
    ("RequiresParticipantTermsAndConditionsSigning", Bool),
    ("LogoUri", Str(LOGO)),
    ("Flags", ObjectList(FLAG)),
];

/// A contact.
pub const CONTACT: &[(&str, FieldRule)] = &[
    ("ContactId", Required(&Str(KEY_ID))),
    ("OrganisationId", Str(ID40)),
    ("ContactType", Str(NO_ANGLE)),
    ("FirstName", Str(TEXT255)),
    ("LastName", Str(TEXT255)),
    ("Department", Str(TEXT255)),
    ("EmailAddress", Str(EMAIL_ADDRESS)),
    ("PhoneNumber", Str(PHONE)),
    ("AddressLine1", Str(TEXT255)),
    ("AddressLine2", Str(TEXT255)),
    ("City", Str(TEXT255)),
    ("Postcode", Str(TEXT40)),
    ("Country", Str(TEXT255)),
    ("AdditionalInformation", Str(TEXT65535)),
    ("PgpPublicKey", Str(LINES65535)),
];

const API_DISCOVERY_ENDPOINT: &[(&str, FieldRule)] =
    &[("ApiDiscoveryId", Str(TEXT40)), ("ApiEndpoint", Str(HTTP_URI255))];

/// An API resource (get-api-resource.txt and the nested snapshot shape).
pub const API_RESOURCE: &[(&str, FieldRule)] = &[
    ("ApiDiscoveryEndpoints", ObjectList(API_DISCOVERY_ENDPOINT)),
    ("ApiMetadata", Object(&[])),
    ("ApiResourceId", Required(&Str(ID40))),
    ("ApiVersion", StrOrInteger(API_VERSION_TEXT)),
    ("FamilyComplete", Bool),
    ("ApiCertificationUri", Str(HTTPS_URI500)),
    ("CertificationStatus", OneOf(CERTIFICATION_STATUSES)),
    ("CertificationStartDate", Str(CERT_DATE)),
    ("CertificationExpirationDate", Str(NO_ANGLE)),
    ("ApiFamilyType", Str(API_FAMILY)),
    ("Status", OneOf(ACTIVE_INACTIVE)),
];

const SERVER_CERTIFICATION: &[(&str, FieldRule)] = &[
    ("CertificationStartDate", Str(CERT_DATE)),
    ("CertificationExpirationDate", Str(NO_ANGLE)),
    ("CertificationId", Required(&Str(ID40))),
    ("AuthorisationServerId", Str(TEXT40)),
    ("CertificationStatus", OneOf(CERTIFICATION_STATUSES)),
    ("ProfileVariant", Str(NO_ANGLE)),
    ("ProfileType", Str(NO_ANGLE)),
    ("ProfileVersion", Number),
    ("CertificationURI", Str(HTTPS_URI500)),
    ("Status", OneOf(ServerCertificationRecordStatus::VALUES)),
];

/// An authorisation server. the API reference lost the rules of its scalar fields; these are
/// ours: ids ≤ 40, names ≤ 255, URIs http(s) ≤ 255, dates ≤ 30, no `<>` in text.
pub const AUTHORISATION_SERVER: &[(&str, FieldRule)] = &[
    ("ApiResources", ObjectList(API_RESOURCE)),
    ("AuthorisationServerCertifications", ObjectList(SERVER_CERTIFICATION)),
    ("Flags", ObjectList(FLAG)),
    ("Status", Str(TEXT40)),
    ("AuthorisationServerId", Required(&Str(ID40))),
    ("AutoRegistrationNotificationWebhook", Str(HTTP_URI255)),
    ("AutoRegistrationSupported", Bool),
    ("CreatedAt", Str(DATE30)),
    ("CustomerFriendlyDescription", Str(TEXT255)),
    ("CustomerFriendlyLogoUri", Str(LOGO255)),
    ("CustomerFriendlyName", Str(TEXT255)),
    ("DeprecatedDate", Str(DATE30)),
    ("DeveloperPortalUri", Str(HTTP_URI255)),
    ("FederationEndpoint", Str(HTTP_URI255)),
    ("FederationId", Str(UUID_TEXT)),
    ("Issuer", Str(HTTP_URI255)),
    ("NotificationWebhook", Str(HTTP_URI255)),
    ("NotificationWebhookAddedDate", Str(DATE30)),
    ("NotificationWebhookStatus", OneOf(NotificationWebhookStatus::VALUES)),
    ("OpenIDDiscoveryDocument", Str(HTTP_URI255)),
    ("OrganisationId", Str(ID40)),
    ("ParentAuthorisationServerId", Str(TEXT40)),
    ("PayloadSigningCertLocationUri", Str(HTTP_URI255)),
    ("RetirementDate", Str(DATE30)),
    ("SupersededByAuthorisationServerId", Str(UUID_TEXT)),
    ("SupportsCiba", Bool),
    ("SupportsDCR", Bool),
    ("SupportsRedirect", Bool),
    ("TermsOfServiceUri", Str(HTTP_URI255)),
];

/// A domain claim.
pub const DOMAIN_CLAIM: &[(&str, FieldRule)] = &[
    ("OrganisationAuthorityDomainClaimId", Required(&Str(ID40))),
    ("AuthorisationDomainName", Str(NO_ANGLE)),
    ("AuthorityId", Str(UUID_TEXT)),
    ("AuthorityName", Str(NO_ANGLE)),
    ("RegistrationId", Str(IDENT)),
    ("Status", OneOf(ACTIVE_INACTIVE)),
];

const AUTHORISATION: &[(&str, FieldRule)] = &[("Status", OneOf(ACTIVE_INACTIVE)), ("MemberState", Str(MEMBER_STATE))];

/// The writable fields of an authority claim (the PUT body).
pub const CLAIM_UPDATE: &[(&str, FieldRule)] = &[
    ("AuthorisationDomain", Str(NO_ANGLE)),
    ("AuthorisationDomainID", Str(UUID_TEXT)),
    ("AuthorisationDomainRoleIdentifier", Str(UUID_TEXT)),
    ("AuthorityId", Required(&Str(UUID40))),
    ("RegistrationId", Str(ID40)),
    ("Role", Str(NO_ANGLE)),
    ("UniqueTechnicalIdentifiers", StrList(IDENT255, Some(16))),
    ("Status", Required(&OneOf(ACTIVE_INACTIVE))),
];

/// The read-only fields of an authority claim (response and snapshot).
pub const CLAIM_DERIVED: &[(&str, FieldRule)] = &[
    ("Authorisations", ObjectList(AUTHORISATION)),
    ("Exclusive", Bool),
    ("Metadata", Object(&[])),
    ("OrganisationAuthorityClaimId", Required(&Str(UUID40))),
    ("OrganisationId", Str(ID40)),
    ("RoleType", Str(TEXT255)),
];

/// Both tables of a role claim in a snapshot (or an import record).
pub const CLAIM: [&[(&str, FieldRule)]; 2] = [CLAIM_UPDATE, CLAIM_DERIVED];

/// One software statement (the value under its id in `SoftwareStatements`).
pub const SOFTWARE_STATEMENTS: FieldRule = ObjectMap(SOFTWARE_STATEMENT);

/// An authority (reference data).
pub const AUTHORITY: &[(&str, FieldRule)] = &[("AuthorityId", Required(&Str(UUID40))), ("AuthorityName", Str(TEXT255))];

/// An authorisation domain (reference data).
pub const AUTHORISATION_DOMAIN: &[(&str, FieldRule)] = &[
    ("AuthorisationDomainID", Required(&Str(UUID_TEXT))),
    ("AuthorisationDomainName", Required(&Str(NAME255))),
];

/// An authorisation domain role (reference data).
pub const DOMAIN_ROLE: &[(&str, FieldRule)] = &[
    ("AuthorisationDomainRoleIdentifier", Required(&Str(UUID_TEXT))),
    ("AuthorisationDomainID", Required(&Str(UUID_TEXT))),
    ("Role", Required(&Str(TEXT1_60))),
    ("RoleType", Str(TEXT255)),
    ("Exclusive", Bool),
    ("Metadata", Object(&[])),
];

/// A whole organisation snapshot (also one record of the import file); role claims
/// are checked with `CLAIM_UPDATE` and `CLAIM_DERIVED` by `validate::snapshot`.
pub const SNAPSHOT: &[(&str, FieldRule)] = &[
    ("OrganisationDetails", Required(&Object(ORGANISATION_DETAILS))),
    ("Contacts", ObjectList(CONTACT)),
    ("AuthorisationServers", ObjectList(AUTHORISATION_SERVER)),
    ("OrgDomainClaims", ObjectList(DOMAIN_CLAIM)),
    ("SoftwareStatements", SOFTWARE_STATEMENTS),
    ("OrganisationCertificates", ObjectList(CERTIFICATE)),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::checker::Checker;
    use crate::validate::fields::check_object;
    use serde_json::Value;
    use serde_json::json;

    fn errors(v: Value) -> Vec<String> {
        let mut c = Checker::new();
        check_object(&mut c, v.as_object().unwrap(), SOFTWARE_STATEMENT);
        c.into_errors()
    }

    #[test]
    fn a_valid_software_statement_passes_and_unknown_fields_are_kept() {
        let ss = json!({
            "SoftwareDetails": {
                "Status": "Active", "ClientName": "App", "Mode": "Live", "Version": 1,
                "TokenEndpointAuthMethod": "private_key_jwt", "LogoUri": "https://x.example/l.png",
                "SomethingUndocumented": {"kept": true},
                "Flags": [{"Name": "n", "AccessLevel": 2, "Status": "Inactive"}]
            },
            "SoftwareAuthorityClaims": [{"SoftwareAuthorityClaimId": "c1", "Role": "DADOS"}]
        });
        assert_eq!(errors(ss), Vec::<String>::new());
    }

    #[test]
    fn each_named_rule_is_enforced_with_its_path() {
        let ss = json!({
            "SoftwareDetails": {
                "Status": "Paused", "ClientName": "<b>", "Mode": "Prod", "RtsClientCreated": "yes",
                "TokenEndpointAuthMethod": "none", "Version": "x".repeat(41),
                "SoftwareStatementCertifications": [{"CertificationStartDate": "2024-01-01"}],
                "Flags": [{"AccessLevel": "0"}]
            },
            "SoftwareAuthorityClaims": [{"SoftwareAuthorityClaimId": ""}],
            "SoftwareCertificates": [{"kid": "k".repeat(256)}]
        });
        let errs = errors(ss);
        for needle in [
            "SoftwareDetails.Status: must be one of Active, Suspended, Inactive",
            "SoftwareDetails.ClientName: must match",
            "SoftwareDetails.Mode: must be one of Live, Test",
            "SoftwareDetails.RtsClientCreated: must be a boolean, not a string",
            "SoftwareDetails.TokenEndpointAuthMethod: must be one of",
            "SoftwareDetails.Version: longer than 40",
            "SoftwareDetails.SoftwareStatementCertifications[0].CertificationStartDate: must be a date",
            "SoftwareDetails.Flags[0].AccessLevel: must be a number",
            "SoftwareAuthorityClaims[0].SoftwareAuthorityClaimId: must not be empty",
            "SoftwareCertificates[0].kid: longer than 255",
        ] {
            assert!(
                errs.iter().any(|e| e.starts_with(needle)),
                "missing {needle:?} in {errs:#?}"
            );
        }
    }

    #[test]
    fn wrong_container_types_are_named() {
        let errs = errors(json!({"SoftwareDetails": [], "SoftwareCertificates": {}}));
        assert!(errs.contains(&"SoftwareDetails: must be an object, not an array".to_owned()));
        assert!(errs.contains(&"SoftwareCertificates: must be an array, not an object".to_owned()));
    }
}
