//! Blocking file primitives of the files backend; only the writer thread calls them.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::credential_text;
use super::state::{FileState, JournalEntry, Section};
use super::toml_format;
use crate::credentials::CredentialRecord;
use crate::store::StoreError;

pub(super) const JOURNAL_FILE: &str = "journal.jsonl";
const TEMP_SUFFIX: &str = ".tmp";
const IMPORTED_SUFFIX: &str = ".imported";

/// Credentials and tokens live in these files: owner-only on unix.
fn private_options() -> OpenOptions {
    crate::private_files::private_options()
}

pub(super) fn open_journal(dir: &Path) -> io::Result<File> {
    let path = dir.join(JOURNAL_FILE);
    let file = private_options().create(true).append(true).open(&path)?;
    // A journal from an older version may have been created with looser modes.
    crate::private_files::private_file(&path)?;
    Ok(file)
}

/// Makes renames and newly created names in `dir` durable. Some file systems (certain network and
/// FUSE mounts) refuse fsync on a directory; there it cannot be had, and refusing to work would not
/// make it so.
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        match File::open(dir)?.sync_all() {
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOTSUP)) => {
                log::debug!("{}: directory fsync not supported: {e}", dir.display());
            }
            other => other?,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
    }
    Ok(())
}

fn temp_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!(".{name}{TEMP_SUFFIX}"))
}

/// Writes a temp file, fsyncs it and renames it over `name`; the caller fsyncs the directory.
pub(super) fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let temp = temp_path(dir, name);
    let mut file = private_options()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&temp, dir.join(name))
}

/// Left-overs of a compaction interrupted by a crash; the real files are intact.
pub(super) fn remove_stale_temp_files(dir: &Path) -> io::Result<()> {
    for section in Section::ALL {
        match fs::remove_file(temp_path(dir, section.file_name())) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

fn read_optional(path: &Path) -> io::Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The state on disk, and the credential records parsed on the way (see `credential_text::Loaded`).
pub(super) fn load_state(dir: &Path) -> Result<(FileState, Vec<CredentialRecord>), StoreError> {
    let read = |section: Section| read_optional(&dir.join(section.file_name()));
    let mut state = FileState::default();
    let mut records = Vec::new();
    if let Some(text) = read(Section::Credentials)? {
        (state.credentials, records) = credential_text::parse_all(&text)?;
    }
    if let Some(text) = read(Section::Config)? {
        state.config = toml_format::parse_config(&text)?;
    }
    if let Some(text) = read(Section::Keys)? {
        state.keys = toml_format::parse_keys(&text)?;
    }
    if let Some(text) = read(Section::Costs)? {
        state.costs = toml_format::parse_costs(&text)?;
    }
    Ok((state, records))
}

pub(super) fn render_section(state: &FileState, section: Section) -> Result<String, StoreError> {
    match section {
        Section::Credentials => Ok(credential_text::render_all(&state.credentials)),
        Section::Config => toml_format::render_config(&state.config),
        Section::Keys => toml_format::render_keys(&state.keys),
        Section::Costs => toml_format::render_costs(&state.costs),
    }
}

/// What replaying the journal did.
#[derive(Debug, Default)]
pub(super) struct Replay {
    pub applied: usize,
    pub touched: [bool; 4],
    /// The journal held bytes (valid or torn), so it must be compacted away.
    pub non_empty: bool,
}

/// Applies every complete entry. Unreadable lines are accepted only at the end — the tail of a batch
/// whose write was cut short, never acknowledged; one followed by a good entry means corruption.
pub(super) fn replay_journal(dir: &Path, state: &mut FileState) -> Result<Replay, StoreError> {
    let bytes = match fs::read(dir.join(JOURNAL_FILE)) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Replay::default()),
        Err(e) => return Err(e.into()),
    };
    let mut replay = Replay {
        non_empty: !bytes.is_empty(),
        ..Replay::default()
    };
    let mut entries = Vec::new();
    let mut first_bad: Option<usize> = None;
    for (index, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<JournalEntry>(line) {
            Ok(entry) => {
                if let Some(bad) = first_bad {
                    return Err(StoreError::Corrupt(format!(
                        "{JOURNAL_FILE}: line {} is unreadable but later entries exist",
                        bad + 1
                    )));
                }
                entries.push(entry);
            }
            Err(_) => {
                first_bad.get_or_insert(index);
            }
        }
    }
    if let Some(bad) = first_bad {
        log::warn!(
            "{JOURNAL_FILE}: ignoring an incomplete tail from line {} (a write cut short by a crash)",
            bad + 1
        );
    }
    for entry in &entries {
        state.apply(entry);
        if let Some(flag) = replay.touched.get_mut(entry.section().index()) {
            *flag = true;
        }
    }
    replay.applied = entries.len();
    Ok(replay)
}

/// Adds every loose `*.json` credential object in `dir` to `state` (keeping the state of a credential
/// already known by that name) and returns the files taken. They are renamed by
/// [`mark_imported`] only once the import is durable.
pub(super) fn import_loose_json(
    dir: &Path,
    state: &mut FileState,
) -> Result<Vec<PathBuf>, StoreError> {
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() && path.extension().is_some_and(|ext| ext == "json") {
            paths.push(path);
        }
    }
    paths.sort();
    let mut imported = Vec::new();
    for path in paths {
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        let parsed = fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).map_err(|e| e.to_string()));
        let credential = match parsed {
            Ok(Value::Object(map)) => map,
            Ok(_) => {
                log::warn!("{name}: not a JSON object, left in place");
                continue;
            }
            Err(e) => {
                log::warn!("{name}: unreadable credential file, left in place: {e}");
                continue;
            }
        };
        let previous = match state.credentials.get(&name) {
            Some(kept) => Some(kept.record()?.state),
            None => None,
        };
        let record = CredentialRecord {
            name: name.clone(),
            kind: crate::credentials::CredentialKind::detect(&credential),
            credential,
            state: previous.unwrap_or_default(),
        };
        let entry = state.put_credential(&record)?;
        state.apply(&entry);
        log::info!("imported credential file {name}");
        imported.push(path);
    }
    Ok(imported)
}

pub(super) fn mark_imported(dir: &Path, imported: &[PathBuf]) -> io::Result<()> {
    for path in imported {
        let mut target = path.clone().into_os_string();
        target.push(IMPORTED_SUFFIX);
        fs::rename(path, &target)?;
        // The imported copy still holds the refresh token: owner-only, as everything else here.
        crate::private_files::private_file(Path::new(&target))?;
    }
    if !imported.is_empty() {
        sync_dir(dir)?;
    }
    Ok(())
}
