//! The one HTML escaper, for every page authcli serves: the loopback listener's callback page
//! and the mock tenant's sign-in, consent, device and error pages.
//!
//! Text from a request or a provider is escaped for element content and quoted attributes;
//! control characters (other than newline) are dropped, so nothing invisible reaches the page.

/// Escapes `text` for HTML element content and double- or single-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c if c.is_control() && c != '\n' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_quotes_and_control_characters_are_neutralised() {
        assert_eq!(
            escape("<script>alert(\"x\")</script>&'"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#x27;"
        );
        assert_eq!(escape("a\u{1b}[31mb\u{7}\nc"), "a[31mb\nc");
    }
}
