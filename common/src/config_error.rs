//! The error of a configuration file (agent.toml, hub.toml): it names the file, or the key and
//! the reason. Reading and parsing happen in the binaries' crates; this is only the type.

use std::path::PathBuf;

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown or mistyped keys.
    #[error("config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// toml's message, which names the key and line.
        message: String,
    },
    /// A value is not acceptable.
    #[error("config key `{key}`: {reason}")]
    Invalid {
        /// The key, dotted.
        key: String,
        /// Why.
        reason: String,
    },
}

/// A value of `key` that is not acceptable, and why.
pub fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_value_names_the_key_and_the_reason() {
        let e = invalid("mqtt.address", "not host:port");
        assert_eq!(e.to_string(), "config key `mqtt.address`: not host:port");
    }
}
