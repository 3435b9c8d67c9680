//! A durable SSCC serial reference counter that never hands out a serial twice, even after a
//! crash: serials are reserved in blocks, and a block is committed (durably) *before* any serial
//! of it is used. A crash loses at most the unused rest of the current block (a gap, never a
//! repeat).
//!
//! Tree [`SSCC_TREE`]: key = extension digit + company prefix (ASCII), value = the first serial
//! reference *not yet reserved* (u64 BE). A different prefix or extension digit counts on its own.
//!
//! Blocking (store commits): call from the writer thread or `spawn_blocking`.

use std::sync::{Arc, Mutex};

use stockpost_common::label::sscc::{Sscc, SsccError};
use stockpost_store::{Store, StoreError, WriteBatch};

/// Tree of SSCC counters.
pub const SSCC_TREE: &str = "sscc_counter";

/// Counter settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsccCounterConfig {
    /// SSCC extension digit 0–9.
    pub extension_digit: u8,
    /// GS1 company prefix (4–12 digits) from config.
    pub company_prefix: String,
    /// Serials reserved per durable commit (≥ 1). Larger = fewer commits, bigger gaps after a crash.
    pub block_size: u64,
}

/// Counter failures.
#[derive(Debug, thiserror::Error)]
pub enum SsccCounterError {
    /// Invalid prefix / extension digit, or a serial that does not fit.
    #[error(transparent)]
    Sscc(#[from] SsccError),
    /// The store failed: no serial was handed out.
    #[error("sscc counter store: {0}")]
    Store(#[from] StoreError),
    /// Every serial reference of this prefix was used.
    #[error("sscc counter: all {0} serial references of this company prefix are used")]
    Exhausted(u64),
    /// The stored value is not 8 bytes.
    #[error("sscc counter: stored value of {0} bytes, 8 expected")]
    Corrupt(usize),
    /// `block_size` is 0.
    #[error("sscc counter: block_size must be at least 1")]
    BlockSize,
}

#[derive(Debug)]
struct State {
    next: u64,
    reserved_end: u64,
}

/// The counter (cheap to clone; one per company prefix).
#[derive(Debug, Clone)]
pub struct SsccCounter {
    store: Arc<dyn Store>,
    config: SsccCounterConfig,
    key: Vec<u8>,
    /// Serial references available: 10^(16 − prefix length).
    capacity: u64,
    state: Arc<Mutex<State>>,
}

impl SsccCounter {
    /// Opens the counter: continues after the last *reserved* serial.
    pub fn open(
        store: Arc<dyn Store>,
        config: SsccCounterConfig,
    ) -> Result<Self, SsccCounterError> {
        if config.block_size == 0 {
            return Err(SsccCounterError::BlockSize);
        }
        // Validates the prefix and the extension digit.
        Sscc::new(config.extension_digit, &config.company_prefix, 0)?;
        let digits = 16usize.saturating_sub(config.company_prefix.len());
        let capacity = 10u64
            .checked_pow(u32::try_from(digits).unwrap_or(u32::MAX))
            .unwrap_or(u64::MAX);
        let key = format!("{}{}", config.extension_digit, config.company_prefix).into_bytes();
        let reserved_end = match store.get(SSCC_TREE, &key)? {
            None => 0,
            Some(v) => u64::from_be_bytes(
                v.as_slice()
                    .try_into()
                    .map_err(|_| SsccCounterError::Corrupt(v.len()))?,
            ),
        };
        Ok(Self {
            store,
            config,
            key,
            capacity,
            state: Arc::new(Mutex::new(State {
                next: reserved_end,
                reserved_end,
            })),
        })
    }

    /// The next SSCC. Commits a new block reservation first when the current one is used up.
    pub fn next_sscc(&self) -> Result<Sscc, SsccCounterError> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.next >= self.capacity {
            return Err(SsccCounterError::Exhausted(self.capacity));
        }
        if state.next >= state.reserved_end {
            let end = state
                .next
                .saturating_add(self.config.block_size)
                .min(self.capacity);
            let mut batch = WriteBatch::new();
            batch.put(SSCC_TREE, self.key.clone(), end.to_be_bytes());
            self.store.commit(batch)?;
            state.reserved_end = end;
        }
        let serial = state.next;
        let sscc = Sscc::new(
            self.config.extension_digit,
            &self.config.company_prefix,
            serial,
        )?;
        state.next += 1;
        Ok(sscc)
    }
}
