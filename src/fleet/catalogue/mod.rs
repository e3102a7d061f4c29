//! The live model catalogue: which models the pool serves, built from what each credential's model list
//! says (published by the credential scout in its `LiveCredential`), the built-in fallback list and
//! `BASE_MODELS`. Every model list of the gateway reads it, the request path reads a model's limits and
//! learned thinking levels from it, and the panel shows it.
//!
//! It is built once per change — a membership change, a settings change, a model-list fetch (the scout
//! calls [`CatalogueView::rebuild`]) — and read as an immutable snapshot: a list request never walks the
//! fleet. What must outlive a rebuild (when each model was first seen, the thinking levels learned from
//! Google's refusals) lives beside the snapshot, in memory.

mod build;
mod closest;
mod fallback;
mod quota_summary;
mod serves;
pub mod thinking_levels;

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use arc_swap::ArcSwap;
use serde::Serialize;

pub use build::{Member, MAX_NAMES};
pub use closest::{closest_ids, edit_distance};
pub use fallback::{FallbackModel, FALLBACK_MODELS};
pub use quota_summary::QuotaSummary;
pub use serves::lists;
use thinking_levels::{LearnedLevels, Refusal, ThinkingLevel};

use super::view::{FleetSnapshot, FleetView};
use crate::config::Settings;
use crate::credentials::CredentialKind;

/// Where a model of the catalogue comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A credential's model list names it.
    Live,
    /// The built-in list, for credentials that told nothing.
    Fallback,
    /// Only `BASE_MODELS` names it.
    BaseModels,
}

/// One model the pool serves.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogueModel {
    pub id: String,
    pub source: Source,
    /// The kinds of the credentials that serve it.
    pub kinds: Vec<CredentialKind>,
    /// The first [`MAX_NAMES`] credentials that serve it.
    pub credentials: Vec<Arc<str>>,
    pub credential_count: usize,
    pub display_name: Option<String>,
    pub input_token_limit: Option<u64>,
    pub output_token_limit: Option<u64>,
    /// `supportedGenerationMethods`; empty when no list said.
    pub methods: Vec<String>,
    /// Whether the model thinks, when a list said.
    pub thinking: Option<bool>,
    /// Unix seconds of the first build that had it (in this process).
    pub first_seen: i64,
    /// The credentials' quota for it.
    pub quota: QuotaSummary,
}

/// The catalogue at one moment.
#[derive(Debug)]
pub struct Catalogue {
    models: Vec<CatalogueModel>,
    index: HashMap<String, usize>,
    /// Some credential serves any model (it has no list, the live catalogue is off, or the fleet is
    /// empty), so a model outside the list may still be served.
    open: bool,
    /// What it was built from, to know when it is stale without keeping either alive. The snapshot
    /// only as an identity, whatever handle its slots carry.
    fleet: Weak<dyn Any + Send + Sync>,
    settings: Weak<Settings>,
}

impl Default for Catalogue {
    fn default() -> Self {
        Self::new(Vec::new(), false)
    }
}

impl Catalogue {
    fn new(models: Vec<CatalogueModel>, open: bool) -> Self {
        let index = models
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id.clone(), i))
            .collect();
        Self {
            models,
            index,
            open,
            fleet: Weak::<()>::new(),
            settings: Weak::new(),
        }
    }

    /// In list order.
    pub fn models(&self) -> &[CatalogueModel] {
        &self.models
    }

    pub fn get(&self, id: &str) -> Option<&CatalogueModel> {
        self.models.get(*self.index.get(id)?)
    }

    /// The base ids, in list order.
    pub fn ids(&self) -> Vec<String> {
        self.models.iter().map(|m| m.id.clone()).collect()
    }

    /// Whether some credential may serve `id`: it is listed, or a credential serves anything.
    pub fn may_serve(&self, id: &str) -> bool {
        self.open || self.index.contains_key(id)
    }

    /// The model's `outputTokenLimit`, when known.
    pub fn output_limit(&self, id: &str) -> Option<u64> {
        self.get(id).and_then(|m| m.output_token_limit)
    }

    /// Up to three listed ids nearest to `model`.
    pub fn closest(&self, model: &str) -> Vec<String> {
        closest_ids(model, self.models.iter().map(|m| m.id.as_str()), 3)
    }
}

/// The fleet's members as the build reads them.
pub fn members<A>(fleet: &FleetSnapshot<A>) -> Vec<Member> {
    fleet
        .slots()
        .iter()
        .map(|slot| Member {
            name: slot.name.clone(),
            kind: slot.live.status().kind,
            insight: slot.live.insight(),
        })
        .collect()
}

/// The published catalogue and what survives its rebuilds. Shared in `AppState` as `catalogue`.
#[derive(Default)]
pub struct CatalogueView {
    current: ArcSwap<Catalogue>,
    /// When each id was first seen; held while building, so builds run one at a time.
    first_seen: Mutex<HashMap<String, i64>>,
    /// Thinking levels learned per model (copy on write: learned rarely, read per request).
    thinking: ArcSwap<HashMap<String, LearnedLevels>>,
    learning: Mutex<()>,
}

impl CatalogueView {
    /// The catalogue as last built (possibly before the latest change; see [`Self::fresh`]).
    pub fn snapshot(&self) -> Arc<Catalogue> {
        self.current.load_full()
    }

    /// Builds the catalogue from `fleet` and `settings` and publishes it. `now`: unix seconds.
    pub fn rebuild<A: Send + Sync + 'static>(
        &self,
        fleet: &Arc<FleetSnapshot<A>>,
        settings: &Arc<Settings>,
        now: i64,
    ) -> Arc<Catalogue> {
        let mut first_seen = self
            .first_seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.build_locked(fleet, settings, now, &mut first_seen)
    }

    fn build_locked<A: Send + Sync + 'static>(
        &self,
        fleet: &Arc<FleetSnapshot<A>>,
        settings: &Arc<Settings>,
        now: i64,
        first_seen: &mut HashMap<String, i64>,
    ) -> Arc<Catalogue> {
        let (models, open) = build::build(&members(fleet), settings, now, first_seen);
        let mut catalogue = Catalogue::new(models, open);
        let built_from: Weak<FleetSnapshot<A>> = Arc::downgrade(fleet);
        catalogue.fleet = built_from;
        catalogue.settings = Arc::downgrade(settings);
        let catalogue = Arc::new(catalogue);
        self.current.store(catalogue.clone());
        catalogue
    }

    /// The catalogue for a model list: rebuilt first when the fleet's membership or the settings
    /// changed since the last build (one walk per change; a reader that finds another build under
    /// way takes the current snapshot rather than wait).
    pub fn fresh<A: Send + Sync + 'static>(
        &self,
        fleet: &FleetView<A>,
        settings: &Arc<Settings>,
        now: i64,
    ) -> Arc<Catalogue> {
        let current = self.snapshot();
        let snapshot = fleet.snapshot();
        let same_fleet = std::ptr::eq(
            current.fleet.as_ptr().cast::<()>(),
            Arc::as_ptr(&snapshot).cast::<()>(),
        );
        let same_settings = std::ptr::eq(current.settings.as_ptr(), Arc::as_ptr(settings));
        if same_fleet && same_settings {
            return current;
        }
        match self.first_seen.try_lock() {
            Ok(mut first_seen) => self.build_locked(&snapshot, settings, now, &mut first_seen),
            Err(_) => current,
        }
    }

    /// The level to send instead of `asked` for `model`, when a refusal taught one.
    pub fn thinking_substitute(&self, model: &str, asked: ThinkingLevel) -> Option<ThinkingLevel> {
        self.thinking.load().get(model)?.substitute(asked)
    }

    /// What `model` taught about its thinking levels, if anything.
    pub fn thinking_levels(&self, model: &str) -> Option<LearnedLevels> {
        self.thinking.load().get(model).cloned()
    }

    /// Remembers that `model` refused a level and takes `accepted` instead.
    pub fn learn_thinking(&self, model: &str, refusal: &Refusal, accepted: ThinkingLevel) {
        let _writer = self.learning.lock().unwrap_or_else(PoisonError::into_inner);
        let mut learned = HashMap::clone(&self.thinking.load());
        learned
            .entry(model.to_string())
            .or_default()
            .learn(refusal, accepted);
        self.thinking.store(Arc::new(learned));
    }
}

#[cfg(test)]
mod tests;
