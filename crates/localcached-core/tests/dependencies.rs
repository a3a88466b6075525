mod common;
use common::*;
use localcached_core::{RemovalCause, Store};

fn set_dep(store: &Store, key: &str, deps: &[&str]) {
    let deps: Vec<&[u8]> = deps.iter().map(|d| d.as_bytes()).collect();
    store.set_with(key.as_bytes(), b"v", None, None, Some(&deps)).unwrap();
}

fn drained(store: &Store) -> Vec<(String, RemovalCause)> {
    let mut out = vec![];
    store.drain_removals(|r| out.push((String::from_utf8_lossy(r.key()).into_owned(), r.cause)));
    out
}

#[test]
fn invalidating_a_dependency_removes_its_dependents_and_reports_them() {
    let store = manual_store(1 << 24, 4);
    store.set_recording(true);
    store.set(b"db:users:1", b"row", None).unwrap();
    set_dep(&store, "api:profile:1", &["db:users:1"]);
    set_dep(&store, "api:feed:1", &["db:users:1", "db:posts:9"]);
    set_dep(&store, "api:other:1", &["db:users:2"]);
    assert!(store.invalidate(b"db:users:1").unwrap());
    assert!(!store.has(b"api:profile:1").unwrap());
    assert!(!store.has(b"api:feed:1").unwrap());
    assert!(store.has(b"api:other:1").unwrap());
    let mut removed = drained(&store);
    removed.sort();
    assert_eq!(removed, vec![("api:feed:1".into(), RemovalCause::Dependency), ("api:profile:1".into(), RemovalCause::Dependency)]);
    assert_eq!(store.stats().dependency_removals, 2);
    store.validate().unwrap();
}

#[test]
fn delete_replace_evict_and_expire_all_cascade() {
    let store = manual_store(1 << 24, 2);
    for (i, trigger) in ["delete", "replace", "expire", "evict"].iter().enumerate() {
        let dep = format!("src:t:{i}");
        store.set(dep.as_bytes(), b"v", Some(100)).unwrap();
        set_dep(&store, &format!("derived:t:{i}"), &[&dep]);
        match *trigger {
            "delete" => assert!(store.delete(dep.as_bytes()).unwrap()),
            "replace" => {
                store.set(dep.as_bytes(), b"new", None).unwrap();
                assert!(store.has(dep.as_bytes()).unwrap());
            }
            "expire" => {
                store.advance_clock(100);
                store.sweep();
            }
            _ => {
                let small = manual_store(2000, 1);
                small.set(b"src:t:x", &[0; 200], None).unwrap();
                set_dep(&small, "derived:t:x", &["src:t:x"]);
                small.get_with(b"derived:t:x", |_| ()).unwrap(); // the source is now least recently used
                for j in 0..10 {
                    small.set(format!("fill:t:{j}").as_bytes(), &[0; 100], None).unwrap();
                }
                assert!(!small.has(b"src:t:x").unwrap(), "the source was evicted");
                assert!(!small.has(b"derived:t:x").unwrap(), "and its dependent went with it");
                small.validate().unwrap();
                continue;
            }
        }
        assert!(!store.has(format!("derived:t:{i}").as_bytes()).unwrap(), "{trigger}");
    }
    store.validate().unwrap();
}

#[test]
fn a_chain_of_1000_goes_transitively_and_a_cycle_terminates() {
    let store = manual_store(1 << 26, 8);
    store.set(b"chain:k:0", b"root", None).unwrap();
    for i in 1..=1000 {
        set_dep(&store, &format!("chain:k:{i}"), &[&format!("chain:k:{}", i - 1)]);
    }
    store.invalidate(b"chain:k:0").unwrap();
    assert_eq!(store.stats().items_current, 0);
    assert_eq!(store.stats().dependency_removals, 1000);
    // A cycle: a depends on b, b on a.
    set_dep(&store, "cyc:k:a", &["cyc:k:b"]);
    set_dep(&store, "cyc:k:b", &["cyc:k:a"]);
    store.invalidate(b"cyc:k:a").unwrap();
    assert!(!store.has(b"cyc:k:b").unwrap());
    store.validate().unwrap();
}

#[test]
fn tags_are_dependencies_on_keys_that_are_never_stored() {
    let store = manual_store(1 << 24, 4);
    set_dep(&store, "page:p:1", &["tags:product:42"]);
    set_dep(&store, "page:p:2", &["tags:product:42", "tags:product:7"]);
    set_dep(&store, "page:p:3", &["tags:product:7"]);
    assert!(!store.invalidate(b"tags:product:42").unwrap(), "the tag itself was never stored");
    assert!(!store.has(b"page:p:1").unwrap() && !store.has(b"page:p:2").unwrap());
    assert!(store.has(b"page:p:3").unwrap());
    store.validate().unwrap();
}

#[test]
fn edges_are_charged_and_released_and_rewriting_drops_old_edges() {
    let store = manual_store(1 << 24, 1);
    store.set(b"a:b:plain", b"v", None).unwrap();
    let plain = store.bytes_current();
    set_dep(&store, "a:b:derived", &["a:b:src1", "a:b:src2"]);
    let with_edges = store.bytes_current();
    store.set(b"a:b:derived", b"v", None).unwrap(); // rewritten without dependencies
    assert!(store.bytes_current() < with_edges);
    store.invalidate(b"a:b:src1").unwrap();
    assert!(store.has(b"a:b:derived").unwrap(), "its old edges are gone");
    store.delete(b"a:b:derived").unwrap();
    assert_eq!(store.bytes_current(), plain);
    assert!(store.set_with(b"a:b:x", b"v", None, None, Some(&[b"not a key".as_slice()])).is_err());
    store.validate().unwrap();
}
