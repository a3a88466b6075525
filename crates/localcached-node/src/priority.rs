//! Runs the calling thread at the lowest CPU priority, for work that must not compete with
//! the JS thread (a snapshot save): on Linux `SCHED_IDLE`, or failing that (musl returns
//! ENOSYS for `sched_setscheduler`) a nice value of 19. Linux scheduling attributes are per
//! thread, and pid 0 means the calling thread. Elsewhere nothing is changed: macOS's
//! `setpriority` would lower the whole process. Failure is ignored: the work only runs
//! at normal priority.

#[cfg(target_os = "linux")]
mod linux {
    use std::os::raw::c_int;

    #[repr(C)]
    pub struct SchedParam {
        pub sched_priority: c_int,
    }

    pub const SCHED_IDLE: c_int = 5;
    pub const PRIO_PROCESS: c_int = 0;
    /// The lowest priority a nice value gives.
    pub const NICE_LOWEST: c_int = 19;

    extern "C" {
        pub fn sched_setscheduler(pid: c_int, policy: c_int, param: *const SchedParam) -> c_int;
        pub fn setpriority(which: c_int, who: u32, prio: c_int) -> c_int;
    }
}

/// Lowers the calling thread's priority as far as it goes; returns whether it did.
pub fn lower_current_thread() -> bool {
    #[cfg(target_os = "linux")]
    {
        let param = linux::SchedParam { sched_priority: 0 };
        // SAFETY: `param` is a valid sched_param (SCHED_IDLE needs priority 0) that outlives
        // the call; pid 0 is the calling thread, whose policy alone changes.
        if unsafe { linux::sched_setscheduler(0, linux::SCHED_IDLE, &param) } == 0 {
            return true;
        }
        // SAFETY: plain integers; on Linux, who 0 with PRIO_PROCESS is the calling thread.
        unsafe { linux::setpriority(linux::PRIO_PROCESS, 0, linux::NICE_LOWEST) == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}
