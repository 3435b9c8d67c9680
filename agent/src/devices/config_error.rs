//! Errors in device configuration: every one names the key that is wrong.

/// A device configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceConfigError {
    /// The device table has a key the driver does not know (typo?).
    #[error("{device}: unknown key `{key}` (known keys: {known})")]
    UnknownKey {
        /// `scanner`, `scale` or `printer`.
        device: &'static str,
        /// The unknown key.
        key: String,
        /// The keys the device accepts.
        known: String,
    },
    /// The device table could not be deserialised.
    #[error("{device}: {message}")]
    Parse {
        /// `scanner`, `scale` or `printer`.
        device: &'static str,
        /// The deserialiser's message (names the key).
        message: String,
    },
    /// A value is out of range or inconsistent with another.
    #[error("{device}.{key}: {reason}")]
    Invalid {
        /// `scanner`, `scale` or `printer`.
        device: &'static str,
        /// The offending key.
        key: &'static str,
        /// Why.
        reason: String,
    },
}

impl DeviceConfigError {
    pub(crate) fn invalid(
        device: &'static str,
        key: &'static str,
        reason: impl Into<String>,
    ) -> Self {
        Self::Invalid {
            device,
            key,
            reason: reason.into(),
        }
    }
}

/// Deserialises a device table from `value`, first rejecting keys not in `known`.
pub(crate) fn from_table<T: serde::de::DeserializeOwned>(
    device: &'static str,
    value: &toml::Value,
    known: &[&str],
) -> Result<T, DeviceConfigError> {
    let table = value.as_table().ok_or_else(|| DeviceConfigError::Parse {
        device,
        message: format!(
            "expected a table like {{ serial = \"/dev/ttyUSB0\" }}, found {}",
            value.type_str()
        ),
    })?;
    if let Some(key) = table.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(DeviceConfigError::UnknownKey {
            device,
            key: key.clone(),
            known: known.join(", "),
        });
    }
    value
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| DeviceConfigError::Parse {
            device,
            message: e.to_string(),
        })
}
