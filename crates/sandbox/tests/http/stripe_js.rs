//! The sandbox's Stripe.js: `/v3/`, the Payment Element frame (its CSP, labels and no inline
//! code) and the 3-D Secure page's embedded mode.

use crate::harness::*;

async fn fetch(s: &Sandbox, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let r = s
        .http
        .get(format!("{}{path}", s.base))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap())
}

fn header<'a>(h: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// What a strict CSP without 'unsafe-inline'/'unsafe-eval' would block.
fn assert_csp_safe(name: &str, js: &str) {
    for banned in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "setAttribute('style'",
        "setAttribute(\"style\"",
        "style.cssText",
        "createElement('style')",
        "eval(",
        "new Function",
        "document.write",
    ] {
        assert!(!js.contains(banned), "{name} uses {banned}");
    }
}

#[tokio::test]
async fn the_script_is_served_as_javascript_with_a_short_cache() {
    let s = start().await;
    for path in ["/v3/", "/v3"] {
        let (status, h, body) = fetch(&s, path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(
            header(&h, "content-type"),
            "application/javascript; charset=utf-8"
        );
        assert_eq!(header(&h, "cache-control"), "public, max-age=300");
        assert_eq!(header(&h, "access-control-allow-origin"), "*");
        assert!(body.starts_with("//!"), "{path}");
        assert!(body.contains("window.Stripe = "));
        assert!(body.contains("document.currentScript"));
        assert!(body.contains("'Secure payment input frame'"));
        assert_csp_safe(path, &body);
    }
}

#[tokio::test]
async fn the_frame_page_has_a_strict_csp_labels_and_no_inline_code() {
    let s = start().await;
    let (status, h, html) = fetch(
        &s,
        "/v3/elements/payment?origin=https%3A%2F%2Fshop.test&frame=abc",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "content-type"), "text/html; charset=utf-8");
    assert_eq!(
        header(&h, "content-security-policy"),
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
         img-src 'self' data:; frame-ancestors *"
    );
    for (id, label, autocomplete) in [
        ("number", "Card number", "cc-number"),
        ("expiry", "Expiration date", "cc-exp"),
        ("cvc", "Security code", "cc-csc"),
        ("postal", "Postal code", "postal-code"),
    ] {
        assert!(
            html.contains(&format!("<label for=\"{id}\">{label}</label>")),
            "{label}"
        );
        let input = html
            .split(&format!("<input id=\"{id}\""))
            .nth(1)
            .and_then(|rest| rest.split('>').next())
            .unwrap_or_else(|| panic!("no input #{id}"));
        assert!(
            input.contains(&format!("autocomplete=\"{autocomplete}\"")),
            "{id}"
        );
        assert!(
            input.contains(&format!("aria-describedby=\"{id}-error\"")),
            "{id}"
        );
        if id != "postal" {
            assert!(input.contains("inputmode=\"numeric\""), "{id}");
        }
        assert!(html.contains(&format!(
            "<p id=\"{id}-error\" class=\"error\" role=\"alert\">"
        )));
    }
    assert!(html.contains("placeholder=\"MM / YY\""));
    // Under its CSP only its own files load: no inline script, style or handler.
    assert!(html.contains("<script src=\"/v3/elements/payment.js\" defer></script>"));
    assert!(html.contains("<link rel=\"stylesheet\" href=\"/v3/elements/payment.css\">"));
    assert_eq!(html.matches("<script").count(), 1);
    assert!(!html.contains("<style") && !html.contains(" style="));
    let handler = html.split(" on").skip(1).any(|rest| {
        let name: String = rest.chars().take_while(char::is_ascii_lowercase).collect();
        !name.is_empty() && rest[name.len()..].starts_with('=')
    });
    assert!(!handler, "an inline event handler");

    let (status, h, js) = fetch(&s, "/v3/elements/payment.js").await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&h, "content-type"),
        "application/javascript; charset=utf-8"
    );
    assert!(js.contains("fetch('/v1/confirmation_tokens'"));
    assert_csp_safe("payment.js", &js);
    let (status, h, css) = fetch(&s, "/v3/elements/payment.css").await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "content-type"), "text/css; charset=utf-8");
    assert!(css.contains("font-size: max(16px, var(--sbx-font-size-base))"));
    let (status, _, js) = fetch(&s, "/v3/elements/three_d_secure.js").await;
    assert_eq!(status, 200);
    assert_csp_safe("three_d_secure.js", &js);
}

#[tokio::test]
async fn three_d_secure_embedded_mode_posts_to_the_parent_instead_of_redirecting() {
    let s = start().await;
    for (outcome, status) in [("complete", "succeeded"), ("fail", "failed")] {
        let pi = s.pay("4000002500003155", "1500").await.expect(200);
        let id = pi["id"].as_str().unwrap();
        let secret = pi["client_secret"].as_str().unwrap();
        let url = pi["next_action"]["redirect_to_url"]["url"]
            .as_str()
            .unwrap();
        let page = s
            .http
            .get(format!(
                "{url}&embedded=1&origin=https%3A%2F%2Fshop.test&frame=m1"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let csp = header(page.headers(), "content-security-policy").to_owned();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors *"),
            "{csp}"
        );
        let html = page.text().await.unwrap();
        assert!(html.contains("<input type=\"hidden\" name=\"embedded\" value=\"1\">"));
        assert!(
            html.contains("<input type=\"hidden\" name=\"origin\" value=\"https://shop.test\">")
        );
        assert!(html.contains("<input type=\"hidden\" name=\"frame\" value=\"m1\">"));
        assert!(html.contains("Complete authentication") && html.contains("Fail authentication"));
        let r = s
            .http
            .post(format!("{}/sandbox/3ds/{id}", s.base))
            .form(&[
                ("client_secret", secret),
                ("outcome", outcome),
                ("embedded", "1"),
                ("origin", "https://shop.test"),
                ("frame", "m1"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "no redirect inside the modal");
        assert!(r.headers().get("location").is_none());
        let html = r.text().await.unwrap();
        assert!(
            html.contains(&format!(
                "<body data-outcome=\"{status}\" data-origin=\"https://shop.test\" data-frame=\"m1\">"
            )),
            "{html}"
        );
        assert!(html.contains("<script src=\"/v3/elements/three_d_secure.js\" defer></script>"));
        let after = s
            .get(&format!("/v1/payment_intents/{id}"), &[])
            .await
            .expect(200);
        let expected = if outcome == "complete" {
            "succeeded"
        } else {
            "requires_payment_method"
        };
        assert_eq!(after["status"], expected);
    }
    // What the page echoes is escaped.
    let pi = s.pay("4000002500003155", "100").await.expect(200);
    let url = pi["next_action"]["redirect_to_url"]["url"]
        .as_str()
        .unwrap();
    let html = s
        .http
        .get(format!(
            "{url}&embedded=1&origin=%22%3E%3Cscript%3E&frame=x"
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("\"><script>"), "{html}");
}
