//! What can make a CLI command fail, each with the message the operator sees.

use directory_usecases::export::ExportError;
use directory_usecases::ports::StoreError;
use std::path::PathBuf;

/// A failed command; `main` prints it as `error: …` and exits non-zero.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Flags that do not go together, or a value that is not understood.
    #[error("{0}")]
    Usage(String),
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// The store failed (or is held by another process).
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The import file has problems (already printed, one per line); nothing written.
    #[error("{what}: {summary}")]
    InvalidImport { what: String, summary: String },
    /// The store failed while an import was writing.
    #[error("{what}: {source} (re-run the import to complete it)")]
    ImportWrite { what: String, source: StoreError },
    /// The export failed; the published file is untouched.
    #[error("{0}")]
    Export(#[from] ExportError),
    /// The server could not listen.
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: String, source: std::io::Error },
    /// The local signing key or a token setting.
    #[error("{0}")]
    Token(String),
    /// A participants file that does not verify (the check that failed).
    #[error("verification failed: {0}")]
    Verify(String),
    /// `sync` stopped (the copy is left as it was before the failing step).
    #[error("sync: {0}")]
    Sync(String),
    /// A feature this build was compiled without.
    #[error("this build has no AWS support: use `cargo run --release --features aws -- {0} ...`")]
    NoAws(&'static str),
}

impl CliError {
    /// An I/O failure on `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
