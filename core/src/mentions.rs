//! Whether a JSON text has a backslash or one of a few byte strings, in one pass.
//!
//! `RawContainer::may_mount` asks this of the mounts of every container of a pod that has a
//! hostPath volume (of the whole container when it is read whole). Searching for the backslash
//! and each needle apart cost a third of the floor in WebAssembly (no SIMD there); this reads
//! the text sixteen bytes at a time and looks closer only at the bytes that may be a backslash
//! or the rarest byte of a needle.

use crate::json;

/// A byte string to look for, with the byte its search keys on.
#[derive(Debug, Clone)]
pub struct Needle {
    bytes: Vec<u8>,
    /// Where in `bytes` its rarest byte is.
    key: usize,
}

impl Needle {
    pub fn new(bytes: Vec<u8>) -> Needle {
        let key = (0..bytes.len())
            .max_by_key(|&i| rarity(bytes[i]))
            .unwrap_or_default();
        Needle { bytes, key }
    }

    fn key_byte(&self) -> u8 {
        self.bytes[self.key]
    }
}

/// True when `text` has a backslash or any of `needles`: exactly
/// `text.contains('\\') || needles.iter().any(|n| text.contains(n))`.
pub fn backslash_or_any(text: &[u8], needles: &[Needle]) -> bool {
    if needles.iter().any(|needle| needle.bytes.is_empty()) {
        return true;
    }
    match needles {
        // Most pods that get here have one hostPath volume: its key byte stays in a register
        // (a loop over the needles reloaded it for every step, and took twice as long).
        [needle] => {
            let key = needle.key_byte();
            scan(text, needles, |word| has(word, b'\\') | has(word, key))
        }
        _ => scan(text, needles, |word| {
            needles.iter().fold(has(word, b'\\'), |marks, needle| {
                marks | has(word, needle.key_byte())
            })
        }),
    }
}

/// Nonzero if and only if a byte of `word` is `byte` (the reader's test, masked).
#[inline(always)]
fn has(word: u64, byte: u8) -> u64 {
    json::has_byte(word, byte) & json::HIGHS
}

/// [`backslash_or_any`], given what marks the words that may hold a match.
#[inline(always)]
fn scan(text: &[u8], needles: &[Needle], marks: impl Fn(u64) -> u64) -> bool {
    let found_at = |at: usize| {
        text[at] == b'\\'
            || needles.iter().any(|needle| {
                text[at] == needle.key_byte()
                    && at >= needle.key
                    && text[at - needle.key..].starts_with(&needle.bytes)
            })
    };
    // Only the bytes a word's marks point at are looked at: the lowest mark is exact, those
    // above it may not be.
    let found_in = |mut marks: u64, base: usize| {
        while marks != 0 {
            if found_at(base + (marks.trailing_zeros() / 8) as usize) {
                return true;
            }
            marks &= marks - 1;
        }
        false
    };
    let word = |chunk: &[u8]| u64::from_le_bytes(chunk.try_into().unwrap_or_default());
    // Sixteen bytes a step: one branch for two words.
    let mut chunks = text.chunks_exact(16);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let (low, high) = (marks(word(&chunk[..8])), marks(word(&chunk[8..])));
        if low | high != 0 && (found_in(low, at) || found_in(high, at + 8)) {
            return true;
        }
        at += 16;
    }
    (at..text.len()).any(found_at)
}

/// How rarely a byte occurs in Kubernetes JSON: quotes, punctuation and common lowercase
/// letters are frequent; anything else counts as rare.
fn rarity(byte: u8) -> u8 {
    RARITY[usize::from(byte)]
}

/// [`rarity`] of every byte, worked out when the module is built.
const RARITY: [u8; 256] = {
    const COMMON: &[u8] = b"\":,{}etaonirsclmdpuh-/.0123456789gfbvykwxjqz";
    let mut table = [COMMON.len() as u8; 256];
    let mut i = 0;
    while i < COMMON.len() {
        table[COMMON[i] as usize] = i as u8;
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn search(text: &str, needles: &[&str]) -> bool {
        let needles: Vec<Needle> = needles
            .iter()
            .map(|n| Needle::new(n.as_bytes().to_vec()))
            .collect();
        backslash_or_any(text.as_bytes(), &needles)
    }

    #[test]
    fn finds_needles_and_backslashes_anywhere() {
        let text = r#"{"name":"app","volumeMounts":[{"mountPath":"/s","name":"dockersock"}]}"#;
        assert!(search(text, &["\"dockersock\""]));
        assert!(!search(text, &["\"docker\""]));
        assert!(search(text, &["\"docker\"", "\"app\""]));
        assert!(search(r#"{"name":"a\u0062"}"#, &["\"zzz\""]));
        assert!(search("\\", &["\"x\""]));
        assert!(!search("", &["\"x\""]));
        // Across the eight-byte words, and at the very end.
        assert!(search("0123456\"ab\"", &["\"ab\""]));
        assert!(search("01234567\"ab\"", &["\"ab\""]));
    }

    #[test]
    fn keys_on_the_rarest_byte() {
        assert_eq!(Needle::new(b"\"dockersock\"".to_vec()).key, 10);
        assert_eq!(Needle::new(b"\"Vol\"".to_vec()).key, 1);
    }

    proptest! {
        #[test]
        fn agrees_with_a_plain_search(
            text in "[a-e\"\\\\:,{}/ ]{0,40}",
            needles in prop::collection::vec("[a-e\"\\\\]{1,4}", 1..3),
        ) {
            let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
            let plain = text.contains('\\') || needles.iter().any(|n| text.contains(n));
            prop_assert_eq!(search(&text, &needles), plain);
        }
    }
}
