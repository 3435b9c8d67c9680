//! Bearer tokens and roles: viewer < operator < approver < admin.

use crate::config::AuthConfig;
use crate::http::error::ApiError;
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use stockpost_common::orders::{Actor, Role};

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// SHA-256 of text, hex.
pub fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// A role from its name.
pub fn role_from(name: &str) -> Option<Role> {
    match name {
        "viewer" => Some(Role::Viewer),
        "operator" => Some(Role::Operator),
        "approver" => Some(Role::Approver),
        "admin" => Some(Role::Admin),
        _ => None,
    }
}

/// A role's name.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Viewer => "viewer",
        Role::Operator => "operator",
        Role::Approver => "approver",
        Role::Admin => "admin",
    }
}

/// The known tokens, by SHA-256.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    by_hash: Vec<(String, Actor)>,
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Tokens {
    /// From the config (validated already).
    pub fn from_config(auth: &AuthConfig) -> Self {
        let mut by_hash = Vec::new();
        for t in &auth.tokens {
            let hash = match (&t.token, &t.sha256) {
                (Some(token), _) => sha256_hex(token),
                (None, Some(h)) => h.to_ascii_lowercase(),
                (None, None) => continue,
            };
            if let Some(role) = role_from(&t.role) {
                by_hash.push((
                    hash,
                    Actor {
                        name: t.name.clone(),
                        role,
                    },
                ));
            }
        }
        if let Some(admin) = &auth.admin_token {
            by_hash.push((
                sha256_hex(admin),
                Actor {
                    name: "admin".into(),
                    role: Role::Admin,
                },
            ));
        }
        Self { by_hash }
    }

    /// Who holds `token`.
    pub fn actor(&self, token: &str) -> Option<Actor> {
        let hash = sha256_hex(token);
        self.by_hash
            .iter()
            .find(|(h, _)| same(h, &hash))
            .map(|(_, a)| a.clone())
    }

    /// Checks the `Authorization: Bearer` header against `min`: 401 without a known token,
    /// 403 when the role is too low.
    pub fn authorize(&self, headers: &HeaderMap, min: Role) -> Result<Actor, ApiError> {
        let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
            return Err(ApiError::new(
                401,
                "unauthorized",
                "send an Authorization: Bearer <token> header",
            ));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .unwrap_or("");
        let Some(actor) = self.actor(token) else {
            return Err(ApiError::new(
                401,
                "unauthorized",
                "the bearer token is not known to this hub",
            ));
        };
        if actor.role < min {
            return Err(ApiError::new(
                403,
                "forbidden",
                format!(
                    "{} has role {}; this needs {} or higher",
                    actor.name,
                    role_name(actor.role),
                    role_name(min)
                ),
            ));
        }
        Ok(actor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TokenConfig;
    use axum::http::HeaderValue;

    fn headers(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&format!("Bearer {token}")) {
            h.insert(axum::http::header::AUTHORIZATION, v);
        }
        h
    }

    #[test]
    fn tokens_match_by_value_or_sha256_and_roles_are_ordered() {
        let auth = AuthConfig {
            tokens: vec![
                TokenConfig {
                    name: "ops".into(),
                    token: Some("ops-token-0123456789".into()),
                    sha256: None,
                    role: "operator".into(),
                },
                TokenConfig {
                    name: "boss".into(),
                    token: None,
                    sha256: Some(sha256_hex("boss-token-0123456789").to_uppercase()),
                    role: "approver".into(),
                },
            ],
            admin_token: Some("root-token-0123456789".into()),
        };
        let t = Tokens::from_config(&auth);
        let ops = t.authorize(&headers("ops-token-0123456789"), Role::Operator);
        assert_eq!(ops.map(|a| a.name), Ok("ops".to_string()));
        let too_low = t.authorize(&headers("ops-token-0123456789"), Role::Approver);
        assert_eq!(too_low.map_err(|e| e.status), Err(403));
        let boss = t.authorize(&headers("boss-token-0123456789"), Role::Approver);
        assert_eq!(boss.map(|a| a.role), Ok(Role::Approver));
        let root = t.authorize(&headers("root-token-0123456789"), Role::Admin);
        assert_eq!(root.map(|a| a.name), Ok("admin".to_string()));
        assert_eq!(
            t.authorize(&headers("nobody"), Role::Viewer)
                .map_err(|e| e.status),
            Err(401)
        );
        assert_eq!(
            t.authorize(&HeaderMap::new(), Role::Viewer)
                .map_err(|e| e.status),
            Err(401)
        );
    }
}
