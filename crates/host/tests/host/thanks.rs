//! The confirmation page the host renders (`/thanks/:session`): the receipt once the webhook
//! has fulfilled the payment, a page that refreshes itself while it waits, a licence key with
//! its setup steps under platform names people use, a policy that runs only the page's own
//! script (its hash checked here from the page itself), and nothing for a session it does not
//! know.

use base64::Engine;
use serde_json::json;
use sha2::Digest;

use super::admin::{dashboard_world, donation};

async fn thanks(w: &paywidget_testkit::world::World, path: &str) -> (u16, String, String) {
    let r = w
        .http
        .get(format!("{}{path}", w.host))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let csp = r
        .headers()
        .get("content-security-policy")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert_eq!(
        r.headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap()),
        Some("no-store"),
        "{path}"
    );
    (status, csp, r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_renders_the_confirmation_with_its_own_script_only() {
    let w = dashboard_world().await;
    // Waiting: a page that says so and refreshes itself (no script needed), counting its tries.
    let open = w.session("winter", Some(2500)).await;
    let (status, _, page) = thanks(&w, &format!("/thanks/{open}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Confirming your payment"), "{page}");
    assert!(
        page.contains(&format!("content=\"2;url=/thanks/{open}?wait=1\"")),
        "{page}"
    );
    // That refresh only without script (`<noscript>`: axe flags a timed refresh); with script
    // the page asks the session in the background, from its own origin.
    assert!(
        page.contains("<noscript><meta http-equiv=\"refresh\""),
        "{page}"
    );
    assert!(
        page.contains(&format!("data-session=\"{open}\" data-wait=\"0\"")),
        "{page}"
    );
    let (_, _, late) = thanks(&w, &format!("/thanks/{open}?wait=999")).await;
    assert!(
        late.contains("taking longer than usual") && !late.contains("http-equiv"),
        "{late}"
    );

    // Paid and fulfilled: the receipt, no wasm.
    let paid = donation(&w, "winter", 2500, "ada@example.org", "Ada").await;
    let (status, csp, page) = thanks(&w, &format!("/thanks/{paid}")).await;
    assert_eq!(status, 200);
    let number = w.status(&paid).await["receipt"]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        page.contains(&format!("id=\"pw-receipt-number\">{number}<")),
        "{page}"
    );
    assert!(
        page.contains("We also emailed it to a•••@example.org."),
        "{page}"
    );
    assert!(
        !page.contains(".wasm") && !page.contains("ada@example.org"),
        "{page}"
    );
    // The one inline script runs by its hash, which the policy names; nothing else may run.
    let script = page
        .split("<script>")
        .nth(1)
        .and_then(|s| s.split("</script>").next())
        .expect("the page's script");
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(script));
    assert!(
        csp.contains(&format!("script-src 'sha256-{hash}';")),
        "{csp}"
    );
    assert!(
        !csp.contains("unsafe") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    // The issue's budget for a page without wasm: 15 kB brotli (it is a few).
    let mut br = Vec::new();
    brotli::BrotliCompress(
        &mut page.as_bytes(),
        &mut br,
        &brotli::enc::BrotliEncoderParams::default(),
    )
    .unwrap();
    println!(
        "confirmation page: {} B raw, {} B brotli",
        page.len(),
        br.len()
    );
    assert!(br.len() < 15_000, "{} bytes brotli", br.len());

    // Unknown, or not a session id at all: not found.
    for path in ["/thanks/cs_nothing", "/thanks/%3Cscript%3E"] {
        let (status, _, page) = thanks(&w, path).await;
        assert_eq!(status, 404, "{path}");
        assert!(!page.contains("<script>alert"), "{page}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_licence_page_names_platforms_as_people_write_them() {
    let w = dashboard_world().await;
    let (_, s) = w
        .api(
            reqwest::Method::POST,
            "/api/sessions",
            Some(json!({ "campaign": "pro", "email": "dev@example.org" })),
        )
        .await;
    let session = s["id"].as_str().unwrap().to_owned();
    let pm = w.tokenize("4242424242424242").await;
    w.pay(&session, &pm, "k").await;
    let done = w.wait_status(&session, "fulfilled").await;
    let key = done["license"]["key"].as_str().unwrap();
    let (status, _, page) = thanks(&w, &format!("/thanks/{session}")).await;
    assert_eq!(status, 200);
    assert!(page.contains(key), "{page}");
    assert!(
        page.contains("id=\"pw-copy\" hidden"),
        "shown by the script only: {page}"
    );
    // The instructions' Markdown was sanitized: the config's script tag is gone.
    assert!(!page.contains("<script>x"), "{page}");
    for platform in done["license"]["instructions_html"]
        .as_object()
        .unwrap()
        .keys()
    {
        let name = paywidget_host::checkout::thanks::platform_name(platform);
        assert!(page.contains(&format!(">{name}</h3>")), "{name}: {page}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_confirmation_speaks_the_readers_language() {
    let w = dashboard_world().await;
    let paid = donation(&w, "winter", 2500, "ana@example.org", "Ana").await;
    w.wait_status(&paid, "fulfilled").await;
    let get = |path: String, language: &'static str| {
        let http = w.http.clone();
        let url = format!("{}{path}", w.host);
        async move {
            http.get(url)
                .header("accept-language", language)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    // The browser's language: German; the receipt's figures as they are.
    let de = get(format!("/thanks/{paid}"), "de-DE,de;q=0.9,en;q=0.5").await;
    assert!(de.contains(r#"<html lang="de" dir="ltr">"#), "{de}");
    assert!(!de.contains("Thank you for your donation"), "{de}");
    assert!(de.contains("25.00 USD") && de.contains("HOPE-"), "{de}");
    // The form's `?locale=` wins; Arabic reads right to left.
    let ar = get(format!("/thanks/{paid}?locale=ar"), "de-DE").await;
    assert!(ar.contains(r#"<html lang="ar" dir="rtl">"#), "{ar}");
    // A language without a translation, or none: English.
    let other = get(format!("/thanks/{paid}?locale=%3Cscript%3E"), "ko-KR").await;
    assert!(other.contains(r#"<html lang="en" dir="ltr">"#));
    assert!(other.contains("Thank you for your donation"));
    // Still one script, by its hash, whatever the language.
    let (_, csp, _) = thanks(&w, &format!("/thanks/{paid}?locale=ja")).await;
    assert_eq!(csp.matches("'sha256-").count(), 1, "{csp}");
}
