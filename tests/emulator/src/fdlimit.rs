//! Raising the open-file limit, so thousands of concurrent connections fit.

/// Raises the soft `RLIMIT_NOFILE` limit of this process to its hard limit and returns
/// `(soft, hard)` afterwards. On non-Unix systems it does nothing and returns `(0, 0)`.
pub fn raise_fd_limit() -> std::io::Result<(u64, u64)> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit/setrlimit only read or write the struct passed by pointer.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
            // SAFETY: as above.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                limit = raised;
            } else {
                // macOS refuses an unlimited soft limit: settle for OPEN_MAX.
                let fallback = libc::rlimit { rlim_cur: limit.rlim_max.min(10_240), rlim_max: limit.rlim_max };
                // SAFETY: as above.
                if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &fallback) } != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                limit = fallback;
            }
        }
        #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere
        Ok((limit.rlim_cur as u64, limit.rlim_max as u64))
    }
    #[cfg(not(unix))]
    {
        Ok((0, 0))
    }
}
