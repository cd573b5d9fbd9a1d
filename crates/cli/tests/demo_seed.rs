//! The demo's first run seeds three weeks of activity: run on a new state folder, then read
//! back through the dashboards as a newcomer would — payments on most of the last 21 days
//! (some declined first), a dispute, a licence whose second activation was refused for lack of
//! seats — and a second start on the same folder seeds nothing more.

use std::collections::BTreeSet;

use paywidget_cli::demo::{self, Listeners};

async fn listener() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()
}

/// Signs in through a one-time dashboard link: the session cookie.
async fn sign_in(http: &reqwest::Client, link: &str) -> String {
    let (base, token) = link.split_once("/admin/login?token=").unwrap();
    let r = http
        .post(format!("{base}/admin/login"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

async fn page(http: &reqwest::Client, cookie: &str, url: &str) -> String {
    let r = http.get(url).header("cookie", cookie).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_demo_shows_three_weeks_of_activity() {
    let root = paywidget_testkit::workspace_root();
    let state = tempfile::tempdir().unwrap();
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(
        dist.path().join("index.html"),
        "<!doctype html><title>w</title>",
    )
    .unwrap();
    let options = demo::Options {
        dist: dist.path().to_path_buf(),
        state: state.path().to_path_buf(),
        seed: true,
        ..demo::Options::defaults(&root)
    };
    let listeners = || async {
        Listeners {
            sandbox: listener().await,
            host: listener().await,
            nonprofit: listener().await,
            licence: listener().await,
        }
    };
    let started = std::time::Instant::now();
    let (urls, _stopped) = demo::start(&options, listeners().await).await.unwrap();
    let seeded = urls.seeded.clone().expect("a new folder is seeded");
    println!(
        "seeded {seeded:?} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(seeded.paid >= 40, "{seeded:?}");
    assert!(seeded.declined >= 3, "{seeded:?}");
    assert_eq!(seeded.refused_activations, 1);

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let link = |m: &str| {
        urls.owner_links
            .iter()
            .find(|(merchant, _, _)| merchant == m)
            .map(|(_, _, l)| l.clone())
            .unwrap()
    };
    let hope = sign_in(&http, &link("hope")).await;
    // Payments on most of the last three weeks' days, not all today.
    let list = page(
        &http,
        &hope,
        &format!("{}/admin/payments?status=fulfilled", urls.host),
    )
    .await;
    let days: BTreeSet<&str> = list
        .split("<td><a href=\"/admin/payments/")
        .skip(1)
        .filter_map(|row| row.split("\">").nth(1))
        .map(|rest| &rest[..10])
        .collect();
    assert!(days.len() >= 14, "{days:?}");
    // The overview's chart and its figures; the dispute with its deadline.
    let home = page(&http, &hope, &format!("{}/admin", urls.host)).await;
    assert!(home.contains("Gross per day in USD"), "{home}");
    let disputes = page(&http, &hope, &format!("{}/admin/disputes", urls.host)).await;
    assert!(
        disputes.contains("fraudulent") && disputes.contains("75.00"),
        "{disputes}"
    );
    // Monthly gifts from two months ago renewed; one renewal failed and was recovered.
    assert_eq!(seeded.sustainers, 3, "{seeded:?}");
    let recurring = page(&http, &hope, &format!("{}/admin/gifts", urls.host)).await;
    assert!(
        recurring.contains("<strong>1</strong> could not be charged at first")
            && recurring.contains("recovery rate 100.00 %"),
        "{recurring}"
    );
    // Margaret's gift of nine weeks ago: her first receipt and two renewals' receipts.
    let receipts = std::fs::read_dir(state.path().join("outbox"))
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
        .filter(|m| m.contains("To: margaret@example.org") && m.contains("Receipt"))
        .count();
    assert!(receipts >= 3, "{receipts} receipts mailed to Margaret");
    // The licence seller's support finds the refused activation and its reason.
    let acme = sign_in(&http, &link("acme")).await;
    let found = page(
        &http,
        &acme,
        &format!("{}/admin/licences?q=dev15%40example.com", urls.host),
    )
    .await;
    let id = found
        .split("/admin/licences/cs_")
        .nth(1)
        .map(|rest| format!("cs_{}", &rest[..32]))
        .expect("the licence is found");
    let doctor = page(&http, &acme, &format!("{}/admin/licences/{id}", urls.host)).await;
    assert!(
        doctor.contains("desktop-15") && doctor.contains("refused"),
        "{doctor}"
    );
    drop(_stopped);
}
