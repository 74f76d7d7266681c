//! The command line: global options and the commands (clap derive).

use clap::{Parser, Subcommand, ValueEnum};
use directory::server;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "directory",
    version,
    about = "Participant directory API: local server and tools"
)]
pub struct Cli {
    /// Holds the embedded database, the local signing key and local exports.
    #[arg(long, global = true, default_value = ".directory")]
    pub data_dir: PathBuf,
    /// Where data lives: the embedded database, or DynamoDB (`--features aws`).
    #[arg(long, global = true, value_enum, default_value_t = StoreKind::Embedded)]
    pub store: StoreKind,
    /// DynamoDB table name (default: $TABLE_NAME).
    #[arg(long, global = true)]
    pub table: Option<String>,
    /// Publish exports to this S3 bucket instead of a local directory (default:
    /// $BUCKET_NAME; `--features aws`).
    #[arg(long, global = true)]
    pub bucket: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    Embedded,
    Dynamodb,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Serve the five routes at the API Gateway paths (the default command).
    Serve {
        #[arg(long, default_value_t = 3000)]
        port: u16,
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Mutual TLS: serve HTTPS, require a client certificate issued by the local
        /// CA (<data-dir>/tls, created on first use) and tokens bound to it.
        #[arg(long)]
        tls: bool,
        /// Connections served at once; more wait until one closes (keep it below the
        /// open-files limit).
        #[arg(long, default_value_t = server::MAX_CONNECTIONS as u32, value_parser = clap::value_parser!(u32).range(1..=65_536))]
        max_connections: u32,
        /// Seconds a client may take to send a request head or body (or a TLS
        /// handshake), and that an idle connection stays open.
        #[arg(long, default_value_t = server::REQUEST_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=300))]
        request_timeout: u64,
    },
    /// Validate and import a file in the import format (or, with --participants, a
    /// published participants file); nothing is written if any record is invalid.
    Import {
        file: PathBuf,
        /// FILE is a participants file (the open-data export format): missing ids
        /// and reference data are derived, flags read from their public map form.
        #[arg(long)]
        participants: bool,
    },
    /// Publish the open-data export (`participants`): to a directory (default:
    /// <data-dir>/exports), or to S3 with --bucket.
    Export {
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Mint a local bearer token.
    Token {
        /// The caller's organisation (`organisation_id` claim).
        #[arg(long)]
        org: String,
        /// Space-separated scopes: directory:read, directory:write, directory:admin.
        #[arg(long, default_value = "directory:read")]
        scope: String,
        /// Lifetime: seconds, or 15m, 1h, 7d.
        #[arg(long, default_value = "1h")]
        ttl: String,
        /// The `sub` claim.
        #[arg(long, default_value = "local-developer")]
        sub: String,
        /// Bind the token to this client certificate (PEM): `cnf.x5t#S256`, RFC 8705.
        #[arg(long, value_name = "CERT.pem")]
        cnf: Option<PathBuf>,
    },
    /// Local certificates for `serve --tls`.
    Certs {
        #[command(subcommand)]
        what: CertsCommand,
    },
    /// Print audit records, newest first, one JSON object per line.
    Audit {
        /// The organisation whose records to print (without it: directory-wide
        /// records, i.e. export publishes).
        #[arg(long)]
        org: Option<String>,
        /// Only records at or after this RFC 3339 time (e.g. 2026-11-28T00:00:00Z).
        #[arg(long)]
        since: Option<String>,
    },
    /// Check a participants file against its detached signature and the published keys:
    /// prints `OK`, the key id and the signing time, or the reason, and exits non-zero.
    Verify {
        /// The participants file.
        file: PathBuf,
        /// Its detached JWS (`participants.jws`).
        signature: PathBuf,
        /// The published keys (`participants.jwks`).
        #[arg(long)]
        jwks: PathBuf,
    },
    /// Replace the local key that signs the participants file (<data-dir>/participants-signing-key.pem);
    /// the next export publishes the new key and keeps the old one for the rotation window.
    RotateSigningKey,
    /// Remove an organisation from the directory (every item of it, audited); the
    /// change feed carries its removal.
    Remove {
        /// The organisation's id.
        #[arg(long)]
        org: String,
    },
    /// Keep a verified copy of a directory's participants file current: the whole file
    /// once (checked against its signature), then the signed changes after its
    /// revision. Anything that does not verify is refused and nothing of it applied.
    Sync {
        /// Where the file, its signature and keys are published (`participants`,
        /// `participants.jws`, `participants.jwks`), e.g. http://127.0.0.1:3000.
        #[arg(long)]
        from: String,
        /// Where `/participants/changes` is (default: --from).
        #[arg(long)]
        api: Option<String>,
        /// The directory that holds the copy (`participants`, `participants.revision`).
        #[arg(long)]
        into: PathBuf,
        /// Keep polling: seconds between polls (without it: once, then exit).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        every: Option<u64>,
    },
    /// Receive change events: an RFC 8935 push endpoint that verifies each SET
    /// against the directory's published keys (found through its SSF configuration),
    /// answers 202 (or 400 with the reason), de-duplicates by `jti` and prints one
    /// line per event; with `--into`, keeps a verified copy of the participants file
    /// at each event's revision (as `sync` does).
    Receive {
        /// The directory (the transmitter's issuer), e.g. http://127.0.0.1:3000.
        #[arg(long)]
        from: String,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Port to listen on (0: any free one, printed).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// The `aud` the SETs must name (the endpoint URL you subscribed with).
        #[arg(long)]
        audience: Option<String>,
        /// The directory that holds the copy of the participants file.
        #[arg(long)]
        into: Option<PathBuf>,
        /// Where the file, its signature and keys are published (default: --from).
        #[arg(long)]
        files: Option<String>,
    },
    /// Create the DynamoDB table (with `--store dynamodb`).
    CreateTable,
    /// List the functions: one per line, `name METHOD /path`, `name schedule` or
    /// `authorizer authorizer`.
    Routes,
}

#[derive(Subcommand, Debug, Clone)]
pub enum CertsCommand {
    /// Issue a client certificate for an organisation, signed by the local CA.
    Client {
        /// The organisation (the certificate's common name).
        #[arg(long)]
        org: String,
        /// Where to write ORG.pem and ORG-key.pem (default: <data-dir>/tls/clients).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// No command is `serve` with its defaults.
impl Default for Command {
    fn default() -> Self {
        Self::Serve {
            port: 3000,
            host: "127.0.0.1".to_owned(),
            tls: false,
            max_connections: server::MAX_CONNECTIONS as u32,
            request_timeout: server::REQUEST_TIMEOUT.as_secs(),
        }
    }
}
