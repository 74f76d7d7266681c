//! The participant directory: models exact to the API documents, validation, HTTP
//! rules, auth decisions, the storage port and the endpoint handlers. The Lambda
//! binaries and the local server call the same handler functions.

pub mod audit;
pub mod auth;
pub mod claims;
pub mod error;
pub mod explorer;
pub mod export;
pub mod handlers;
pub mod http;
pub mod ids;
pub mod import;
pub mod keys;
pub mod logging;
pub mod model;
pub mod participants;
pub mod routes;
pub mod signature;
pub mod store;
pub mod validate;
