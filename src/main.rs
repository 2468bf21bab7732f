//! The `authcli` binary: parse, run, turn an error into a message and an exit code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = authcli::cli::Cli::parse();
    match authcli::run(cli) {
        Ok(code) => std::process::ExitCode::from(code),
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::from(err.exit_code().code())
        }
    }
}
