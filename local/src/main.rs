//! The developer CLI: `serve` (default) runs the whole API locally on the embedded
//! store with demo data; `import`, `export`, `token`, `audit`, `verify` and
//! `create-table` around it. One command per file under `commands/`, matched here once.

mod cli;
mod commands;

use clap::Parser;
use cli::{CertsCommand, Cli, Command};
use commands::{StoreJob, keys};
use directory::error::CliError;
use directory::server;
use std::process::ExitCode;
use tracing_subscriber::prelude::*;

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `level` or `target=level` directives, read as the functions read them (no regex engine).
    let filter = directory_http::logging::filter_of(std::env::var("RUST_LOG").ok().as_deref());
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .with_filter(filter),
        )
        .init();
    let data_dir = cli.data_dir.clone();
    // Commands that need neither a store nor a runtime run here; the others are jobs.
    let job = match cli.command.clone().unwrap_or_default() {
        Command::Routes => return done(commands::routes()),
        Command::Token {
            org,
            scope,
            ttl,
            sub,
            cnf,
        } => return done(keys::token_command(&data_dir, &org, &scope, &ttl, &sub, cnf.as_deref())),
        Command::Certs {
            what: CertsCommand::Client { org, out },
        } => return done(keys::client_cert_command(&data_dir, &org, out.as_deref())),
        Command::Verify { file, signature, jwks } => return done(keys::verify_command(&file, &signature, &jwks)),
        Command::RotateSigningKey => return done(keys::rotate_key_command(&data_dir)),
        Command::Serve {
            port,
            host,
            tls,
            max_connections,
            request_timeout,
        } => StoreJob::Serve {
            host,
            port,
            tls,
            limits: server::Limits {
                max_connections: max_connections as usize,
                request_timeout: std::time::Duration::from_secs(request_timeout),
            },
        },
        Command::Import { file, participants } => StoreJob::Import { file, participants },
        Command::Export { out } => StoreJob::Export { out },
        Command::Audit { org, since } => StoreJob::Audit { org, since },
        Command::Remove { org } => StoreJob::Remove { org },
        Command::Sync { from, api, into, every } => {
            let source = directory::sync::Source {
                api: api.unwrap_or_else(|| from.clone()),
                files: from,
            };
            return runtime_for(|| commands::sync_command(source, into, every));
        }
        Command::Receive {
            from,
            host,
            port,
            audience,
            into,
            files,
        } => {
            return runtime_for(|| commands::receive_command(from, host, port, audience, into, files));
        }
        Command::CreateTable => StoreJob::CreateTable,
    };
    runtime_for(|| job.start(&cli))
}

/// Runs a command's future on a new multi-threaded runtime.
/// Threads for the embedded store's calls (see `runtime_for`).
const BLOCKING_THREADS: usize = 4;

fn runtime_for<F: std::future::Future<Output = Result<(), CliError>>>(command: impl FnOnce() -> F) -> ExitCode {
    // Few blocking threads: the embedded store runs each call on one, and every thread
    // that allocates gets a malloc arena of its own; with tokio's default (up to 512)
    // a 20,000-organisation import peaked at twice the memory (145 vs 73 MiB with two
    // arenas). redb takes one writer at a time anyway.
    match tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(BLOCKING_THREADS)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(async { done(command().await) }),
        Err(e) => fail(CliError::Usage(format!("cannot start the runtime: {e}"))),
    }
}

fn done(outcome: Result<(), CliError>) -> ExitCode {
    outcome.map_or_else(fail, |()| ExitCode::SUCCESS)
}
