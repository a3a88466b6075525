//! Why an entry left the store: one enum for the store, the stats and the removal hand-off.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum RemovalCause {
    /// Pushed out to keep the store within its byte budget.
    Evicted = 1,
    /// Its TTL ran out; removed by a read that found it or by the sweeper.
    Expired = 2,
    /// Removed by an explicit delete or invalidate.
    Deleted = 3,
    /// Overwritten by a newer value for the same key.
    Replaced = 4,
    /// Removed because a key it depends on was invalidated, deleted, replaced, evicted or expired.
    Dependency = 5,
}

impl RemovalCause {
    /// Only removals the caller did not ask for are handed off to listeners: the caller
    /// already knows about its own deletes and replacements.
    pub fn is_reported(self) -> bool {
        matches!(self, RemovalCause::Evicted | RemovalCause::Expired | RemovalCause::Dependency)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RemovalCause::Evicted => "evicted",
            RemovalCause::Expired => "expired",
            RemovalCause::Deleted => "deleted",
            RemovalCause::Replaced => "replaced",
            RemovalCause::Dependency => "dependency",
        }
    }
}
