//! Building one catalogue from the fleet: a walk over the credentials, once per change (a membership
//! change, a model-list fetch, a settings change), never per request.

use std::collections::HashMap;
use std::sync::Arc;

use super::fallback::{fallback_model, fallback_rank, FALLBACK_MODELS};
use super::quota_summary::QuotaTally;
use super::{CatalogueModel, Source};
use crate::config::Settings;
use crate::credentials::CredentialKind;
use crate::fleet::kind_select;
use crate::store::{CredentialInsight, ModelInfo};
use crate::upstream::model_alias::asked_model;

/// How many credential names one model keeps for the panel; the count covers the rest.
pub const MAX_NAMES: usize = 50;

/// One credential as the build reads it.
pub struct Member {
    pub name: Arc<str>,
    pub kind: CredentialKind,
    pub insight: Option<Arc<CredentialInsight>>,
}

/// Names of some credentials: the first [`MAX_NAMES`] and how many in all.
#[derive(Debug, Clone, Default)]
struct Names {
    first: Vec<Arc<str>>,
    count: usize,
}

impl Names {
    fn add(&mut self, name: &Arc<str>) {
        if self.first.len() < MAX_NAMES {
            self.first.push(name.clone());
        }
        self.count += 1;
    }

    fn extend(&mut self, other: &Names) {
        let room = MAX_NAMES.saturating_sub(self.first.len());
        self.first.extend(other.first.iter().take(room).cloned());
        self.count += other.count;
    }
}

/// What the credentials' lists say of one model so far.
#[derive(Debug, Default)]
struct Listed {
    by_kind: [Names; CredentialKind::ALL.len()],
    display_name: Option<String>,
    input_token_limit: Option<u64>,
    output_token_limit: Option<u64>,
    methods: Vec<String>,
    thinking: Option<bool>,
}

fn kind_index(kind: CredentialKind) -> usize {
    kind.index()
}

fn max_of(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    a.max(b)
}

impl Listed {
    fn add(&mut self, name: &Arc<str>, kind: CredentialKind, info: &ModelInfo) {
        if let Some(names) = self.by_kind.get_mut(kind_index(kind)) {
            names.add(name);
        }
        if self.display_name.is_none() {
            self.display_name.clone_from(&info.display_name);
        }
        // Credentials may be on different tiers; the largest limit any of them reports is the model's.
        self.input_token_limit = max_of(self.input_token_limit, info.input_token_limit);
        self.output_token_limit = max_of(self.output_token_limit, info.output_token_limit);
        for method in &info.methods {
            if !self.methods.contains(method) {
                self.methods.push(method.clone());
            }
        }
        self.thinking = match (self.thinking, info.thinking) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (known, None) | (None, known) => known,
            (Some(false), Some(false)) => Some(false),
        };
    }
}

/// The walk's result before it becomes a catalogue.
#[derive(Default)]
struct Walk {
    listed: HashMap<String, Listed>,
    quota: HashMap<String, QuotaTally>,
    /// Credentials with no list, per kind: they serve any model.
    open: [Names; 3],
    /// Every credential, per kind (a `BASE_MODELS` model is served by all of them).
    all: [Names; 3],
}

fn walk(members: &[Member], settings: &Settings, now: i64) -> Walk {
    let live = settings.model_refresh_seconds > 0;
    let mut walk = Walk::default();
    for member in members {
        let k = kind_index(member.kind);
        if let Some(all) = walk.all.get_mut(k) {
            all.add(&member.name);
        }
        let insight = member.insight.as_deref();
        if let Some(insight) = insight {
            let mut seen: Vec<&str> = Vec::new();
            for bucket in &insight.quota {
                let id = asked_model(&settings.model_aliases, member.kind, &bucket.model)
                    .unwrap_or(&bucket.model);
                if !seen.contains(&id) {
                    seen.push(id);
                    walk.quota
                        .entry(id.to_string())
                        .or_default()
                        .add(bucket, now);
                }
            }
        }
        let models = insight
            .and_then(|i| i.models.as_deref())
            .filter(|m| live && !m.is_empty());
        let Some(models) = models else {
            if let Some(open) = walk.open.get_mut(k) {
                open.add(&member.name);
            }
            continue;
        };
        // Embedding, image and audio-only models cannot answer a chat; a list that says so is believed.
        let generates = |info: &&ModelInfo| {
            info.methods.is_empty() || info.methods.iter().any(|m| m == "generateContent")
        };
        for info in models.iter().filter(generates) {
            let id =
                asked_model(&settings.model_aliases, member.kind, &info.id).unwrap_or(&info.id);
            match walk.listed.get_mut(id) {
                Some(listed) => listed.add(&member.name, member.kind, info),
                None => {
                    let mut listed = Listed::default();
                    listed.add(&member.name, member.kind, info);
                    walk.listed.insert(id.to_string(), listed);
                }
            }
        }
    }
    walk
}

/// The models of the catalogue, in list order: the fallback list's order, then the live ids sorted,
/// then `BASE_MODELS` in their own order. `first_seen` keeps when each id was first built (unix
/// seconds), across builds.
pub fn build(
    members: &[Member],
    settings: &Settings,
    now: i64,
    first_seen: &mut HashMap<String, i64>,
) -> (Vec<CatalogueModel>, bool) {
    let walk = walk(members, settings, now);
    let open_count: usize = walk.open.iter().map(|n| n.count).sum();
    // The fallback list speaks for credentials that told nothing (and for an empty fleet).
    let with_fallback = members.is_empty() || open_count > 0;
    let mut ids: Vec<(Source, String)> = Vec::new();
    let mut push = |source: Source, id: &str| {
        if !id.is_empty() && !ids.iter().any(|(_, known)| known == id) {
            ids.push((source, id.to_string()));
        }
    };
    let mut live_ids: Vec<&String> = walk.listed.keys().collect();
    live_ids.sort_unstable();
    for id in live_ids {
        push(Source::Live, id);
    }
    if with_fallback {
        for model in FALLBACK_MODELS {
            push(Source::Fallback, model.id);
        }
    }
    for id in &settings.base_models {
        push(Source::BaseModels, id.trim());
    }
    // Stable: the fallback list's ids in its order, then other live ids (sorted above), then the
    // remaining `BASE_MODELS` in the configured order.
    let unranked = FALLBACK_MODELS.len();
    ids.sort_by_key(|(source, id)| {
        let rank = fallback_rank(id);
        (rank == unranked && *source == Source::BaseModels, rank)
    });

    let mut models = Vec::with_capacity(ids.len());
    for (source, id) in &ids {
        let (source, id) = (*source, id.as_str());
        let serving = kind_select::Serving::of(settings, id);
        let in_base = settings.base_models.iter().any(|b| b.trim() == id);
        let listed = walk.listed.get(id);
        let mut names = Names::default();
        let mut kinds = Vec::new();
        for kind in CredentialKind::ALL {
            if !serving.kind(kind) {
                continue;
            }
            let k = kind_index(kind);
            let before = names.count;
            if in_base {
                if let Some(all) = walk.all.get(k) {
                    names.extend(all);
                }
            } else {
                if let Some(by_kind) = listed.and_then(|l| l.by_kind.get(k)) {
                    names.extend(by_kind);
                }
                if let Some(open) = walk.open.get(k) {
                    names.extend(open);
                }
            }
            if names.count > before {
                kinds.push(kind);
            }
        }
        if source == Source::Live && names.count == 0 {
            // Listed only by credentials whose kind `*_MODELS` excludes it: nothing can serve it.
            continue;
        }
        let fallback = fallback_model(id);
        let first = *first_seen.entry(id.to_string()).or_insert(now);
        models.push(CatalogueModel {
            id: id.to_string(),
            source,
            kinds,
            credentials: names.first,
            credential_count: names.count,
            display_name: listed.and_then(|l| l.display_name.clone()),
            input_token_limit: listed
                .and_then(|l| l.input_token_limit)
                .or(fallback.map(|f| f.input_token_limit)),
            output_token_limit: listed
                .and_then(|l| l.output_token_limit)
                .or(fallback.map(|f| f.output_token_limit)),
            methods: listed.map(|l| l.methods.clone()).unwrap_or_default(),
            thinking: listed.and_then(|l| l.thinking),
            first_seen: first,
            quota: walk
                .quota
                .get(id)
                .map(QuotaTally::summary)
                .unwrap_or_default(),
        });
    }
    let open = members.is_empty() || open_count > 0;
    (models, open)
}
