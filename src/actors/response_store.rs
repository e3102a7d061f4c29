//! `ResponseStore` owns the recent `/v1/responses` answers that `previous_response_id` and
//! `GET /v1/responses/{id}` refer to: each the conversation so far and the response object.
//!
//! A conversation is a chain: each answer keeps only its own input and output items and points at the
//! conversation it continued, so a long thread costs memory once, not once per turn. A continued
//! answer keeps its ancestors alive even after their own entries expired.
//!
//! Kept in this process's memory, bounded by age (`responses_store_ttl`), count
//! (`responses_store_max`) and bytes (`responses_store_max_mb`), oldest evicted first; all are read at
//! each message, so a panel change applies at once. An entry's bytes are its JSON size including the
//! whole chain it keeps alive, so shared ancestors count once per descendant: the sum overstates what
//! is held, never understates it. A key that is deleted or expires loses its stored answers
//! ([`ForgetOwner`]). The store is per instance: behind a load balancer, a client that continues with
//! `previous_response_id` needs sticky routing, or sends the full history with `store: false` (as Codex
//! does). Only the caller that created a response (the same `sk-` key, or the password) can read it.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use actix::prelude::*;
use serde_json::Value;

use crate::clock::Clock;
use crate::config::SharedSettings;
use crate::json_size::json_len;

/// One answer's items (its input, then its output), after the conversation it continued.
#[derive(Debug)]
pub struct Conversation {
    parent: Option<Arc<Conversation>>,
    items: Vec<Value>,
    /// JSON bytes of these items and of every ancestor's.
    chain_bytes: usize,
}

impl Conversation {
    pub fn new(parent: Option<Arc<Conversation>>, items: Vec<Value>) -> Self {
        let own: usize = items.iter().map(json_len).sum();
        let chain_bytes = parent
            .as_deref()
            .map_or(0, |p| p.chain_bytes)
            .saturating_add(own);
        Self {
            parent,
            items,
            chain_bytes,
        }
    }

    /// Every item of the conversation, oldest first.
    pub fn items(&self) -> Vec<Value> {
        let mut chain = vec![self];
        let mut node = self;
        while let Some(parent) = node.parent.as_deref() {
            chain.push(parent);
            node = parent;
        }
        chain
            .iter()
            .rev()
            .flat_map(|node| node.items.iter().cloned())
            .collect()
    }
}

/// Keep a finished response. `owner` identifies the caller (never shown anywhere).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SaveResponse {
    pub id: String,
    pub owner: String,
    pub conversation: Conversation,
    pub response: Value,
}

/// The conversation of a stored response, if it exists, is fresh and belongs to `owner`.
#[derive(Message)]
#[rtype(result = "Option<Arc<Conversation>>")]
pub struct LoadConversation {
    pub id: String,
    pub owner: String,
}

/// The response object of a stored response, under the same conditions.
#[derive(Message)]
#[rtype(result = "Option<Arc<Value>>")]
pub struct LoadResponse {
    pub id: String,
    pub owner: String,
}

/// The owner name of answers stored by the `sk-` key `key`.
pub fn key_owner(key: &str) -> String {
    format!("key:{key}")
}

/// Drop every stored response of `owner` (its key was deleted or has expired).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ForgetOwner {
    pub owner: String,
}

/// How many responses are stored and their bytes (as counted against `responses_store_max_mb`).
#[derive(Message)]
#[rtype(result = "(usize, usize)")]
pub struct StoredSize;

struct Entry {
    owner: String,
    bytes: usize,
    expires_at: i64,
    conversation: Arc<Conversation>,
    response: Arc<Value>,
}

pub struct ResponseStore {
    settings: SharedSettings,
    clock: Clock,
    entries: HashMap<String, Entry>,
    /// Ids in insertion order, for eviction by count; may hold ids already removed.
    order: VecDeque<String>,
    /// Sum of the entries' bytes, kept up to date on every insert and removal.
    bytes: usize,
}

impl ResponseStore {
    pub fn new(settings: SharedSettings, clock: Clock) -> Self {
        Self {
            settings,
            clock,
            entries: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
        }
    }

    fn prune(&mut self) {
        let now = self.clock.now();
        let settings = self.settings.current();
        let max = settings.responses_store_max;
        let max_bytes =
            usize::try_from(settings.responses_store_max_mb.saturating_mul(1024 * 1024))
                .unwrap_or(usize::MAX);
        let mut freed = 0usize;
        self.entries.retain(|_, entry| {
            let keep = entry.expires_at > now;
            if !keep {
                freed = freed.saturating_add(entry.bytes);
            }
            keep
        });
        self.bytes = self.bytes.saturating_sub(freed);
        while self.entries.len() > max || self.bytes > max_bytes {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(entry) = self.entries.remove(&oldest) {
                self.bytes = self.bytes.saturating_sub(entry.bytes);
            }
        }
        let entries = &self.entries;
        self.order.retain(|id| entries.contains_key(id));
    }

    fn entry(&mut self, id: &str, owner: &str) -> Option<&Entry> {
        self.prune();
        self.entries.get(id).filter(|entry| entry.owner == owner)
    }
}

impl Actor for ResponseStore {
    type Context = Context<Self>;
}

impl Handler<SaveResponse> for ResponseStore {
    type Result = ();

    fn handle(&mut self, msg: SaveResponse, _: &mut Self::Context) {
        let ttl = i64::try_from(self.settings.current().responses_store_ttl).unwrap_or(i64::MAX);
        let bytes = msg
            .conversation
            .chain_bytes
            .saturating_add(json_len(&msg.response));
        let cap = usize::try_from(
            self.settings
                .current()
                .responses_store_max_mb
                .saturating_mul(1024 * 1024),
        )
        .unwrap_or(usize::MAX);
        // One answer over the whole cap is not kept, rather than pushing every other one out for it.
        if bytes > cap {
            return;
        }
        let entry = Entry {
            owner: msg.owner,
            bytes,
            expires_at: self.clock.now().saturating_add(ttl),
            conversation: Arc::new(msg.conversation),
            response: Arc::new(msg.response),
        };
        self.bytes = self.bytes.saturating_add(bytes);
        match self.entries.insert(msg.id.clone(), entry) {
            None => self.order.push_back(msg.id),
            Some(replaced) => self.bytes = self.bytes.saturating_sub(replaced.bytes),
        }
        self.prune();
    }
}

impl Handler<ForgetOwner> for ResponseStore {
    type Result = ();

    fn handle(&mut self, msg: ForgetOwner, _: &mut Self::Context) {
        let mut freed = 0usize;
        self.entries.retain(|_, entry| {
            let keep = entry.owner != msg.owner;
            if !keep {
                freed = freed.saturating_add(entry.bytes);
            }
            keep
        });
        self.bytes = self.bytes.saturating_sub(freed);
        self.prune();
    }
}

impl Handler<StoredSize> for ResponseStore {
    type Result = MessageResult<StoredSize>;

    fn handle(&mut self, _: StoredSize, _: &mut Self::Context) -> Self::Result {
        self.prune();
        MessageResult((self.entries.len(), self.bytes))
    }
}

impl Handler<LoadConversation> for ResponseStore {
    type Result = Option<Arc<Conversation>>;

    fn handle(&mut self, msg: LoadConversation, _: &mut Self::Context) -> Self::Result {
        self.entry(&msg.id, &msg.owner)
            .map(|entry| entry.conversation.clone())
    }
}

impl Handler<LoadResponse> for ResponseStore {
    type Result = Option<Arc<Value>>;

    fn handle(&mut self, msg: LoadResponse, _: &mut Self::Context) -> Self::Result {
        self.entry(&msg.id, &msg.owner)
            .map(|entry| entry.response.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigLayers;
    use serde_json::json;

    fn settings(ttl: u64, max: usize) -> SharedSettings {
        let mut settings = ConfigLayers::load(None, &Default::default())
            .unwrap()
            .resolve()
            .unwrap();
        settings.responses_store_ttl = ttl;
        settings.responses_store_max = max;
        SharedSettings::new(settings)
    }

    fn save(id: &str, owner: &str) -> SaveResponse {
        SaveResponse {
            id: id.into(),
            owner: owner.into(),
            conversation: Conversation::new(None, vec![json!({"id": id})]),
            response: json!({"id": id}),
        }
    }

    fn load(id: &str, owner: &str) -> LoadConversation {
        LoadConversation {
            id: id.into(),
            owner: owner.into(),
        }
    }

    #[actix::test]
    async fn saved_responses_are_read_back_by_their_owner_only() {
        let store = ResponseStore::new(settings(60, 10), Clock::default()).start();
        store.send(save("r1", "k1")).await.unwrap();
        let items = store.send(load("r1", "k1")).await.unwrap().unwrap();
        assert_eq!(items.items(), vec![json!({"id": "r1"})]);
        assert!(store.send(load("r1", "k2")).await.unwrap().is_none());
        assert!(store.send(load("r9", "k1")).await.unwrap().is_none());
        let response = store
            .send(LoadResponse {
                id: "r1".into(),
                owner: "k1".into(),
            })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(*response, json!({"id": "r1"}));
    }

    #[test]
    fn a_conversation_lists_its_ancestors_first() {
        let first = Arc::new(Conversation::new(None, vec![json!(1), json!(2)]));
        let second = Arc::new(Conversation::new(Some(first), vec![json!(3)]));
        let third = Conversation::new(Some(second), vec![json!(4), json!(5)]);
        assert_eq!(
            third.items(),
            vec![json!(1), json!(2), json!(3), json!(4), json!(5)]
        );
    }

    #[actix::test]
    async fn the_store_stays_under_its_byte_cap_and_forgets_an_owner() {
        let mut s = ConfigLayers::load(None, &Default::default())
            .unwrap()
            .resolve()
            .unwrap();
        s.responses_store_max_mb = 1;
        let store = ResponseStore::new(SharedSettings::new(s), Clock::default()).start();
        let big = "x".repeat(300 * 1024);
        for i in 0..10 {
            let id = format!("r{i}");
            store
                .send(SaveResponse {
                    id: id.clone(),
                    owner: "o".into(),
                    conversation: Conversation::new(None, vec![json!({"text": big})]),
                    response: json!({"id": id}),
                })
                .await
                .unwrap();
            let (_, bytes) = store.send(StoredSize).await.unwrap();
            assert!(bytes <= 1024 * 1024, "{bytes}");
        }
        assert!(store.send(load("r0", "o")).await.unwrap().is_none());
        assert!(store.send(load("r9", "o")).await.unwrap().is_some());
        let huge = "x".repeat(2 * 1024 * 1024);
        store
            .send(SaveResponse {
                id: "huge".into(),
                owner: "o".into(),
                conversation: Conversation::new(None, vec![json!({"text": huge})]),
                response: json!({"id": "huge"}),
            })
            .await
            .unwrap();
        assert!(store.send(load("huge", "o")).await.unwrap().is_none());
        assert!(
            store.send(load("r9", "o")).await.unwrap().is_some(),
            "one answer over the cap pushed nothing out"
        );
        store.send(save("mine", "k")).await.unwrap();
        store.send(ForgetOwner { owner: "o".into() }).await.unwrap();
        assert!(store.send(load("r9", "o")).await.unwrap().is_none());
        assert!(store.send(load("mine", "k")).await.unwrap().is_some());
        assert_eq!(store.send(StoredSize).await.unwrap().0, 1);
    }

    #[actix::test]
    async fn entries_expire_and_the_oldest_goes_first() {
        let clock = Clock::default();
        let store = ResponseStore::new(settings(60, 2), clock.clone()).start();
        for id in ["a", "b", "c"] {
            store.send(save(id, "o")).await.unwrap();
        }
        assert!(store.send(load("a", "o")).await.unwrap().is_none());
        assert!(store.send(load("b", "o")).await.unwrap().is_some());
        assert!(store.send(load("c", "o")).await.unwrap().is_some());
        clock.advance(61);
        assert!(store.send(load("c", "o")).await.unwrap().is_none());
    }
}
