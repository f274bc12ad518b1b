//! Lower-case hex, for the secrets and tags the server makes: publish tokens and signing keys,
//! session ids, CSP nonces, subscription signatures.

/// `bytes` as lower-case hex.
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// `N` fresh random bytes (the thread's CSPRNG) as hex.
pub fn random<const N: usize>() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    encode(&bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_every_byte_as_two_lower_case_digits() {
        assert_eq!(super::encode(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(super::encode(&[]), "");
    }
}
