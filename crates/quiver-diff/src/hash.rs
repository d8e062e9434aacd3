//! Row hashes: what lets an incremental backup read the previous state as (key, hash) only.

use std::sync::Arc;

use arrow::array::{Array, AsArray, UInt64Array};
use arrow::datatypes::{
    DataType, Date32Type, Decimal256Type, Float64Type, Int64Type, SchemaRef, Time64MicrosecondType,
    TimeUnit, TimestampMicrosecondType,
};
use arrow::record_batch::RecordBatch;
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::{Error, Result};

// Seeds mixed in per value, so that NULL, an integer and its bytes as a blob differ.
const NULL: u64 = 0x9e37_79b9_7f4a_7c15;
const INTEGER: u64 = 0xc2b2_ae3d_27d4_eb4f;
const REAL: u64 = 0x1656_67b1_9e37_79f9;
const BYTES: u64 = 0x27d4_eb2f_1656_67c5;
const BOOLEAN: u64 = 0x85eb_ca77_c2b2_ae63;
const DATE: u64 = 0x94d0_49bb_1331_11eb;
const TIMESTAMP: u64 = 0xbf58_476d_1ce4_e5b9;
const TIME: u64 = 0xff51_afd7_ed55_8ccd;
const DECIMAL: u64 = 0xc4ce_b9fe_1a85_ec53;

/// The xxh3 hash of each row over the first `columns` columns of `batch`.
///
/// Values are hashed column by column (cache-friendly), each chained into its row's hash
/// through the seed, so the order of columns and the boundary between values count. Two
/// rows with equal values have equal hashes in any batch, file or build of quiver of this
/// manifest format.
pub fn row_hashes(batch: &RecordBatch, columns: usize) -> Result<UInt64Array> {
    let mut hashes = vec![0u64; batch.num_rows()];
    for array in batch.columns().iter().take(columns) {
        hash_column(array.as_ref(), &mut hashes)?;
    }
    Ok(UInt64Array::from(hashes))
}

fn hash_column(array: &dyn Array, hashes: &mut [u64]) -> Result<()> {
    let nulls = array.logical_nulls();
    let is_null = |row: usize| nulls.as_ref().is_some_and(|n| n.is_null(row));
    macro_rules! each {
        ($values:expr, $seed:expr, |$v:ident| $bytes:expr) => {{
            let values = $values;
            for (row, hash) in hashes.iter_mut().enumerate() {
                *hash = if is_null(row) {
                    xxh3_64_with_seed(&[], *hash ^ NULL)
                } else {
                    let $v = values.value(row);
                    xxh3_64_with_seed($bytes, *hash ^ $seed)
                };
            }
        }};
    }
    match array.data_type() {
        DataType::Int64 => each!(array.as_primitive::<Int64Type>(), INTEGER, |v| &v
            .to_le_bytes()),
        DataType::Float64 => {
            each!(array.as_primitive::<Float64Type>(), REAL, |v| &v
                .to_bits()
                .to_le_bytes())
        }
        DataType::Utf8 => each!(array.as_string::<i32>(), BYTES, |v| v.as_bytes()),
        DataType::Binary => each!(array.as_binary::<i32>(), BYTES ^ 1, |v| v),
        DataType::Boolean => each!(array.as_boolean(), BOOLEAN, |v| &[u8::from(v)]),
        DataType::Date32 => each!(array.as_primitive::<Date32Type>(), DATE, |v| &v
            .to_le_bytes()),
        // With and without a time zone alike: a column's type does not change in a chain.
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            each!(
                array.as_primitive::<TimestampMicrosecondType>(),
                TIMESTAMP,
                |v| &v.to_le_bytes()
            )
        }
        DataType::Decimal256(_, _) => {
            each!(array.as_primitive::<Decimal256Type>(), DECIMAL, |v| &v
                .to_le_bytes())
        }
        DataType::Time64(TimeUnit::Microsecond) => {
            each!(array.as_primitive::<Time64MicrosecondType>(), TIME, |v| &v
                .to_le_bytes())
        }
        other => {
            return Err(Error::Layout(format!(
                "cannot hash a column of type {other}"
            )));
        }
    }
    Ok(())
}

/// `batch` (a table's [`quiver_catalog::TableSchema::arrow_schema`] columns) with the row hash
/// column appended, as `file_schema` (the table's full-backup file schema) says.
pub fn with_row_hashes(batch: &RecordBatch, file_schema: &SchemaRef) -> Result<RecordBatch> {
    if file_schema.fields().len() != batch.num_columns() + 1 {
        return Err(Error::Layout(format!(
            "a batch of {} columns for a file of {}",
            batch.num_columns(),
            file_schema.fields().len()
        )));
    }
    let hashes = row_hashes(batch, batch.num_columns())?;
    let mut columns = batch.columns().to_vec();
    columns.push(Arc::new(hashes));
    Ok(RecordBatch::try_new(file_schema.clone(), columns)?)
}
