//! File-system names for collections and tables, whose SQL names may contain any character.

/// The longest segment [`encode_path_segment`] returns: file systems allow 255 bytes a
/// name, and quiver adds to it (`.<part>.parquet`, temporary names).
pub const MAX_SEGMENT_BYTES: usize = 120;

/// Encodes a SQL name as one path segment: ASCII letters, digits, `_` and `-` stay as they
/// are, every other byte becomes `%XX`. The encoding is injective, so two names never share
/// a directory, and the result never starts with `.` (hidden entries are the catalog's own).
/// An encoding longer than [`MAX_SEGMENT_BYTES`] (a long name, or 30 CJK characters at 9
/// bytes each) is cut and ends in `~` and a 128-bit hash of the whole name instead; `~` is
/// never part of an encoding, so a shortened segment never equals another name's.
///
/// ```
/// assert_eq!(quiver_catalog::encode_path_segment("orders"), "orders");
/// assert_eq!(quiver_catalog::encode_path_segment("/Root/a b"), "%2FRoot%2Fa%20b");
/// let long = quiver_catalog::encode_path_segment(&"表".repeat(30));
/// assert!(long.len() <= quiver_catalog::MAX_SEGMENT_BYTES && long.contains('~'));
/// ```
pub fn encode_path_segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    if out.len() > MAX_SEGMENT_BYTES {
        let hash = format!("~{:032x}", xxhash_rust::xxh3::xxh3_128(name.as_bytes()));
        // The encoding is ASCII: any cut is a character boundary.
        out.truncate(MAX_SEGMENT_BYTES - hash.len());
        out.push_str(&hash);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn encoding_is_injective_and_safe(a in ".{0,12}", b in ".{0,12}") {
            let (ea, eb) = (encode_path_segment(&a), encode_path_segment(&b));
            prop_assert_eq!(a == b, ea == eb);
            prop_assert!(!ea.contains('/') && !ea.starts_with('.'));
        }

        #[test]
        fn long_names_stay_short_distinct_and_safe(a in ".{30,200}", b in ".{30,200}") {
            let (ea, eb) = (encode_path_segment(&a), encode_path_segment(&b));
            prop_assert_eq!(a == b, ea == eb);
            prop_assert!(ea.len() <= MAX_SEGMENT_BYTES);
            prop_assert!(!ea.contains('/') && !ea.starts_with('.'));
        }
    }
}
