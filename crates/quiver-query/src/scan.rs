//! Scanning a table of a backup: one Parquet scan per backup of the chain, with projection
//! and predicate pushdown (row groups, page index, late materialisation), merged by key.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::common::config::EncryptionFactoryOptions;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::parquet_encryption::EncryptionFactory;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::parquet::encryption::decrypt::FileDecryptionProperties;
use datafusion::parquet::encryption::encrypt::FileEncryptionProperties;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::stream::RecordBatchReceiverStreamBuilder;
use datafusion::physical_plan::streaming::PartitionStream;
use futures_util::StreamExt;
use object_store::ObjectMeta;
use object_store::path::Path;
use quiver_diff::{Batches, Merge, MergeInput};
use quiver_snapshot::FileCipher;

use crate::layout::ReadPlan;

/// One data file to scan: its path and size, and its cipher if it is encrypted.
#[derive(Debug, Clone)]
pub(crate) struct FileRef {
    pub path: PathBuf,
    pub bytes: u64,
    pub cipher: Option<FileCipher>,
}

/// The ciphers of a scan's encrypted files, by object path: DataFusion asks for each
/// file's decryption properties as it opens it, so statistics, page indexes and
/// predicate pushdown work on encrypted files as on plain ones.
#[derive(Debug, Default)]
struct FileCiphers(HashMap<Path, FileCipher>);

#[async_trait::async_trait]
impl EncryptionFactory for FileCiphers {
    async fn get_file_encryption_properties(
        &self,
        _config: &EncryptionFactoryOptions,
        _schema: &SchemaRef,
        _file_path: &Path,
    ) -> Result<Option<Arc<FileEncryptionProperties>>> {
        Ok(None)
    }

    async fn get_file_decryption_properties(
        &self,
        _config: &EncryptionFactoryOptions,
        file_path: &Path,
    ) -> Result<Option<Arc<FileDecryptionProperties>>> {
        self.0
            .get(file_path)
            .map(|cipher| {
                cipher
                    .decryption()
                    .map_err(|e| DataFusionError::External(Box::new(e)))
            })
            .transpose()
    }
}

/// A Parquet scan of `files` (one backup's files of a table, in key order) in one
/// partition, so that rows come out in key order: only the columns at `projection`, with
/// `predicate` used to skip row groups, pages and rows.
pub(crate) fn parquet_scan(
    files: &[FileRef],
    file_schema: SchemaRef,
    projection: Vec<usize>,
    predicate: Option<Arc<dyn PhysicalExpr>>,
) -> Result<Arc<dyn ExecutionPlan>> {
    let mut source = ParquetSource::new(file_schema)
        .with_enable_page_index(true)
        .with_pushdown_filters(true);
    if let Some(predicate) = predicate {
        source = source.with_predicate(predicate);
    }
    let mut group = Vec::with_capacity(files.len());
    let mut ciphers = FileCiphers::default();
    for file in files {
        let absolute = std::path::absolute(&file.path)?;
        let location = Path::from_absolute_path(&absolute)
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        if let Some(cipher) = &file.cipher {
            ciphers.0.insert(location.clone(), cipher.clone());
        }
        group.push(PartitionedFile::new_from_meta(ObjectMeta {
            location,
            last_modified: Default::default(),
            size: file.bytes,
            e_tag: None,
            version: None,
        }));
    }
    if !ciphers.0.is_empty() {
        source = source.with_encryption_factory(Arc::new(ciphers));
    }
    let config = FileScanConfigBuilder::new(ObjectStoreUrl::local_filesystem(), Arc::new(source))
        .with_file_group(FileGroup::new(group))
        .with_projection_indices(Some(projection))?
        .build();
    Ok(DataSourceExec::from_data_source(config))
}

/// One backup's scan within a merge.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    pub scan: Arc<dyn ExecutionPlan>,
    /// Incremental scans end with the deleted column.
    pub incremental: bool,
}

/// What a merged scan yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The table's rows as of the chain's tip: the latest version of each key, deleted keys gone.
    State,
    /// What the chain's (incremental) parts changed: the latest change of each key, with
    /// `_change` = 'upsert' or 'delete'.
    Changes,
}

/// The output column a merged scan produces at one position.
#[derive(Debug, Clone, Copy)]
pub(crate) enum OutputColumn {
    /// `_change` (changes mode).
    Change,
    /// The merged column at this position.
    Merged(usize),
}

/// A merged scan of a chain's parts, as a DataFusion partition: the merge runs on a blocking
/// thread (quiver's merge is synchronous) and hands batches over a channel of two.
#[derive(Debug)]
pub(crate) struct MergedScan {
    pub schema: SchemaRef,
    pub parts: Vec<Part>,
    pub plan: ReadPlan,
    pub mode: Mode,
    pub columns: Vec<OutputColumn>,
    pub batch_rows: usize,
}

impl PartitionStream for MergedScan {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let mut builder = RecordBatchReceiverStreamBuilder::new(self.schema.clone(), 2);
        let tx = builder.tx();
        let streams: Result<Vec<(SendableRecordBatchStream, bool)>> = self
            .parts
            .iter()
            .map(|part| Ok((part.scan.execute(0, ctx.clone())?, part.incremental)))
            .collect();
        let schema = self.schema.clone();
        let plan = self.plan.clone();
        let mode = self.mode;
        let columns = self.columns.clone();
        let batch_rows = self.batch_rows;
        let handle = tokio::runtime::Handle::current();
        builder.spawn_blocking(move || {
            let streams = streams?;
            let inputs = streams
                .into_iter()
                .map(|(stream, incremental)| {
                    let batches: Batches<'static> = Box::new(BlockingBatches {
                        handle: handle.clone(),
                        stream,
                    });
                    // A changes view keeps tombstones: every part goes in as "full", its
                    // deleted column an ordinary column.
                    if incremental && mode == Mode::State {
                        MergeInput::incremental(batches)
                    } else {
                        MergeInput::full(batches)
                    }
                })
                .collect();
            let merged = match mode {
                Mode::State => plan.merged.clone(),
                Mode::Changes => {
                    let mut fields: Vec<Field> = plan
                        .merged
                        .fields()
                        .iter()
                        .map(|f| f.as_ref().clone())
                        .collect();
                    fields.push(Field::new(
                        quiver_catalog::DELETED_COLUMN,
                        DataType::Boolean,
                        true,
                    ));
                    Arc::new(Schema::new(fields))
                }
            };
            let merge =
                Merge::new(inputs, plan.merge_key.clone(), merged, batch_rows).map_err(external)?;
            for batch in merge {
                let batch = batch.map_err(external)?;
                let out = assemble(&schema, &batch, &columns, plan.columns.len())?;
                if tx.blocking_send(Ok(out)).is_err() {
                    // The query stopped reading (a LIMIT, or it failed): so do we.
                    break;
                }
            }
            Ok(())
        });
        builder.build()
    }
}

/// The output batch: the wanted merged columns, and `_change` from the deleted column (the
/// one after the merged columns, in changes mode).
fn assemble(
    schema: &SchemaRef,
    batch: &RecordBatch,
    columns: &[OutputColumn],
    merged_width: usize,
) -> Result<RecordBatch> {
    let arrays: Vec<ArrayRef> = columns
        .iter()
        .map(|column| match column {
            OutputColumn::Merged(at) => batch.column(*at).clone(),
            OutputColumn::Change => {
                let deleted = batch
                    .column(merged_width)
                    .as_any()
                    .downcast_ref::<BooleanArray>()
                    .expect("the deleted column is boolean");
                Arc::new(StringArray::from_iter_values((0..deleted.len()).map(|i| {
                    if deleted.is_valid(i) && deleted.value(i) {
                        "delete"
                    } else {
                        "upsert"
                    }
                })))
            }
        })
        .collect();
    let options =
        arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Ok(RecordBatch::try_new_with_options(
        schema.clone(),
        arrays,
        &options,
    )?)
}

/// An async batch stream read from a blocking thread.
struct BlockingBatches {
    handle: tokio::runtime::Handle,
    stream: SendableRecordBatchStream,
}

impl Iterator for BlockingBatches {
    type Item = quiver_diff::Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.handle
            .block_on(self.stream.next())
            .map(|batch| batch.map_err(|e| quiver_diff::Error::Input(Box::new(e))))
    }
}

fn external(e: quiver_diff::Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}
