//! The publish token: where it comes from, and the constant-time check of `Authorization`.

use std::io::Write;
use std::path::Path;

use axum::http::HeaderMap;

use crate::config::Config;

/// The token from `--publish-token`, else the one saved in the data dir, else a new random one
/// saved there with mode 0600. Prints where a saved token lives, never the token.
pub fn resolve_token(config: &Config) -> Result<String, String> {
    if let Some(t) = config.publish_token.as_deref().map(str::trim) {
        if t.is_empty() {
            return Err("--publish-token / PULSE_PUBLISH_TOKEN is set but empty".into());
        }
        return Ok(t.to_owned());
    }
    let path = config.token_path();
    match std::fs::read_to_string(&path) {
        Ok(saved) if !saved.trim().is_empty() => {
            println!("publish token: read from {}", path.display());
            Ok(saved.trim().to_owned())
        }
        Ok(_) => Err(format!(
            "{} is empty; delete it to generate a new token",
            path.display()
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let token = generate();
            save(&path, &token).map_err(|e| format!("cannot save {}: {e}", path.display()))?;
            println!(
                "publish token: generated and saved to {} (mode 0600)",
                path.display()
            );
            Ok(token)
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

fn generate() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn save(path: &Path, token: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(token.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

/// Whether `headers` carry `Authorization: Bearer <expected>`.
pub fn authorized(headers: &HeaderMap, expected: &str) -> bool {
    let Some(value) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(given) = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
    else {
        return false;
    };
    constant_time_eq(given.trim().as_bytes(), expected.as_bytes())
}

/// Compares in time that depends only on the lengths, so response timing does not reveal how
/// many leading bytes of a guess were right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() != b.len()) as u8;
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= x ^ y;
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn compares_whole_tokens_only() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }

    #[test]
    fn generated_token_is_saved_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::parse_from(["pulse", "--data-dir", dir.path().to_str().unwrap()]);
        let first = resolve_token(&config).unwrap();
        assert_eq!(first.len(), 64);
        let second = resolve_token(&config).unwrap();
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(config.token_path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
