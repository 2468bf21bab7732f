//! The `authcli` binary: parse, run, turn an error into a message and an exit code.

fn main() -> std::process::ExitCode {
    let cli = authcli::cli::parse();
    match authcli::run(cli) {
        Ok(code) => std::process::ExitCode::from(code),
        Err(err) => {
            authcli::output::error(&err.to_string());
            std::process::ExitCode::from(err.exit_code().code())
        }
    }
}
