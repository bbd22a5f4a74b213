//! Capture jobs kept on a real disk: a node restart keeps them, each
//! organisation reads only its own, a damaged file is never served, and the
//! oldest beyond the limit are deleted.

use filiera_api::epcis::{CAPTURE_JOBS_MAX, EpcisClient, EpcisState};
use filiera_client::epcis::{CaptureJob, EventFate};
use filiera_epcis::EventHash;
use filiera_types::{Hash, SecretKey};

fn client(org: &str, token: u8) -> EpcisClient {
    EpcisClient {
        token_sha256: [token; 32],
        org: org.into(),
        key: SecretKey::from_seed(&[token; 32]),
    }
}

fn clients() -> Vec<EpcisClient> {
    vec![client("caseificio-a", 1), client("cantina-b", 2)]
}

fn job(n: u32) -> CaptureJob {
    let byte = (n % 251) as u8;
    CaptureJob {
        id: format!("{n:032x}"),
        events: vec![
            (
                EventHash([byte; 32]),
                EventFate::Submitted(Hash([byte; 32])),
            ),
            (EventHash([1; 32]), EventFate::AlreadyRecorded),
            (
                EventHash([2; 32]),
                EventFate::Rejected("403 not_member: x".into()),
            ),
            (
                EventHash([3; 32]),
                EventFate::NotSubmitted("earlier".into()),
            ),
        ],
    }
}

#[test]
fn capture_jobs_survive_a_restart_apart_per_organisation() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = ([1u8; 32], [2u8; 32]);
    {
        let node = EpcisState::open(clients(), Some(dir.path()));
        node.keep_job(&a, job(1));
        node.keep_job(&b, job(2));
        assert_eq!(node.job(&a, &job(1).id), Some(job(1)));
    }
    // The node restarts.
    let node = EpcisState::open(clients(), Some(dir.path()));
    assert_eq!(node.job(&a, &job(1).id), Some(job(1)));
    assert_eq!(node.job(&b, &job(2).id), Some(job(2)));
    assert_eq!(node.job(&b, &job(1).id), None, "another organisation's job");
    assert_eq!(node.job(&a, &job(2).id), None, "another organisation's job");

    // A damaged file is skipped, never served; the others still are.
    let org_dir = dir.path().join(hex::encode("caseificio-a"));
    std::fs::write(org_dir.join(format!("{}.job", job(3).id)), b"\xff\xff junk").unwrap();
    // A file named for one job holding another is not served under that name.
    std::fs::copy(
        org_dir.join(format!("{}.job", job(1).id)),
        org_dir.join(format!("{}.job", job(4).id)),
    )
    .unwrap();
    let node = EpcisState::open(clients(), Some(dir.path()));
    assert_eq!(node.job(&a, &job(3).id), None);
    assert_eq!(node.job(&a, &job(4).id), None);
    assert_eq!(node.job(&a, &job(1).id), Some(job(1)));
}

#[test]
fn the_oldest_jobs_beyond_the_limit_are_deleted_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let a = [1u8; 32];
    let node = EpcisState::open(clients(), Some(dir.path()));
    let total = CAPTURE_JOBS_MAX as u32 + 5;
    for n in 0..total {
        node.keep_job(&a, job(n));
    }
    let org_dir = dir.path().join(hex::encode("caseificio-a"));
    assert_eq!(
        std::fs::read_dir(&org_dir).unwrap().count(),
        CAPTURE_JOBS_MAX
    );
    drop(node);
    let node = EpcisState::open(clients(), Some(dir.path()));
    for n in 0..5 {
        assert_eq!(node.job(&a, &job(n).id), None, "job {n} was forgotten");
    }
    assert_eq!(node.job(&a, &job(total - 1).id), Some(job(total - 1)));
    assert_eq!(node.job(&a, &job(5).id), Some(job(5)));
}
