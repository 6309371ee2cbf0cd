//! `docket export` and `docket import`: a workspace, or everything, as a portable
//! JSON-lines file (`docket_store::portable`), from any backend to any backend.
//!
//! Import stores each line in its own transaction, in file order (which is dependency
//! order), into a database that does not yet hold those workspaces: run it before the
//! first `serve`, which would otherwise create the `default` workspace.

use anyhow::{bail, Context};
use docket_store::portable::{export_workspace, Line};
use docket_store::Store;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

/// Writes the workspace with `slug` (or every workspace) to `out` (or stdout).
pub async fn export(
    store: &dyn Store,
    slug: Option<&str>,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    let workspaces = match slug {
        Some(slug) => match store.workspace_by_slug(slug).await? {
            Some(ws) => vec![ws],
            None => bail!("no workspace with slug {slug}"),
        },
        None => store.list_workspaces().await?,
    };
    let mut writer: Box<dyn Write> = match out {
        Some(path) => Box::new(BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let progress = ProgressBar::new_spinner().with_style(ProgressStyle::with_template(
        "{spinner} {msg}: {pos} records ({per_sec})",
    )?);
    let mut written = BTreeMap::new();
    for ws in &workspaces {
        progress.set_message(format!("exporting {}", ws.slug));
        export_workspace(store, ws, |line| {
            *written.entry(line.kind()).or_default() += 1;
            serde_json::to_writer(&mut writer, &line)?;
            writer.write_all(b"\n")?;
            progress.inc(1);
            Ok(())
        })
        .await
        .with_context(|| format!("exporting workspace {}", ws.slug))?;
    }
    writer.flush()?;
    progress.finish_and_clear();
    eprintln!("exported {}", summary(&written));
    Ok(())
}

/// Stores every line of the file at `path`.
pub async fn import(store: &dyn Store, path: &Path) -> anyhow::Result<()> {
    let open = || std::fs::File::open(path).with_context(|| format!("opening {}", path.display()));
    let total = BufReader::new(open()?).lines().count() as u64;
    let progress = ProgressBar::new(total).with_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} records ({per_sec}, {eta} left)",
    )?);
    let mut written = BTreeMap::new();
    for (n, line) in BufReader::new(open()?).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        if line.trim().is_empty() {
            progress.inc(1);
            continue;
        }
        let record: Line = serde_json::from_str(&line)
            .with_context(|| format!("{}:{}: not an export record", path.display(), n + 1))?;
        let kind = record.kind();
        let imported = record
            .into_imported()
            .with_context(|| format!("{}:{}", path.display(), n + 1))?;
        store
            .import(imported)
            .await
            .with_context(|| format!("{}:{}: storing the record", path.display(), n + 1))?;
        *written.entry(kind).or_default() += 1;
        progress.inc(1);
    }
    progress.finish_and_clear();
    eprintln!("imported {}", summary(&written));
    Ok(())
}

/// "2 workspace, 4 member, ..." in the file's order of kinds, or "nothing".
fn summary(counts: &BTreeMap<&'static str, u64>) -> String {
    if counts.is_empty() {
        return "nothing".into();
    }
    let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    format!(
        "{} records: {}",
        counts.values().sum::<u64>(),
        parts.join(", ")
    )
}
