//! The participant directory's application and HTTP layers over `directory-domain`:
//! the storage port and embedded store, import, export, handlers. The Lambda binaries
//! and the local server call the same handler functions.

pub use directory_domain::{audit, auth, claims, ids, keys, model, participants, routes, validate};
pub use directory_usecases::{explorer, import};

pub mod caller;
pub mod error;
pub mod export;
pub mod handlers;
pub mod http;
pub mod logging;
pub mod signature;
pub mod store;
