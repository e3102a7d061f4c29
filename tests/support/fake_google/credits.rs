//! Google One AI credits of a Code Assist project (`set_credits`).
//!
//! - `loadCodeAssist` reports them as `paidTier.availableCredits` for the project the call names:
//!   the body's `cloudaicompanionProject`, else `metadata.duetProject`, else the project the scripted
//!   onboarding state answers with (the fake plays one account, so that is the caller's project).
//! - A generate / stream call whose envelope carries `"enabled_credit_types": ["GOOGLE_ONE_AI"]`, for
//!   a project with credits left, costs one credit; its answer's envelope (the last one of a stream)
//!   carries `consumedCredits` and `remainingCredits`. A reply scripted as a 429 (free quota out) is
//!   then served as the default answer, which is what credits buy. With no credits left, such a 429
//!   becomes Google's `INSUFFICIENT_G1_CREDITS_BALANCE`. Other errors cost nothing and pass unchanged;
//!   calls without `enabled_credit_types` never touch credits.

use serde_json::{json, Value};

use super::reply::{Reply, ReplyBody};
use super::state::FakeState;

pub const CREDIT_TYPE: &str = "GOOGLE_ONE_AI";

impl Reply {
    /// The 429 Code Assist answers when a call may spend credits and the account has none left.
    pub fn insufficient_credits(model: &str) -> Self {
        Self::error(
            429,
            json!({"error": {
                "code": 429,
                "message": "Your account does not have enough credits to use this model.",
                "status": "RESOURCE_EXHAUSTED",
                "details": [{
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "INSUFFICIENT_G1_CREDITS_BALANCE",
                    "domain": "cloudcode-pa.googleapis.com",
                    "metadata": {"model": model},
                }],
            }}),
        )
    }
}

/// `[{"creditType", "creditAmount"}]`, the amount as a decimal string as Google writes int64s.
pub(crate) fn credit_list(amount: i64) -> Value {
    json!([{"creditType": CREDIT_TYPE, "creditAmount": amount.to_string()}])
}

/// The project a `loadCodeAssist` body names, else `onboarded` (the scripted account's project).
pub(crate) fn load_project<'a>(body: &'a Value, onboarded: &'a str) -> &'a str {
    let named = |pointer: &str| {
        body.pointer(pointer)
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
    };
    named("/cloudaicompanionProject")
        .or_else(|| named("/metadata/duetProject"))
        .unwrap_or(onboarded)
}

fn credits_enabled(envelope: &Value) -> bool {
    envelope
        .get("enabled_credit_types")
        .and_then(Value::as_array)
        .is_some_and(|types| types.iter().any(|t| t.as_str() == Some(CREDIT_TYPE)))
}

/// The reply a Code Assist call gets once credits are accounted for, and the envelope fields that
/// report a spent credit (`None` when none was spent).
pub(crate) fn settle(
    state: &mut FakeState,
    envelope: &Value,
    project: &str,
    model: &str,
    reply: Reply,
) -> (Reply, Option<Value>) {
    if !credits_enabled(envelope) {
        return (reply, None);
    }
    let quota_out = matches!(reply.body, ReplyBody::Error { status: 429, .. });
    if matches!(reply.body, ReplyBody::Error { .. }) && !quota_out {
        return (reply, None);
    }
    let balance = state.credits.get(project).copied().unwrap_or(0);
    if balance <= 0 {
        let reply = if quota_out {
            Reply::insufficient_credits(model)
        } else {
            reply
        };
        return (reply, None);
    }
    let left = balance - 1;
    state.credits.insert(project.to_owned(), left);
    let reply = if quota_out {
        Reply::default_for_model(model)
    } else {
        reply
    };
    let fields = json!({"consumedCredits": credit_list(1), "remainingCredits": credit_list(left)});
    (reply, Some(fields))
}
