//! Publish tokens: where they come from, and the constant-time check of `Authorization`.
//!
//! There is always the main token (`--publish-token`, or the generated one), good for every
//! topic. `--tokens-file` adds named tokens, each optionally limited to topic patterns; a
//! token is revoked by deleting its line and restarting. Every check compares the presented
//! token with every known token in constant time, so timing reveals neither a token's bytes
//! nor which token matched.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

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

/// 32 random bytes as hex (the publish token, and the signing key of `super::signed`).
pub(crate) fn generate() -> String {
    super::hex::random::<32>()
}

/// Writes a new secret file readable by its owner only (mode 0600); never overwrites one.
pub(crate) fn save(path: &Path, token: &str) -> std::io::Result<()> {
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

/// The smallest named token accepted: shorter ones are guessable.
pub const MIN_TOKEN_LEN: usize = 16;

/// A topic pattern: a name, a prefix ending in `*`, or `*` for every topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    Exact(String),
    Prefix(String),
}

impl Pattern {
    pub fn parse(raw: &str) -> Option<Pattern> {
        let (body, prefix) = match raw.strip_suffix('*') {
            Some(body) => (body, true),
            None => (raw, false),
        };
        let ok = body
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            && body.len() <= 64
            && (prefix || !body.is_empty());
        ok.then(|| {
            if prefix {
                Pattern::Prefix(body.to_owned())
            } else {
                Pattern::Exact(body.to_owned())
            }
        })
    }

    pub fn matches(&self, topic: &str) -> bool {
        match self {
            Pattern::Exact(t) => t == topic,
            Pattern::Prefix(p) => topic.starts_with(p.as_str()),
        }
    }
}

/// Who presented a token: its name, and the topics it may publish on (`None`: all).
#[derive(Debug, Clone)]
pub struct Caller {
    pub name: Arc<str>,
    token: Arc<str>,
    topics: Option<Arc<[Pattern]>>,
}

impl Caller {
    /// Whether this token may publish on `topic`.
    pub fn allows(&self, topic: &str) -> bool {
        self.topics
            .as_ref()
            .is_none_or(|ps| ps.iter().any(|p| p.matches(topic)))
    }
}

/// Every token the server takes: the main one (named `main`) and the named ones.
#[derive(Debug, Clone)]
pub struct Tokens(Arc<[Caller]>);

impl Tokens {
    /// Just the main token.
    pub fn main_only(main: &str) -> Tokens {
        Tokens::with(main, Vec::new())
    }

    fn with(main: &str, named: Vec<Caller>) -> Tokens {
        let mut all = vec![Caller {
            name: "main".into(),
            token: main.into(),
            topics: None,
        }];
        all.extend(named);
        Tokens(all.into())
    }

    /// The main token and the lines of a tokens file: `name token [pattern ...]` separated by
    /// spaces, `#` comments and blank lines ignored. Errors name the line and what to fix.
    pub fn parse(main: &str, file: &str) -> Result<Tokens, String> {
        let mut named: Vec<Caller> = Vec::new();
        for (n, line) in file.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let at = n + 1;
            let mut words = line.split_whitespace();
            let (Some(name), Some(token)) = (words.next(), words.next()) else {
                return Err(format!(
                    "line {at}: write `name token [topic-pattern ...]` (a name and a token at least)"
                ));
            };
            if name == "main" || named.iter().any(|c| &*c.name == name) {
                return Err(format!(
                    "line {at}: the name {name:?} is used twice (`main` is the --publish-token)"
                ));
            }
            if token.len() < MIN_TOKEN_LEN {
                return Err(format!(
                    "line {at}: the token of {name:?} is shorter than {MIN_TOKEN_LEN} characters"
                ));
            }
            if token == main || named.iter().any(|c| &*c.token == token) {
                return Err(format!("line {at}: the token of {name:?} is not unique"));
            }
            let mut patterns = Vec::new();
            for raw in words {
                patterns.push(Pattern::parse(raw).ok_or_else(|| {
                    format!(
                        "line {at}: {raw:?} is not a topic pattern (a topic name, a prefix \
                         ending in `*`, or `*`)"
                    )
                })?);
            }
            let all = patterns.is_empty() || patterns.contains(&Pattern::Prefix(String::new()));
            named.push(Caller {
                name: name.into(),
                token: token.into(),
                topics: (!all).then(|| patterns.into()),
            });
        }
        Ok(Tokens::with(main, named))
    }

    /// The caller whose token `headers` carry (`Authorization: Bearer <token>`).
    pub fn identify(&self, headers: &HeaderMap) -> Option<&Caller> {
        let given = bearer(headers)?;
        // Every token is compared, whatever matched before.
        let mut found = None;
        for c in self.0.iter() {
            if constant_time_eq(given.as_bytes(), c.token.as_bytes()) {
                found = Some(c);
            }
        }
        found
    }

    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|c| &*c.name).collect()
    }
}

/// The main token and, with `--tokens-file`, the named ones.
pub fn resolve_tokens(config: &Config, main: &str) -> Result<Tokens, String> {
    let Some(path) = &config.tokens_file else {
        return Ok(Tokens::main_only(main));
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--tokens-file {}: {e}", path.display()))?;
    let tokens =
        Tokens::parse(main, &text).map_err(|e| format!("--tokens-file {}: {e}", path.display()))?;
    tracing::info!(
        "publish tokens: {} (from {})",
        tokens.names().join(", "),
        path.display()
    );
    Ok(tokens)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn auth(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("authorization", format!("Bearer {token}").parse().unwrap());
        h
    }

    #[test]
    fn named_tokens_with_topic_patterns() {
        let file = "# workers\n\
                    sensors  sensor-token-0123456789  sensors.* alerts\n\
                    \n\
                    ci       ci-token-0123456789ab\n";
        let t = Tokens::parse("main-token-0123456789", file).unwrap();
        assert_eq!(t.names(), ["main", "sensors", "ci"]);
        let s = t.identify(&auth("sensor-token-0123456789")).unwrap();
        assert_eq!(&*s.name, "sensors");
        assert!(s.allows("sensors.kitchen") && s.allows("alerts"));
        assert!(!s.allows("stocks") && !s.allows("alerts2"));
        let ci = t.identify(&auth("ci-token-0123456789ab")).unwrap();
        assert!(ci.allows("stocks"));
        assert_eq!(
            &*t.identify(&auth("main-token-0123456789")).unwrap().name,
            "main"
        );
        assert!(t.identify(&auth("sensor-token-012345678")).is_none());
        assert!(t.identify(&HeaderMap::new()).is_none());
    }

    #[test]
    fn a_bad_tokens_file_names_the_line() {
        let main = "main-token-0123456789";
        for (file, says) in [
            ("a short", "line 1: the token of \"a\" is shorter"),
            (
                "a tok-0123456789abcdef\na tok-0123456789abcdeX",
                "line 2: the name \"a\"",
            ),
            (
                "a tok-0123456789abcdef\nb tok-0123456789abcdef",
                "line 2: the token of \"b\" is not",
            ),
            ("main tok-0123456789abcdef", "line 1: the name \"main\""),
            (
                "a tok-0123456789abcdef Stocks",
                "line 1: \"Stocks\" is not a topic pattern",
            ),
            ("lonely", "line 1: write"),
        ] {
            let err = Tokens::parse(main, file).unwrap_err();
            assert!(err.starts_with(says), "{file:?}: {err}");
        }
    }

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
