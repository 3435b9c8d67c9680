//! Sync credentials for tests: every test node has a fixed credential derived from its name
//! (`sha256("stockpost-test-credential:" + node)`), so a hub registered by the fixtures and an
//! agent configured by them agree without passing keys around. Never use these outside tests.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use stockpost_common::wire::SyncKey;

/// The test credential of `node`.
pub fn test_key(node: &str) -> SyncKey {
    let mut h = Sha256::new();
    h.update(b"stockpost-test-credential:");
    h.update(node.as_bytes());
    SyncKey::from_bytes(h.finalize().into())
}

/// The test credential of `node` as the 64 hex digits `PUT /nodes/{node}` accepts.
pub fn test_key_hex(node: &str) -> String {
    test_key(node).to_hex()
}

/// Writes the test credential of `node` beside the data directory `data_dir`
/// (`<data_dir>.key`, mode 0600) and returns its path, for `sync.credential_file`.
pub fn write_test_key(data_dir: &Path, node: &str) -> std::io::Result<PathBuf> {
    let path = data_dir.with_extension("key");
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    write_key(&path, &test_key(node))?;
    Ok(path)
}

/// Writes `key` to `path` as a credential file (hex, newline, mode 0600).
pub fn write_key(path: &Path, key: &SyncKey) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    writeln!(file, "{}", key.to_hex())?;
    file.sync_all()
}

/// The `credential_file = "…"` line for an agent.toml `[sync]` section, after writing the
/// node's test credential beside `data_dir`.
pub fn credential_line(data_dir: &Path, node: &str) -> std::io::Result<String> {
    let path = write_test_key(data_dir, node)?;
    Ok(format!("credential_file = \"{}\"\n", path.display()))
}
