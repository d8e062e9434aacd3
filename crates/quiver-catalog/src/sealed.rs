//! Checksummed JSON: a manifest or definition carries the crc32 of its own canonical bytes.
//!
//! The canonical bytes are the value's compact JSON as this crate serializes it (fields in
//! declaration order), so the checksum does not depend on how the file is formatted, and any
//! change to a field the reader uses is caught. A crc32 detects damage, not forgery: anyone
//! can recompute it. Forged content is caught where it is used (DDL checked before it runs,
//! paths checked to stay inside the backup, data files checked against their digests).

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The field that holds the checksum in the stored JSON.
const CHECKSUM_FIELD: &str = "checksum";

/// `value` as stored: its pretty JSON with a `checksum` field.
pub(crate) fn seal<T: Serialize>(value: &T) -> Vec<u8> {
    let mut json = serde_json::to_value(value).expect("catalog values serialize");
    if let serde_json::Value::Object(fields) = &mut json {
        fields.insert(CHECKSUM_FIELD.into(), checksum(value).into());
    }
    serde_json::to_vec_pretty(&json).expect("catalog values serialize")
}

/// Reads a value stored by [`seal`]. `required` says whether a missing checksum is refused
/// (values written before checksums existed have none).
pub(crate) fn unseal<T: Serialize + DeserializeOwned>(
    bytes: &[u8],
    required: impl FnOnce(&T) -> bool,
) -> Result<T, String> {
    let mut json: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let stored = match &mut json {
        serde_json::Value::Object(fields) => fields.remove(CHECKSUM_FIELD),
        _ => None,
    };
    let value: T = serde_json::from_value(json).map_err(|e| e.to_string())?;
    match stored {
        None if required(&value) => Err("it has no checksum".into()),
        None => Ok(value),
        Some(stored) => {
            let expected = checksum(&value);
            if stored.as_u64() == Some(u64::from(expected)) {
                Ok(value)
            } else {
                Err(format!(
                    "its checksum {stored} does not match its contents (crc32 {expected}): the file is damaged or was altered"
                ))
            }
        }
    }
}

fn checksum<T: Serialize>(value: &T) -> u32 {
    crc32fast::hash(&serde_json::to_vec(value).expect("catalog values serialize"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Thing {
        a: String,
        b: Vec<u32>,
    }

    #[test]
    fn sealed_values_round_trip_and_any_change_is_caught() {
        let thing = Thing {
            a: "x".into(),
            b: vec![1, 2],
        };
        let bytes = seal(&thing);
        assert_eq!(unseal::<Thing>(&bytes, |_| true).unwrap(), thing);
        let text = String::from_utf8(bytes).unwrap();
        let altered = text.replace("\"x\"", "\"y\"");
        let err = unseal::<Thing>(altered.as_bytes(), |_| true).unwrap_err();
        assert!(err.contains("does not match"), "{err}");
        let unsealed = r#"{"a": "x", "b": [1, 2]}"#;
        assert!(unseal::<Thing>(unsealed.as_bytes(), |_| true).is_err());
        assert_eq!(
            unseal::<Thing>(unsealed.as_bytes(), |_| false).unwrap(),
            thing
        );
        assert!(unseal::<Thing>(b"[1]", |_| true).is_err());
    }
}
