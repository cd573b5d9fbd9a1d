//! The one HTML-escaping path of the host's server-rendered pages (the snippet, the snippet page):
//! text that may land in element content or in a single- or double-quoted attribute.

use std::borrow::Cow;

/// Escapes `&`, `<`, `>`, `"` and `'`, so `text` is inert in content and in quoted attributes.
pub fn escape(text: &str) -> Cow<'_, str> {
    html_escape::encode_quoted_attribute(text)
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_both_quotes() {
        assert_eq!(
            escape(r#"<a href="x" title='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; title=&#x27;y&#x27;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(escape("plain"), "plain");
    }
}
