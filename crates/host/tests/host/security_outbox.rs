//! Attacks on the mail outbox: a hundred messages the mail server keeps refusing (the sign-in
//! form lets anyone queue them) must not stop a receipt, a permanent refusal is given up at
//! once, and a message that keeps failing is given up after its tries. Against a fake SMTP
//! server on 127.0.0.1:0; runs on both databases.

use std::sync::{Arc, Mutex};

use paywidget_host::config::HostConfig;
use paywidget_host::store::NewMail;
use paywidget_testkit::fixtures;
use paywidget_testkit::world::{start_host_on, world, world_with, WebhookTarget};

/// An SMTP server that refuses `refused…@` recipients for now (451) and `gone…@` for good
/// (550), and records whom it delivered to.
async fn picky_smtp() -> (u16, Arc<Mutex<Vec<String>>>) {
    smtp_after(std::time::Duration::ZERO).await
}

/// [`picky_smtp`], greeting each connection only after `delay` (a slow mail server).
async fn smtp_after(delay: std::time::Duration) -> (u16, Arc<Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = got.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let sink = sink.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let (r, mut w) = stream.into_split();
                let mut lines = BufReader::new(r).lines();
                let _ = w.write_all(b"220 fake ESMTP\r\n").await;
                let (mut rcpt, mut in_data) = (String::new(), false);
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            sink.lock().unwrap().push(rcpt.clone());
                            let _ = w.write_all(b"250 queued\r\n").await;
                        }
                        continue;
                    }
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250-fake\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("RCPT TO") {
                        rcpt = line.clone();
                        if line.contains("<refused") {
                            b"451 4.3.0 try again later\r\n"
                        } else if line.contains("<gone") {
                            b"550 5.1.1 no such user\r\n"
                        } else {
                            b"250 ok\r\n"
                        }
                    } else if upper.starts_with("DATA") {
                        in_data = true;
                        b"354 go ahead\r\n"
                    } else if upper.starts_with("QUIT") {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        break;
                    } else {
                        b"250 ok\r\n"
                    };
                    if w.write_all(reply).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (port, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_mail_never_stops_the_others_and_is_given_up() {
    let w = world(WebhookTarget::None).await;
    let (port, got) = picky_smtp().await;
    let text = format!(
        "{}\n[mail]\nfrom = \"Hope <receipts@hope.example>\"\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\n",
        fixtures::host(&w.gateway, w.dir.path()).replace(
            &fixtures::db(w.dir.path(), "host"),
            &fixtures::db(w.dir.path(), "outbox-host")
        )
    );
    let config = HostConfig::parse(&text, |_| None).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (state, _base, _task) = start_host_on(config, listener, Arc::new(w.clock.clone())).await;
    let queue = |to: String| {
        let state = state.clone();
        async move {
            let mut tx = state.store.begin().await.unwrap();
            tx.queue_mail(&NewMail {
                session_id: "portal".into(),
                to,
                subject: "Your sign-in code".into(),
                body: "…".into(),
                created: 0,
            })
            .await
            .unwrap();
            tx.commit().await.unwrap();
        }
    };
    // A hundred and twenty messages the server keeps refusing, queued first.
    for i in 0..120 {
        queue(format!("refused{i}@example.org")).await;
    }
    paywidget_host::mail::send_outbox(&state).await;
    // A receipt queued after them goes out on the next pass.
    queue("donor@example.org".into()).await;
    queue("gone@example.org".into()).await;
    paywidget_host::mail::send_outbox(&state).await;
    assert!(
        got.lock()
            .unwrap()
            .iter()
            .any(|r| r.contains("donor@example.org")),
        "the receipt was delivered: {:?}",
        got.lock().unwrap()
    );
    sqlx::any::install_default_drivers();
    let url = fixtures::db(w.dir.path(), "outbox-host");
    let url = if url.starts_with("postgres") {
        url
    } else {
        format!("sqlite://{url}")
    };
    let db = sqlx::AnyPool::connect(&url).await.unwrap();
    let state_of = |to: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT sent FROM mail_outbox WHERE to_addr = $1")
                .bind(to)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        state_of("gone@example.org").await,
        -1,
        "550: given up at once"
    );
    assert_eq!(
        state_of("refused0@example.org").await,
        0,
        "451: waits its backoff"
    );
    // A message that keeps failing is given up after its tries (each after its backoff).
    for _ in 0..12 {
        w.clock.advance_secs(7 * 3600);
        paywidget_host::mail::send_outbox(&state).await;
    }
    assert_eq!(
        state_of("refused0@example.org").await,
        -1,
        "given up after ten tries"
    );
    let tries: i64 = sqlx::query_scalar("SELECT attempts FROM mail_outbox WHERE to_addr = $1")
        .bind("refused0@example.org")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(tries, paywidget_host::mail::MAX_MAIL_ATTEMPTS);
}

/// A mail server that takes seconds to answer must not hold anyone's request: a request only
/// queues its message, and the host's background relay delivers it. (Before the relay, the
/// sign-in answer waited for the whole SMTP conversation.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_mail_server_holds_no_request_and_the_relay_delivers() {
    let (port, got) = smtp_after(std::time::Duration::from_secs(3)).await;
    let w = world_with(WebhookTarget::Host, |gateway, dir| {
        format!(
            "{}\n[mail]\nfrom = \"Hope <receipts@hope.example>\"\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\n",
            fixtures::host(gateway, dir)
        )
    })
    .await;
    let started = std::time::Instant::now();
    let r = w
        .http
        .post(format!("{}/portal/sign-in", w.host))
        .form(&[("email", "ada@example.org")])
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(r.status(), 200);
    assert!(
        took < std::time::Duration::from_millis(1500),
        "the sign-in answer waited for the mail server: {took:?}"
    );
    // No one asks the outbox: the relay, woken by the request, delivers on its own.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !got
        .lock()
        .unwrap()
        .iter()
        .any(|r| r.contains("ada@example.org"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the relay delivered the sign-in mail"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
