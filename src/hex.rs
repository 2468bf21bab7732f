//! Lower-case hex for the SHA-256 digests that name session files, keychain entries and cache
//! files. Every `authcli token` computes two of these, so one table lookup per nibble rather
//! than a `format!` per byte.

use sha2::{Digest, Sha256};

/// The SHA-256 of `bytes`, in lower-case hex (64 characters).
pub(crate) fn sha256(bytes: &[u8]) -> String {
    lower(&Sha256::digest(bytes))
}

/// `bytes` as lower-case hex, two characters per byte.
pub(crate) fn lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_the_formatter_for_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        let expected: String = all.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(super::lower(&all), expected);
        assert_eq!(super::lower(&[]), "");
        assert_eq!(
            super::sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
