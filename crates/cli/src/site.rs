//! A merchant's demo site: static files from a folder, served on its own origin, each HTML page's
//! `<!-- paywidget-snippet CAMPAIGN LABEL -->` replaced by exactly the snippet the host's
//! `/c/:campaign/embed` page gives a merchant to paste.

use std::path::{Path, PathBuf};

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;

/// What a site serves.
#[derive(Clone, Debug)]
pub struct Site {
    /// The folder with `index.html` and its assets.
    pub dir: PathBuf,
    /// The checkout host's URL, as merchants' snippets name it.
    pub host_url: String,
    /// The site's `Content-Security-Policy`, if any.
    pub csp: Option<String>,
}

/// The CSP a merchant adds for paywidget, as the README documents it, on a site that otherwise
/// allows only itself.
pub fn documented_csp(host_url: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' {host_url}; style-src 'self' {host_url}; \
         frame-src {host_url}; img-src 'self' data:; base-uri 'none'; object-src 'none'"
    )
}

/// The site's router.
pub fn router(site: Site) -> Router {
    Router::new().fallback(serve).with_state(site)
}

async fn serve(State(site): State<Site>, uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    // Only plain file names and subfolders: never `..` out of the site.
    if path.split('/').any(|p| p.is_empty() || p.starts_with('.')) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let file = site.dir.join(path);
    let Ok(bytes) = tokio::fs::read(&file).await else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let content_type = content_type(&file);
    let body = if content_type.starts_with("text/html") {
        with_snippets(&String::from_utf8_lossy(&bytes), &site.host_url).into_bytes()
    } else {
        bytes
    };
    let mut response = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Some(csp) = site
        .csp
        .as_deref()
        .and_then(|c| HeaderValue::from_str(c).ok())
    {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css",
        Some("js") => "text/javascript",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// Replaces each `<!-- paywidget-snippet CAMPAIGN LABEL… -->` with the pasted snippet.
pub fn with_snippets(html: &str, host_url: &str) -> String {
    const OPEN: &str = "<!-- paywidget-snippet ";
    let mut out = String::with_capacity(html.len() + 512);
    let mut rest = html;
    while let Some(at) = rest.find(OPEN) {
        let Some(end) = rest[at..].find("-->") else {
            break;
        };
        out.push_str(&rest[..at]);
        let inner = rest[at + OPEN.len()..at + end].trim();
        let (campaign, label) = inner.split_once(' ').unwrap_or((inner, "Pay"));
        out.push_str(&paywidget_host::http::embed::snippet(
            host_url,
            campaign,
            label.trim(),
        ));
        rest = &rest[at + end + 3..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_become_the_hosts_snippet() {
        let html = "<p>Help</p>\n<!-- paywidget-snippet winter-appeal Donate now -->\n<p>end</p>";
        let out = with_snippets(html, "http://127.0.0.1:8080");
        assert!(out.starts_with("<p>Help</p>\n<a href=\"http://127.0.0.1:8080/c/winter-appeal\""));
        assert!(out.contains(">Donate now</a>\n<script src=\"http://127.0.0.1:8080/v1/embed.js\""));
        assert!(out.ends_with("</script>\n<p>end</p>"));
        assert_eq!(with_snippets("<p>none</p>", "x"), "<p>none</p>");
    }
}
