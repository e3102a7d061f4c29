//! Code Assist onboarding: `loadCodeAssist`, `onboardUser` and its long-running operation.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::{json, Value};

use super::credits;
use super::dispatch::{google_error, status_code, Call};
use super::reply::LoadCodeAssist;
use super::state::{FakeState, Operation, Shared};

/// The scripted onboarding state; an onboarded account with credits (`set_credits`) for the project
/// the call names also reports its paid tier, as a Google One AI subscriber's does.
pub(crate) fn load_code_assist(shared: &Shared, call: &Call) -> HttpResponse {
    let (script, credits) = {
        let state = shared.lock();
        let credits = match &state.load_code_assist {
            LoadCodeAssist::AlreadyOnboarded { project } => {
                let project = credits::load_project(&call.body, project);
                state.credits.get(project).copied()
            }
            _ => None,
        };
        (state.load_code_assist.clone(), credits)
    };
    match script {
        LoadCodeAssist::AlreadyOnboarded { project } => {
            let mut body = json!({
                "currentTier": free_tier(),
                "allowedTiers": [free_tier(), standard_tier()],
                "cloudaicompanionProject": project,
                "gcpManaged": false,
            });
            if let Some(amount) = credits {
                let mut paid = standard_tier();
                paid["availableCredits"] = credits::credit_list(amount);
                body["paidTier"] = paid;
            }
            HttpResponse::Ok().json(body)
        }
        LoadCodeAssist::NeedsOnboarding { .. } => HttpResponse::Ok().json(json!({
            "allowedTiers": [free_tier(), standard_tier()],
            "gcpManaged": false,
        })),
        LoadCodeAssist::Json(status, body) => HttpResponse::build(status_code(status)).json(body),
    }
}

fn free_tier() -> Value {
    json!({"id": "free-tier", "name": "Gemini Code Assist for individuals",
           "description": "Gemini Code Assist for individuals",
           "userDefinedCloudaicompanionProject": false, "isDefault": true})
}

fn standard_tier() -> Value {
    json!({"id": "standard-tier", "name": "Gemini Code Assist",
           "description": "Gemini Code Assist for business",
           "userDefinedCloudaicompanionProject": true})
}

/// Starts the onboarding operation; while one is pending, a repeated call counts as a poll, as
/// some clients re-POST instead of polling the operation.
pub(crate) fn onboard_user(shared: &Shared) -> HttpResponse {
    let mut state = shared.lock();
    let pending = state
        .operations
        .iter()
        .find(|(_, operation)| operation.polls_left > 0)
        .map(|(name, _)| name.clone());
    if let Some(name) = pending {
        return poll_operation(&mut state, &name).map_or_else(operation_not_found, ok_json);
    }
    match state.load_code_assist.clone() {
        LoadCodeAssist::AlreadyOnboarded { project } => {
            ok_json(operation_json("operations/onboarded", Some(&project)))
        }
        LoadCodeAssist::NeedsOnboarding {
            project,
            polls_until_done,
        } => {
            state.operation_seq += 1;
            let name = format!("operations/onboard-{}", state.operation_seq);
            let done = polls_until_done == 0;
            state.operations.insert(
                name.clone(),
                Operation {
                    project: project.clone(),
                    polls_left: polls_until_done,
                },
            );
            if done {
                mark_onboarded(&mut state, &project);
            }
            ok_json(operation_json(&name, done.then_some(project.as_str())))
        }
        LoadCodeAssist::Json(..) => google_error(
            StatusCode::BAD_REQUEST,
            "FAILED_PRECONDITION",
            "User is not eligible for onboarding.",
        ),
    }
}

pub(crate) fn operation(shared: &Shared, name: &str) -> HttpResponse {
    poll_operation(&mut shared.lock(), name).map_or_else(operation_not_found, ok_json)
}

fn poll_operation(state: &mut FakeState, name: &str) -> Option<Value> {
    let operation = state.operations.get_mut(name)?;
    operation.polls_left = operation.polls_left.saturating_sub(1);
    let done = operation.polls_left == 0;
    let project = operation.project.clone();
    if done {
        mark_onboarded(state, &project);
    }
    Some(operation_json(name, done.then_some(project.as_str())))
}

/// Once onboarding finishes, `loadCodeAssist` reports the account as onboarded, as Google does.
fn mark_onboarded(state: &mut FakeState, project: &str) {
    state.load_code_assist = LoadCodeAssist::AlreadyOnboarded {
        project: project.to_owned(),
    };
}

fn operation_json(name: &str, done_project: Option<&str>) -> Value {
    match done_project {
        Some(project) => json!({
            "name": name,
            "done": true,
            "response": {
                "@type": "type.googleapis.com/google.cloud.gemini.v1.OnboardUserResponse",
                "cloudaicompanionProject": {"id": project, "name": project},
            },
        }),
        None => json!({"name": name, "done": false}),
    }
}

fn operation_not_found() -> HttpResponse {
    google_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Operation not found.")
}

fn ok_json(body: Value) -> HttpResponse {
    HttpResponse::Ok().json(body)
}
