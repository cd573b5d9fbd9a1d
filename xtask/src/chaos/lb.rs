//! The soak's load balancer: round robin over the host processes, no sticky sessions, the next
//! host on a refused connection (a killed host). The gateway's webhooks come through it too,
//! and there it injects their faults: deliveries dropped (answered 503, so the gateway retries),
//! delayed (so later events overtake them: reordered), duplicated k times, and applied but
//! answered 500 (the gateway delivers again).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::Rng;

/// Fractions of webhook deliveries to disturb.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct WebhookFaults {
    pub(crate) drop: f64,
    pub(crate) delay: f64,
    pub(crate) delay_max_ms: u64,
    pub(crate) duplicate: f64,
    pub(crate) duplicates: u32,
    pub(crate) lost_ack: f64,
}

/// What the balancer did to webhooks.
#[derive(Debug, Default)]
pub(crate) struct WebhookCounts {
    pub(crate) delivered: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) delayed: AtomicU64,
    pub(crate) duplicated: AtomicU64,
    pub(crate) lost_acks: AtomicU64,
}

struct Lb {
    hosts: Vec<String>,
    next: AtomicUsize,
    http: reqwest::Client,
    faults: WebhookFaults,
    rng: Mutex<Rng>,
    counts: Arc<WebhookCounts>,
}

/// Serves the balancer on `listener` in front of `hosts` (base URLs).
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    hosts: Vec<String>,
    faults: WebhookFaults,
    seed: u64,
    counts: Arc<WebhookCounts>,
) {
    let lb = Arc::new(Lb {
        hosts,
        next: AtomicUsize::new(0),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("an HTTP client"),
        faults,
        rng: Mutex::new(Rng::new(seed ^ 0x1b)),
        counts,
    });
    let app = axum::Router::new().fallback(handle).with_state(lb);
    let _ = axum::serve(listener, app).await;
}

async fn handle(
    State(lb): State<Arc<Lb>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if uri.path() != "/webhooks/gateway" {
        return forward(&lb, &method, &uri, &headers, body).await;
    }
    let f = lb.faults;
    let (drop, delay_ms, duplicate, lost) = {
        let mut rng = lb.rng.lock().expect("rng");
        (
            rng.chance(f.drop),
            rng.chance(f.delay)
                .then(|| rng.below(f.delay_max_ms.max(1))),
            rng.chance(f.duplicate),
            rng.chance(f.lost_ack),
        )
    };
    if drop {
        lb.counts.dropped.fetch_add(1, Ordering::Relaxed);
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    if let Some(ms) = delay_ms {
        lb.counts.delayed.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let answer = forward(&lb, &method, &uri, &headers, body.clone()).await;
    lb.counts.delivered.fetch_add(1, Ordering::Relaxed);
    if duplicate {
        lb.counts.duplicated.fetch_add(1, Ordering::Relaxed);
        for k in 0..f.duplicates {
            let (lb, method, uri, headers, body) = (
                lb.clone(),
                method.clone(),
                uri.clone(),
                headers.clone(),
                body.clone(),
            );
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(20 * u64::from(k + 1))).await;
                let _ = forward(&lb, &method, &uri, &headers, body).await;
            });
        }
    }
    if lost {
        lb.counts.lost_acks.fetch_add(1, Ordering::Relaxed);
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    answer
}

/// Sends the request to the next host, moving on while hosts refuse the connection.
async fn forward(
    lb: &Lb,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let first = lb.next.fetch_add(1, Ordering::Relaxed);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    for n in 0..lb.hosts.len() {
        let host = &lb.hosts[(first + n) % lb.hosts.len()];
        let mut req = lb.http.request(method.clone(), format!("{host}{path}"));
        for (name, value) in headers {
            if name != axum::http::header::HOST && name != axum::http::header::CONTENT_LENGTH {
                req = req.header(name, value);
            }
        }
        match req.body(body.clone()).send().await {
            Ok(r) => {
                let status = r.status();
                let content_type = r.headers().get(axum::http::header::CONTENT_TYPE).cloned();
                let bytes = r.bytes().await.unwrap_or_default();
                let mut response = (status, bytes).into_response();
                if let Some(ct) = content_type {
                    response
                        .headers_mut()
                        .insert(axum::http::header::CONTENT_TYPE, ct);
                }
                return response;
            }
            // Refused (killed host): the next one. A request that reached a host that then
            // died is the client's to retry, as with any balancer.
            Err(e) if e.is_connect() => continue,
            Err(_) => return StatusCode::BAD_GATEWAY.into_response(),
        }
    }
    StatusCode::BAD_GATEWAY.into_response()
}
