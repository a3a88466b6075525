//! Process-wide named stores, shared by every `worker_threads` worker (each loads this same
//! library, so its statics are shared). The first opener's options win; a later open with
//! different options is refused. The store lives while any handle holds it: closing one
//! handle (or terminating its worker) leaves the others working.

use crate::notify::Notifier;
use crate::sweeper::Sweeper;
use localcached_core::Store;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

pub struct SharedStore {
    pub store: Arc<Store>,
    fingerprint: String,
    /// One per open handle; the sweeper wakes each whose sink has removals.
    pub notifiers: Arc<Mutex<Vec<Notifier>>>,
    sweeper: Mutex<Option<Sweeper>>,
}

impl Drop for SharedStore {
    /// The last handle is gone: stop sweeping and free every entry.
    fn drop(&mut self) {
        if let Some(mut sweeper) = self.sweeper.lock().unwrap_or_else(|e| e.into_inner()).take() {
            sweeper.stop();
        }
        self.store.clear();
    }
}

static REGISTRY: Mutex<Vec<(String, Weak<SharedStore>)>> = Mutex::new(Vec::new());

pub enum Opened {
    Existing(Arc<SharedStore>),
    Created(Arc<SharedStore>),
}

/// Finds the live store called `name`, or creates it with `create`. `Err` names the
/// mismatch when the store exists with other options.
pub fn open(
    name: &str,
    fingerprint: String,
    sweep_interval: Option<Duration>,
    create: impl FnOnce() -> Result<Store, String>,
) -> Result<Opened, String> {
    let mut registry = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    registry.retain(|(_, weak)| weak.strong_count() > 0);
    if let Some(existing) = registry.iter().find(|(n, _)| n == name).and_then(|(_, w)| w.upgrade()) {
        if existing.fingerprint != fingerprint {
            return Err(format!(
                "the shared store '{name}' is already open with other options ({}); open it with the same options, or use another name",
                existing.fingerprint
            ));
        }
        return Ok(Opened::Existing(existing));
    }
    let store = Arc::new(create()?);
    let notifiers = Arc::new(Mutex::new(Vec::new()));
    let sweeper = match sweep_interval {
        Some(interval) => Some(Sweeper::start(Arc::clone(&store), interval, Arc::clone(&notifiers)).map_err(|e| format!("could not start the sweeper thread: {e}"))?),
        None => None,
    };
    let shared = Arc::new(SharedStore { store, fingerprint, notifiers, sweeper: Mutex::new(sweeper) });
    registry.push((name.to_string(), Arc::downgrade(&shared)));
    Ok(Opened::Created(shared))
}
