//! Wire models, with serde names exactly as the API documents spell them.

pub mod certificate;
pub mod claims;
pub mod common;
pub mod export;
pub mod organisation;
pub mod reference;
pub mod server;
pub mod snapshot;
pub mod visibility;

pub use certificate::OrganisationCertificate;
pub use claims::{Authorisation, AuthorityClaim, AuthorityClaimUpdate, DomainClaim};
pub use common::*;
pub use export::{ExportAuthorisationServer, ExportOrganisation, ExportRoleClaim};
pub use organisation::{Contact, OrganisationDetails};
pub use reference::{AuthorisationDomain, Authority, DomainRole, IndexedReference, ReferenceData, ReferenceLookup};
pub use server::{
    ApiDiscoveryEndpoint, ApiResource, ApiResourceResponse, AuthorisationServer, ServerCertification, ServerFields,
};
pub use snapshot::{ImportFile, OrganisationSnapshot, SoftwareStatements};
pub use visibility::{Audience, Shown, Visible};
