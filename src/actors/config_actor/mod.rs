//! `ConfigActor` owns the configuration layers at run time. A save from the panel is validated, written
//! to the store, merged, re-resolved and swapped into [`SharedSettings`] in one step (`AtomicResponse`,
//! so two saves never interleave). It also polls the store, so a save on another instance sharing the
//! store reaches this one within a second; env-locked keys stay locked on each instance.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use serde_json::{json, Map, Value};

pub mod messages;

use self::messages::{ConfigSaveError, GetConfig, SaveConfig};
use crate::config::{keys, url_mask, ConfigLayers, SharedSettings, KEYS};
use crate::store::Store;

const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// What `/config/get` shows instead of a secret; saving it back leaves the secret unchanged.
pub const SECRET_PLACEHOLDER: &str = "********";

pub struct ConfigActor {
    layers: ConfigLayers,
    settings: SharedSettings,
    store: Arc<dyn Store>,
}

impl ConfigActor {
    pub fn new(layers: ConfigLayers, settings: SharedSettings, store: Arc<dyn Store>) -> Self {
        Self {
            layers,
            settings,
            store,
        }
    }

    fn apply_stored(&mut self, stored: &Map<String, Value>) {
        for msg in self.layers.set_stored(stored) {
            log::warn!("ignoring stored config value: {msg}");
        }
        match self.layers.resolve() {
            Ok(settings) => {
                crate::logging::secrets().set(vec![
                    settings.api_password().to_string(),
                    settings.panel_password().to_string(),
                ]);
                self.settings.replace(settings);
            }
            Err(e) => log::error!("configuration no longer resolves: {e}"),
        }
    }
}

impl Actor for ConfigActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(POLL_INTERVAL, |act, ctx| {
            let store = act.store.clone();
            ctx.spawn(
                async move { store.load_config().await }
                    .into_actor(act)
                    .map(|result, act, _| {
                        if let Ok(stored) = result {
                            let known: Map<String, Value> = stored
                                .into_iter()
                                .filter(|(k, _)| keys::find(k).is_some())
                                .collect();
                            if known != act.layers.stored {
                                log::info!("configuration changed in the store; applying");
                                act.apply_stored(&known);
                            }
                        }
                    }),
            );
        });
    }
}

impl Handler<GetConfig> for ConfigActor {
    type Result = MessageResult<GetConfig>;

    fn handle(&mut self, _: GetConfig, _: &mut Self::Context) -> Self::Result {
        let merged = self.layers.merged();
        let mut config = Map::new();
        let mut docs = Map::new();
        for def in KEYS {
            let value = merged.get(def.key).cloned().unwrap_or(Value::Null);
            let shown = if def.kind == keys::Kind::Secret && !value.is_null() {
                json!(SECRET_PLACEHOLDER)
            } else {
                url_mask::masked_value(&value)
            };
            config.insert(def.key.into(), shown);
            docs.insert(
                def.key.into(),
                json!({"env": def.env, "doc": def.doc, "hot": def.hot, "secret": def.kind == keys::Kind::Secret}),
            );
        }
        let locked: Vec<String> = self.layers.env_locked().into_iter().collect();
        MessageResult(json!({
            "config": config,
            "env_locked": locked,
            "hot_keys": KEYS.iter().filter(|k| k.hot).map(|k| k.key).collect::<Vec<_>>(),
            "restart_keys": KEYS.iter().filter(|k| !k.hot).map(|k| k.key).collect::<Vec<_>>(),
            "keys": docs,
        }))
    }
}

impl Handler<SaveConfig> for ConfigActor {
    type Result = AtomicResponse<Self, Result<Value, ConfigSaveError>>;

    fn handle(&mut self, msg: SaveConfig, _: &mut Self::Context) -> Self::Result {
        let locked: BTreeSet<String> = self.layers.env_locked();
        let current = self.layers.merged();
        let mut changes = Map::new();
        let mut skipped = Vec::new();
        let mut errors = Vec::new();
        for (key, value) in msg.changes {
            let Some(def) = keys::find(&key) else {
                errors.push(format!("{key}: unknown configuration key"));
                continue;
            };
            // The placeholder means "unchanged", whether or not the key is locked.
            if def.kind == keys::Kind::Secret && value.as_str() == Some(SECRET_PLACEHOLDER) {
                continue;
            }
            // So is a URL whose user name and password came back masked.
            if url_mask::is_masked_echo(&value, current.get(def.key)) {
                continue;
            }
            if locked.contains(&key) {
                skipped.push(key);
                continue;
            }
            match keys::validate(def, &value) {
                Ok(v) => {
                    changes.insert(key, v);
                }
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            let err = ConfigSaveError::Invalid(errors.join("; "));
            return AtomicResponse::new(Box::pin(async move { Err(err) }.into_actor(self)));
        }
        let merged_before = self.layers.merged();
        let store = self.store.clone();
        let to_save = changes.clone();
        let fut = async move { store.save_config(&to_save).await }
            .into_actor(self)
            .map(move |result, act, _| {
                if let Err(e) = result {
                    log::error!("saving configuration failed: {e}");
                    return Err(ConfigSaveError::Storage);
                }
                let mut stored = act.layers.stored.clone();
                for (k, v) in &changes {
                    if v.is_null() {
                        stored.remove(k);
                    } else {
                        stored.insert(k.clone(), v.clone());
                    }
                }
                act.apply_stored(&stored);
                let merged_after = act.layers.merged();
                let changed: Vec<&'static KeyDefRef> = KEYS
                    .iter()
                    .filter(|d| merged_before.get(d.key) != merged_after.get(d.key))
                    .collect();
                let hot: Vec<&str> = changed.iter().filter(|d| d.hot).map(|d| d.key).collect();
                let restart: Vec<&str> = changed.iter().filter(|d| !d.hot).map(|d| d.key).collect();
                log::info!("configuration saved: {} key(s) changed", changed.len());
                let saved: Map<String, Value> = changes
                    .iter()
                    .map(|(k, v)| {
                        let secret = keys::find(k).is_some_and(|d| d.kind == keys::Kind::Secret);
                        (
                            k.clone(),
                            if secret {
                                json!(SECRET_PLACEHOLDER)
                            } else {
                                url_mask::masked_value(v)
                            },
                        )
                    })
                    .collect();
                Ok(json!({
                    "message": "configuration saved",
                    "saved_config": saved,
                    "hot_updated": hot,
                    "restart_required": restart,
                    "env_locked_skipped": skipped,
                }))
            });
        AtomicResponse::new(Box::pin(fut))
    }
}

type KeyDefRef = crate::config::KeyDef;
