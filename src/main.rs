use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    storecredit::telemetry::init();
    storecredit::cli::run(storecredit::cli::Cli::parse())
}
