//! `GET /usage/export?format=csv|json&from=YYYY-MM-DD&to=YYYY-MM-DD&key=…&model=…` (panel session):
//! usage per day, key and model — requests, tokens by kind and the quota cost charged — for a
//! spreadsheet. Keys appear by their label (`k-…`) only; the `key` filter takes the label, the
//! display prefix the panel shows (`sk-ab12…`) or the key itself. Days are UTC and the store keeps the
//! last 31 (older days of a range are simply empty).

use std::collections::BTreeSet;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};

use super::audit_csv::cell;
use crate::actors::request_history::KeyModelUsage;
use crate::auth::panel::PanelSession;
use crate::error::ApiError;
use crate::key_id::{hash_key, id_of_hash};
use crate::observe::key_model_days::{Days, Usage};
use crate::state::AppState;

pub const CSV_HEADER: &str =
    "day,key,model,requests,input_tokens,output_tokens,cached_tokens,thinking_tokens,cost";

/// Most days one export may span (both ends included).
const MAX_SPAN_DAYS: i64 = 366;
/// Days a range covers when `from` is not given (the store keeps no more).
const DEFAULT_SPAN_DAYS: i64 = 31;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    format: Option<String>,
    from: Option<String>,
    to: Option<String>,
    key: Option<String>,
    model: Option<String>,
}

/// What one export asks for, checked.
struct Request {
    csv: bool,
    from: NaiveDate,
    to: NaiveDate,
    /// The labels the `key` filter names (empty set: none matched); `None`: every key.
    keys: Option<BTreeSet<String>>,
    model: Option<String>,
}

fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

fn date(field: &str, raw: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| ApiError::bad_request(format!("{field}: expected a date as YYYY-MM-DD")))
}

fn format_is_csv(raw: Option<&str>) -> Result<bool, ApiError> {
    match given(raw) {
        Some("csv") => Ok(true),
        Some("json") | None => Ok(false),
        Some(_) => Err(ApiError::bad_request("format: expected csv or json")),
    }
}

/// `from` and `to`: `to` defaults to today (UTC), `from` to 30 days before `to`.
fn range(
    from: Option<&str>,
    to: Option<&str>,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let to = given(to)
        .map(|t| date("to", t))
        .transpose()?
        .unwrap_or(today);
    let from = match given(from) {
        Some(f) => date("from", f)?,
        None => to - chrono::Days::new(DEFAULT_SPAN_DAYS as u64 - 1),
    };
    if from > to {
        return Err(ApiError::bad_request("from: must not be after to"));
    }
    if (to - from).num_days() >= MAX_SPAN_DAYS {
        return Err(ApiError::bad_request(format!(
            "from, to: a range spans at most {MAX_SPAN_DAYS} days"
        )));
    }
    Ok((from, to))
}

/// The labels `filter` names: a label as is, the key itself by its id, a display prefix
/// (`sk-ab12…`) by the ids of the stored keys that show it. A key's counts from before ids had 16 hex
/// digits are under `k-` and the first 8 digits of the same hash, so both labels are taken.
async fn key_labels(state: &AppState, filter: &str) -> Result<BTreeSet<String>, ApiError> {
    let mut labels = BTreeSet::from([filter.to_string()]);
    let mut hashes = vec![hash_key(filter)];
    if filter.contains('…') || filter.contains("...") {
        let keys = state.store.list_keys().await.map_err(|e| {
            log::error!("usage export: keys not listed: {e}");
            ApiError::unavailable("the keys could not be read from the store")
        })?;
        let wanted = filter.replace("...", "…");
        hashes.extend(
            keys.into_iter()
                .filter(|k| k.prefix == wanted)
                .map(|k| k.key_hash),
        );
    }
    for hash in hashes {
        labels.insert(id_of_hash(&hash));
        labels.insert(format!("k-{}", hash.get(..8).unwrap_or_default()));
    }
    Ok(labels)
}

async fn request(req: &HttpRequest, state: &AppState) -> Result<Request, ApiError> {
    let params = web::Query::<Params>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| ApiError::bad_request(format!("query: {e}")))?;
    let csv = format_is_csv(params.format.as_deref())?;
    let today = state.clock.now_datetime().date_naive();
    let (from, to) = range(params.from.as_deref(), params.to.as_deref(), today)?;
    let keys = match given(params.key.as_deref()) {
        Some(filter) => Some(key_labels(state, filter).await?),
        None => None,
    };
    Ok(Request {
        csv,
        from,
        to,
        keys,
        model: given(params.model.as_deref()).map(str::to_string),
    })
}

/// One row per day, key and model that `wanted` selects, oldest day first.
fn rows<'a>(
    days: &'a Days,
    wanted: &'a Request,
) -> impl Iterator<Item = (&'a str, &'a str, &'a str, &'a Usage)> {
    let from = wanted.from.format("%Y-%m-%d").to_string();
    let to = wanted.to.format("%Y-%m-%d").to_string();
    days.range(from..=to).flat_map(move |(date, day)| {
        day.iter()
            .filter(|((key, model), _)| {
                wanted.keys.as_ref().is_none_or(|k| k.contains(key))
                    && wanted.model.as_ref().is_none_or(|m| m == model)
            })
            .map(move |((key, model), usage)| (date.as_str(), key.as_str(), model.as_str(), usage))
    })
}

fn csv(days: &Days, wanted: &Request) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push_str("\r\n");
    for (date, key, model, u) in rows(days, wanted) {
        let figures =
            [u.requests, u.input, u.output, u.cached, u.thinking, u.cost].map(|n| n.to_string());
        let mut cells = vec![cell(date), cell(key), cell(model)];
        cells.extend(figures);
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

fn json_rows(days: &Days, wanted: &Request) -> Vec<Value> {
    rows(days, wanted)
        .map(|(date, key, model, u)| {
            json!({
                "day": date,
                "key": key,
                "model": model,
                "requests": u.requests,
                "input_tokens": u.input,
                "output_tokens": u.output,
                "cached_tokens": u.cached,
                "thinking_tokens": u.thinking,
                "cost": u.cost,
            })
        })
        .collect()
}

pub async fn export(
    _: PanelSession,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let wanted = request(&req, &state).await?;
    let days = state
        .history
        .send(KeyModelUsage)
        .await
        .map_err(ApiError::mailbox("the request history"))?
        .map_err(|e| {
            log::error!("usage export: {e}");
            ApiError::unavailable("the usage counters could not be read from the store")
        })?;
    let name = format!("usage-{}-{}", wanted.from, wanted.to);
    if wanted.csv {
        Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"{name}.csv\""),
            ))
            .body(csv(&days, &wanted)))
    } else {
        Ok(HttpResponse::Ok()
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"{name}.json\""),
            ))
            .json(json!({ "rows": json_rows(&days, &wanted) })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn ranges_default_to_the_kept_month_and_are_bounded() {
        let today = day("2026-12-07");
        assert_eq!(
            range(None, None, today).unwrap(),
            (day("2026-11-07"), today)
        );
        assert_eq!(
            range(Some("2026-01-01"), Some("2026-12-31"), today).unwrap(),
            (day("2026-01-01"), day("2026-12-31"))
        );
        assert!(range(Some("2025-01-01"), Some("2026-12-31"), today).is_err());
        assert!(range(Some("2026-12-08"), Some("2026-12-07"), today).is_err());
        assert!(range(Some("2026-13-01"), None, today).is_err());
        assert!(range(Some("yesterday"), None, today).is_err());
        assert!(format_is_csv(Some("xml")).is_err());
        assert_eq!(format_is_csv(Some("csv")).ok(), Some(true));
    }
}
