//! Commands around keys and certificates: `token`, `certs client`, `verify`,
//! `rotate-signing-key`, and the data directory they share (owner-only).

use directory::error::CliError;
use directory::{jwt, tls};
use std::path::{Path, PathBuf};

/// Mints a local token. Reads only the key, so it works while a server holds the
/// database.
pub(crate) fn token_command(
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
pub(crate) fn verify_command(file: &Path, signature: &Path, jwks: &Path) -> Result<(), CliError> {
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
pub(crate) fn rotate_key_command(data_dir: &Path) -> Result<(), CliError> {
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
pub(crate) fn local_signer(
    data_dir: &Path,
) -> Result<std::sync::Arc<dyn directory_domain::signature::Signer>, CliError> {
    private_data_dir(data_dir)?;
    let signer =
        directory_embedded::LocalSigner::open_or_create(data_dir).map_err(|e| CliError::Token(e.to_string()))?;
    Ok(std::sync::Arc::new(signer))
}

/// Issues a client certificate for `org` and says where it is and how to use it.
pub(crate) fn client_cert_command(data_dir: &Path, org: &str, out: Option<&Path>) -> Result<(), CliError> {
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
pub(crate) fn private_data_dir(dir: &Path) -> Result<PathBuf, CliError> {
    std::fs::create_dir_all(dir).map_err(CliError::io(dir))?;
    restrict(dir, 0o700)?;
    Ok(dir.join("directory.redb"))
}

#[cfg(unix)]
pub(crate) fn restrict(path: &Path, mode: u32) -> Result<(), CliError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(CliError::io(path))
}

#[cfg(not(unix))]
pub(crate) fn restrict(_path: &Path, _mode: u32) -> Result<(), CliError> {
    Ok(())
}
