//! File-system names for collections and tables, whose SQL names may contain any character.

/// Encodes a SQL name as one path segment: ASCII letters, digits, `_` and `-` stay as they
/// are, every other byte becomes `%XX`. The encoding is injective, so two names never share
/// a directory, and the result never starts with `.` (hidden entries are the catalog's own).
///
/// ```
/// assert_eq!(quiver_catalog::encode_path_segment("orders"), "orders");
/// assert_eq!(quiver_catalog::encode_path_segment("/Root/a b"), "%2FRoot%2Fa%20b");
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
    }
}
