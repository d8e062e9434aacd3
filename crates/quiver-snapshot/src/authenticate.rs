//! Checking every byte of an encrypted data file with its key, as VERIFY does: a crc32
//! anyone can make match, an AES-GCM tag no one without the key can.
//!
//! Decrypting every module (footer, page headers, pages, page indexes) checks its tag, but
//! the Parquet reader leaves some bytes unchecked: the leading magic, the length field of
//! each page's, each column index's and the footer's module (it takes their sizes from the
//! authenticated metadata instead), the plaintext crypto metadata before the footer (the AAD
//! prefix stored there, as quiver supplies its own, and field headers its decoder reads
//! leniently), and an offset index that does not decrypt (read as absent). Each is checked here against what
//! the authenticated metadata says, so that a flipped byte anywhere is noticed (a test
//! flips each byte of a file in turn).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData};

use crate::reader::{guard, undecryptable};
use crate::{Error, FileCipher, Result, SnapshotReader};

/// The magic an encrypted-footer Parquet file begins and ends with.
const ENCRYPTED_MAGIC: &[u8; 4] = b"PARE";

/// Reads and checks the encrypted file at `path` with `cipher`: the footer, page indexes
/// and the pages of the columns at `columns` (all when `None`) decrypt and authenticate,
/// and every byte outside the modules is what the authenticated metadata says it must be.
/// With `None`, every byte of the file is checked; a reader that decodes the other columns
/// itself (every page of them: RESTORE) authenticates them as it reads.
pub fn authenticate_file(
    path: &Path,
    cipher: &FileCipher,
    columns: Option<&[usize]>,
) -> Result<()> {
    let malformed = |message: String| {
        undecryptable(
            true,
            Error::Malformed {
                path: path.to_path_buf(),
                message,
            },
        )
    };
    let file = File::open(path).map_err(|source| Error::Io {
        action: "opening",
        path: path.to_path_buf(),
        source,
    })?;
    let read_u32 = |at: u64| -> Result<u64> {
        let mut word = [0u8; 4];
        file.read_exact_at(&mut word, at)
            .map_err(|e| malformed(format!("reading 4 bytes at offset {at}: {e}")))?;
        Ok(u64::from(u32::from_le_bytes(word)))
    };
    let mut magic = [0u8; 4];
    file.read_exact_at(&mut magic, 0)
        .map_err(|e| malformed(format!("reading its first bytes: {e}")))?;
    if &magic != ENCRYPTED_MAGIC {
        return Err(malformed(
            "it does not begin as an encrypted Parquet file".into(),
        ));
    }
    let metadata = load(path, &file, cipher.decryption(), PageIndexPolicy::Required)?;
    // The stored AAD prefix, which other engines use, must be the one quiver supplies.
    load(
        path,
        &file,
        cipher.decryption_with_stored_prefix(),
        PageIndexPolicy::Skip,
    )
    .map_err(|e| malformed(format!("its stored AAD prefix is not its own ({e})")))?;
    check_module_lengths(&metadata, &read_u32).map_err(malformed)?;
    check_crypto_metadata(&file, cipher.aad_prefix(), &read_u32).map_err(malformed)?;
    SnapshotReader::open_columns(path, 8192, columns, Some(cipher))?
        .try_for_each(|batch| batch.map(drop))
}

/// The file's metadata, decrypted by `decryption`, with its page indexes per `policy`.
fn load(
    path: &Path,
    file: &File,
    decryption: parquet::errors::Result<
        std::sync::Arc<parquet::encryption::decrypt::FileDecryptionProperties>,
    >,
    policy: PageIndexPolicy,
) -> Result<std::sync::Arc<ParquetMetaData>> {
    let parquet = |source| Error::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let options = ArrowReaderOptions::new()
        .with_skip_arrow_metadata(true)
        .with_page_index_policy(policy)
        .with_file_decryption_properties(decryption.map_err(parquet)?);
    guard(path, || {
        ArrowReaderMetadata::load(file, options)
            .map(|m| m.metadata().clone())
            .map_err(parquet)
    })
    .map_err(|e| undecryptable(true, e))
}

/// Checks the length field of every module that the reader sizes by the metadata: each
/// column index and offset index, and each page's header and data (a column chunk is its
/// pages end to end, each data page where the offset index says and as long).
fn check_module_lengths(
    metadata: &ParquetMetaData,
    read_u32: &dyn Fn(u64) -> Result<u64>,
) -> std::result::Result<(), String> {
    let offset_index = metadata
        .offset_index()
        .ok_or_else(|| "it has no offset index".to_string())?;
    for (group, row_group) in metadata.row_groups().iter().enumerate() {
        for (column, chunk) in row_group.columns().iter().enumerate() {
            let place = format!("row group {group}, column {column}");
            let indexes = [
                (
                    "column index",
                    chunk.column_index_offset(),
                    chunk.column_index_length(),
                ),
                (
                    "offset index",
                    chunk.offset_index_offset(),
                    chunk.offset_index_length(),
                ),
            ];
            for (what, offset, length) in indexes {
                if let (Some(offset), Some(length)) = (offset, length) {
                    let stored = read_u32(offset as u64).map_err(|e| e.to_string())?;
                    if 4 + stored != length as u64 {
                        return Err(format!(
                            "the {what} of {place} says it is {stored} bytes long, its metadata {}",
                            length as i64 - 4
                        ));
                    }
                }
            }
            let locations = offset_index
                .get(group)
                .and_then(|g| g.get(column))
                .map(|o| o.page_locations().as_slice())
                .ok_or_else(|| format!("the offset index lacks {place}"))?;
            let (start, size) = chunk.byte_range();
            let end = start + size;
            let first_data_page = locations.first().map_or(end, |l| l.offset as u64);
            let mut at = start;
            let mut data_pages = 0;
            while at < end {
                let header = read_u32(at).map_err(|e| e.to_string())?;
                let data_at = at + 4 + header;
                let data = read_u32(data_at).map_err(|e| e.to_string())?;
                let page_end = data_at + 4 + data;
                let expected_end = match locations.iter().find(|l| l.offset as u64 == at) {
                    Some(location) => {
                        data_pages += 1;
                        at + location.compressed_page_size as u64
                    }
                    // A dictionary page: before the first data page.
                    None if at < first_data_page => first_data_page,
                    None => {
                        return Err(format!(
                            "{place} has a page at offset {at} that its offset index does not list"
                        ));
                    }
                };
                if page_end != expected_end {
                    return Err(format!(
                        "the page at offset {at} of {place} ends at {page_end} by its length fields, at {expected_end} by its metadata"
                    ));
                }
                at = page_end;
            }
            if at != end || data_pages != locations.len() {
                return Err(format!(
                    "the pages of {place} do not fill its column chunk as its metadata says"
                ));
            }
        }
    }
    Ok(())
}

/// Checks the plaintext `FileCryptoMetaData` before the encrypted footer, and the footer
/// module's length field: they must be exactly what quiver's writer puts there (Thrift
/// compact: AES_GCM_V1 with the AAD prefix `aad_prefix`, the file's 8 unique bytes, which
/// every module's AAD holds, and `supply_aad_prefix` false), with nothing else.
fn check_crypto_metadata(
    file: &File,
    aad_prefix: &[u8],
    read_u32: &dyn Fn(u64) -> Result<u64>,
) -> std::result::Result<(), String> {
    let file_len = file.metadata().map_err(|e| e.to_string())?.len();
    let footer_len = read_u32(file_len.saturating_sub(8)).map_err(|e| e.to_string())?;
    let start = file_len
        .checked_sub(8 + footer_len)
        .ok_or_else(|| "its footer length is longer than the file".to_string())?;
    // Field 1 (struct), union field 1 (struct AesGcmV1), field 1 (binary): the prefix.
    let mut expected = vec![0x1c, 0x1c, 0x18];
    let mut length = aad_prefix.len();
    while length >= 0x80 {
        expected.push((length & 0x7f) as u8 | 0x80);
        length >>= 7;
    }
    expected.push(length as u8);
    expected.extend_from_slice(aad_prefix);
    // Field 2 (binary, 8 bytes): the unique part.
    expected.extend_from_slice(&[0x18, 0x08]);
    let unique_at = expected.len();
    expected.extend_from_slice(&[0; 8]);
    // Field 3 (bool false), then the ends of the three structs.
    expected.extend_from_slice(&[0x12, 0x00, 0x00, 0x00]);
    let mut actual = vec![0u8; expected.len()];
    file.read_exact_at(&mut actual, start)
        .map_err(|e| format!("reading its crypto metadata: {e}"))?;
    actual[unique_at..unique_at + 8].fill(0);
    if actual != expected {
        return Err("its plaintext crypto metadata is not what quiver writes".into());
    }
    let module_at = start + expected.len() as u64;
    let module_length = read_u32(module_at).map_err(|e| e.to_string())?;
    if module_at + 4 + module_length != file_len - 8 {
        return Err(format!(
            "its footer module says it is {module_length} bytes long, its footer length {}",
            (file_len - 8).saturating_sub(module_at + 4)
        ));
    }
    Ok(())
}
