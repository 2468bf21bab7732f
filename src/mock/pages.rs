//! The HTML the mock serves to browsers: error pages, and the interactive sign-in, consent
//! and device-activation pages of `--interactive`.
//!
//! Pages are self-contained (inline CSS, no scripts, no external resources), every value
//! from a request is escaped, and forms carry a per-transaction CSRF token. They use real
//! form controls, labels and headings so that keyboard and screen-reader users can work them.

use super::http::escape;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b;background:#fff}\
h1{font-size:1.4rem}button{font-size:1rem;padding:.5rem 1rem;margin:.25rem .5rem .25rem 0}\
button:focus,input:focus{outline:3px solid #1a5fb4;outline-offset:2px}\
.error{border-left:4px solid #c01c28;padding-left:1rem}code{background:#eee;padding:0 .2rem}\
fieldset{border:1px solid #999;padding:1rem}label{display:block;margin:.4rem 0}";

/// A whole page: `title` and `body_html` (already escaped by the caller).
pub fn page(title: &str, body_html: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>{title} · authcli mock tenant</title>\n<style>{STYLE}</style>\n</head>\n\
<body>\n<main>\n{body_html}\n</main>\n</body>\n</html>\n",
        title = escape(title),
    )
}

/// Auth0's error page: the OAuth error code and its description, no redirect.
pub fn error_page(error: &str, description: &str) -> String {
    page(
        "Error",
        &format!(
            "<h1>Oops!, something went wrong</h1>\n<div class=\"error\" role=\"alert\">\n\
<p><strong>{}</strong>: {}</p>\n</div>",
            escape(error),
            escape(description)
        ),
    )
}

/// A short message page (device approved, logged out, …).
pub fn message_page(title: &str, message: &str) -> String {
    page(
        title,
        &format!(
            "<h1>{}</h1>\n<p role=\"status\">{}</p>",
            escape(title),
            escape(message)
        ),
    )
}
