//! The checks of one data file against its manifest entry, shared by verify, export and
//! import: the same faults, worded the same way, wherever they are found.

use crate::{Digest, Fault, FaultKind, Location};

/// A data file's fault at `rel` (`<backup id>/<path>`) in `location`.
pub(crate) fn fault(location: &Location, rel: &str, kind: FaultKind, message: String) -> Fault {
    Fault {
        kind,
        backup: rel.split('/').next().map(str::to_string),
        url: location.url_of(rel),
        message,
    }
}

/// The data file at `rel` is not there.
pub(crate) fn missing(location: &Location, rel: &str) -> Fault {
    fault(
        location,
        rel,
        FaultKind::MissingFile,
        "the data file is missing".into(),
    )
}

/// A fault if the listing's size of the file at `rel` (`None`: not listed) is not `bytes`.
pub(crate) fn listed(
    location: &Location,
    rel: &str,
    size: Option<u64>,
    bytes: u64,
) -> Option<Fault> {
    match size {
        None => Some(missing(location, rel)),
        Some(size) if size != bytes => Some(fault(
            location,
            rel,
            FaultKind::Size,
            format!("the data file has {size} bytes, its manifest says {bytes}"),
        )),
        Some(_) => None,
    }
}

/// A fault if `digest` (of the file at `rel`) is not the manifest's `bytes` and `crc32`.
pub(crate) fn mismatch(
    location: &Location,
    rel: &str,
    bytes: u64,
    crc32: u32,
    digest: Digest,
) -> Option<Fault> {
    if digest.bytes != bytes {
        return listed(location, rel, Some(digest.bytes), bytes);
    }
    (digest.crc32 != crc32).then(|| {
        fault(
            location,
            rel,
            FaultKind::Checksum,
            format!(
                "the data file's crc32 is {:08x}, its manifest says {crc32:08x}: its bytes changed",
                digest.crc32
            ),
        )
    })
}
