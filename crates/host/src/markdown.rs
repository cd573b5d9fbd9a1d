//! Setup instructions: Markdown rendered to HTML on the server and sanitized — raw HTML is shown
//! as text and only http(s)/mailto links and relative paths survive.

use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag};

fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("https://")
        || lower.starts_with("http://")
        || lower.starts_with("mailto:")
        || lower.starts_with('/')
        || lower.starts_with('#')
        || !lower.contains(':')
}

/// Renders merchant-written Markdown to HTML safe to insert into the checkout.
pub fn render(markdown: &str) -> String {
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .map(|event| match event {
        // Raw HTML becomes visible text, never markup.
        Event::Html(s) | Event::InlineHtml(s) => Event::Text(s),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) if !safe_url(&dest_url) => Event::Start(Tag::Link {
            link_type,
            dest_url: CowStr::from("#"),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) if !safe_url(&dest_url) => Event::Start(Tag::Image {
            link_type,
            dest_url: CowStr::from(""),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, parser);
    out
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
    }
}
