use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let _flush_logs_on_exit = storecredit::telemetry::init();
    storecredit::cli::run(storecredit::cli::Cli::parse())
}
