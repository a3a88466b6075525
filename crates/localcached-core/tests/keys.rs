use localcached_core::constants::MAX_KEY_BYTES;
use localcached_core::key::join_key;
use localcached_core::{validate_key, KeyProblem, KEY_RULE};

#[test]
fn accepts_keys_that_follow_the_rule() {
    for key in ["a:b:c", "orders:line_items:42", "svc-1:t.v2:Ab_9-.x", &format!("s:t:{}", "p".repeat(246))] {
        assert!(validate_key(key.as_bytes()).is_ok(), "{key}");
    }
    let parts = validate_key(b"shop:orders:7").unwrap();
    assert_eq!(parts.svc(b"shop:orders:7"), b"shop");
    assert_eq!(parts.table(b"shop:orders:7"), b"orders");
    assert_eq!(parts.pk(b"shop:orders:7"), b"7");
}

#[test]
fn rejects_keys_that_break_the_rule() {
    let cases: &[(&[u8], KeyProblem)] = &[
        (b"", KeyProblem::Empty),
        (b"a:b", KeyProblem::SegmentCount { found: 2 }),
        (b"abc", KeyProblem::SegmentCount { found: 1 }),
        (b"a:b:c:d", KeyProblem::SegmentCount { found: 4 }),
        (b":b:c", KeyProblem::EmptySegment { segment: 0 }),
        (b"a::c", KeyProblem::EmptySegment { segment: 1 }),
        (b"a:b:", KeyProblem::EmptySegment { segment: 2 }),
        (b"a:b c:d", KeyProblem::BadByte { offset: 3, byte: b' ' }),
        (b"a:b:\0", KeyProblem::BadByte { offset: 4, byte: 0 }),
        ("a:b:é".as_bytes(), KeyProblem::BadByte { offset: 4, byte: 0xc3 }),
        (b"a/b:c:d", KeyProblem::BadByte { offset: 1, byte: b'/' }),
    ];
    for (key, problem) in cases {
        assert_eq!(validate_key(key), Err(*problem), "{:?}", String::from_utf8_lossy(key));
    }
    let long = format!("s:t:{}", "p".repeat(247));
    assert_eq!(validate_key(long.as_bytes()), Err(KeyProblem::TooLong { len: 251 }));
}

#[test]
fn joins_parts_and_refuses_separators_inside_a_part() {
    let mut buf = [0u8; MAX_KEY_BYTES];
    assert_eq!(join_key(b"shop", b"orders", b"9", &mut buf).unwrap(), b"shop:orders:9");
    assert!(join_key(b"shop", b"or:ders", b"9", &mut buf).is_err());
    assert!(join_key(b"", b"orders", b"9", &mut buf).is_err());
    assert!(join_key(b"s", b"t", "p".repeat(300).as_bytes(), &mut buf).is_err());
}

#[test]
fn error_message_states_the_rule_and_shows_the_key() {
    let store = localcached_core::Store::new(Default::default()).unwrap();
    let err = store.set(b"bad key", b"v", None).unwrap_err();
    assert_eq!(err.code(), "InvalidKey");
    let text = err.to_string();
    assert!(text.contains("\"bad key\""), "{text}");
    assert!(text.contains("svc:table:pk"), "{text}");
    assert!(text.contains("[A-Za-z0-9._-]"), "{text}");
}

#[test]
fn every_message_states_the_key_limit_from_the_constant() {
    assert!(KEY_RULE.ends_with(&format!("at most {MAX_KEY_BYTES} bytes")), "{KEY_RULE}");
    let store = localcached_core::Store::new(Default::default()).unwrap();
    let err = store.invalidate_prefix(&vec![b'a'; MAX_KEY_BYTES + 1]).unwrap_err();
    assert!(err.to_string().contains(&format!("1 to {MAX_KEY_BYTES} bytes")), "{err}");
}
