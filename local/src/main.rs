//! The developer CLI: `serve` (default) runs the whole API locally on the embedded
//! store with demo data; `import`, `export`, `token` and `create-table` around it.

use clap::{Parser, Subcommand, ValueEnum};
use directory::error::CliError;
use directory::{jwt, progress, server, tls};
use directory_embedded::EmbeddedStore;
use directory_embedded::LocalDirTarget;
use directory_http::handlers::Services;
use directory_usecases::export::{self, ObjectTarget};
use directory_usecases::import::{self, ImportError};
use directory_usecases::ports::Store;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// The bundled demo data, imported on the first start of an empty store.
const DEMO_DATA: &[u8] = include_bytes!("../../data/demo.json");

#[derive(Parser, Debug)]
#[command(
    name = "directory",
    version,
    about = "Participant directory API: local server and tools"
)]
struct Cli {
    /// Holds the embedded database, the local signing key and local exports.
    #[arg(long, global = true, default_value = ".directory")]
    data_dir: PathBuf,
    /// Where data lives: the embedded database, or DynamoDB (`--features aws`).
    #[arg(long, global = true, value_enum, default_value_t = StoreKind::Embedded)]
    store: StoreKind,
    /// DynamoDB table name (default: $TABLE_NAME).
    #[arg(long, global = true)]
    table: Option<String>,
    /// Publish exports to this S3 bucket instead of a local directory (default:
    /// $BUCKET_NAME; `--features aws`).
    #[arg(long, global = true)]
    bucket: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum StoreKind {
    Embedded,
    Dynamodb,
}

#[derive(Subcommand, Debug)]
enum Command {
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
    /// Create the DynamoDB table (with `--store dynamodb`).
    CreateTable,
    /// List the functions: one per line, `name METHOD /path`, `name schedule` or
    /// `authorizer authorizer`.
    Routes,
}

#[derive(Subcommand, Debug)]
enum CertsCommand {
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

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    // Commands that need neither a store nor a runtime.
    let quick = match &cli.command {
        Some(Command::Routes) => Some(routes_command()),
        Some(Command::Token {
            org,
            scope,
            ttl,
            sub,
            cnf,
        }) => Some(token_command(&cli.data_dir, org, scope, ttl, sub, cnf.as_deref())),
        Some(Command::Certs {
            what: CertsCommand::Client { org, out },
        }) => Some(client_cert_command(&cli.data_dir, org, out.as_deref())),
        Some(Command::Verify { file, signature, jwks }) => Some(verify_command(file, signature, jwks)),
        Some(Command::RotateSigningKey) => Some(rotate_key_command(&cli.data_dir)),
        _ => None,
    };
    if let Some(done) = quick {
        return done.map_or_else(fail, |()| ExitCode::SUCCESS);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(CliError::Usage(format!("cannot start the runtime: {e}"))),
    };
    runtime.block_on(async {
        match run(cli).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(e),
        }
    })
}

/// Prints the route table: `name METHOD /path` or `name schedule` per line, then
/// `authorizer authorizer` for the Lambda authorizer's function.
fn routes_command() -> Result<(), CliError> {
    for route in directory_domain::routes::ROUTES {
        match route.http() {
            Some(h) => println!("{} {} {}", route.name, h.method, h.path),
            None => println!("{} schedule", route.name),
        }
    }
    println!("{0} {0}", directory_domain::routes::AUTHORIZER_FUNCTION);
    Ok(())
}

/// Mints a local token. Reads only the key, so it works while a server holds the
/// database.
fn token_command(
    data_dir: &Path,
    org: &str,
    scope: &str,
    ttl: &str,
    sub: &str,
    cnf: Option<&Path>,
) -> Result<(), CliError> {
    let keys = jwt::Keys::load_or_create(data_dir).map_err(CliError::Token)?;
    let ttl = jwt::parse_ttl(ttl).map_err(CliError::Token)?;
    let thumbprint = match cnf {
        Some(path) => {
            let pem = std::fs::read_to_string(path).map_err(CliError::io(path))?;
            let t = directory_authz::thumbprint::of_pem(&pem)
                .ok_or_else(|| CliError::Token(format!("--cnf {}: no PEM certificate in it", path.display())))?;
            Some(t)
        }
        None => None,
    };
    println!("{}", keys.mint(sub, org, scope, ttl, thumbprint.as_deref()));
    Ok(())
}

/// Verifies a participants file offline; the error names the failed check.
fn verify_command(file: &Path, signature: &Path, jwks: &Path) -> Result<(), CliError> {
    use directory_domain::signature;
    let jws = std::fs::read_to_string(signature).map_err(CliError::io(signature))?;
    let keys_bytes = std::fs::read(jwks).map_err(CliError::io(jwks))?;
    let keys: signature::Jwks = serde_json::from_slice(&keys_bytes)
        .map_err(|e| CliError::Verify(format!("{}: not a JWK Set: {e}", jwks.display())))?;
    let mut reader = std::fs::File::open(file).map_err(CliError::io(file))?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let verified = signature::verify(&mut reader, &jws, &keys, now)
        .map_err(|e| CliError::Verify(format!("{}: {e}", file.display())))?;
    let signed_at = time::OffsetDateTime::from_unix_timestamp(verified.iat)
        .map_or_else(|_| verified.iat.to_string(), directory_domain::audit::format_time);
    println!(
        "OK kid={} signed={} sha256={}",
        verified.kid, signed_at, verified.sha256
    );
    Ok(())
}

/// Replaces the local signing key and says what happens next.
fn rotate_key_command(data_dir: &Path) -> Result<(), CliError> {
    private_data_dir(data_dir)?;
    let signer = directory_embedded::LocalSigner::rotate(data_dir).map_err(|e| CliError::Token(e.to_string()))?;
    println!("{}", signer.jwk().kid);
    eprintln!(
        "new signing key in place; the next export signs with it and keeps the old key in participants.jwks for {} days",
        directory_domain::signature::ROTATION_WINDOW_SECS / 86_400
    );
    Ok(())
}

/// The data dir's key that signs the participants file (created on first use).
fn local_signer(data_dir: &Path) -> Result<std::sync::Arc<dyn directory_domain::signature::Signer>, CliError> {
    private_data_dir(data_dir)?;
    let signer =
        directory_embedded::LocalSigner::open_or_create(data_dir).map_err(|e| CliError::Token(e.to_string()))?;
    Ok(std::sync::Arc::new(signer))
}

/// Issues a client certificate for `org` and says where it is and how to use it.
fn client_cert_command(data_dir: &Path, org: &str, out: Option<&Path>) -> Result<(), CliError> {
    private_data_dir(data_dir)?;
    let pki = tls::LocalPki::load_or_create(data_dir).map_err(CliError::Token)?;
    let issued = pki.issue_client(org, out).map_err(CliError::Token)?;
    println!("certificate: {}", issued.cert.display());
    println!("key:         {}", issued.key.display());
    println!("ca:          {}", pki.ca_path().display());
    println!("x5t#S256:    {}", issued.thumbprint);
    println!(
        "bound token: cargo run --release -- token --org {org} --cnf {}",
        issued.cert.display()
    );
    Ok(())
}

/// Creates the data dir owner-only (0700) and returns the database path: it holds
/// private data (contacts, the signing key).
fn private_data_dir(dir: &Path) -> Result<PathBuf, CliError> {
    std::fs::create_dir_all(dir).map_err(CliError::io(dir))?;
    restrict(dir, 0o700)?;
    Ok(dir.join("directory.redb"))
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> Result<(), CliError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(CliError::io(path))
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32) -> Result<(), CliError> {
    Ok(())
}

/// Who runs the command, for audit records (the operator's login name).
fn operator(action: &str) -> directory_domain::audit::Actor {
    let user = std::env::var("USER").unwrap_or_else(|_| "operator".to_owned());
    directory_domain::audit::Actor::system(&format!("cli:{user}"), action)
}

async fn print_audit<S: Store>(store: &S, org: Option<&str>, since: Option<&str>) -> Result<(), CliError> {
    let since = since
        .map(directory_domain::audit::parse_time)
        .transpose()
        .map_err(|e| CliError::Usage(format!("--since: {e}")))?;
    let org = org
        .map(|o| directory_domain::ids::OrganisationId::parse(o).map_err(|p| CliError::Usage(p.join("; "))))
        .transpose()?;
    let records = store.audit_records(org.as_ref(), since.as_deref()).await?;
    for r in &records {
        println!("{}", r.to_json());
    }
    eprintln!("{} audit record(s)", records.len());
    Ok(())
}

async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.store {
        StoreKind::Embedded => {
            let db = private_data_dir(&cli.data_dir)?;
            let store = EmbeddedStore::open(&db)?;
            restrict(&db, 0o600)?;
            if matches!(cli.command, Some(Command::CreateTable)) {
                return Err(CliError::Usage("create-table is for --store dynamodb".into()));
            }
            run_with(&cli, store).await
        }
        StoreKind::Dynamodb => dynamodb(&cli).await,
    }
}

#[cfg(feature = "aws")]
async fn dynamodb(cli: &Cli) -> Result<(), CliError> {
    let table = cli
        .table
        .clone()
        .or_else(|| std::env::var("TABLE_NAME").ok())
        .ok_or_else(|| CliError::Usage("--store dynamodb needs a table: --table NAME or TABLE_NAME".into()))?;
    let config = directory_aws::sdk_config().await;
    let store = directory_aws::DynamoStore::new(directory_aws::dynamodb_client(&config), table);
    if matches!(cli.command, Some(Command::CreateTable)) {
        store.create_table().await?;
        println!("table {} is ready", store.table());
        return Ok(());
    }
    store.warm_up().await.map_err(|e| {
        CliError::Store(directory_usecases::ports::StoreError::Backend(format!(
            "DynamoDB table {}: {e}",
            store.table()
        )))
    })?;
    run_with(cli, store).await
}

#[cfg(not(feature = "aws"))]
async fn dynamodb(_cli: &Cli) -> Result<(), CliError> {
    let _ = &_cli.table;
    Err(CliError::NoAws("--store dynamodb"))
}

async fn run_with<S: Store>(cli: &Cli, store: S) -> Result<(), CliError> {
    let out = match &cli.command {
        Some(Command::Export { out: Some(out) }) => out.clone(),
        _ => cli.data_dir.join("exports"),
    };
    match bucket(cli)? {
        None => run_with_target(cli, store, LocalDirTarget::new(out, local_signer(&cli.data_dir)?)).await,
        Some(bucket) => s3(cli, store, bucket).await,
    }
}

/// The export bucket, from `--bucket` or `BUCKET_NAME`.
fn bucket(cli: &Cli) -> Result<Option<String>, CliError> {
    let bucket = cli
        .bucket
        .clone()
        .or_else(|| std::env::var("BUCKET_NAME").ok())
        .filter(|b| !b.is_empty());
    if bucket.is_some() && matches!(cli.command, Some(Command::Export { out: Some(_) })) {
        return Err(CliError::Usage(
            "--out writes to a directory and --bucket (or BUCKET_NAME) to S3: choose one".into(),
        ));
    }
    Ok(bucket)
}

#[cfg(feature = "aws")]
async fn s3<S: Store>(cli: &Cli, store: S, bucket: String) -> Result<(), CliError> {
    let config = directory_aws::sdk_config().await;
    // The deployment's KMS key when SIGNING_KEY_ID names one, else the data dir's key.
    let signer: std::sync::Arc<dyn directory_domain::signature::Signer> =
        match directory_aws::kms_signer_from_env(&config) {
            Ok(kms) => std::sync::Arc::new(kms),
            Err(_) => local_signer(&cli.data_dir)?,
        };
    let target = directory_aws::S3Target::new(directory_aws::s3_client(&config), bucket, signer);
    run_with_target(cli, store, target).await
}

#[cfg(not(feature = "aws"))]
async fn s3<S: Store>(_cli: &Cli, _store: S, _bucket: String) -> Result<(), CliError> {
    Err(CliError::NoAws("--bucket"))
}

async fn run_with_target<S: Store, T: ObjectTarget + 'static>(cli: &Cli, store: S, target: T) -> Result<(), CliError> {
    match &cli.command {
        None => serve(cli, store, target, "127.0.0.1", 3000, false, server::Limits::default()).await,
        Some(Command::Serve {
            port,
            host,
            tls,
            max_connections,
            request_timeout,
        }) => {
            let limits = server::Limits {
                max_connections: *max_connections as usize,
                request_timeout: std::time::Duration::from_secs(*request_timeout),
            };
            serve(cli, store, target, host, *port, *tls, limits).await
        }
        Some(Command::Import { file, participants }) => import_file(&store, file, *participants).await,
        Some(Command::Audit { org, since }) => print_audit(&store, org.as_deref(), since.as_deref()).await,
        Some(Command::Export { .. }) => export_command(&store, &target).await,
        Some(
            Command::Token { .. }
            | Command::Certs { .. }
            | Command::CreateTable
            | Command::Routes
            | Command::Verify { .. }
            | Command::RotateSigningKey,
        ) => Ok(()),
    }
}

async fn export_command<S: Store, T: ObjectTarget>(store: &S, target: &T) -> Result<(), CliError> {
    let mut bar = progress::Progress::bytes("export");
    let report = export::run_as(store, target, &operator("export"), &mut |part| {
        bar.add_bytes(part.len())
    })
    .await;
    bar.finish();
    let report = report?;
    println!("{}", target.location());
    eprintln!(
        "exported {} organisations, {} bytes in {} part(s), sha256 {}{}",
        report.organisations,
        report.bytes,
        report.parts,
        report.sha256,
        if report.unchanged {
            " (unchanged: the published file was left as it was)"
        } else {
            ""
        }
    );
    eprintln!(
        "signature: {} ({})",
        directory_domain::signature::SIGNATURE_KEY,
        if report.signed {
            "signed by this run"
        } else {
            "already covered this file"
        }
    );
    Ok(())
}

async fn import_from<S: Store>(
    store: &S,
    source: import::ImportSource,
    what: &str,
    participants: bool,
) -> Result<(), CliError> {
    let mut bar = progress::Progress::items(what);
    let actor = operator("import");
    let mut derived = None;
    let summary = if participants {
        import::import_participants_as(store, source, &actor, |done, total| bar.update(done, total))
            .await
            .map(|(summary, d)| {
                derived = Some(d);
                summary
            })
    } else {
        import::import_as(store, source, &actor, |done, total| bar.update(done, total)).await
    };
    bar.finish();
    if let Some(derived) = derived {
        eprintln!("{what}: {derived}");
    }
    match summary {
        Ok(s) => {
            eprintln!(
                "imported {} organisations ({} authorities, {} domains, {} roles) from {what}",
                s.organisations, s.authorities, s.domains, s.roles
            );
            Ok(())
        }
        Err(ImportError::Invalid(problems)) => {
            for p in &problems.lines {
                eprintln!("{p}");
            }
            Err(CliError::InvalidImport {
                what: what.to_owned(),
                summary: problems.summary(),
            })
        }
        Err(ImportError::Store(source)) => Err(CliError::ImportWrite {
            what: what.to_owned(),
            source,
        }),
    }
}

/// Imports a file as a stream (each pass reads it again, so memory holds no copy).
async fn import_file<S: Store>(store: &S, file: &Path, participants: bool) -> Result<(), CliError> {
    std::fs::File::open(file).map_err(CliError::io(file))?;
    let source = import::ImportSource::from(import::FileSource(file.to_owned()));
    import_from(store, source, &file.display().to_string(), participants).await
}

async fn serve<S: Store, T: ObjectTarget + 'static>(
    cli: &Cli,
    store: S,
    exports: T,
    host: &str,
    port: u16,
    mutual_tls: bool,
    limits: server::Limits,
) -> Result<(), CliError> {
    let keys = jwt::Keys::load_or_create(&cli.data_dir).map_err(CliError::Token)?;
    let existing = store.organisation_ids(None, 1).await?;
    if existing.is_empty() {
        import_from(&store, DEMO_DATA.into(), "the bundled demo data", false).await?;
    }
    // The explorer page at `/` reads the published file: publish one if there is none.
    if exports.published_sha256().await.ok().flatten().is_none() {
        let report = export::run_as(&store, &exports, &operator("serve"), &mut |_| {}).await?;
        eprintln!(
            "published {} ({} organisations) for the explorer page",
            exports.location(),
            report.organisations
        );
    }
    let first_org = store
        .organisation_ids(None, 1)
        .await?
        .into_iter()
        .next()
        .unwrap_or_default();
    let listener = tokio::net::TcpListener::bind((host, port))
        .await
        .map_err(|source| CliError::Listen {
            addr: format!("{host}:{port}"),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| CliError::Listen {
        addr: format!("{host}:{port}"),
        source,
    })?;
    let scope = "directory:read directory:write";
    let snapshot = format!("/organisations/{first_org}/snapshot");
    let tls = if mutual_tls {
        let pki = tls::LocalPki::load_or_create(&cli.data_dir).map_err(CliError::Token)?;
        let config = pki.server_config().map_err(CliError::Token)?;
        let client = pki.issue_client(&first_org, None).map_err(CliError::Token)?;
        let token = keys.mint(
            "local-developer",
            &first_org,
            scope,
            12 * 3600,
            Some(&client.thumbprint),
        );
        println!("directory API listening on https://{addr} (mutual TLS: client certificate and bound token required)");
        println!(
            "try:\n  curl -s --cacert {} --cert {} --key {} -H 'Authorization: Bearer {token}' https://{addr}{snapshot}",
            pki.ca_path().display(),
            client.cert.display(),
            client.key.display()
        );
        println!(
            "more: cargo run --release -- certs client --org ID, then token --org ID --cnf <its .pem> --scope \"...\""
        );
        Some(tokio_rustls::TlsAcceptor::from(config))
    } else {
        let token = keys.mint("local-developer", &first_org, scope, 12 * 3600, None);
        println!("directory API listening on http://{addr}");
        println!("participants explorer: http://{addr}/");
        println!("try:\n  curl -s -H 'Authorization: Bearer {token}' http://{addr}{snapshot}");
        println!(
            "more tokens: cargo run --release -- token --org ID --scope \"directory:read directory:write\" (admin: --scope directory:admin)"
        );
        None
    };
    let app = Arc::new(server::App {
        services: Services { store, exports },
        authorizer: keys.authorizer(mutual_tls),
        jwks: keys.jwks(),
        tls,
        limits,
    });
    server::serve(listener, app, shutdown_signal()).await;
    eprintln!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
