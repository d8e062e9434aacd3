//! CREATE, ALTER and DROP BACKUP COLLECTION.

use quiver_catalog::{CollectionDef, Retention, SchemaChangePolicy, StorageKind};
use quiver_grammar::{
    AlterAction, CreateBackupCollection, KeepRules, SettingKey, Settings, Storage, quote_ident,
};

use crate::error::ExecError;
use crate::{Engine, Outcome};

/// Creates a collection after checking that every table exists.
pub(crate) fn create(
    engine: &mut Engine,
    create: &CreateBackupCollection,
) -> Result<Outcome, ExecError> {
    engine.outside_transaction("CREATE BACKUP COLLECTION")?;
    let storage = storage_kind(create.settings.storage.as_ref())?.unwrap_or(StorageKind::Cluster);
    let mut tables: Vec<String> = Vec::with_capacity(create.tables.len());
    for table in &create.tables {
        let name = existing_table(engine, table)?;
        // Names as the database resolved them: two spellings of one table are one name.
        if tables.contains(&name) {
            return Err(ExecError::refused(
                format!("table `{name}` is listed twice (as `{table}`)"),
                None,
            ));
        }
        tables.push(name);
    }
    let incremental = create.settings.incremental_backup_enabled.unwrap_or(false);
    let mut def = CollectionDef::new(create.name.clone(), tables, storage, incremental);
    set_lifecycle(&mut def, &create.settings);
    let now = engine.repo.clock().now();
    crate::encryption::set(&mut def, None, &create.settings, engine.repo.keys(), now)?;
    crate::schedule::check(&def)?;
    engine.repo.create_collection(&def)?;
    Ok(Outcome::Done(format!(
        "CREATE BACKUP COLLECTION {}: {} table(s), incremental backups {}{}",
        quote_ident(&def.name),
        def.tables.len(),
        if incremental { "enabled" } else { "disabled" },
        match &def.storage {
            StorageKind::Cluster => String::new(),
            StorageKind::External(url) => {
                format!(", backups stored at {}", quiver_storage::redacted(url))
            }
        }
    )))
}

/// Drops a collection with all its backups.
///
/// Backups in external storage are kept: a DROP never deletes what it cannot take back,
/// elsewhere, and `quiver import` can still bring them back.
pub(crate) fn drop(engine: &mut Engine, name: &str) -> Result<Outcome, ExecError> {
    let storage = engine.repo.collection(name)?.def().storage.clone();
    engine.repo.drop_collection(name)?;
    Ok(Outcome::Done(match storage {
        StorageKind::Cluster => format!(
            "DROP BACKUP COLLECTION {}: the collection and all its backups are removed",
            quote_ident(name)
        ),
        StorageKind::External(url) => {
            let url = quiver_storage::redacted(&url);
            format!(
                "DROP BACKUP COLLECTION {}: the collection and the repository's copies of its backups are removed; the backups at {url} are kept (quiver import --from {url} brings them back)",
                quote_ident(name)
            )
        }
    }))
}

/// Changes a collection's tables or settings.
pub(crate) fn alter(
    engine: &mut Engine,
    name: &str,
    action: &AlterAction,
) -> Result<Outcome, ExecError> {
    let mut collection = engine.repo.collection(name)?;
    let lock = collection.lock()?;
    let mut def = collection.def().clone();
    let summary = match action {
        AlterAction::AddTable(table) => {
            engine.outside_transaction("ALTER BACKUP COLLECTION ... ADD TABLE")?;
            let table = existing_table(engine, table)?;
            if def.tables.iter().any(|t| t.eq_ignore_ascii_case(&table)) {
                return Err(ExecError::refused(
                    format!("table `{table}` is already in backup collection `{name}`"),
                    None,
                ));
            }
            def.tables.push(table.clone());
            format!(
                "added table {}; the next backup includes it",
                quote_ident(&table)
            )
        }
        AlterAction::DropTable(table) => {
            let Some(position) = def
                .tables
                .iter()
                .position(|t| t.eq_ignore_ascii_case(table))
            else {
                return Err(ExecError::refused(
                    format!("table `{table}` is not in backup collection `{name}`"),
                    Some(format!("its tables are: {}", def.tables.join(", "))),
                ));
            };
            if def.tables.len() == 1 {
                return Err(ExecError::refused(
                    format!("table `{table}` is the last table of backup collection `{name}`"),
                    Some(format!(
                        "to remove the collection, use DROP BACKUP COLLECTION {}",
                        quote_ident(name)
                    )),
                ));
            }
            let removed = def.tables.remove(position);
            format!(
                "dropped table {} from the collection; its existing backups keep it",
                quote_ident(&removed)
            )
        }
        AlterAction::Set(settings) => {
            if let Some(storage) = storage_kind(settings.storage.as_ref())? {
                def.storage = storage;
            }
            if let Some(enabled) = settings.incremental_backup_enabled {
                def.incremental_backup_enabled = enabled;
            }
            set_lifecycle(&mut def, settings);
            let now = engine.repo.clock().now();
            crate::encryption::set(
                &mut def,
                Some(&collection),
                settings,
                engine.repo.keys(),
                now,
            )?;
            format!("set {settings}")
        }
        AlterAction::Reset(keys) => {
            for key in keys {
                match key {
                    SettingKey::Storage => def.storage = StorageKind::Cluster,
                    SettingKey::IncrementalBackupEnabled => def.incremental_backup_enabled = false,
                    SettingKey::KeepLast => def.retention.last = None,
                    SettingKey::KeepHourly => def.retention.hourly = None,
                    SettingKey::KeepDaily => def.retention.daily = None,
                    SettingKey::KeepWeekly => def.retention.weekly = None,
                    SettingKey::KeepMonthly => def.retention.monthly = None,
                    SettingKey::KeepYearly => def.retention.yearly = None,
                    SettingKey::KeepWithin => def.retention.within_hours = None,
                    SettingKey::BackupSchedule => def.schedule.backup = None,
                    SettingKey::FullBackupSchedule => def.schedule.full = None,
                    SettingKey::Timezone => def.schedule.timezone = None,
                    SettingKey::OnSchemaChange => {
                        def.on_schema_change = SchemaChangePolicy::default();
                    }
                    SettingKey::CompactAfter => def.compact_after = None,
                    SettingKey::Encryption | SettingKey::EncryptionKeyFile => {}
                }
            }
            let now = engine.repo.clock().now();
            crate::encryption::reset(&mut def, &collection, keys, engine.repo.keys(), now)?;
            let names: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
            format!("reset {} to the default", names.join(", "))
        }
        AlterAction::Pin(id) => {
            let backup = collection.backup(id)?;
            if def.pinned.contains(&backup.id) {
                format!("backup {} was already pinned", backup.id)
            } else {
                def.pinned.push(backup.id.clone());
                format!(
                    "pinned backup {}: PRUNE keeps it and every backup it builds on",
                    backup.id
                )
            }
        }
        AlterAction::Unpin(id) => {
            let Some(position) = def.pinned.iter().position(|p| p == id) else {
                return Err(ExecError::refused(
                    format!("backup `{id}` of collection `{name}` is not pinned"),
                    Some(if def.pinned.is_empty() {
                        "the collection has no pinned backup".to_string()
                    } else {
                        format!("pinned backups: {}", def.pinned.join(", "))
                    }),
                ));
            };
            def.pinned.remove(position);
            format!("unpinned backup {id}: retention rules apply to it again")
        }
    };
    crate::schedule::check(&def)?;
    collection.save_def(def, &lock)?;
    Ok(Outcome::Done(format!(
        "ALTER BACKUP COLLECTION {}: {summary}",
        quote_ident(name)
    )))
}

/// Sets the retention rules, schedules and schema-change policy `settings` gives, leaving
/// the others as they are.
fn set_lifecycle(def: &mut CollectionDef, settings: &Settings) {
    set_retention(&mut def.retention, &settings.keep);
    if let Some(schedule) = &settings.backup_schedule {
        def.schedule.backup = Some(schedule.to_string());
    }
    if let Some(schedule) = &settings.full_backup_schedule {
        def.schedule.full = Some(schedule.to_string());
    }
    if let Some(zone) = &settings.timezone {
        def.schedule.timezone = Some(zone.clone());
    }
    if settings.compact_after.is_some() {
        def.compact_after = settings.compact_after;
    }
    if let Some(policy) = settings.on_schema_change {
        def.on_schema_change = match policy {
            quiver_grammar::SchemaChangePolicy::Full => SchemaChangePolicy::Full,
            quiver_grammar::SchemaChangePolicy::Refuse => SchemaChangePolicy::Refuse,
        };
    }
}

/// Sets the retention rules `keep` gives, leaving the others as they are.
fn set_retention(retention: &mut Retention, keep: &KeepRules) {
    let counts = [
        (&mut retention.last, keep.last),
        (&mut retention.hourly, keep.hourly),
        (&mut retention.daily, keep.daily),
        (&mut retention.weekly, keep.weekly),
        (&mut retention.monthly, keep.monthly),
        (&mut retention.yearly, keep.yearly),
    ];
    for (rule, given) in counts {
        if given.is_some() {
            *rule = given;
        }
    }
    if keep.within_hours.is_some() {
        retention.within_hours = keep.within_hours;
    }
}

/// A collection's retention rules as settings (`KEEP_DAILY = '7', …`), for messages.
pub(crate) fn retention_settings(def: &CollectionDef) -> Settings {
    let r = &def.retention;
    Settings {
        keep: KeepRules {
            last: r.last,
            hourly: r.hourly,
            daily: r.daily,
            weekly: r.weekly,
            monthly: r.monthly,
            yearly: r.yearly,
            within_hours: r.within_hours,
        },
        ..Settings::default()
    }
}

/// The storage a `STORAGE = '…'` setting names, its URL checked (not yet reached).
fn storage_kind(storage: Option<&Storage>) -> Result<Option<StorageKind>, ExecError> {
    match storage {
        None => Ok(None),
        Some(Storage::Cluster) => Ok(Some(StorageKind::Cluster)),
        Some(Storage::External(url)) => {
            quiver_storage::Location::parse(url)?;
            Ok(Some(StorageKind::External(url.clone())))
        }
    }
}

/// The real name of table `name` in the database (matched as the database matches names).
fn existing_table(engine: &mut Engine, name: &str) -> Result<String, ExecError> {
    if let Some(table) = engine.db.table_name(name)? {
        return Ok(table);
    }
    let tables = engine.db.table_names()?;
    let hint = if tables.is_empty() {
        "the database has no tables yet".to_string()
    } else {
        format!("tables in the database: {}", tables.join(", "))
    };
    Err(ExecError::refused(
        format!("table `{name}` does not exist"),
        Some(hint),
    ))
}
