//! `Client::submit` against a scripted HTTP peer that answers as a busy node
//! does (503, code `busy`, `Retry-After`): the client's retry rules, not the
//! node's (the API crate's tests pin what the node answers).

use filiera_client::{Client, ClientError};
use filiera_types::{ChainId, ContractCall, ContractId, MethodName, SecretKey, Transaction};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const STATUS: &str = r#"{"chain_id":"filiera-test","height":3}"#;

/// An answer: status line, extra header lines, JSON body.
type Answer = (&'static str, &'static str, String);

/// A refusal with its stable code.
fn refusal(status: &'static str, extra: &'static str, code: &str) -> Answer {
    let json = format!(r#"{{"code":"{code}","message":"refused"}}"#);
    (status, extra, json)
}

fn busy(retry_after: &'static str) -> Answer {
    refusal("503 Service Unavailable", retry_after, "busy")
}

/// Serves `/v1/status`, and `POST /v1/txs` from `answers` in order; returns
/// the base URL and when each POST arrived.
fn peer(answers: Vec<Answer>) -> (String, Arc<Mutex<Vec<Instant>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let posts = Arc::new(Mutex::new(Vec::new()));
    let seen = posts.clone();
    std::thread::spawn(move || {
        let mut answers = answers.into_iter();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                head.push_str(&line);
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let (status, extra, json) = if head.starts_with("POST /v1/txs ") {
                seen.lock().unwrap().push(Instant::now());
                answers.next().expect("no more POSTs expected")
            } else {
                ("200 OK", "", STATUS.into())
            };
            let extra = if extra.is_empty() {
                String::new()
            } else {
                format!("{extra}\r\n")
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{json}",
                json.len()
            );
        }
    });
    (url, posts)
}

fn signed() -> filiera_types::SignedTransaction {
    let key = SecretKey::from_seed(&[4; 32]);
    Transaction {
        chain_id: ChainId::new("filiera-test").unwrap(),
        sender: key.public_key(),
        nonce: 0,
        expiry_height: 50,
        call: ContractCall {
            contract: ContractId::new("lots").unwrap(),
            method: MethodName::new("commission").unwrap(),
            args: vec![1; 8],
        },
    }
    .sign(&key)
    .unwrap()
}

#[test]
fn busy_answers_are_retried_after_the_pause_the_node_asks_for() {
    let tx = signed();
    let accepted = (
        "200 OK",
        "",
        format!(r#"{{"tx_hash":"{}"}}"#, tx.hash().to_hex()),
    );
    let (url, posts) = peer(vec![
        busy("retry-after: 1"),
        busy("retry-after: 0"),
        accepted,
    ]);
    let client = Client::connect(&url).unwrap();
    assert_eq!(client.submit(&tx).unwrap(), tx.hash());
    let posts = posts.lock().unwrap();
    assert_eq!(posts.len(), 3);
    assert!(
        posts[1] - posts[0] >= Duration::from_millis(1_000),
        "Retry-After: 1 was not honoured: {:?}",
        posts[1] - posts[0]
    );
}

#[test]
fn a_retry_answered_duplicate_was_admitted_before() {
    let tx = signed();
    let duplicate = refusal("409 Conflict", "", "duplicate");
    let (url, posts) = peer(vec![busy("retry-after: 0"), duplicate]);
    let client = Client::connect(&url).unwrap();
    assert_eq!(client.submit(&tx).unwrap(), tx.hash());
    assert_eq!(posts.lock().unwrap().len(), 2);
}

#[test]
fn busy_is_returned_once_the_retry_budget_is_spent_and_other_refusals_at_once() {
    let tx = signed();
    // No budget: the first "busy" is the answer.
    let (url, posts) = peer(vec![busy("retry-after: 0")]);
    let mut client = Client::connect(&url).unwrap();
    client.submit_retry_ms = 0;
    let e = client.submit(&tx).unwrap_err();
    assert!(filiera_client::is_retry_later(&e), "{e}");
    assert_eq!(posts.lock().unwrap().len(), 1);

    // A pause longer than what is left of the budget is not waited out.
    let (url, posts) = peer(vec![busy("retry-after: 5")]);
    let mut client = Client::connect(&url).unwrap();
    client.submit_retry_ms = 2_000;
    let started = Instant::now();
    assert!(client.submit(&tx).is_err());
    assert!(started.elapsed() < Duration::from_millis(1_500));
    assert_eq!(posts.lock().unwrap().len(), 1);

    // A refusal of the transaction itself is never retried.
    let bad = refusal("422 Unprocessable Entity", "retry-after: 0", "signature");
    let (url, posts) = peer(vec![bad]);
    let client = Client::connect(&url).unwrap();
    match client.submit(&tx) {
        Err(ClientError::Rejected { code, .. }) => assert_eq!(code, "signature"),
        other => panic!("expected the refusal, got {other:?}"),
    }
    assert_eq!(posts.lock().unwrap().len(), 1);
}
