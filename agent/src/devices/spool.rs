//! The durable print spool: labels waiting for a printer, on the [`Store`] trait.
//!
//! Tree [`SPOOL_TREE`]: key = job sequence number as 8 bytes big-endian (so a key scan returns
//! jobs in order), value = [`SpoolJob::encode`]: version byte `1`, created-at ms (u64 BE),
//! reference length (u16 BE), reference (UTF-8, e.g. the step id or SSCC), then the ZPL bytes.
//!
//! A step that confirms a label should put the job into *its own* atomic batch
//! ([`Spool::reserve_seq`] + [`Spool::add_to_batch`]) so the step and its label are committed
//! together, then call [`Spool::notify`]. [`Spool::enqueue`] commits a job on its own.
//!
//! Store calls are blocking: the async methods run them on `spawn_blocking`.

use std::ops::Bound;
use std::sync::Arc;

use std::sync::Mutex;
use stockpost_store::{ScanOrder, Store, StoreError, WriteBatch};
use tokio::sync::Notify;

/// Tree of pending print jobs.
pub const SPOOL_TREE: &str = "print_spool";
const VERSION: u8 = 1;
/// Longest job reference accepted.
pub const MAX_REFERENCE_LEN: usize = 200;

/// Spool failures.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The store refused or failed.
    #[error("print spool store: {0}")]
    Store(#[from] StoreError),
    /// A stored job could not be decoded.
    #[error("print spool job {seq}: {reason}")]
    Corrupt {
        /// Job sequence number.
        seq: u64,
        /// Why.
        reason: String,
    },
    /// A reference longer than [`MAX_REFERENCE_LEN`].
    #[error("print spool job reference: {0} bytes, at most {MAX_REFERENCE_LEN}")]
    ReferenceTooLong(usize),
    /// The blocking task was cancelled or panicked.
    #[error("print spool: background task failed: {0}")]
    Join(String),
}

/// One label to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoolJob {
    /// Position in the spool (printing order).
    pub seq: u64,
    /// Free reference for logs and audits (step id, SSCC, order).
    pub reference: String,
    /// When it was spooled (ms since the Unix epoch, from the caller's clock).
    pub created_at_ms: u64,
    /// The bytes to send (`^XA … ^XZ`).
    pub zpl: Vec<u8>,
}

impl SpoolJob {
    /// The stored value.
    pub fn encode(&self) -> Result<Vec<u8>, SpoolError> {
        let reference = self.reference.as_bytes();
        let len = u16::try_from(reference.len())
            .ok()
            .filter(|&l| usize::from(l) <= MAX_REFERENCE_LEN)
            .ok_or(SpoolError::ReferenceTooLong(reference.len()))?;
        let mut v = Vec::with_capacity(11 + reference.len() + self.zpl.len());
        v.push(VERSION);
        v.extend_from_slice(&self.created_at_ms.to_be_bytes());
        v.extend_from_slice(&len.to_be_bytes());
        v.extend_from_slice(reference);
        v.extend_from_slice(&self.zpl);
        Ok(v)
    }

    /// Decodes a stored value.
    pub fn decode(seq: u64, value: &[u8]) -> Result<Self, SpoolError> {
        let corrupt = |reason: &str| SpoolError::Corrupt {
            seq,
            reason: reason.to_string(),
        };
        let (&version, rest) = value.split_first().ok_or_else(|| corrupt("empty value"))?;
        if version != VERSION {
            return Err(corrupt(&format!("unknown version {version}")));
        }
        let (at, rest) = rest
            .split_first_chunk::<8>()
            .ok_or_else(|| corrupt("truncated timestamp"))?;
        let (len, rest) = rest
            .split_first_chunk::<2>()
            .ok_or_else(|| corrupt("truncated reference length"))?;
        let len = usize::from(u16::from_be_bytes(*len));
        let reference = rest
            .get(..len)
            .ok_or_else(|| corrupt("truncated reference"))?;
        let reference =
            String::from_utf8(reference.to_vec()).map_err(|_| corrupt("reference is not UTF-8"))?;
        Ok(Self {
            seq,
            reference,
            created_at_ms: u64::from_be_bytes(*at),
            zpl: rest.get(len..).unwrap_or_default().to_vec(),
        })
    }
}

/// The spool handle (cheap to clone).
#[derive(Debug, Clone)]
pub struct Spool {
    store: Arc<dyn Store>,
    next_seq: Arc<Mutex<u64>>,
    notify: Arc<Notify>,
}

fn key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

fn seq_of(key: &[u8]) -> Option<u64> {
    key.try_into().ok().map(u64::from_be_bytes)
}

impl Spool {
    /// Opens the spool on a store that declares [`SPOOL_TREE`]. Blocking (one scan).
    pub fn open(store: Arc<dyn Store>) -> Result<Self, SpoolError> {
        let last = store.scan_range(
            SPOOL_TREE,
            Bound::Unbounded,
            Bound::Unbounded,
            1,
            ScanOrder::Descending,
        )?;
        let next = last
            .first()
            .and_then(|(k, _)| seq_of(k))
            .map_or(1, |s| s.saturating_add(1));
        Ok(Self {
            store,
            next_seq: Arc::new(Mutex::new(next)),
            notify: Arc::new(Notify::new()),
        })
    }

    /// Reserves the next sequence number (unique among pending jobs; numbering may restart
    /// after the spool was empty at a restart).
    pub async fn reserve_seq(&self) -> u64 {
        self.next_seq_now()
    }

    /// [`Spool::reserve_seq`] without waiting (the step writer's thread). A number reserved for a
    /// batch that then does not commit is simply never used.
    pub fn next_seq_now(&self) -> u64 {
        let mut next = self.next_seq.lock().unwrap_or_else(|p| p.into_inner());
        let seq = *next;
        *next = next.saturating_add(1);
        seq
    }

    /// Adds the put of `job` to a caller's batch (commit it, then call [`Spool::notify`]).
    pub fn add_to_batch(batch: &mut WriteBatch, job: &SpoolJob) -> Result<(), SpoolError> {
        batch.put(SPOOL_TREE, key(job.seq), job.encode()?);
        Ok(())
    }

    /// Wakes the printer driver (after a caller committed a batch holding a job).
    pub fn notify(&self) {
        self.notify.notify_one();
    }

    /// Commits one job durably and wakes the printer driver; returns its sequence number.
    pub async fn enqueue(
        &self,
        reference: &str,
        created_at_ms: u64,
        zpl: Vec<u8>,
    ) -> Result<u64, SpoolError> {
        let seq = self.reserve_seq().await;
        let job = SpoolJob {
            seq,
            reference: reference.to_string(),
            created_at_ms,
            zpl,
        };
        let mut batch = WriteBatch::new();
        Self::add_to_batch(&mut batch, &job)?;
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.commit(batch))
            .await
            .map_err(|e| SpoolError::Join(e.to_string()))??;
        self.notify();
        Ok(seq)
    }

    /// The oldest pending job.
    pub async fn first(&self) -> Result<Option<SpoolJob>, SpoolError> {
        let store = self.store.clone();
        let pairs = tokio::task::spawn_blocking(move || {
            store.scan_range(
                SPOOL_TREE,
                Bound::Unbounded,
                Bound::Unbounded,
                1,
                ScanOrder::Ascending,
            )
        })
        .await
        .map_err(|e| SpoolError::Join(e.to_string()))??;
        match pairs.first() {
            None => Ok(None),
            Some((k, v)) => {
                let seq = seq_of(k).ok_or_else(|| SpoolError::Corrupt {
                    seq: 0,
                    reason: format!("key of {} bytes, 8 expected", k.len()),
                })?;
                SpoolJob::decode(seq, v).map(Some)
            }
        }
    }

    /// Up to `limit` pending jobs, oldest first.
    pub async fn pending(&self, limit: usize) -> Result<Vec<SpoolJob>, SpoolError> {
        let store = self.store.clone();
        let pairs = tokio::task::spawn_blocking(move || {
            store.scan_range(
                SPOOL_TREE,
                Bound::Unbounded,
                Bound::Unbounded,
                limit,
                ScanOrder::Ascending,
            )
        })
        .await
        .map_err(|e| SpoolError::Join(e.to_string()))??;
        pairs
            .iter()
            .map(|(k, v)| SpoolJob::decode(seq_of(k).unwrap_or(0), v))
            .collect()
    }

    /// Deletes a job durably (after the printer confirmed it).
    pub async fn remove(&self, seq: u64) -> Result<(), SpoolError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut batch = WriteBatch::new();
            batch.delete(SPOOL_TREE, key(seq));
            store.commit(batch)
        })
        .await
        .map_err(|e| SpoolError::Join(e.to_string()))??;
        Ok(())
    }

    /// Resolves when a job was enqueued (or a permit was stored by an earlier `notify`).
    pub async fn notified(&self) {
        self.notify.notified().await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_job_round_trips_through_its_stored_form() {
        let job = SpoolJob {
            seq: 7,
            reference: "step-42/376104250021234569".into(),
            created_at_ms: 1_764_000_000_000,
            zpl: b"^XA^FDx^FS^XZ".to_vec(),
        };
        assert_eq!(SpoolJob::decode(7, &job.encode().unwrap()).unwrap(), job);
    }

    #[test]
    fn a_truncated_value_is_corrupt_not_a_panic() {
        assert!(matches!(
            SpoolJob::decode(1, &[1, 0, 0]),
            Err(SpoolError::Corrupt { .. })
        ));
        assert!(matches!(
            SpoolJob::decode(1, &[9]),
            Err(SpoolError::Corrupt { .. })
        ));
    }
}
