//! The participants file's signature: the format lives in `directory-domain`; the
//! key-file signer here.

#[path = "signature_local.rs"]
pub mod local;

pub use directory_domain::signature::*;
