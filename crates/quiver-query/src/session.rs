//! A SQL session over a repository's backups.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider, TableFunctionImpl};
use datafusion::common::ScalarValue;
use datafusion::datasource::TableProvider;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::Expr;
use datafusion::prelude::{SessionConfig, SessionContext};
use quiver_catalog::{BackupKind, BackupManifest, Collection, Repository};

use crate::{BackupTable, Error, Result};

/// Rows a query returned.
#[derive(Debug, Clone)]
pub struct QueryOutput {
    /// Column names and types.
    pub schema: SchemaRef,
    /// The rows.
    pub batches: Vec<RecordBatch>,
}

/// A DataFusion session in which every table of every collection of a repository is
/// `<collection>.<table>` as of the collection's latest backup (or, for the collection that
/// holds the backup given as `at`, as of that one), plus two table functions:
///
/// - `backup_at('collection', 'table', 'backup-id')`: the table as of any backup;
/// - `changes('collection', 'table' [, 'since-id' [, 'until-id']])`: what the incremental
///   backups after `since` (default: the chain's full backup) up to `until` (default: the
///   latest backup) changed, one row per key changed: `_change` ('upsert' with the row as it
///   became, or 'delete' with the key alone), then the table's columns.
///
/// Names are also registered in lower case, since SQL folds unquoted names to lower case.
pub struct QuerySession {
    context: SessionContext,
    runtime: tokio::runtime::Runtime,
}

impl QuerySession {
    /// A session over `repo`'s collections; with `at`, the collection holding that backup
    /// is seen as of it. Reads manifests only: no data file is opened until a query runs.
    pub fn open(repo: &Repository, at: Option<&str>, batch_rows: usize) -> Result<QuerySession> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("quiver-query")
            .enable_all()
            .build()
            .map_err(|e| Error::Runtime(e.to_string()))?;
        let config = SessionConfig::new().with_batch_size(batch_rows.max(1));
        let context = SessionContext::new_with_config(config);
        let mut at_found = at.is_none();
        for collection in repo.collections()? {
            let backups = collection.backups()?;
            let tip = match at {
                Some(id) if backups.iter().any(|b| b.id == id) => {
                    at_found = true;
                    backups.into_iter().find(|b| b.id == id)
                }
                _ => backups.into_iter().last(),
            };
            let Some(tip) = tip else { continue };
            let chain = collection.chain(tip)?;
            let schema = Arc::new(MemorySchemaProvider::new());
            let names: Vec<String> = chain
                .last()
                .map(|t| t.tables.iter().map(|t| t.schema.name.clone()).collect())
                .unwrap_or_default();
            for table in names {
                let Some(provider) =
                    BackupTable::state(collection.clone(), chain.clone(), &table, batch_rows)
                else {
                    continue;
                };
                let provider: Arc<dyn TableProvider> = Arc::new(provider);
                for name in aliases(&table) {
                    schema.register_table(name, provider.clone())?;
                }
            }
            let catalog = context
                .catalog("datafusion")
                .expect("the default catalog exists");
            for name in aliases(&collection.def().name) {
                catalog.register_schema(&name, schema.clone())?;
            }
        }
        if let Some(id) = at.filter(|_| !at_found) {
            return Err(Error::UnknownBackup(id.to_string()));
        }
        let functions = TableFunctions {
            repo: repo.clone(),
            batch_rows,
        };
        context.register_udtf(
            "backup_at",
            Arc::new(BackupAt {
                functions: functions.clone(),
            }),
        );
        context.register_udtf("changes", Arc::new(Changes { functions }));
        Ok(QuerySession { context, runtime })
    }

    /// Runs one SQL query and collects its rows.
    pub fn sql(&self, sql: &str) -> Result<QueryOutput> {
        self.runtime.block_on(async {
            let frame = self.context.sql(sql).await?;
            let schema = Arc::new(frame.schema().as_arrow().clone());
            let batches = frame.collect().await?;
            Ok(QueryOutput { schema, batches })
        })
    }

    /// The DataFusion session, for registering more or planning directly.
    pub fn context(&self) -> &SessionContext {
        &self.context
    }
}

/// `name`, and its lower-case form if that differs.
fn aliases(name: &str) -> Vec<String> {
    let lower = name.to_lowercase();
    if lower == name {
        vec![lower]
    } else {
        vec![name.to_string(), lower]
    }
}

#[derive(Debug, Clone)]
struct TableFunctions {
    repo: Repository,
    batch_rows: usize,
}

impl TableFunctions {
    /// The string arguments of a call, checked against `usage`.
    fn strings(args: &[Expr], min: usize, max: usize, usage: &str) -> DfResult<Vec<String>> {
        if args.len() < min || args.len() > max {
            return Err(DataFusionError::Plan(format!("usage: {usage}")));
        }
        args.iter()
            .map(|arg| match arg {
                Expr::Literal(ScalarValue::Utf8(Some(s)), _) => Ok(s.clone()),
                other => Err(DataFusionError::Plan(format!(
                    "{other} is not a string literal; usage: {usage}"
                ))),
            })
            .collect()
    }

    fn collection(&self, name: &str) -> DfResult<(Collection, Vec<BackupManifest>)> {
        let collection = self.repo.collection(name).map_err(plan_error)?;
        let backups = collection.backups().map_err(plan_error)?;
        Ok((collection, backups))
    }

    fn backup(backups: &[BackupManifest], id: &str, collection: &str) -> DfResult<BackupManifest> {
        backups.iter().find(|b| b.id == id).cloned().ok_or_else(|| {
            DataFusionError::Plan(format!(
                "backup collection `{collection}` has no backup `{id}`"
            ))
        })
    }
}

fn plan_error(e: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Plan(e.to_string())
}

fn no_table(collection: &str, table: &str, id: &str) -> DataFusionError {
    DataFusionError::Plan(format!(
        "backup `{id}` of collection `{collection}` has no table `{table}`"
    ))
}

#[derive(Debug)]
struct BackupAt {
    functions: TableFunctions,
}

impl TableFunctionImpl for BackupAt {
    fn call_with_args(
        &self,
        args: datafusion::catalog::TableFunctionArgs,
    ) -> DfResult<Arc<dyn TableProvider>> {
        const USAGE: &str = "backup_at('collection', 'table', 'backup-id')";
        let args = TableFunctions::strings(args.exprs(), 3, 3, USAGE)?;
        let (collection, backups) = self.functions.collection(&args[0])?;
        let tip = TableFunctions::backup(&backups, &args[2], &args[0])?;
        let chain = collection.chain(tip).map_err(plan_error)?;
        let table = BackupTable::state(collection, chain, &args[1], self.functions.batch_rows)
            .ok_or_else(|| no_table(&args[0], &args[1], &args[2]))?;
        Ok(Arc::new(table))
    }
}

#[derive(Debug)]
struct Changes {
    functions: TableFunctions,
}

impl TableFunctionImpl for Changes {
    fn call_with_args(
        &self,
        args: datafusion::catalog::TableFunctionArgs,
    ) -> DfResult<Arc<dyn TableProvider>> {
        const USAGE: &str =
            "changes('collection', 'table' [, 'since-backup-id' [, 'until-backup-id']])";
        let args = TableFunctions::strings(args.exprs(), 2, 4, USAGE)?;
        let (collection, backups) = self.functions.collection(&args[0])?;
        let until = match args.get(3) {
            Some(id) => TableFunctions::backup(&backups, id, &args[0])?,
            None => backups.last().cloned().ok_or_else(|| {
                DataFusionError::Plan(format!("backup collection `{}` has no backups", args[0]))
            })?,
        };
        let chain = collection.chain(until.clone()).map_err(plan_error)?;
        let since = match args.get(2) {
            Some(id) => {
                if !chain.iter().any(|b| &b.id == id) || *id > until.id {
                    return Err(DataFusionError::Plan(format!(
                        "backup `{id}` is not an earlier backup of the chain of `{}`; changes are between two backups of one chain",
                        until.id
                    )));
                }
                id.clone()
            }
            None => chain[0].id.clone(),
        };
        let incrementals: Vec<BackupManifest> = chain
            .into_iter()
            .filter(|b| b.id > since && b.kind == BackupKind::Incremental)
            .collect();
        let schema_source = incrementals.last().cloned().unwrap_or(until);
        let table = BackupTable::changes(
            collection.clone(),
            incrementals,
            &args[1],
            self.functions.batch_rows,
        )
        .or_else(|| {
            // No incremental in the range has the table: an empty changes view of it.
            BackupTable::changes(collection, vec![schema_source.clone()], &args[1], 1)
                .map(|t| t.without_backups())
        })
        .ok_or_else(|| no_table(&args[0], &args[1], &schema_source.id))?;
        Ok(Arc::new(table))
    }
}
