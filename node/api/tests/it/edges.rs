use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use filiera_api::{
    Admission, ApiLimits, ApiState, NodeHandle, Progress, Rejection, RejectionKind, router,
};
use filiera_storage::testkit::ChainBuilder;
use filiera_storage::{StorageConfig, Store};
use filiera_types::SignedTransaction;
use std::net::SocketAddr;
use std::sync::Arc;
use tower::ServiceExt;

struct Refusing;

impl NodeHandle for Refusing {
    fn submit(&self, _: SignedTransaction) -> Admission {
        Box::pin(async {
            Err(Rejection {
                kind: RejectionKind::Busy,
                message: "test".into(),
            })
        })
    }
    fn progress(&self) -> Progress {
        Progress {
            height: 1,
            round: 0,
            peers: 0,
            mempool_txs: 0,
        }
    }
    fn metrics(&self) -> String {
        "filiera_height 1\n".into()
    }
    fn is_pending(
        &self,
        _: filiera_types::Hash,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>> {
        Box::pin(async { false })
    }
}

fn app(dir: &std::path::Path, limits: ApiLimits) -> axum::Router {
    router(state(dir), limits)
}

fn state(dir: &std::path::Path) -> ApiState {
    let store = Store::open(dir, StorageConfig::default()).unwrap();
    let chain = ChainBuilder::new();
    chain.init(&store).unwrap();
    chain.commit(&store, Default::default(), vec![]).unwrap();
    {
        ApiState {
            node: Arc::new(Refusing),
            store: Arc::new(store),
            chain_id: "filiera-test".into(),
            moniker: "test".into(),
            public_base_url: "https://id.example.it".into(),
            tx_bytes_max: 1024,
            heavy_reads: Arc::new(tokio::sync::Semaphore::new(filiera_api::HEAVY_READS_MAX)),
            epcis: Default::default(),
            bundles: Default::default(),
            allowed_peers: Default::default(),
            catalogue: Arc::new(filiera_types::genesis::Catalogue {
                schemes: vec![],
                products: vec![],
                locations: vec![],
                rules: vec![],
            }),
        }
    }
}

fn request(uri: &str, from: [u8; 4]) -> Request<Body> {
    let mut r = Request::get(uri)
        .header("origin", "https://shop.example")
        .body(Body::empty())
        .unwrap();
    r.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((from, 40_000))));
    r
}

async fn body(r: axum::response::Response) -> String {
    let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn each_address_is_rate_limited_with_a_json_429_and_cors_allows_reads() {
    let dir = tempfile::tempdir().unwrap();
    let limits = ApiLimits {
        rate_per_ip_per_s: 1,
        burst_per_ip: 3,
        request_timeout_ms: 5_000,
        ..ApiLimits::default()
    };
    let app = app(dir.path(), limits);
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let r = app
            .clone()
            .oneshot(request("/v1/orgs/nobody", [10, 0, 0, 1]))
            .await
            .unwrap();
        statuses.push(r.status());
        if r.status() == StatusCode::NOT_FOUND {
            assert_eq!(
                r.headers().get("access-control-allow-origin").unwrap(),
                "*",
                "public reads are open to browsers"
            );
        }
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(body(r).await.contains("\"code\":\"rate_limited\""));
        }
    }
    assert_eq!(
        &statuses[..3],
        &[StatusCode::NOT_FOUND; 3],
        "the burst passes"
    );
    assert_eq!(
        &statuses[3..],
        &[StatusCode::TOO_MANY_REQUESTS; 2],
        "then 429"
    );
    // Another address has its own allowance; health is never limited.
    let other = app
        .clone()
        .oneshot(request("/v1/orgs/nobody", [10, 0, 0, 2]))
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    let health = app
        .clone()
        .oneshot(request("/health", [10, 0, 0, 1]))
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn oversized_bodies_bad_identifiers_and_refusals_get_clear_answers() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), ApiLimits::default());
    let mut big = Request::post("/v1/txs")
        .body(Body::from(vec![0u8; 4096]))
        .unwrap();
    big.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 3], 1))));
    let r = app.clone().oneshot(big).await.unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // EPCIS capture: its own, larger body limit, and a token before anything.
    let capture = |body: Vec<u8>| {
        let mut r = Request::post("/epcis/capture")
            .header("authorization", "Bearer nobody")
            .body(Body::from(body))
            .unwrap();
        r.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 3], 1))));
        r
    };
    // The token is checked from the headers before the body is read: a
    // stranger's oversized body is refused as a stranger's (a member's, as
    // too large: the real-process test sends one).
    let r = app
        .clone()
        .oneshot(capture(vec![b' '; filiera_epcis::DOCUMENT_BYTES_MAX + 1]))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app.clone().oneshot(capture(b"{}".to_vec())).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(body(r).await.contains("\"code\":\"unauthorized\""));
    let mut junk = Request::post("/v1/txs")
        .body(Body::from(vec![1u8, 2, 3]))
        .unwrap();
    junk.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 3], 1))));
    let r = app.clone().oneshot(junk).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(body(r).await.contains("malformed_transaction"));
    // A GTIN with a wrong check digit, as HTML: a 400 page that names it, escaped.
    let mut page = request("/01/09521234100011/10/%3Cscript%3E", [10, 0, 0, 4]);
    page.headers_mut()
        .insert("accept", "text/html".parse().unwrap());
    let r = app.clone().oneshot(page).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = body(r).await;
    assert!(
        html.contains("GTIN") && !html.contains("<script>"),
        "{html}"
    );
    // A lot number with markup is refused as an identifier, never echoed raw.
    let mut page = request("/01/09521234100010/10/%3Cscript%3E", [10, 0, 0, 4]);
    page.headers_mut()
        .insert("accept", "text/html".parse().unwrap());
    let r = app.clone().oneshot(page).await.unwrap();
    let html = body(r).await;
    assert!(!html.contains("<script>"), "{html}");
    // An unknown lot: 404 JSON with a stable code.
    let r = app
        .clone()
        .oneshot(request("/01/09521234100010/10/L1", [10, 0, 0, 4]))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(body(r).await.contains("\"code\":\"not_found\""));
}

/// An EPCIS bearer token that crossed the network in clear is refused
/// before it is looked at; over TLS (or loopback) it is judged as usual.
#[tokio::test]
async fn bearer_tokens_are_refused_on_an_insecure_transport() {
    use filiera_api::{SecureTransport, Security, secure};
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), ApiLimits::default());
    let remote = std::net::IpAddr::from([192, 0, 2, 10]);
    let attempt = |transport: SecureTransport, uri: &str, post: bool| {
        let builder = if post {
            Request::post(uri)
        } else {
            Request::get(uri)
        };
        let mut r = from_peer(
            builder,
            b"{}".to_vec(),
            remote,
            &[("authorization", "Bearer some-token")],
        );
        r.extensions_mut().insert(transport);
        r
    };
    for (uri, post) in [("/epcis/capture", true), ("/epcis/capture/00", false)] {
        let r = app
            .clone()
            .oneshot(attempt(SecureTransport(false), uri, post))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{uri}");
        assert!(body(r).await.contains("\"code\":\"tls_required\""), "{uri}");
        let r = app
            .clone()
            .oneshot(attempt(SecureTransport(true), uri, post))
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "{uri}: the token is judged"
        );
    }
    // Which connections are secure: TLS; plain from loopback; plain from
    // elsewhere only when the operator says a proxy terminates TLS.
    let outside = SocketAddr::new(remote, 1);
    let local = SocketAddr::from(([127, 0, 0, 1], 1));
    let plain = Security::Plain {
        upstream_tls: false,
    };
    assert!(!secure(&plain, outside));
    assert!(secure(&plain, local));
    assert!(secure(&Security::Plain { upstream_tls: true }, outside));
}

/// `/metrics` describes the node's load and peers: the public listener does
/// not serve it, the operator's does (with `/health`).
#[tokio::test]
async fn metrics_are_served_only_by_the_operator_router() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path());
    let public = router(state.clone(), ApiLimits::default());
    let r = public
        .oneshot(request("/metrics", [10, 0, 0, 7]))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(!body(r).await.contains("filiera_height"));
    let operator = filiera_api::operator::router(state, &ApiLimits::default());
    for (path, expected) in [("/metrics", "filiera_height 1"), ("/health", "\"height\"")] {
        let r = operator
            .clone()
            .oneshot(request(path, [127, 0, 0, 1]))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert!(body(r).await.contains(expected), "{path}");
    }
}

/// The answer's status and error code.
async fn code_of(r: axum::response::Response) -> (u16, String) {
    let status = r.status().as_u16();
    // A snapshot's answer is borsh bytes, not text.
    let bytes = axum::body::to_bytes(r.into_body(), 1 << 24).await.unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let code = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["code"].as_str().map(str::to_owned))
        .unwrap_or_default();
    (status, code)
}

fn signed(uri: &str, header: &str) -> Request<Body> {
    let mut r = request(uri, [10, 0, 0, 9]);
    r.headers_mut().insert(
        filiera_api::peer_reads::PEER_SIGNATURE_HEADER,
        header.parse().unwrap(),
    );
    r
}

#[tokio::test]
async fn the_state_and_members_documents_go_only_to_who_may_read_them() {
    use filiera_api::peer_reads::peer_signature;
    let dir = tempfile::tempdir().unwrap();
    let stranger = filiera_types::SecretKey::from_seed(&[9; 32]);
    let let_in = filiera_types::SecretKey::from_seed(&[10; 32]);
    let mut state = state(dir.path());
    state.allowed_peers = Arc::new(std::sync::RwLock::new(vec![let_in.public_key()]));
    state
        .store
        .write_index(
            &Default::default(),
            Some(filiera_epcis::index::QUERY_INDEX_VERSION),
        )
        .unwrap();
    let public = router(state.clone(), ApiLimits::default());
    let operator = filiera_api::operator::router(state, &ApiLimits::default());
    let call = |app: &axum::Router, r: Request<Body>| {
        let app = app.clone();
        async move { code_of(app.oneshot(r).await.unwrap()).await }
    };
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let sign = |key: &filiera_types::SecretKey, path: &str, at: u64| {
        peer_signature(key, "filiera-test", path, at).unwrap()
    };

    // The snapshot: nobody's, a stranger's key, a stale or misdirected
    // signature are refused; a key this node lets in and the operator get it.
    let offer = "/v1/snapshot";
    assert_eq!(
        call(&public, request(offer, [10, 0, 0, 9])).await,
        (401, "unauthorized".into())
    );
    assert_eq!(
        call(&public, signed(offer, &sign(&stranger, offer, now_s))).await,
        (403, "not_allowed".into())
    );
    assert_eq!(
        call(&public, signed(offer, &sign(&let_in, offer, now_s - 600))).await,
        (401, "stale_signature".into())
    );
    assert_eq!(
        call(
            &public,
            signed(offer, &sign(&let_in, "/v1/snapshot/1/0", now_s))
        )
        .await,
        (401, "bad_signature".into())
    );
    assert_eq!(
        call(&public, signed(offer, &sign(&let_in, offer, now_s)))
            .await
            .0,
        200
    );
    let chunk = "/v1/snapshot/1/0";
    assert_eq!(call(&public, request(chunk, [10, 0, 0, 9])).await.0, 401);
    assert_eq!(
        call(&public, signed(chunk, &sign(&let_in, chunk, now_s)))
            .await
            .0,
        200
    );
    assert_eq!(call(&operator, request(offer, [127, 0, 0, 1])).await.0, 200);
    // The operator's unscoped reads answer this host only, even when the
    // listener is opened to a network for a remote Prometheus.
    assert_eq!(
        call(&operator, request(offer, [10, 0, 0, 2])).await,
        (403, "loopback_only".into())
    );
    assert_eq!(
        call(&operator, request("/metrics", [10, 0, 0, 2])).await.0,
        200
    );

    // A captured EPCIS document's proof and the EPCIS query: not to anyone;
    // consumer-page records stay public.
    let document = filiera_contract_api::keys::state_key(
        filiera_contract_api::contract_ids::LOTS,
        &filiera_contract_api::keys::epcis_event(&[3; 32]),
    );
    let proof = format!("/v1/proofs/{}", hex::encode(&document));
    assert_eq!(
        call(&public, request(&proof, [10, 0, 0, 9])).await,
        (401, "unauthorized".into())
    );
    assert_eq!(
        call(&operator, request(&proof, [127, 0, 0, 1])).await.0,
        200
    );
    let product = filiera_contract_api::keys::state_key(
        filiera_contract_api::contract_ids::LOTS,
        &filiera_contract_api::keys::product("09521234100010"),
    );
    let product = format!("/v1/proofs/{}", hex::encode(&product));
    assert_eq!(call(&public, request(&product, [10, 0, 0, 9])).await.0, 200);
    for path in [
        "/epcis/events",
        &format!("/epcis/events/{}", "03".repeat(32)),
    ] {
        assert_eq!(
            call(&public, request(path, [10, 0, 0, 9])).await,
            (401, "unauthorized".into()),
            "{path}"
        );
    }
    assert_eq!(
        call(&operator, request("/epcis/events", [127, 0, 0, 1]))
            .await
            .0,
        200
    );
    // An unknown token is refused, not read as anonymous.
    let mut with_token = request("/epcis/events", [127, 0, 0, 1]);
    with_token
        .headers_mut()
        .insert("authorization", "Bearer not-a-token".parse().unwrap());
    assert_eq!(
        call(&public, with_token).await,
        (401, "unauthorized".into())
    );
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_the_router_serves() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), ApiLimits::default());
    let r = app
        .clone()
        .oneshot(request("/openapi.json", [10, 0, 0, 5]))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let doc: serde_json::Value = serde_json::from_str(&body(r).await).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    let documented: std::collections::BTreeSet<String> =
        doc["paths"].as_object().unwrap().keys().cloned().collect();
    // The routes, as the router's source declares them.
    let source = include_str!("../../src/lib.rs");
    let routed: std::collections::BTreeSet<String> = source
        .match_indices(".route(")
        .map(|(i, m)| {
            let rest = source[i + m.len()..].trim_start();
            let rest = rest.strip_prefix('"').expect("a route path literal");
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect();
    assert_eq!(
        documented, routed,
        "every route documented, nothing documented that is not routed"
    );
    // Every documented GET answers from a handler (axum's own 404 has an empty body).
    for path in &documented {
        let methods = doc["paths"][path].as_object().unwrap();
        if !methods.contains_key("get") {
            continue;
        }
        let uri = path
            .replace("{gtin}", "09521234100010")
            .replace("{lot}", "L1")
            .replace("{hash}", &"00".repeat(32))
            .replace("{height}", "1")
            .replace("{public_key}", &"11".repeat(32))
            .replace("{id}", "1")
            .replace("{key_hex}", "6b6579")
            .replace("{serial}", "S1")
            .replace("{variant}", "V1")
            .replace("{capture_id}", "00")
            .replace("{event_id}", &"00".repeat(32))
            .replace("{file}", "tx.wasm");
        let r = app
            .clone()
            .oneshot(request(&uri, [10, 0, 0, 6]))
            .await
            .unwrap();
        let status = r.status();
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        assert!(
            !(status == StatusCode::NOT_FOUND && bytes.is_empty()),
            "{path} is documented but not routed"
        );
        if path.ends_with(".wasm") {
            assert!(bytes.starts_with(b"\0asm"), "{path} serves WebAssembly");
        }
    }
}

/// A client that sends half its headers and stalls is cut off after the
/// header-read timeout; a complete request on the same server is answered.
#[tokio::test]
async fn slow_headers_are_cut_off_by_the_header_read_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let limits = ApiLimits {
        header_read_timeout_ms: 300,
        ..ApiLimits::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(filiera_api::serve(
        listener,
        app(dir.path(), limits.clone()),
        limits,
        filiera_api::Security::Plain {
            upstream_tls: false,
        },
    ));

    let mut good = tokio::net::TcpStream::connect(addr).await.unwrap();
    good.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    good.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let _closed = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        slow.read_to_end(&mut rest),
    )
    .await
    .expect("the server closes a stalled connection");
    assert!(
        !String::from_utf8_lossy(&rest).starts_with("HTTP/1.1 200"),
        "a request without its end of headers is never answered"
    );
    assert!(started.elapsed() >= std::time::Duration::from_millis(250));
}

#[tokio::test]
async fn busy_answers_ask_the_client_to_retry_later() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), ApiLimits::default());
    let key = filiera_types::SecretKey::from_seed(&[5; 32]);
    let tx = |nonce| {
        filiera_types::Transaction {
            chain_id: filiera_types::ChainId::new("filiera-test").unwrap(),
            sender: key.public_key(),
            nonce,
            expiry_height: 50,
            call: filiera_types::ContractCall {
                contract: filiera_types::ContractId::new("lots").unwrap(),
                method: filiera_types::MethodName::new("commission").unwrap(),
                args: vec![1; 8],
            },
        }
        .sign(&key)
        .unwrap()
    };
    let post = |uri: &str, bytes: Vec<u8>| {
        let mut r = Request::post(uri).body(Body::from(bytes)).unwrap();
        r.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 5], 1))));
        r
    };
    let retry_after = |r: &axum::response::Response| {
        r.headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let one = filiera_types::encoding::encode(&tx(0));
    let r = app.clone().oneshot(post("/v1/txs", one)).await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(retry_after(&r).as_deref(), Some("1"));
    assert!(body(r).await.contains("\"code\":\"busy\""));
    let batch = filiera_types::encoding::encode(&vec![tx(0), tx(1)]);
    let r = app
        .clone()
        .oneshot(post("/v1/txs/batch", batch))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(retry_after(&r).as_deref(), Some("1"));
    assert!(body(r).await.contains("\"accepted\":0"));
    // Other refusals are not "come back later".
    let r = app
        .clone()
        .oneshot(post("/v1/txs", vec![1, 2, 3]))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(retry_after(&r), None);
}

/// A request from `from` with `headers`, as the server would hand it on.
fn from_peer(
    builder: axum::http::request::Builder,
    body: Vec<u8>,
    from: std::net::IpAddr,
    headers: &[(&str, &str)],
) -> Request<Body> {
    let builder = headers
        .iter()
        .fold(builder, |b, (name, value)| b.header(*name, *value));
    let mut r = builder.body(Body::from(body)).unwrap();
    r.extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(from, 40_000)));
    r
}

fn post(
    uri: &str,
    body: Vec<u8>,
    from: std::net::IpAddr,
    headers: &[(&str, &str)],
) -> Request<Body> {
    from_peer(Request::post(uri), body, from, headers)
}

fn read_from(from: std::net::IpAddr, headers: &[(&str, &str)]) -> Request<Body> {
    from_peer(Request::get("/v1/orgs/nobody"), Vec::new(), from, headers)
}

/// Writes are counted in transactions, apart from reads: a client that
/// spent its write allowance still reads; a batch costs each transaction.
#[tokio::test]
async fn writes_are_counted_in_transactions_apart_from_reads() {
    let dir = tempfile::tempdir().unwrap();
    let limits = ApiLimits {
        rate_per_ip_per_s: 1,
        burst_per_ip: 5,
        write_txs_per_ip_per_s: 1,
        write_txs_burst_per_ip: 10,
        ..ApiLimits::default()
    };
    let app = app(dir.path(), limits);
    let writer: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    let send = |r: Request<Body>| app.clone().oneshot(r);

    // A batch announcing 8 transactions takes 8 of the 10 (then fails to decode).
    let r = send(post(
        "/v1/txs/batch",
        8u32.to_le_bytes().to_vec(),
        writer,
        &[],
    ))
    .await
    .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "charged, then malformed"
    );
    // 3 more do not fit, 2 single ones do, the third not.
    let r = send(post(
        "/v1/txs/batch",
        3u32.to_le_bytes().to_vec(),
        writer,
        &[],
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "8 + 3 > 10");
    assert!(r.headers().contains_key("retry-after"));
    for expected in [
        StatusCode::BAD_REQUEST,
        StatusCode::BAD_REQUEST,
        StatusCode::TOO_MANY_REQUESTS,
    ] {
        let r = send(post("/v1/txs", b"junk".to_vec(), writer, &[]))
            .await
            .unwrap();
        assert_eq!(r.status(), expected);
    }
    // A batch larger than a whole burst can never pass, and says so.
    let r = send(post(
        "/v1/txs/batch",
        11u32.to_le_bytes().to_vec(),
        "10.0.0.9".parse().unwrap(),
        &[],
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(body(r).await.contains("send fewer"));

    // The write flood left the writer's reads whole: 5 reads pass, the 6th not.
    for i in 0..6 {
        let r = send(read_from(writer, &[])).await.unwrap();
        let expected = if i < 5 {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(r.status(), expected, "read {i}");
    }
}

/// Behind a trusted proxy each client has its own allowance; a forwarding
/// header from anyone else is ignored; an IPv6 /64 is one client.
#[tokio::test]
async fn clients_are_told_apart_behind_trusted_proxies_and_by_ipv6_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let limits = ApiLimits {
        rate_per_ip_per_s: 1,
        burst_per_ip: 2,
        trusted_proxies: vec![filiera_api::limiter::parse_proxy("192.168.7.0/24").unwrap()],
        ..ApiLimits::default()
    };
    let app = app(dir.path(), limits);
    let status = |r: Request<Body>| {
        let app = app.clone();
        async move { app.oneshot(r).await.unwrap().status() }
    };
    let proxy: std::net::IpAddr = "192.168.7.2".parse().unwrap();
    let ok = StatusCode::NOT_FOUND;
    let limited = StatusCode::TOO_MANY_REQUESTS;

    // Two shoppers behind the proxy: 2 reads each, then 429 for each.
    for shopper in ["203.0.113.5", "203.0.113.6"] {
        let xff = format!("{shopper}, 192.168.7.9");
        let h = [("x-forwarded-for", xff.as_str())];
        assert_eq!(status(read_from(proxy, &h)).await, ok);
        assert_eq!(status(read_from(proxy, &h)).await, ok);
        assert_eq!(status(read_from(proxy, &h)).await, limited, "{shopper}");
    }
    // The standard header is believed too, and preferred.
    let h = [
        ("forwarded", "for=\"[2001:db8::1]:4711\""),
        ("x-forwarded-for", "203.0.113.5"),
    ];
    assert_eq!(
        status(read_from(proxy, &h)).await,
        ok,
        "keyed by Forwarded, not the spent XFF"
    );

    // A client that is not a proxy cannot pick its key: keyed by its own address.
    let liar: std::net::IpAddr = "198.51.100.7".parse().unwrap();
    for (i, fake) in ["203.0.113.50", "203.0.113.51", "203.0.113.52"]
        .iter()
        .enumerate()
    {
        let h = [("x-forwarded-for", *fake)];
        let expected = if i < 2 { ok } else { limited };
        assert_eq!(status(read_from(liar, &h)).await, expected, "lie {i}");
    }

    // Rotating addresses within one IPv6 /64 shares one allowance; another /64 does not.
    for (i, addr) in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"]
        .iter()
        .enumerate()
    {
        let expected = if i < 2 { ok } else { limited };
        assert_eq!(
            status(read_from(addr.parse().unwrap(), &[])).await,
            expected,
            "{addr}"
        );
    }
    assert_eq!(
        status(read_from("2001:db8:1:3::1".parse().unwrap(), &[])).await,
        ok
    );
}

/// The words of one language in the app's i18n.js: each `key: "text"`.
fn app_words(block: &str) -> std::collections::BTreeSet<String> {
    block
        .match_indices(": \"")
        .map(|(i, _)| {
            let before = &block[..i];
            let start = before
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(0, |p| p + 1);
            before[start..].to_owned()
        })
        .filter(|k| !k.is_empty())
        .collect()
}

#[tokio::test]
async fn the_app_is_served_under_its_policy_and_says_everything_in_both_languages() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), ApiLimits::default());
    let get = |uri: &str| app.clone().oneshot(request(uri, [10, 0, 0, 7]));
    let r = get("/app/").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let policy = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        policy.contains("script-src 'self' 'wasm-unsafe-eval'")
            && policy.contains("connect-src 'self'"),
        "{policy}"
    );
    assert!(
        body(r)
            .await
            .contains(r#"<script type="module" src="app.js">"#)
    );
    let r = get("/app/tx.wasm").await.unwrap();
    assert_eq!(r.headers()["content-type"], "application/wasm");
    assert!(
        axum::body::to_bytes(r.into_body(), 1 << 22)
            .await
            .unwrap()
            .starts_with(b"\0asm")
    );
    for missing in ["/app/nothing.js", "/app/..%2Fsrc%2Flib.rs", "/app/%2e%2e"] {
        assert_eq!(
            get(missing).await.unwrap().status(),
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }
    assert_eq!(
        get("/app").await.unwrap().status(),
        StatusCode::PERMANENT_REDIRECT
    );

    // Every word in Italian has its English, and every word the script
    // asks for exists.
    let i18n = include_str!("../../app/i18n.js");
    let (it, en) = i18n.split_once("\n  en: {").unwrap();
    let en = &en[..en.find("\n};").unwrap()];
    let (it_words, en_words) = (app_words(it), app_words(en));
    assert!(it_words.len() > 80, "{it_words:?}");
    assert_eq!(it_words, en_words, "the same words in both languages");
    let script = include_str!("../../app/app.js");
    for (i, _) in script.match_indices("t(\"") {
        // `t(` itself, not `get(` or `split(`.
        if script[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &script[i + 3..];
        let key = &rest[..rest.find('"').unwrap()];
        assert!(
            it_words.contains(key),
            "app.js asks for {key:?}, which i18n.js lacks"
        );
    }
    for event in [
        "store", "inspect", "ship", "receive", "hold", "release", "sell", "destroy",
    ] {
        assert!(it_words.contains(&format!("ev_{event}")), "{event}");
    }
    // The steps the app tags notes with are the ones the consumer page
    // names: a step the page does not know would show as a raw tag.
    for (code, _, _) in filiera_api::page::STEPS {
        assert!(it_words.contains(&format!("step_{code}")), "{code}");
    }
    let steps_in_app = it_words.iter().filter(|w| w.starts_with("step_")).count();
    assert_eq!(steps_in_app, filiera_api::page::STEPS.len());
    // Every step the app's forms offer (STEPS_OF's lists) is one the page
    // names.
    let table = &script[script.find("const STEPS_OF = {").unwrap()..];
    let table = &table[..table.find("};").unwrap()];
    let mut offered = 0;
    for list in table.split('[').skip(1) {
        let list = &list[..list.find(']').unwrap()];
        for code in list.split('"').skip(1).step_by(2) {
            offered += 1;
            assert!(
                filiera_api::page::STEPS.iter().any(|(c, _, _)| *c == code),
                "the app offers step {code:?}, which the consumer page does not name"
            );
        }
    }
    assert!(offered >= 3, "{table}");
    use filiera_api::page::{Lang, note_step};
    assert_eq!(
        note_step("#ageing_start cella 2", Lang::It),
        Some(("Inizio stagionatura", "cella 2"))
    );
    assert_eq!(
        note_step("#ageing_end", Lang::En),
        Some(("Ageing ended", ""))
    );
    assert_eq!(note_step("#unknown step", Lang::It), None);
    assert_eq!(note_step("ageing_start", Lang::It), None);
}

#[tokio::test]
async fn apps_of_other_origins_may_post_signed_transactions_and_read_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), ApiLimits::default());
    // A browser's preflight for the app's batch POST from another origin.
    let mut preflight = Request::builder()
        .method("OPTIONS")
        .uri("/v1/txs/batch")
        .header("origin", "https://app.consorzio.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .body(Body::empty())
        .unwrap();
    preflight
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 9], 40_000))));
    let r = app.clone().oneshot(preflight).await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let methods = r.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap();
    assert!(methods.contains("POST"), "{methods}");
    let headers = r.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap();
    assert!(headers.contains("content-type"), "{headers}");
    assert!(!headers.contains("authorization"), "{headers}");
    // The directory: empty lists on an empty chain, the catalogue as given.
    for (uri, list) in [("/v1/orgs", "orgs"), ("/v1/products", "products")] {
        let r = app
            .clone()
            .oneshot(request(uri, [10, 0, 0, 9]))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{uri}");
        assert_eq!(r.headers()["access-control-allow-origin"], "*");
        let v: serde_json::Value = serde_json::from_str(&body(r).await).unwrap();
        assert_eq!(v[list], serde_json::json!([]), "{uri}");
        assert_eq!(v["truncated"], false);
    }
    let r = app
        .oneshot(request("/v1/catalogue", [10, 0, 0, 9]))
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&body(r).await).unwrap();
    assert_eq!(v["products"], serde_json::json!([]));
}
