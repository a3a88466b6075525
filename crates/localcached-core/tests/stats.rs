use localcached_core::stats::{FIELD_NAMES, STATS_BYTES};
use localcached_core::Stats;

#[test]
fn stats_round_trip_through_the_binary_layout() {
    let stats = Stats {
        start_unix_ms: 1_700_000_000_000,
        get_calls: 1,
        get_hits: 2,
        get_misses: 3,
        put_calls: 4,
        del_calls: 5,
        invalidate_calls: 6,
        table_changed_upsert_calls: 7,
        evictions: 8,
        expired_removals: 9,
        bytes_current: 10,
        items_current: 11,
        subscribers_current: 12,
        bytes_max: u64::MAX,
        shards: 16,
        events_published: 17,
        events_dropped: 18,
        lagged_notices: 19,
        insertions: 20,
        version_conflicts: 21,
        invalidations: 22,
        max_keys: 23,
        dependency_removals: 24,
        services: vec![
            localcached_core::stats::ServiceStats { name: b"shop".to_vec(), bytes: 1, items: 2, hits: 3, misses: 4, cap: 5 },
            localcached_core::stats::ServiceStats { name: b"blog".to_vec(), bytes: 6, items: 7, hits: 8, misses: 9, cap: 0 },
        ],
    };
    let bytes = stats.encode();
    assert_eq!(bytes.len(), STATS_BYTES + 4 + (1 + 4 + 40) * 2);
    assert_eq!(&bytes[..4], b"LCST");
    assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 1);
    assert_eq!(u16::from_le_bytes([bytes[6], bytes[7]]) as usize, FIELD_NAMES.len());
    assert_eq!(&bytes[16..24], &1u64.to_le_bytes());
    assert_eq!(Stats::decode(&bytes).unwrap(), stats);
}

#[test]
fn decoding_rejects_garbage_and_ignores_appended_fields() {
    assert!(Stats::decode(b"nope").is_err());
    let bytes = Stats::default().encode();
    assert!(Stats::decode(&bytes[..STATS_BYTES - 1]).is_err());
    // A newer producer appends a field before the service section: still readable.
    let mut longer = bytes[..STATS_BYTES].to_vec();
    longer[6] += 1;
    longer.extend_from_slice(&42u64.to_le_bytes());
    longer.extend_from_slice(&0u32.to_le_bytes());
    assert_eq!(Stats::decode(&longer).unwrap(), Stats::default());
}
