//! Capture jobs kept on the node's disk, so that software polling
//! `GET /epcis/capture/{id}` after a node restart still finds its job.
//!
//! One directory per organisation (named by the hex of its id, so no id can
//! climb out of it), one file per job (named by the job id, 32 hex digits),
//! written aside and renamed. At most [`crate::epcis::CAPTURE_JOBS_MAX`]
//! per organisation: the oldest are deleted. A file that does not decode
//! (a crash mid-write cannot leave one; a disk fault can) is skipped at
//! start with a warning, never served.

use borsh::{BorshDeserialize, BorshSerialize};
use filiera_client::epcis::{CaptureJob, EventFate};
use filiera_epcis::EventHash;
use filiera_types::Hash;
use std::path::{Path, PathBuf};

/// Largest job file read back, bytes (a 4 MiB document holds at most a few
/// thousand events, about 100 bytes each here).
pub const JOB_FILE_BYTES_MAX: u64 = 8 << 20;

#[derive(BorshSerialize, BorshDeserialize)]
struct StoredJob {
    id: String,
    events: Vec<([u8; 32], StoredFate)>,
}

#[derive(BorshSerialize, BorshDeserialize)]
enum StoredFate {
    AlreadyRecorded,
    Submitted([u8; 32]),
    Rejected(String),
    NotSubmitted(String),
}

fn stored(job: &CaptureJob) -> StoredJob {
    StoredJob {
        id: job.id.clone(),
        events: job
            .events
            .iter()
            .map(|(hash, fate)| {
                let fate = match fate {
                    EventFate::AlreadyRecorded => StoredFate::AlreadyRecorded,
                    EventFate::Submitted(tx) => StoredFate::Submitted(tx.0),
                    EventFate::Rejected(r) => StoredFate::Rejected(r.clone()),
                    EventFate::NotSubmitted(r) => StoredFate::NotSubmitted(r.clone()),
                };
                (hash.0, fate)
            })
            .collect(),
    }
}

fn restored(job: StoredJob) -> CaptureJob {
    CaptureJob {
        id: job.id,
        events: job
            .events
            .into_iter()
            .map(|(hash, fate)| {
                let fate = match fate {
                    StoredFate::AlreadyRecorded => EventFate::AlreadyRecorded,
                    StoredFate::Submitted(tx) => EventFate::Submitted(Hash(tx)),
                    StoredFate::Rejected(r) => EventFate::Rejected(r),
                    StoredFate::NotSubmitted(r) => EventFate::NotSubmitted(r),
                };
                (EventHash(hash), fate)
            })
            .collect(),
    }
}

/// Whether `id` is a job id this node gives (32 lowercase hex digits).
pub fn is_job_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// One organisation's job directory.
#[derive(Clone, Debug)]
pub struct JobFiles {
    dir: PathBuf,
}

impl JobFiles {
    /// The directory of `org`'s jobs under `root`.
    pub fn new(root: &Path, org: &str) -> JobFiles {
        JobFiles {
            dir: root.join(hex::encode(org.as_bytes())),
        }
    }

    /// Writes `job` (replacing a job of the same id).
    pub fn write(&self, job: &CaptureJob) -> std::io::Result<()> {
        if !is_job_id(&job.id) {
            return Err(std::io::Error::other("not a job id"));
        }
        std::fs::create_dir_all(&self.dir)?;
        let bytes = borsh::to_vec(&stored(job))?;
        let tmp = self.dir.join(format!("{}.tmp", job.id));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, self.dir.join(format!("{}.job", job.id)))
    }

    /// Deletes the job `id`'s file, if any.
    pub fn remove(&self, id: &str) {
        if is_job_id(id) {
            let _ = std::fs::remove_file(self.dir.join(format!("{id}.job")));
        }
    }

    /// The jobs on disk, oldest first (by modification time, then id); at
    /// most `max` of the newest.
    pub fn read_all(&self, max: usize) -> Vec<CaptureJob> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut found: Vec<(std::time::SystemTime, String, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let id = name.strip_suffix(".job")?.to_owned();
                let meta = e.metadata().ok()?;
                if !is_job_id(&id) || meta.len() > JOB_FILE_BYTES_MAX {
                    return None;
                }
                Some((meta.modified().ok()?, id, e.path()))
            })
            .collect();
        found.sort();
        let skip = found.len().saturating_sub(max);
        found
            .into_iter()
            .skip(skip)
            .filter_map(|(_, id, path)| {
                let job = std::fs::read(&path)
                    .ok()
                    .and_then(|b| StoredJob::try_from_slice(&b).ok())
                    .filter(|j| j.id == id);
                if job.is_none() {
                    tracing::warn!(path = %path.display(), "capture job file unreadable; skipped");
                }
                job.map(restored)
            })
            .collect()
    }
}
