//! Process-wide allocator settings for programs that take backups.

/// glibc's malloc returns large freed buffers to the kernel (each one at least its mmap
/// threshold, 128 KiB to start), and the next buffer of the same size is then faulted back in
/// and zeroed page by page. A backup allocates and frees such buffers for every Parquet page it
/// encodes and compresses, so this cost ~10% of a full backup's CPU (perf, 1M rows).
///
/// This keeps buffers under 32 MiB in the heap for reuse, and trims the heap only when
/// 128 MiB of it are free: a backup's peak RSS grew by ~3 MiB (56 to 59 MiB at 1M rows).
/// It changes the whole process, so the facade leaves it to programs: the `quiver` binary
/// and the benchmarks call it at start. Elsewhere than on glibc it does nothing.
pub fn keep_freed_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const MMAP_THRESHOLD: libc::c_int = 32 << 20;
        const TRIM_THRESHOLD: libc::c_int = 128 << 20;
        // SAFETY: mallopt only changes thresholds; it is safe to call at any time (and returns
        // 0 if a value is refused, which leaves glibc's default in place).
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
            libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
        }
    }
}
