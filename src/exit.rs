//! The process exit codes of SPEC §7, in a module of their own.
//!
//! Every layer's error names its code from here, and `error.rs` gathers the layers' errors:
//! keeping the codes apart means no layer has to import the top-level error.

use std::fmt;

/// The process exit codes of SPEC §7.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything worked.
    Success = 0,
    /// Bad config, I/O, busy ports, anything not listed below.
    Other = 1,
    /// The command line itself is wrong.
    Usage = 2,
    /// The provider refused, or its answer failed validation.
    Refused = 3,
    /// No usable session and no terminal to log in from.
    LoginRequired = 4,
    /// No callback in time, device code expired.
    Timeout = 5,
    /// Network/TLS failure, non-OAuth HTTP error, malformed body.
    Unreachable = 6,
    /// `verify`: the token is invalid.
    InvalidToken = 7,
    /// Ctrl-C.
    Interrupted = 130,
}

impl ExitCode {
    /// The numeric code for `std::process::exit`.
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for ExitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}
