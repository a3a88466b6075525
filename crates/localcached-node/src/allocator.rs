//! Allocator tuning for a process whose main job is the cache (the daemon). Measured under a
//! 10x write flood with values of 64 B to 256 KiB (48 MiB budget): glibc's default dynamic
//! mmap threshold lets large values land in the heap, where evicting them leaves holes the
//! process keeps; peak RSS was 143 MiB. Fixing the threshold at 64 KiB gives each large
//! value its own mapping, returned to the OS when evicted, and capping arenas at 2 stops
//! helper threads from growing heaps of their own: 120 MiB. Embedded users are left alone:
//! only `serve()` calls this.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    use std::os::raw::c_int;
    pub const M_MMAP_THRESHOLD: c_int = -3;
    pub const M_ARENA_MAX: c_int = -8;
    extern "C" {
        pub fn mallopt(param: c_int, value: c_int) -> c_int;
    }
}

/// Returns whether the allocator was tuned (false where there is nothing to tune).
pub fn tune_for_daemon() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes allocator parameters; both values are in range.
        unsafe { glibc::mallopt(glibc::M_MMAP_THRESHOLD, 68 * 1024) == 1 && glibc::mallopt(glibc::M_ARENA_MAX, 2) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
