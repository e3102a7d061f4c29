//! `POST /auth/upload`: credential JSON files and ZIP archives of them (multipart field `files`). Every
//! file is validated on its own and reported; uploads join the rotation at once. Archives are read with
//! hard caps (entries, bytes per entry, total bytes) enforced while decompressing, so a zip bomb costs a
//! bounded amount of memory and gets a 413.

use std::io::Read;

use actix_multipart::Multipart;
use actix_web::{web, HttpResponse};
use futures_util::TryStreamExt;
use serde_json::{json, Value};

use crate::actors::credentials::messages::AddCredential;
use crate::auth::admin::Admin;
use crate::credentials::{CredentialRecord, CredentialState};
use crate::error::{ApiError, ErrorStyle};
use crate::state::AppState;
use crate::store::AuditAction;

pub const MAX_UPLOAD_BYTES: usize = 32 * 1024 * 1024;
const MAX_FILES: usize = 1000;
const MAX_JSON_BYTES: u64 = 1024 * 1024;
const MAX_ZIP_TOTAL: u64 = 64 * 1024 * 1024;

#[derive(Debug)]
struct Outcome {
    filename: String,
    result: Result<String, String>,
}

/// Names must be plain file names: no directories, no `..`, nothing absolute.
pub fn valid_name(name: &str) -> Result<(), String> {
    if name.contains('/') || name.contains('\\') || name.contains("..") || name.starts_with('.') {
        return Err("file name must not contain a path".into());
    }
    if !name.ends_with(".json") || name.len() > 128 || name.len() <= 5 {
        return Err("file name must end in .json and be at most 128 characters".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+'))
    {
        return Err("file name may contain only letters, digits and . _ - @ +".into());
    }
    Ok(())
}

pub fn parse_credential(bytes: &[u8]) -> Result<serde_json::Map<String, Value>, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    let map = value
        .as_object()
        .cloned()
        .ok_or_else(|| "not a JSON object".to_string())?;
    // A service-account key file is a Vertex credential; anything else must be an OAuth login.
    let kind = crate::credentials::CredentialKind::detect(&map);
    kind.rules().fields(&map)?;
    Ok(map)
}

#[derive(Debug, PartialEq)]
enum ZipFailure {
    TooBig(String),
    Bad(String),
}

fn read_zip(
    bytes: &[u8],
    outcomes: &mut Vec<(String, Result<Vec<u8>, String>)>,
) -> Result<(), ZipFailure> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| ZipFailure::Bad(format!("not a valid ZIP archive: {e}")))?;
    if archive.len() > MAX_FILES {
        return Err(ZipFailure::TooBig(format!(
            "archive has {} entries; at most {MAX_FILES} are accepted",
            archive.len()
        )));
    }
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| ZipFailure::Bad(format!("unreadable archive entry: {e}")))?;
        let name = entry.name().to_string();
        if entry.is_dir() || name.starts_with("__MACOSX/") {
            continue;
        }
        if let Err(e) = valid_name(&name) {
            outcomes.push((name, Err(e)));
            continue;
        }
        // Declared sizes can lie: the read below is capped regardless.
        let mut data = Vec::new();
        let read = (&mut entry)
            .take(MAX_JSON_BYTES + 1)
            .read_to_end(&mut data)
            .map_err(|e| ZipFailure::Bad(format!("{name}: cannot decompress: {e}")))?;
        total += read as u64;
        if total > MAX_ZIP_TOTAL {
            return Err(ZipFailure::TooBig(format!(
                "archive expands beyond {} MiB",
                MAX_ZIP_TOTAL / 1024 / 1024
            )));
        }
        if read as u64 > MAX_JSON_BYTES {
            return Err(ZipFailure::TooBig(format!(
                "{name} expands beyond {} KiB; a credential is a few hundred bytes",
                MAX_JSON_BYTES / 1024
            )));
        }
        outcomes.push((name, Ok(data)));
    }
    Ok(())
}

pub async fn upload(
    admin: Admin,
    mut payload: Multipart,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut files: Vec<(String, Result<Vec<u8>, String>)> = Vec::new();
    let mut received = 0usize;
    while let Some(mut field) = payload
        .try_next()
        .await
        .map_err(|e| ApiError::bad_request(format!("malformed upload: {e}")))?
    {
        let filename = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_string)
            .unwrap_or_default();
        let mut data = Vec::new();
        while let Some(chunk) = field
            .try_next()
            .await
            .map_err(|e| ApiError::bad_request(format!("malformed upload: {e}")))?
        {
            received += chunk.len();
            if received > MAX_UPLOAD_BYTES {
                return Err(ApiError::new(
                    crate::error::ErrorKind::PayloadTooLarge,
                    format!("upload exceeds {} MiB", MAX_UPLOAD_BYTES / 1024 / 1024),
                ));
            }
            data.extend_from_slice(&chunk);
        }
        if filename.is_empty() {
            continue;
        }
        let base = filename
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(&filename)
            .to_string();
        if base.to_ascii_lowercase().ends_with(".zip") {
            match read_zip(&data, &mut files) {
                Ok(()) => {}
                Err(ZipFailure::TooBig(msg)) => {
                    return Err(ApiError::new(
                        crate::error::ErrorKind::PayloadTooLarge,
                        format!("{base}: {msg}"),
                    ))
                }
                Err(ZipFailure::Bad(msg)) => files.push((base, Err(msg))),
            }
        } else if filename != base {
            files.push((filename, Err("file name must not contain a path".into())));
        } else {
            files.push((base, Ok(data)));
        }
        if files.len() > MAX_FILES {
            return Err(ApiError::new(
                crate::error::ErrorKind::PayloadTooLarge,
                format!("at most {MAX_FILES} files per upload"),
            ));
        }
    }
    if files.is_empty() {
        return Err(ApiError::bad_request(
            "no files received: send multipart field `files` with .json or .zip files",
        ));
    }
    let mut outcomes = Vec::new();
    for (filename, data) in files {
        let result = match data.and_then(|d| {
            valid_name(&filename)?;
            parse_credential(&d)
        }) {
            Ok(credential) => {
                let record = CredentialRecord {
                    name: filename.clone(),
                    kind: crate::credentials::CredentialKind::detect(&credential),
                    credential,
                    state: CredentialState::default(),
                };
                match state.supervisor.send(AddCredential { record }).await {
                    Ok(()) => Ok("credential added".to_string()),
                    Err(_) => Err("credential registry unavailable".into()),
                }
            }
            Err(e) => Err(e),
        };
        outcomes.push(Outcome { filename, result });
    }
    for o in outcomes.iter().filter(|o| o.result.is_ok()) {
        let changes = json!({"via": "upload"});
        admin.audit(&state, AuditAction::CredentialAdded, &o.filename, changes);
    }
    let ok = outcomes.iter().filter(|o| o.result.is_ok()).count();
    let results: Vec<Value> = outcomes
        .iter()
        .map(|o| match &o.result {
            Ok(msg) => json!({"filename": o.filename, "status": "success", "message": msg}),
            Err(msg) => json!({"filename": o.filename, "status": "error", "message": msg}),
        })
        .collect();
    log::info!(
        "upload: {ok} of {} credential file(s) added",
        outcomes.len()
    );
    let body = json!({
        "uploaded_count": ok,
        "total_count": outcomes.len(),
        "results": results,
        "message": format!("{ok} of {} file(s) added", outcomes.len()),
    });
    if ok == 0 {
        let mut err = body;
        if let Some(obj) = err.as_object_mut() {
            let error = ApiError::bad_request("no valid credential in the upload")
                .render(ErrorStyle::Google);
            obj.insert(
                "error".into(),
                error.get("error").cloned().unwrap_or_default(),
            );
        }
        return Ok(HttpResponse::BadRequest().json(err));
    }
    Ok(HttpResponse::Ok().json(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_paths_are_refused() {
        assert!(valid_name("a.json").is_ok());
        assert!(valid_name("proj-1_x@y.json").is_ok());
        for bad in [
            "../a.json",
            "/etc/a.json",
            "dir/a.json",
            "a.txt",
            "..json",
            ".hidden.json",
            "a b.json",
        ] {
            assert!(valid_name(bad).is_err(), "{bad}");
        }
    }

    fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
        use std::io::Write;
        let mut cursor = std::io::Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut cursor);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in entries {
            zip.start_file(*name, opts).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap();
        cursor.into_inner()
    }

    #[test]
    fn zip_bomb_is_stopped_while_decompressing() {
        let bomb = zip_of(&[("big.json", vec![b' '; 5 * 1024 * 1024])]);
        assert!(bomb.len() < 100 * 1024, "compresses well: {}", bomb.len());
        let mut out = Vec::new();
        assert!(matches!(
            read_zip(&bomb, &mut out),
            Err(ZipFailure::TooBig(_))
        ));
    }

    #[test]
    fn zip_entries_are_checked_one_by_one() {
        let archive = zip_of(&[
            ("good.json", b"{}".to_vec()),
            ("../evil.json", b"{}".to_vec()),
            ("__MACOSX/._good.json", b"x".to_vec()),
        ]);
        let mut out = Vec::new();
        read_zip(&archive, &mut out).unwrap();
        assert_eq!(out.len(), 2);
        assert!(out.iter().any(|(n, r)| n == "good.json" && r.is_ok()));
        assert!(out.iter().any(|(n, r)| n == "../evil.json" && r.is_err()));
    }
}
