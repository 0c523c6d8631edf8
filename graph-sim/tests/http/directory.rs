//! `/applications` and `/servicePrincipals`: auth, paging, `$select`, `$top`, `$count`,
//! headers, unknown routes and throttling (§7, §10).

use std::collections::HashSet;
use std::time::Duration;

use graph_sim::{SimClient, SimConfig, ThrottleConfig, GRAPH_JSON_CONTENT_TYPE};
use serde_json::Value;

use crate::common::{
    all_pages, config, demo_token, get, get_json, graph_error, http, start, token_for,
};

#[tokio::test]
async fn missing_bad_revoked_and_expired_tokens_get_401() {
    let sim = start(SimConfig {
        token_lifetime: Duration::from_secs(1),
        ..config()
    })
    .await;
    let url = format!("{}/v1.0/applications", sim.base_url());

    let response = http().get(&url).send().await.expect("send");
    assert_eq!(response.status(), 401);
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        graph_error(&body),
        ("InvalidAuthenticationToken", "Access token is empty.")
    );

    let response = get(&sim, "not-a-jwt", "/v1.0/applications").await;
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("www-authenticate"));

    let token = demo_token(&sim).await;
    sim.revoke_tokens();
    let response = get(&sim, &token, "/v1.0/applications").await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.expect("json");
    assert_eq!(graph_error(&body).0, "InvalidAuthenticationToken");

    let token = demo_token(&sim).await;
    assert_eq!(get(&sim, &token, "/v1.0/applications").await.status(), 200);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let response = get(&sim, &token, "/v1.0/applications").await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        graph_error(&body).1,
        "Lifetime validation failed, the token is expired."
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn roles_decide_between_403_and_200() {
    let reports_only = "1b1b1b1b-2222-4333-8444-555555555555";
    let directory_only = "2c2c2c2c-2222-4333-8444-555555555555";
    let mut cfg = config();
    cfg.clients
        .push(SimClient::new(reports_only, "s1", &["Reports.Read.All"]));
    cfg.clients.push(SimClient::new(
        directory_only,
        "s2",
        &["Directory.Read.All"],
    ));
    let sim = start(cfg).await;

    let token = token_for(&sim, reports_only, "s1").await;
    let response = get(&sim, &token, "/v1.0/servicePrincipals").await;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        graph_error(&body),
        (
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation."
        )
    );

    let token = token_for(&sim, directory_only, "s2").await;
    assert_eq!(
        get(&sim, &token, "/v1.0/servicePrincipals").await.status(),
        200
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn responses_carry_graph_headers() {
    let sim = start(config()).await;
    let token = demo_token(&sim).await;
    let response = http()
        .get(format!("{}/v1.0/applications?$top=5", sim.base_url()))
        .bearer_auth(&token)
        .header("client-request-id", "0f0f0f0f-aaaa-4bbb-8ccc-dddddddddddd")
        .send()
        .await
        .expect("send");
    let h = response.headers();
    let header = |name: &str| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    assert_eq!(header("content-type"), GRAPH_JSON_CONTENT_TYPE);
    assert_eq!(
        header("client-request-id"),
        "0f0f0f0f-aaaa-4bbb-8ccc-dddddddddddd"
    );
    assert!(uuid::Uuid::parse_str(header("request-id")).is_ok());
    assert!(header("x-ms-ags-diagnostic").contains("ServerInfo"));
    assert_eq!(header("x-ms-resource-unit"), "1");

    let response = get(&sim, &token, "/v1.0/applications").await;
    let h = response.headers();
    let request_id = h
        .get("request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("a");
    let echoed = h
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("b");
    assert_eq!(request_id, echoed);
    assert_eq!(
        h.get("x-ms-resource-unit").and_then(|v| v.to_str().ok()),
        Some("2")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn top_bounds_default_and_messages() {
    let sim = start(config()).await;
    let token = demo_token(&sim).await;
    let page = get_json(&sim, &token, "/v1.0/applications").await;
    assert_eq!(page["value"].as_array().map(Vec::len), Some(100));
    assert_eq!(
        page["@odata.context"],
        format!("{}/v1.0/$metadata#applications", sim.base_url())
    );
    let page = get_json(&sim, &token, "/v1.0/applications?$top=999").await;
    assert_eq!(page["value"].as_array().map(Vec::len), Some(300));
    assert!(page.get("@odata.nextLink").is_none());

    for bad in ["0", "1000", "-5"] {
        let response = get(&sim, &token, &format!("/v1.0/applications?$top={bad}")).await;
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.expect("json");
        assert_eq!(
            graph_error(&body).1,
            format!("Invalid page size specified: '{bad}'. Must be between 1 and 999 inclusive.")
        );
    }
    let response = get(&sim, &token, "/v1.0/applications?$skiptoken=bogus").await;
    assert_eq!(response.status(), 400);
    sim.shutdown().await;
}

#[tokio::test]
async fn paging_visits_every_application_exactly_once() {
    let sim = start(SimConfig {
        applications: 2_500,
        ..config()
    })
    .await;
    let token = demo_token(&sim).await;
    let query = "$select=id,appId,displayName,passwordCredentials,keyCredentials&$top=999";
    let pages = all_pages(&sim, &token, &format!("/v1.0/applications?{query}")).await;
    assert_eq!(pages.len(), 3);
    let sizes: Vec<usize> = pages
        .iter()
        .map(|p| p["value"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(sizes, vec![999, 999, 502]);
    for page in &pages[..2] {
        let next = page["@odata.nextLink"].as_str().expect("nextLink");
        assert!(
            next.starts_with(&format!(
                "{}/v1.0/applications?{query}&$skiptoken=",
                sim.base_url()
            )),
            "{next}"
        );
    }
    let mut seen = HashSet::new();
    for item in pages
        .iter()
        .flat_map(|p| p["value"].as_array().into_iter().flatten())
    {
        assert!(
            seen.insert(item["id"].as_str().expect("id").to_owned()),
            "duplicate {item}"
        );
    }
    let expected: HashSet<String> = sim
        .tenant()
        .applications
        .iter()
        .map(|a| a.id.clone())
        .collect();
    assert_eq!(seen, expected);
    sim.shutdown().await;
}

#[tokio::test]
async fn select_limits_properties_and_rejects_unknown_ones() {
    let sim = start(config()).await;
    let token = demo_token(&sim).await;
    let page = get_json(
        &sim,
        &token,
        "/v1.0/servicePrincipals?$select=appId,DISPLAYNAME&$top=3",
    )
    .await;
    assert_eq!(
        page["@odata.context"],
        format!(
            "{}/v1.0/$metadata#servicePrincipals(appId,displayName)",
            sim.base_url()
        )
    );
    for item in page["value"].as_array().expect("value") {
        let keys: Vec<&String> = item.as_object().expect("object").keys().collect();
        assert_eq!(keys.len(), 2, "{item}");
        assert!(item["appId"].is_string() && item["displayName"].is_string());
    }
    let full = get_json(&sim, &token, "/v1.0/applications?$top=1").await;
    let app = &full["value"][0];
    for key in [
        "id",
        "appId",
        "displayName",
        "createdDateTime",
        "signInAudience",
        "publisherDomain",
        "passwordCredentials",
        "keyCredentials",
    ] {
        assert!(app.get(key).is_some(), "{key} missing from {app}");
    }

    let response = get(&sim, &token, "/v1.0/applications?$select=id,x").await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        graph_error(&body),
        (
            "Request_BadRequest",
            "Could not find a property named 'x' on type 'microsoft.graph.application'."
        )
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn count_needs_consistency_level() {
    let sim = start(SimConfig {
        applications: 250,
        ..config()
    })
    .await;
    let token = demo_token(&sim).await;

    let response = get(&sim, &token, "/v1.0/applications?$count=true").await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert!(graph_error(&body).1.contains("ConsistencyLevel"));

    let first: Value = http()
        .get(format!(
            "{}/v1.0/applications?$count=true&$top=200",
            sim.base_url()
        ))
        .bearer_auth(&token)
        .header("ConsistencyLevel", "eventual")
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(first["@odata.count"].as_u64(), Some(250));
    let next = first["@odata.nextLink"]
        .as_str()
        .expect("nextLink")
        .to_owned();
    let second: Value = http()
        .get(&next)
        .bearer_auth(&token)
        .header("ConsistencyLevel", "eventual")
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert!(second.get("@odata.count").is_none());
    assert_eq!(second["value"].as_array().map(Vec::len), Some(50));
    // The header is not implied on nextLink requests (paging.md): without it, page 2 fails.
    assert_eq!(
        http()
            .get(&next)
            .bearer_auth(&token)
            .send()
            .await
            .expect("send")
            .status(),
        400
    );

    let response = get(&sim, &token, "/v1.0/applications/$count").await;
    assert_eq!(response.status(), 400);
    let response = http()
        .get(format!("{}/v1.0/applications/%24count", sim.base_url()))
        .bearer_auth(&token)
        .header("ConsistencyLevel", "eventual")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    assert!(response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .starts_with("text/plain"));
    assert_eq!(response.text().await.expect("text"), "250");
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_routes_and_path_casing() {
    let sim = start(config()).await;
    let token = demo_token(&sim).await;
    assert_eq!(
        get(&sim, &token, "/V1.0/ServicePrincipals?$top=1")
            .await
            .status(),
        200
    );

    let response = get(&sim, &token, "/v1.0/applicationz").await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        graph_error(&body),
        (
            "BadRequest",
            "Resource not found for the segment 'applicationz'."
        )
    );
    // Routing happens before authentication, as on Graph.
    let response = http()
        .get(format!("{}/v1.0/nothing", sim.base_url()))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 400);

    let response = get(&sim, &token, "/favicon.ico").await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.expect("json");
    graph_error(&body);
    let log = sim.requests();
    assert_eq!(log.last().map(|r| r.route.as_str()), Some("unknown"));
    sim.shutdown().await;
}

#[tokio::test]
async fn resource_unit_bucket_throttles_with_graph_headers() {
    let sim = start(SimConfig {
        throttle: ThrottleConfig::with_limit(4, Duration::from_secs(10)),
        ..config()
    })
    .await;
    let token = demo_token(&sim).await;
    let first = get(&sim, &token, "/v1.0/applications").await;
    assert_eq!(first.status(), 200);
    assert!(first
        .headers()
        .get("x-ms-throttle-limit-percentage")
        .is_none());
    let second = get(&sim, &token, "/v1.0/applications").await;
    assert_eq!(second.status(), 200);
    assert!(second
        .headers()
        .get("x-ms-throttle-limit-percentage")
        .is_some());
    let third = get(&sim, &token, "/v1.0/applications").await;
    assert_eq!(third.status(), 429);
    let header = |name: &str| {
        third
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        header("x-ms-throttle-information"),
        "ResourceUnitLimitExceeded"
    );
    assert!(header("x-ms-throttle-scope").starts_with("Tenant_Application/Read/"));
    let retry: f64 = header("retry-after").parse().expect("numeric Retry-After");
    assert!((1.0..=10.0).contains(&retry), "{retry}");
    let body: Value = third.json().await.expect("json");
    assert_eq!(graph_error(&body).0, "TooManyRequests");
    assert_eq!(body["error"]["innerError"]["status"], "429");
    let statuses: Vec<u16> = sim
        .requests()
        .iter()
        .filter(|r| r.route == "applications")
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![200, 200, 429]);
    assert!(sim
        .requests()
        .iter()
        .filter(|r| r.route == "applications")
        .all(|r| r.had_bearer));
    sim.shutdown().await;
}

#[tokio::test]
async fn same_seed_same_bytes_other_seed_other_bytes() {
    async fn body(seed: u64) -> String {
        let sim = start(SimConfig { seed, ..config() }).await;
        let token = demo_token(&sim).await;
        let mut text = String::new();
        for path in [
            "/v1.0/applications?$top=999",
            "/v1.0/servicePrincipals?$top=999",
        ] {
            let page = get(&sim, &token, path).await.text().await.expect("text");
            text.push_str(&page.replace(sim.base_url(), "{base}"));
        }
        sim.shutdown().await;
        text
    }
    let a = body(7).await;
    assert_eq!(a, body(7).await);
    assert_ne!(a, body(8).await);
}
