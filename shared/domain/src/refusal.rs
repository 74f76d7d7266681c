//! Why the directory refuses what was asked: the domain's one error type. The HTTP
//! edge turns each kind into its status (`directory-http`), the CLI into its message.

/// A refusal, with the messages that explain it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No, invalid or expired credentials, or credentials that cannot be read (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// Valid credentials without the right scope or organisation (403).
    #[error("{0}")]
    Forbidden(String),
    /// A change of fields the caller may not change, one message each (403).
    #[error("{}", .0.join("; "))]
    ForbiddenFields(Vec<String>),
    /// The input breaks the rules: every violation found (400).
    #[error("{}", .0.join("; "))]
    Invalid(Vec<String>),
    /// What was asked for does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// The thing is busy with another caller's work; retry in a moment (429).
    #[error("{0}")]
    Busy(String),
}
