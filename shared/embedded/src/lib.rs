//! The participant directory's local adapters: the embedded store (redb, one file
//! in the data directory), the local-directory export target and the key-file
//! signer. The local CLI and the tests use them; no Lambda function does.

pub mod signer;
mod snapshot_cache;
pub mod store;
pub mod target;

pub use signer::LocalSigner;
pub use store::EmbeddedStore;
pub use target::LocalDirTarget;
