//! Private topics and signed subscription URLs.
//!
//! Topics are public: anyone may subscribe. `--private-topics` names topic patterns (the
//! syntax of `--tokens-file`: a name, a prefix ending in `*`) whose events only a holder of a
//! signed URL may read — on the stream (`/api/events`) and the snapshot API. A browser's
//! `EventSource` cannot send an `Authorization` header, so the grant travels in the URL:
//! `exp=<unix seconds>&sig=<hex HMAC-SHA256>` over the stream's whole topic list and `exp`.
//! A publish-token holder mints one with `POST /api/subscriptions` (a named token only for the
//! topics its patterns allow), for at most [`MAX_TTL_SECS`].
//!
//! The key is `--signing-key-file`, or one generated at first start into the data directory
//! (`signing-key`, mode 0600). Instances behind one proxy must share it, or a URL signed by
//! one is refused by the others.
//!
//! The signature is checked before the expiry, so a changed `exp` is a forgery (403), not an
//! expiry (401); an expired URL is answered with a message telling the client to fetch a new
//! one. Signatures are compared in constant time (`ring::hmac::verify`).

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use ring::hmac;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{self, Pattern};
use super::events::{parse_topics, MAX_TOPICS};
use super::AppState;
use crate::config::Config;
use crate::error::ApiError;
use crate::event::Topic;

/// The longest life a signed URL may be given; longer requests are cut to it.
pub const MAX_TTL_SECS: u64 = 24 * 3600;
/// The life of a signed URL when the request names none.
pub const DEFAULT_TTL_SECS: u64 = 3600;
/// The shortest signing key accepted from `--signing-key-file` (bytes, surrounding whitespace
/// trimmed): a short key is guessable offline from any signed URL.
pub const MIN_KEY_LEN: usize = 32;

/// Labels what is signed, so a signature made here can never be valid for another purpose.
const CONTEXT: &str = "pulse-subscribe-v1";

/// Why a subscription to a private topic was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// A private topic was named without `exp` and `sig` (401): the first topic so named.
    Missing(String),
    /// `sig` does not match the topics and `exp` given (403): forged, or the URL was edited.
    Bad,
    /// The signature is right but `exp` has passed (401); carries `exp`.
    Expired(u64),
}

/// The signing key and the private patterns.
#[derive(Clone)]
pub struct Signer {
    key: hmac::Key,
    private: Arc<[Pattern]>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Signer")
            .field("private", &self.private)
            .finish_non_exhaustive()
    }
}

impl Signer {
    pub fn new(key: &[u8], private: Vec<Pattern>) -> Signer {
        Signer {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
            private: private.into(),
        }
    }

    /// Whether `topic` needs a signed URL.
    pub fn is_private(&self, topic: &str) -> bool {
        self.private.iter().any(|p| p.matches(topic))
    }

    /// The hex signature of a subscription to `topics` (in any order) until `exp`.
    pub fn sign(&self, topics: &[Topic], exp: u64) -> String {
        let tag = hmac::sign(&self.key, canonical(topics, exp).as_bytes());
        super::hex::encode(tag.as_ref())
    }

    /// Whether a subscription to `topics` with the URL's `exp` and `sig` may go ahead at
    /// `now` (unix seconds). Lists without a private topic need neither.
    pub fn check(
        &self,
        topics: &[Topic],
        exp: Option<&str>,
        sig: Option<&str>,
        now: u64,
    ) -> Result<(), SignatureError> {
        let Some(private) = topics.iter().find(|t| self.is_private(t.as_str())) else {
            return Ok(());
        };
        let (Some(exp_raw), Some(sig)) = (exp.filter(|e| !e.is_empty()), sig) else {
            return Err(SignatureError::Missing(private.as_str().to_owned()));
        };
        let exp = parse_exp(exp_raw).ok_or(SignatureError::Bad)?;
        let tag = decode_hex(sig).ok_or(SignatureError::Bad)?;
        hmac::verify(&self.key, canonical(topics, exp).as_bytes(), &tag)
            .map_err(|_| SignatureError::Bad)?;
        if now > exp {
            return Err(SignatureError::Expired(exp));
        }
        Ok(())
    }
}

/// What is signed: the purpose, the distinct topic names sorted, and `exp`. Sorted so that the
/// same set in another order is the same grant; every name is a valid topic (no `,` or line
/// break), so the text cannot be ambiguous.
fn canonical(topics: &[Topic], exp: u64) -> String {
    let mut names: Vec<&str> = topics.iter().map(Topic::as_str).collect();
    names.sort_unstable();
    names.dedup();
    format!("{CONTEXT}\n{}\n{exp}", names.join(","))
}

/// `exp` as sent: 1–20 digits that fit a u64, nothing else.
fn parse_exp(raw: &str) -> Option<u64> {
    (raw.len() <= 20 && raw.bytes().all(|b| b.is_ascii_digit()))
        .then(|| raw.parse().ok())
        .flatten()
}

/// Lower- or upper-case hex of a 32-byte tag; anything else is `None`.
fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Seconds since the Unix epoch, by the server's clock.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The private patterns of `--private-topics`, and the key from `--signing-key-file` or the data
/// directory (generated there on first start).
pub fn resolve(config: &Config) -> Result<Signer, String> {
    let mut private = Vec::new();
    for raw in config.private_topics.iter().map(|p| p.trim()) {
        if raw.is_empty() {
            continue;
        }
        let pattern = Pattern::parse(raw).ok_or_else(|| {
            format!(
                "--private-topics: {raw:?} is not a topic pattern (a topic name, or a prefix \
                 ending in `*`)"
            )
        })?;
        if let Some(b) = crate::event::BuiltIn::ALL
            .into_iter()
            .find(|b| pattern.matches(b.name()))
        {
            return Err(format!(
                "--private-topics: {raw:?} would make the built-in topic `{}` private, but the \
                 pages subscribe to it without a signature; name only your own topics",
                b.name()
            ));
        }
        private.push(pattern);
    }
    let key = match &config.signing_key_file {
        Some(path) => read_key(path)?,
        None => data_dir_key(&config.signing_key_path())?,
    };
    Ok(Signer::new(key.as_bytes(), private))
}

fn read_key(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--signing-key-file {}: {e}", path.display()))?;
    let key = text.trim();
    if key.len() < MIN_KEY_LEN {
        return Err(format!(
            "--signing-key-file {}: the key is {} bytes; use at least {MIN_KEY_LEN} random \
             bytes (e.g. `openssl rand -hex 32`)",
            path.display(),
            key.len()
        ));
    }
    Ok(key.to_owned())
}

fn data_dir_key(path: &Path) -> Result<String, String> {
    match std::fs::read_to_string(path) {
        Ok(saved) if saved.trim().len() >= MIN_KEY_LEN => Ok(saved.trim().to_owned()),
        Ok(_) => Err(format!(
            "{} is shorter than {MIN_KEY_LEN} bytes; delete it to generate a new key (signed \
             URLs made with the old one stop working)",
            path.display()
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = auth::generate();
            auth::save(path, &key).map_err(|e| format!("cannot save {}: {e}", path.display()))?;
            tracing::info!(
                "signing key for subscription URLs: generated and saved to {} (mode 0600)",
                path.display()
            );
            Ok(key)
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

impl From<SignatureError> for ApiError {
    fn from(e: SignatureError) -> ApiError {
        match e {
            SignatureError::Missing(topic) => ApiError::SignatureRequired(topic),
            SignatureError::Bad => ApiError::BadSignature,
            SignatureError::Expired(exp) => ApiError::SubscriptionExpired(exp),
        }
    }
}

/// The `exp` and `sig` of a raw query string (still percent-encoded: both are plain digits and
/// hex, so an encoded one is simply refused).
pub fn grant_params(raw: Option<&str>) -> (Option<&str>, Option<&str>) {
    let (mut exp, mut sig) = (None, None);
    for pair in raw.unwrap_or_default().split('&') {
        match pair.split_once('=') {
            Some(("exp", v)) => exp = Some(v),
            Some(("sig", v)) => sig = Some(v),
            _ => {}
        }
    }
    (exp, sig)
}

pub fn router() -> Router<AppState> {
    Router::new().route("/api/subscriptions", post(mint))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MintRequest {
    topics: Vec<String>,
    ttl_secs: Option<u64>,
}

/// `POST /api/subscriptions` with `{"topics": [...], "ttl_secs": N}` and the publish token:
/// a signed stream URL for those topics, valid for `ttl_secs` (default an hour, at most a day).
async fn mint(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let caller = state
        .tokens
        .identify(&headers)
        .ok_or(ApiError::Unauthorized)?;
    let limit = state.config.max_body;
    let bytes = axum::body::to_bytes(body, limit as usize)
        .await
        .map_err(|_| ApiError::TooLarge { limit })?;
    let req: MintRequest = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::BadSubscriptionRequest(format!(
            "send {{\"topics\": [\"name\", ...], \"ttl_secs\": N}}: {e}"
        ))
    })?;
    if req.topics.len() > MAX_TOPICS {
        return Err(ApiError::BadTopicList(format!(
            "{} topics requested; one stream carries at most {MAX_TOPICS}",
            req.topics.len()
        )));
    }
    let list = req.topics.join(",");
    let topics = parse_topics(Some(&list))?;
    if let Some(t) = topics.iter().find(|t| !caller.allows(t.as_str())) {
        return Err(ApiError::TopicNotAllowed {
            token: caller.name.to_string(),
            topic: t.as_str().to_owned(),
        });
    }
    let ttl = req
        .ttl_secs
        .unwrap_or(DEFAULT_TTL_SECS)
        .clamp(1, MAX_TTL_SECS);
    let exp = now_secs() + ttl;
    let names: Vec<&str> = topics.iter().map(Topic::as_str).collect();
    let query = format!(
        "topics={}&exp={exp}&sig={}",
        names.join(","),
        state.signer.sign(&topics, exp)
    );
    Ok(Json(json!({
        "topics": names,
        "expires_at": exp,
        "ttl_secs": ttl,
        "query": query,
        "url": format!("/api/events?{query}"),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics(names: &[&str]) -> Vec<Topic> {
        names.iter().map(|n| Topic::parse(n).unwrap()).collect()
    }

    fn signer() -> Signer {
        Signer::new(
            b"0123456789abcdef0123456789abcdef",
            vec![
                Pattern::parse("secret.*").unwrap(),
                Pattern::parse("vault").unwrap(),
            ],
        )
    }

    #[test]
    fn a_signed_list_is_good_until_it_expires() {
        let s = signer();
        let list = topics(&["secret.a", "stocks"]);
        let sig = s.sign(&list, 1000);
        assert_eq!(sig.len(), 64);
        assert_eq!(s.check(&list, Some("1000"), Some(&sig), 999), Ok(()));
        assert_eq!(s.check(&list, Some("1000"), Some(&sig), 1000), Ok(()));
        assert_eq!(
            s.check(&list, Some("1000"), Some(&sig), 1001),
            Err(SignatureError::Expired(1000))
        );
        // The same set in another order, or named twice, is the same grant.
        let reordered = topics(&["stocks", "secret.a", "stocks"]);
        assert_eq!(s.check(&reordered, Some("1000"), Some(&sig), 5), Ok(()));
        assert_eq!(
            s.check(&list, Some("1000"), Some(&sig.to_uppercase()), 5),
            Ok(())
        );
    }

    #[test]
    fn edits_and_forgeries_are_bad_signatures() {
        let s = signer();
        let list = topics(&["secret.a"]);
        let sig = s.sign(&list, 1000);
        let bad = Err(SignatureError::Bad);
        // A later expiry, another private topic, one more topic: all refused, even when expired.
        assert_eq!(s.check(&list, Some("2000"), Some(&sig), 5), bad);
        assert_eq!(s.check(&list, Some("2000"), Some(&sig), 1500), bad);
        assert_eq!(
            s.check(&topics(&["secret.b"]), Some("1000"), Some(&sig), 5),
            bad
        );
        assert_eq!(
            s.check(&topics(&["secret.a", "vault"]), Some("1000"), Some(&sig), 5),
            bad
        );
        let mut flipped = sig.clone().into_bytes();
        flipped[10] = if flipped[10] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(s.check(&list, Some("1000"), Some(&flipped), 5), bad);
        for junk in ["", "zz", &sig[..62], &format!("{sig}00"), &"g".repeat(64)] {
            assert_eq!(s.check(&list, Some("1000"), Some(junk), 5), bad, "{junk:?}");
        }
        for exp in ["-1", "1e3", " 1000", "99999999999999999999999"] {
            assert_eq!(s.check(&list, Some(exp), Some(&sig), 5), bad, "{exp:?}");
        }
        // Another key's signature.
        let other = Signer::new(b"another key, 32 bytes long......", Vec::new());
        assert_eq!(
            s.check(&list, Some("1000"), Some(&other.sign(&list, 1000)), 5),
            bad
        );
    }

    #[test]
    fn only_private_topics_need_a_signature() {
        let s = signer();
        assert_eq!(
            s.check(&topics(&["stocks", "secretive"]), None, None, 5),
            Ok(())
        );
        assert_eq!(
            s.check(&topics(&["stocks", "vault"]), None, None, 5),
            Err(SignatureError::Missing("vault".into()))
        );
        assert_eq!(
            s.check(&topics(&["secret.x"]), Some("1000"), None, 5),
            Err(SignatureError::Missing("secret.x".into()))
        );
        assert_eq!(
            s.check(&topics(&["secret.x"]), Some(""), Some("ab"), 5),
            Err(SignatureError::Missing("secret.x".into()))
        );
    }

    #[test]
    fn grant_params_are_read_from_the_raw_query() {
        assert_eq!(
            grant_params(Some("topics=a&exp=12&sig=ab&since=3")),
            (Some("12"), Some("ab"))
        );
        assert_eq!(grant_params(None), (None, None));
    }

    #[test]
    fn the_key_is_generated_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing-key");
        let first = data_dir_key(&path).unwrap();
        assert_eq!(first, data_dir_key(&path).unwrap());
        std::fs::write(&path, "short\n").unwrap();
        assert!(data_dir_key(&path).unwrap_err().contains("delete it"));
        let short = dir.path().join("given");
        std::fs::write(&short, "too short").unwrap();
        assert!(read_key(&short).unwrap_err().contains("at least 32"));
    }
}
