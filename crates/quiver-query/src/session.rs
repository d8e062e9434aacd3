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
/// Names are also registered in ASCII lower case, since SQL folds unquoted names to it.
/// A collection that cannot be read (its definition, its latest manifest, its chain) is left
/// out, with a line in [`QuerySession::warnings`]: it never stops queries of the others.
pub struct QuerySession {
    context: SessionContext,
    runtime: tokio::runtime::Runtime,
    warnings: Vec<String>,
}

/// `config` reading numbers with a point (`0.1`, `100000000000000000001`) as exact
/// decimals, as SQL has them, rather than as floats: a decimal column then compares with
/// them exactly. Every session of QUERY and FILTER runs with it.
pub(crate) fn exact_literals(mut config: SessionConfig) -> SessionConfig {
    config.options_mut().sql_parser.parse_float_as_decimal = true;
    config
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
        let config = exact_literals(SessionConfig::new().with_batch_size(batch_rows.max(1)));
        let context = SessionContext::new_with_config(config);
        let mut at_found = at.is_none();
        let mut warnings = Vec::new();
        let entries = repo.collection_entries()?;
        let names: Vec<&str> = entries
            .iter()
            .filter_map(|e| e.collection.as_ref().ok())
            .map(|c| c.def().name.as_str())
            .collect();
        for entry in &entries {
            // One damaged collection is left out, with a warning; the others are queried.
            let collection = match &entry.collection {
                Ok(collection) => collection,
                Err(e) => {
                    warnings.push(format!("left out `{}`: {e}", entry.dir_name));
                    continue;
                }
            };
            let name = &collection.def().name;
            let chain = match Self::chain(collection, at, &mut at_found) {
                Ok(Some(chain)) => chain,
                Ok(None) => continue,
                Err(why) => {
                    warnings.push(format!(
                        "left out collection `{name}`: {why}; VERIFY {name} names each fault"
                    ));
                    continue;
                }
            };
            let schema = Arc::new(MemorySchemaProvider::new());
            let tables: Vec<String> = chain
                .last()
                .map(|t| t.tables.iter().map(|t| t.schema.name.clone()).collect())
                .unwrap_or_default();
            for table in &tables {
                let Some(provider) =
                    BackupTable::state(collection.clone(), chain.clone(), table, batch_rows)
                else {
                    continue;
                };
                let provider: Arc<dyn TableProvider> = Arc::new(provider);
                for alias in aliases(table, &tables) {
                    schema.register_table(alias, provider.clone())?;
                }
            }
            let catalog = context
                .catalog("datafusion")
                .expect("the default catalog exists");
            for alias in aliases(name, &names) {
                catalog.register_schema(&alias, schema.clone())?;
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
        Ok(QuerySession {
            context,
            runtime,
            warnings,
        })
    }

    /// The chain a collection is seen as of: that of backup `at` if the collection holds it,
    /// else of its latest backup; `None` without backups. `Err` says why it cannot be read.
    fn chain(
        collection: &Collection,
        at: Option<&str>,
        at_found: &mut bool,
    ) -> std::result::Result<Option<Vec<BackupManifest>>, String> {
        let list = collection.backup_list().map_err(|e| e.to_string())?;
        let tip = match at {
            Some(id) if list.committed.iter().any(|b| b.id == id) => {
                *at_found = true;
                list.committed.into_iter().find(|b| b.id == id)
            }
            _ => {
                if let Some(unreadable) = list.unreadable_latest() {
                    return Err(format!(
                        "its latest backup `{}` cannot be read: {}",
                        unreadable.id, unreadable.error
                    ));
                }
                list.committed.into_iter().last()
            }
        };
        let Some(tip) = tip else { return Ok(None) };
        collection.chain(tip).map(Some).map_err(|e| e.to_string())
    }

    /// What the session left out: one line per collection that could not be read.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
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

/// The names `name` is registered under among `all` (its namespace): itself, and its ASCII
/// lower-case form, which unquoted SQL names fold to (DataFusion folds ASCII only, as SQLite
/// compares names), unless another name of `all` folds to it too: then only exact (quoted)
/// names find either.
fn aliases(name: &str, all: &[impl AsRef<str>]) -> Vec<String> {
    let lower = name.to_ascii_lowercase();
    let ambiguous = all
        .iter()
        .filter(|other| other.as_ref().to_ascii_lowercase() == lower)
        .count()
        > 1;
    if lower == name || ambiguous {
        vec![name.to_string()]
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
            DataFusionError::Plan(match compacted_into(backups, id) {
                Some(full) => format!(
                    "backup `{id}` of collection `{collection}` was compacted into the full backup `{full}`, which holds the same contents: use `{full}`"
                ),
                None => format!("backup collection `{collection}` has no backup `{id}`"),
            })
        })
    }
}

/// The full backup that replaced incremental `id` when it was compacted (same time), if any.
fn compacted_into<'a>(backups: &'a [BackupManifest], id: &str) -> Option<&'a str> {
    let stamp = id.strip_suffix("_incremental")?;
    let full = format!("{stamp}_full");
    backups.iter().find(|b| b.id == full).map(|b| b.id.as_str())
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

/// Why `since` is not a start for changes up to `until`, and where `until`'s chain begins:
/// a range across a full backup (one a schema change forced, say) spans two chains.
fn outside_chain(
    backups: &[BackupManifest],
    chain: &[BackupManifest],
    since: &str,
    until: &BackupManifest,
    collection: &str,
    table: &str,
) -> String {
    let start = &chain[0];
    let later = since > until.id.as_str();
    let Some(since_backup) = backups.iter().find(|b| b.id == since) else {
        if let Some(full) = compacted_into(backups, since) {
            return format!(
                "backup `{since}` was compacted into the full backup `{full}`, which holds the same contents: changes('{collection}', '{table}', '{full}', '{}') gives what changed since it",
                until.id
            );
        }
        return format!(
            "backup `{since}` is not an earlier backup of the chain of `{}`; changes are between two backups of one chain",
            until.id
        );
    };
    if later || since_backup.id > start.id {
        return format!(
            "backup `{since}` is not an earlier backup of the chain of `{}`; changes are between two backups of one chain",
            until.id
        );
    }
    let why = match (since_backup.table(table), start.table(table)) {
        (Some(old), Some(new)) => new
            .schema
            .shape_change(&old.schema)
            .map(|change| format!(": table `{table}` changed there ({change})"))
            .unwrap_or_default(),
        _ => String::new(),
    };
    format!(
        "the range from `{since}` to `{until}` spans two chains: the chain of `{until}` starts at the full backup `{start}`, after `{since}`{why}; changes('{collection}', '{table}', '{start}', '{until}') gives what changed since then, and backup_at() each backup as it was",
        until = until.id,
        start = start.id,
    )
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
                    return Err(DataFusionError::Plan(outside_chain(
                        &backups, &chain, id, &until, &args[0], &args[1],
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
