//! JSON batching, `POST /{v1.0|beta}/$batch` (§9): inner requests answered like direct calls
//! and correlated by id, each throttled and logged on its own (an inner 429 with its own
//! `Retry-After` while the batch is 200), `dependsOn` and 424, and the batch-level 400s.

use std::time::Duration;

use graph_sim::{FaultKind, FaultRule, Quirks, ReportsThrottleConfig, SimConfig, SimHandle};
use serde_json::{json, Value};

use crate::common::{config, demo_token, get_json, graph_error, http, start, start_with_quirks};

/// POSTs `body` to `{base}/{version}/$batch`; returns the status and the JSON body.
async fn batch(sim: &SimHandle, token: Option<&str>, version: &str, body: &Value) -> (u16, Value) {
    let mut request = http()
        .post(format!("{}/{version}/$batch", sim.base_url()))
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("POST $batch");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json body"))
}

/// GETs of `urls`, ids "1", "2", … in order.
fn gets(urls: &[&str]) -> Value {
    let requests: Vec<Value> = urls
        .iter()
        .enumerate()
        .map(|(i, url)| json!({"id": (i + 1).to_string(), "method": "GET", "url": url}))
        .collect();
    json!({ "requests": requests })
}

/// The response with `id`.
fn response<'a>(body: &'a Value, id: &str) -> &'a Value {
    body["responses"]
        .as_array()
        .expect("responses")
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no response {id} in {body}"))
}

/// The ids of a batch's responses, in the order they came back.
fn response_ids(body: &Value) -> Vec<&str> {
    body["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn inner_responses_equal_direct_calls_and_come_back_by_id() {
    let sim = start(config()).await;
    let token = demo_token(&sim).await;
    let urls = [
        "/reports/userInsights/daily/activeUsers",
        "reports/userInsights/monthly/summary",
        "/reports/getAzureADApplicationSignInSummary(period='D7')",
    ];
    let (status, body) = batch(&sim, Some(&token), "beta", &gets(&urls)).await;
    assert_eq!(status, 200, "{body}");
    let ids = response_ids(&body);
    // §9: any order; the simulator answers in reverse so clients must correlate by id.
    assert_eq!(ids, ["3", "2", "1"]);
    for (i, url) in urls.iter().enumerate() {
        let inner = response(&body, &(i + 1).to_string());
        assert_eq!(inner["status"], 200, "{url}");
        assert!(
            inner["headers"]["Content-Type"]
                .as_str()
                .unwrap()
                .starts_with("application/json"),
            "{inner}"
        );
        let direct = get_json(
            &sim,
            &token,
            &format!("/beta/{}", url.trim_start_matches('/')),
        )
        .await;
        assert_eq!(inner["body"]["value"], direct["value"], "{url}");
    }
    // Each inner request is logged as its own route, marked with its batch, before the batch.
    let log = sim.requests();
    let batch_record = log
        .iter()
        .find(|r| r.route == "batch")
        .expect("batch logged");
    assert_eq!(batch_record.in_batch, None);
    assert_eq!(batch_record.status, 200);
    assert!(batch_record.body_bytes > 0);
    let inner: Vec<_> = log.iter().filter(|r| r.in_batch.is_some()).collect();
    assert_eq!(inner.len(), 3);
    assert_eq!(inner[0].route, "userInsights");
    assert_eq!(
        inner[0].path_and_query,
        "/beta/reports/userInsights/daily/activeUsers"
    );
    assert_eq!(inner[2].route, "applicationSignInSummary");
    assert!(inner
        .iter()
        .all(|r| r.status == 200 && r.had_bearer && r.body_bytes > 0));
}

#[tokio::test]
async fn inner_requests_are_throttled_one_by_one_while_the_batch_is_200() {
    let sim = start(SimConfig {
        reports_throttle: ReportsThrottleConfig::with_limit(5, Duration::from_secs(60)),
        ..config()
    })
    .await;
    let token = demo_token(&sim).await;
    let summary = "/reports/getRelyingPartyDetailedSummary(period='D7')";
    let (status, body) = batch(&sim, Some(&token), "v1.0", &gets(&[summary; 7])).await;
    assert_eq!(status, 200, "{body}");
    let statuses: Vec<u64> = (1..=7)
        .map(|i| response(&body, &i.to_string())["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429]);
    let throttled = response(&body, "6");
    let retry_after = throttled["headers"]["Retry-After"]
        .as_str()
        .expect("Retry-After as a string");
    assert!(retry_after.parse::<u64>().unwrap() >= 1, "{retry_after}");
    let (code, _) = graph_error(&throttled["body"]);
    assert_eq!(code, "TooManyRequests");
    // The batch itself does not count against the budget; its inner requests do, and the
    // log shows the two 429s as requests of their route.
    let log = sim.requests();
    let refused = log
        .iter()
        .filter(|r| r.route == "relyingPartyDetailedSummary" && r.status == 429)
        .count();
    assert_eq!(refused, 2);
}

#[tokio::test]
async fn a_fault_on_the_inner_route_hits_the_inner_request() {
    let sim = start_with_quirks(Quirks {
        batch_retry_after_as_number: true,
        batch_reverse_responses: false,
        ..Quirks::default()
    })
    .await;
    sim.faults().inject(
        FaultRule::new(
            "userInsights",
            FaultKind::Throttle {
                retry_after: Some("3".into()),
            },
        )
        .skip(1)
        .times(1),
    );
    let token = demo_token(&sim).await;
    let urls = [
        "/reports/userInsights/daily/signUps",
        "/reports/userInsights/daily/summary",
        "/reports/userInsights/daily/userCount",
    ];
    let (status, body) = batch(&sim, Some(&token), "beta", &gets(&urls)).await;
    assert_eq!(status, 200);
    let ids = response_ids(&body);
    assert_eq!(ids, ["1", "2", "3"], "request order with the quirk off");
    assert_eq!(response(&body, "1")["status"], 200);
    assert_eq!(response(&body, "2")["status"], 429);
    assert_eq!(response(&body, "2")["headers"]["Retry-After"], json!(3.0));
    assert_eq!(response(&body, "3")["status"], 200);
}

#[tokio::test]
async fn a_failed_dependency_answers_424() {
    let sim = start(config()).await;
    let token = demo_token(&sim).await;
    let body = json!({"requests": [
        {"id": "a", "method": "GET", "url": "/reports/userInsights/daily/nothingHere", "dependsOn": []},
        {"id": "b", "method": "GET", "url": "/reports/userInsights/daily/signUps", "dependsOn": ["a"]},
        {"id": "c", "method": "GET", "url": "/reports/userInsights/daily/userCount"},
    ]});
    let (status, body) = batch(&sim, Some(&token), "beta", &body).await;
    assert_eq!(status, 200);
    assert_eq!(response(&body, "a")["status"], 400);
    assert_eq!(response(&body, "b")["status"], 424);
    assert_eq!(response(&body, "c")["status"], 200);
}

#[tokio::test]
async fn malformed_and_oversized_batches_are_400() {
    let sim = start(config()).await;
    let token = demo_token(&sim).await;
    let url = "/reports/userInsights/daily/userCount";
    let (status, body) = batch(&sim, Some(&token), "beta", &gets(&[url; 21])).await;
    assert_eq!(status, 400);
    let (code, message) = graph_error(&body);
    assert_eq!(code, "BadRequest");
    assert!(message.contains("20"), "{message}");
    assert_eq!(
        batch(&sim, Some(&token), "beta", &gets(&[url; 20])).await.0,
        200
    );
    for bad in [
        json!({"requests": [{"id": "1", "url": url}]}),
        json!({"requests": [{"id": "1", "method": "GET", "url": url}, {"id": "1", "method": "GET", "url": url}]}),
        json!({"requests": [{"id": "1", "method": "POST", "url": url, "body": {}}]}),
        json!({"requets": []}),
    ] {
        let (status, body) = batch(&sim, Some(&token), "beta", &bad).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(graph_error(&body).0, "BadRequest");
    }
    let not_json = http()
        .post(format!("{}/beta/$batch", sim.base_url()))
        .bearer_auth(&token)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    let wrong_method = http()
        .get(format!("{}/beta/$batch", sim.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
}

#[tokio::test]
async fn absolute_inner_urls_are_refused_unless_the_quirk_allows_them() {
    for accepts in [false, true] {
        let sim = start_with_quirks(Quirks {
            batch_accepts_absolute_urls: accepts,
            ..Quirks::default()
        })
        .await;
        let token = demo_token(&sim).await;
        let absolute = format!(
            "{}/beta/reports/userInsights/daily/userCount",
            sim.base_url()
        );
        let (status, body) = batch(&sim, Some(&token), "beta", &gets(&[&absolute])).await;
        assert_eq!(status, 200);
        let expected = if accepts { 200 } else { 400 };
        assert_eq!(response(&body, "1")["status"], expected, "{body}");
    }
}

#[tokio::test]
async fn the_token_is_checked_on_the_batch_or_on_each_inner_request() {
    let url = "/reports/userInsights/daily/userCount";
    let sim = start(config()).await;
    let (status, body) = batch(&sim, None, "beta", &gets(&[url])).await;
    assert_eq!(status, 401);
    assert_eq!(graph_error(&body).0, "InvalidAuthenticationToken");

    let sim = start_with_quirks(Quirks {
        batch_envelope_authenticates: false,
        ..Quirks::default()
    })
    .await;
    let (status, body) = batch(&sim, None, "beta", &gets(&[url, url])).await;
    assert_eq!(status, 200);
    assert_eq!(response(&body, "1")["status"], 401);
    assert_eq!(response(&body, "2")["status"], 401);
}
