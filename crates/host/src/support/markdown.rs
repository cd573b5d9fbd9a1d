//! Setup instructions: merchant-written Markdown rendered to HTML on the server and sanitized
//! with ammonia (an allow-list of tags, attributes and URL schemes). Raw HTML in the Markdown is
//! shown as text, never markup; ammonia then guarantees what survives is safe.

use std::sync::OnceLock;

use pulldown_cmark::{html, Event, Options, Parser};

/// The sanitizer: ammonia's defaults (no scripts, styles, event handlers; http(s)/mailto and
/// relative links), without the `rel` it adds to links (the page opens them itself).
fn cleaner() -> &'static ammonia::Builder<'static> {
    static CLEANER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    CLEANER.get_or_init(|| {
        let mut b = ammonia::Builder::default();
        b.link_rel(None);
        b
    })
}

/// Renders merchant-written Markdown to HTML safe to insert into the checkout.
pub fn render(markdown: &str) -> String {
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .map(|event| match event {
        // Raw HTML becomes visible text: a merchant's `<b>` shows as written.
        Event::Html(s) | Event::InlineHtml(s) => Event::Text(s),
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, parser);
    cleaner().clean(&out).to_string()
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn renders_markdown() {
        let html = render(
            "1. Download\n2. Run `acme --activate KEY`\n\n[Docs](https://acme.example/docs)",
        );
        assert!(html.contains("<ol>") && html.contains("<code>acme --activate KEY</code>"));
        assert!(html.contains(r#"<a href="https://acme.example/docs">Docs</a>"#));
        assert!(render("**bold** and ~~gone~~").contains("<strong>bold</strong>"));
    }

    #[test]
    fn strips_scripts_and_dangerous_links() {
        let html = render(
            "<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        let image = render("![x](javascript:alert(1)) [y](data:text/html,hi)");
        assert!(
            !image.contains("javascript:") && !image.contains("data:"),
            "{image}"
        );
    }
}
