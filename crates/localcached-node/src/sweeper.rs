//! The TTL sweeper thread: wakes every interval, sweeps, and asks the JS thread (through a
//! thread-safe function) to drain the removals it queued. It waits on a condvar, so
//! stopping it is immediate rather than a sleep away.

use crate::notify::Notifier;
use localcached_core::Store;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub struct Sweeper {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Sweeper {
    /// `notifiers`: the handles to wake when a sweep queued removals for them (one for a
    /// private store, one per open handle of a shared store).
    pub fn start(store: Arc<Store>, interval: Duration, notifiers: Arc<Mutex<Vec<Notifier>>>) -> std::io::Result<Sweeper> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let thread = std::thread::Builder::new().name("localcached-sweeper".into()).spawn(move || {
            let (lock, wake) = &*signal;
            loop {
                {
                    let stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
                    let (stopped, _) = wake
                        .wait_timeout_while(stopped, interval, |stopped| !*stopped)
                        .unwrap_or_else(|e| e.into_inner());
                    if *stopped {
                        return;
                    }
                }
                // A panic here must not unwind out of the thread silently forever; the
                // store's own code does not panic, and if it did the next tick retries.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    if store.sweep() > 0 {
                        for notifier in notifiers.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                            notifier.notify();
                        }
                    }
                }));
            }
        })?;
        Ok(Sweeper { stop, thread: Some(thread) })
    }

    /// Stops the thread and waits for it, so no sweep or notification happens after.
    pub fn stop(&mut self) {
        {
            let (lock, wake) = &*self.stop;
            *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
            wake.notify_all();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        self.stop();
    }
}
