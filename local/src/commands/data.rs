//! Commands over the store's data: `import` (a file, or a participants file), `export`
//! and `audit`, with their progress bars and messages.

use directory::error::CliError;
use directory::progress;
use directory_usecases::export::{self, ObjectTarget};
use directory_usecases::import::{self, ImportError};
use directory_usecases::ports::Store;
use std::path::Path;

/// Who runs the command, for audit records (the operator's login name).
pub(crate) fn operator(action: &str) -> directory_domain::audit::Actor {
    let user = std::env::var("USER").unwrap_or_else(|_| "operator".to_owned());
    directory_domain::audit::Actor::system(&format!("cli:{user}"), action)
}

pub(crate) async fn print_audit<S: Store>(store: &S, org: Option<&str>, since: Option<&str>) -> Result<(), CliError> {
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

pub(crate) async fn export_command<S: Store, T: ObjectTarget>(store: &S, target: &T) -> Result<(), CliError> {
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

pub(crate) async fn import_from<S: Store>(
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
            sequence_after(store).await
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

/// `remove --org ID`: the organisation leaves the directory, then the change feed
/// gives its removal a revision.
pub(crate) async fn remove_command<S: Store>(store: &S, org: &str) -> Result<(), CliError> {
    use directory_usecases::writes::{DirectoryWrites, Replaced};
    let org_id = directory_domain::ids::OrganisationId::parse(org)
        .map_err(|p| CliError::Usage(format!("--org: {}", p.join("; "))))?;
    match store.remove_organisation_as(&org_id, &operator("remove")).await? {
        Replaced::Written => {
            let done = directory_usecases::feed::sequence(store).await?;
            eprintln!("removed {org}; the change feed is at revision {}", done.head);
            Ok(())
        }
        Replaced::Unchanged => Err(CliError::Usage(format!("no organisation {org}"))),
    }
}

/// Gives every queued change its revision, and says so.
pub(crate) async fn sequence_after<S: Store>(store: &S) -> Result<(), CliError> {
    let started = std::time::Instant::now();
    let done = directory_usecases::feed::sequence(store).await?;
    eprintln!(
        "change feed: {} new revision(s) in {:.1} s, at revision {}",
        done.revisions,
        started.elapsed().as_secs_f64(),
        done.head
    );
    Ok(())
}

/// Imports a file as a stream (each pass reads it again, so memory holds no copy).
pub(crate) async fn import_file<S: Store>(store: &S, file: &Path, participants: bool) -> Result<(), CliError> {
    std::fs::File::open(file).map_err(CliError::io(file))?;
    let source = import::ImportSource::from(import::FileSource(file.to_owned()));
    import_from(store, source, &file.display().to_string(), participants).await
}
