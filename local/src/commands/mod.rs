//! One command per file; the commands that read or write the store run as a
//! [`StoreJob`] on the store and export target the global options choose (the one
//! place `--store` and `--bucket` are read, and the one pair of functions that differ
//! with the `aws` feature).

mod data;
pub mod keys;
mod serve;

use crate::cli::{Cli, StoreKind};
use directory::error::CliError;
use directory::server;
use directory_embedded::{EmbeddedStore, LocalDirTarget};
use directory_usecases::export::ObjectTarget;
use directory_usecases::ports::Store;
use std::path::PathBuf;

/// Prints the route table: `name METHOD /path`, `name schedule`, `name stream` or
/// `name events` (the delivery of change events) per line, then
/// `authorizer authorizer` for the Lambda authorizer's function.
pub fn routes() -> Result<(), CliError> {
    for route in directory_domain::routes::ROUTES {
        match route.http() {
            Some(h) => println!("{} {} {}", route.name, h.method, h.path),
            None if route.handler == directory_domain::routes::Handler::DeliverEvents => {
                println!("{} events", route.name)
            }
            None if route.scheduled() => println!("{} schedule", route.name),
            None => println!("{} stream", route.name),
        }
    }
    println!("{0} {0}", directory_domain::routes::AUTHORIZER_FUNCTION);
    Ok(())
}

/// `sync`: brings the copy current, once or every `every` seconds.
pub async fn sync_command(source: directory::sync::Source, into: PathBuf, every: Option<u64>) -> Result<(), CliError> {
    let http = directory::fetch::Http::new().map_err(CliError::Usage)?;
    let copy = directory::sync::Copy::new(&into);
    loop {
        let synced = match (directory::sync::sync(&http, &source, &copy).await, every) {
            (Ok(synced), _) => synced,
            // Following: the copy is as it was; say why and try again at the next poll.
            (Err(e), Some(secs)) => {
                eprintln!("sync: {e}");
                tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
                continue;
            }
            (Err(e), None) => return Err(CliError::Sync(e.to_string())),
        };
        println!(
            "{} at revision {}: {} organisations ({} page(s), {} change(s), {} bytes{})",
            copy.file().display(),
            synced.revision,
            synced.organisations,
            synced.pages,
            synced.changes,
            synced.bytes,
            if synced.downloaded_file { ", the whole file" } else { "" }
        );
        match every {
            Some(secs) => tokio::time::sleep(std::time::Duration::from_secs(secs)).await,
            None => return Ok(()),
        }
    }
}

/// A listener on `host:port` and the address it got (port 0: any free one).
pub(crate) async fn listen(host: &str, port: u16) -> Result<(tokio::net::TcpListener, std::net::SocketAddr), CliError> {
    let failed = |source| CliError::Listen {
        addr: format!("{host}:{port}"),
        source,
    };
    let listener = tokio::net::TcpListener::bind((host, port)).await.map_err(failed)?;
    let addr = listener.local_addr().map_err(failed)?;
    Ok((listener, addr))
}

/// `receive`: the reference receiver of change events, until the process ends.
pub async fn receive_command(
    from: String,
    host: String,
    port: u16,
    audience: Option<String>,
    into: Option<PathBuf>,
    files: Option<String>,
) -> Result<(), CliError> {
    let http = directory::fetch::Http::new().map_err(CliError::Usage)?;
    let copy = into.map(|dir| {
        let source = directory::sync::Source {
            files: files.unwrap_or_else(|| from.clone()),
            api: from.clone(),
        };
        (source, directory::sync::Copy::new(&dir))
    });
    let receiver = directory::receive::Receiver::new(http, &from, audience, copy)
        .await
        .map_err(CliError::Sync)?;
    let (listener, addr) = listen(&host, port).await?;
    println!("receiving change events on http://{addr}/events");
    directory::receive::serve(std::sync::Arc::new(receiver), listener)
        .await
        .map_err(CliError::Sync)
}

/// A command that runs against the store (and the export target).
#[derive(Debug)]
pub enum StoreJob {
    Serve {
        host: String,
        port: u16,
        tls: bool,
        limits: server::Limits,
    },
    Import {
        file: PathBuf,
        participants: bool,
    },
    Export {
        out: Option<PathBuf>,
    },
    Audit {
        org: Option<String>,
        since: Option<String>,
    },
    Remove {
        org: String,
    },
    CreateTable,
}

impl StoreJob {
    /// Runs the job on `store` and `target`.
    async fn run<S: Store, T: ObjectTarget + 'static>(self, cli: &Cli, store: S, target: T) -> Result<(), CliError> {
        match self {
            Self::Serve {
                host,
                port,
                tls,
                limits,
            } => serve::serve(&cli.data_dir, store, target, &host, port, tls, limits).await,
            Self::Import { file, participants } => data::import_file(&store, &file, participants).await,
            Self::Export { .. } => data::export_command(&store, &target).await,
            Self::Audit { org, since } => data::print_audit(&store, org.as_deref(), since.as_deref()).await,
            Self::Remove { org } => data::remove_command(&store, &org).await,
            Self::CreateTable => Err(CliError::Usage("create-table is for --store dynamodb".into())),
        }
    }

    /// Opens the store and the export target the global options name, then runs.
    pub async fn start(self, cli: &Cli) -> Result<(), CliError> {
        match cli.store {
            StoreKind::Embedded => {
                let db = keys::private_data_dir(&cli.data_dir)?;
                let store = EmbeddedStore::open(&db)?;
                keys::restrict(&db, 0o600)?;
                self.with_target(cli, store).await
            }
            StoreKind::Dynamodb => aws::dynamodb(self, cli).await,
        }
    }

    /// Picks the export target: the local directory, or S3 with `--bucket`.
    async fn with_target<S: Store>(self, cli: &Cli, store: S) -> Result<(), CliError> {
        let bucket = cli
            .bucket
            .clone()
            .or_else(|| std::env::var("BUCKET_NAME").ok())
            .filter(|b| !b.is_empty());
        let out = match &self {
            Self::Export { out: Some(out) } if bucket.is_some() => {
                let _ = out;
                return Err(CliError::Usage(
                    "--out writes to a directory and --bucket (or BUCKET_NAME) to S3: choose one".into(),
                ));
            }
            Self::Export { out: Some(out) } => out.clone(),
            _ => cli.data_dir.join("exports"),
        };
        match bucket {
            None => {
                let target = LocalDirTarget::new(out, keys::local_signer(&cli.data_dir)?);
                self.run(cli, store, target).await
            }
            Some(bucket) => aws::s3(self, cli, store, bucket).await,
        }
    }
}

/// The AWS adapters (`--features aws`), or the refusal without them.
#[cfg(feature = "aws")]
mod aws {
    use super::{Cli, StoreJob, keys};
    use directory::error::CliError;
    use directory_usecases::ports::{Store, StoreError};

    pub async fn dynamodb(job: StoreJob, cli: &Cli) -> Result<(), CliError> {
        let table = cli
            .table
            .clone()
            .or_else(|| std::env::var("TABLE_NAME").ok())
            .ok_or_else(|| CliError::Usage("--store dynamodb needs a table: --table NAME or TABLE_NAME".into()))?;
        let config = directory_aws::sdk_config().await;
        let store = directory_aws::DynamoStore::new(directory_aws::dynamodb_client(&config), table);
        if matches!(job, StoreJob::CreateTable) {
            store.create_table().await?;
            println!("table {} is ready", store.table());
            return Ok(());
        }
        store
            .warm_up()
            .await
            .map_err(|e| CliError::Store(StoreError::Backend(format!("DynamoDB table {}: {e}", store.table()))))?;
        job.with_target(cli, store).await
    }

    pub async fn s3<S: Store>(job: StoreJob, cli: &Cli, store: S, bucket: String) -> Result<(), CliError> {
        let config = directory_aws::sdk_config().await;
        // The deployment's KMS key when SIGNING_KEY_ID names one, else the data dir's key.
        let signer: std::sync::Arc<dyn directory_domain::signature::Signer> =
            match directory_aws::kms_signer_from_env(&config) {
                Ok(kms) => std::sync::Arc::new(kms),
                Err(_) => keys::local_signer(&cli.data_dir)?,
            };
        let target = directory_aws::S3Target::new(directory_aws::s3_client(&config), bucket, signer);
        job.run(cli, store, target).await
    }
}

#[cfg(not(feature = "aws"))]
mod aws {
    use super::{Cli, StoreJob};
    use directory::error::CliError;
    use directory_usecases::ports::Store;

    pub async fn dynamodb(_: StoreJob, _: &Cli) -> Result<(), CliError> {
        Err(CliError::NoAws("--store dynamodb"))
    }

    pub async fn s3<S: Store>(_: StoreJob, _: &Cli, _: S, _: String) -> Result<(), CliError> {
        Err(CliError::NoAws("--bucket"))
    }
}
