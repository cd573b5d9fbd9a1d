//! The hosted checkout pages: the widget's Trunk `dist/`, with a strict CSP, long caching for
//! hashed assets and precompressed files when present.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::Path as UrlPath;
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use base64::Engine;
use sha2::{Digest, Sha256};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use paywidget_core::api::{CampaignView, FormVariant};
use paywidget_core::lang::{accepted as accepted_languages, Lang};
use paywidget_core::money::Currency;
use tower::ServiceExt;

use crate::checkout::{form_page, views};
use crate::config::{url_text, HostConfig};

/// The Content-Security-Policy of the hosted pages: scripts from this origin (plus the hash of
/// Trunk's inline loader), wasm compilation, connections to this origin and the merchants'
/// gateways, no inline styles, and framing by `ancestors` (this origin, for the snippet page's
/// preview, and the merchants' allowed origins). `gateway_fields` are the origins of the
/// gateway's own card fields (script, frames, API) — only on the pages of a campaign whose
/// merchant uses them.
pub fn csp(
    config: &HostConfig,
    html: &str,
    ancestors: &[String],
    gateway_fields: &[String],
) -> String {
    let mut script = vec!["'self'".to_owned(), "'wasm-unsafe-eval'".to_owned()];
    for inline in inline_scripts(html) {
        let digest = Sha256::digest(inline.as_bytes());
        script.push(format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(digest)
        ));
    }
    let mut connect = vec!["'self'".to_owned()];
    // Campaign logos on other origins (paths on the host are 'self').
    let mut img = vec!["'self'".to_owned(), "data:".to_owned()];
    for c in &config.campaigns {
        if let Some(origin) = c.logo_url.as_ref().and_then(|l| l.origin()) {
            if !img.contains(&origin) {
                img.push(origin);
            }
        }
    }
    for m in &config.merchants {
        let gateway = url_text(&m.gateway_url).to_owned();
        if !connect.contains(&gateway) {
            connect.push(gateway);
        }
    }
    let mut frames = String::new();
    if !gateway_fields.is_empty() {
        for origin in gateway_fields {
            for list in [&mut script, &mut connect] {
                if !list.contains(origin) {
                    list.push(origin.clone());
                }
            }
        }
        frames = format!("frame-src 'self' {}; ", gateway_fields.join(" "));
    }
    let mut frame_ancestors = vec!["'self'".to_owned()];
    frame_ancestors.extend(ancestors.iter().cloned());
    format!(
        "default-src 'self'; script-src {}; style-src 'self'; img-src {}; connect-src {}; \
         {frames}frame-ancestors {}; base-uri 'none'; form-action 'self'; object-src 'none'",
        script.join(" "),
        img.join(" "),
        connect.join(" "),
        frame_ancestors.join(" ")
    )
}

/// `scheme://host[:port]` of an absolute http(s) URL.
#[cfg(test)]
fn origin_of(url: &str) -> Option<String> {
    crate::config::LogoUrl::parse(url).ok()?.origin()
}

/// The bodies of `<script>` elements without `src` (Trunk writes one to start the wasm).
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let Some(open_end) = rest[start..].find('>') else {
            break;
        };
        let tag = &rest[start..start + open_end];
        let body_start = start + open_end + 1;
        let Some(close) = rest[body_start..].find("</script>") else {
            break;
        };
        if !tag.contains(" src=") && !tag.contains(" src =") {
            out.push(&rest[body_start..body_start + close]);
        }
        rest = &rest[body_start + close..];
    }
    out
}

/// Serves `dist` at `/` with the CSP and caching headers. `frame-ancestors` follows the object
/// a page shows: a campaign's pages its merchant's sites; anything else this host only (the
/// confirmation is not served from here: the host renders it, with its own policy). A path with an empty segment (`/c//x`) is not served:
/// the page's router would read past it, the CSP would not.
pub fn router<S: Clone + Send + Sync + 'static>(config: &HostConfig, dist: &Path) -> Router<S> {
    // Every page's inline loader (each form variant's, the other pages') is allowed by each
    // page's CSP.
    let html: String = FormVariant::ALL
        .map(FormVariant::page)
        .iter()
        .chain(&["pages.html"])
        .map(|p| std::fs::read_to_string(dist.join(p)).unwrap_or_default())
        .collect();
    // `frame-ancestors` per merchant: `/c/:campaign…` may be framed only by that campaign's
    // merchant's sites; other pages by any merchant's.
    let header = |ancestors: &[String], gateway_fields: &[String]| {
        HeaderValue::from_str(&csp(config, &html, ancestors, gateway_fields))
            .unwrap_or(HeaderValue::from_static("default-src 'self'"))
    };
    let by_campaign: Arc<HashMap<String, HeaderValue>> = Arc::new(
        config
            .campaigns
            .iter()
            .map(|c| {
                let merchant = config.merchant(&c.merchant);
                let origins = merchant
                    .map(|m| {
                        m.allowed_origins
                            .iter()
                            .map(|o| o.as_str().to_owned())
                            .collect::<Vec<String>>()
                    })
                    .unwrap_or_default();
                let fields = merchant
                    .map(|m| m.gateway_fields_origins())
                    .unwrap_or_default();
                (c.id.clone(), header(&origins, &fields))
            })
            .collect(),
    );
    let default_csp = header(&[], &[]);
    // Two wasm binaries: `index.html` is the checkout form alone (`/c/:campaign`, what a
    // shopper waits for); `pages.html` is every other page, routed in the browser (3-D Secure
    // return, update card, and its own "not found").
    let pages_file = ServeFile::new(dist.join("pages.html"))
        .precompressed_br()
        .precompressed_gzip();
    let files = ServeDir::new(dist)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(pages_file.clone());
    let form = ServeFile::new(dist.join("index.html"))
        .precompressed_br()
        .precompressed_gzip();
    let forms = Arc::new(form_pages(config, dist));
    let form_page = move |UrlPath(campaign): UrlPath<String>, request: axum::extract::Request| {
        let forms = forms.clone();
        let form = form.clone();
        async move {
            // The donor's currency and language, by the rules the page applies too:
            // `?currency=` / `?locale=`, then their browser's languages, then the campaign's
            // currency and the merchant's language. Decided before anything is awaited.
            let page = forms.get(&campaign).and_then(|pages| {
                let query = |name: &str| {
                    request.uri().query().and_then(|q| {
                        url::form_urlencoded::parse(q.as_bytes())
                            .find(|(k, _)| k == name)
                            .map(|(_, v)| v.into_owned())
                    })
                };
                let languages = request
                    .headers()
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                let currency = pages
                    .view
                    .choose_currency(query("currency").as_deref(), accepted_languages(languages));
                let lang = Lang::choose(
                    query("locale").as_deref(),
                    accepted_languages(languages),
                    pages.default_lang,
                );
                pages.get(currency, lang)
            });
            match page {
                Some(page) => {
                    let mut response = page.respond(request.headers());
                    response.headers_mut().insert(
                        header::VARY,
                        HeaderValue::from_static("Accept-Encoding, Accept-Language"),
                    );
                    response
                }
                // An unknown campaign: the full form says it does not exist.
                None => form.oneshot(request).await.into_response(),
            }
        }
    };
    Router::new()
        .route_service("/", pages_file.clone())
        .route("/c/{campaign}", get(form_page.clone()))
        .route("/c/{campaign}/", get(form_page))
        .fallback_service(files)
        .layer(axum::middleware::map_response(cache_headers))
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let path = request.uri().path().to_owned();
                let campaign = campaign_of(&path).and_then(|c| by_campaign.get(c).cloned());
                let default_csp = default_csp.clone();
                async move {
                    if path.contains("//") {
                        return axum::http::StatusCode::NOT_FOUND.into_response();
                    }
                    let value = campaign.unwrap_or(default_csp);
                    let mut response = next.run(request).await;
                    response
                        .headers_mut()
                        .insert(header::CONTENT_SECURITY_POLICY, value);
                    response
                }
            },
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        // The precompressed `.br`/`.gz` are chosen by `Accept-Encoding`: caches must key on it.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::VARY,
            HeaderValue::from_static("accept-encoding"),
        ))
}

/// A page built once, kept in memory with its brotli and gzip forms.
#[derive(Clone)]
struct Packed {
    plain: Bytes,
    br: Bytes,
    gz: Bytes,
}

impl Packed {
    fn new(html: String) -> Packed {
        let plain = Bytes::from(html);
        let mut br = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut br, 4096, 11, 22);
            // Writing into a Vec cannot fail.
            let _ = w.write_all(&plain);
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let _ = gz.write_all(&plain);
        Packed {
            br: Bytes::from(br),
            gz: Bytes::from(gz.finish().unwrap_or_default()),
            plain,
        }
    }

    /// The page in the best encoding `headers` accept.
    fn respond(&self, headers: &axum::http::HeaderMap) -> axum::response::Response {
        let accepts = |coding: &str| {
            headers
                .get_all(header::ACCEPT_ENCODING)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .any(|c| {
                    let mut parts = c.split(';');
                    parts.next().is_some_and(|n| n.trim() == coding)
                        && !parts
                            .any(|q| matches!(q.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"))
                })
        };
        let (body, encoding) = if accepts("br") && !self.br.is_empty() {
            (self.br.clone(), Some("br"))
        } else if accepts("gzip") && !self.gz.is_empty() {
            (self.gz.clone(), Some("gzip"))
        } else {
            (self.plain.clone(), None)
        };
        let mut response = (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            body,
        )
            .into_response();
        if let Some(encoding) = encoding {
            response
                .headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        response
    }
}

/// A campaign's form pages: one per currency it takes and language (its first view shows
/// that currency's amounts in that language), each built and compressed on its first request.
/// Both are enums of fixed, small sets: the pages kept are bounded whatever is asked.
struct FormPages {
    view: CampaignView,
    template: String,
    default_lang: Lang,
    built: std::sync::RwLock<HashMap<(Currency, Lang), Packed>>,
}

impl FormPages {
    /// The page in `currency` (one the campaign takes) and `lang`.
    fn get(&self, currency: Currency, lang: Lang) -> Option<Packed> {
        if let Some(page) = self
            .built
            .read()
            .ok()
            .and_then(|b| b.get(&(currency, lang)).cloned())
        {
            return Some(page);
        }
        let shown = self.view.in_currency(currency)?;
        let page = Packed::new(form_page::page_in(&self.template, &self.view, &shown, lang));
        if let Ok(mut built) = self.built.write() {
            built.insert((currency, lang), page.clone());
        }
        Some(page)
    }
}

/// Each campaign's form pages: its variant's build (the full form where that variant's page is
/// missing from `dist`) with the campaign's data and first view, per currency.
fn form_pages(config: &HostConfig, dist: &Path) -> HashMap<String, FormPages> {
    let templates: HashMap<FormVariant, String> = FormVariant::ALL
        .into_iter()
        .filter_map(|v| Some((v, std::fs::read_to_string(dist.join(v.page())).ok()?)))
        .collect();
    config
        .campaigns
        .iter()
        .filter_map(|c| {
            let view = views::campaign_view(config, &c.id)?;
            let variant = FormVariant::for_campaign(&view);
            let template = templates
                .get(&variant)
                .or_else(|| templates.get(&FormVariant::Full))?;
            // The merchant's language, where the merchant set a locale it is translated into.
            let default_lang = config
                .merchant(&c.merchant)
                .and_then(|m| m.local.locale())
                .and_then(|l| Lang::parse(l.tag()))
                .unwrap_or(Lang::En);
            Some((
                c.id.clone(),
                FormPages {
                    view,
                    template: template.clone(),
                    default_lang,
                    built: std::sync::RwLock::default(),
                },
            ))
        })
        .collect()
}

/// The checkout's stylesheet URL as Trunk named it (`/main-<hash>.css`), read from the built
/// `index.html`, for the pages the host renders in the checkout's look; None without a build.
pub fn stylesheet_href(dist: &Path) -> Option<String> {
    let html = std::fs::read_to_string(dist.join("index.html")).ok()?;
    html.split("href=")
        .skip(1)
        .map(|rest| {
            rest.trim_start_matches('"')
                .split(['"', ' ', '>'])
                .next()
                .unwrap_or_default()
        })
        .find(|href| href.starts_with('/') && href.ends_with(".css") && !href.contains(".."))
        .map(str::to_owned)
}

/// The campaign id of `/c/:campaign` and `/c/:campaign/…`.
fn campaign_of(path: &str) -> Option<&str> {
    path.strip_prefix("/c/")?
        .split('/')
        .next()
        .filter(|c| !c.is_empty())
}

/// Trunk names assets by content hash: cache them for a year; the HTML must always revalidate.
async fn cache_headers(mut response: axum::response::Response) -> axum::response::Response {
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let value = if is_html {
        "no-cache"
    } else {
        "public, max-age=31536000, immutable"
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    response
}

#[cfg(test)]
mod tests {
    use super::inline_scripts;

    #[test]
    fn origins_of_logo_urls() {
        assert_eq!(
            super::origin_of("https://cdn.example.org:8443/a/logo.png?v=1").as_deref(),
            Some("https://cdn.example.org:8443")
        );
        assert_eq!(super::origin_of("/logo.png"), None);
        assert_eq!(super::origin_of("javascript://x"), None);
    }

    #[test]
    fn the_gateways_origins_only_where_its_fields_are() {
        let config = crate::config::HostConfig::parse(
            r#"
[[merchants]]
id = "hope"
name = "Hope"
gateway_url = "http://127.0.0.1:12111"
publishable_key = "pk_test_x"
secret_key = "sk_test_x"
webhook_secret = "whsec_x"
card_capture = "gateway_fields"

[[campaigns]]
id = "winter"
merchant = "hope"
kind = "donation"
title = "Winter appeal"
currency = "usd"
"#,
            |_| None,
        )
        .unwrap();
        let fields = config.merchants[0].gateway_fields_origins();
        let with = super::csp(&config, "", &[], &fields);
        assert!(with.contains("script-src 'self' 'wasm-unsafe-eval' http://127.0.0.1:12111;"));
        assert!(with.contains("frame-src 'self' http://127.0.0.1:12111;"));
        assert!(with.contains("connect-src 'self' http://127.0.0.1:12111;"));
        assert!(with.contains("style-src 'self';"), "still no inline styles");
        let without = super::csp(&config, "", &[], &[]);
        assert!(without.contains("script-src 'self' 'wasm-unsafe-eval';"));
        assert!(!without.contains("frame-src"));
    }

    #[test]
    fn finds_inline_scripts_only() {
        let html = "<script src=/a.js></script><script type=module>import x from '/b.js';</script>";
        assert_eq!(inline_scripts(html), ["import x from '/b.js';"]);
    }
}
