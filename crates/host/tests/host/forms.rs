//! The checkout form's page per campaign: each campaign gets the smallest form variant that has
//! what it needs (the full form where that variant is not built), with its own data and a first
//! view of the form in the HTML, under a CSP that allows every variant's loader and nothing
//! inline besides.

use paywidget_core::api::{CampaignView, FormVariant};
use paywidget_host::config::HostConfig;
use paywidget_testkit::fixtures;
use paywidget_testkit::world::{start_host, world, WebhookTarget};

/// A dist/ whose pages each load their own (named) wasm glue.
fn write_dist(dir: &std::path::Path, variants: &[FormVariant]) -> std::path::PathBuf {
    let dist = dir.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    for v in variants {
        std::fs::write(
            dist.join(v.page()),
            format!(
                "<!doctype html><html><head><script type=module>import init from '/{}.js';await init();</script></head><body><noscript>js</noscript></body></html>",
                v.name()
            ),
        )
        .unwrap();
    }
    std::fs::write(dist.join("pages.html"), "<!doctype html><p>pages</p>").unwrap();
    dist
}

/// The campaign data block of a served form page.
fn data(page: &str) -> CampaignView {
    let open = r#"<script type="application/json" id="pw-campaign">"#;
    let start = page.find(open).expect("a data block") + open.len();
    let end = start + page[start..].find("</script>").unwrap();
    serde_json::from_str(&page[start..end]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_serves_each_campaign_its_form_variant_with_its_data_and_first_view() {
    let w = world(WebhookTarget::None).await;
    let dist = write_dist(w.dir.path(), &FormVariant::ALL);
    for (capture, expected) in [
        (
            "direct",
            [
                ("relief", FormVariant::Once),
                ("winter", FormVariant::Recurring),
                ("spring", FormVariant::Recurring),
                ("pro", FormVariant::Licence),
                ("team", FormVariant::Licence),
            ],
        ),
        // The gateway's own fields are only in the full form.
        (
            "gateway_fields",
            [
                ("relief", FormVariant::Full),
                ("winter", FormVariant::Full),
                ("spring", FormVariant::Full),
                ("pro", FormVariant::Full),
                ("team", FormVariant::Full),
            ],
        ),
    ] {
        let text = fixtures::checkout_in(&w.gateway, w.dir.path(), &dist, capture);
        let config = HostConfig::parse(&text, |_| None).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (_state, base, _task) = start_host(config, listener).await;
        for (campaign, variant) in expected {
            let r = w
                .http
                .get(format!("{base}/c/{campaign}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let csp = r.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .to_owned();
            assert_eq!(r.headers()["cache-control"], "no-cache");
            let page = r.text().await.unwrap();
            assert!(
                page.contains(&format!("import init from '/{}.js'", variant.name())),
                "{capture}: {campaign} gets the {} form: {page}",
                variant.name()
            );
            for other in FormVariant::ALL.iter().filter(|v| **v != variant) {
                assert!(!page.contains(&format!("'/{}.js'", other.name())), "{page}");
            }
            let view = data(&page);
            assert_eq!(view.id, campaign);
            assert_eq!(FormVariant::for_campaign(&view), variant);
            // The first view: inert, the campaign's title, the Pay button's words.
            assert!(page.contains(r#"<main class="pw-page" id="pw-first" inert>"#));
            assert!(page.contains(&format!(r#"<h1 class="pw-title">{}</h1>"#, view.title)));
            // Each variant's loader is allowed (four forms and the other pages' one is
            // not inline here), and still nothing inline beyond those hashes.
            assert_eq!(csp.matches("'sha256-").count(), 4, "{csp}");
            assert!(!csp.contains("unsafe-inline"), "{csp}");
        }
    }
    // An unknown campaign gets the full form as built (which says it does not exist), and a
    // campaign whose variant is not built gets the full form too.
    let dist = write_dist(w.dir.path(), &[FormVariant::Full]);
    let text = fixtures::checkout_in(&w.gateway, w.dir.path(), &dist, "direct");
    let _ = std::fs::remove_file(dist.join(FormVariant::Once.page()));
    let config = HostConfig::parse(&text, |_| None).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (_state, base, _task) = start_host(config, listener).await;
    let get = |path: String| {
        let http = w.http.clone();
        async move { http.get(path).send().await.unwrap().text().await.unwrap() }
    };
    let unknown = get(format!("{base}/c/nope")).await;
    assert!(unknown.contains("'/full.js'") && !unknown.contains("pw-first"));
    let relief = get(format!("{base}/c/relief")).await;
    assert!(relief.contains("'/full.js'") && relief.contains("pw-first"));
    assert_eq!(data(&relief).id, "relief");
}
