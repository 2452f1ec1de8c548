use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let _flush_logs_on_exit = storecredit::telemetry::init();
    storecredit::cli::run(storecredit::cli::Cli::parse())
}

/// mimalloc rather than glibc's allocator: the pop-up's few dozen small allocations
/// per request are cheaper, and a password hash's 19 MiB buffer is reused rather
/// than mapped and faulted in afresh each time. It hands freed memory back to the
/// system after a short delay, so resident memory falls back after a sign-in storm.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
