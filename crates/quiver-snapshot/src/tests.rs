//! Round trips and damage detection.

use std::sync::Arc;

use arrow::array::{ArrayRef, BinaryArray, Float64Array, Int64Array, StringArray};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use proptest::prelude::*;

use crate::{
    Error, PipelinedWriter, SnapshotReader, SnapshotWriter, WriteOptions, file_digest, verify_file,
};

type Row = (i64, Option<f64>, Option<String>, Option<Vec<u8>>);

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("r", DataType::Float64, true),
        Field::new("t", DataType::Utf8, true),
        Field::new("b", DataType::Binary, true),
    ]))
}

fn batch(rows: &[Row]) -> RecordBatch {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
        Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.1))),
        Arc::new(StringArray::from_iter(rows.iter().map(|r| r.2.clone()))),
        Arc::new(BinaryArray::from_iter(rows.iter().map(|r| r.3.clone()))),
    ];
    RecordBatch::try_new(schema(), columns).unwrap()
}

fn write(
    path: &std::path::Path,
    batches: &[RecordBatch],
    row_group_rows: usize,
) -> crate::FileDigest {
    let mut options = WriteOptions::sorted_by(vec![0]);
    options.row_group_rows = row_group_rows;
    let mut writer = SnapshotWriter::create(path, schema(), &options).unwrap();
    for b in batches {
        writer.write(b).unwrap();
    }
    writer.finish().unwrap()
}

fn row() -> impl Strategy<Value = Row> {
    (
        any::<i64>(),
        proptest::option::of(any::<f64>().prop_filter("NaN != NaN", |f| !f.is_nan())),
        proptest::option::of(".{0,20}"),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn batches_round_trip(rows in proptest::collection::vec(row(), 0..300), split in 1usize..50, group in 1usize..100) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let batches: Vec<_> = rows.chunks(split).map(batch).collect();
        let digest = write(&path, &batches, group);
        prop_assert_eq!(digest.rows, rows.len() as u64);
        prop_assert_eq!(file_digest(&path).unwrap(), (digest.bytes, digest.crc32));
        let read: Vec<_> = SnapshotReader::open(&path, 64).unwrap().collect::<Result<_, _>>().unwrap();
        let read = concat_batches(&schema(), &read).unwrap();
        prop_assert_eq!(read, batch(&rows));
    }
}

#[test]
fn flipped_byte_and_truncation_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    let rows: Vec<Row> = (0..100)
        .map(|i| (i, Some(i as f64), Some(format!("r{i}")), None))
        .collect();
    let digest = write(&path, &[batch(&rows)], 1000);
    verify_file(&path, &digest, None).unwrap();
    // A manifest that records other rows than the file holds (both crc32s forged).
    for rows in [digest.rows - 1, digest.rows + 1] {
        let miscounted = crate::FileDigest { rows, ..digest };
        assert!(matches!(
            verify_file(&path, &miscounted, None),
            Err(Error::RowCountMismatch { actual: 100, .. })
        ));
    }

    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        verify_file(&path, &digest, None),
        Err(Error::ChecksumMismatch { .. })
    ));

    bytes.truncate(bytes.len() - 10);
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        verify_file(&path, &digest, None),
        Err(Error::SizeMismatch { .. })
    ));
    // A damaged file read without verification errors, it does not panic.
    assert!(SnapshotReader::open(&path, 10).is_err());
}

#[test]
fn sort_order_and_compression_are_recorded() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    let rows: Vec<Row> = (0..10).map(|i| (i, None, Some("x".into()), None)).collect();
    write(&path, &[batch(&rows)], 1000);
    let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
    let group = reader.metadata().row_group(0);
    assert_eq!(group.sorting_columns().unwrap()[0].column_idx, 0);
    let id = group.column(0);
    assert!(matches!(
        id.compression(),
        parquet::basic::Compression::ZSTD(_)
    ));
    let stats = id.statistics().unwrap();
    assert_eq!(stats.min_bytes_opt(), Some(&0i64.to_le_bytes()[..]));
}

#[test]
fn pipelined_writer_writes_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<Row> = (0..5000)
        .map(|i| (i, Some(i as f64 / 3.0), Some(format!("row {i}")), None))
        .collect();
    let batches: Vec<_> = rows.chunks(700).map(batch).collect();
    let direct = write(&dir.path().join("direct.parquet"), &batches, 1000);
    let path = dir.path().join("piped.parquet");
    let mut options = WriteOptions::sorted_by(vec![0]);
    options.row_group_rows = 1000;
    let mut piped = PipelinedWriter::spawn(
        SnapshotWriter::create(&path, schema(), &options).unwrap(),
        2,
    );
    for b in &batches {
        piped.write(b.clone()).unwrap();
    }
    let digest = piped.finish().unwrap();
    assert_eq!(
        (digest.rows, digest.bytes, digest.crc32),
        (direct.rows, direct.bytes, direct.crc32)
    );
}

#[test]
fn pipelined_writer_reports_the_workers_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    let mut piped = PipelinedWriter::spawn(
        SnapshotWriter::create(&path, schema(), &WriteOptions::sorted_by(vec![0])).unwrap(),
        1,
    );
    // A batch of another schema makes the worker fail; the error surfaces, no panic.
    let other = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("x", DataType::Utf8, false)])),
        vec![Arc::new(StringArray::from(vec!["x"]))],
    )
    .unwrap();
    let mut failed = false;
    for _ in 0..5 {
        if piped.write(other.clone()).is_err() {
            failed = true;
            break;
        }
    }
    assert!(failed || piped.finish().is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// A damaged data file read without verification gives errors, never a panic
    /// (restore verifies checksums first; this guards readers of unverified files).
    #[test]
    fn damaged_files_never_panic_the_reader(
        flips in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 1..8),
        cut in proptest::option::of(any::<proptest::sample::Index>()),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let rows: Vec<Row> = (0..300).map(|i| (i, Some(i as f64), Some(format!("r{i}")), (i % 3 == 0).then(|| vec![i as u8]))).collect();
        write(&path, &[batch(&rows)], 100);
        let mut bytes = std::fs::read(&path).unwrap();
        for (at, value) in flips {
            let at = at.index(bytes.len());
            bytes[at] ^= value.max(1);
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        std::fs::write(&path, &bytes).unwrap();
        if let Ok(reader) = SnapshotReader::open(&path, 64) {
            for batch in reader {
                if batch.is_err() {
                    break;
                }
            }
        }
    }
}

/// Inputs that made the Parquet reader panic under fuzzing (`fuzz/regressions/snapshot_file`):
/// each must give an error. Those whose fault can be seen in the footer must be refused
/// before the decoder runs (`Malformed`); the rest are decoder panics caught by the reader's
/// guard (`DecoderPanic`), as listed here.
#[test]
fn fuzz_regressions_give_errors_without_panicking() {
    let caught_by_the_guard = ["crash-452eb7d5e325f9c4c7e76d173d2df7245f69ad4c.parquet"];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions/snapshot_file");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let read = SnapshotReader::open(&path, 64)
            .and_then(|reader| reader.collect::<crate::Result<Vec<_>>>());
        let err = read.expect_err("a damaged file reads as an error");
        let caught = matches!(err, Error::DecoderPanic { .. });
        assert_eq!(
            caught,
            caught_by_the_guard.contains(&name.as_str()),
            "{name}: {err}"
        );
        seen += 1;
    }
    assert_eq!(seen, 3, "regression inputs in {}", dir.display());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// restore(backup(x)) == x through encryption; the file opens only with its key and
    /// its own AAD prefix, holds none of its plaintext, and no plain reader opens it.
    #[test]
    fn encrypted_files_round_trip_and_open_only_with_their_key_and_place(
        rows in proptest::collection::vec(row(), 1..200),
    ) {
        let mut rows = rows;
        rows.sort_by_key(|r| r.0);
        rows.dedup_by_key(|r| r.0);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.parquet");
        let cipher = crate::FileCipher::new(&[9; 32], b"collection/backup/data/t.0.parquet".to_vec());
        let options = WriteOptions {
            cipher: Some(cipher.clone()),
            ..WriteOptions::sorted_by(vec![0])
        };
        let mut writer = SnapshotWriter::create(&path, schema(), &options).unwrap();
        let input = batch(&rows);
        writer.write(&input).unwrap();
        let digest = writer.finish().unwrap();
        verify_file(&path, &digest, Some(&cipher)).unwrap();
        let read: Vec<RecordBatch> = SnapshotReader::open_columns(&path, 64, None, Some(&cipher))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        prop_assert_eq!(concat_batches(&schema(), &read).unwrap(), input);
        let bytes = std::fs::read(&path).unwrap();
        for text in rows.iter().filter_map(|r| r.2.as_deref()).filter(|t| t.len() >= 8) {
            prop_assert!(!bytes.windows(text.len()).any(|w| w == text.as_bytes()));
        }
        let moved = crate::FileCipher::new(&[9; 32], b"collection/backup/data/u.0.parquet".to_vec());
        let other_key = crate::FileCipher::new(&[8; 32], b"collection/backup/data/t.0.parquet".to_vec());
        for wrong in [Some(&moved), Some(&other_key), None] {
            prop_assert!(verify_file(&path, &digest, wrong).is_err());
        }
    }
}

/// Every byte of an encrypted file is covered by an AES-GCM tag or checked against what its
/// reader expects: flipping any one of them makes [`crate::authenticate_file`] fail.
#[test]
fn authenticate_file_notices_any_flipped_byte() {
    for dictionary in [false, true] {
        flipped_bytes_noticed(dictionary);
    }
}

fn flipped_bytes_noticed(dictionary: bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.parquet");
    let cipher = crate::FileCipher::new(&[7; 32], b"collection/backup/data/t.0.parquet".to_vec());
    let options = WriteOptions {
        cipher: Some(cipher.clone()),
        row_group_rows: 40,
        dictionary,
        ..WriteOptions::sorted_by(vec![0])
    };
    let rows: Vec<Row> = (0..100)
        .map(|i| {
            (
                i,
                (i % 3 != 0).then_some(i as f64 / 7.0),
                (i % 5 != 0).then(|| format!("text {i}")),
                (i % 2 == 0).then(|| vec![i as u8; 3]),
            )
        })
        .collect();
    let mut writer = SnapshotWriter::create(&path, schema(), &options).unwrap();
    writer.write(&batch(&rows)).unwrap();
    writer.finish().unwrap();
    crate::authenticate_file(&path, &cipher, None).unwrap();
    let original = std::fs::read(&path).unwrap();
    let mut unnoticed = Vec::new();
    for offset in 0..original.len() {
        let mut altered = original.clone();
        altered[offset] ^= 0x01;
        std::fs::write(&path, &altered).unwrap();
        if crate::authenticate_file(&path, &cipher, None).is_ok() {
            unnoticed.push(offset);
        }
    }
    assert!(
        unnoticed.is_empty(),
        "flipped bytes not noticed at {unnoticed:?} of {} bytes (dictionary: {dictionary})",
        original.len()
    );
}
