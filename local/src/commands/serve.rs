//! `serve` (the default command): the local API Gateway stand-in over the store, with
//! the demo data on first start and a published file for the explorer page.

use super::data::{import_from, operator};
use directory::error::CliError;
use directory::{jwt, server, tls};
use directory_http::Services;
use directory_usecases::export::{self, ObjectTarget};
use directory_usecases::ports::Store;
use std::path::Path;
use std::sync::Arc;

/// The bundled demo data, imported on the first start of an empty store.
const DEMO_DATA: &[u8] = include_bytes!("../../../data/demo.json");

pub(crate) async fn serve<S: Store, T: ObjectTarget + 'static>(
    data_dir: &Path,
    store: S,
    exports: T,
    host: &str,
    port: u16,
    mutual_tls: bool,
    limits: server::Limits,
) -> Result<(), CliError> {
    let keys = jwt::Keys::load_or_create(data_dir).map_err(CliError::Token)?;
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
    let (listener, addr) = super::listen(host, port).await?;
    let scope = "directory:read directory:write";
    let snapshot = format!("/organisations/{first_org}/snapshot");
    let tls = if mutual_tls {
        let pki = tls::LocalPki::load_or_create(data_dir).map_err(CliError::Token)?;
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
    // The transmitter of change events speaks as this server; subscribers may name
    // loopback receivers (a receiver on this machine).
    let scheme = if tls.is_some() { "https" } else { "http" };
    let issuer = format!("{scheme}://{addr}");
    let _ = directory_http::handlers::TRANSMITTER.set(directory_usecases::events::Transmitter {
        jwks_uri: format!("{issuer}/.well-known/participants-jwks.json"),
        issuer,
        reach: directory_domain::events::endpoint::Reach::Loopback,
    });
    let push = directory_authz::push::PushClient::new(directory_domain::events::endpoint::Reach::Loopback)
        .map_err(CliError::Token)?;
    let push = Arc::new(push);
    // The Trust Anchor signs with its own key and fetches self-managed entities'
    // configurations through the same address-checked client.
    let federation_key =
        directory_embedded::LocalSigner::open_or_create_file(data_dir, directory_embedded::signer::FEDERATION_KEY_FILE)
            .map_err(|e| CliError::Token(e.to_string()))?;
    let _ = directory_http::handlers::FEDERATION_KIT.set(directory_http::handlers::FederationKit {
        signer: Arc::new(federation_key),
        fetch: push.clone(),
    });
    let app = Arc::new(server::App {
        services: Services { store, exports },
        authorizer: keys.authorizer(mutual_tls),
        jwks: keys.jwks(),
        tls,
        limits,
        wake: Arc::default(),
        push,
    });
    server::serve(listener, app, shutdown_signal()).await;
    eprintln!("stopped");
    Ok(())
}

pub(crate) async fn shutdown_signal() {
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
