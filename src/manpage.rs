//! `authcli man`: the manual page, authcli(1), generated from the same clap definition as
//! `--help` (with clap_mangen), so the two cannot disagree. Release archives ship it.
//!
//! One page for the whole tool: NAME, SYNOPSIS, DESCRIPTION, global OPTIONS, a COMMANDS list,
//! then one section per subcommand (`AUTHCLI LOGIN`, …) with its synopsis, description and
//! options, and EXIT STATUS (SPEC §7). clap_mangen renders each part as a page of its own;
//! a subcommand's headings are demoted from `.SH` to `.SS` to nest under its section.

use clap::CommandFactory;
use clap_mangen::roff::{bold, roman, Roff};
use clap_mangen::Man;

/// The exit codes of SPEC §7, for the EXIT STATUS section.
const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "success"),
    ("1", "other error (bad config, I/O, busy ports, ...)"),
    ("2", "usage error"),
    ("3", "the provider refused, or its answer failed validation"),
    ("4", "login required (no usable session, not interactive)"),
    ("5", "timed out (no callback, device code expired)"),
    (
        "6",
        "no usable answer: network or TLS failure, malformed response",
    ),
    ("7", "verify: token invalid"),
    ("130", "interrupted"),
];

/// The manual page as roff source.
pub fn render() -> std::io::Result<String> {
    let mut cmd = crate::cli::Cli::command();
    cmd.build();
    let name = cmd.get_name().to_string();
    let man = Man::new(cmd.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;

    let subcommands: Vec<&clap::Command> =
        cmd.get_subcommands().filter(|s| !s.is_hide_set()).collect();
    let mut list = Roff::new();
    list.control("SH", ["COMMANDS"]);
    for sub in &subcommands {
        list.control("TP", []);
        list.text([bold(format!("{name} {}", sub.get_name()))]);
        if let Some(about) = sub.get_about() {
            list.text([roman(about.to_string())]);
        }
    }
    list.to_writer(&mut out)?;

    for sub in subcommands {
        let title = format!("{name} {}", sub.get_name()).to_uppercase();
        let mut heading = Roff::new();
        heading.control("SH", [title.as_str()]);
        heading.to_writer(&mut out)?;
        let page = Man::new(sub.clone());
        let mut part = Vec::new();
        page.render_synopsis_section(&mut part)?;
        page.render_description_section(&mut part)?;
        page.render_options_section(&mut part)?;
        out.extend(demote_headings(&String::from_utf8_lossy(&part)).into_bytes());
    }

    let mut status = Roff::new();
    status.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in EXIT_STATUS {
        status.control("TP", []);
        status.text([bold(*code)]);
        status.text([roman(*meaning)]);
    }
    status.to_writer(&mut out)?;

    Ok(ascii_only(&dedup_preamble(&String::from_utf8_lossy(&out))))
}

/// Non-ASCII characters (the `…` of help texts) as groff's `\[uXXXX]` escapes: a page in
/// plain ASCII reads the same whatever encoding `man` assumes.
fn ascii_only(roff: &str) -> String {
    let mut out = String::with_capacity(roff.len());
    for c in roff.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("\\[u{:04X}]", u32::from(c)));
        }
    }
    out
}

/// `.SH X` → `.SS X`: a subcommand's sections become subsections of its own section.
fn demote_headings(roff: &str) -> String {
    roff.lines()
        .map(|line| match line.strip_prefix(".SH ") {
            Some(rest) => format!(".SS {rest}\n"),
            None => format!("{line}\n"),
        })
        .collect()
}

/// Every roff fragment starts with the same two-line apostrophe preamble; keep the first.
fn dedup_preamble(roff: &str) -> String {
    let mut seen = std::collections::HashSet::new();
    roff.lines()
        .filter(|line| {
            !(line.starts_with(".ie \\n(.g") || line.starts_with(".el .ds Aq"))
                || seen.insert(*line)
        })
        .map(|line| format!("{line}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_are_demoted_and_text_is_not() {
        assert_eq!(
            demote_headings(".SH OPTIONS\n.TP\n\\&.SH not a heading\n"),
            ".SS OPTIONS\n.TP\n\\&.SH not a heading\n"
        );
    }

    #[test]
    fn non_ascii_becomes_a_groff_escape() {
        assert_eq!(ascii_only("login_hint…)"), "login_hint\\[u2026])");
    }

    #[test]
    fn the_preamble_appears_once() {
        let page = render().unwrap();
        assert_eq!(page.matches(".el .ds Aq").count(), 1, "{page}");
        assert!(page.starts_with(".ie \\n(.g .ds Aq"), "{page}");
    }
}
