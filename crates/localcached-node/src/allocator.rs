//! Allocator tuning for a process whose main job is the cache (the daemon), on glibc.
//! glibc's default dynamic mmap threshold lets large values land in the heap, where
//! evicting them leaves holes the process keeps. A fixed threshold of 68 KiB gives each
//! value above it its own mapping, returned to the OS when evicted; it sits just above
//! 64 KiB so that 64 KiB socket read buffers stay in the heap rather than costing an
//! mmap/munmap pair per read. Capping arenas at 2 stops helper threads from growing heaps
//! of their own. `npm run flood` (scripts/flood.mjs) measures the effect on peak RSS.
//! Embedded users are left alone: only `serve()` calls this.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    use std::os::raw::c_int;
    pub const M_MMAP_THRESHOLD: c_int = -3;
    pub const M_ARENA_MAX: c_int = -8;
    extern "C" {
        pub fn mallopt(param: c_int, value: c_int) -> c_int;
    }
}

/// Allocations of at least this many bytes get their own mapping.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD_BYTES: std::os::raw::c_int = 68 * 1024;
/// Most malloc arenas.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MAX_ARENAS: std::os::raw::c_int = 2;

/// Returns whether the allocator was tuned (false where there is nothing to tune).
pub fn tune_for_daemon() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes allocator parameters; both values are in range.
        unsafe { glibc::mallopt(glibc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1 && glibc::mallopt(glibc::M_ARENA_MAX, MAX_ARENAS) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
