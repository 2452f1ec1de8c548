use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let _flush_logs_on_exit = storecredit::telemetry::init();
    storecredit::cli::run(storecredit::cli::Cli::parse())
}

/// mimalloc rather than glibc's allocator: the pop-up's few dozen small allocations
/// per request cost it a tenth fewer instructions (callgrind), and a password hash's
/// 19 MiB buffer is reused rather than mapped and faulted in afresh each time, so
/// the sign-in storm runs faster. It hands freed memory back to the system after a
/// short delay: resident memory falls back within seconds of a storm (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
